// Keeps a child process running: when it exits on its own, it is started again after a growing pause.
import { errorMessage } from '../errors';

/** One run of the supervised process. */
export interface SupervisedRun {
  pid: number;
  /** Settles when the process has exited, for whatever reason. */
  exited: Promise<string>;
  /** Ends it; resolves once it has exited. */
  stop(): Promise<void>;
}

export type SupervisorState = 'running' | 'restarting' | 'stopped';

export interface Supervisor {
  state(): SupervisorState;
  /** The current run's pid, if one is running. */
  pid(): number | undefined;
  /** Stops supervising and ends the current run. Idempotent. */
  stop(): Promise<void>;
}

export interface SuperviseOptions {
  name: string;
  /** Starts one run; resolves once it is ready to serve. */
  start: () => Promise<SupervisedRun>;
  info: (message: string) => void;
  warn: (message: string) => void;
  /** Pauses before successive restarts; the last one repeats. */
  backoffMs?: number[];
  /** A run that lasted this long resets the backoff. */
  stableMs?: number;
}

const DEFAULT_BACKOFF_MS = [100, 250, 500, 1000, 2000, 5000];

/** Starts the first run (its failure is the caller's) and restarts every later exit until stop(). */
export async function supervise(options: SuperviseOptions): Promise<Supervisor> {
  const backoff = options.backoffMs ?? DEFAULT_BACKOFF_MS;
  const stableMs = options.stableMs ?? 10000;
  let current: SupervisedRun | undefined = await options.start();
  let state: SupervisorState = 'running';
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let starting: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;

  const watch = (run: SupervisedRun): void => {
    const startedAt = Date.now();
    void run.exited.then((how) => {
      if (stopping || current !== run) return;
      current = undefined;
      state = 'restarting';
      if (Date.now() - startedAt >= stableMs) failures = 0;
      scheduleRestart(`${options.name} exited unexpectedly (${how})`);
    });
  };

  const scheduleRestart = (why: string): void => {
    const delay = backoff[Math.min(failures, backoff.length - 1)]!;
    failures += 1;
    options.warn(`${why}; restarting it in ${delay} ms (attempt ${failures})`);
    timer = setTimeout(() => {
      timer = undefined;
      starting = (async () => {
        try {
          const run = await options.start();
          if (stopping) {
            await run.stop();
            return;
          }
          current = run;
          state = 'running';
          options.info(`${options.name} restarted (pid ${run.pid})`);
          watch(run);
        } catch (err) {
          if (!stopping) scheduleRestart(`${options.name} could not restart: ${errorMessage(err)}`);
        }
      })();
    }, delay);
    timer.unref();
  };

  watch(current);
  return {
    state: () => state,
    pid: () => current?.pid,
    stop() {
      stopping ??= (async () => {
        if (timer) clearTimeout(timer);
        await starting;
        await current?.stop();
        current = undefined;
        state = 'stopped';
      })();
      return stopping;
    },
  };
}
