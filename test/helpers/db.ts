// A fresh database per test file in the run's real FerretDB (or MONGODB_URI), dropped afterwards.
import { randomBytes } from 'node:crypto';
import { connectDatabase, type Database } from '../../src/db/connect';
import { createLogger } from '../../src/logger';
import { historyDatabaseName } from '../../src/models/history';
import { reportDatabaseName } from '../../src/models/report-summary';

/** Connects to a new, uniquely named database on the test server. */
export async function openTestDatabase(): Promise<Database & { drop(): Promise<void> }> {
  const uri = process.env.TEST_MONGODB_URI;
  if (!uri) throw new Error('TEST_MONGODB_URI is not set: run the tests through jest (globalSetup starts the database).');
  const dbName = `test_${process.env.JEST_WORKER_ID ?? '0'}_${randomBytes(4).toString('hex')}`;
  const db = await connectDatabase({ uri, dbName, logger: createLogger('silent'), serverSelectionTimeoutMs: 2000 });
  return {
    ...db,
    async drop() {
      await db.connection.dropDatabase().catch(() => undefined);
      await db.connection.getClient().db(historyDatabaseName(dbName)).dropDatabase().catch(() => undefined);
      await db.connection.getClient().db(reportDatabaseName(dbName)).dropDatabase().catch(() => undefined);
      await db.close();
    },
  };
}
