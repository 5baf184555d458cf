// Benchmark: the growth curve of issue 7. The built app runs in its own process on its embedded FerretDB (Twilio mode, a
// REST stand-in); this process bulk-loads finished calls into the history buckets (100 → 1,000 → 10,000 → 100,000) and,
// at each size, times every webhook and page a live centre uses, one request at a time. A bare Node http server answering
// the same paths with static content is timed in the same run as the floor.
// Build with `npm run build`, run with `node dist/bench/growth.js` (BENCH_MAX_HISTORY=10000 for a quicker run).
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks';
import { connectDatabase, DEFAULT_DB_NAME } from '../src/db/connect';
import { LOCK_FILE, type LockInfo } from '../src/db/data-dir-lock';
import { freePort } from '../src/db/ferretdb';
import { createLogger } from '../src/logger';
import { createHistoryStore, historyDatabaseName, utcDay, type HistoryRecord } from '../src/models/history';
import { historyFill } from './history-fill';
import { startRestRecorder } from '../test/helpers/rest-recorder';
import { addAccount, appEnv, percentile, SERVER_SCRIPT, signIn, spawnServer, stopServer, runBench } from './servers';

const MAX = Number(process.env.BENCH_MAX_HISTORY ?? 100_000);
const SIZES = [100, 1_000, 10_000, 100_000].filter((size) => size <= MAX);
const ROUNDS = Number(process.env.BENCH_GROWTH_ROUNDS ?? 60);
const PUBLIC_BASE_URL = 'https://bench.example.test';
const AUTH_TOKEN = 'bench-auth-token-0123456789abcdef';
const DAYS = 90;
/** The signed-in agent (a real account) takes ~20% of the stored calls; the other 19 ids exist only in the history. */
const AGENT = 'agent01';
const AGENTS = Array.from({ length: 20 }, (_, i) => `agent${String(i + 1).padStart(2, '0')}`);
/** How long the app trusts its list of history buckets (HistoryStoreOptions.bucketCacheMs default), plus a margin. */
const BUCKET_CACHE_MS = 5_500;

/** The signed-in agent takes ~20% of the stored calls; the other 19 ids exist only in the history. */
const fill = historyFill(7, (random) => (random() < 0.2 ? AGENT : AGENTS[1 + Math.floor(random() * 19)]!));
const random = fill.random;

/** A finished call ending at a random time in the `DAYS` before `now`. */
function makeRecord(now: number): HistoryRecord {
  return fill.record(now - 60_000 - random() * DAYS * 86_400_000);
}

/** One HTTP exchange: how long it took, and whether the answer was the expected one. */
interface Exchange {
  ms: number;
  status: number;
  body: string;
}

