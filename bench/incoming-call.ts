// Benchmark: signed incoming-call webhooks at a fixed rate against the app (its own process, embedded FerretDB, a REST
// stand-in answering after 300 ms), next to a bare Node http server answering static TwiML, in the same run.
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks';
import { freePort } from '../src/db/ferretdb';
import { startRestRecorder } from '../test/helpers/rest-recorder';
import { AGENTS_CLI, appEnv, percentile, SERVER_SCRIPT, spawnServer, stopServer } from './servers';

const RATE = Number(process.env.BENCH_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
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

/** Sends RATE requests a second for SECONDS, open loop (a slow answer does not slow the sender). */
async function load(port: number, isOk: (status: number, body: string) => boolean): Promise<Result> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const total = RATE * SECONDS;
  const latencies: number[] = [];
  let errors = 0;
  const started = process.hrtime.bigint();
  const pending: Array<Promise<void>> = [];
  for (let i = 0; i < total; i += 1) {
    const due = started + BigInt(Math.round((i * 1e9) / RATE));
    const wait = Number(due - process.hrtime.bigint()) / 1e6;
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const callSid = `CA${randomBytes(16).toString('hex')}`;
    const params = { CallSid: callSid, From: '+15551112222', To: '+15557654321', CallStatus: 'ringing', Direction: 'inbound' };
    const body = new URLSearchParams(params).toString();
    const signature = getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_BASE_URL}/conference/connect/client`, params);
    pending.push(
      new Promise<void>((resolve) => {
        const t0 = process.hrtime.bigint();
        const req = http.request(
          { host: '127.0.0.1', port, path: '/conference/connect/client', method: 'POST', agent, timeout: 15000, headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body), 'X-Twilio-Signature': signature } },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (text += chunk));
            res.on('end', () => {
              latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
              if (!isOk(res.statusCode ?? 0, text)) errors += 1;
              resolve();
            });
          },
        );
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', () => {
          errors += 1;
          resolve();
        });
        req.end(body);
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
  // Calls ring the first enabled agent: add one with the CLI, on the same embedded database the app then opens.
  execFileSync(process.execPath, [AGENTS_CLI, 'add', 'bench-agent'], {
    env: { ...process.env, MONGODB_URI: '', DATA_DIR: dataDir },
    stdio: 'ignore',
  });
  // The app runs as `npm start` runs it, in its own process, on the embedded FerretDB; this process only sends load.
  const app = await spawnServer(SERVER_SCRIPT, [], appEnv({ port: appPort, dataDir, restBaseUrl: rest.baseUrl, publicBaseUrl: PUBLIC_BASE_URL, authToken: AUTH_TOKEN }), appPort);

  console.log(`warm-transfer benchmark: ${RATE} signed incoming-call webhooks/s for ${SECONDS} s; REST stand-in answers after ${REST_DELAY_MS} ms; ${os.cpus().length} cores, Node ${process.version}`);
  const isConference = (status: number, body: string): boolean => status === 200 && body.includes('<Conference');
  const warm = await load(appPort, isConference);
  // Every call's dial goes out after its TwiML: wait for the stragglers before counting.
  await rest.waitForRequests(warm.sent, 15_000).catch(() => undefined);
  const dialled = rest.requests.length;
  await stopServer(app);

  const barePort = await freePort();
  const bare = await spawnServer(path.join(__dirname, 'bare-server.js'), [String(barePort)], process.env, barePort);
  const baseline = await load(barePort, isConference);
  await stopServer(bare);

  console.log(row('app (POST /conference/connect/client)', warm));
  console.log(row('bare node http, static TwiML', baseline));
  console.log(`ratio app/bare: p50 x${(warm.p50 / baseline.p50).toFixed(1)}, p99 x${(warm.p99 / baseline.p99).toFixed(1)}`);
  console.log(`REST dials made by the app: ${dialled} of ${warm.sent} calls (each answered after ${REST_DELAY_MS} ms, after the TwiML was sent)`);

  await rest.close();
  rmSync(dataDir, { recursive: true, force: true });
  if (warm.errors > 0 || dialled !== warm.sent) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
