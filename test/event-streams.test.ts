// An open page's event stream lives exactly as long as its session: it ends at sign-out, at an admin's Disable or
// password reset, and when the session ends through another app instance; one session may keep only a few open.
import http from 'node:http';
import { MAX_STREAMS_PER_SESSION } from '../src/routes/events';
import { addAgent, signedInAgent, signIn, startTestApp, type AgentClient, type TestApp } from './helpers/app';
import { openTestDatabase } from './helpers/db';
import { startRestRecorder, type RestRecorder } from './helpers/rest-recorder';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let rest: RestRecorder;
let first: TestApp;
let second: TestApp;
let admin: AgentClient;

beforeAll(async () => {
  db = await openTestDatabase();
  rest = await startRestRecorder();
  // Streams re-read their session every half second here (15 s by default).
  first = await startTestApp({ db, restBaseUrl: rest.baseUrl, eventStreamCheckSeconds: 0.5 });
  second = await startTestApp({ db, restBaseUrl: rest.baseUrl, eventStreamCheckSeconds: 0.5 });
  admin = await signedInAgent(first, 'boss', { role: 'admin' });
});

afterAll(async () => {
  await first?.stop();
  await second?.stop();
  await rest?.close();
  await db?.drop();
});

interface Stream {
  status: number;
  body: string;
  /** Settles when the server ends the stream (with how long it stayed open), or after `ms` with undefined. */
  endedWithin(ms: number): Promise<number | undefined>;
  close(): void;
}

/** GET /api/events on `app` with `client`'s session, as EventSource does. */
function openStream(app: TestApp, client: AgentClient): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const opened = Date.now();
    const req = http.get(new URL('/api/events', app.running.url), { headers: { Host: new URL(app.config.publicBaseUrl).host, Cookie: client.cookie, Accept: 'text/event-stream', 'X-Forwarded-Proto': 'https' } }, (res) => {
      let endedAt: number | undefined;
      const ended = new Promise<void>((done) => res.on('end', () => ((endedAt = Date.now()), done())));
      const stream: Stream = {
        status: res.statusCode ?? 0,
        body: '',
        async endedWithin(ms) {
          await Promise.race([ended, new Promise((wait) => setTimeout(wait, ms))]);
          return endedAt === undefined ? undefined : endedAt - opened;
        },
        close: () => req.destroy(),
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (stream.body += chunk));
      res.on('error', () => undefined);
      // Resolve once the stream has started (or a refusal has been read whole).
      if (stream.status === 200) res.once('data', () => resolve(stream));
      else res.on('end', () => resolve(stream));
    });
    req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
  });
}

const errorLines = (app: TestApp) => app.logs.filter((line) => / ERROR /.test(line));

test('when the agent signs out, then their open event stream ends at once, and nothing is logged as an error', async () => {
  const ada = await signedInAgent(first, 'ada');
  const stream = await openStream(first, ada);
  expect(stream.status).toBe(200);
  const errorsBefore = errorLines(first).length;

  const signOut = await ada.postWithoutToken('/sign-out').type('form').send({ _csrf: ada.csrfToken });

  expect(signOut.status).toBe(303);
  expect(await stream.endedWithin(1000)).toBeDefined();
  expect(stream.body.trimEnd().split('\n\n').at(-1)).toBe('event: signed-out\ndata: {"reason":"ended"}');
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(errorLines(first).slice(errorsBefore)).toEqual([]);
});

test("when an admin disables the agent, then the agent's open event streams end at once", async () => {
  const grace = await signedInAgent(first, 'grace');
  const page = await openStream(first, grace);
  const otherTab = await openStream(first, grace);

  const res = await admin.postWithoutToken('/admin/agents/grace/disable').type('form').send({ _csrf: admin.csrfToken });

  expect(res.status).toBe(200);
  expect(await page.endedWithin(1000)).toBeDefined();
  expect(await otherTab.endedWithin(1000)).toBeDefined();
  // Each says why last, so the page can go to sign-in at once and say it.
  expect(page.body.trimEnd().split('\n\n').at(-1)).toBe('event: signed-out\ndata: {"reason":"disabled"}');
  expect(otherTab.body.trimEnd().split('\n\n').at(-1)).toBe('event: signed-out\ndata: {"reason":"disabled"}');
});

test('when the session ends through another app instance, then the stream on this one ends within its check interval', async () => {
  await addAgent(first, 'alan');
  const onFirst = await signIn(first, 'alan');
  const stream = await openStream(first, onFirst);
  // The same browser (the same session cookie) signs out through the other instance.
  const viaSecond = await second.http().post('/sign-out').set('X-Forwarded-Proto', 'https').set('Cookie', onFirst.cookie).type('form').send({ _csrf: onFirst.csrfToken });

  expect(viaSecond.status).toBe(303);
  expect(await stream.endedWithin(3000)).toBeDefined();
  expect(stream.body.trimEnd().split('\n\n').at(-1)).toBe('event: signed-out\ndata: {"reason":"ended"}');
});

test('when an admin resets their own password, then their other sessions and their streams end, and the session they reset it from stays', async () => {
  const here = await signIn(first, 'boss');
  const elsewhere = await signIn(first, 'boss');
  const streamHere = await openStream(first, here);
  const streamElsewhere = await openStream(first, elsewhere);

  const res = await here.postWithoutToken('/admin/agents/boss/password').type('form').set('Accept', 'text/html').send({ _csrf: here.csrfToken, password: 'a brand new password' });

  expect(res.status).toBe(200);
  expect(await streamElsewhere.endedWithin(1000)).toBeDefined();
  expect(streamElsewhere.body.trimEnd().split('\n\n').at(-1)).toBe('event: signed-out\ndata: {"reason":"ended"}');
  expect((await elsewhere.get('/agents/boss/call')).status).toBe(401);
  expect((await here.get('/agents/boss/call')).status).toBe(200);
  expect(await streamHere.endedWithin(1200)).toBeUndefined();
  streamHere.close();
});

test(`when one session opens more than ${MAX_STREAMS_PER_SESSION} event streams, then the next is refused with 429 and a message, and closing one frees a place`, async () => {
  const katherine = await signedInAgent(first, 'katherine');
  const streams: Stream[] = [];
  for (let i = 0; i < MAX_STREAMS_PER_SESSION; i += 1) streams.push(await openStream(first, katherine));
  expect(streams.every((s) => s.status === 200)).toBe(true);

  const refused = await openStream(first, katherine);
  const otherSession = await openStream(first, await signIn(first, 'katherine'));

  expect(refused.status).toBe(429);
  expect(JSON.parse(refused.body).error).toMatch(/already has 5 pages with live updates open/);
  expect(otherSession.status).toBe(200);
  streams[0]!.close();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const again = await openStream(first, katherine);
  expect(again.status).toBe(200);
  for (const s of [...streams, otherSession, again]) s.close();
});
