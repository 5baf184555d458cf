// Live pages: a change reaches an open page's event stream by push within a second — including a change made through
// another app instance on the same database (the feed is in the shared database, not in one process's memory).
import http from 'node:http';
import { signedInAgent, startTestApp, TEST_ENV, type AgentClient, type TestApp } from './helpers/app';
import { openTestDatabase } from './helpers/db';
import { startRestRecorder, type RestRecorder } from './helpers/rest-recorder';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let rest: RestRecorder;
let first: TestApp;
let second: TestApp;
let watcher: AgentClient;
let actor: AgentClient;
let supervisor: AgentClient;

beforeAll(async () => {
  db = await openTestDatabase();
  rest = await startRestRecorder();
  first = await startTestApp({ db, restBaseUrl: rest.baseUrl });
  second = await startTestApp({ db, restBaseUrl: rest.baseUrl });
  watcher = await signedInAgent(first, 'watcher');
  actor = await signedInAgent(second, 'actor');
  supervisor = await signedInAgent(first, 'boss', { role: 'supervisor' });
});

afterAll(async () => {
  await first?.stop();
  await second?.stop();
  await rest?.close();
  await db?.drop();
});

interface PushedState {
  at: number;
  you: { id: string; presence: string };
  colleagues: Array<{ id: string; presence: string; lastOffer?: unknown }>;
}

interface EventStream {
  events: Array<{ at: number; topics: string[] }>;
  /** `state` events (a stream opened with ?state=1), as they came. */
  states: Array<{ at: number; state: PushedState }>;
  status: number;
  ended: boolean;
  close(): void;
}

/** Opens GET /api/events (with `query`) on `app` as `client` (a real streaming HTTP request, as EventSource makes). */
function openEvents(app: TestApp, client: AgentClient, query = ''): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    const url = new URL(`/api/events${query}`, app.running.url);
    const req = http.get(url, { headers: { Host: new URL(app.config.publicBaseUrl).host, Cookie: client.cookie, Accept: 'text/event-stream', 'X-Forwarded-Proto': 'https' } }, (res) => {
      const stream: EventStream = { events: [], states: [], status: res.statusCode ?? 0, ended: false, close: () => req.destroy() };
      res.on('end', () => (stream.ended = true));
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (data && /^event: state$/m.test(block)) stream.states.push({ at: Date.now(), state: JSON.parse(data) as PushedState });
          if (!data || !/^event: change$/m.test(block)) continue;
          stream.events.push({ at: Date.now(), topics: (JSON.parse(data) as { topics: string[] }).topics });
        }
      });
      res.on('error', () => undefined);
      resolve(stream);
    });
    req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
  });
}

async function eventAfter(stream: EventStream, since: number, topic: string, deadlineMs: number): Promise<{ at: number; topics: string[] } | undefined> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const found = stream.events.find((e) => e.at >= since && e.topics.includes(topic));
    if (found || Date.now() > until) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('when an agent changes their presence through the other app instance, then a page open on this one is told within a second and then reads it', async () => {
  const stream = await openEvents(first, watcher);
  try {
    expect(stream.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 300)); // the stream is open and subscribed

    const changedAt = Date.now();
    await actor.post('/api/me/heartbeat').send({ tab: 'tab-actor-live-0001', registered: true }).expect(200);
    await actor.post('/api/me/presence').send({ status: 'available' }).expect(200);

    const event = await eventAfter(stream, changedAt, 'agents', 1000);
    expect(event).toBeDefined();
    const state = await watcher.get('/api/me').expect(200);
    expect(state.body.colleagues.find((c: { id: string }) => c.id === 'actor')).toMatchObject({ presence: 'available' });
  } finally {
    stream.close();
  }
});

