// Changes to one call from several processes at once, as three connections with their own leases stand in for three
// app instances on the test database (FerretDB, whose updates are not atomic under concurrency, unless MONGODB_URI):
// under per-call leases no change is lost, a lease whose holder stopped is taken over once it has expired (by one
// writer only), and a holder whose lease ran out before it could write sends nothing and starts over.
import { connectDatabase, type Database } from '../src/db/connect';
import type { CallRecord } from '../src/contact-center/call';
import { createLogger } from '../src/logger';
import { callLeaseCollection, createCallLeases, type CallLeases, type LeaseSettings } from '../src/models/call-lease';
import { createCallStore, storeRunner, type CallStore } from '../src/models/call-store';
import { fakeSid } from './helpers/app';
import { openTestDatabase } from './helpers/db';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
const others: Database[] = [];
const run = storeRunner(5000);

beforeAll(async () => {
  db = await openTestDatabase();
  for (let i = 0; i < 2; i += 1) others.push(await connectDatabase({ uri: process.env.TEST_MONGODB_URI!, dbName: db.connection.name, logger: createLogger('silent') }));
});

afterAll(async () => {
  for (const other of others) await other.close();
  await db?.drop();
});

/** One "instance": its own connection, leases and store. */
function instance(database: Database, settings: Partial<LeaseSettings> = {}, storeRun = run): { store: CallStore; leases: CallLeases } {
  const leases = createCallLeases(callLeaseCollection(database.connection), run, { leaseMs: 3000, marginMs: 1000, waitMs: 5000, ...settings });
  return { store: createCallStore(database.models.calls, storeRun, { leases }), leases };
}

async function newCall(): Promise<string> {
  const callSid = fakeSid();
  await db.models.calls.create({ _id: callSid, conferenceName: callSid, status: 'waiting', participants: [], passedBy: [], transfers: [], rev: 0 });
  return callSid;
}

/** A change that appends one conference event labelled `label` (as a hold report would). */
const append = (label: string) => (_call: CallRecord) => ({ patch: { addEvent: { at: new Date(), kind: 'hold' as const, label } }, result: label });

const stored = async (callSid: string) => (await db.models.calls.findById(callSid).lean<CallRecord>().exec())!;
const leaseOf = (callSid: string) => db.connection.collection('call_leases').findOne({ _id: `call:${callSid}` as never });

test('when three instances change one call at once, then every change lands exactly once', async () => {
  const callSid = await newCall();
  const writers = [instance(db), instance(others[0]!), instance(others[1]!)];

  await Promise.all(writers.flatMap(({ store }, w) => Array.from({ length: 20 }, (_, i) => store.change(callSid, append(`w${w}-${i}`)))));
  await Promise.all(writers.map(({ store }) => store.settle()));

  const call = await stored(callSid);
  expect(call.events!.map((e) => e.label).sort()).toEqual(writers.flatMap((_, w) => Array.from({ length: 20 }, (_, i) => `w${w}-${i}`)).sort());
  expect(call.rev).toBe(60);
  expect(await leaseOf(callSid)).toBeNull(); // every lease was given back
  expect(writers.reduce((sum, { leases }) => sum + leases.stats.waited, 0)).toBeGreaterThan(0); // they did contend
}, 60000);

test('when the holder of a call\'s lease stopped, then the next change waits for the lease to expire, takes it over and lands', async () => {
  const callSid = await newCall();
  const expiresAt = new Date(Date.now() + 600);
  await db.connection.collection('call_leases').insertOne({ _id: `call:${callSid}` as never, holder: 'a-process-that-was-killed:1', expiresAt });
  const { store, leases } = instance(db);

  await store.change(callSid, append('after-takeover'));

  expect(Date.now()).toBeGreaterThanOrEqual(expiresAt.getTime());
  expect(leases.stats.takenOver).toBe(1);
  expect((await stored(callSid)).events!.map((e) => e.label)).toEqual(['after-takeover']);
});

test('when several instances find the same expired lease at once, then exactly one removes it and no change is lost', async () => {
  const callSid = await newCall();
  await db.connection.collection('call_leases').insertOne({ _id: `call:${callSid}` as never, holder: 'a-process-that-was-killed:2', expiresAt: new Date(Date.now() - 1000) });
  const writers = [instance(db), instance(others[0]!), instance(others[1]!)];

  await Promise.all(writers.flatMap(({ store }, w) => Array.from({ length: 5 }, (_, i) => store.change(callSid, append(`w${w}-${i}`)))));

  expect(writers.reduce((sum, { leases }) => sum + leases.stats.takenOver, 0)).toBe(1);
  expect((await stored(callSid)).events).toHaveLength(15);
});

test('when the database answers so slowly that the lease runs out before the write, then nothing is written under it and the change lands once under a new lease', async () => {
  const callSid = await newCall();
  let ops = 0;
  // The store's first read under the lease (its second operation, after the read that decides whether to take one)
  // takes longer than the lease leaves for writing.
  const slowFirstLeasedRead = <T>(op: () => Promise<T>): Promise<T> => (ops++ === 1 ? new Promise((resolve) => setTimeout(resolve, 350)).then(() => run(op)) : run(op));
  const { store, leases } = instance(db, { leaseMs: 600, marginMs: 300 }, slowFirstLeasedRead);

  await store.change(callSid, append('once'));
  await store.settle();

  expect(leases.stats.acquired).toBe(2);
  const call = await stored(callSid);
  expect(call.events!.map((e) => e.label)).toEqual(['once']);
  expect(call.rev).toBe(1);
});

test('when a change would write nothing, then it takes no lease, and its answer is decided on what is stored', async () => {
  const callSid = await newCall();
  await db.connection.collection('call_leases').insertOne({ _id: `call:${callSid}` as never, holder: 'a-slow-writer:1', expiresAt: new Date(Date.now() + 60_000) });
  const { store, leases } = instance(db);

  // Another instance holds the lease for a minute: a change that writes nothing does not wait for it.
  const status = await store.change(callSid, (call) => ({ result: call.status }));

  expect(status).toBe('waiting');
  expect(leases.stats.acquired + leases.stats.waited).toBe(0);
  expect((await stored(callSid)).rev).toBe(0);
  await db.connection.collection('call_leases').deleteOne({ _id: `call:${callSid}` as never });
});

test('when a stopped holder\'s lease is long expired, then housekeeping removes it, and the rights to take over once done', async () => {
  const callSid = await newCall();
  const leases = db.connection.collection('call_leases');
  await leases.insertOne({ _id: `call:${callSid}` as never, holder: 'a-process-that-was-killed:3', expiresAt: new Date(Date.now() - 10_000) });
  await leases.insertOne({ _id: `takeover:call:${callSid}:old-holder` as never, holder: 'x', expiresAt: new Date(Date.now() - 10_000) });
  const { leases: mine } = instance(db);

  const removed = await mine.sweep();

  expect(removed).toBe(2);
  expect(await leaseOf(callSid)).toBeNull();
  expect(await leases.countDocuments({ _id: `takeover:call:${callSid}:old-holder` as never })).toBe(0);
});
