// Test helpers for the local Twilio stand-in: servers, a webhook recorder, an SSE reader, a rebased REST client.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import twilio from 'twilio';
import RequestClient from 'twilio/lib/base/RequestClient';
import { createTwilioLocal, type TwilioLocal, type TwilioLocalOptions } from '../../src/twilio-local';
import { contractObserver } from '../helpers/contract/observe';

/** Test credentials (not secrets: only ever used against the stand-in). */
export const creds = {
  accountSid: 'AC' + '1'.repeat(32),
  authToken: 'test-auth-token-0123456789abcdef',
  apiKeySid: 'SK' + '2'.repeat(32),
  apiKeySecret: 'test-api-key-secret-0123456789',
};

/** A listening HTTP server on 127.0.0.1 and a random port. */
export interface Listening {
  url: string;
  close(): Promise<void>;
}

/** Starts `app` on 127.0.0.1:0. */
export function listen(app: Express): Promise<Listening> {
  return new Promise((resolve) => {
    const server = http.createServer(app);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/** Resolves when `check` returns a value, polling state every 10 ms; rejects after `ms`. */
export async function eventually<T>(check: () => T | undefined | false, what: string, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** One webhook request received by the fake app. */
export interface Received {
  path: string;
  params: Record<string, string>;
  signatureValid: boolean;
  at: number;
}

/** A fake application server that answers TwiML by path and records every request it gets. */
export class FakeApp {
  readonly received: Received[] = [];
  readonly routes = new Map<string, (params: Record<string, string>) => { status?: number; body: string; type?: string }>();
  readonly app = express();
  server!: Listening;

  constructor() {
    this.app.use(express.urlencoded({ extended: false }));
    this.app.use((req, res) => {
      const url = `${this.server.url}${req.originalUrl}`;
      const params = { ...(req.body as Record<string, string>) };
      const signatureValid = twilio.validateRequest(creds.authToken, req.get('x-twilio-signature') ?? '', url, params);
      this.received.push({ path: req.path, params, signatureValid, at: Date.now() });
      const route = this.routes.get(req.path);
      if (!route) {
        res.status(204).end();
        return;
      }
      const out = route(params);
      res.status(out.status ?? 200).type(out.type ?? 'text/xml').send(out.body);
    });
  }

  /** Answers `path` with fixed TwiML (or a function of the request params). */
  twiml(path: string, body: string | ((p: Record<string, string>) => string)): void {
    this.routes.set(path, (p) => ({ body: typeof body === 'string' ? body : body(p) }));
  }

  /** All requests to `path`. */
  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  /** Waits until a request to `path` matches. */
  waitFor(path: string, match: (p: Record<string, string>) => boolean = () => true, ms = 5000): Promise<Received> {
    return eventually(() => this.received.find((r) => r.path === path && match(r.params)), `a request to ${path}`, ms);
  }
}

/**
 * Feeds a text stream of Server-Sent Events to `onEvent`, one call per complete event (name, joined data lines).
 * Returns the function to give each chunk to.
 */
export function sseParser(onEvent: (event: string, data: string) => void): (chunk: string) => void {
  let buf = '';
  return (chunk) => {
    buf += chunk;
    let idx: number;
    while ((idx = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, idx);
      buf = buf.slice(idx + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) onEvent(event, data.join('\n'));
    }
  };
}

/** One SSE event. */
export interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Reads a Server-Sent Events stream over plain http and lets tests await events. */
export class SseReader {
  readonly events: SseEvent[] = [];
  status = 0;
  ended = false;
  private req?: http.ClientRequest;
  private waiters: Array<() => void> = [];

  /** Opens `url` and resolves once the response headers arrived. */
  static open(url: string): Promise<SseReader> {
    const reader = new SseReader();
    return new Promise((resolve, reject) => {
      reader.req = http.get(url, { headers: { Accept: 'text/event-stream' } }, (res) => {
        reader.status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        const feed = sseParser((event, data) => reader.events.push({ event, data: JSON.parse(data) as Record<string, unknown> }));
        res.on('data', (chunk: string) => {
          feed(chunk);
          reader.notify();
        });
        res.on('end', () => {
          reader.ended = true;
          reader.notify();
        });
        res.on('error', () => undefined);
        resolve(reader);
      });
      reader.req.on('error', (err) => {
        if (reader.status === 0) reject(err);
      });
    });
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits for the first event named `event` (matching `match`) — including ones already received. */
  async next(event: string, match: (d: Record<string, unknown>) => boolean = () => true, ms = 5000): Promise<Record<string, unknown>> {
    const until = Date.now() + ms;
    for (;;) {
      const found = this.events.find((e) => e.event === event && match(e.data));
      if (found) return found.data;
      if (this.ended) throw new Error(`stream ended before ${event}`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for SSE ${event}; got ${this.events.map((e) => e.event).join(',')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Names of the events received so far. */
  names(): string[] {
    return this.events.map((e) => e.event);
  }

  /** Closes the stream (like EventSource.close()). */
  close(): void {
    this.req?.destroy();
  }
}

/** A twilio RequestClient that sends https://api.twilio.com requests to the stand-in instead. */
export class LocalRequestClient extends RequestClient {
  constructor(private readonly baseUrl: string) {
    super();
  }

  override request<TData>(opts: RequestClient.RequestOptions<TData>) {
    return super.request({ ...opts, uri: opts.uri.replace(/^https:\/\/api\.twilio\.com/, this.baseUrl) });
  }
}

/** A real twilio client pointed at the stand-in (API key auth, as the app uses). */
export function restClient(baseUrl: string, auth: { user: string; pass: string } = { user: creds.apiKeySid, pass: creds.apiKeySecret }) {
  return twilio(auth.user, auth.pass, { accountSid: creds.accountSid, httpClient: new LocalRequestClient(baseUrl) });
}

/** Makes a Voice Access Token for `identity`. */
export function accessToken(identity: string, ttlSeconds = 3600, secret = creds.apiKeySecret): string {
  const token = new twilio.jwt.AccessToken(creds.accountSid, creds.apiKeySid, secret, { identity, ttl: ttlSeconds });
  token.addGrant(new twilio.jwt.AccessToken.VoiceGrant({ incomingAllow: true }));
  return token.toJwt();
}

/** A complete test rig: fake app + stand-in mounted at /twilio-local. */
export interface Rig {
  app: FakeApp;
  local: TwilioLocal;
  host: Listening;
  base: string; // host URL + '/twilio-local'
  support: string; // the configured support number
  logs: string[];
  client: ReturnType<typeof restClient>;
  device(identity: string, token?: string): Promise<SseReader>;
  phoneCall(): Promise<{ callSid: string; events: SseReader }>;
  postJson(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

/** Starts a rig; `options` override the stand-in options. */
export async function startRig(options: Partial<TwilioLocalOptions> = {}): Promise<Rig> {
  const app = new FakeApp();
  app.server = await listen(app.app);
  const support = '+15550001111';
  const logs: string[] = [];
  const local = createTwilioLocal({
    ...creds,
    numbers: { [support]: { voiceUrl: `${app.server.url}/voice` } },
    timeScale: 0.001,
    log: (m) => logs.push(m),
    observe: contractObserver(),
    ...options,
  });
  const hostApp = express();
  hostApp.use('/twilio-local', local.router);
  const host = await listen(hostApp);
  const base = `${host.url}/twilio-local`;
  const readers: SseReader[] = [];
  const postJson = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };
  return {
    app,
    local,
    host,
    base,
    support,
    logs,
    client: restClient(base),
    postJson,
    async device(identity, token) {
      const reader = await SseReader.open(`${base}/local/device/events?token=${encodeURIComponent(token ?? accessToken(identity))}`);
      readers.push(reader);
      return reader;
    },
    async phoneCall() {
      const res = await postJson('/local/phone/calls', { from: '+15557654321', to: support });
      if (res.status !== 201) throw new Error(`phone call failed: ${res.status}`);
      const callSid = String(res.body.callSid);
      const events = await SseReader.open(`${base}/local/phone/calls/${callSid}/events`);
      readers.push(events);
      return { callSid, events };
    },
    async close() {
      for (const r of readers) r.close();
      await local.stop();
      await host.close();
      await app.server.close();
    },
  };
}
