// A small settings document read through a cache: fresh reads wait for the database; `staleOk` reads (the incoming
// call's hot path) answer at once from the last value, refreshing it in the background when it is older than `cacheMs`.
// One read at a time (concurrent callers share it).

export interface CachedSetting<T> {
  /** The value, read again if older than the cache time; with `staleOk`, the last value at once when there is one. */
  get(options?: { staleOk?: boolean }): Promise<T>;
  /** Forgets the value (after a write of this instance: the next read sees it). */
  forget(): void;
}

export function cachedSetting<T>(read: () => Promise<T>, cacheMs: number): CachedSetting<T> {
  let cached: { at: number; value: T } | undefined;
  let reading: Promise<T> | undefined;
  let generation = 0;

  function refresh(): Promise<T> {
    if (reading) return reading;
    const started = generation;
    const current = read()
      .then((value) => {
        if (generation === started) cached = { at: Date.now(), value };
        return value;
      })
      .finally(() => {
        if (reading === current) reading = undefined;
      });
    reading = current;
    return current;
  }

  return {
    get(options = {}) {
      if (cached && Date.now() - cached.at < cacheMs) return Promise.resolve(cached.value);
      if (options.staleOk && cached) {
        refresh().catch(() => undefined);
        return Promise.resolve(cached.value);
      }
      return refresh();
    },
    forget() {
      generation += 1;
      cached = undefined;
      reading = undefined;
    },
  };
}
