// Callers told sorry because their call could not be stored in time: the late record may still land, and no instance
// may ever ring an agent for it. Each apology is a small document keyed by the CallSid, sent before the caller hears
// the apology; routing asks for it before every offer, and every instance's housekeeping removes late records of
// callers told sorry (the instance that apologised may have stopped before it could).
import type { Collection } from 'mongodb';
import { Schema, type Connection, type Model } from 'mongoose';
import { errorMessage, isDuplicateKey } from '../errors';
import type { Logger } from '../logger';

export interface ToldSorryRecord {
  /** The caller's CallSid. */
  _id: string;
  at: Date;
}

const toldSorrySchema = new Schema<ToldSorryRecord>({ _id: { type: String, required: true }, at: { type: Date, required: true } }, { versionKey: false });

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

/** The callers told sorry, as every instance knows them. */
export function createToldSorry(collection: Collection<ToldSorryRecord>, run: <T>(op: () => Promise<T>) => Promise<T>, logger: Logger, settings: ToldSorrySettings = DEFAULT_TOLD_SORRY) {
  /** CallSids known here to have been told sorry, and when this instance learnt it. */
  const known = new Map<string, number>();
  const writing = new Set<Promise<void>>();
  let stopping = false;

  /** Writes the apology, trying again while the database is away (for as long as it is remembered). */
  async function record(callSid: string): Promise<void> {
    const giveUpAt = Date.now() + settings.keepMs;
    for (;;) {
      try {
        await run(() => collection.insertOne({ _id: callSid, at: new Date() }));
        return;
      } catch (err) {
        if (isDuplicateKey(err)) return;
        if (stopping || Date.now() >= giveUpAt) return logger.warn('could not record a caller told sorry', { callSid, error: errorMessage(err) });
      }
      await sleep(settings.retryMs);
    }
  }

  return {
    /**
     * This instance tells the caller of `callSid` sorry: known here at once, and sent to the database now, before the
     * apology is answered (tried again until it lands), so every instance knows it.
     */
    add(callSid: string): void {
      known.set(callSid, Date.now());
      const write = record(callSid);
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
