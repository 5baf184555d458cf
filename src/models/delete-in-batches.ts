// Housekeeping deletes of any size. FerretDB 1.x on SQLite removes what a delete matched by naming every matched _id in
// one SQL statement, and SQLite takes at most 32,766 values in one: a deleteMany that matches more fails ("too many SQL
// variables"), and fails again on every later try, as what it should remove only grows. Measured here: 32,000 expired
// claims went in one deleteMany, 33,000 did not.
import type { Collection, Document, Filter } from 'mongodb';

/** Documents removed per delete: well under SQLite's limit, and a few seconds' work for FerretDB at most. */
export const DELETE_BATCH = 10_000;

/**
 * Deletes every document matching `filter`, at most `batch` per delete: the first `batch` matches by _id, then those
 * matching `filter` with an _id up to the last of them. (An _id range, not a list: FerretDB checks a list against every
 * document it scans, which took seconds per batch.) `run` wraps each command (a deadline: each batch gets its own).
 * Returns how many went.
 */
export async function deleteInBatches<T extends Document>(
  collection: Collection<T>,
  filter: Filter<T>,
  options: { batch?: number; run?: <R>(op: () => Promise<R>) => Promise<R> } = {},
): Promise<number> {
  const { batch = DELETE_BATCH, run = (op) => op() } = options;
  let deleted = 0;
  for (;;) {
    const found = await run(() => collection.find(filter, { projection: { _id: 1 }, sort: { _id: 1 }, limit: batch }).toArray());
    const last = found.at(-1);
    if (!last) return deleted;
    const gone = (await run(() => collection.deleteMany({ $and: [filter, { _id: { $lte: last._id } }] } as Filter<T>))).deletedCount;
    deleted += gone;
    // Fewer than a batch: that was all. None gone: somebody else removed them meanwhile; the next sweep sees what is left.
    if (found.length < batch || gone === 0) return deleted;
  }
}
