// Starts the real app (HTTP on a free port) against a test database and a REST stand-in, with helpers to sign webhooks like Twilio.
import request from 'supertest';
import { openTestDatabase } from './db';
import { startRestRecorder, type RestRecorder } from './rest-recorder';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks';
import { parseConfig, type Config } from '../../src/config';
import type { Database } from '../../src/db/connect';
import type { AgentRole } from '../../src/services/agents';
import { createLogger } from '../../src/logger';
import { startServer, type RunningServer, type StartOptions } from '../../src/runtime';
import { webhookUrls } from '../../src/services/webhook-urls';
import { tapTwimlAnswers } from './contract/observe';

export const TEST_ENV = {
  TWILIO_ACCOUNT_SID: `AC${'1a'.repeat(16)}`,
  TWILIO_AUTH_TOKEN: 'test-auth-token-0123456789abcdef',
  TWILIO_API_KEY: `SK${'2b'.repeat(16)}`,
  TWILIO_API_SECRET: 'test-api-secret-0123456789abcdef',
  TWILIO_NUMBER: '+15557654321',
  PUBLIC_BASE_URL: 'https://warm-transfer.example.test',
  HOLD_MUSIC_URL: 'https://music.example.test/hold.mp3',
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'debug',
} as const;

export interface TestApp {
  config: Config;
  running: RunningServer;
  logs: string[];
  /** A supertest client for the running server. */
  http(): ReturnType<typeof request>;
  /** POSTs form `params` to `path`, signed exactly as Twilio signs for PUBLIC_BASE_URL + path. */
  webhook(path: string, params: Record<string, string>): request.Test;
  stop(): Promise<void>;
}

/** Twilio's signature of a POST to `url` with `params`, made with `authToken`. */
export function twilioSignature(authToken: string, url: string, params: Record<string, string>): string {
  return getExpectedTwilioSignature(authToken, url, params);
}

const HTTP_METHODS = new Set(['get', 'post', 'put', 'patch', 'delete', 'del', 'head', 'options']);

/**
 * A supertest client for the server at `url` whose requests say `Host: host`, as a browser that opened the app at
 * PUBLIC_BASE_URL does (the app answers only for its own host names).
 */
export function requestAs(url: string, host: string): ReturnType<typeof request> {
  return new Proxy(request(url), {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string' || !HTTP_METHODS.has(property)) return value;
      return (...args: unknown[]) => (value as (...a: unknown[]) => request.Test).apply(target, args).set('Host', host);
    },
  });
}

/** Starts the app in Twilio mode with its REST calls going to `restBaseUrl`. */
export async function startTestApp(options: { db: Database; restBaseUrl: string; env?: Record<string, string>; routing?: StartOptions['routing']; eventStreamCheckSeconds?: number; now?: () => Date }): Promise<TestApp> {
  const config = parseConfig({ ...TEST_ENV, TWILIO_API_BASE_URL: options.restBaseUrl, ...options.env });
  const logs: string[] = [];
  const logger = createLogger(config.logLevel, (line) => logs.push(line));
  const running = await startServer({ config, logger, db: options.db, accessLog: true, routing: { tickMs: 100, ...options.routing }, eventStreamCheckSeconds: options.eventStreamCheckSeconds, ...(options.now ? { now: options.now } : {}) });
  tapTwimlAnswers(running.server, { waitPaths: [new URL(webhookUrls(config.publicBaseUrl).wait('CA', 0)).pathname] });
  const http = () => requestAs(running.url, new URL(config.publicBaseUrl).host);
  return {
    config,
    running,
    logs,
    http,
    webhook(path, params) {
      const signature = twilioSignature(config.twilio.authToken, `${config.publicBaseUrl}${path}`, params);
      return http().post(path).type('form').set('X-Twilio-Signature', signature).send(params);
    },
    stop: () => running.stop(),
  };
}

let sidCounter = 0;
/** A unique, well-formed Twilio SID with the given prefix (CA for calls, CF for conferences). */
export function fakeSid(prefix: 'CA' | 'CF' = 'CA'): string {
  sidCounter += 1;
  const unique = `${process.pid.toString(16)}${Date.now().toString(16)}${sidCounter.toString(16)}`.padStart(32, '0').slice(-32);
  return `${prefix}${unique}`;
}

export interface AppSuite {
  db: Awaited<ReturnType<typeof openTestDatabase>>;
  rest: RestRecorder;
  app: TestApp;
}

/**
 * Registers beforeAll/afterAll that give this test file its own database, REST recorder and running app.
 * The returned object is filled in before the first test runs.
 */
export function useAppSuite(options: { env?: Record<string, string>; routing?: StartOptions['routing']; now?: () => Date } = {}): AppSuite {
  const suite = {} as AppSuite;
  beforeAll(async () => {
    suite.db = await openTestDatabase();
    suite.rest = await startRestRecorder();
    suite.app = await startTestApp({ db: suite.db, restBaseUrl: suite.rest.baseUrl, env: options.env, routing: options.routing, now: options.now });
  });
  afterAll(async () => {
    await suite.app?.stop();
    await suite.rest?.close();
    await suite.db?.drop();
  });
  return suite;
}

export const TEST_PASSWORD = 'correct horse battery staple';

/** What the sign-in helpers need of a running app. */
export type AppLike = Pick<TestApp, 'http' | 'running'>;

/** A signed-in browser, as far as HTTP goes: its session cookie and CSRF token go with every request. */
export interface AgentClient {
  agentId: string;
  /** The session cookie, `wt.sid=…`. */
  cookie: string;
  csrfToken: string;
  get(path: string): request.Test;
  /** A POST with the session cookie and the CSRF header (JSON routes). */
  post(path: string): request.Test;
  /** A POST with the session cookie only: the caller adds a token, or not. */
  postWithoutToken(path: string): request.Test;
}

