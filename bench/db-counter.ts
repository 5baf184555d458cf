// A TCP proxy in front of the database that counts the commands sent through it (MongoDB wire protocol, OP_MSG), by
// command and collection: how many database round trips the app makes, and on what, while a benchmark runs.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { deserialize, type Document } from 'bson';

/** OP_MSG, the opcode of every command of a current driver (https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/). */
const OP_MSG = 2013;

export interface DbCounter {
  /** `upstreamUri` with its host replaced by the proxy's. */
  uri: string;
  /** Counting is on between start() and stop(); counts are kept by 'command collection', e.g. 'insert call_leases'. */
  start(): void;
  stop(): Map<string, number>;
  /** Since start(): reads and writes by 'command collection' and how FerretDB serves their filter ('by _id' or 'scan {keys}'). */
  shapes(): Map<string, number>;
  /** Since start(): how long the database took to answer, ms, by 'command collection' (request sent to answer back). */
  latencies(): Map<string, number[]>;
  close(): Promise<void>;
}

/**
 * How the embedded FerretDB's SQLite backend will serve a filter: one that names an `_id` (a string or an ObjectId),
 * alone or with other conditions, is looked up in the `_id` index ('by _id', or 'by _id {keys}' with the others then
 * tested on that one document), as the app builds FerretDB (src/db/ferretdb.ts, FERRETDB_PATCHES); any other filter
 * reads and decodes every document of the collection ('scan').
 * https://github.com/FerretDB/FerretDB/blob/v1.24.2/internal/backends/sqlite/collection.go (Query)
 */
function filterShape(filter: Document | undefined): string {
  if (!filter || Object.keys(filter).length === 0) return 'scan (all)';
  const keys = Object.keys(filter);
  const id: unknown = filter['_id'];
  const byId = typeof id === 'string' || (typeof id === 'object' && id !== null && (id as { _bsontype?: string })._bsontype === 'ObjectId');
  if (byId) return keys.length === 1 ? 'by _id' : `by _id {${keys.join(',')}}`;
  return `scan {${keys.join(',')}}`;
}

/** The filter of a find, count, update (its first statement) or delete (its first statement), if any. */
function filterOf(name: string, body: Document, sequence: Document | undefined): Document | undefined {
  if (name === 'find' || name === 'count') return body['filter'] as Document | undefined ?? body['query'] as Document | undefined;
  if (name === 'findAndModify') return body['query'] as Document | undefined;
  if (name === 'update' || name === 'delete') {
    const first = (body['updates'] ?? body['deletes']) as Document[] | undefined;
    return (first?.[0] ?? sequence)?.['q'] as Document | undefined;
  }
  return undefined;
}

/**
 * The command name and its target (the first element of the body document, when it is a string) of one OP_MSG, and
 * for reads and writes, how its filter is served (filterShape).
 */
function commandOf(message: Buffer): { command: string; shape?: string } | undefined {
  if (message.readInt32LE(12) !== OP_MSG) return undefined;
  // header (16 bytes), flagBits (4), then sections: kind 0 is the body document, kind 1 a document sequence.
  if (message[20] !== 0) return undefined;
  const doc = 21;
  const docLength = message.readInt32LE(doc);
  const type = message[doc + 4];
  const nameEnd = message.indexOf(0, doc + 5);
  if (nameEnd < 0) return undefined;
  const name = message.toString('utf8', doc + 5, nameEnd);
  if (type !== 0x02) return { command: name };
  const length = message.readInt32LE(nameEnd + 1);
  const command = `${name} ${message.toString('utf8', nameEnd + 5, nameEnd + 4 + length)}`;
  if (!['find', 'count', 'findAndModify', 'update', 'delete'].includes(name)) return { command };
  try {
    const body = deserialize(message.subarray(doc, doc + docLength));
    // A kind-1 section after the body carries updates/deletes as a sequence: size, identifier, documents.
    let sequence: Document | undefined;
    const next = doc + docLength;
    if (message[next] === 1) {
      const idEnd = message.indexOf(0, next + 5);
      sequence = deserialize(message.subarray(idEnd + 1, idEnd + 1 + message.readInt32LE(idEnd + 1)));
    }
    return { command, shape: filterShape(filterOf(name, body, sequence)) };
  } catch {
    return { command };
  }
}

/** Starts the proxy on a free port in front of the server of `upstreamUri` (one host). */
export async function startDbCounter(upstreamUri: string): Promise<DbCounter> {
  const upstream = new URL(upstreamUri);
  const counts = new Map<string, number>();
  const shapes = new Map<string, number>();
  const latencies = new Map<string, number[]>();
  let counting = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const db = net.connect(Number(upstream.port), upstream.hostname);
    sockets.add(client).add(db);
    let pending: Buffer = Buffer.alloc(0);
    // Requests under way on this connection, by requestID: what, and when sent (answers name it in responseTo).
    const sent = new Map<number, { command: string; at: number }>();
    let answers: Buffer = Buffer.alloc(0);
    db.on('data', (chunk: Buffer) => {
      answers = answers.length > 0 ? Buffer.concat([answers, chunk]) : chunk;
      while (answers.length >= 16 && answers.length >= answers.readInt32LE(0)) {
        const request = sent.get(answers.readInt32LE(8));
        if (request) {
          sent.delete(answers.readInt32LE(8));
          const list = latencies.get(request.command) ?? [];
          list.push(performance.now() - request.at);
          latencies.set(request.command, list);
        }
        answers = answers.subarray(answers.readInt32LE(0));
      }
    });
    client.on('data', (chunk: Buffer) => {
      db.write(chunk);
      // Framed always (a message may span chunks), counted only while counting.
      pending = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 16 && pending.length >= pending.readInt32LE(0)) {
        const size = pending.readInt32LE(0);
        const seen = counting ? commandOf(pending.subarray(0, size)) : undefined;
        if (seen) counts.set(seen.command, (counts.get(seen.command) ?? 0) + 1);
        if (seen) sent.set(pending.readInt32LE(4), { command: seen.command, at: performance.now() });
        if (seen?.shape) shapes.set(`${seen.command} ${seen.shape}`, (shapes.get(`${seen.command} ${seen.shape}`) ?? 0) + 1);
        pending = pending.subarray(size);
      }
    });
    db.pipe(client);
    const end = (): void => {
      client.destroy();
      db.destroy();
      sockets.delete(client);
      sockets.delete(db);
    };
    client.on('close', end).on('error', end);
    db.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const uri = new URL(upstreamUri);
  uri.host = `127.0.0.1:${port}`;
  return {
    uri: uri.toString(),
    start() {
      counts.clear();
      shapes.clear();
      latencies.clear();
      counting = true;
    },
    stop() {
      counting = false;
      return new Map(counts);
    },
    shapes() {
      return new Map(shapes);
    },
    latencies() {
      return new Map(latencies);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
