// Work that runs after a response is sent (dialling an agent): tracked so it is logged, never unhandled, and drained on shutdown.
import type { Logger } from './logger';

export interface BackgroundTasks {
  /** Starts `task` now without waiting for it; a failure is logged, never thrown. */
  run(name: string, task: () => Promise<void>): void;
  /** Resolves when every task started so far has settled. */
  drain(): Promise<void>;
  readonly pending: number;
}

/** Creates a tracker for fire-and-forget work. */
export function createBackgroundTasks(logger: Logger): BackgroundTasks {
  const running = new Set<Promise<void>>();
  return {
    run(name, task) {
      const promise = Promise.resolve()
        .then(task)
        .catch((err: unknown) => logger.error(`background task failed: ${name}`, { error: err instanceof Error ? err.message : String(err) }))
        .finally(() => running.delete(promise));
      running.add(promise);
    },
    async drain() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
    get pending() {
      return running.size;
    },
  };
}
