// Benchmark: signed incoming-call webhooks at a fixed rate against the app (its own process, embedded FerretDB, a REST
// stand-in answering after 300 ms), next to a bare Node http server answering static TwiML, in the same run.
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks';
import { ferretdbProcessesOn, freePort } from '../src/db/ferretdb';
import { startRestRecorder } from '../test/helpers/rest-recorder';
import { AGENTS_CLI, appEnv, cpuTimeMs, percentile, SERVER_SCRIPT, spawnServer, stopServer, runBench } from './servers';

const RATE = Number(process.env.BENCH_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARM_UP_SECONDS = 1;
const REST_DELAY_MS = 300;
const PUBLIC_BASE_URL = 'https://bench.example.test';
const AUTH_TOKEN = 'bench-auth-token-0123456789abcdef';

interface Result {
  sent: number;
  ok: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
  throughput: number;
}

/** One signed incoming-call webhook with a new CallSid; resolves with its latency in ms and whether it was right. */
function incomingCall(port: number, agent: http.Agent, isOk: (status: number, body: string) => boolean): Promise<{ ms: number; ok: boolean }> {
  const params = { CallSid: `CA${randomBytes(16).toString('hex')}`, From: '+15551112222', To: '+15557654321', CallStatus: 'ringing', Direction: 'inbound' };
  const body = new URLSearchParams(params).toString();
  const signature = getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_BASE_URL}/conference/connect/client`, params);
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = http.request(
      { host: '127.0.0.1', port, path: '/conference/connect/client', method: 'POST', agent, timeout: 15000, headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body), 'X-Twilio-Signature': signature } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, ok: isOk(res.statusCode ?? 0, text) }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, ok: false }));
    req.end(body);
  });
}

/**
 * As many webhooks as `concurrency` senders get answered in `seconds` (closed loop): the server's peak throughput, and
 * the CPU each of the processes `pids` spent per answered webhook meanwhile (ms; steadier than throughput on a machine
 * shared with other work).
 */
async function peak(port: number, isOk: (status: number, body: string) => boolean, pids: Array<number | undefined>, concurrency = 32, seconds = 5): Promise<{ throughput: number; errors: number; perCall: Array<number | undefined> }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const until = Date.now() + seconds * 1000;
  let done = 0;
  let errors = 0;
  const cpuBefore = pids.map(cpuTimeMs);
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < until) {
        const r = await incomingCall(port, agent, isOk);
        done += 1;
        if (!r.ok) errors += 1;
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const perCall = pids.map((pid, i) => {
    const [before, after] = [cpuBefore[i], cpuTimeMs(pid)];
    return before === undefined || after === undefined || done === 0 ? undefined : (after - before) / done;
  });
  agent.destroy();
  return { throughput: done / elapsed, errors, perCall };
}

function ms(value: number | undefined): string {
  return value === undefined ? '?' : `${value.toFixed(2)} ms`;
}

/** Sends RATE requests a second for `seconds`, open loop (a slow answer does not slow the sender). */
async function load(port: number, isOk: (status: number, body: string) => boolean, seconds = SECONDS): Promise<Result> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const total = RATE * seconds;
  const latencies: number[] = [];
  let errors = 0;
  const started = process.hrtime.bigint();
  const pending: Array<Promise<void>> = [];
  for (let i = 0; i < total; i += 1) {
    const due = started + BigInt(Math.round((i * 1e9) / RATE));
    const wait = Number(due - process.hrtime.bigint()) / 1e6;
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(
      incomingCall(port, agent, isOk).then((r) => {
        latencies.push(r.ms);
        if (!r.ok) errors += 1;
      }),
    );
  }
  await Promise.all(pending);
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { sent: total, ok: latencies.length - errors, errors, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies[latencies.length - 1] ?? NaN, throughput: latencies.length / elapsed };
}

function row(name: string, r: Result): string {
  return `${name.padEnd(34)} sent=${r.sent} ok=${r.ok} errors=${r.errors} p50=${r.p50.toFixed(2)}ms p99=${r.p99.toFixed(2)}ms max=${r.max.toFixed(2)}ms throughput=${r.throughput.toFixed(1)}/s`;
}

async function main(): Promise<void> {
  const rest = await startRestRecorder();
  rest.behave({ delayMs: REST_DELAY_MS });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-bench-'));
  const appPort = await freePort();
  // An agent account exists (added with the CLI, on the same embedded database the app then opens) but nobody is
  // available: every caller is stored and waits in line, the line growing to RATE x SECONDS callers — the webhook's
  // worst case. Routing to agents is measured by bench/routing.ts.
  execFileSync(process.execPath, [AGENTS_CLI, 'add', 'bench-agent'], {
    env: { ...process.env, MONGODB_URI: '', DATA_DIR: dataDir },
    stdio: 'ignore',
  });
  // The app runs as `npm start` runs it, in its own process, on the embedded FerretDB; this process only sends load.
  const app = await spawnServer(SERVER_SCRIPT, [], appEnv({ port: appPort, dataDir, restBaseUrl: rest.baseUrl, publicBaseUrl: PUBLIC_BASE_URL, authToken: AUTH_TOKEN }), appPort);

  console.log(`warm-transfer benchmark: ${RATE} signed incoming-call webhooks/s for ${SECONDS} s after a ${WARM_UP_SECONDS} s warm-up; REST stand-in answers after ${REST_DELAY_MS} ms; ${os.cpus().length} cores, Node ${process.version}`);
  const isConference = (status: number, body: string): boolean => status === 200 && body.includes('<Conference');
  // Each server first gets WARM_UP_SECONDS of the same load, not counted: a process's first requests pay for its
  // JIT and first connections (the app's first ~20 took 15-40 ms), which says nothing of its steady state.
  await load(appPort, isConference, WARM_UP_SECONDS);
  const warm = await load(appPort, isConference);
  const appPeak = await peak(appPort, isConference, [app.pid, ferretdbProcessesOn(path.join(dataDir, 'ferretdb'))[0]]);
  await stopServer(app);

  const barePort = await freePort();
  const bare = await spawnServer(path.join(__dirname, 'bare-server.js'), [String(barePort)], process.env, barePort);
  await load(barePort, isConference, WARM_UP_SECONDS);
  const baseline = await load(barePort, isConference);
  const barePeak = await peak(barePort, isConference, [bare.pid]);
  await stopServer(bare);

  console.log(row('app (POST /conference/connect/client)', warm));
  console.log(row('bare node http, static TwiML', baseline));
  console.log(`ratio app/bare: p50 x${(warm.p50 / baseline.p50).toFixed(1)}, p99 x${(warm.p99 / baseline.p99).toFixed(1)}`);
  console.log(`peak throughput (32 concurrent senders, 5 s): app ${appPeak.throughput.toFixed(0)}/s (${appPeak.errors} errors), bare ${barePeak.throughput.toFixed(0)}/s; app/bare ${((100 * appPeak.throughput) / barePeak.throughput).toFixed(1)} %`);
  if (appPeak.perCall.some((value) => value !== undefined)) {
    console.log(`CPU per webhook at peak: app ${ms(appPeak.perCall[0])} + its FerretDB ${ms(appPeak.perCall[1])}; bare ${ms(barePeak.perCall[0])}`);
  }

  await rest.close();
  rmSync(dataDir, { recursive: true, force: true });
  if (warm.errors > 0 || appPeak.errors > 0) process.exitCode = 1;
}

runBench(main);
