// Benchmark: how fast the app heals when its embedded FerretDB is killed. The built app runs in its own process (as
// `npm start` runs it); FerretDB is killed with SIGKILL N times, and each time this measures how long until /readyz
// answers 200 again and until a signed incoming-call webhook puts a caller in a conference again.
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks';
import { ferretdbProcessesOn, freePort } from '../src/db/ferretdb';
import { PROJECT_ROOT } from '../src/paths';
import { startRestRecorder } from '../test/helpers/rest-recorder';
import { runBench } from './servers';

const KILLS = Number(process.env.BENCH_KILLS ?? 5);
/** The supervisor's backoff starts over after a FerretDB has run 10 s: kills further apart than that are independent. */
const GAP_MS = Number(process.env.BENCH_KILL_GAP_MS ?? 11_000);
const POLL_MS = 10;
const PUBLIC_BASE_URL = 'https://bench.example.test';
const AUTH_TOKEN = 'bench-auth-token-0123456789abcdef';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function readyzStatus(port: number): Promise<number> {
  return fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5000) }).then(
    (res) => res.status,
    () => 0,
  );
}

/** One signed incoming call; true when the caller was put in their conference (not the apology). */
async function incomingCallWorks(port: number): Promise<boolean> {
  const params = { CallSid: `CA${randomBytes(16).toString('hex')}`, From: '+15551112222', To: '+15557654321', CallStatus: 'ringing', Direction: 'inbound' };
  const signature = getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_BASE_URL}/conference/connect/client`, params);
  try {
    const res = await fetch(`http://127.0.0.1:${port}/conference/connect/client`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': signature },
      body: new URLSearchParams(params).toString(),
      signal: AbortSignal.timeout(10_000),
    });
    return res.status === 200 && (await res.text()).includes('<Conference');
  } catch {
    return false;
  }
}

/** Polls `check` until it holds; returns the milliseconds since `since`. Throws after 60 s. */
async function until(check: () => Promise<boolean>, since: bigint, what: string): Promise<number> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`no recovery within 60 s: ${what}`);
    await sleep(POLL_MS);
  }
  return Number(process.hrtime.bigint() - since) / 1e6;
}

async function startApp(port: number, dataDir: string, restBaseUrl: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'src', 'server.js')], {
    env: {
      ...process.env,
      PORT: String(port),
      PUBLIC_BASE_URL,
      TWILIO_ACCOUNT_SID: `AC${'1a'.repeat(16)}`,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TWILIO_API_KEY: `SK${'2b'.repeat(16)}`,
      TWILIO_API_SECRET: 'bench-api-secret',
      TWILIO_NUMBER: '+15557654321',
      TWILIO_API_BASE_URL: restBaseUrl,
      MONGODB_URI: '',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // The app's own complaints while its database is down are expected here: shown only if it fails to start.
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8000)));
  await until(
    async () => {
      if (child.exitCode !== null) throw new Error(`the app exited with code ${child.exitCode}\n${stderr}`);
      return (await readyzStatus(port)) === 200;
    },
    process.hrtime.bigint(),
    'the app did not start',
  );
  return child;
}

function summary(name: string, values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `${name.padEnd(40)} p50=${percentile(sorted, 50).toFixed(0)}ms max=${sorted[sorted.length - 1]!.toFixed(0)}ms  (${values.map((v) => v.toFixed(0)).join(', ')} ms)`;
}

async function main(): Promise<void> {
  const rest = await startRestRecorder();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-bench-recovery-'));
  const ferretdbDir = path.join(dataDir, 'ferretdb');
  const port = await freePort();
  const app = await startApp(port, dataDir, rest.baseUrl);
  console.log(`warm-transfer recovery benchmark: SIGKILL the embedded FerretDB ${KILLS} times, ${GAP_MS / 1000} s apart; ${os.cpus().length} cores, Node ${process.version}`);

  const ready: number[] = [];
  const calls: number[] = [];
  let failures = 0;
  try {
    if (!(await incomingCallWorks(port))) throw new Error('an incoming call failed before any kill');
    for (let round = 0; round < KILLS; round += 1) {
      const [victim] = ferretdbProcessesOn(ferretdbDir);
      if (!victim) throw new Error('no FerretDB found on the data directory');
      const killedAt = process.hrtime.bigint();
      process.kill(victim, 'SIGKILL');
      // Both clocks start at the kill and run at the same time.
      const [readyMs, callMs] = await Promise.all([
        until(async () => (await readyzStatus(port)) === 200 && !ferretdbProcessesOn(ferretdbDir).includes(victim), killedAt, '/readyz'),
        until(async () => {
          const works = await incomingCallWorks(port);
          if (!works) failures += 1;
          return works;
        }, killedAt, 'incoming call'),
      ]);
      ready.push(readyMs);
      calls.push(callMs);
      if (round < KILLS - 1) await sleep(GAP_MS);
    }
  } finally {
    app.kill('SIGTERM');
    await new Promise((resolve) => app.once('exit', resolve));
    await rest.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(summary('kill -9 FerretDB -> /readyz 200', ready));
  console.log(summary('kill -9 FerretDB -> incoming call works', calls));
  console.log(`incoming calls that got the apology while FerretDB was down: ${failures}`);
}

runBench(main);