async function until<T>(what: string, probe: () => T | undefined, deadlineMs = 1000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`not within ${deadlineMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('when an agent page opens its stream with ?state=1, then it is pushed its own state at once and, after a change made through the other instance, the new state within a second, with no bare change events', async () => {
  await actor.post('/api/me/presence').send({ status: 'away' }).expect(200);
  await new Promise((resolve) => setTimeout(resolve, 400)); // that change has reached every instance's pages
  const stream = await openEvents(first, watcher, '?state=1');
  try {
    const opening = await until('the state on opening', () => stream.states[0]);
    expect(opening.state.you.id).toBe('watcher');
    expect(opening.state.colleagues.map((c) => c.id)).not.toContain('watcher');
    expect(opening.state.colleagues.every((c) => !('lastOffer' in c))).toBe(true); // another agent's last ring is theirs
    // What GET /api/me answers, but for the seconds counted since (read a moment later).
    const timeless = (state: Record<string, unknown>) => ({ ...state, at: 0, colleagues: (state.colleagues as Array<Record<string, unknown>>).map((c) => ({ ...c, inStateSeconds: 0 })), line: { ...(state.line as object), longestWaitSeconds: 0 } });
    const read = await watcher.get('/api/me').expect(200);
    expect(timeless(opening.state as unknown as Record<string, unknown>)).toEqual(timeless(read.body as Record<string, unknown>));

    const changedAt = Date.now();
    await actor.post('/api/me/heartbeat').send({ tab: 'tab-actor-live-0002', registered: true }).expect(200);
    await actor.post('/api/me/presence').send({ status: 'available' }).expect(200);

    const pushed = await until('a state showing actor available', () => stream.states.find((s) => s.at >= changedAt && s.state.colleagues.find((c) => c.id === 'actor')?.presence === 'available'));
    expect(pushed.state.at).toBeGreaterThanOrEqual(opening.state.at);
    expect(stream.events).toEqual([]);
  } finally {
    stream.close();
  }
});

/**
 * Signs `agentId` in on the first instance and opens their state stream; once it has its opening state, `end` takes
 * their right to it away (elsewhere) and the actor chooses `status` through the other instance (a change to push).
 * Resolves once the stream ended, with every state it was pushed and how many came before that change.
 */
async function stateStreamEndedBy(agentId: string, end: () => Promise<unknown>, status: 'away' | 'available'): Promise<{ states: PushedState[]; pushedBeforeChange: number }> {
  const stream = await openEvents(first, await signedInAgent(first, agentId), '?state=1');
  try {
    await until('the state on opening', () => stream.states[0]);
    await end();
    const pushedBeforeChange = stream.states.length;
    await actor.post('/api/me/presence').send({ status }).expect(200);
    await until('the stream ended', () => (stream.ended ? true : undefined), 2000);
    return { states: stream.states.map((s) => s.state), pushedBeforeChange };
  } finally {
    stream.close();
  }
}

test('when the agent behind a state stream is disabled, then the stream ends at the next change', async () => {
  const { states } = await stateStreamEndedBy('leaving', () => second.running.agents.change('leaving', { disabled: true }), 'away');
  expect(states.every((state) => state.you.id === 'leaving')).toBe(true);
});

test('when the session behind a state stream is ended elsewhere (another instance), then the stream ends at the next change after a second', async () => {
  const ended = await stateStreamEndedBy(
    'signs-out',
    async () => {
      await new Promise((resolve) => setTimeout(resolve, 1100)); // the stream's last look at its session is a second old
      await db.connection.collection('sessions').deleteMany({ 'session.agentId': 'signs-out' });
    },
    'available',
  );
  expect(ended.states).toHaveLength(ended.pushedBeforeChange);
});

test('when a customer calls through one instance, then the supervisor\'s board on the other is told within a second and shows them waiting', async () => {
  const stream = await openEvents(first, supervisor);
  try {
    await new Promise((resolve) => setTimeout(resolve, 300));
    await actor.post('/api/me/presence').send({ status: 'away' }).expect(200);
    const callSid = `CA${'5e'.repeat(16)}`;
    const calledAt = Date.now();

    await second.webhook('/conference/connect/client', { CallSid: callSid, From: '+15551112222', To: TEST_ENV.TWILIO_NUMBER }).expect(200);

    expect(await eventAfter(stream, calledAt, 'calls', 1000)).toBeDefined();
    const board = await supervisor.get('/api/board').expect(200);
    expect(board.body.line).toEqual([expect.objectContaining({ callSid, status: 'waiting', from: '+15551112222' })]);
  } finally {
    stream.close();
  }
});

test('when nobody is signed in, then the event stream and the board refuse with 401, and an agent may not read the board', async () => {
  const anonymous = await first.http().get('/api/events').set('Accept', 'application/json');
  expect(anonymous.status).toBe(401);
  expect((await first.http().get('/api/board').set('Accept', 'application/json')).status).toBe(401);
  expect((await watcher.get('/api/board').set('Accept', 'application/json')).status).toBe(403);
});

test('when the presence or heartbeat body is wrong, then the answer is 400 with a message, and cross-site text/plain is refused', async () => {
  const bad = await watcher.post('/api/me/presence').send({ status: 'on-holiday' });
  expect(bad.status).toBe(400);
  expect(bad.body.error).toMatch(/status/);
  const badTab = await watcher.post('/api/me/heartbeat').send({ tab: '<script>' });
  expect(badTab.status).toBe(400);
  const plain = await watcher.post('/api/me/presence').set('Content-Type', 'text/plain').send('{"status":"available"}');
  expect(plain.status).toBe(415);
  const noToken = await watcher.postWithoutToken('/api/me/presence').send({ status: 'available' });
  expect(noToken.status).toBe(403);
});
