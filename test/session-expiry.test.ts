// Sessions end when unused for the idle time, and at the absolute time after sign-in however busy; expired ones are
// deleted from the database (FerretDB 1.x has no TTL index: the app sweeps). Short settings from Config make it quick.
import { signedInAgent, useAppSuite } from './helpers/app';

// 3 s idle, 8 s absolute.
const suite = useAppSuite({ env: { SESSION_IDLE_MINUTES: '0.05', SESSION_MAX_HOURS: String(8 / 3600) } });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sessionIdOf = (cookie: string) => /^wt\.sid=s:([^.]+)\./.exec(decodeURIComponent(cookie))![1]!;
const stored = (cookie: string) => suite.db.connection.collection('sessions').countDocuments({ _id: sessionIdOf(cookie) as never });

test('when a session is left unused past the idle time, then it is refused and swept from the database', async () => {
  const ada = await signedInAgent(suite.app, 'ada');
  expect((await ada.get('/agents/ada/call')).status).toBe(200);

  await sleep(4000);

  expect((await ada.get('/agents/ada/call')).status).toBe(401);
  for (let i = 0; i < 50 && (await stored(ada.cookie)) > 0; i += 1) await sleep(200);
  expect(await stored(ada.cookie)).toBe(0);
});

test('when a session is used within the idle time, then it lives on, until the absolute time after sign-in ends it', async () => {
  const grace = await signedInAgent(suite.app, 'grace');
  const signedInAt = Date.now();
  const answers: Array<{ after: number; status: number }> = [];

  while (Date.now() - signedInAt < 11_000) {
    answers.push({ after: Date.now() - signedInAt, status: (await grace.get('/agents/grace/call')).status });
    await sleep(1000);
  }

  // Polled every second: never idle; the early answers (well inside 8 s) are 200, the late ones (past 8 s) 401.
  expect(answers.filter((a) => a.after < 6000).every((a) => a.status === 200)).toBe(true);
  expect(answers.filter((a) => a.after < 6000).length).toBeGreaterThan(3);
  expect(answers.filter((a) => a.after > 9000).every((a) => a.status === 401)).toBe(true);
  expect(answers.filter((a) => a.after > 9000).length).toBeGreaterThan(0);
}, 30_000);

test('when a session is used many times in a row, then its stored expiry moves only in steps of a tenth of the idle time, not on every answer', async () => {
  const linus = await signedInAgent(suite.app, 'linus');
  const storedExpiry = async () => {
    const doc = await suite.db.connection.collection('sessions').findOne({ _id: sessionIdOf(linus.cookie) as never });
    return (doc!.expires as Date).getTime();
  };
  const seen: number[] = [await storedExpiry()];
  const startedAt = Date.now();
  let lastAskedAt = 0;
  for (let i = 0; i < 15; i += 1) {
    lastAskedAt = Date.now();
    expect((await linus.get('/agents/linus/call')).status).toBe(200);
    seen.push(await storedExpiry());
  }
  const elapsed = Date.now() - startedAt;

  // 3 s idle: a step of 300 ms. Every move of the stored expiry is at least a step, so there is at most one per
  // step of time (and one for what had built up since sign-in), however fast or slow the answers came.
  const moves = seen.slice(1).map((expires, i) => expires - seen[i]!).filter((move) => move !== 0);
  expect(moves).toEqual(moves.filter((move) => move >= 300));
  expect(moves.length).toBeLessThanOrEqual(1 + Math.floor(elapsed / 300));
  // And what is stored lags the last answer's idle expiry by less than a step.
  expect(seen.at(-1)!).toBeGreaterThan(lastAskedAt + 3000 - 300);
});
