// Benchmark: the reports page of issue 21. The built app runs in its own process on its embedded FerretDB (Twilio
// mode, a REST stand-in); this process bulk-loads finished calls over 90 days (1,000, then 100,000) and times the
// reports page for the last 31 days, per day and per hour, one request at a time: the first request after the load
// (which computes and stores the day summaries the settling pass has not yet built) and then the steady state. In the
// same run, as baselines: the same page at 1,000 stored calls, a bare Node http server answering a page of the same
// size, and the same 31 days computed the way the summaries avoid — reading every call's summary row.
// Build with `npm run build`, run with `node dist/bench/reports.js` (BENCH_MAX_HISTORY=10000 for a quicker run).
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connectDatabase, DEFAULT_DB_NAME } from '../src/db/connect';
import { LOCK_FILE, type LockInfo } from '../src/db/data-dir-lock';
import { freePort } from '../src/db/ferretdb';
import { createLogger } from '../src/logger';
import { createHistoryStore } from '../src/models/history';
import { addDays, localDayOf, localDayStart, utcHoursOfLocalDay } from '../src/contact-center/calendar';
import { callFactsOf, DEFAULT_METRIC_SETTINGS, ratesOf, tallyCalls } from '../src/contact-center/metrics';
import { historyFill } from './history-fill';
import { startRestRecorder } from '../test/helpers/rest-recorder';
import { addAccount, appEnv, percentile, SERVER_SCRIPT, signIn, spawnServer, stopServer, runBench } from './servers';

const MAX = Number(process.env.BENCH_MAX_HISTORY ?? 100_000);
const SIZES = [1_000, 100_000].filter((size) => size <= MAX);
const ROUNDS = Number(process.env.BENCH_REPORT_ROUNDS ?? 40);
const DAYS = 90;
const PUBLIC_BASE_URL = 'https://bench.example.test';
const AUTH_TOKEN = 'bench-auth-token-0123456789abcdef';
const AGENTS = Array.from({ length: 20 }, (_, i) => `agent${String(i + 1).padStart(2, '0')}`);
/** How long the app trusts its list of history buckets, plus a margin: then it sees what this process loaded. */
const BUCKET_CACHE_MS = 5_500;
const TARGET_MS = 200;

const fill = historyFill(21, (random) => AGENTS[Math.floor(random() * AGENTS.length)]!);

interface Stat {
  first: number;
  p50: number;
  p99: number;
  bytes: number;
}

