// A contact center played end to end against several app processes sharing one database: the local Twilio stand-in
// (in this process) plays the phone network, a load balancer spreads its signed webhooks over the instances at random,
// each agent has a page on one instance (signed in, heartbeats, live events, its actions) and a softphone on the
// stand-in, and customers call and hang up. Everything sent and seen is recorded, for the instance tests
// (test/instances/) and the whole-call benchmark (bench/whole-call.ts). No jest here: the benchmark runs it too.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, scryptSync } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import { connectDatabase, type Database } from '../../src/db/connect';
import { freePort } from '../../src/db/ferretdb';
import { createLogger } from '../../src/logger';
import { agentModel } from '../../src/models/agent';
import { PROJECT_ROOT } from '../../src/paths';
import { createAgentAccounts } from '../../src/services/agents';
import { createTwilioLocal, type TwilioLocal, type TwilioLocalObserver } from '../../src/twilio-local';
import { createVoiceToken } from '../../src/twilio/token';
import { startLoadBalancer, type LoadBalancer } from './load-balancer';
import { openSse, type SseStream } from './sse';

export const SIM_TWILIO = {
  TWILIO_ACCOUNT_SID: `AC${'5e'.repeat(16)}`,
  TWILIO_AUTH_TOKEN: 'sim-auth-token-0123456789abcdef',
  TWILIO_API_KEY: `SK${'6f'.repeat(16)}`,
  TWILIO_API_SECRET: 'sim-api-secret-0123456789abcdef',
  TWILIO_NUMBER: '+15557654321',
} as const;
const PASSWORD = 'sim-password-0123456789';

/** What a customer's call does once an agent answers it. */
export type Script = 'talk' | 'decline-first' | 'consult' | 'cold' | 'agent-hangs-up';

export interface Timing {
  /** How long an agent's phone rings before they answer (ms, a random value up to twice this). */
  ringMs: number;
  /** How long the first agent talks before the script's step (a consult, a transfer, a hang-up) or the customer leaves. */
  talkMs: number;
  /** How long a consult goes on before it is completed; how long the customer talks after a transfer. */
  afterMs: number;
}

export interface SimSettings {
  instances: number;
  agents: number;
  /** MONGODB_URI of the database the instances share (with a database name of its own). */
  mongodbUri: string;
  /** More of the app's environment (RING_SECONDS, WRAP_UP_SECONDS…). */
  env?: Record<string, string>;
  /** Run the compiled dist/src/server.js (the benchmark) instead of src/server.ts (the tests). */
  built?: boolean;
  /** The load balancer holds each request a random 0..jitterMs first. */
  jitterMs?: number;
  /** More eyes on the stand-in (the tests' contract checks). */
  observe?: TwilioLocalObserver;
  /** How many agents' pages get their state on every change (a `state` event on their stream), as the agent page does (default: all). */
  refreshingPages?: number;
  timing: Timing;
}

export interface Instance {
  name: string;
  url: string;
  child: ChildProcess;
  output: string[];
  alive: boolean;
  exited: Promise<void>;
}

/** One ring of an agent's phone (an agent leg), from the dial to its end. */
export interface Ring {
  leg: string;
  agentId: string;
  callSid: string;
  /** routing: the app offered it; consult, cold: an agent's action asked for it. */
  cause: 'routing' | 'consult' | 'cold';
  /** When the stand-in took the dial. */
  rangAt: number;
  answeredAt?: number;
  endedAt?: number;
  how?: 'accepted' | 'rejected' | 'cancelled' | 'disconnected';
}

export interface SimCall {
  callSid: string;
  script: Script;
  /** What the script became (a consult nobody could take is a plain talk). */
  ran: Script;
  placedAt: number;
  /** When the app's incoming-call webhook was sent. */
  incomingAt?: number;
  rings: Ring[];
  answeredBy?: string;
  answeredAt?: number;
  /** The colleague of a consult or cold transfer. */
  colleague?: string;
  /** Waiting for `colleague`'s phone to ring for this call. */
  expecting?: { agentId: string; cause: 'consult' | 'cold' };
  customerHungUpAt?: number;
  agentHungUpAt?: number;
  /** Steps the script could not take, in words. */
  notes: string[];
  /** How many times the agent's step was refused because the app did not know them on the call yet. */
  stepTries?: number;
}

