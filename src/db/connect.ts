// Opens the app's database connection: MONGODB_URI when given, otherwise an embedded FerretDB started here.
import path from 'node:path';
import mongoose, { type Connection } from 'mongoose';
import type { Logger } from '../logger';
import { callModel } from '../models/call';
import { startFerretdb, type EmbeddedDatabase } from './ferretdb';

export const DEFAULT_DB_NAME = 'warm_transfer';

export interface Database {
  connection: Connection;
  models: { calls: ReturnType<typeof callModel> };
  /** The embedded server, when one was started. */
  embedded?: EmbeddedDatabase;
  close(): Promise<void>;
}

/**
 * Connects to `uri` (with an optional database name) and prepares the models' indexes.
 * Commands fail fast instead of queueing while the server is away, so webhooks can apologise in time.
 */
export async function connectDatabase(options: { uri: string; dbName?: string; logger: Logger; serverSelectionTimeoutMs?: number }): Promise<Database> {
  const connection = mongoose.createConnection(options.uri, {
    ...(options.dbName ? { dbName: options.dbName } : {}),
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? 3000,
    bufferCommands: false,
    autoIndex: false,
  });
  await connection.asPromise();
  const models = { calls: callModel(connection) };
  await models.calls.createIndexes();
  options.logger.info('database connected', { db: connection.name });
  return {
    connection,
    models,
    async close() {
      await connection.close();
    },
  };
}

/** The app's database: the configured one, or an embedded FerretDB under `dataDir` that stops with it. */
export async function openAppDatabase(options: { mongodbUri?: string; dataDir: string; logger: Logger }): Promise<Database> {
  if (options.mongodbUri) return connectDatabase({ uri: options.mongodbUri, dbName: dbNameFrom(options.mongodbUri), logger: options.logger });
  const log = (line: string): void => options.logger.info(line);
  const embedded = await startFerretdb({ dataDir: path.resolve(options.dataDir, 'ferretdb'), log });
  options.logger.info('embedded FerretDB started (no MONGODB_URI set)', { address: `127.0.0.1:${embedded.port}` });
  try {
    const db = await connectDatabase({ uri: embedded.uri, dbName: DEFAULT_DB_NAME, logger: options.logger });
    return {
      ...db,
      embedded,
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
