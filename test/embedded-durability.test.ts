// The embedded database runs SQLite with synchronous(normal) (src/db/ferretdb.ts): a commit does not wait for the disk,
// but every write FerretDB has acknowledged must survive FerretDB being killed, and be there when it comes back.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { startFerretdb, type EmbeddedDatabase } from '../src/db/ferretdb';

jest.setTimeout(60_000);

let dir: string;
let db: EmbeddedDatabase;
let client: MongoClient;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-durability-'));
  db = await startFerretdb({ dataDir: dir, log: () => undefined });
  client = new MongoClient(db.uri, { maxPoolSize: 4, serverSelectionTimeoutMS: 20_000 });
  await client.connect();
});
afterAll(async () => {
  await client?.close();
  await db?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('when FerretDB is killed right after acknowledging writes, then every one of them is there after its restart', async () => {
  const docs = client.db('durability').collection<{ _id: number; n: number }>('docs');
  const ids = Array.from({ length: 120 }, (_, i) => i);
  await Promise.all(ids.map((_id) => docs.insertOne({ _id, n: 0 })));
  // The last acknowledged writes are the ones a lazy flush would lose: updates, then more inserts, then the kill.
  await Promise.all(ids.filter((i) => i % 2 === 0).map((_id) => docs.updateOne({ _id }, { $set: { n: _id + 1 } })));
  await Promise.all(ids.map((i) => docs.insertOne({ _id: 1000 + i, n: -1 })));

  const pid = db.pid()!;
  process.kill(pid, 'SIGKILL');
  const deadline = Date.now() + 30_000;
  while (!(db.state() === 'running' && db.pid() !== pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  expect(db.restarts()).toBe(1);

  const stored = await docs.find({}).toArray();
  expect(stored).toHaveLength(240);
  const byId = new Map(stored.map((d) => [d._id, d.n]));
  for (const i of ids) {
    expect(byId.get(i)).toBe(i % 2 === 0 ? i + 1 : 0);
    expect(byId.get(1000 + i)).toBe(-1);
  }
});