/** A client of one server: signed webhooks and cookie-carrying page requests, each timed from send to last byte. */
function clientOf(baseUrl: string) {
  async function send(method: 'GET' | 'POST', pathAndQuery: string, headers: Record<string, string>, body?: string): Promise<Exchange> {
    const t0 = process.hrtime.bigint();
    const res = await fetch(`${baseUrl}${pathAndQuery}`, { method, headers, body, redirect: 'manual' });
    const text = await res.text();
    return { ms: Number(process.hrtime.bigint() - t0) / 1e6, status: res.status, body: text };
  }
  return {
    /** POSTs `params` to `pathAndQuery`, signed as Twilio signs for PUBLIC_BASE_URL + pathAndQuery. */
    webhook(pathAndQuery: string, params: Record<string, string>): Promise<Exchange> {
      const signature = getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_BASE_URL}${pathAndQuery}`, params);
      return send('POST', pathAndQuery, { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': signature }, new URLSearchParams(params).toString());
    },
    /** A GET as a signed-in browser (`cookie`) behind the TLS proxy PUBLIC_BASE_URL implies. */
    get(pathAndQuery: string, cookie: string, accept: string): Promise<Exchange> {
      return send('GET', pathAndQuery, { Cookie: cookie, Accept: accept, 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': new URL(PUBLIC_BASE_URL).host });
    },
  };
}

const OPS = [
  'POST incoming call (webhook)',
  'POST wait (webhook)',
  'POST agent status (webhook)',
  'POST participant-leave → history',
  'POST conference-end (webhook)',
  'GET /api/me (agent)',
  'GET /api/board (supervisor)',
  'GET /history (newest 50)',
  `GET /history?agent=${AGENT}`,
  'GET /history/<day>/<callSid>',
] as const;
type Op = (typeof OPS)[number];
const HISTORY_OPS: readonly Op[] = ['GET /history (newest 50)', `GET /history?agent=${AGENT}`, 'GET /history/<day>/<callSid>'];

interface Target {
  client: ReturnType<typeof clientOf>;
  agentCookie: string;
  supervisorCookie: string;
  /** Stored calls the detail page opens, as (day, CallSid). */
  stored: Array<{ day: string; callSid: string }>;
}

/**
 * One round of a centre's traffic: a customer calls, hears the wait music, an agent's call status arrives, pages are
 * read, and the customer hangs up (the conference events that finish the call and append it to the history).
 * Returns each operation's time; throws on a wrong answer, so a fast error never passes for a fast answer.
 */
async function round(target: Target, i: number): Promise<Map<Op, number>> {
  const { client, agentCookie, supervisorCookie, stored } = target;
  const callSid = `CA${randomBytes(16).toString('hex')}`;
  const conferenceSid = `CF${randomBytes(16).toString('hex')}`;
  const times = new Map<Op, number>();
  const expect = (op: Op, res: Exchange, ok: (res: Exchange) => boolean): void => {
    if (!ok(res)) throw new Error(`${op} answered ${res.status}: ${res.body.slice(0, 200)}`);
    times.set(op, res.ms);
  };
  const twiml = (res: Exchange) => res.status === 200 && res.body.includes('<Response');
  const call = { CallSid: callSid, From: '+15551112222', To: '+15557654321', Direction: 'inbound' };
  expect('POST incoming call (webhook)', await client.webhook('/conference/connect/client', { ...call, CallStatus: 'ringing' }), (r) => twiml(r) && r.body.includes('<Conference'));
  expect('POST wait (webhook)', await client.webhook(`/conference/wait?call=${callSid}&round=0`, { ...call, CallStatus: 'in-progress' }), (r) => twiml(r) && r.body.includes('<Play'));
  expect('POST agent status (webhook)', await client.webhook(`/conference/${callSid}/agents/${AGENT}/status`, { CallSid: `CA${randomBytes(16).toString('hex')}`, CallStatus: 'ringing' }), twiml);
  expect('GET /api/me (agent)', await client.get('/api/me', agentCookie, 'application/json'), (r) => r.status === 200 && r.body.includes(`"id":"${AGENT}"`));
  expect('GET /api/board (supervisor)', await client.get('/api/board', supervisorCookie, 'application/json'), (r) => r.status === 200 && r.body.includes('"agents"'));
  expect('GET /history (newest 50)', await client.get('/history', supervisorCookie, 'text/html'), (r) => r.status === 200 && r.body.includes('data-call='));
  expect(`GET /history?agent=${AGENT}`, await client.get(`/history?agent=${AGENT}`, supervisorCookie, 'text/html'), (r) => r.status === 200 && r.body.includes('data-call='));
  const one = stored[(i * 7919) % stored.length]!;
  expect('GET /history/<day>/<callSid>', await client.get(`/history/${one.day}/${one.callSid}`, supervisorCookie, 'text/html'), (r) => r.status === 200 && r.body.includes(one.callSid));
  const event = { FriendlyName: callSid, ConferenceSid: conferenceSid };
  expect('POST participant-leave → history', await client.webhook('/conference/events', { ...event, StatusCallbackEvent: 'participant-leave', CallSid: callSid }), twiml);
  expect('POST conference-end (webhook)', await client.webhook('/conference/events', { ...event, StatusCallbackEvent: 'conference-end' }), twiml);
  return times;
}

interface Stat {
  p50: number;
  p99: number;
}

async function measure(target: Target, rounds: number): Promise<Map<Op, Stat>> {
  for (let i = 0; i < 5; i += 1) await round(target, rounds + i); // warm-up (JIT, connections, the first read of the bucket list)
  const samples = new Map<Op, number[]>(OPS.map((op) => [op, []]));
  for (let i = 0; i < rounds; i += 1) for (const [op, ms] of await round(target, i)) samples.get(op)!.push(ms);
  return new Map([...samples].map(([op, list]) => {
    list.sort((a, b) => a - b);
    return [op, { p50: percentile(list, 50), p99: percentile(list, 99) }];
  }));
}

async function main(): Promise<void> {
  const started = Date.now();
  const rest = await startRestRecorder();
  rest.behave({ delayMs: 20 });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-growth-bench-'));
  const appPort = await freePort();
  addAccount(dataDir, AGENT, 'agent');
  addAccount(dataDir, 'supervisor', 'supervisor');
  const app = await spawnServer(SERVER_SCRIPT, [], appEnv({ port: appPort, dataDir, restBaseUrl: rest.baseUrl, publicBaseUrl: PUBLIC_BASE_URL, authToken: AUTH_TOKEN }), appPort);
  const stopAll = async (): Promise<void> => {
    await stopServer(app);
    await rest.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  const interrupted = (): void => void stopAll().finally(() => process.exit(130));
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  // This process writes the history straight into the app's embedded FerretDB, whose port the app's lock file names.
  const lock = JSON.parse(readFileSync(path.join(dataDir, 'ferretdb', LOCK_FILE), 'utf8')) as LockInfo;
  const db = await connectDatabase({ uri: `mongodb://127.0.0.1:${lock.port}/`, dbName: DEFAULT_DB_NAME, logger: createLogger('silent') });
  const history = createHistoryStore(db.connection);
  const results = new Map<number, Map<Op, Stat>>();
  /** What else the app's live paths read besides the history: the change feed, the live calls, and the database's size in collections. */
  const liveState = async () => {
    const raw = db.connection.db!;
    const buckets = db.connection.getClient().db(historyDatabaseName(DEFAULT_DB_NAME));
    const [collections, bucketList, changes, calls] = await Promise.all([
      raw.listCollections({}, { nameOnly: true }).toArray(),
      buckets.listCollections({}, { nameOnly: true }).toArray(),
      raw.collection('changes').countDocuments(),
      raw.collection('calls').countDocuments(),
    ]);
    // FerretDB's own cost of one tiny query, from this process with the app quiet: does it follow the database's size?
    const probe: number[] = [];
    for (let i = 0; i < 30; i += 1) {
      const t0 = process.hrtime.bigint();
      await raw.collection('agents').find({}).toArray();
      probe.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    probe.sort((a, b) => a - b);
    return { collections: collections.length, buckets: bucketList.length, changes, calls, probeMs: percentile(probe, 50) };
  };
  try {
    const baseUrl = `http://127.0.0.1:${appPort}`;
    const target: Target = { client: clientOf(baseUrl), agentCookie: await signIn(baseUrl, AGENT, PUBLIC_BASE_URL), supervisorCookie: await signIn(baseUrl, 'supervisor', PUBLIC_BASE_URL), stored: [] };
    console.log(`warm-transfer growth benchmark: ${ROUNDS} rounds of every operation at ${SIZES.join(' → ')} stored calls (over ${DAYS} days, 20 agents); ${os.cpus().length} cores, Node ${process.version}`);
    const now = Date.now();
    let stored = 0;
    for (const size of SIZES) {
      const fillStart = Date.now();
      const batch: HistoryRecord[] = [];
      while (stored < size) {
        const record = makeRecord(now);
        batch.push(record);
        if (target.stored.length < 500 || random() < 0.01) target.stored.push({ day: utcDay(record.endedAt), callSid: record._id });
        stored += 1;
      }
      await history.appendMany(batch);
      const fillSeconds = (Date.now() - fillStart) / 1000;
      // The app finds buckets another process created when its cached list of them expires.
      await new Promise((resolve) => setTimeout(resolve, BUCKET_CACHE_MS));
      const measureStart = Date.now();
      const before = await liveState();
      results.set(size, await measure(target, ROUNDS));
      const after = await liveState();
      console.log(
        `${String(size).padStart(7)} stored calls: filled ${batch.length} in ${fillSeconds.toFixed(1)} s, measured in ${((Date.now() - measureStart) / 1000).toFixed(1)} s (load average ${os.loadavg()[0]!.toFixed(1)}); ` +
          `${before.collections} app collections (agents.find p50 ${before.probeMs.toFixed(1)} ms from here), ${before.buckets} history buckets; change feed ${before.changes} → ${after.changes} entries, live calls ${before.calls} → ${after.calls}`,
      );
    }
    // Every round's call must have reached the history through the finish path.
    const finished = await history.newest({ limit: 1, since: new Date(now) });
    if (finished.length === 0) throw new Error('no call finished during the run reached the history');
  } finally {
    await db.close();
    await stopAll();
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }

  // The floor: a bare Node http server (static TwiML for every path), driven by the same rounds.
  const barePort = await freePort();
  const bare = await spawnServer(path.join(__dirname, 'bare-server.js'), [String(barePort)], process.env, barePort);
  let baseline: Map<Op, Stat>;
  try {
    baseline = await measureBare(`http://127.0.0.1:${barePort}`, ROUNDS);
  } finally {
    await stopServer(bare);
  }
  printTable(results, baseline);
  console.log(`total ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** The same requests, in the same order, against the bare server: every answer is 200 with static TwiML. */
async function measureBare(baseUrl: string, rounds: number): Promise<Map<Op, Stat>> {
  const client = clientOf(baseUrl);
  const samples = new Map<Op, number[]>(OPS.map((op) => [op, []]));
  const paths: Record<Op, (sid: string) => Promise<Exchange>> = {
    'POST incoming call (webhook)': (sid) => client.webhook('/conference/connect/client', { CallSid: sid, CallStatus: 'ringing' }),
    'POST wait (webhook)': (sid) => client.webhook(`/conference/wait?call=${sid}&round=0`, { CallSid: sid }),
    'POST agent status (webhook)': (sid) => client.webhook(`/conference/${sid}/agents/${AGENT}/status`, { CallSid: sid, CallStatus: 'ringing' }),
    'POST participant-leave → history': (sid) => client.webhook('/conference/events', { FriendlyName: sid, StatusCallbackEvent: 'participant-leave', CallSid: sid }),
    'POST conference-end (webhook)': (sid) => client.webhook('/conference/events', { FriendlyName: sid, StatusCallbackEvent: 'conference-end' }),
    'GET /api/me (agent)': () => client.get('/api/me', 'wt.sid=x', 'application/json'),
    'GET /api/board (supervisor)': () => client.get('/api/board', 'wt.sid=x', 'application/json'),
    'GET /history (newest 50)': () => client.get('/history', 'wt.sid=x', 'text/html'),
    [`GET /history?agent=${AGENT}`]: () => client.get(`/history?agent=${AGENT}`, 'wt.sid=x', 'text/html'),
    'GET /history/<day>/<callSid>': (sid) => client.get(`/history/2026-01-01/${sid}`, 'wt.sid=x', 'text/html'),
  };
  for (let i = -1; i < rounds; i += 1) {
    const sid = `CA${randomBytes(16).toString('hex')}`;
    for (const op of OPS) {
      const res = await paths[op](sid);
      if (res.status !== 200) throw new Error(`the bare server answered ${res.status}`);
      if (i >= 0) samples.get(op)!.push(res.ms);
    }
  }
  return new Map([...samples].map(([op, list]) => {
    list.sort((a, b) => a - b);
    return [op, { p50: percentile(list, 50), p99: percentile(list, 99) }];
  }));
}

function printTable(results: Map<number, Map<Op, Stat>>, baseline: Map<Op, Stat>): void {
  const sizes = [...results.keys()];
  const first = sizes[0]!;
  const last = sizes.at(-1)!;
  const fmt = (ms: number) => (ms < 10 ? ms.toFixed(1) : ms.toFixed(0)).padStart(7);
  const label = (n: number) => (n >= 1000 ? `${n / 1000}k` : String(n));
  const header = `${'operation (ms)'.padEnd(34)}${sizes.map((s) => `${`p50@${label(s)}`.padStart(10)}${`p99@${label(s)}`.padStart(10)}`).join('')}${`×${label(last)}/${label(first)}`.padStart(11)}${'bare p50'.padStart(10)}${'bare p99'.padStart(10)}  target`;
  const lines = ['', header];
  const misses: string[] = [];
  for (const op of OPS) {
    const base = results.get(first)!.get(op)!.p50;
    const end = results.get(last)!.get(op)!.p50;
    const ratio = end / base;
    const isHistory = HISTORY_OPS.includes(op);
    const met = isHistory ? end < 500 : end < 50 && ratio <= 1.5;
    const target = isHistory ? `p50 < 500 ms: ${met ? 'met' : 'MISSED'}` : `p50 < 50 ms, ≤ 1.5×: ${met ? 'met' : 'MISSED'}`;
    if (!met) misses.push(op);
    const cells = sizes.map((s) => `${fmt(results.get(s)!.get(op)!.p50).padStart(10)}${fmt(results.get(s)!.get(op)!.p99).padStart(10)}`).join('');
    lines.push(`${op.padEnd(34)}${cells}${`${ratio.toFixed(2)}×`.padStart(11)}${fmt(baseline.get(op)!.p50).padStart(10)}${fmt(baseline.get(op)!.p99).padStart(10)}  ${target}`);
  }
  lines.push('', `targets (issue 7, at ${label(last)} stored calls): webhooks and live pages p50 < 50 ms and within 1.5× of ${label(first)}; history pages p50 < 500 ms.`);
  lines.push(misses.length ? `missed: ${misses.join('; ')}` : 'every target met');
  console.log(lines.join('\n'));
}

runBench(main);
