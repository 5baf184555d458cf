// An exclusive lease that holds across processes on MongoDB and on FerretDB 1.x alike. FerretDB's updates are not
// atomic under concurrency (a compare-and-set can succeed twice), but a unique _id insert is: of any number of
// simultaneous inserts of one _id, exactly one wins. So a lease is a chain of documents, `<name>#1`, `<name>#2`, …:
// whoever inserts the next link holds the lease until they mark it released (or it expires). Nobody but its holder
// ever writes a link, and nobody deletes a link that could still be the newest.
import { randomUUID } from 'node:crypto';
import type { Connection } from 'mongoose';
import { isDuplicateKey } from '../errors';

export const LOCKS_COLLECTION = 'locks';

interface LeaseLink {
  _id: string;
  name: string;
  seq: number;
  holder: string;
  expiresAt: Date;
  releasedAt?: Date;
}

export interface Lease {
  /**
   * Runs `work` while holding the lease; waits its turn (up to `waitMs`), then rejects with `whenBusy()`.
   * A holder that died is taken over once its lease has expired.
   */
  run<T>(work: () => Promise<T>): Promise<T>;
}

export interface LeaseOptions {
  /** How long a link is held at most: past it, the holder is presumed dead and the next contender takes over. */
  ttlMs: number;
  /** How long to wait for a busy lease before giving up. */
  waitMs: number;
  whenBusy: () => Error;
  /** Wraps each database operation (a deadline, and turning failures into the caller's error). */
  guard?: <T>(operation: () => Promise<T>) => Promise<T>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The lease `name` in the `locks` collection of `connection`. */
export function createLease(connection: Connection, name: string, options: LeaseOptions): Lease {
  const links = () => connection.collection<LeaseLink>(LOCKS_COLLECTION);
  const guard = options.guard ?? (<T>(operation: () => Promise<T>) => operation());

  // Contenders in this process take turns here first, so only one of them at a time asks the database: thirty at
  // once would otherwise poll it thirty times over, slowing the holder they wait for.
  let tail: Promise<void> = Promise.resolve();

  async function acquire(deadline: number): Promise<LeaseLink> {
    for (let attempt = 0; ; attempt += 1) {
      const newest = await guard(() => links().find({ name }).sort({ seq: -1 }).limit(1).next());
      const now = Date.now();
      if (!newest || newest.releasedAt || newest.expiresAt.getTime() <= now) {
        const seq = (newest?.seq ?? 0) + 1;
        const link: LeaseLink = { _id: `${name}#${seq}`, name, seq, holder: randomUUID(), expiresAt: new Date(now + options.ttlMs) };
        try {
          await guard(() => links().insertOne(link));
          return link;
        } catch (err) {
          if (!isDuplicateKey(err)) throw err;
          // Someone else inserted this link first: they hold the lease now.
        }
      }
      if (Date.now() >= deadline) throw options.whenBusy();
      await sleep(Math.min(50, 5 * 2 ** Math.min(attempt, 3)) + Math.random() * 10);
    }
  }

  async function release(link: LeaseLink): Promise<void> {
    await guard(() => links().updateOne({ _id: link._id, holder: link.holder }, { $set: { releasedAt: new Date() } }));
    // Older links can never be the newest again: keep the chain short.
    await guard(() => links().deleteMany({ name, seq: { $lt: link.seq } }));
  }

  return {
    async run(work) {
      const deadline = Date.now() + options.waitMs;
      const previous = tail;
      let done!: () => void;
      tail = new Promise<void>((resolve) => (done = resolve));
      let timer: NodeJS.Timeout | undefined;
      const myTurn = await Promise.race([previous.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), options.waitMs)))]);
      clearTimeout(timer);
      if (!myTurn) {
        // Pass the turn on when it comes, so the line behind keeps moving.
        void previous.then(done);
        throw options.whenBusy();
      }
      try {
        const link = await acquire(deadline);
        try {
          return await work();
        } finally {
          // Could not mark it released (the database went away): it expires by itself after ttlMs.
          await release(link).catch(() => undefined);
        }
      } finally {
        done();
      }
    },
  };
}
