// The app supervises its embedded FerretDB: readiness tells when it is unreachable, and a killed FerretDB is restarted
// on the same port and files while the app keeps running, with no restart of its own.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectDatabase, DEFAULT_DB_NAME } from '../src/db/connect';
import { createLogger } from '../src/logger';
import { fakeSid, TEST_ENV } from './helpers/app';
import { ferretdbPidsOn, isRunning, saveOutput, startAppProcess, waitFor, type AppProcess } from './helpers/app-process';
import { startRestRecorder, type RestRecorder } from './helpers/rest-recorder';
import { find, parseTwiml } from './helpers/twiml';

// Each test starts whole app processes (and FerretDBs); on a loaded 2-core machine that alone can take tens of seconds.
jest.setTimeout(120_000);

let tmp: string;
let ferretdbDir: string;
let rest: RestRecorder;
let app: AppProcess;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-supervisor-'));
  ferretdbDir = path.join(tmp, 'data', 'ferretdb');
  rest = await startRestRecorder();
  app = await startAppProcess({ dataDir: path.join(tmp, 'data'), restBaseUrl: rest.baseUrl, cwd: tmp });
});

afterAll(async () => {
  await app?.stop();
  // The app's own log of the run, to read when a step fails.
  if (app) saveOutput('database-supervisor', app.output);
  await rest?.close();
  rmSync(tmp, { recursive: true, force: true });
});

function incomingCall(callSid: string) {
  return app.webhook('/conference/connect/client', { CallSid: callSid, From: '+15551112222', To: TEST_ENV.TWILIO_NUMBER });
}

/** The conference a caller was put in, or undefined when they heard the apology instead. */
async function conferenceOf(callSid: string): Promise<string | undefined> {
  const res = await incomingCall(callSid);
  return res.status === 200 ? find(parseTwiml(res.text), 'Conference')?.text : undefined;
}

function onlyFerretdb(): number {
  const pids = ferretdbPidsOn(ferretdbDir);
  expect(pids).toHaveLength(1);
  return pids[0]!;
}

test('when the app runs on its embedded FerretDB, then /readyz and /healthz both answer 200', async () => {
  const ready = await app.http().get('/readyz');
  const live = await app.http().get('/healthz');

  expect(ready.status).toBe(200);
  expect(ready.body).toEqual({ ready: true });
  expect(live.status).toBe(200);
  expect(onlyFerretdb()).toBeGreaterThan(0);
});

test('when FerretDB stops answering, then /readyz answers 503 with a reason while /healthz stays 200', async () => {
  const pid = onlyFerretdb();
  process.kill(pid, 'SIGSTOP');
  try {
    const notReady = await waitFor('/readyz to answer 503', async () => {
      const res = await app.http().get('/readyz');
      return res.status === 503 ? res : undefined;
    });
    const live = await app.http().get('/healthz');

    expect(notReady.status).toBe(503);
    expect(notReady.body).toEqual({ ready: false, reason: expect.stringMatching(/did not answer/) });
    expect(live.status).toBe(200);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  await waitFor('/readyz to answer 200 again', async () => (await app.http().get('/readyz')).status === 200);
});

test('when FerretDB is killed with SIGKILL, then the app restarts it, /readyz returns to 200, and a signed incoming call works again with earlier calls intact', async () => {
  const before = fakeSid();
  expect(await conferenceOf(before)).toBe(before);
  const killed = onlyFerretdb();

  process.kill(killed, 'SIGKILL');

  await waitFor('the killed FerretDB to be gone', () => !isRunning(killed));
  const restarted = await waitFor('a new FerretDB on the same data directory', () => ferretdbPidsOn(ferretdbDir).find((pid) => pid !== killed));
  await waitFor('/readyz to answer 200', async () => (await app.http().get('/readyz')).status === 200);
  const after = fakeSid();
  await waitFor('an incoming call to be put in its conference', async () => (await conferenceOf(after)) === after);

  expect(isRunning(app.pid)).toBe(true);
  expect(ferretdbPidsOn(ferretdbDir)).toEqual([restarted]);
  expect(app.output.some((line) => /WARN .*embedded FerretDB exited unexpectedly \(signal SIGKILL\); restarting it/.test(line))).toBe(true);
  expect(app.output.filter((line) => / ERROR /.test(line))).toEqual([]);
  // The stored calls, read straight from the restarted server.
  const lock = JSON.parse(readFileSync(path.join(ferretdbDir, 'warm-transfer.lock'), 'utf8')) as { port: number; pid: number; ferretdbPid: number };
  expect(lock).toMatchObject({ pid: app.pid, ferretdbPid: restarted });
  const db = await connectDatabase({ uri: `mongodb://127.0.0.1:${lock.port}/`, dbName: DEFAULT_DB_NAME, logger: createLogger('silent') });
  try {
    expect(await db.models.calls.countDocuments({ _id: { $in: [before, after] } })).toBe(2);
  } finally {
    await db.close();
  }
});

test('when FerretDB is killed again and again, then each time it comes back', async () => {
  for (let round = 0; round < 3; round += 1) {
    const killed = onlyFerretdb();
    process.kill(killed, 'SIGKILL');
    await waitFor('a new FerretDB', () => ferretdbPidsOn(ferretdbDir).find((pid) => pid !== killed));
    await waitFor('/readyz to answer 200', async () => (await app.http().get('/readyz')).status === 200);
  }

  const callSid = fakeSid();
  await waitFor('an incoming call to be put in its conference', async () => (await conferenceOf(callSid)) === callSid);
  expect(ferretdbPidsOn(ferretdbDir)).toHaveLength(1);
});

test('when the app stops, then its FerretDB stops and the data directory lock is released', async () => {
  await app.stop();

  expect((await app.exited).code).toBe(0);
  expect(ferretdbPidsOn(ferretdbDir)).toEqual([]);
  expect(existsSync(path.join(ferretdbDir, 'warm-transfer.lock'))).toBe(false);
});
