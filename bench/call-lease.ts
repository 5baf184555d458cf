// Benchmark: what the claim on a call's revision costs each change to a live call on the embedded FerretDB, against the plain
// compare-and-set of the same run and against an update by _id with no guard at all (alternating, so all three see
// the same machine), and what it buys: three "instances" (connections, each with its own claims) changing the same
// calls at once, counting the changes that were lost.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectDatabase, type Database } from '../src/db/connect';
import { ferretdbProcessesOn, startFerretdb } from '../src/db/ferretdb';
import type { CallRecord } from '../src/contact-center/call';
import { createLogger } from '../src/logger';
import { callLeaseCollection, createCallLeases, DEFAULT_LEASE } from '../src/models/call-lease';
import { createCallStore, storeRunner, type CallStore } from '../src/models/call-store';
import { cpuTimeMs, percentile, runBench } from './servers';

const WRITES = Number(process.env.BENCH_WRITES ?? 1000);
/** Live calls in the store while it is measured (FerretDB's update scans for its document: the count matters). */
const LIVE = Number(process.env.BENCH_LIVE_CALLS ?? 200);
const ROUNDS = 3;
const CONTENDED_CALLS = 20;
const CONTENDED_CHANGES = 10;

const run = storeRunner(5000);
const append = (label: string) => (_call: CallRecord) => ({ patch: { addEvent: { at: new Date(), kind: 'hold' as const, label } }, result: label });

type Mode = 'cas' | 'leased' | 'bare';

/**
 * The store as the app builds it: compare-and-set alone (MongoDB), or with claims (FerretDB; the mode is still called
 * 'leased'). 'bare' is that store's write without the claim: the floor the claim adds to (unsafe across processes).
 */
function store(database: Database, mode: Mode): CallStore {
  if (mode === 'cas') return createCallStore(database.models.calls, run);
  const leases = createCallLeases(callLeaseCollection(database.connection), run, DEFAULT_LEASE);
  if (mode === 'leased') return createCallStore(database.models.calls, run, { leases });
  const free = { ...leases, claim: async (callSid: string) => ({ key: callSid, holder: '', expiresAt: Infinity, writeBy: Infinity }) };
  return createCallStore(database.models.calls, run, { leases: free });
}

async function newCalls(database: Database, count: number, tag: string): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => `CA${tag}${String(i).padStart(8, '0')}`.padEnd(34, '0'));
  await database.models.calls.insertMany(ids.map((_id) => ({ _id, conferenceName: _id, status: 'waiting', participants: [], passedBy: [], transfers: [], rev: 0 })));
  return ids;
}

