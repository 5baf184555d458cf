// Starts one real FerretDB for the whole test run (unless MONGODB_URI points at a server already); tests use their own databases in it.
// It is the app's own supervised start: restarted if it dies, and ended by its watchdog if jest is killed.
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { startFerretdb, type EmbeddedDatabase } from '../../src/db/ferretdb';
import { findChromium } from '../e2e/browser';

declare global {
  var __FERRETDB__: EmbeddedDatabase | undefined;
}

export default async function globalSetup(): Promise<void> {
  // Without a system Chromium, the npm-packaged one is unpacked here on a machine's first run (about 15 s), outside
  // any test's timeout; later runs find it unpacked.
  findChromium();
  if (process.env.MONGODB_URI) {
    process.env.TEST_MONGODB_URI = process.env.MONGODB_URI;
    return;
  }
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-test-db-'));
  const db = await startFerretdb({ dataDir, log: (line) => process.stdout.write(`${line}\n`) });
  globalThis.__FERRETDB__ = db;
  process.env.TEST_MONGODB_URI = db.uri;
  process.env.TEST_FERRETDB_DATA_DIR = dataDir;
}
