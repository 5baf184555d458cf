// Demo mode: loopback only, seeded demo agents, one-click sign-in, the stand-in's credentials made per installation.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { DEMO_AGENTS } from '../src/auth/demo';
import { parseConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { startServer, type RunningServer } from '../src/runtime';
import { agentModel } from '../src/models/agent';
import { createAgentAccounts } from '../src/services/agents';
import { clientFor, csrfTokenOf, requestAs, sessionCookieOf, signIn, TEST_ENV } from './helpers/app';
import { openTestDatabase } from './helpers/db';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let dataDir: string;
let running: RunningServer;
const logs: string[] = [];

async function startDemo(env: Record<string, string> = {}, into: string[] = logs): Promise<RunningServer> {
  const config = parseConfig({ PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'info', ...env });
  return startServer({ config, logger: createLogger('info', (line) => into.push(line)), db, accessLog: false });
}

beforeAll(async () => {
  db = await openTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-demo-'));
  running = await startDemo();
});

afterAll(async () => {
  await running?.stop();
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

const http = () => request(running.url);

/** The cookies a sign-in page sets (what its form needs posted back), as one Cookie header. */
function preSignInCookie(page: { headers: Record<string, unknown> }): string {
  return ((page.headers['set-cookie'] as string[] | undefined) ?? []).map((c) => c.split(';')[0]).join('; ');
}

async function signInPage() {
  const page = await http().get('/sign-in').set('Accept', 'text/html');
  return { page, cookie: preSignInCookie(page), csrfToken: csrfTokenOf(page.text)! };
}

test('when demo mode starts with no HOST, then it listens on 127.0.0.1 only', () => {
  expect(running.config.host).toBe('127.0.0.1');
  expect((running.server.address() as AddressInfo).address).toBe('127.0.0.1');
});

test('when demo mode starts, then at least four demo agents and a supervisor exist, and starting again adds no duplicates', async () => {
  const agents = await running.agents.all();
  expect(agents.filter((a) => a.role === 'agent' && !a.disabled).length).toBeGreaterThanOrEqual(4);
  expect(agents.some((a) => a.role === 'supervisor')).toBe(true);
  expect(agents.map((a) => a.id).sort()).toEqual(DEMO_AGENTS.map((a) => a.id).sort());

  // A second instance on the same database (as at a restart), while an admin had disabled one demo agent.
  await running.agents.change('alan', { disabled: true });
  const again = await startDemo({}, []);
  await again.stop();

  expect((await running.agents.all()).length).toBe(DEMO_AGENTS.length);
  expect(await running.agents.find('alan')).toMatchObject({ disabled: true });
  await running.agents.change('alan', { disabled: false });
});

test('when the sign-in page is opened in demo mode, then it offers one-click sign-in as each enabled demo agent', async () => {
  const { page } = await signInPage();

  expect(page.status).toBe(200);
  const offered = [...page.text.matchAll(/<button type="submit" data-agent="([^"]+)"/g)].map((m) => m[1]);
  expect(offered.sort()).toEqual(DEMO_AGENTS.map((a) => a.id).sort());
  expect(page.text).toContain('action="/sign-in/demo"');
});

test('when a visitor clicks a demo agent, then they are signed in as that agent and the page is theirs', async () => {
  const { cookie, csrfToken } = await signInPage();

  const res = await http().post('/sign-in/demo').set('Cookie', cookie).type('form').send({ agentId: 'grace', _csrf: csrfToken });

  expect(res.status).toBe(303);
  const session = sessionCookieOf(res)!;
  expect(session).not.toBe(cookie);
  const setCookie = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('wt.sid='))!;
  expect(setCookie).not.toMatch(/Secure/); // http://localhost in demo mode
  const grace = await clientFor({ http, running }, 'grace', session);
  const page = await grace.get('/').set('Accept', 'text/html');
  expect(page.text).toContain('data-agent-id="grace"');
  expect(page.text).toContain('data-agent-name="Grace Hopper"');
  expect((await grace.post('/token/grace').send({})).status).toBe(200);
});

test('when one-click sign-in names someone who is not a demo agent, or comes without the CSRF token, then it is refused', async () => {
  await running.agents.add({ id: 'real', login: 'real', name: 'Real Person', password: 'a real password here' });
  const { cookie, csrfToken } = await signInPage();

  const notDemo = await http().post('/sign-in/demo').set('Cookie', cookie).type('form').send({ agentId: 'real', _csrf: csrfToken });
  const unknown = await http().post('/sign-in/demo').set('Cookie', cookie).type('form').send({ agentId: '../../etc', _csrf: csrfToken });
  const noToken = await http().post('/sign-in/demo').set('Cookie', cookie).type('form').send({ agentId: 'ada' });

  expect(notDemo.status).toBe(404);
  expect(unknown.status).toBe(404);
  expect(noToken.status).toBe(403);
});

test('when someone tries a demo agent with a password, then it fails: demo agents have none', async () => {
  const { cookie, csrfToken } = await signInPage();

  const res = await http().post('/sign-in').set('Cookie', cookie).type('form').send({ login: 'ada', password: '', _csrf: csrfToken });

  expect(res.status).toBe(401);
});

test("when demo mode starts, then the stand-in's credentials are made for this installation, kept in DATA_DIR for its user only, and reused", async () => {
  const file = path.join(dataDir, 'twilio-local.json');
  const stored = JSON.parse(readFileSync(file, 'utf8'));

  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect(running.config.twilio).toMatchObject(stored);
  expect(stored.accountSid).toMatch(/^AC[0-9a-f]{32}$/);
  expect(stored.apiKey).toMatch(/^SK[0-9a-f]{32}$/);
  const rest = await http().get(`/twilio-local/2010-04-01/Accounts/${stored.accountSid}/Calls.json`).auth(stored.apiKey, stored.apiSecret);
  expect(rest.status).toBe(200);

  const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-demo-other-'));
  try {
    const other = await startServer({ config: parseConfig({ PORT: '0', DATA_DIR: elsewhere }), logger: createLogger('silent'), db, accessLog: false });
    await other.stop();
    expect(other.config.twilio.accountSid).not.toBe(stored.accountSid);
    expect(other.config.twilio.apiSecret).not.toBe(stored.apiSecret);
  } finally {
    rmSync(elsewhere, { recursive: true, force: true });
  }
});

test('when demo mode runs with NODE_ENV=production, then the log warns loudly', async () => {
  const lines: string[] = [];
  const production = await startDemo({ NODE_ENV: 'production' }, lines);
  await production.stop();

  expect(lines.some((line) => / WARN .*DEMO MODE WITH NODE_ENV=production/.test(line))).toBe(true);
  expect(logs.some((line) => /NODE_ENV=production/.test(line))).toBe(false);
});

test('when two app instances share one database, then a session made by one works on the other, and disabling the agent on one ends it on both', async () => {
  const second = await startDemo({}, []);
  try {
    const { cookie, csrfToken } = await signInPage();
    const signedIn = await http().post('/sign-in/demo').set('Cookie', cookie).type('form').send({ agentId: 'katherine', _csrf: csrfToken });
    const session = sessionCookieOf(signedIn)!;

    const onSecond = await request(second.url).get('/agents/katherine/call').set('Cookie', session);
    expect(onSecond.status).toBe(200);

    await running.agents.change('katherine', { disabled: true });

    expect((await request(second.url).get('/agents/katherine/call').set('Cookie', session)).status).toBe(401);
    expect((await http().get('/agents/katherine/call').set('Cookie', session)).status).toBe(401);
  } finally {
    await second.stop();
    await running.agents.change('katherine', { disabled: false });
  }
});

describe("demo mode's accounts are kept apart from Twilio mode's", () => {
  const TWILIO_ENV = { ...TEST_ENV, TWILIO_API_BASE_URL: 'http://127.0.0.1:9' };

  test('when demo mode made an admin on a data directory and Twilio mode starts on it next, then Twilio mode has no demo account, the demo admin and its sessions open nothing, and the log says so', async () => {
    const shared = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-demo-then-twilio-'));
    try {
      // Demo mode on its own embedded database under DATA_DIR: the demo admin adds an admin, whose password the page shows.
      const demoLogs: string[] = [];
      const demo = await startServer({ config: parseConfig({ PORT: '0', DATA_DIR: shared, LOG_LEVEL: 'info' }), logger: createLogger('info', (line) => demoLogs.push(line)), accessLog: false });
      let password: string;
      let demoSession: string;
      try {
        const demoHttp = () => request(demo.url);
        const page = await demoHttp().get('/sign-in').set('Accept', 'text/html');
        const signedIn = await demoHttp().post('/sign-in/demo').set('Cookie', preSignInCookie(page)).type('form').send({ agentId: 'demo-admin', _csrf: csrfTokenOf(page.text)! });
        demoSession = sessionCookieOf(signedIn)!;
        const admin = await clientFor({ http: demoHttp, running: demo }, 'demo-admin', demoSession);
        const added = await admin.postWithoutToken('/admin/agents').type('form').set('Accept', 'text/html').send({ name: 'Mallory', login: 'mallory', role: 'admin', _csrf: admin.csrfToken });
        expect(added.status).toBe(201);
        password = /Their password \(shown once\): ([A-Za-z0-9]+)</.exec(added.text)![1]!;
      } finally {
        await demo.stop();
      }
      expect(demoLogs.join('\n')).toMatch(/demo mode: accounts and sessions are demo mode's own .*Twilio mode on this database never sees them/);

      // Twilio mode on the same DATA_DIR, as the README's next step.
      const logs: string[] = [];
      const twilio = await startServer({ config: parseConfig({ ...TWILIO_ENV, DATA_DIR: shared, LOG_LEVEL: 'info' }), logger: createLogger('info', (line) => logs.push(line)), accessLog: false });
      try {
        const app = { http: () => requestAs(twilio.url, new URL(twilio.config.publicBaseUrl).host), running: twilio };
        expect(await twilio.agents.all()).toEqual([]);
        expect(logs.join('\n')).toContain('No admin account yet');
        expect(logs.join('\n')).toMatch(/Twilio mode: accounts and sessions in agents and sessions; demo mode's are kept apart/);
        await expect(signIn(app, 'mallory', password)).rejects.toThrow(/answered 401/);
        expect((await app.http().get('/agents/demo-admin/call').set('X-Forwarded-Proto', 'https').set('Cookie', demoSession)).status).toBe(401);
        expect((await app.http().get('/admin').set('X-Forwarded-Proto', 'https').set('Cookie', demoSession).set('Accept', 'text/html')).status).toBe(303);
      } finally {
        await twilio.stop();
      }
    } finally {
      rmSync(shared, { recursive: true, force: true });
    }
  }, 60_000);

  test('when Twilio mode starts on a database where an earlier version kept the demo agents among its accounts, then the password-less ones are disabled, the log says so, and the first-admin hint shows', async () => {
    const old = await openTestDatabase();
    try {
      const legacy = createAgentAccounts(agentModel(old.connection));
      for (const agent of DEMO_AGENTS) await legacy.add({ ...agent, login: agent.id });
      await legacy.add({ id: 'real', login: 'real', name: 'Real Person', role: 'agent', password: 'a real password here' });
      const logs: string[] = [];

      const twilio = await startServer({ config: parseConfig({ ...TWILIO_ENV, PORT: '0' }), logger: createLogger('info', (line) => logs.push(line)), db: old, accessLog: false });
      await twilio.stop();

      const after = await legacy.all();
      expect(after.filter((a) => DEMO_AGENTS.some((d) => d.id === a.id)).every((a) => a.disabled)).toBe(true);
      expect(after.find((a) => a.id === 'real')).toMatchObject({ disabled: false });
      expect(logs.join('\n')).toMatch(/WARN +Twilio mode: disabled 6 password-less demo accounts .*demo-admin/);
      expect(logs.join('\n')).toContain('No admin account yet');
    } finally {
      await old.drop();
    }
  });
});
