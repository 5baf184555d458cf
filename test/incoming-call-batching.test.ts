// Incoming calls that arrive while a call is being stored are stored together in the next insert (group commit): each
// call still succeeds, is a duplicate, or is too late on its own — over real HTTP, signed webhooks and a real FerretDB
// that the test pauses (SIGSTOP) to hold the first insert while the others queue behind it.
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { connectDatabase, type Database } from '../src/db/connect';
import { freePort, startFerretdb, type EmbeddedDatabase } from '../src/db/ferretdb';
import { createLogger } from '../src/logger';
import { createCallStore, storeRunner, type NewCall } from '../src/models/call-store';
import { finishedCallCollection } from '../src/models/finished-calls';
import { addAgent, fakeSid, resetFloor, startTestApp, TEST_ENV, type TestApp } from './helpers/app';
import { ferretdbPidsOn } from './helpers/app-process';
import { formValue, startRestRecorder, type RestRecorder } from './helpers/rest-recorder';
import { find, parseTwiml } from './helpers/twiml';

const DB_TIMEOUT_MS = 2500;
const CALLS_PATH = `/2010-04-01/Accounts/${TEST_ENV.TWILIO_ACCOUNT_SID}/Calls.json`;
const AGENTS = ['ana', 'ben', 'cho'];

let dataDir: string;
let server: EmbeddedDatabase;
let db: Database;
let rest: RestRecorder;
let app: TestApp;
let ferretdbPid: number;
/** The number of calls in each insert the app sent to the calls collection, and each insert's outcome. */
let batches: number[];
let inserts: Array<Promise<unknown>>;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-batching-'));
  server = await startFerretdb({ dataDir, port: await freePort(), log: () => undefined });
  db = await connectDatabase({ uri: server.uri, dbName: 'batching', logger: createLogger('silent'), serverSelectionTimeoutMs: 1500 });
  rest = await startRestRecorder();
  app = await startTestApp({ db, restBaseUrl: rest.baseUrl, env: { DB_TIMEOUT_MS: String(DB_TIMEOUT_MS) } });
  for (const id of AGENTS) await addAgent(app, id);
  const [pid] = ferretdbPidsOn(dataDir);
  if (!pid) throw new Error('no FerretDB serves the test data directory');
  ferretdbPid = pid;
  // Watches (and passes through to the real database) every multi-document insert into the live calls.
  const collection = db.models.calls.collection;
  const insertMany = collection.insertMany.bind(collection);
  jest.spyOn(collection, 'insertMany').mockImplementation((docs, options) => {
    batches.push(docs.length);
    const insert = insertMany(docs, options);
    inserts.push(insert.catch(() => undefined));
    return insert;
  });
});

beforeEach(async () => {
  await resetFloor(app.running);
  for (const id of AGENTS) {
    await app.running.presence.heartbeat(id, `tab-${id}-batching`, { takeOver: true, staleMs: 60000, registered: true });
    await app.running.presence.choose(id, 'available');
  }
  rest.requests.length = 0;
  app.logs.length = 0;
  batches = [];
  inserts = [];
});

