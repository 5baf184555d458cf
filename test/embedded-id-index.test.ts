// The embedded FerretDB finds documents by _id through the _id index (src/db/ferretdb.ts, FERRETDB_PATCHES): the
// SQLite plan it reports for a find by _id, alone or with other conditions, is a search of that index, not a scan of
// the collection; and finds, updates and deletes by _id still reach exactly the documents meant, for the _id kinds the
// app uses (strings and ObjectIds).
import { ObjectId, type Collection } from 'mongodb';
import { servedByFerretDb } from '../src/db/connect';
import { openTestDatabase } from './helpers/db';

type Doc = { _id: string | ObjectId; n: number };
let db: Awaited<ReturnType<typeof openTestDatabase>>;
let docs: Collection<Doc>;
let ferret = false;

/** The CallSid-like _id of document `n` (odd n only). */
const idOf = (n: number): string => `CA${String(n).padStart(32, '0')}`;

/** A collection of its own with 300 documents: n = 0…299, odd ones with a CallSid-like _id (idOf), even ones an ObjectId. */
async function threeHundred(name: string): Promise<Collection<Doc>> {
  const collection = db.connection.collection(name) as unknown as Collection<Doc>;
  await collection.insertMany(Array.from({ length: 300 }, (_, i) => ({ _id: i % 2 ? idOf(i) : new ObjectId(), n: i })));
  return collection;
}

beforeAll(async () => {
  db = await openTestDatabase();
  ferret = await servedByFerretDb(db.connection);
  docs = await threeHundred('id_lookups');
});

afterAll(() => db?.drop());

/** The SQLite plan FerretDB reports for a find with `filter`. */
async function planOf(filter: Record<string, unknown>): Promise<string> {
  const explained = await db.connection.db!.command({ explain: { find: 'id_lookups', filter } });
  return (explained.queryPlanner as { Plan: string[] }).Plan.join('\n');
}

test('when a document is looked up by its _id, alone or with other conditions, then FerretDB searches the _id index instead of scanning the collection', async () => {
  if (!ferret) return; // MongoDB (MONGODB_URI) plans its own way, with the _id index
  const id = idOf(7);

  for (const filter of [{ _id: id }, { _id: id, n: 7 }, { _id: id, $or: [{ n: 7 }, { n: 8 }] }]) {
    const plan = await planOf(filter);
    expect(plan).toMatch(/SEARCH \S+ USING INDEX \S+__id_/);
    expect(plan).not.toMatch(/SCAN/);
  }
  // Without an _id to look up, it scans, as before.
  expect(await planOf({ n: 7 })).toMatch(/SCAN/);
});

test('when a filter names an _id and other conditions, then only a document meeting them all is found, updated or deleted', async () => {
  const docs = await threeHundred('id_and_more');

  expect(await docs.findOne({ _id: idOf(21), n: 21 })).toMatchObject({ n: 21 });
  expect(await docs.findOne({ _id: idOf(21), n: 22 })).toBeNull();
  expect((await docs.updateOne({ _id: idOf(23), n: 999 }, { $set: { n: -1 } })).matchedCount).toBe(0);
  expect((await docs.deleteOne({ _id: idOf(25), n: 999 })).deletedCount).toBe(0);
  expect((await docs.updateOne({ _id: idOf(23), n: 23 }, { $set: { n: 2300 } })).modifiedCount).toBe(1);
  expect((await docs.deleteOne({ _id: idOf(25), n: 25 })).deletedCount).toBe(1);

  expect((await docs.findOne({ _id: idOf(23) }))?.n).toBe(2300);
  expect(await docs.findOne({ _id: idOf(25) })).toBeNull();
  expect(await docs.countDocuments({})).toBe(299);
  expect(await docs.countDocuments({ n: { $lt: 1000 } })).toBe(298);
});

test('when documents are found, updated and deleted by _id, then exactly the one named is, whether its _id is a string or an ObjectId', async () => {
  const [byObjectId] = await docs.find({ n: 10 }).toArray();
  const stringId = idOf(11);

  expect((await docs.findOne({ _id: stringId }))?.n).toBe(11);
  expect((await docs.findOne({ _id: byObjectId!._id }))?.n).toBe(10);
  expect((await docs.updateOne({ _id: stringId }, { $inc: { n: 1000 } })).modifiedCount).toBe(1);
  expect((await docs.updateOne({ _id: byObjectId!._id }, { $inc: { n: 1000 } })).modifiedCount).toBe(1);
  expect((await docs.deleteOne({ _id: idOf(13) })).deletedCount).toBe(1);

  const all = await docs.find({}).toArray();
  expect(all).toHaveLength(299);
  expect(all.filter((d) => d.n >= 1000).map((d) => d.n).sort()).toEqual([1010, 1011]);
  expect(all.some((d) => d.n === 13)).toBe(false);
});
