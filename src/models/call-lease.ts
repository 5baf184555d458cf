// Per-call claims, for FerretDB 1.x: it applies an update by reading the document and writing it back whole, so two
// processes changing one call at once can both "match" its revision and one change is lost. The one write it makes
// exclusive across processes is an insert of a taken _id, so the right to move a call from revision `rev` to the next
// is a document `rev:<CallSid>:<rev>:<generation>` in `call_leases`: whoever inserts it may write that one change,
// decided on the revision it read; nobody else can, since the call only leaves `rev` by that write. So a change is a
// read, the claim's insert and the update: nothing to give back, and no second read. A claim whose holder stopped
// before writing is taken over, once it has expired, by claiming the next generation of the same revision. Old claims
// are swept away by one instance at a time. On MongoDB the store does not need these: its compare-and-set update is
// atomic.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Collection } from 'mongodb';
import { Schema, type Connection, type Model } from 'mongoose';
import { isDuplicateKey } from '../errors';
import { deleteInBatches } from './delete-in-batches';

export interface LeaseRecord {
  /** 'rev:<CallSid>:<rev>:<generation>' for a claim; 'sweep:<slot>' for the right to sweep in one slot of time. */
  _id: string;
  /** Unique per claim taken: '<host>:<pid>:<instance>:<counter>'. */
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
  /** How long a claim lasts: a holder that stopped before writing blocks its call at most this long. */
  leaseMs: number;
  /**
   * A holder sends no write in the last `marginMs` of its claim, so a write of a slow holder has landed before anyone
   * can take its claim over.
   */
  marginMs: number;
  /** The longest a writer waits for a claim held by someone else (then the store is "unavailable"). */
  waitMs: number;
}

/**
 * A dead holder blocks its call for at most 4 s, less than a writer's default wait (DB_TIMEOUT_MS, 5 s), so a webhook
 * for that call still succeeds; a live holder has 2 s to send its write, which lands 2 s before anyone may take over.
 */
export const DEFAULT_LEASE: LeaseSettings = { leaseMs: 4000, marginMs: 2000, waitMs: 5000 };

/** A claim this process holds: the right to move one call from one revision to the next. */
export interface CallClaim {
  key: string;
  holder: string;
  expiresAt: number;
  /** No write to the call may be sent after this (ms since the epoch). */
  writeBy: number;
}

/** How the claims were used, for the benchmark and the logs. */
export interface LeaseStats {
  /** Claims won. */
  acquired: number;
  /** Changes that found their revision claimed by someone else and had to wait (counted once per change). */
  waited: number;
  /** Claims won in place of one that had expired unused (a holder that stopped). */
  takenOver: number;
}

/** Claims are swept this long after they expired: longer than any claim is relied on (a writer relies on one only within 2 s of its read: see changeUnderClaim in call-store.ts). */
const SWEEP_AFTER_EXPIRY_FACTOR = 2;
/** One instance sweeps per slot of this length (the app's housekeeping runs every 10 s on each instance). */
const SWEEP_SLOT_MS = 10_000;

/** The claims in `collection`; `run` puts the store's deadline on each operation. */
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

  const keyOf = (callSid: string, rev: number, generation: number): string => `rev:${callSid}:${rev}:${generation}`;

  /**
   * Claims the change of `callSid` from revision `rev` (generation 0, or the next one when the one before expired
   * unused). Undefined when someone else holds that claim.
   */
  async function claim(callSid: string, rev: number, generation: number): Promise<CallClaim | undefined> {
    const key = keyOf(callSid, rev, generation);
    // A new holder id per claim: an insert that timed out but lands later is a claim nobody uses, which expires.
    const holder = `${prefix}:${(counter += 1)}`;
    const expiresAt = Date.now() + settings.leaseMs;
    if (!(await insert({ _id: key, holder, expiresAt: new Date(expiresAt) }))) return undefined;
    stats.acquired += 1;
    if (generation > 0) stats.takenOver += 1;
    return { key, holder, expiresAt, writeBy: expiresAt - settings.marginMs };
  }

  /** The claim someone holds on that change, if it is still stored. */
  function holderOf(callSid: string, rev: number, generation: number): Promise<LeaseRecord | null> {
    return run(() => collection.findOne({ _id: keyOf(callSid, rev, generation) }));
  }

  /**
   * Housekeeping: claims long expired, whether used or not. Deleting one is safe once nobody can still rely on it (a
   * writer uses a claim only soon after reading the revision it names). One instance sweeps per slot (the right to is
   * a unique insert): FerretDB deletes by finding documents, then removing them by _id, and two sweeps at once could
   * remove a claim taken again between the two. Returns how many documents went (0 when another instance sweeps).
   */
  async function sweep(now = Date.now()): Promise<number> {
    const slot = Math.floor(now / SWEEP_SLOT_MS);
    const right = { _id: `sweep:${slot}`, holder: `${prefix}:${(counter += 1)}`, expiresAt: new Date((slot + 1) * SWEEP_SLOT_MS) };
    if (!(await insert(right))) return 0;
    const old = new Date(now - SWEEP_AFTER_EXPIRY_FACTOR * settings.leaseMs);
    return deleteInBatches(collection, { expiresAt: { $lt: old } }, { run });
  }

  return { claim, holderOf, sweep, stats, settings };
}

export type CallLeases = ReturnType<typeof createCallLeases>;
