// A load balancer for several app instances behind one PUBLIC_BASE_URL: each request goes to an instance chosen at
// random (so one call's callbacks land on different instances within milliseconds), and a request an instance never
// answered (refused, or reset by an instance that died) is sent to another, as a load balancer does. It records every
// request with its answer and latency.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Upstream {
  name: string;
  url: string;
}

export interface Forwarded {
  method: string;
  path: string;
  /** The form body as sent (Twilio's parameters). */
  body: string;
  status: number;
  /** The answer, when it was text (TwiML). */
  answer: string;
  contentType: string;
  /** The instance that answered. */
  upstream: string;
  /** Instances tried before it, which never answered. */
  retriedFrom: string[];
  /** When it arrived and how long the instance took to answer it (ms, high resolution). */
  at: number;
  ms: number;
}

export interface LoadBalancer {
  url: string;
  port: number;
  /** Every request answered, in the order answered. */
  log: Forwarded[];
  /** Requests sent on to `name` and not yet answered. */
  inFlight(name: string): number;
  /** Starts sending requests to `upstream` too. */
  add(upstream: Upstream): void;
  /** Stops sending requests to `name` (its health check failed). */
  remove(name: string): void;
  close(): Promise<void>;
}

const NEVER_ANSWERED = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * Starts a load balancer on a free port (instances are added once they listen). `jitterMs`: each request waits a
 * random 0..jitterMs first (callbacks Twilio sends together reach the instances in any order).
 */
export async function startLoadBalancer(options: { jitterMs?: number; port?: number } = {}): Promise<LoadBalancer> {
  const pool: Upstream[] = [];
  const agents = new Map<string, http.Agent>();
  const flying = new Map<string, number>();
  const log: Forwarded[] = [];

  function forward(upstream: Upstream, req: http.IncomingMessage, body: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; answer: Buffer }> {
    const target = new URL(req.url ?? '/', upstream.url);
    return new Promise((resolve, reject) => {
      const out = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host, 'content-length': String(body.length) }, agent: agents.get(upstream.name) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, answer: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      out.on('error', reject);
      out.end(body);
    });
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const at = Date.now();
        if (options.jitterMs) await new Promise((resolve) => setTimeout(resolve, Math.random() * options.jitterMs!));
        const tried: string[] = [];
        for (;;) {
          const candidates = pool.filter((u) => !tried.includes(u.name));
          const upstream = candidates[Math.floor(Math.random() * candidates.length)];
          if (!upstream) {
            res.writeHead(502, { 'Content-Type': 'text/plain' }).end('no instance answered');
            return;
          }
          flying.set(upstream.name, (flying.get(upstream.name) ?? 0) + 1);
          const t0 = process.hrtime.bigint();
          try {
            const answer = await forward(upstream, req, body);
            const ms = Number(process.hrtime.bigint() - t0) / 1e6;
            const contentType = String(answer.headers['content-type'] ?? '');
            log.push({ method: req.method ?? '', path: req.url ?? '/', body: body.toString(), status: answer.status, answer: /xml|text|json/.test(contentType) ? answer.answer.toString() : '', contentType, upstream: upstream.name, retriedFrom: tried, at, ms });
            const headers = { ...answer.headers };
            delete headers['transfer-encoding'];
            delete headers.connection;
            delete headers['keep-alive'];
            res.writeHead(answer.status, headers).end(answer.answer);
            return;
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code ?? '';
            if (!NEVER_ANSWERED.has(code) && (err as Error).message !== 'socket hang up') {
              res.writeHead(502, { 'Content-Type': 'text/plain' }).end(String(err));
              return;
            }
            tried.push(upstream.name);
          } finally {
            flying.set(upstream.name, (flying.get(upstream.name) ?? 1) - 1);
          }
        }
      })();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    log,
    inFlight: (name) => flying.get(name) ?? 0,
    add(upstream) {
      agents.set(upstream.name, new http.Agent({ keepAlive: true, maxSockets: 256 }));
      pool.push(upstream);
    },
    remove(name) {
      const i = pool.findIndex((u) => u.name === name);
      if (i >= 0) pool.splice(i, 1);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const agent of agents.values()) agent.destroy();
    },
  };
}