async function timeGet(url: string, cookie: string): Promise<{ ms: number; status: number; body: string }> {
  const t0 = process.hrtime.bigint();
  const res = await fetch(url, { headers: { Cookie: cookie, Accept: 'text/html', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': new URL(PUBLIC_BASE_URL).host } });
  const body = await res.text();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, status: res.status, body };
}

/** The page `rounds` times after a first (timed apart) request; every answer must be the full page. */
async function measure(url: string, cookie: string, rounds: number, check: (body: string) => boolean): Promise<Stat> {
  const first = await timeGet(url, cookie);
  if (first.status !== 200 || !check(first.body)) throw new Error(`${url} answered ${first.status}: ${first.body.slice(0, 300)}`);
  for (let i = 0; i < 3; i += 1) await timeGet(url, cookie); // warm-up (JIT)
  const samples: number[] = [];
  for (let i = 0; i < rounds; i += 1) {
    const res = await timeGet(url, cookie);
    if (res.status !== 200 || !check(res.body)) throw new Error(`${url} answered ${res.status}`);
    samples.push(res.ms);
  }
  samples.sort((a, b) => a - b);
  return { first: first.ms, p50: percentile(samples, 50), p99: percentile(samples, 99), bytes: first.body.length };
}

async function main(): Promise<void> {
  const started = Date.now();
  const rest = await startRestRecorder();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-reports-bench-'));
  const appPort = await freePort();
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

  const lock = JSON.parse(readFileSync(path.join(dataDir, 'ferretdb', LOCK_FILE), 'utf8')) as LockInfo;
  const db = await connectDatabase({ uri: `mongodb://127.0.0.1:${lock.port}/`, dbName: DEFAULT_DB_NAME, logger: createLogger('silent') });
  const history = createHistoryStore(db.connection, { bucketCacheMs: 0 });
  const baseUrl = `http://127.0.0.1:${appPort}`;
  const cookie = await signIn(baseUrl, 'supervisor', PUBLIC_BASE_URL);
  const now = Date.now();
  const today = localDayOf(now, 'UTC');
  const from = addDays(today, -30);
  const pages = {
    day: `${baseUrl}/reports?preset=last31`,
    hour: `${baseUrl}/reports?from=${from}&to=${today}&by=hour`,
  };
  const isReport = (body: string) => body.includes('id="chart-volume"') && body.includes('id="report-intervals"');
  const results = new Map<number, { day: Stat; hour: Stat; scanMs: number; offered: number; stored: number }>();
  console.log(`warm-transfer reports benchmark: /reports for the last 31 days at ${SIZES.join(' → ')} stored calls (over ${DAYS} days, 20 agents), ${ROUNDS} rounds; ${os.cpus().length} cores, Node ${process.version}`);
  try {
    let stored = 0;
    for (const size of SIZES) {
      const fillStart = Date.now();
      const batch = [];
      while (stored < size) {
        batch.push(fill.record(now - 60_000 - fill.random() * DAYS * 86_400_000));
        stored += 1;
      }
      await history.appendMany(batch);
      const fillSeconds = (Date.now() - fillStart) / 1000;
      await new Promise((resolve) => setTimeout(resolve, BUCKET_CACHE_MS));
      const day = await measure(pages.day, cookie, ROUNDS, isReport);
      const hour = await measure(pages.hour, cookie, ROUNDS, isReport);
      // The way the summaries avoid: every call's row of the 31 days, hour bucket by hour bucket, then the metrics.
      const t0 = Date.now();
      const rows = [];
      const end = localDayStart(addDays(today, 1), 'UTC');
      for (let d = from; d <= today; d = addDays(d, 1)) {
        const hours = utcHoursOfLocalDay(d, 'UTC').filter((h) => h < end);
        for (const part of await Promise.all(hours.map((h) => history.hourSummaries(h)))) rows.push(...part);
      }
      const rates = ratesOf(tallyCalls(rows.map(callFactsOf), DEFAULT_METRIC_SETTINGS).tally, DEFAULT_METRIC_SETTINGS);
      const scanMs = Date.now() - t0;
      results.set(size, { day, hour, scanMs, offered: rates.offered, stored: rows.length });
      console.log(`${String(size).padStart(7)} stored calls: loaded ${batch.length} in ${fillSeconds.toFixed(1)} s; the 31 days hold ${rows.length} calls`);
    }
  } finally {
    await db.close();
    await stopAll();
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }

  // The floor: a bare Node http server answering a static page as large as the per-hour report.
  const barePort = await freePort();
  const bare = await spawnServer(path.join(__dirname, 'bare-server.js'), [String(barePort), String(results.get(SIZES.at(-1)!)!.hour.bytes)], process.env, barePort);
  let floor: Stat;
  try {
    floor = await measure(`http://127.0.0.1:${barePort}/reports`, 'x=y', ROUNDS, () => true);
  } finally {
    await stopServer(bare);
  }

  const fmt = (ms: number) => (ms < 10 ? ms.toFixed(1) : ms.toFixed(0)).padStart(8);
  const lines = ['', `${'GET /reports, last 31 days (ms)'.padEnd(40)}${'first'.padStart(8)}${'p50'.padStart(8)}${'p99'.padStart(8)}${'KB'.padStart(8)}`];
  for (const [size, r] of results) {
    lines.push(`${`per day   @ ${size.toLocaleString('en-US')} calls`.padEnd(40)}${fmt(r.day.first)}${fmt(r.day.p50)}${fmt(r.day.p99)}${String(Math.round(r.day.bytes / 1024)).padStart(8)}`);
    lines.push(`${`per hour  @ ${size.toLocaleString('en-US')} calls`.padEnd(40)}${fmt(r.hour.first)}${fmt(r.hour.p50)}${fmt(r.hour.p99)}${String(Math.round(r.hour.bytes / 1024)).padStart(8)}`);
    lines.push(`${`  baseline: the 31 days' ${r.stored.toLocaleString('en-US')} call rows read and counted`.padEnd(40)}${fmt(r.scanMs)}`);
  }
  lines.push(`${'  baseline: bare node http, same size page'.padEnd(40)}${fmt(floor.first)}${fmt(floor.p50)}${fmt(floor.p99)}${String(Math.round(floor.bytes / 1024)).padStart(8)}`);
  const last = results.get(SIZES.at(-1)!)!;
  const met = last.day.p50 < TARGET_MS && last.hour.p50 < TARGET_MS;
  lines.push('', `target (issue 21, at ${SIZES.at(-1)!.toLocaleString('en-US')} stored calls): the reports page for 31 days p50 < ${TARGET_MS} ms: ${met ? 'met' : 'MISSED'}`);
  console.log(lines.join('\n'));
  console.log(`total ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (!met) process.exitCode = 1;
}

runBench(main);
