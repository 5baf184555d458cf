// A TCP proxy in front of the database that counts the commands sent through it (MongoDB wire protocol, OP_MSG), by
// command and collection: how many database round trips the app makes, and on what, while a benchmark runs.
import net from 'node:net';
import type { AddressInfo } from 'node:net';

/** OP_MSG, the opcode of every command of a current driver (https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/). */
const OP_MSG = 2013;

export interface DbCounter {
  /** `upstreamUri` with its host replaced by the proxy's. */
  uri: string;
  /** Counting is on between start() and stop(); counts are kept by 'command collection', e.g. 'insert call_leases'. */
  start(): void;
  stop(): Map<string, number>;
  close(): Promise<void>;
}

/** The command name and its target (the first element of the body document, when it is a string) of one OP_MSG. */
function commandOf(message: Buffer): string | undefined {
  if (message.readInt32LE(12) !== OP_MSG) return undefined;
  // header (16 bytes), flagBits (4), then sections: kind 0 is the body document.
  if (message[20] !== 0) return undefined;
  const doc = 21;
  const type = message[doc + 4];
  const nameEnd = message.indexOf(0, doc + 5);
  if (nameEnd < 0) return undefined;
  const name = message.toString('utf8', doc + 5, nameEnd);
  if (type !== 0x02) return name;
  const length = message.readInt32LE(nameEnd + 1);
  return `${name} ${message.toString('utf8', nameEnd + 5, nameEnd + 4 + length)}`;
}

/** Starts the proxy on a free port in front of the server of `upstreamUri` (one host). */
export async function startDbCounter(upstreamUri: string): Promise<DbCounter> {
  const upstream = new URL(upstreamUri);
  const counts = new Map<string, number>();
  let counting = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const db = net.connect(Number(upstream.port), upstream.hostname);
    sockets.add(client).add(db);
    let pending: Buffer = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      db.write(chunk);
      // Framed always (a message may span chunks), counted only while counting.
      pending = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 16 && pending.length >= pending.readInt32LE(0)) {
        const size = pending.readInt32LE(0);
        const command = counting ? commandOf(pending.subarray(0, size)) : undefined;
        if (command) counts.set(command, (counts.get(command) ?? 0) + 1);
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
      counting = true;
    },
    stop() {
      counting = false;
      return new Map(counts);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
