// The embedded FerretDB finds documents by _id through the _id index (src/db/ferretdb.ts, FERRETDB_PATCH): the SQLite
// plan it reports for a find by _id is a search of that index, not a scan of the collection; and finds, updates and
// deletes by _id still reach exactly the document named, for the _id kinds the app uses (strings and ObjectIds).
import { ObjectId, type Collection } from 'mongodb';
import { servedByFerretDb } from '../src/db/connect';
import { openTestDatabase } from './helpers/db';

type Doc = { _id: string | ObjectId; n: number };
let db: Awaited<ReturnType<typeof openTestDatabase>>;
let docs: Collection<Doc>;
let ferret = false;

beforeAll(async () => {
  db = await openTestDatabase();
  ferret = await servedByFerretDb(db.connection);
  docs = db.connection.collection('id_lookups') as unknown as Collection<Doc>;
  await docs.insertMany(Array.from({ length: 300 }, (_, i) => ({ _id: i % 2 ? `CA${String(i).padStart(32, '0')}` : new ObjectId(), n: i })));
});

afterAll(() => db?.drop());

test('when a document is looked up by its _id, then FerretDB searches the _id index instead of scanning the collection', async () => {
  if (!ferret) return; // MongoDB (MONGODB_URI) plans its own way, with the _id index
  const explained = await db.connection.db!.command({ explain: { find: 'id_lookups', filter: { _id: `CA${'0'.repeat(31)}7` } } });
  const plan = (explained.queryPlanner as { Plan: string[] }).Plan.join('\n');

  expect(plan).toMatch(/SEARCH \S+ USING INDEX \S+__id_/);
  expect(plan).not.toMatch(/SCAN/);
});

test('when documents are found, updated and deleted by _id, then exactly the one named is, whether its _id is a string or an ObjectId', async () => {
  const [byObjectId] = await docs.find({ n: 10 }).toArray();
  const stringId = `CA${String(11).padStart(32, '0')}`;

  expect((await docs.findOne({ _id: stringId }))?.n).toBe(11);
  expect((await docs.findOne({ _id: byObjectId!._id }))?.n).toBe(10);
  expect((await docs.updateOne({ _id: stringId }, { $inc: { n: 1000 } })).modifiedCount).toBe(1);
  expect((await docs.updateOne({ _id: byObjectId!._id }, { $inc: { n: 1000 } })).modifiedCount).toBe(1);
  expect((await docs.deleteOne({ _id: `CA${String(13).padStart(32, '0')}` })).deletedCount).toBe(1);

  const all = await docs.find({}).toArray();
  expect(all).toHaveLength(299);
  expect(all.filter((d) => d.n >= 1000).map((d) => d.n).sort()).toEqual([1010, 1011]);
  expect(all.some((d) => d.n === 13)).toBe(false);
});
