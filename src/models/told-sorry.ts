// Callers told sorry because their call could not be stored in time: the late record may still land, and no instance
// may ever ring an agent for it. Each apology is a small document keyed by the CallSid, sent before the caller hears
// the apology; routing asks for it before every offer, and every instance's housekeeping removes late records of
// callers told sorry (the instance that apologised may have stopped before it could).
import type { Collection } from 'mongodb';
import { Schema, type Connection, type Model } from 'mongoose';
import { errorMessage, isDuplicateKey, StoreUnavailableError } from '../errors';
import type { Logger } from '../logger';

export interface ToldSorryRecord {
  /** The caller's CallSid. */
  _id: string;
  at: Date;
  /** Who called, and the queue they chose (for the call's history record); records before this version have neither. */
  from?: string;
  queueId?: string;
  queueName?: string;
}

/** What an apology's record keeps of the caller, besides the CallSid. */
export type ToldSorryAbout = Pick<ToldSorryRecord, 'from' | 'queueId' | 'queueName'>;

const toldSorrySchema = new Schema<ToldSorryRecord>(
  { _id: { type: String, required: true }, at: { type: Date, required: true }, from: String, queueId: String, queueName: String },
  { versionKey: false },
);

export type ToldSorryModel = Model<ToldSorryRecord>;

export function toldSorryModel(connection: Connection): ToldSorryModel {
  return (connection.models.ToldSorry as ToldSorryModel | undefined) ?? connection.model<ToldSorryRecord>('ToldSorry', toldSorrySchema, 'told_sorry');
}

/** The apologies' collection, for the driver's operations. */
export function toldSorryCollection(connection: Connection): Collection<ToldSorryRecord> {
  return toldSorryModel(connection).collection as unknown as Collection<ToldSorryRecord>;
}

export interface ToldSorrySettings {
  /** Between attempts to record an apology while the database is away. */
  retryMs: number;
  /** How long an apology is remembered (a late write lands long before). */
  keepMs: number;
  /** Housekeeping leaves a late record this long to the instance that apologised (which logs it). */
  graceMs: number;
}

export const DEFAULT_TOLD_SORRY: ToldSorrySettings = { retryMs: 250, keepMs: 60 * 60_000, graceMs: 10_000 };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The callers told sorry, as every instance knows them. `onRecorded` hears of each apology once its record is stored
 * (by the instance that stored it): the call's history record is written then, tried again with the record until it
 * lands, and built from the record alone so that a repeat writes the same one.
 */
export function createToldSorry(
  collection: Collection<ToldSorryRecord>,
  run: <T>(op: () => Promise<T>) => Promise<T>,
  logger: Logger,
  settings: ToldSorrySettings = DEFAULT_TOLD_SORRY,
  onRecorded?: (record: ToldSorryRecord) => Promise<void>,
) {
  /** CallSids known here to have been told sorry, and when this instance learnt it. */
  const known = new Map<string, number>();
  const writing = new Set<Promise<void>>();
  let stopping = false;

  /**
   * Writes the apology, then (`onRecorded`) what follows from it, trying again while the database is away (for as long
   * as it is remembered). An apology already recorded (the same caller told sorry again) is left to whoever recorded it.
   */
  async function record(doc: ToldSorryRecord): Promise<void> {
    const giveUpAt = Date.now() + settings.keepMs;
    let stored = false;
    for (;;) {
      try {
        if (!stored) await run(() => collection.insertOne({ ...doc }));
        stored = true;
        await onRecorded?.(doc);
        return;
      } catch (err) {
        if (!stored && isDuplicateKey(err)) return;
        // Only an unavailable database is waited out: anything else would fail the same way again.
        const unavailable = !stored || err instanceof StoreUnavailableError;
        if (!unavailable || stopping || Date.now() >= giveUpAt) return logger.warn(stored ? 'could not keep the history of a caller told sorry' : 'could not record a caller told sorry', { callSid: doc._id, error: errorMessage(err) });
      }
      await sleep(settings.retryMs);
    }
  }

  return {
    /**
     * This instance tells the caller of `callSid` sorry: known here at once, and sent to the database now, before the
     * apology is answered (tried again until it lands), so every instance knows it.
     */
    add(callSid: string, about: ToldSorryAbout = {}): void {
      known.set(callSid, Date.now());
      const defined = Object.fromEntries(Object.entries(about).filter(([, value]) => value !== undefined));
      const write = record({ _id: callSid, at: new Date(), ...defined });
      writing.add(write);
      void write.finally(() => writing.delete(write));
    },

    /** Whether this instance knows the caller of `callSid` was told sorry (no database read). */
    has(callSid: string): boolean {
      return known.has(callSid);
    },

    /** Whether the caller of `callSid` was told sorry by any instance (one read by key, unless known here). */
    async told(callSid: string): Promise<boolean> {
      if (known.has(callSid)) return true;
      const found = await run(() => collection.findOne({ _id: callSid }, { projection: { _id: 1 } }));
      if (found) known.set(callSid, Date.now());
      return Boolean(found);
    },

    /**
     * Housekeeping: removes (with `retract`) the late records of callers told sorry by any instance, after a grace
     * left to the instance that apologised, and forgets apologies older than `keepMs`. Returns how many records went.
     */
    async sweep(retract: (callSids: string[]) => Promise<number>, now = Date.now()): Promise<number> {
      const all = await run(() => collection.find({}).limit(5000).toArray());
      const expired = all.filter((doc) => now - new Date(doc.at).getTime() > settings.keepMs).map((doc) => doc._id);
      const due = all.filter((doc) => now - new Date(doc.at).getTime() > settings.graceMs && !expired.includes(doc._id)).map((doc) => doc._id);
      const removed = due.length > 0 ? await retract(due) : 0;
      if (removed > 0) logger.warn('removed late records of callers told sorry by another instance', { count: removed });
      if (expired.length > 0) await run(() => collection.deleteMany({ _id: { $in: expired } }));
      for (const [callSid, at] of known) if (now - at > settings.keepMs) known.delete(callSid);
      return removed;
    },

    /** Shutdown: waits for apologies being written, each given one more attempt. */
    async drain(): Promise<void> {
      stopping = true;
      await Promise.allSettled([...writing]);
    },
  };
}

export type ToldSorry = ReturnType<typeof createToldSorry>;
