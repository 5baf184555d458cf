// Writes that take turns per key inside this process: each starts once the previous one for its key has settled
// (whether it succeeded or failed). For read-modify-write on FerretDB, which applies even a field update by writing the
// whole document back, so two writes to one document at once can lose one.

/** `inTurn(key, work)` runs `work` after every earlier work of `key`, and answers with its result. */
export function createTurns(): <T>(key: string, work: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const mine = (tails.get(key) ?? Promise.resolve()).then(work);
    const tail = mine.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return mine;
  };
}
