// The database half of /metrics: the embedded FerretDB killed and restarted by its supervisor is counted in
// warm_transfer_database_restarts_total, and readiness is reported as a 0/1 gauge.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { startFerretdb, type EmbeddedDatabase } from '../src/db/ferretdb';
import { createOpsMetrics } from '../src/observability/prometheus';

jest.setTimeout(60_000);

let dir: string;
let db: EmbeddedDatabase;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-metrics-db-'));
  db = await startFerretdb({ dataDir: dir, log: () => undefined });
});
afterAll(async () => {
  await db?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const value = (text: string, name: string) => parsePrometheusTextFormat(text).find((f) => f.name === name)?.metrics[0]?.value;

test('when the embedded database is killed and comes back, then the restart is counted once and readiness follows', async () => {
  const ops = createOpsMetrics({ defaultMetrics: false });
  let ready = true;
  ops.watch({ callsWaiting: async () => 0, agentsByPresence: async () => new Map(), databaseReady: async () => ready, databaseRestarts: () => db.restarts() });
  expect(value(await ops.registry.metrics(), 'warm_transfer_database_restarts_total')).toBe('0');

  const pid = db.pid()!;
  process.kill(pid, 'SIGKILL');
  ready = false;
  const down = await ops.registry.metrics();
  const deadline = Date.now() + 30_000;
  while (!(db.state() === 'running' && db.pid() !== pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  ready = true;
  const back = await ops.registry.metrics();
  const again = await ops.registry.metrics();

  expect(value(down, 'warm_transfer_database_ready')).toBe('0');
  expect(db.restarts()).toBe(1);
  expect(value(back, 'warm_transfer_database_restarts_total')).toBe('1');
  expect(value(back, 'warm_transfer_database_ready')).toBe('1');
  expect(value(again, 'warm_transfer_database_restarts_total')).toBe('1');
});
