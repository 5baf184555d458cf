// Opens the app's database connection: MONGODB_URI when given, otherwise an embedded FerretDB started here.
import { errorMessage } from '../errors';
import path from 'node:path';
import mongoose, { type Connection } from 'mongoose';
import type { Logger } from '../logger';
import { callModel } from '../models/call';
import { withDeadline } from '../errors';
import { startFerretdb, type EmbeddedDatabase } from './ferretdb';

export const DEFAULT_DB_NAME = 'warm_transfer';

/** Whether the database answers now, and if not, why (for /readyz). */
export type Readiness = { ready: true } | { ready: false; reason: string };

export interface Database {
  connection: Connection;
  models: { calls: ReturnType<typeof callModel> };
  /** The embedded server, when one was started. */
  embedded?: EmbeddedDatabase;
  /**
   * The server is FerretDB, or could not say (servedByFerretDb, asked once when connecting): FerretDB's precautions
   * apply (the small pool here, per-call leases and sign-in limits kept in memory in the runtime).
   */
  ferretDb: boolean;
  /** Pings the database, within a second. */
  readiness(): Promise<Readiness>;
  close(): Promise<void>;
}

const PING_DEADLINE_MS = 1000;

async function ping(connection: Connection): Promise<Readiness> {
  try {
    const db = connection.db;
    if (!db) return { ready: false, reason: 'not connected to the database' };
    await withDeadline(db.command({ ping: 1 }, { timeoutMS: PING_DEADLINE_MS }), PING_DEADLINE_MS, () => new Error(`no answer within ${PING_DEADLINE_MS} ms`));
    return { ready: true };
  } catch (err) {
    return { ready: false, reason: `the database did not answer a ping: ${errorMessage(err)}` };
  }
}

/** True when the server is FerretDB (its buildInfo says so), or cannot tell (then the app takes FerretDB's precautions). */
export async function servedByFerretDb(connection: Connection): Promise<boolean> {
  try {
    const info = await connection.db!.admin().command({ buildInfo: 1 });
    return 'ferretdbVersion' in info;
  } catch {
    return true;
  }
}

/**
 * How many connections an app instance opens to FerretDB at most (the driver's pool; its default is 100). FerretDB 1.x
 * writes through SQLite, one writer at a time, and a writer that finds the file locked sleeps and tries again (SQLite's
 * busy handler: 1, 2, 5 … 100 ms), so under a burst the unlucky writes wait longest. Measured by bench/db-pool.ts (40
 * callers at once, a quarter of them reading a 100-document collection): writes' p99 1,090 ms with 100 connections,
 * 196 ms with 8, 101 ms with 4, in less time overall; the whole-call benchmark's webhook p99 halved. Commands beyond the pool wait
 * in the driver, in order. What counts is every instance's pool together (three instances of 8 put the database's
 * answers back at a p99 of 600 ms, of 3 at 100 ms), hence a small one. A `maxPoolSize` in MONGODB_URI wins; MongoDB
 * keeps the driver's default.
 */
export const FERRETDB_POOL_SIZE = 4;

function open(uri: string, options: { dbName?: string; serverSelectionTimeoutMs?: number; maxPoolSize?: number }): Promise<Connection> {
  return mongoose
    .createConnection(uri, {
      ...(options.dbName ? { dbName: options.dbName } : {}),
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? 3000,
      ...(options.maxPoolSize ? { maxPoolSize: options.maxPoolSize } : {}),
      bufferCommands: false,
      autoIndex: false,
    })
    .asPromise();
}

/**
 * Connects to `uri` (with an optional database name) and prepares the models' indexes; to FerretDB, with a pool of
 * FERRETDB_POOL_SIZE. Commands fail fast instead of queueing while the server is away, so webhooks can apologise in time.
 */
export async function connectDatabase(options: { uri: string; dbName?: string; logger: Logger; serverSelectionTimeoutMs?: number }): Promise<Database> {
  let connection = await open(options.uri, options);
  const ferretDb = await servedByFerretDb(connection);
  if (ferretDb && !/[?&]maxPoolSize=/i.test(options.uri)) {
    await connection.close();
    connection = await open(options.uri, { ...options, maxPoolSize: FERRETDB_POOL_SIZE });
  }
  const models = { calls: callModel(connection) };
  await models.calls.createIndexes();
  options.logger.info('database connected', { db: connection.name });
  return {
    connection,
    models,
    ferretDb,
    readiness: () => ping(connection),
    async close() {
      await connection.close();
    },
  };
}

/** The app's database: the configured one, or an embedded, supervised FerretDB under `dataDir` that stops with it. */
export async function openAppDatabase(options: { mongodbUri?: string; dataDir: string; logger: Logger }): Promise<Database> {
  if (options.mongodbUri) return connectDatabase({ uri: options.mongodbUri, dbName: dbNameFrom(options.mongodbUri), logger: options.logger });
  const embedded = await startFerretdb({
    dataDir: path.resolve(options.dataDir, 'ferretdb'),
    log: (line) => options.logger.info(line),
    warn: (line) => options.logger.warn(line),
  });
  options.logger.info('embedded FerretDB started (no MONGODB_URI set)', { address: `127.0.0.1:${embedded.port}` });
  try {
    const db = await connectDatabase({ uri: embedded.uri, dbName: DEFAULT_DB_NAME, logger: options.logger });
    return {
      ...db,
      embedded,
      async readiness() {
        // While FerretDB is down a ping would wait for the driver's server selection; the supervisor knows sooner.
        const state = embedded.state();
        if (state !== 'running') return { ready: false, reason: `the embedded database is ${state}` };
        return db.readiness();
      },
      async close() {
        await db.close();
        await embedded.stop();
      },
    };
  } catch (err) {
    await embedded.stop();
    throw err;
  }
}

/** The URI's own database name, or ours when it names none. */
function dbNameFrom(uri: string): string | undefined {
  const match = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]*)/.exec(uri);
  return match?.[1] ? undefined : DEFAULT_DB_NAME;
}
