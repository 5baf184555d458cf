// A caller who heard "sorry" because the database answered too late is never stored as waiting, offered to an agent
// or shown on a page — even though the late write lands once the database wakes up.
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { connectDatabase, type Database } from '../src/db/connect';
import { freePort, startFerretdb, type EmbeddedDatabase } from '../src/db/ferretdb';
import { createLogger } from '../src/logger';
import { addAgent, fakeSid, startTestApp, TEST_ENV, type TestApp } from './helpers/app';
import { ferretdbPidsOn } from './helpers/app-process';
import { startRestRecorder, type RestRecorder } from './helpers/rest-recorder';
import { find, parseTwiml } from './helpers/twiml';

let dataDir: string;
let server: EmbeddedDatabase;
let db: Database;
let rest: RestRecorder;
let app: TestApp;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-ghost-'));
  server = await startFerretdb({ dataDir, port: await freePort(), log: () => undefined });
  db = await connectDatabase({ uri: server.uri, dbName: 'ghost', logger: createLogger('silent'), serverSelectionTimeoutMs: 1500 });
  rest = await startRestRecorder();
  app = await startTestApp({ db, restBaseUrl: rest.baseUrl, env: { DB_TIMEOUT_MS: '1000' } });
  await addAgent(app, 'ana');
});

afterAll(async () => {
  await app?.stop();
  await rest?.close();
  await db?.close();
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test('when the database stalls past the deadline, then the caller hears sorry, and the late record is removed and never offered', async () => {
  const [pid] = ferretdbPidsOn(dataDir);
  if (!pid) throw new Error('no FerretDB serves the test data directory');
  await app.running.presence.heartbeat('ana', 'tab-ana-ghost', { takeOver: true, staleMs: 60000, registered: true });
  await app.running.presence.choose('ana', 'available');
  const callers = [fakeSid(), fakeSid(), fakeSid()];

  process.kill(pid, 'SIGSTOP');
  let answers;
  try {
    answers = await Promise.all(callers.map((CallSid) => app.webhook('/conference/connect/client', { CallSid, From: '+15551112222', To: TEST_ENV.TWILIO_NUMBER })));
  } finally {
    process.kill(pid, 'SIGCONT');
  }

  for (const answer of answers) {
    const twiml = parseTwiml(answer.text);
    expect(twiml.children.map((c) => c.name)).toEqual(['Say', 'Hangup']);
    expect(find(twiml, 'Say')!.text).toMatch(/sorry/i);
  }
  // The stalled inserts land once the database wakes up (perhaps well after the apologies: a count of 0 says nothing
  // until then); the app removes each once it has landed, and logs it. A write whose answer was lost is looked for
  // again every 2 s.
  const removalLogged = (callSid: string) => app.logs.some((line) => line.includes('removed a call whose caller was told sorry') && line.includes(callSid));
  const deadline = Date.now() + 30000;
  while (!callers.every(removalLogged) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  const leftover = await db.models.calls.find({ _id: { $in: callers } }).lean().exec();
  expect({ removalsLogged: callers.filter(removalLogged).length, leftover: leftover.map((call) => call._id) }).toEqual({ removalsLogged: callers.length, leftover: [] });
  expect(rest.requests).toHaveLength(0); // nobody was rung for a caller who had been told sorry
  expect(await app.running.calls.activeCallFor('ana')).toBeNull();

  // And the app serves the next caller as usual.
  const next = fakeSid();
  const res = await app.webhook('/conference/connect/client', { CallSid: next, From: '+15551112222', To: TEST_ENV.TWILIO_NUMBER });
  expect(find(parseTwiml(res.text), 'Conference')!.text).toBe(next);
  await rest.waitForRequests(1, 5000);
}, 60_000);
