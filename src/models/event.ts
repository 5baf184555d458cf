// The change feed: one small document per change, appended by whichever app instance made it and read by every
// instance, so pages are pushed changes made anywhere. FerretDB 1.x has no change streams, so instances poll it;
// old entries are pruned, keeping every poll a scan of a few hundred documents at most.
import { randomBytes } from 'node:crypto';
import type { Collection } from 'mongodb';
import { Schema, type Connection, type Model } from 'mongoose';
import { deleteInBatches } from './delete-in-batches';

export interface ChangeRecord {
  /** Time-ordered: the time in ms (base 36, fixed width), this instance and a counter. */
  _id: string;
  at: Date;
  /** What changed: 'calls', 'agents', 'agent:<id>'… */
  topics: string[];
}

const changeSchema = new Schema<ChangeRecord>(
  {
    _id: { type: String, required: true },
    at: { type: Date, required: true },
    topics: { type: [String], required: true },
  },
  { versionKey: false },
);

export type ChangeModel = Model<ChangeRecord>;

export function changeModel(connection: Connection): ChangeModel {
  return (connection.models.Change as ChangeModel | undefined) ?? connection.model<ChangeRecord>('Change', changeSchema, 'changes');
}

const WIDTH = 10;
/** The smallest id any entry written at or after `ms` can have. */
export function changeIdAt(ms: number): string {
  return Math.max(0, Math.floor(ms)).toString(36).padStart(WIDTH, '0');
}

/** The feed's writes and reads. */
export function createChangeStore(model: ChangeModel, run: <T>(op: () => Promise<T>) => Promise<T>) {
  const instance = randomBytes(4).toString('hex');
  let counter = 0;
  return {
    async append(topics: string[]): Promise<ChangeRecord> {
      counter = (counter + 1) % 1_000_000;
      const at = new Date();
      const doc = { _id: `${changeIdAt(at.getTime())}-${instance}-${counter.toString(36).padStart(4, '0')}`, at, topics };
      await run(() => model.create(doc));
      return doc;
    },
    /** Entries with an id above `afterId`, oldest first. */
    since(afterId: string): Promise<ChangeRecord[]> {
      return run(() => model.find({ _id: { $gt: afterId } }).sort({ _id: 1 }).limit(500).lean<ChangeRecord[]>().exec());
    },
    async prune(olderThan: Date): Promise<void> {
      await deleteInBatches(model.collection as unknown as Collection<ChangeRecord>, { _id: { $lt: changeIdAt(olderThan.getTime()) } }, { run });
    },
  };
}

export type ChangeStore = ReturnType<typeof createChangeStore>;
