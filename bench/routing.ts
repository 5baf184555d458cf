// Benchmark: routing at contact-center scale. The built app runs in its own process on a FerretDB started here, with
// a REST stand-in recording when each agent's phone is dialled. 50 agents sign in over HTTP and go available; then:
//   1. 50 callers arrive (10/s): time from the incoming-call webhook to that caller's agent being dialled;
//   2. 200 more callers wait in line; each agent declines their call: time from the decline to the next dial, with
//      ~200 callers waiting — the line is served in arrival order.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import mongoose from 'mongoose';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks';
import { freePort, startFerretdb } from '../src/db/ferretdb';
import { agentModel } from '../src/models/agent';
import { PROJECT_ROOT } from '../src/paths';
import { createAgentAccounts } from '../src/services/agents';
import { startRestRecorder } from '../test/helpers/rest-recorder';
import { runBench } from './servers';

const AGENTS = Number(process.env.BENCH_AGENTS ?? 50);
const WAITING = Number(process.env.BENCH_WAITING ?? 200);
const PUBLIC_BASE_URL = 'https://bench.example.test';
const AUTH_TOKEN = 'bench-auth-token-0123456789abcdef';
const PASSWORD = 'bench-password-0123456789';
const ENV = {
  TWILIO_ACCOUNT_SID: `AC${'3c'.repeat(16)}`,
  TWILIO_AUTH_TOKEN: AUTH_TOKEN,
  TWILIO_API_KEY: `SK${'4d'.repeat(16)}`,
  TWILIO_API_SECRET: 'bench-api-secret-0123456789abcdef',
  TWILIO_NUMBER: '+15557654321',
  PUBLIC_BASE_URL,
  LOG_LEVEL: 'warn',
  HOST: '127.0.0.1',
  RING_SECONDS: '60',
  WRAP_UP_SECONDS: '0',
  OFFLINE_AFTER_SECONDS: '600',
  MAX_WAIT_SECONDS: '7200',
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
const summary = (values: number[]): string => {
  const s = [...values].sort((a, b) => a - b);
  return `n=${s.length} p50=${pct(s, 50).toFixed(1)}ms p90=${pct(s, 90).toFixed(1)}ms max=${(s[s.length - 1] ?? NaN).toFixed(1)}ms`;
};

function signed(url: string, params: Record<string, string>): RequestInit {
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_BASE_URL}${url}`, params) },
    body: new URLSearchParams(params).toString(),
  };
}

/** Signs `login` in through the sign-in form; returns its cookie and CSRF token. */
async function signIn(base: string, login: string): Promise<{ cookie: string; csrf: string }> {
  // As the TLS proxy PUBLIC_BASE_URL implies would send them: the app answers only for its public host.
  const https = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': new URL(PUBLIC_BASE_URL).host };
  const page = await fetch(`${base}/sign-in`, { headers: { ...https, Accept: 'text/html' } });
  const first = page.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith('wt.signin=')) ?? '';
  const token = /name="csrf-token" content="([^"]+)"/.exec(await page.text())?.[1] ?? '';
  const res = await fetch(`${base}/sign-in`, { method: 'POST', redirect: 'manual', headers: { ...https, Cookie: first, 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ login, password: PASSWORD, _csrf: token }).toString() });
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith('wt.sid=')) ?? '';
  if (res.status !== 303 || !cookie) throw new Error(`sign-in of ${login} answered ${res.status}`);
  const home = await fetch(`${base}/`, { headers: { ...https, Cookie: cookie, Accept: 'text/html' } });
  const csrf = /name="csrf-token" content="([^"]+)"/.exec(await home.text())?.[1] ?? '';
  return { cookie, csrf };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-bench-routing-'));
  const db = await startFerretdb({ dataDir: path.join(dataDir, 'ferretdb'), log: () => undefined });
  const uri = `${db.uri}warm_transfer_bench`;
  const connection = await mongoose.createConnection(uri).asPromise();
  const accounts = createAgentAccounts(agentModel(connection));
  const ids = Array.from({ length: AGENTS }, (_, i) => `agent${String(i + 1).padStart(2, '0')}`);
  for (const id of ids) await accounts.add({ id, login: id, name: `Agent ${id.slice(5)}`, password: PASSWORD });

  const rest = await startRestRecorder();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const app = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'src', 'server.js')], {
    env: { PATH: process.env.PATH ?? '', ...ENV, PORT: String(port), MONGODB_URI: uri, TWILIO_API_BASE_URL: rest.baseUrl, DATA_DIR: dataDir },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    for (let i = 0; ; i += 1) {
      if (await fetch(`${base}/healthz`).then((r) => r.ok, () => false)) break;
      if (i > 300) throw new Error('the app did not start');
      await sleep(100);
    }
    const dialAt = new Map<string, { agent: string; at: number }>();
    const seen = (): void => {
      for (const r of rest.requests) {
        const url = r.form.Url?.[0];
        if (!url || !r.path.endsWith('/Calls.json')) continue;
        const parts = new URL(url).pathname.split('/'); // /conference/<CallSid>/connect/<agentId>
        const callSid = parts[2];
        const agent = parts[4];
        const key = `${callSid}:${agent}`;
        if (!dialAt.has(key)) dialAt.set(key, { agent: agent!, at: r.receivedAt });
      }
    };

    process.stdout.write(`signing in ${AGENTS} agents and setting them available...\n`);
    const sessions = [];
    for (const id of ids) {
      const s = await signIn(base, id);
      const headers = { 'Content-Type': 'application/json', Cookie: s.cookie, 'X-CSRF-Token': s.csrf, 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': new URL(PUBLIC_BASE_URL).host };
      await fetch(`${base}/api/me/heartbeat`, { method: 'POST', headers, body: JSON.stringify({ tab: `tab-${id}-bench-0001`, registered: true }) });
      const res = await fetch(`${base}/api/me/presence`, { method: 'POST', headers, body: JSON.stringify({ status: 'available' }) });
      if (!res.ok) throw new Error(`presence of ${id}: ${res.status}`);
      sessions.push(s);
    }

    // 1. Callers arrive while agents are free.
    const firstCallers = Array.from({ length: AGENTS }, () => `CA${randomBytes(16).toString('hex')}`);
    const sentAt = new Map<string, number>();
    for (const callSid of firstCallers) {
      sentAt.set(callSid, Date.now());
      const res = await fetch(`${base}/conference/connect/client`, signed('/conference/connect/client', { CallSid: callSid, From: '+15551112222', To: ENV.TWILIO_NUMBER }));
      if (!res.ok) throw new Error(`incoming call answered ${res.status}`);
      await sleep(100);
    }
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      seen();
      if (firstCallers.every((c) => [...dialAt.keys()].some((k) => k.startsWith(`${c}:`)))) break;
      await sleep(20);
    }
    const toFirstRing = firstCallers.map((c) => {
      const dial = [...dialAt.entries()].find(([k]) => k.startsWith(`${c}:`));
      return dial ? dial[1].at - sentAt.get(c)! : NaN;
    });
    const offeredAgents = new Set([...dialAt.values()].map((d) => d.agent));

    // 2. A line of WAITING callers; each agent declines their caller, and the oldest waiting caller rings them.
    const line = Array.from({ length: WAITING }, () => `CA${randomBytes(16).toString('hex')}`);
    for (const callSid of line) {
      const res = await fetch(`${base}/conference/connect/client`, signed('/conference/connect/client', { CallSid: callSid, From: '+15553334444', To: ENV.TWILIO_NUMBER }));
      if (!res.ok) throw new Error(`incoming call answered ${res.status}`);
    }
    await sleep(1500);
    seen();
    const before = dialAt.size;
    const declineToRing: number[] = [];
    const offers = [...dialAt.entries()].map(([key, d]) => ({ callSid: key.split(':')[0]!, agent: d.agent }));
    for (const offer of offers) {
      const t0 = Date.now();
      await fetch(`${base}/conference/${offer.callSid}/agents/${offer.agent}/status`, signed(`/conference/${offer.callSid}/agents/${offer.agent}/status`, { CallSid: `CA${randomBytes(16).toString('hex')}`, CallStatus: 'busy' }));
      const end = Date.now() + 3_000;
      for (;;) {
        seen();
        const next = [...dialAt.entries()].find(([k, d]) => d.agent === offer.agent && d.at >= t0 && !k.startsWith(`${offer.callSid}:`));
        if (next) {
          declineToRing.push(next[1].at - t0);
          break;
        }
        if (Date.now() > end) break;
        await sleep(5);
      }
    }
    // Callers who were declined went back to the line ahead of it (they have waited longest); the line itself is
    // served in the order it called.
    const lineOffers = [...dialAt.entries()].slice(before).map(([k]) => k.split(':')[0]!).filter((callSid) => line.includes(callSid));
    const inOrder = lineOffers.every((callSid, i) => callSid === line[i]);

    process.stdout.write(`\nrouting at ${AGENTS} agents (the app in its own process, embedded FerretDB, 2 cores)\n`);
    process.stdout.write(`  incoming call -> first agent's phone dialled, agents free:        ${summary(toFirstRing)}  (${offeredAgents.size} distinct agents)\n`);
    process.stdout.write(`  decline -> next caller's agent dialled, ${WAITING} callers waiting: ${summary(declineToRing)}  (served in arrival order: ${inOrder ? 'yes' : 'NO'})\n`);
  } finally {
    app.kill('SIGTERM');
    await new Promise((resolve) => app.once('exit', resolve));
    await connection.close();
    await rest.close();
    await db.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

runBench(main);
