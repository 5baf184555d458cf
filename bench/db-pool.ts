// Benchmark: the driver's pool size against the embedded FerretDB under a burst (src/db/connect.ts,
// FERRETDB_POOL_SIZE). FerretDB 1.x writes through SQLite one writer at a time, and a writer that finds the file
// locked sleeps and retries; with many connections the unlucky writes wait longest. Forty callers at once, three in
// four writing (an update by _id or an insert), one in four reading a 100-document collection, through pools of
// 100 (the driver's default: the baseline of the same run), 8, 4 and 2 connections, each in its own database.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { startFerretdb } from '../src/db/ferretdb';
import { percentile, runBench } from './servers';

const CALLERS = Number(process.env.BENCH_CALLERS ?? 40);
const EACH = Number(process.env.BENCH_EACH ?? 25);
const POOLS = (process.env.BENCH_POOLS ?? '100,8,4,2').split(',').map(Number);

interface Run {
  pool: number;
  ms: number;
  writes: number[];
  scans: number[];
}

async function burst(uri: string, pool: number): Promise<Run> {
  const client = await MongoClient.connect(uri, { maxPoolSize: pool });
  try {
    const db = client.db(`pool_bench_${pool}`);
    await db.collection<{ _id: string }>('calls').insertMany(Array.from({ length: 50 }, (_, i) => ({ _id: `call${i}`, n: i, pad: 'x'.repeat(500) })));
    await db.collection<{ _id: string }>('agents').insertMany(Array.from({ length: 100 }, (_, i) => ({ _id: `agent${i}`, n: i, pad: 'x'.repeat(300) })));
    const writes: number[] = [];
    const scans: number[] = [];
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CALLERS }, async (_, caller) => {
        for (let i = 0; i < EACH; i += 1) {
          const at = performance.now();
          if (caller % 4 === 0) {
            await db.collection('agents').find({}).toArray();
            scans.push(performance.now() - at);
          } else if (caller % 2 === 0) {
            await db.collection<{ _id: string }>('calls').updateOne({ _id: `call${(caller * 7 + i) % 50}` }, { $set: { seen: i } });
            writes.push(performance.now() - at);
          } else {
            await db.collection<{ _id: string }>('leases').insertOne({ _id: `lease-${caller}-${i}` });
            writes.push(performance.now() - at);
          }
        }
      }),
    );
    return { pool, ms: performance.now() - started, writes, scans };
  } finally {
    await client.close();
  }
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-bench-pool-'));
  const server = await startFerretdb({ dataDir, log: () => undefined });
  try {
    console.log(`warm-transfer pool benchmark: ${CALLERS} callers at once, ${EACH} commands each (3 in 4 write, 1 in 4 reads 100 documents); embedded FerretDB; ${os.cpus().length} cores, Node ${process.version}`);
    const runs: Run[] = [];
    for (const pool of POOLS) runs.push(await burst(server.uri, pool));
    const p = (values: number[], q: number): number => percentile([...values].sort((a, b) => a - b), q);
    const base = runs[0]!;
    for (const r of runs) {
      const vs = r === base ? 'baseline' : `writes p99 x${(p(r.writes, 99) / p(base.writes, 99)).toFixed(2)}, all done in x${(r.ms / base.ms).toFixed(2)} the time`;
      console.log(`pool ${String(r.pool).padStart(3)}: writes p50 ${p(r.writes, 50).toFixed(1)} ms p99 ${p(r.writes, 99).toFixed(0)} ms; scans p50 ${p(r.scans, 50).toFixed(1)} ms p99 ${p(r.scans, 99).toFixed(0)} ms; all done in ${r.ms.toFixed(0)} ms (${vs})`);
    }
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

runBench(main);