afterAll(async () => {
  jest.restoreAllMocks();
  await app?.stop();
  await rest?.close();
  await db?.close();
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

function incomingCall(callSid: string, withNumber = true) {
  return app.webhook('/conference/connect/client', { CallSid: callSid, ...(withNumber ? { From: '+15551112222' } : {}), To: TEST_ENV.TWILIO_NUMBER, CallStatus: 'ringing', Direction: 'inbound' }).then((res) => res);
}

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Pauses the database, sends `first` (its insert goes alone and stalls), then `rest` at once, which queue behind it;
 * resumes the database once `resumeWhen` says so. Resolves with every answer, first's first.
 */
async function behindAStalledInsert(first: () => ReturnType<typeof incomingCall>, others: Array<() => ReturnType<typeof incomingCall>>, resumeWhen: (answers: Promise<unknown>) => Promise<unknown>) {
  process.kill(ferretdbPid, 'SIGSTOP');
  let answers: Promise<Array<Awaited<ReturnType<typeof incomingCall>>>>;
  try {
    const firstAnswer = first();
    await until('the first insert', () => batches.length === 1);
    const connectionsBefore = await openConnections();
    answers = Promise.all([firstAnswer, ...others.map((send) => send())]);
    // Every queued webhook has reached the app (its connection is open) and been read.
    await until('the queued webhooks', async () => (await openConnections()) >= connectionsBefore + others.length);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await resumeWhen(answers);
  } finally {
    process.kill(ferretdbPid, 'SIGCONT');
  }
  return answers;
}

function openConnections(): Promise<number> {
  return new Promise((resolve, reject) => app.running.server.getConnections((err, count) => (err ? reject(err) : resolve(count))));
}

const repeatsLogged = (callSid: string): number => app.logs.filter((line) => line.includes('repeated incoming-call webhook') && line.includes(callSid)).length;
const dialledCalls = (): string[] => rest.requests.filter((r) => r.path === CALLS_PATH).map((r) => formValue(r, 'Url')!.split('/')[4]!);

test('when calls arrive while one is being stored, then they are stored together in one insert, each exactly once, repeats are answered as repeats, and no call rings twice', async () => {
  const [a, b, c, ...others] = Array.from({ length: 13 }, () => fakeSid());
  const noNumber = others[0]!;
  const queued = [b!, c!, ...others, a!, b!, b!, c!, c!];

  const answers = await behindAStalledInsert(
    () => incomingCall(a!),
    queued.map((callSid) => () => incomingCall(callSid, callSid !== noNumber)),
    () => Promise.resolve(),
  );

  // Every webhook, repeats too, gets its conference: Twilio may retry, and the caller must not hear an error.
  expect(answers.map((res) => res.status)).toEqual(answers.map(() => 200));
  expect(answers.map((res) => find(parseTwiml(res.text), 'Conference')?.text)).toEqual([a, ...queued]);
  // One insert for the first call, one for everything that queued behind it, repeats included.
  expect(batches).toEqual([1, queued.length]);
  const distinct = [a!, b!, c!, ...others];
  const stored = await db.models.calls.find({}).lean().exec();
  expect(stored.map((call) => call._id).sort()).toEqual([...distinct].sort());
  // A call Twilio sent without a number is stored without one (not as null).
  expect(Object.keys(stored.find((call) => call._id === noNumber)!)).not.toContain('from');
  expect([a, b, c, others[1]].map((callSid) => repeatsLogged(callSid!))).toEqual([1, 2, 2, 0]);

  // Three agents are free: three calls ring, each at one agent, and none rings again for a repeat.
  await until('three dials', () => dialledCalls().length >= 3);
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(dialledCalls()).toHaveLength(3);
  expect(new Set(dialledCalls()).size).toBe(3);
  expect(dialledCalls().every((callSid) => distinct.includes(callSid))).toBe(true);
});

test('when a call is stored by group commit, then it is the document mongoose create() would have stored', async () => {
  const store = createCallStore(db.models.calls, storeRunner(DB_TIMEOUT_MS));
  // Completed calls, so that routing leaves them alone.
  const call = (callSid: string): NewCall => ({ _id: callSid, conferenceName: callSid, from: '+15551112222', status: 'completed', participants: [], passedBy: [], transfers: [], rev: 0 });
  const [viaStore, viaCreate] = [fakeSid(), fakeSid()];

  await store.insert(call(viaStore));
  await db.models.calls.create(call(viaCreate));

  const [stored, created] = await Promise.all([viaStore, viaCreate].map((callSid) => db.models.calls.findById(callSid).lean().exec()));
  const shape = (doc: object | null | undefined) => Object.fromEntries(Object.entries(doc ?? {}).map(([key, value]) => [key, key === '_id' || key === 'conferenceName' ? 'the CallSid' : value instanceof Date ? 'a date' : value]));
  expect(shape(stored)).toEqual(shape(created));
  expect(batches).toEqual([1]);
});

test('when the database stalls while calls are queued for the next insert, then every caller hears sorry, and each late record is removed once it lands and never offered', async () => {
  const [first, ...others] = Array.from({ length: 6 }, () => fakeSid());

  const answers = await behindAStalledInsert(
    () => incomingCall(first!),
    others.map((callSid) => () => incomingCall(callSid)),
    // The database stays paused until every caller has been answered (after DB_TIMEOUT_MS).
    (all) => all,
  );

  for (const answer of answers) {
    const twiml = parseTwiml(answer.text);
    expect(twiml.children.map((child) => child.name)).toEqual(['Say', 'Hangup']);
    expect(find(twiml, 'Say')!.text).toMatch(/sorry/i);
  }
  // The queued calls did not wait for the stalled insert forever: they went out together, and stalled too.
  expect(batches).toEqual([1, others.length]);
  await Promise.all(inserts);
  const callers = [first!, ...others];
  await until('the late records to be removed', async () => (await db.models.calls.countDocuments({ _id: { $in: callers } })) === 0, 15000);
  // The log line follows the delete's answer, and a delete that timed out but landed is retried (and logged) 2 s later.
  const removalLogged = (callSid: string) => app.logs.some((line) => line.includes('removed a call whose caller was told sorry') && line.includes(callSid));
  await until('every removal to be logged', () => callers.every(removalLogged), 15000);
  expect(dialledCalls()).toEqual([]);
  // Each caller told sorry is kept in the history once, as a call that failed (the reports count it).
  await until('the history of every caller told sorry', async () => (await Promise.all(callers.map((callSid) => app.running.history.find(callSid, new Date())))).every(Boolean), 15000);
  for (const callSid of callers) expect(await app.running.history.find(callSid, new Date())).toMatchObject({ outcome: 'failed', endReason: 'told-sorry', from: '+15551112222' });

  // And the next caller is stored and rings an agent as usual.
  const next = fakeSid();
  const res = await incomingCall(next);
  expect(find(parseTwiml(res.text), 'Conference')?.text).toBe(next);
  await until('the next caller to ring', () => dialledCalls().length === 1);
  expect(dialledCalls()).toEqual([next]);
});

test('when more calls queue behind a stalled insert than one insert takes, then the ones still queued at their deadline are never written', async () => {
  const store = createCallStore(db.models.calls, storeRunner(1000));
  const callers = Array.from({ length: 600 }, () => fakeSid());
  const late: string[] = [];

  process.kill(ferretdbPid, 'SIGSTOP');
  let outcomes: Array<PromiseSettledResult<void>>;
  try {
    outcomes = await Promise.allSettled(
      callers.map((callSid) => store.insert({ _id: callSid, conferenceName: callSid, status: 'waiting', participants: [], passedBy: [], transfers: [], rev: 0 }, () => late.push(callSid))),
    );
  } finally {
    process.kill(ferretdbPid, 'SIGCONT');
  }

  // Everyone was told the store is unavailable. The first call went alone; at the deadline the next 500 went
  // together (their callers were still waiting); the 99 left were still queued when their callers gave up.
  expect(outcomes.every((outcome) => outcome.status === 'rejected' && outcome.reason instanceof Error && outcome.reason.name === 'StoreUnavailableError')).toBe(true);
  expect(batches).toEqual([1, 500]);
  expect(late).toEqual(callers.slice(0, 501));
  await Promise.all(inserts);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(batches).toEqual([1, 500]);
  expect(await db.models.calls.countDocuments({ _id: { $in: callers.slice(501) } })).toBe(0);
  expect(await db.models.calls.countDocuments({ _id: { $in: callers.slice(0, 501) } })).toBe(501);
  await resetFloor(app.running);
});

test('when looking up whether a call has finished fails, then a caller whose call is stored is taken, not told sorry', async () => {
  const lookup = jest.spyOn(finishedCallCollection(db.connection), 'findOne').mockRejectedValueOnce(new Error('the lookup failed'));
  const callSid = fakeSid();
  try {
    const res = await incomingCall(callSid);
    expect(find(parseTwiml(res.text), 'Conference')?.text).toBe(callSid);
    expect(lookup).toHaveBeenCalled();
  } finally {
    lookup.mockRestore();
  }
  await until('the caller to ring', () => dialledCalls().includes(callSid));
});