/** WRITES changes one after another, round the LIVE calls (as webhooks for different calls are): latency and CPU each. */
async function sequential(database: Database, mode: Mode, ferretPid: number | undefined, tag: string): Promise<{ ms: number[]; appCpu: number; dbCpu: number }> {
  const s = store(database, mode);
  const calls = await newCalls(database, LIVE, tag);
  const ms: number[] = [];
  const cpu0 = process.cpuUsage();
  const db0 = cpuTimeMs(ferretPid) ?? 0;
  for (let i = 0; i < WRITES; i += 1) {
    const callSid = calls[(i * 7919) % calls.length]!;
    const t0 = process.hrtime.bigint();
    await s.change(callSid, append('x'));
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  await s.settle();
  const cpu = process.cpuUsage(cpu0);
  const dbCpu = (cpuTimeMs(ferretPid) ?? 0) - db0;
  await database.models.calls.deleteMany({ _id: { $in: calls } });
  return { ms, appCpu: (cpu.user + cpu.system) / 1000 / WRITES, dbCpu: dbCpu / WRITES };
}

/** Three instances change the same calls at once: how many changes landed, failed (told so) or were lost, and how long it took. */
async function contended(databases: Database[], mode: Mode, tag: string): Promise<{ lost: number; failed: number; sent: number; ms: number }> {
  const stores = databases.map((d) => store(d, mode));
  const calls = await newCalls(databases[0]!, CONTENDED_CALLS, tag);
  let failed = 0;
  const t0 = Date.now();
  await Promise.all(stores.flatMap((s, w) => calls.flatMap((callSid) => Array.from({ length: CONTENDED_CHANGES }, (_, i) => s.change(callSid, append(`${w}-${i}`)).catch(() => void (failed += 1))))));
  await Promise.all(stores.map((s) => s.settle()));
  const ms = Date.now() - t0;
  const stored = await databases[0]!.models.calls.find({ _id: { $in: calls } }).lean<CallRecord[]>().exec();
  const landed = stored.reduce((sum, call) => sum + (call.events?.length ?? 0), 0);
  const sent = stores.length * CONTENDED_CALLS * CONTENDED_CHANGES;
  await databases[0]!.models.calls.deleteMany({ _id: { $in: calls } });
  return { lost: sent - failed - landed, failed, sent, ms };
}

const fmt = (values: number[]): string => {
  const s = [...values].sort((a, b) => a - b);
  return `p50=${percentile(s, 50).toFixed(2)}ms p99=${percentile(s, 99).toFixed(2)}ms mean=${(s.reduce((a, b) => a + b, 0) / s.length).toFixed(2)}ms`;
};

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-bench-lease-'));
  const server = await startFerretdb({ dataDir, log: () => undefined });
  const databases = await Promise.all([0, 1, 2].map(() => connectDatabase({ uri: server.uri, dbName: 'lease_bench', logger: createLogger('silent') })));
  const ferretPid = ferretdbProcessesOn(dataDir)[0];
  try {
    console.log(`warm-transfer lease benchmark: ${WRITES} changes one after another, spread over ${LIVE} live calls, ${ROUNDS} rounds alternating; embedded FerretDB; ${os.cpus().length} cores, Node ${process.version}`);
    const modes: Mode[] = ['cas', 'leased', 'bare'];
    const results = Object.fromEntries(modes.map((m) => [m, { ms: [] as number[], app: [] as number[], db: [] as number[] }])) as Record<Mode, { ms: number[]; app: number[]; db: number[] }>;
    await sequential(databases[0]!, 'leased', ferretPid, 'w'); // warm-up, not counted
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const mode of modes) {
        const r = await sequential(databases[0]!, mode, ferretPid, `${mode[0]}${round}`);
        results[mode].ms.push(...r.ms);
        results[mode].app.push(r.appCpu);
        results[mode].db.push(r.dbCpu);
      }
    }
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const line = (name: string, r: (typeof results)[Mode]): string => `${name.padEnd(44)} ${fmt(r.ms)}  CPU per change: app ${mean(r.app).toFixed(2)} ms + FerretDB ${mean(r.db).toFixed(2)} ms`;
    console.log(line('compare-and-set: read, update {_id, rev}', results.cas));
    console.log(line('claimed: read, insert claim, update {_id}', results.leased));
    console.log(line('no guard: read, update {_id} (unsafe)', results.bare));
    const p50 = (r: (typeof results)[Mode]): number => percentile([...r.ms].sort((a, b) => a - b), 50);
    const p99 = (r: (typeof results)[Mode]): number => percentile([...r.ms].sort((a, b) => a - b), 99);
    const ratio = (over: Mode, f: (r: (typeof results)[Mode]) => number): string => (f(results.leased) / f(results[over])).toFixed(2);
    for (const over of ['cas', 'bare'] as const) {
      console.log(`ratio claimed/${over === 'cas' ? 'compare-and-set' : 'no guard'}: p50 x${ratio(over, p50)}, p99 x${ratio(over, p99)}, CPU app x${ratio(over, (r) => mean(r.app))}, FerretDB x${ratio(over, (r) => mean(r.db))}`);
    }

    console.log(`three instances changing ${CONTENDED_CALLS} calls at once, ${CONTENDED_CHANGES} changes each per call:`);
    for (const mode of ['cas', 'leased'] as const) {
      const r = await contended(databases, mode, `k${mode[0]}`);
      console.log(`  ${mode === 'cas' ? 'compare-and-set alone' : 'claimed'.padEnd(21)}  changes lost: ${r.lost} of ${r.sent} (refused, the caller told: ${r.failed})  ${r.ms} ms`);
    }
  } finally {
    for (const d of databases) await d.close();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

runBench(main);
