// DNS rebinding: a page on another site re-points its own name at this server and talks to it "same-origin". The app
// answers only for its own host names (PUBLIC_BASE_URL's; in demo mode also loopback names on any port), before any
// session is read or anything written; Twilio's signed webhooks are bound by their signature instead.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { parseConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { startServer, type RunningServer } from '../src/runtime';
import { csrfTokenOf, fakeSid, useAppSuite } from './helpers/app';
import { openTestDatabase } from './helpers/db';

describe('demo mode', () => {
  let db: Awaited<ReturnType<typeof openTestDatabase>>;
  let dataDir: string;
  let running: RunningServer;
  const logs: string[] = [];

  beforeAll(async () => {
    db = await openTestDatabase();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-rebind-'));
    const config = parseConfig({ PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'info' });
    running = await startServer({ config, logger: createLogger('info', (line) => logs.push(line)), db, accessLog: false });
  });

  afterAll(async () => {
    await running?.stop();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const sessionCount = () => Promise.all(['sessions', 'demo_sessions'].map((name) => db.connection.collection(name).countDocuments())).then(([a, b]) => a! + b!);
  const rebound = () => `rebind.example:${running.port}`;

  test('when a request names a foreign host with a matching Origin, then sign-in, one-click sign-in, the admin page, the event stream and the phone channel answer 421, no session is stored and nothing is written', async () => {
    // What the rebinding page would post: a real token from a real page (read on loopback, to make the point).
    const page = await request(running.url).get('/sign-in').set('Accept', 'text/html');
    const cookie = ((page.headers['set-cookie'] as unknown as string[] | undefined) ?? []).map((c) => c.split(';')[0]).join('; ');
    const token = csrfTokenOf(page.text)!;
    const sessionsBefore = await sessionCount();
    const agentsBefore = (await running.agents.all()).length;
    const callsBefore = running.twilioLocal!.snapshot().calls.length;
    const foreign = { Host: rebound(), Origin: `http://${rebound()}`, 'Sec-Fetch-Site': 'same-origin' };

    const answers = [
      await request(running.url).get('/sign-in').set(foreign).set('Accept', 'text/html'),
      await request(running.url).post('/sign-in/demo').set(foreign).set('Cookie', cookie).type('form').send({ agentId: 'demo-admin', _csrf: token }),
      await request(running.url).get('/admin').set(foreign).set('Accept', 'text/html'),
      await request(running.url).post('/admin/agents').set(foreign).type('form').send({ name: 'Mallory', login: 'mallory', role: 'admin', _csrf: token }),
      await request(running.url).get('/api/events').set(foreign),
      await request(running.url).get('/').set(foreign).set('Accept', 'text/html'),
      await request(running.url).get('/phone').set(foreign).set('Accept', 'text/html'),
      await request(running.url).post('/twilio-local/local/phone/calls').set(foreign).send({ from: '+15550001111', to: running.config.twilio.number }),
    ];

    for (const res of answers) {
      expect(res.status).toBe(421);
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    expect(answers[0]!.text).toContain('This server does not answer for that host name');
    expect(await sessionCount()).toBe(sessionsBefore);
    expect((await running.agents.all()).length).toBe(agentsBefore);
    expect(running.twilioLocal!.snapshot().calls.length).toBe(callsBefore);
  });

  test('when a page on another local port posts a one-click sign-in, then it is refused as cross-site; from its own origin it signs in', async () => {
    const host = `localhost:${running.port}`;
    const page = await request(running.url).get('/sign-in').set('Host', host).set('Accept', 'text/html');
    const cookie = ((page.headers['set-cookie'] as unknown as string[] | undefined) ?? []).map((c) => c.split(';')[0]).join('; ');
    const form = { agentId: 'ada', _csrf: csrfTokenOf(page.text)! };

    const other = await request(running.url).post('/sign-in/demo').set('Host', host).set('Origin', 'http://localhost:8080').set('Cookie', cookie).type('form').send(form);
    const own = await request(running.url).post('/sign-in/demo').set('Host', host).set('Origin', `http://${host}`).set('Cookie', cookie).type('form').send(form);

    expect(other.status).toBe(403);
    expect(own.status).toBe(303);
  });

  test.each(['localhost', '127.0.0.1', '[::1]'])('when the host is %s (on any port), then demo mode answers', async (name) => {
    const onPort = await request(running.url).get('/sign-in').set('Host', `${name}:${running.port}`).set('Accept', 'text/html');
    const otherPort = await request(running.url).get('/sign-in').set('Host', `${name}:8080`).set('Accept', 'text/html');
    const noPort = await request(running.url).get('/sign-in').set('Host', name).set('Accept', 'text/html');

    expect([onPort.status, otherPort.status, noPort.status]).toEqual([200, 200, 200]);
  });

  test.each([
    ['a subdomain of localhost', 'evil.localhost:3000'],
    ['localhost with a trailing dot', 'localhost.:3000'],
    ['a private address', '192.168.1.20:3000'],
    ['user info', 'user@localhost:3000'],
    ['a port out of range', 'localhost:99999'],
    ['nothing', ''],
  ])('when the host is %s, then 421', async (_what, host) => {
    const res = await request(running.url).get('/sign-in').set('Host', host).set('Accept', 'application/json');

    expect(res.status).toBe(421);
    expect(res.body.error).toMatch(/does not answer for that host name/);
  });
});

describe('Twilio mode', () => {
  const suite = useAppSuite();

  test("when the host is not PUBLIC_BASE_URL's (not even a loopback name), then pages and the API answer 421", async () => {
    for (const host of ['127.0.0.1:3000', 'localhost', 'rebind.example', 'warm-transfer.example.test.rebind.example', 'warm-transfer.example.test:8443']) {
      const page = await request(suite.app.running.url).get('/sign-in').set('Host', host).set('Accept', 'text/html');
      const api = await request(suite.app.running.url).get('/api/me').set('Host', host);

      expect([host, page.status, api.status]).toEqual([host, 421, 421]);
    }
  });

  test("when the host is PUBLIC_BASE_URL's, with its default port written or not and in any case, then the app answers", async () => {
    for (const host of ['warm-transfer.example.test', 'warm-transfer.example.test:443', 'Warm-Transfer.Example.TEST']) {
      const page = await request(suite.app.running.url).get('/sign-in').set('Host', host).set('Accept', 'text/html');

      expect([host, page.status]).toEqual([host, 200]);
    }
  });

  test('when a signed Twilio webhook arrives with another Host (a proxy rewrote it), then it is answered; an unsigned one with a foreign Host gets a 4xx and stores nothing', async () => {
    const callSid = fakeSid();
    const signed = await suite.app.webhook('/conference/connect/client', { CallSid: callSid, From: '+15551230000' }).set('Host', '10.0.0.5:3000');
    const forged = await request(suite.app.running.url).post('/conference/connect/client').set('Host', 'rebind.example').set('X-Twilio-Signature', 'forged').type('form').send({ CallSid: fakeSid() });
    const unsigned = await request(suite.app.running.url).post('/conference/connect/client').set('Host', 'rebind.example').type('form').send({ CallSid: fakeSid() });

    expect(signed.status).toBe(200);
    expect(signed.text).toContain('<Conference');
    expect(forged.status).toBe(403);
    expect(unsigned.status).toBe(421);
    expect(await suite.db.connection.collection('calls').countDocuments()).toBe(1);
  });

  test('when a load balancer probes health by the instance address, then /healthz and /readyz answer', async () => {
    const live = await request(suite.app.running.url).get('/healthz').set('Host', '10.0.0.5:3000');
    const ready = await request(suite.app.running.url).get('/readyz').set('Host', '10.0.0.5:3000');

    expect(live.status).toBe(200);
    expect(ready.status).toBe(200);
  });
});
