// A read of a whole small collection that every page and routing pass repeats (the agent directory), served from this
// process's copy for as long as the collection's stamp has not changed.
//
// Why: on FerretDB 1.x a read of a whole collection decodes every document (measured: 100 agents, 8.6 ms of the
// database's CPU), while a read of one document by its `_id` alone is a primary-key lookup (0.3–0.7 ms). So each read
// first looks up the stamp, one small document in `stamps`, by `_id`; only when it differs from the one its copy was
// read under is the collection read again.
//
// Why it holds across instances: every writer changes the stamp to a new random value *after* its write has landed,
// and a reader reads the stamp *before* the collection. A reader's copy therefore includes every write whose stamp it
// has seen, and a later write leaves a stamp it has not seen. FerretDB's non-atomic updates can lose one of two
// simultaneous stamp writes, but whichever lands last is still a value no reader has cached. With no stamp stored (a
// fresh or wiped database) nothing is cached. A writer that wrote but failed to stamp (the database went away between
// the two) delays what others see by at most `maxAgeMs`, the oldest copy ever served.
import { randomUUID } from 'node:crypto';
import type { Connection } from 'mongoose';
import { isDuplicateKey } from '../errors';
import { sharedRead } from './shared-read';

export const STAMPS_COLLECTION = 'stamps';

export interface StampedRead<T> {
  /** The collection as it is now: this process's copy when the stamp is the one it was read under, else read again. */
  read(): Promise<T>;
  /** Call after every write (once it has landed): gives the collection a new stamp, for every instance. */
  changed(): Promise<void>;
}

interface Stamp {
  _id: string;
  v: string;
  at: Date;
}

export function stampedRead<T>(
  connection: Connection,
  key: string,
  read: () => Promise<T>,
  options: { maxAgeMs?: number; guard?: <R>(operation: () => Promise<R>) => Promise<R> } = {},
): StampedRead<T> {
  const maxAgeMs = options.maxAgeMs ?? 10_000;
  const guard = options.guard ?? (<R>(operation: () => Promise<R>) => operation());
  const stamps = () => connection.collection<Stamp>(STAMPS_COLLECTION);
  let copy: { stamp: string; at: number; value: T } | undefined;

  const shared = sharedRead(async () => {
    const stamp = (await guard(() => stamps().findOne({ _id: key })))?.v;
    if (copy && stamp !== undefined && copy.stamp === stamp && Date.now() - copy.at < maxAgeMs) return copy.value;
    const at = Date.now();
    const value = await read();
    copy = stamp === undefined ? undefined : { stamp, at, value };
    return value;
  });

  return {
    read: shared,
    async changed() {
      copy = undefined;
      const stamp = { v: randomUUID(), at: new Date() };
      try {
        await guard(() => stamps().updateOne({ _id: key }, { $set: stamp }, { upsert: true }));
      } catch (err) {
        // Two first stamps at once: the other's insert won; ours goes on top of it.
        if (!isDuplicateKey(err)) throw err;
        await guard(() => stamps().updateOne({ _id: key }, { $set: stamp }));
      }
    },
  };
}
