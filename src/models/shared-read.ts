// One read shared by the callers that ask for it at the same moment: when a change reaches a hundred open pages, each
// reads its state at once (GET /api/me), and on FerretDB 1.x each of those reads of the agents, presence,
// reservations and live calls is a scan of the whole collection. Shared, they cost a couple of scans instead of a
// hundred.

/**
 * Wraps a read that takes no arguments. A caller never gets data read before it asked: a caller that arrives while a
 * read is under way waits for the next one, which starts when that one ends and serves every caller that arrived
 * meanwhile. Each caller gets its own copy (structuredClone), so no caller sees another's changes to the result.
 */
export function sharedRead<T>(read: () => Promise<T>): () => Promise<T> {
  const shared = coalesced(read);
  return async () => structuredClone(await shared());
}

/**
 * Like sharedRead, but every caller of one read gets the same result, deeply frozen: for a result that a hundred
 * callers only read (copying it for each is what a burst of pages then costs). Same rule: never data from before the
 * caller asked.
 */
export function sharedMoment<T>(read: () => Promise<T>): () => Promise<DeepReadonly<T>> {
  const shared = coalesced(async () => deepFreeze(await read()));
  return shared as () => Promise<DeepReadonly<T>>;
}

/** Read-only all the way down, as deepFreeze leaves a value (functions are left callable). */
export type DeepReadonly<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends Date
    ? Readonly<Date>
    : T extends Map<infer K, infer V>
      ? ReadonlyMap<K, DeepReadonly<V>>
      : T extends object
        ? { readonly [P in keyof T]: DeepReadonly<T[P]> }
        : T;

/** Freezes plain objects and arrays all the way down (Maps, Dates and functions are left as they are). */
function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value) || value instanceof Map || value instanceof Date) return value;
  for (const inner of Object.values(value)) deepFreeze(inner);
  return Object.freeze(value);
}

/** The coalescing both share: one read at a time, and a caller waits for a read that starts after it asked. */
function coalesced<T>(read: () => Promise<T>): () => Promise<T> {
  let current: Promise<T> | undefined;
  let next: Promise<T> | undefined;

  function start(): Promise<T> {
    const running = read();
    current = running;
    const clear = (): void => {
      if (current === running) current = undefined;
    };
    running.then(clear, clear);
    return running;
  }

  return async () => {
    if (!current) return start();
    if (!next) {
      const pending = current.then(
        () => undefined,
        () => undefined,
      );
      next = pending.then(() => {
        next = undefined;
        return start();
      });
    }
    return next;
  };
}

/**
 * Wraps a read of documents by key (`readMany` answers the keys it found). Like sharedRead, but each caller asks for
 * one key: a caller that arrives while a read is under way waits for the next one, which reads every key asked for
 * meanwhile in one go (at most `maxKeys`; the rest wait for the one after). A caller never gets data read before it
 * asked, and gets its own copy.
 */
export function batchedLookup<K, V>(readMany: (keys: K[]) => Promise<Map<K, V>>, maxKeys = 500): (key: K) => Promise<V | undefined> {
  const waiting: Array<{ key: K; resolve: (value: V | undefined) => void; reject: (error: unknown) => void }> = [];
  let reading = false;

  async function readWaiting(): Promise<void> {
    reading = true;
    try {
      while (waiting.length > 0) {
        const batch = waiting.splice(0, maxKeys);
        try {
          const found = await readMany([...new Set(batch.map((entry) => entry.key))]);
          for (const entry of batch) {
            const value = found.get(entry.key);
            entry.resolve(value === undefined ? undefined : structuredClone(value));
          }
        } catch (err) {
          for (const entry of batch) entry.reject(err);
        }
      }
    } finally {
      reading = false;
    }
  }

  return (key) =>
    new Promise<V | undefined>((resolve, reject) => {
      waiting.push({ key, resolve, reject });
      if (!reading) void readWaiting();
    });
}
