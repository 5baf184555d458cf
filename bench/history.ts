// Benchmark of the history store on the embedded FerretDB: read and append latency at 100 → 100,000 stored calls, next to
// the old layout's cost (findOne by _id on one flat collection of the same size), measured in the same run.
// Build with `npm run build`, run with `node dist/bench/history.js` (HISTORY_BENCH_MAX=10000 for a quicker run).
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { connectDatabase } from '../src/db/connect';
import { startFerretdb } from '../src/db/ferretdb';
import { createLogger } from '../src/logger';
import { createHistoryStore, utcDay, type HistoryRecord, type HistoryQuery } from '../src/models/history';
import { historyFill } from './history-fill';
import { percentile, runBench } from './servers';

const MAX = Number(process.env.HISTORY_BENCH_MAX ?? 100_000);
const SIZES = [100, 1_000, 10_000, 100_000].filter((size) => size <= MAX);
const DAYS = 90;
const AGENTS = Array.from({ length: 20 }, (_, i) => `agent${String(i + 1).padStart(2, '0')}`);
const BUSY_AGENT = AGENTS[0]!;
const RARE_AGENT = AGENTS[19]!;
const NOW = Date.UTC(2026, 10, 25, 18, 0, 0);

/** Agent weights: the first agent takes ~20% of calls, the last ~0.3%, the rest share evenly. */
const fill = historyFill(42, (random) => {
  const r = random();
  if (r < 0.2) return BUSY_AGENT;
  if (r < 0.203) return RARE_AGENT;
  return AGENTS[1 + Math.floor(random() * 18)]!;
});
const random = fill.random;

/** A realistic finished call, ending at `endedAtMs` or a random time in the last 90 days. */
function makeRecord(endedAtMs = NOW - random() * DAYS * 86_400_000): HistoryRecord {
  return fill.record(endedAtMs);
}

async function measure(times: number, fn: (i: number) => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  await fn(-1); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < times; i += 1) {
    const t0 = process.hrtime.bigint();
    await fn(i);
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

async function main(): Promise<void> {
  const started = Date.now();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-history-bench-'));
  const embedded = await startFerretdb({ dataDir, log: (line) => console.log(line) });
  // Ctrl-C must not leave the embedded server running.
  const interrupted = (): void => {
    void embedded.stop().finally(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const db = await connectDatabase({ uri: embedded.uri, dbName: 'history_bench', logger: createLogger('silent') });
  try {
    const store = createHistoryStore(db.connection);
    // The old layout, as the baseline: every call in one collection, looked up by _id.
    const flat = db.connection.db!.collection<HistoryRecord>('calls_flat');
    const ids: string[] = [];
    const results = new Map<number, Map<string, { p50: number; p99: number }>>();
    let stored = 0;
    for (const size of SIZES) {
      const fillStart = Date.now();
      const batch: HistoryRecord[] = [];
      while (stored < size) {
        const record = makeRecord();
        batch.push(record);
        ids.push(record._id);
        endedAtOf.set(record._id, record.endedAt);
        stored += 1;
        if (batch.length === 5000 || stored === size) {
          await store.appendMany(batch);
          await flat.insertMany(batch.map((r) => ({ ...r })), { ordered: false });
          batch.length = 0;
        }
      }
      console.log(`filled to ${size} records in ${((Date.now() - fillStart) / 1000).toFixed(1)} s (load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores)`);
      const someId = (i: number) => ids[Math.floor((Math.abs(i) * 7919) % ids.length)]!;
      const filtered: HistoryQuery = { limit: 50, outcome: 'abandoned', since: new Date(NOW - 30 * 86_400_000), until: new Date(NOW) };
      const row = new Map<string, { p50: number; p99: number }>();
      const n = size >= 100_000 ? 15 : 30;
      row.set('newest 50', await measure(n, () => store.newest({ limit: 50 })));
      row.set(`newest 50 of ${BUSY_AGENT} (busy)`, await measure(n, () => store.newest({ limit: 50, agentId: BUSY_AGENT })));
      row.set(`newest 50 of ${RARE_AGENT} (rare)`, await measure(n, () => store.newest({ limit: 50, agentId: RARE_AGENT })));
      row.set('abandoned, last 30 days', await measure(n, () => store.newest(filtered)));
      row.set('busy agent + answered + 7 days', await measure(n, () => store.newest({ limit: 50, agentId: BUSY_AGENT, outcome: 'answered', since: new Date(NOW - 7 * 86_400_000) })));
      row.set('busy agent + failed', await measure(n, () => store.newest({ limit: 50, agentId: BUSY_AGENT, outcome: 'failed' })));
      row.set('3 pages of newest 50 (cursor)', await measure(n, async () => {
        const page1 = await store.newest({ limit: 50 });
        const last1 = page1.at(-1);
        const page2 = last1 ? await store.newest({ limit: 50, before: { endedAt: last1.endedAt, id: last1._id } }) : [];
        const last2 = page2.at(-1);
        return last2 ? store.newest({ limit: 50, before: { endedAt: last2.endedAt, id: last2._id } }) : [];
      }));
      row.set('find one (day + CallSid)', await measure(n, (i) => {
        const id = someId(i);
        return store.find(id, utcDay(endedAtOf.get(id)!));
      }));
      row.set('append one', await measure(n, () => store.append(makeRecord(NOW + 1000))));
      row.set('BASELINE flat findOne({_id})', await measure(size >= 100_000 ? 8 : n, (i) => flat.findOne({ _id: someId(i) })));
      results.set(size, row);
      printTable(results);
    }
    console.log(`total ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await db.close();
    await embedded.stop();
    rmSync(dataDir, { recursive: true, force: true });
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}

const endedAtOf = new Map<string, Date>();

function printTable(results: Map<number, Map<string, { p50: number; p99: number }>>): void {
  const sizes = [...results.keys()];
  const first = results.get(sizes[0]!)!;
  const ops = [...first.keys()];
  const fmt = (ms: number) => (ms < 10 ? ms.toFixed(1) : ms.toFixed(0)).padStart(7);
  const lines = [`\n${'operation (ms)'.padEnd(34)}${sizes.map((s) => `${`p50@${s}`.padStart(11)}${`p99@${s}`.padStart(11)}`).join('')}${`p50 ×@${sizes.at(-1)}`.padStart(14)}`];
  for (const op of ops) {
    const base = first.get(op)!.p50;
    const last = results.get(sizes.at(-1)!)!.get(op)!.p50;
    const ratio = base >= 0.5 ? `${(last / base).toFixed(2)}×` : 'n/a';
    lines.push(`${op.padEnd(34)}${sizes.map((s) => `${fmt(results.get(s)!.get(op)!.p50).padStart(11)}${fmt(results.get(s)!.get(op)!.p99).padStart(11)}`).join('')}${ratio.padStart(14)}`);
  }
  console.log(lines.join('\n'));
}

runBench(main);
