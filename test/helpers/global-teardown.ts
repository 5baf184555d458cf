// Stops the FerretDB started for the test run and removes its data.
import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  await globalThis.__FERRETDB__?.stop();
  if (process.env.TEST_FERRETDB_DATA_DIR) rmSync(process.env.TEST_FERRETDB_DATA_DIR, { recursive: true, force: true });
}
