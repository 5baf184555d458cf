// The agent directory read through its stamp (src/models/stamped-read.ts), on the real database with two connections
// standing for two app instances: a change made through one reaches the other's next read, however the changes
// interleave, and a directory nobody changed is not read again.
import { connectDatabase, type Database } from '../src/db/connect';
import { createLogger } from '../src/logger';
import { agentModel } from '../src/models/agent';
import { STAMPS_COLLECTION, stampedRead } from '../src/models/stamped-read';
import { createAgentAccounts } from '../src/services/agents';
import { openTestDatabase } from './helpers/db';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let other: Database;

beforeAll(async () => {
  db = await openTestDatabase();
  other = await connectDatabase({ uri: process.env.TEST_MONGODB_URI!, dbName: db.connection.name, logger: createLogger('silent') });
});

afterAll(async () => {
  await other?.close();
  await db?.drop();
});

const ids = (agents: Array<{ id: string }>): string[] => agents.map((a) => a.id).sort();

test('when one instance adds, renames and disables agents, then the other instance reads each change on its next read', async () => {
  const here = createAgentAccounts(agentModel(db.connection));
  const there = createAgentAccounts(agentModel(other.connection));
  await here.add({ login: 'ada', name: 'Ada' });
  expect(ids(await there.all())).toEqual(['ada']);
  expect(ids(await there.all())).toEqual(['ada']);

  await here.add({ login: 'grace', name: 'Grace' });
  expect(await there.find('grace')).toMatchObject({ id: 'grace', name: 'Grace' });
  expect(ids(await there.all())).toEqual(['ada', 'grace']);

  await here.change('grace', { name: 'Grace Hopper' });
  expect((await there.all()).find((a) => a.id === 'grace')).toMatchObject({ name: 'Grace Hopper', disabled: false });

  await there.change('ada', { disabled: true });
  expect((await here.all()).find((a) => a.id === 'ada')).toMatchObject({ disabled: true });
  expect(await here.find('ada')).toMatchObject({ disabled: true });
  expect(await here.find('nobody')).toBeUndefined();
});

test('when nothing changed, then the collection is not read again; with no stamp stored (a wiped database), it is read every time', async () => {
  const rows = db.connection.collection('stamped_things');
  await rows.insertOne({ _id: 'one' as never });
  let reads = 0;
  const read = async () => {
    reads += 1;
    return (await rows.find({}).toArray()).map((r) => String(r._id)).sort();
  };
  const here = stampedRead(db.connection, 'test:things', read);
  const there = stampedRead(other.connection, 'test:things', read);

  // No stamp yet: every read goes to the collection.
  await here.read();
  await here.read();
  expect(reads).toBe(2);

  // Stamped: read once, then served from the copy until the stamp changes.
  await here.changed();
  expect(await here.read()).toEqual(['one']);
  reads = 0;
  for (let i = 0; i < 5; i += 1) expect(await here.read()).toEqual(['one']);
  expect(reads).toBe(0);

  // A write through the other instance, stamped after it landed: the next read sees it.
  await other.connection.collection('stamped_things').insertOne({ _id: 'two' as never });
  await there.changed();
  expect(await here.read()).toEqual(['one', 'two']);
  expect(reads).toBe(1);

  // The stamps wiped (as a test's reset or a restore would): nothing is served from a copy.
  await db.connection.collection(STAMPS_COLLECTION).deleteMany({});
  await rows.insertOne({ _id: 'three' as never });
  expect(await here.read()).toEqual(['one', 'three', 'two']);
});

test('when 30 agents are added at once through two instances while both keep reading, then both then read all 30', async () => {
  const here = createAgentAccounts(agentModel(db.connection, 'agents_concurrent'));
  const there = createAgentAccounts(agentModel(other.connection, 'agents_concurrent'));
  const logins = Array.from({ length: 30 }, (_, i) => `agent${String(i).padStart(2, '0')}`);
  let reading = true;
  const readers = [here, there].map(async (side) => {
    while (reading) await side.all();
  });

  await Promise.all(logins.map((login, i) => (i % 2 === 0 ? here : there).add({ login, name: login })));
  reading = false;
  await Promise.all(readers);

  expect(ids(await here.all())).toEqual(logins);
  expect(ids(await there.all())).toEqual(logins);
});
