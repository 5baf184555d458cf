// Timers, sleeps and background tasks of the engine: media lengths scaled by timeScale, all cancelled by stop().
import type { Sleeper } from './state';

/** Runs the engine's timers and tracked tasks; nothing fires after stop(). */
export class Scheduler {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly tasks = new Set<Promise<unknown>>();
  private stoppedFlag = false;

  constructor(
    private readonly timeScale: number,
    private readonly log: (msg: string) => void,
  ) {}

  /** True once stop() has been called. */
  get stopped(): boolean {
    return this.stoppedFlag;
  }

  /** Milliseconds of simulated media for `seconds` of real media. */
  scaled(seconds: number): number {
    return seconds * 1000 * this.timeScale;
  }

  /** Runs async work so that its failure is logged, never thrown, and drain() can await it. */
  track(work: () => Promise<unknown>): void {
    if (this.stoppedFlag) return;
    const p = work()
      .catch((err: unknown) => this.log(`twilio-local: internal error: ${(err as Error)?.message ?? String(err)}`))
      .finally(() => this.tasks.delete(p));
    this.tasks.add(p);
  }

  /** Calls `fn` after `ms` real milliseconds unless stopped first. */
  later(ms: number, fn: () => void): NodeJS.Timeout {
    if (this.stoppedFlag) return setTimeout(() => undefined, 0); // nothing may be scheduled after stop()
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stoppedFlag) fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  /** Cancels a timer from later(). */
  cancel(t: NodeJS.Timeout | undefined): void {
    if (!t) return;
    clearTimeout(t);
    this.timers.delete(t);
  }

  /**
   * Sleeps `ms` (Infinity: until woken). Resolves true when the sleep ran out and `valid()` still holds,
   * false when woken into an invalid state or stopped.
   */
  sleep(ms: number, sleeper: Sleeper, valid: () => boolean): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.stoppedFlag || !valid()) return resolve(false);
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        this.cancel(timer);
        sleeper.wakers.delete(done);
        resolve(!this.stoppedFlag && valid());
      };
      sleeper.wakers.add(done);
      if (Number.isFinite(ms)) {
        timer = setTimeout(done, Math.max(0, ms));
        this.timers.add(timer);
      }
    });
  }

  /** Ends every sleep of `sleeper` now (each re-checks its validity). */
  wake(sleeper: Sleeper): void {
    for (const fn of [...sleeper.wakers]) fn();
  }

  /** Stops all timers; tracked tasks keep running until drain(). */
  stop(): void {
    this.stoppedFlag = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** Waits until every tracked task has settled. */
  async drain(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }
}
