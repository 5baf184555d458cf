// Changes to one call from several processes at once, as three connections with their own claims stand in for three
// app instances on the test database (FerretDB, whose updates are not atomic under concurrency, unless MONGODB_URI):
// with claims on the revision read no change is lost, a claim whose holder stopped is taken over once it has expired
// (by one writer only), and a holder whose claim came too late to write sends nothing and starts over.
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

/** One "instance": its own connection, claims and store (`storeRun` runs each of their database operations). */
function instance(database: Database, settings: Partial<LeaseSettings> = {}, storeRun = run): { store: CallStore; leases: CallLeases } {
  const leases = createCallLeases(callLeaseCollection(database.connection), storeRun, { leaseMs: 3000, marginMs: 1000, waitMs: 5000, ...settings });
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
const claimsOf = (callSid: string) => db.connection.collection('call_leases').find({ _id: { $regex: `^rev:${callSid}:` } as never }).toArray();
/** A claim on the change from `rev`, as another process (or one that was killed) would hold it. */
const heldClaim = (callSid: string, rev: number, generation: number, holder: string, expiresAt: Date) =>
  db.connection.collection('call_leases').insertOne({ _id: `rev:${callSid}:${rev}:${generation}` as never, holder, expiresAt });

test('when three instances change one call at once, then every change lands exactly once', async () => {
  const callSid = await newCall();
  const writers = [instance(db), instance(others[0]!), instance(others[1]!)];

  await Promise.all(writers.flatMap(({ store }, w) => Array.from({ length: 20 }, (_, i) => store.change(callSid, append(`w${w}-${i}`)))));
  await Promise.all(writers.map(({ store }) => store.settle()));

  const call = await stored(callSid);
  expect(call.events!.map((e) => e.label).sort()).toEqual(writers.flatMap((_, w) => Array.from({ length: 20 }, (_, i) => `w${w}-${i}`)).sort());
  expect(call.rev).toBe(60);
  // One claim per change, each on the revision it moved on from, none taken over.
  expect((await claimsOf(callSid)).map((c) => String(c._id)).sort()).toEqual(Array.from({ length: 60 }, (_, rev) => `rev:${callSid}:${rev}:0`).sort());
  expect(writers.reduce((sum, { leases }) => sum + leases.stats.waited, 0)).toBeGreaterThan(0); // they did contend
}, 60000);

test('when the holder of a claim stopped before writing, then the next change waits for the claim to expire, takes it over and lands', async () => {
  const callSid = await newCall();
  const expiresAt = new Date(Date.now() + 600);
  await heldClaim(callSid, 0, 0, 'a-process-that-was-killed:1', expiresAt);
  const { store, leases } = instance(db);

  await store.change(callSid, append('after-takeover'));

  expect(Date.now()).toBeGreaterThanOrEqual(expiresAt.getTime());
  expect(leases.stats.takenOver).toBe(1);
  expect((await stored(callSid)).events!.map((e) => e.label)).toEqual(['after-takeover']);
});

test('when several instances find the same expired claim at once, then exactly one takes it over and no change is lost', async () => {
  const callSid = await newCall();
  await heldClaim(callSid, 0, 0, 'a-process-that-was-killed:2', new Date(Date.now() - 1000));
  const writers = [instance(db), instance(others[0]!), instance(others[1]!)];

  await Promise.all(writers.flatMap(({ store }, w) => Array.from({ length: 5 }, (_, i) => store.change(callSid, append(`w${w}-${i}`)))));

  expect(writers.reduce((sum, { leases }) => sum + leases.stats.takenOver, 0)).toBe(1);
  expect((await stored(callSid)).events).toHaveLength(15);
});

test('when the database answers so slowly that the claim comes too late to write, then nothing is written under it and the change lands once under the next claim', async () => {
  const callSid = await newCall();
  let ops = 0;
  // The store's claim (its second operation, after the read that decides the change) lands later than the claim
  // leaves for writing.
  const slowFirstLeasedRead = <T>(op: () => Promise<T>): Promise<T> => (ops++ === 1 ? new Promise((resolve) => setTimeout(resolve, 350)).then(() => run(op)) : run(op));
  const { store, leases } = instance(db, { leaseMs: 600, marginMs: 300 }, slowFirstLeasedRead);

  await store.change(callSid, append('once'));
  await store.settle();

  expect(leases.stats.acquired).toBe(2);
  expect(leases.stats.takenOver).toBe(1); // its own late claim, expired unused
  const call = await stored(callSid);
  expect(call.events!.map((e) => e.label)).toEqual(['once']);
  expect(call.rev).toBe(1);
});

test('when a change would write nothing, then it takes no claim, and its answer is decided on what is stored', async () => {
  const callSid = await newCall();
  await heldClaim(callSid, 0, 0, 'a-slow-writer:1', new Date(Date.now() + 60_000));
  const { store, leases } = instance(db);

  // Another instance holds the claim for a minute: a change that writes nothing does not wait for it.
  const status = await store.change(callSid, (call) => ({ result: call.status }));

  expect(status).toBe('waiting');
  expect(leases.stats.acquired + leases.stats.waited).toBe(0);
  expect((await stored(callSid)).rev).toBe(0);
  await db.connection.collection('call_leases').deleteOne({ _id: `rev:${callSid}:0:0` as never });
});

test('when claims are long expired, then housekeeping on one instance removes them and leaves the live ones; another instance sweeping in the same slot removes nothing', async () => {
  const callSid = await newCall();
  const now = Date.now();
  await heldClaim(callSid, 0, 0, 'a-process-that-was-killed:3', new Date(now - 10_000));
  await heldClaim(callSid, 1, 0, 'a-writer-that-wrote:4', new Date(now - 9_000));
  await heldClaim(callSid, 2, 0, 'a-live-writer:5', new Date(now + 3_000));
  const first = instance(db, { leaseMs: 3000 });
  const second = instance(others[0]!, { leaseMs: 3000 });

  const [a, b] = await Promise.all([first.leases.sweep(now), second.leases.sweep(now)]);

  expect([a, b].sort()).toEqual([0, 2]);
  expect((await claimsOf(callSid)).map((c) => String(c._id))).toEqual([`rev:${callSid}:2:0`]);
});

test('when more claims have expired than FerretDB can delete at once (SQLite takes 32,766 values in one statement), then housekeeping still removes every one of them', async () => {
  const now = Date.now() + 60_000; // a sweep slot of its own
  const expired = new Date(now - 60_000);
  const prefix = `rev:${fakeSid()}`;
  const claims = Array.from({ length: 33_000 }, (_, i) => ({ _id: `${prefix}:${i}:0` as never, holder: 'a-busy-day:1', expiresAt: expired }));
  for (let i = 0; i < claims.length; i += 5000) await db.connection.collection('call_leases').insertMany(claims.slice(i, i + 5000));
  const callSid = await newCall();
  await heldClaim(callSid, 0, 0, 'a-live-writer:2', new Date(now + 3_000));

  const removed = await instance(db, { leaseMs: 3000 }).leases.sweep(now);

  expect(removed).toBeGreaterThanOrEqual(33_000);
  expect(await db.connection.collection('call_leases').countDocuments({ _id: { $regex: `^${prefix}:` } as never })).toBe(0);
  expect((await claimsOf(callSid)).map((c) => String(c._id))).toEqual([`rev:${callSid}:0:0`]);
}, 120_000);
