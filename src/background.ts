// Work that runs after a response is sent (dialling an agent): tracked so it is logged, never unhandled, and drained on shutdown.
import { errorMessage } from './errors';
import type { Logger } from './logger';

export interface BackgroundTasks {
  /** Starts `task` now without waiting for it; a failure is logged, never thrown. */
  run(name: string, task: () => Promise<void>): void;
  /**
   * Like run(), but tasks with the same `key` run one after another in the order they were started (a hold decided
   * after an unhold must reach Twilio after it, however slowly Twilio answers).
   */
  runInOrder(key: string, name: string, task: () => Promise<void>): void;
  /** Resolves when every task started so far has settled. */
  drain(): Promise<void>;
  readonly pending: number;
}

/** Creates a tracker for fire-and-forget work. */
export function createBackgroundTasks(logger: Logger): BackgroundTasks {
  const running = new Set<Promise<void>>();
  const tails = new Map<string, Promise<void>>();
  function start(name: string, after: Promise<void>, task: () => Promise<void>): Promise<void> {
    const promise = after
      .then(task)
      .catch((err: unknown) => logger.error(`background task failed: ${name}`, { error: errorMessage(err) }))
      .finally(() => running.delete(promise));
    running.add(promise);
    return promise;
  }
  return {
    run(name, task) {
      start(name, Promise.resolve(), task);
    },
    runInOrder(key, name, task) {
      const promise = start(name, tails.get(key) ?? Promise.resolve(), task);
      tails.set(key, promise);
      void promise.then(() => {
        if (tails.get(key) === promise) tails.delete(key);
      });
    },
    async drain() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
    get pending() {
      return running.size;
    },
  };
}
