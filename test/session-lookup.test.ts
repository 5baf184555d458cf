// Reading sessions (src/auth/sessions.ts): a few at once are looked up one by one by _id, a burst in one read; both
// ways answer the live sessions asked for and never an expired or unknown one. On the real database.
import type { SessionData } from 'express-session';
import { createSessionStore } from '../src/auth/sessions';
import { openTestDatabase } from './helpers/db';

let db: Awaited<ReturnType<typeof openTestDatabase>>;

beforeAll(async () => {
  db = await openTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

/** Stores 40 sessions: even ones live for an hour, odd ones expired a minute ago. */
async function storeSessions(): Promise<ReturnType<typeof createSessionStore>> {
  const sessions = createSessionStore(db.connection, 'sessions_lookup');
  const now = Date.now();
  await db.connection.collection('sessions_lookup').insertMany(
    Array.from({ length: 40 }, (_, i) => ({
      _id: `sid${i}` as never,
      expires: new Date(i % 2 === 0 ? now + 3_600_000 : now - 60_000),
      session: { cookie: { originalMaxAge: 3_600_000 }, agentId: `agent${i}` },
    })),
  );
  return sessions;
}

const get = (sessions: ReturnType<typeof createSessionStore>, sid: string): Promise<SessionData | null> =>
  new Promise((resolve, reject) => sessions.store.get(sid, (err, session) => (err ? reject(err) : resolve(session ?? null))));

test('when a few sessions or a burst of them are asked for at once, then each live one is answered and no expired or unknown one', async () => {
  const sessions = await storeSessions();
  for (const size of [1, 3, 16, 40]) {
    const asked = [...Array.from({ length: size }, (_, i) => `sid${i}`), 'nobody'];
    const answers = await Promise.all(asked.map((sid) => get(sessions, sid)));
    const agents = answers.map((session) => (session as (SessionData & { agentId?: string }) | null)?.agentId ?? null);
    expect(agents).toEqual(asked.map((sid) => (sid !== 'nobody' && Number(sid.slice(3)) % 2 === 0 ? `agent${sid.slice(3)}` : null)));
  }
});