/** The `name=value` of the session cookie a response sets, if any. */
export function sessionCookieOf(res: { headers: Record<string, unknown> }): string | undefined {
  const cookies = (res.headers['set-cookie'] as string[] | undefined) ?? [];
  return cookies.map((c) => c.split(';')[0]!).find((c) => c.startsWith('wt.sid='));
}

/** The CSRF token in a page's meta tag. */
export function csrfTokenOf(html: string): string | undefined {
  return /<meta name="csrf-token" content="([^"]+)"/.exec(html)?.[1];
}

// Cookies are Secure when PUBLIC_BASE_URL is https (as in TEST_ENV): the app trusts X-Forwarded-Proto from loopback,
// as it would behind a TLS-terminating proxy on the same machine.
const https = { 'X-Forwarded-Proto': 'https' };

/** The `name=value` of the sign-in cookie a response sets (what the sign-in forms' token is signed over), if any. */
export function signInCookieOf(res: { headers: Record<string, unknown> }): string | undefined {
  const cookies = (res.headers['set-cookie'] as string[] | undefined) ?? [];
  return cookies.map((c) => c.split(';')[0]!).find((c) => c.startsWith('wt.signin='));
}

/** Opens the sign-in page like a browser: its sign-in cookie and the forms' CSRF token. */
export async function openSignInPage(app: AppLike): Promise<{ cookie: string; csrfToken: string }> {
  const page = await app.http().get('/sign-in').set(https).set('Accept', 'text/html');
  if (page.status !== 200) throw new Error(`GET /sign-in answered ${page.status}`);
  const cookie = signInCookieOf(page);
  const csrfToken = csrfTokenOf(page.text);
  if (!cookie || !csrfToken) throw new Error('the sign-in page set no sign-in cookie or CSRF token');
  return { cookie, csrfToken };
}

/** A client for an existing session cookie (reads the CSRF token from the agent page). */
export async function clientFor(app: AppLike, agentId: string, cookie: string): Promise<AgentClient> {
  const page = await app.http().get('/').set(https).set('Cookie', cookie).set('Accept', 'text/html');
  const csrfToken = csrfTokenOf(page.text);
  if (page.status !== 200 || !csrfToken) throw new Error(`the agent page answered ${page.status} without a CSRF token`);
  const current = sessionCookieOf(page) ?? cookie;
  return {
    agentId,
    cookie: current,
    csrfToken,
    get: (path) => app.http().get(path).set(https).set('Cookie', current),
    post: (path) => app.http().post(path).set(https).set('Cookie', current).set('X-CSRF-Token', csrfToken),
    postWithoutToken: (path) => app.http().post(path).set(https).set('Cookie', current),
  };
}

/** Signs in through the sign-in form, as a browser does. */
export async function signIn(app: AppLike, login: string, password = TEST_PASSWORD): Promise<AgentClient> {
  const { cookie, csrfToken } = await openSignInPage(app);
  const res = await app.http().post('/sign-in').set(https).set('Cookie', cookie).type('form').send({ login, password, _csrf: csrfToken });
  const session = sessionCookieOf(res);
  if (res.status !== 303 || !session) throw new Error(`sign-in as ${login} answered ${res.status}: ${res.text.slice(0, 300)}`);
  const logins = await app.running.agents.logins();
  const agentId = [...logins].find(([, l]) => l === login.toLowerCase())?.[0];
  return clientFor(app, agentId!, session);
}

/** Creates an agent account (sign-in name = id, password TEST_PASSWORD) directly in the app's database. */
export async function addAgent(app: AppLike, id: string, options: { name?: string; role?: AgentRole; password?: string } = {}): Promise<void> {
  await app.running.agents.add({ id, login: id.toLowerCase(), name: options.name ?? `Agent ${id}`, role: options.role ?? 'agent', password: options.password ?? TEST_PASSWORD });
}

/** Creates the agent and signs them in. */
export async function signedInAgent(app: AppLike, id: string, options: { name?: string; role?: AgentRole } = {}): Promise<AgentClient> {
  await addAgent(app, id, options);
  return signIn(app, id.toLowerCase());
}

/** The agent's page says their softphone is up and registered (`tab`) and that they are available, as the page does. */
/** The agent's page is open with its softphone registered (a colleague who can be rung), their presence unchanged. */
export async function softphoneUp(client: AgentClient, tab = `tab-${client.agentId}-test-0001`): Promise<void> {
  const beat = await client.post('/api/me/heartbeat').send({ tab, takeOver: true, registered: true });
  if (beat.status !== 200) throw new Error(`heartbeat answered ${beat.status}: ${beat.text}`);
}

export async function makeAvailable(client: AgentClient, tab = `tab-${client.agentId}-test-0001`): Promise<void> {
  const beat = await client.post('/api/me/heartbeat').send({ tab, takeOver: true, registered: true });
  if (beat.status !== 200) throw new Error(`heartbeat answered ${beat.status}: ${beat.text}`);
  const res = await client.post('/api/me/presence').send({ status: 'available' });
  if (res.status !== 200) throw new Error(`presence answered ${res.status}: ${res.text}`);
}

/**
 * An empty floor for the next test: routing paused while every live call, reservation and presence is removed from
 * `running`'s database, then started again.
 */
export async function resetFloor(running: RunningServer): Promise<void> {
  await running.routing.stop();
  await running.background.drain();
  await Promise.all(['calls', 'reservations', 'presence', 'presence_softphones'].map((name) => running.db.connection.collection(name).deleteMany({})));
  running.routing.start();
}
