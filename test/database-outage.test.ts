// The database goes away mid-run: callers hear an apology, pages get 503, nothing hangs, and it all comes back with the server.
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { connectDatabase, type Database } from '../src/db/connect';
import { freePort, startFerretdb, type EmbeddedDatabase } from '../src/db/ferretdb';
import { createLogger } from '../src/logger';
import { fakeSid, signedInAgent, startTestApp, TEST_ENV, type AgentClient, type TestApp } from './helpers/app';
import { startRestRecorder, type RestRecorder } from './helpers/rest-recorder';
import { find, parseTwiml } from './helpers/twiml';

let dataDir: string;
let port: number;
let server: EmbeddedDatabase;
let db: Database;
let rest: RestRecorder;
let app: TestApp;
let agent1: AgentClient;
const log = (): void => undefined;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-outage-'));
  port = await freePort();
  server = await startFerretdb({ dataDir, port, log });
  db = await connectDatabase({ uri: server.uri, dbName: 'outage', logger: createLogger('silent'), serverSelectionTimeoutMs: 1500 });
  rest = await startRestRecorder();
  app = await startTestApp({ db, restBaseUrl: rest.baseUrl });
  agent1 = await signedInAgent(app, 'agent1');
});

afterAll(async () => {
  await app?.stop();
  await rest?.close();
  await db?.close();
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

function incomingCall(callSid: string) {
  return app.webhook('/conference/connect/client', { CallSid: callSid, From: '+15551112222', To: TEST_ENV.TWILIO_NUMBER });
}

test('when the database stops and comes back, then callers hear an apology meanwhile, pages get 503, and stored calls survive', async () => {
  // A call stored while the database is up.
  const before = fakeSid();
  expect(find(parseTwiml((await incomingCall(before)).text), 'Conference')!.text).toBe(before);
  await app.running.background.drain();
  rest.requests.length = 0;

  await server.stop();

  // Act while it is down.
  const during = fakeSid();
  const caller = await incomingCall(during);
  const agentLeg = await app.webhook(`/conference/${before}/connect/agent1`, { CallSid: fakeSid() });
  const page = await agent1.get('/agents/agent1/call').set('Accept', 'application/json');
  const transfer = await agent1.post('/conference/agent1/call').send({ to: 'agent2' });

  expect(caller.status).toBe(200);
  const callerTwiml = parseTwiml(caller.text);
  expect(callerTwiml.children.map((c) => c.name)).toEqual(['Say', 'Hangup']);
  expect(find(callerTwiml, 'Say')!.text).toMatch(/sorry/i);
  expect(agentLeg.status).toBe(200);
  expect(parseTwiml(agentLeg.text).children.map((c) => c.name)).toEqual(['Say', 'Hangup']);
  expect(page.status).toBe(503);
  expect(page.body.error).toMatch(/database is unavailable/i);
  expect(transfer.status).toBe(503);
  expect(transfer.body.error).toMatch(/database is unavailable/i);
  expect(rest.requests).toHaveLength(0);

  // The server comes back on the same port with the same files.
  server = await startFerretdb({ dataDir, port, log });
  const after = fakeSid();
  let recovered;
  for (let attempt = 0; attempt < 20; attempt += 1) {
    recovered = await incomingCall(after);
    if (find(parseTwiml(recovered.text), 'Conference')) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }

  expect(find(parseTwiml(recovered!.text), 'Conference')!.text).toBe(after);
  expect(await db.models.calls.findById(before).lean().exec()).toMatchObject({ _id: before, status: 'waiting' });
  expect(await db.models.calls.countDocuments({ _id: during })).toBe(0);

  // The caller told sorry is in the history as a call that failed (so the reports count it), once the database is back.
  let kept = await app.running.history.find(during, new Date());
  for (let attempt = 0; !kept && attempt < 40; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    kept = await app.running.history.find(during, new Date());
  }
  expect(kept).toMatchObject({ _id: during, from: '+15551112222', outcome: 'failed', endReason: 'told-sorry', hungUpBy: 'system', agentIds: [], talkSeconds: 0 });
  const supervisor = await signedInAgent(app, 'boss1', { role: 'supervisor' });
  const historyPage = await supervisor.get(`/history/${kept!.endedAt.toISOString().slice(0, 10)}/${during}`);
  expect(historyPage.status).toBe(200);
  expect(historyPage.text).toContain('the app could not take the call');
});
