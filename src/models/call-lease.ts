// Per-call leases, for FerretDB 1.x: it applies an update by reading the document and writing it back whole, so two
// processes changing one call at once can both "match" its revision and one change is lost. The one write it makes
// exclusive across processes is an insert of a taken _id, so a lease is a document `call:<CallSid>` in `call_leases`:
// whoever inserts it may change the call, everyone else waits. A holder that died is taken over once its lease has
// expired. On MongoDB the store does not need these: its compare-and-set update is atomic.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Collection } from 'mongodb';
import { Schema, type Connection, type Model } from 'mongoose';
import { isDuplicateKey, StoreUnavailableError } from '../errors';

export interface LeaseRecord {
  /** 'call:<CallSid>' for a lease; 'takeover:call:<CallSid>:<holder>' for the right to remove a dead holder's lease. */
  _id: string;
  /** Unique per lease taken: '<host>:<pid>:<instance>:<counter>'. */
  holder: string;
  expiresAt: Date;
}

const leaseSchema = new Schema<LeaseRecord>(
  {
    _id: { type: String, required: true },
    holder: { type: String, required: true },
    expiresAt: { type: Date, required: true },
  },
  { versionKey: false },
);

export type LeaseModel = Model<LeaseRecord>;

export function callLeaseModel(connection: Connection): LeaseModel {
  return (connection.models.CallLease as LeaseModel | undefined) ?? connection.model<LeaseRecord>('CallLease', leaseSchema, 'call_leases');
}

/** The leases' collection, for the driver's operations (no mongoose casting on the write path). */
export function callLeaseCollection(connection: Connection): Collection<LeaseRecord> {
  return callLeaseModel(connection).collection as unknown as Collection<LeaseRecord>;
}

export interface LeaseSettings {
  /** How long a lease lasts: a holder that died blocks its call at most this long. */
  leaseMs: number;
  /**
   * A holder sends no write in the last `marginMs` of its lease (nor deletes it then), so a write of a slow holder has
   * landed before anyone can take its lease over.
   */
  marginMs: number;
  /** The longest a writer waits for a lease held by someone else (then the store is "unavailable"). */
  waitMs: number;
}

/**
 * A dead holder blocks its call for at most 4 s, less than a writer's default wait (DB_TIMEOUT_MS, 5 s), so a webhook
 * for that call still succeeds; a live holder has 2 s to send its write, which lands 2 s before anyone may take over.
 */
export const DEFAULT_LEASE: LeaseSettings = { leaseMs: 4000, marginMs: 2000, waitMs: 5000 };

/** A lease this process holds on one call. */
export interface CallLease {
  key: string;
  holder: string;
  expiresAt: number;
  /** No write to the call may be sent after this (ms since the epoch). */
  writeBy: number;
}

/** How the leases were used, for the benchmark and the logs. */
export interface LeaseStats {
  acquired: number;
  /** Acquisitions that found the call's lease held and had to wait. */
  waited: number;
  /** Leases of holders that had stopped (expired) removed by this process. */
  takenOver: number;
}

/** How long the right to remove one dead holder's lease is kept (longer than any takeover takes). */
const TAKEOVER_KEEP_MS = 60_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The per-call leases in `collection`; `run` puts the store's deadline on each operation. */
export function createCallLeases(collection: Collection<LeaseRecord>, run: <T>(op: () => Promise<T>) => Promise<T>, settings: LeaseSettings = DEFAULT_LEASE) {
  const prefix = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  let counter = 0;
  const stats: LeaseStats = { acquired: 0, waited: 0, takenOver: 0 };

  async function insert(doc: LeaseRecord): Promise<boolean> {
    try {
      await run(() => collection.insertOne(doc));
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  /**
   * Removes `stale` (an expired lease). FerretDB deletes by finding the document, then removing it by _id: two
   * processes deleting the same stale lease at once could remove the lease a third took meanwhile. So the right to
   * delete it is itself a unique insert, won by one process only; the others go back to waiting.
   */
  async function takeOver(stale: LeaseRecord): Promise<void> {
    const right = { _id: `takeover:${stale._id}:${stale.holder}`, holder: `${prefix}:${(counter += 1)}`, expiresAt: new Date(Date.now() + TAKEOVER_KEEP_MS) };
    if (!(await insert(right))) return;
    const removed = await run(() => collection.deleteOne({ _id: stale._id, holder: stale.holder }));
    if (removed.deletedCount === 1) stats.takenOver += 1;
  }

  /** Takes the lease on `callSid`, waiting while someone else holds it; a lease whose holder stopped is taken over. */
  async function acquire(callSid: string): Promise<CallLease> {
    const key = `call:${callSid}`;
    const giveUpAt = Date.now() + settings.waitMs;
    for (let attempt = 0; ; attempt += 1) {
      // A new holder id per attempt: an insert that timed out but lands later is a lease nobody holds, which expires.
      const holder = `${prefix}:${(counter += 1)}`;
      const expiresAt = Date.now() + settings.leaseMs;
      if (await insert({ _id: key, holder, expiresAt: new Date(expiresAt) })) {
        stats.acquired += 1;
        return { key, holder, expiresAt, writeBy: expiresAt - settings.marginMs };
      }
      const current = await run(() => collection.findOne({ _id: key }));
      if (current && new Date(current.expiresAt).getTime() <= Date.now()) {
        await takeOver(current);
        continue;
      }
      if (attempt === 0) stats.waited += 1;
      if (Date.now() >= giveUpAt) throw new StoreUnavailableError(new Error(`call ${callSid} stayed locked by ${current?.holder ?? 'another writer'}`));
      // A live holder releases within a few round trips: poll soon, then back off (with jitter, so waiters spread out).
      await sleep(Math.min(25, 2 ** Math.min(attempt + 1, 5)) * (0.5 + Math.random()));
    }
  }

  /**
   * Gives the lease back. A holder that is past its margin leaves it to expire instead: a takeover may be under way,
   * and a delete landing after it could remove the next holder's lease.
   */
  async function release(lease: CallLease): Promise<void> {
    if (Date.now() >= lease.writeBy) return;
    await run(() => collection.deleteOne({ _id: lease.key, holder: lease.holder }));
  }

  /**
   * Housekeeping: leases left by holders that stopped long ago (taken over, so safely) and rights to take over that
   * have done their work. Returns how many documents went.
   */
  async function sweep(now = Date.now()): Promise<number> {
    const old = await run(() => collection.find({ expiresAt: { $lt: new Date(now - settings.leaseMs) } }).limit(500).toArray());
    let removed = 0;
    for (const doc of old) {
      if (doc._id.startsWith('takeover:')) {
        // Never inserted again (its _id names one lease of one holder): deleting it races with nobody.
        removed += (await run(() => collection.deleteOne({ _id: doc._id }))).deletedCount;
      } else {
        const before = stats.takenOver;
        await takeOver(doc);
        removed += stats.takenOver - before;
      }
    }
    return removed;
  }

  return { acquire, release, sweep, stats, settings };
}

export type CallLeases = ReturnType<typeof createCallLeases>;
