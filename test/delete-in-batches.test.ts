// Housekeeping deletes in batches (FerretDB on SQLite fails a delete of more than 32,766 documents): every matching
// document goes, batch after batch, and nothing that does not match, wherever its _id falls among theirs.
import type { Collection } from 'mongodb';
import { deleteInBatches } from '../src/models/delete-in-batches';
import { openTestDatabase } from './helpers/db';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let things: Collection<{ _id: string; old: boolean }>;

beforeAll(async () => {
  db = await openTestDatabase();
  things = db.connection.collection('batch_delete_things') as unknown as Collection<{ _id: string; old: boolean }>;
});

afterAll(() => db?.drop());

test('when the matches take several batches and others lie between them, then every match goes and every other stays', async () => {
  // 11 old and 6 current, interleaved by _id: batches of 3 end among current ones.
  const docs = Array.from({ length: 17 }, (_, i) => ({ _id: `t${String(i).padStart(2, '0')}`, old: i % 3 !== 1 }));
  await things.insertMany(docs);

  const removed = await deleteInBatches(things, { old: true }, { batch: 3 });

  expect(removed).toBe(docs.filter((d) => d.old).length);
  expect((await things.find({}).sort({ _id: 1 }).toArray()).map((d) => d._id)).toEqual(docs.filter((d) => !d.old).map((d) => d._id));
  expect(await deleteInBatches(things, { old: true }, { batch: 3 })).toBe(0);
});