export interface PageView {
  at: number;
  /** The call the page shows, and the agent's own leg on it. */
  callSid?: string;
  legStatus?: string;
}

export interface SimAgent {
  id: string;
  home: Instance;
  cookie: string;
  csrf: string;
  token: string;
  deviceId?: string;
  device?: SseStream;
  page?: SseStream;
  refreshes: boolean;
  /** The ring this agent's phone is on (ringing or answered), as the softphone sees it. */
  current?: Ring;
  views: PageView[];
  /** When the page lost its instance and when it was connected to another. */
  reconnects: Array<{ lostAt: number; connectedAt?: number; to?: string }>;
  refreshing?: Promise<void>;
  again: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `password` hashed as src/auth/passwords.ts stores a hash (`scrypt$N$r$p$salt$hash`), with N = 2^10 instead of 2^17. */
function lightPasswordHash(password: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(password.normalize('NFKC'), salt, 64, { N: 2 ** 10, r: 8, p: 1 });
  return ['scrypt', 2 ** 10, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$');
}
/** The part of an agent page's state (GET /api/me, or the event stream's `state`) the simulator looks at. */
type PageState = { call: { callSid: string; participants: Array<{ agentId: string; status: string }> } | null };
const CONNECT_URL = /\/conference\/(CA[0-9a-fA-F]{32})\/connect\/([^/?]+)/;

/** `uri` with its database name replaced by `dbName` (its options kept: a replica set's URI works too). */
export function databaseUri(uri: string, dbName: string): string {
  const [head, query] = uri.split('?', 2) as [string, string | undefined];
  const match = /^(mongodb(?:\+srv)?:\/\/[^/]+)/.exec(head);
  if (!match) throw new Error(`not a MongoDB URI: ${uri.replace(/\/\/[^@]*@/, '//…@')}`);
  return `${match[1]}/${dbName}${query ? `?${query}` : ''}`;
}

async function startInstance(name: string, env: Record<string, string>, built: boolean): Promise<Instance> {
  const port = await freePort();
  const entry = built ? [path.join(PROJECT_ROOT, 'dist', 'src', 'server.js')] : [path.join(PROJECT_ROOT, 'test', 'helpers', 'run-ts.js'), path.join(PROJECT_ROOT, 'src', 'server.ts')];
  const child = spawn(process.execPath, entry, { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const collect = (chunk: Buffer): void => {
    output.push(...chunk.toString().split('\n').filter(Boolean));
    if (output.length > 5000) output.splice(0, output.length - 5000);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`instance ${name} exited with ${child.exitCode}:\n${output.join('\n')}`);
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`instance ${name} did not answer /healthz:\n${output.join('\n')}`);
    }
    await sleep(100);
  }
  return { name, url, child, output, alive: true, exited };
}

/** A fetch that says which error it was: a refused connection means the request never reached the instance. */
function neverArrived(err: unknown): boolean {
  const code = (err as { cause?: { code?: string } }).cause?.code;
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET';
}

export class ContactCenterSim {
  readonly instances: Instance[] = [];
  readonly agents: SimAgent[] = [];
  readonly calls = new Map<string, SimCall>();
  /** Every ring, by agent leg. */
  readonly rings = new Map<string, Ring>();
  /** When the phone network answered and ended each agent leg (its own callbacks say so: the app's view comes later). */
  readonly legTimes = new Map<string, { answeredAt?: number; endedAt?: number }>();
  /** Every webhook the stand-in sent, with when. */
  readonly webhooks: Array<{ at: number; kind: string; url: string; params: Record<string, string> }> = [];
  /** What went wrong in the simulation itself (an action answered unexpectedly…), in words. */
  readonly problems: string[] = [];
  /** How many requests the pages sent, by 'METHOD path'. */
  readonly pageRequests = new Map<string, number>();
  /** Heartbeats the app could not take (its database away): a page sends the next one anyway. */
  readonly heartbeatFailures: string[] = [];
  lb!: LoadBalancer;
  twilio!: TwilioLocal;
  twilioUrl = '';
  db!: Database;
  lastRestAt = 0;
  private twilioServer?: http.Server;
  private readonly dials = new Map<string, { callSid: string; agentId: string; at: number }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly work = new Set<Promise<unknown>>();
  private stopping = false;
  private beat?: NodeJS.Timeout;

