// Bounds how many of an expensive kind of work run at once, with a short line of waiters and a refusal beyond it.

export interface ConcurrencyGate {
  /** Runs `work` when a place is free; rejects with `whenFull()` at once when the line of waiters is full too. */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** Running now, and waiting. */
  load(): { running: number; waiting: number };
}

/** At most `concurrent` at once; up to `waiting` more wait their turn in arrival order; any beyond are refused. */
export function createConcurrencyGate(options: { concurrent: number; waiting: number; whenFull: () => Error }): ConcurrencyGate {
  let running = 0;
  const line: Array<() => void> = [];

  function release(): void {
    const next = line.shift();
    if (next) next();
    else running -= 1;
  }

  return {
    async run(work) {
      if (running >= options.concurrent) {
        if (line.length >= options.waiting) throw options.whenFull();
        // The place is handed over by release(): `running` stays counted while it changes hands.
        await new Promise<void>((resolve) => line.push(resolve));
      } else {
        running += 1;
      }
      try {
        return await work();
      } finally {
        release();
      }
    },
    load: () => ({ running, waiting: line.length }),
  };
}
