// The driver's pool on FerretDB (src/db/connect.ts): a few connections, so SQLite's one writer at a time is queued in
// order by the driver instead of by sleeping retries; a maxPoolSize in the URI wins. Against the run's real database.
import { connectDatabase, FERRETDB_POOL_SIZE, servedByFerretDb } from '../src/db/connect';
import { createLogger } from '../src/logger';

const uri = (): string => process.env.TEST_MONGODB_URI!;
const poolOf = (db: Awaited<ReturnType<typeof connectDatabase>>): number | undefined => db.connection.getClient().options.maxPoolSize;

test('when the app connects to FerretDB, then its pool is FERRETDB_POOL_SIZE connections, unless the URI names one', async () => {
  const plain = await connectDatabase({ uri: uri(), dbName: 'pool_check', logger: createLogger('silent') });
  const named = await connectDatabase({ uri: `${uri().replace(/\/?$/, '/')}pool_check?maxPoolSize=3`, logger: createLogger('silent') });
  try {
    const ferret = await servedByFerretDb(plain.connection);
    // The suite runs on the embedded FerretDB unless TEST_MONGODB_URI points elsewhere: MongoDB keeps the driver's default.
    expect(plain.ferretDb).toBe(ferret);
    expect(poolOf(plain)).toBe(ferret ? FERRETDB_POOL_SIZE : 100);
    expect(poolOf(named)).toBe(3);
    expect(await plain.connection.db!.collection('probe').countDocuments()).toBe(0);
  } finally {
    await Promise.all([plain.close(), named.close()]);
  }
});