  private constructor(readonly settings: SimSettings) {}

  /** Starts the stand-in, the load balancer, the instances and the agents (signed in, available, softphones up). */
  static async start(settings: SimSettings): Promise<ContactCenterSim> {
    const sim = new ContactCenterSim(settings);
    try {
      await sim.startNetwork();
      await sim.startInstances();
      await sim.startAgents();
    } catch (err) {
      await sim.stop();
      throw err;
    }
    return sim;
  }

  private async startNetwork(): Promise<void> {
    this.lb = await startLoadBalancer({ jitterMs: this.settings.jitterMs });
    const publicBaseUrl = this.lb.url;
    const observe = this.settings.observe;
    this.twilio = createTwilioLocal({
      accountSid: SIM_TWILIO.TWILIO_ACCOUNT_SID,
      authToken: SIM_TWILIO.TWILIO_AUTH_TOKEN,
      apiKeySid: SIM_TWILIO.TWILIO_API_KEY,
      apiKeySecret: SIM_TWILIO.TWILIO_API_SECRET,
      numbers: { [SIM_TWILIO.TWILIO_NUMBER]: { voiceUrl: `${publicBaseUrl}/conference/connect/client` } },
      callbackBase: publicBaseUrl,
      observe: {
        rest: (exchange) => {
          this.lastRestAt = Date.now();
          const url = exchange.params.Url;
          const sid = (exchange.body as { sid?: string } | undefined)?.sid;
          const match = typeof url === 'string' ? CONNECT_URL.exec(url) : null;
          if (exchange.method === 'POST' && exchange.path.endsWith('/Calls.json') && exchange.status === 201 && match && sid) this.dials.set(sid, { callSid: match[1]!, agentId: match[2]!, at: Date.now() });
          observe?.rest?.(exchange);
        },
        webhook: (webhook) => {
          const at = Date.now();
          this.webhooks.push({ at, kind: webhook.kind, url: webhook.url, params: webhook.params });
          this.noteLegTime(webhook.kind, webhook.params, at);
          if (webhook.kind === 'voice' && webhook.url.endsWith('/conference/connect/client')) {
            const call = this.calls.get(webhook.params.CallSid ?? '');
            if (call && call.incomingAt === undefined) call.incomingAt = Date.now();
          }
          observe?.webhook?.(webhook);
        },
      },
    });
    const app = express();
    app.use(this.twilio.router);
    this.twilioServer = http.createServer(app);
    this.twilioServer.keepAliveTimeout = 5000;
    await new Promise<void>((resolve) => this.twilioServer!.listen(0, '127.0.0.1', resolve));
    this.twilioUrl = `http://127.0.0.1:${(this.twilioServer.address() as AddressInfo).port}`;
    this.db = await connectDatabase({ uri: this.settings.mongodbUri, logger: createLogger('silent') });
  }

  private async startInstances(): Promise<void> {
    const env = {
      ...SIM_TWILIO,
      PUBLIC_BASE_URL: this.lb.url,
      TWILIO_API_BASE_URL: this.twilioUrl,
      MONGODB_URI: this.settings.mongodbUri,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...this.settings.env,
    };
    // One first, so indexes and the generated session secret are made once; then the others together.
    this.instances.push(await startInstance('i1', env, Boolean(this.settings.built)));
    this.instances.push(...(await Promise.all(Array.from({ length: this.settings.instances - 1 }, (_, i) => startInstance(`i${i + 2}`, env, Boolean(this.settings.built))))));
    for (const instance of this.instances) this.lb.add({ name: instance.name, url: instance.url });
  }

  private noteLegTime(kind: string, params: Record<string, string>, at: number): void {
    const leg = params.CallSid;
    if (!leg) return;
    const agentLeave = kind === 'conference-status' && params.StatusCallbackEvent === 'participant-leave' && params.ParticipantLabel?.startsWith('agent:');
    const agentStatus = kind === 'call-status' && this.dials.has(leg);
    if (!agentLeave && !agentStatus) return;
    const times = this.legTimes.get(leg) ?? {};
    if (agentStatus && params.CallStatus === 'in-progress') times.answeredAt ??= at;
    if (agentLeave || ['completed', 'busy', 'no-answer', 'canceled', 'failed'].includes(params.CallStatus ?? '')) times.endedAt = Math.min(times.endedAt ?? at, at);
    this.legTimes.set(leg, times);
  }

  private alive(): Instance[] {
    return this.instances.filter((i) => i.alive);
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.work.add(promise);
    void promise.finally(() => this.work.delete(promise)).catch(() => undefined);
    return promise;
  }

  private later(ms: number, task: () => Promise<void> | void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.stopping) return;
      this.track(
        Promise.resolve()
          .then(task)
          .catch((err: unknown) => void this.problems.push(`simulation step failed: ${(err as Error).stack ?? String(err)}`)),
      );
    }, ms);
    this.timers.add(timer);
  }

  // ---------- agents: their pages and softphones ----------

  private async startAgents(): Promise<void> {
    const accounts = createAgentAccounts(agentModel(this.db.connection));
    const ids = Array.from({ length: this.settings.agents }, (_, i) => `agent${String(i + 1).padStart(3, '0')}`);
    for (const id of ids) await accounts.addIfAbsent({ id, login: id, name: `Agent ${id.slice(5)}` });
    // One password for every simulated agent, hashed with light scrypt parameters (the app checks a hash with the
    // parameters stored beside it): at the default cost, a hundred agents' hashes and sign-ins took minutes of CPU.
    await agentModel(this.db.connection).updateMany({ _id: { $in: ids } }, { $set: { passwordHash: lightPasswordHash(PASSWORD) } });
    const refreshing = this.settings.refreshingPages ?? ids.length;
    // Pages spread over the instances, as a load balancer with sticky sessions spreads browsers. Ten sign in at a
    // time: every page comes from this one address, and sign-ins in flight count against its limit (20).
    const start = async (id: string, i: number): Promise<void> => {
      const agent: SimAgent = {
        id,
        home: this.instances[i % this.instances.length]!,
        cookie: '',
        csrf: '',
        token: createVoiceToken({ accountSid: SIM_TWILIO.TWILIO_ACCOUNT_SID, apiKey: SIM_TWILIO.TWILIO_API_KEY, apiSecret: SIM_TWILIO.TWILIO_API_SECRET, identity: id, ttlSeconds: 3600 }),
        refreshes: i < refreshing,
        views: [],
        reconnects: [],
        again: false,
      };
      this.agents.push(agent);
      await this.signIn(agent);
      await this.openDevice(agent);
      await this.heartbeat(agent);
      await this.pagePost(agent, '/api/me/presence', { status: 'available' }, [200]);
    };
    for (let i = 0; i < ids.length; i += 10) await Promise.all(ids.slice(i, i + 10).map((id, j) => start(id, i + j)));
    // Then the pages' live events: a page open while the others sign in would read its state again at each of them.
    await Promise.all(this.agents.map((agent) => this.openPage(agent)));
    this.agents.sort((a, b) => a.id.localeCompare(b.id));
    // The page's heartbeat (every 10 s, as the server asks), spread over the interval: pages opened at different
    // moments do not beat together (a hundred at once would be a burst no real floor sends).
    const slots = 20;
    let tick = 0;
    this.beat = setInterval(() => {
      const slot = tick % slots;
      tick += 1;
      this.agents.forEach((agent, i) => {
        if (i % slots === slot) void this.track(this.heartbeat(agent).catch((err: unknown) => void this.heartbeatFailures.push(`heartbeat of ${agent.id}: ${(err as Error).message}`)));
      });
    }, 10_000 / slots);
  }

  /** The load balancer's host, as it passes it on: each instance answers only for PUBLIC_BASE_URL's host. */
  private publicHost(): Record<string, string> {
    return { 'X-Forwarded-Host': new URL(this.lb.url).host };
  }

  private async signIn(agent: SimAgent): Promise<void> {
    const base = agent.home.url;
    const page = await fetch(`${base}/sign-in`, { headers: { ...this.publicHost(), Accept: 'text/html' } });
    const first = page.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith('wt.signin=')) ?? '';
    const token = /name="csrf-token" content="([^"]+)"/.exec(await page.text())?.[1] ?? '';
    const res = await fetch(`${base}/sign-in`, { method: 'POST', redirect: 'manual', headers: { ...this.publicHost(), Cookie: first, 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ login: agent.id, password: PASSWORD, _csrf: token }).toString() });
    agent.cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith('wt.sid=')) ?? '';
    if (res.status !== 303 || !agent.cookie) throw new Error(`sign-in of ${agent.id} answered ${res.status}`);
    const home = await fetch(`${base}/`, { headers: { ...this.publicHost(), Cookie: agent.cookie, Accept: 'text/html' } });
    agent.csrf = /name="csrf-token" content="([^"]+)"/.exec(await home.text())?.[1] ?? '';
  }

  /** The agent's page moves to another instance (its own died), as a browser behind the load balancer would. */
  private rehome(agent: SimAgent): void {
    if (agent.home.alive) return;
    const alive = this.alive();
    agent.home = alive[Math.floor(Math.random() * alive.length)]!;
  }

  /** A request of the agent's page to its instance; one that never reached it (the instance died) goes to another. */
  private async pageFetch(agent: SimAgent, method: string, urlPath: string, body?: unknown): Promise<Response> {
    const key = `${method} ${urlPath}`;
    this.pageRequests.set(key, (this.pageRequests.get(key) ?? 0) + 1);
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await fetch(`${agent.home.url}${urlPath}`, {
          method,
          headers: { ...this.publicHost(), Cookie: agent.cookie, ...(method === 'POST' ? { 'Content-Type': 'application/json', 'X-CSRF-Token': agent.csrf } : {}) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      } catch (err) {
        if (!neverArrived(err) || attempt >= 3) throw err;
        agent.home.alive = agent.home.alive && agent.home.child.exitCode === null && agent.home.child.signalCode === null;
        this.rehome(agent);
        await sleep(100);
      }
    }
  }

  private async pagePost(agent: SimAgent, urlPath: string, body: unknown, expected: number[]): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await this.pageFetch(agent, 'POST', urlPath, body);
    const text = await res.text();
    if (!expected.includes(res.status)) throw new Error(`${agent.id} POST ${urlPath} answered ${res.status}: ${text.slice(0, 200)}`);
    return { status: res.status, body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  private async heartbeat(agent: SimAgent): Promise<void> {
    await this.pagePost(agent, '/api/me/heartbeat', { tab: `tab-${agent.id}-sim`, takeOver: true, registered: true }, [200]);
  }

  /**
   * The page's live events, as the agent page opens them (?state=1): the server pushes the page's state after each
   * change; a bare `change` makes it read its state (one read at a time, as the page does).
   */
  private async openPage(agent: SimAgent): Promise<void> {
    const home = agent.home;
    agent.page = await openSse(`${home.url}/api/events${agent.refreshes ? '?state=1' : ''}`, { ...this.publicHost(), Cookie: agent.cookie }, (event, data) => {
      if (event === 'change') this.refresh(agent);
      else if (event === 'state' && agent.refreshes) this.sawState(agent, JSON.parse(data) as PageState);
    });
    this.refresh(agent);
    void agent.page.closed.then(() => {
      if (this.stopping) return;
      // The instance went away: the page's EventSource connects again, through the load balancer, to a live one.
      const reconnect = { lostAt: Date.now() } as SimAgent['reconnects'][number];
      agent.reconnects.push(reconnect);
      this.track(
        (async () => {
          for (;;) {
            if (this.stopping) return;
            home.alive = home.alive && home.child.exitCode === null && home.child.signalCode === null;
            this.rehome(agent);
            try {
              await this.openPage(agent);
              reconnect.connectedAt = Date.now();
              reconnect.to = agent.home.name;
              return;
            } catch {
              await sleep(200);
            }
          }
        })(),
      );
    });
  }

  private refresh(agent: SimAgent): void {
    if (!agent.refreshes || this.stopping) return;
    if (agent.refreshing) {
      agent.again = true;
      return;
    }
    agent.refreshing = this.track(
      (async () => {
        do {
          agent.again = false;
          try {
            const res = await this.pageFetch(agent, 'GET', '/api/me');
            if (res.status !== 200) {
              await res.text();
              continue;
            }
            this.sawState(agent, (await res.json()) as PageState);
          } catch {
            // The instance died under the read: the reconnection reads again.
          }
        } while (agent.again && !this.stopping);
      })().finally(() => {
        agent.refreshing = undefined;
      }),
    );
  }

  /** What the page shows of its call, when it got its state. */
  private sawState(agent: SimAgent, me: PageState): void {
    const mine = me.call ? [...me.call.participants].reverse().find((leg) => leg.agentId === agent.id) : undefined;
    agent.views.push({ at: Date.now(), ...(me.call ? { callSid: me.call.callSid, legStatus: mine?.status } : {}) });
  }

  private async openDevice(agent: SimAgent): Promise<void> {
    let registered!: () => void;
    const ready = new Promise<void>((resolve) => (registered = resolve));
    agent.device = await openSse(`${this.twilioUrl}/local/device/events?token=${encodeURIComponent(agent.token)}`, {}, (event, data) => {
      const payload = JSON.parse(data) as { deviceId?: string; callSid?: string };
      if (event === 'registered') {
        agent.deviceId = payload.deviceId;
        registered();
      } else if (event === 'incoming') this.track(this.incoming(agent, payload.callSid!));
      else if (event === 'cancel') this.legEnded(agent, payload.callSid!, 'cancelled');
      else if (event === 'disconnect') this.legEnded(agent, payload.callSid!, 'disconnected');
    });
    await ready;
  }

  private async deviceAction(agent: SimAgent, leg: string, action: 'accept' | 'reject'): Promise<number> {
    const res = await fetch(`${this.twilioUrl}/local/device/calls/${leg}/${action}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${agent.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ deviceId: agent.deviceId }),
    });
    await res.text();
    return res.status;
  }

  private legEnded(agent: SimAgent, leg: string, how: Ring['how']): void {
    const ring = this.rings.get(leg);
    if (ring && ring.endedAt === undefined) {
      ring.endedAt = Date.now();
      ring.how = ring.how ?? how;
    }
    if (agent.current?.leg === leg) agent.current = undefined;
  }

  /** The agent's phone rings for a leg of one customer's call: they answer it, or decline when the script says so. */
  private async incoming(agent: SimAgent, leg: string): Promise<void> {
    let dial = this.dials.get(leg);
    for (let i = 0; !dial && i < 100; i += 1) {
      await sleep(10);
      dial = this.dials.get(leg);
    }
    if (!dial) return void this.problems.push(`${agent.id}'s phone rang for ${leg}, which no dial of the app explains`);
    const call = this.calls.get(dial.callSid);
    if (!call) return void this.problems.push(`${agent.id} was rung for ${dial.callSid}, a call nobody made`);
    const cause = call.expecting?.agentId === agent.id ? call.expecting.cause : 'routing';
    if (cause !== 'routing') call.expecting = undefined;
    const ring: Ring = { leg, agentId: agent.id, callSid: call.callSid, cause, rangAt: dial.at };
    this.rings.set(leg, ring);
    call.rings.push(ring);
    if (agent.current) {
      // Recorded for the checks (an agent rung while busy); a person would let it ring.
      this.problems.push(`${agent.id} was rung for ${call.callSid} while on ${agent.current.callSid}`);
      return;
    }
    agent.current = ring;
    const routingRings = call.rings.filter((r) => r.cause === 'routing').length;
    if (cause === 'routing' && call.script === 'decline-first' && routingRings === 1) {
      await sleep(this.settings.timing.ringMs / 2);
      const status = await this.deviceAction(agent, leg, 'reject');
      if (status === 200) {
        ring.how = 'rejected';
        this.legEnded(agent, leg, 'rejected');
      } else this.legEnded(agent, leg, 'cancelled');
      return;
    }
    await sleep(this.settings.timing.ringMs * (0.5 + Math.random()));
    if (this.stopping) return;
    const status = await this.deviceAction(agent, leg, 'accept');
    if (status !== 200) {
      // The ring was stopped meanwhile (the caller left, the app cancelled it).
      this.legEnded(agent, leg, 'cancelled');
      return;
    }
    ring.answeredAt = Date.now();
    ring.how = 'accepted';
    if (cause === 'routing' && call.answeredBy === undefined) {
      call.answeredBy = agent.id;
      call.answeredAt = ring.answeredAt;
      this.later(this.settings.timing.talkMs, () => this.step(call));
    } else if (cause === 'consult') {
      this.later(this.settings.timing.afterMs, () => this.completeConsult(call));
    } else if (cause === 'cold') {
      this.later(this.settings.timing.afterMs, () => this.customerHangsUp(call));
    } else {
      this.later(this.settings.timing.afterMs, () => this.customerHangsUp(call));
    }
  }

  // ---------- customers and what their calls do ----------

  /** A customer calls the support number; `script` says what happens once an agent answers. */
  async placeCall(script: Script): Promise<SimCall> {
    const res = await fetch(`${this.twilioUrl}/local/phone/calls`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ from: '+15551230000', to: SIM_TWILIO.TWILIO_NUMBER }) });
    const { callSid } = (await res.json()) as { callSid: string };
    // The stand-in sends the incoming-call webhook in the background: the call is known before it can be answered.
    const call: SimCall = { callSid, script, ran: script, placedAt: Date.now(), rings: [], notes: [] };
    this.calls.set(callSid, call);
    return call;
  }

  /** An agent free to be a consult's or transfer's colleague, as far as their softphone says. */
  private freeColleague(except: string, tried: string[]): SimAgent | undefined {
    const free = this.agents.filter((a) => a.id !== except && !a.current && !tried.includes(a.id));
    return free[Math.floor(Math.random() * free.length)];
  }

  /** The first agent's step, once they have talked a while. */
  private async step(call: SimCall): Promise<void> {
    const agent = this.agents.find((a) => a.id === call.answeredBy)!;
    if (call.script === 'consult' || call.script === 'cold') {
      const tried: string[] = [];
      for (let attempt = 0; attempt < 4; attempt += 1) {
        const colleague = this.freeColleague(agent.id, tried);
        if (!colleague) break;
        tried.push(colleague.id);
        call.expecting = { agentId: colleague.id, cause: call.script };
        const res = call.script === 'consult'
          ? await this.pagePost(agent, '/api/me/consult', { to: colleague.id, note: 'sim' }, [202, 404, 409])
          : await this.pagePost(agent, '/api/me/transfer-cold', { to: colleague.id }, [200, 202, 404, 409]);
        if (res.status === 404 && (call.stepTries = (call.stepTries ?? 0) + 1) < 20) {
          // The app does not know the agent is on the call yet (the answer's webhook is slow under load): the page's
          // buttons are not there yet either, so the agent tries again a moment later.
          call.expecting = undefined;
          return this.later(250, () => this.step(call));
        }
        if (res.status === 404) throw new Error(`${agent.id} POST ${call.script} answered 404 for 5 s after answering ${call.callSid}`);
        if (res.status !== 409) {
          call.colleague = colleague.id;
          return;
        }
        // Routing reserved that colleague for an offer meanwhile: ask another.
        call.expecting = undefined;
      }
      call.notes.push(`no colleague free for the ${call.script}`);
      call.ran = 'talk';
      return this.later(this.settings.timing.afterMs, () => this.customerHangsUp(call));
    }
    if (call.script === 'agent-hangs-up') {
      call.agentHungUpAt = Date.now();
      await this.pagePost(agent, '/api/me/hangup', {}, [200]);
      return;
    }
    await this.customerHangsUp(call);
  }

  private async completeConsult(call: SimCall): Promise<void> {
    const agent = this.agents.find((a) => a.id === call.answeredBy)!;
    const res = await this.pagePost(agent, '/api/me/transfer/complete', {}, [200, 409]);
    if (res.status === 409) {
      // The colleague's answer has not reached the app yet (slow webhooks under load): the agent tries again.
      if ((call.stepTries = (call.stepTries ?? 0) + 1) >= 20) throw new Error(`${agent.id} could not complete the consult of ${call.callSid}: ${JSON.stringify(res.body)}`);
      return this.later(250, () => this.completeConsult(call));
    }
    this.later(this.settings.timing.afterMs, () => this.customerHangsUp(call));
  }

  private async customerHangsUp(call: SimCall): Promise<void> {
    call.customerHungUpAt = Date.now();
    const res = await fetch(`${this.twilioUrl}/local/phone/calls/${call.callSid}/hangup`, { method: 'POST' });
    await res.text();
  }

  /** Every instance runs a routing pass now: an agent says "available" through each (as pages do through the balancer). */
  async pokeRouting(): Promise<void> {
    const agent = this.agents[0]!;
    await Promise.all(
      this.alive().map((instance) =>
        fetch(`${instance.url}/api/me/presence`, { method: 'POST', headers: { ...this.publicHost(), Cookie: agent.cookie, 'Content-Type': 'application/json', 'X-CSRF-Token': agent.csrf }, body: JSON.stringify({ status: 'available' }) }).then(
          (res) => res.text(),
          () => undefined,
        ),
      ),
    );
  }

  /** Callers whose incoming-call webhook was answered with an apology. */
  toldSorry(): string[] {
    return this.lb.log.filter((r) => r.path === '/conference/connect/client' && /<Say[^>]*>[^<]*sorry/i.test(r.answer)).map((r) => new URLSearchParams(r.body).get('CallSid') ?? '');
  }

  // ---------- instances dying, and waiting ----------

  /** kill -9 of one instance; the load balancer finds out as a load balancer does, and its pages move elsewhere. */
  kill(name: string): void {
    const instance = this.instances.find((i) => i.name === name)!;
    instance.child.kill('SIGKILL');
    instance.alive = false;
    // The load balancer's health check notices within half a second; meanwhile a refused request goes elsewhere.
    this.later(500, () => this.lb.remove(name));
  }

  /** Resolves once `name` has no request in flight and the stand-in has had no REST request for `quietMs`. */
  async whenQuiet(name: string, quietMs: number, timeoutMs = 20_000): Promise<void> {
    const instance = this.instances.find((i) => i.name === name)!;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const restQuiet = Date.now() - this.lastRestAt >= quietMs;
      if (restQuiet && this.lb.inFlight(name) === 0) return;
      await sleep(10);
    }
    throw new Error(`${instance.name} never went quiet`);
  }

  /** Waits until every call placed has ended on the phone network (or `timeoutMs`); true when they all did. */
  async allEnded(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const live = this.customerCallsLive();
      if (live.length === 0) return true;
      if (Date.now() > deadline) return false;
      await sleep(100);
    }
  }

  /** Customer calls placed here that the phone network still has up. */
  customerCallsLive(): string[] {
    const state = this.twilio.snapshot();
    const ended = new Set(state.calls.filter((c) => ['completed', 'canceled', 'failed', 'busy', 'no-answer'].includes(c.status)).map((c) => c.sid));
    return [...this.calls.keys()].filter((sid) => !ended.has(sid));
  }

  /** Agent legs the phone network still has up (ringing or talking). */
  agentLegsLive(): string[] {
    return this.twilio
      .snapshot()
      .calls.filter((c) => c.direction === 'outbound-api' && !['completed', 'canceled', 'failed', 'busy', 'no-answer'].includes(c.status))
      .map((c) => c.sid);
  }

  /** Stops everything this started; safe to call after a failed start. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.beat);
    for (const timer of this.timers) clearTimeout(timer);
    for (const agent of this.agents) {
      agent.page?.close();
      agent.device?.close();
    }
    await Promise.allSettled([...this.work]);
    await this.twilio?.stop().catch(() => undefined);
    await Promise.all(
      this.instances.map(async (instance) => {
        if (instance.child.exitCode === null && instance.child.signalCode === null) instance.child.kill('SIGTERM');
        const force = setTimeout(() => instance.child.kill('SIGKILL'), 10_000);
        await instance.exited;
        clearTimeout(force);
      }),
    );
    if (this.twilioServer) {
      this.twilioServer.closeAllConnections();
      await new Promise<void>((resolve) => this.twilioServer!.close(() => resolve()));
    }
    await this.lb?.close();
    await this.db?.close();
  }
}
