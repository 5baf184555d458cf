// Two app processes on one embedded database race to offer calls: no agent is ever offered two calls at once, no call
// rings two agents, no caller is lost — the reservations are unique inserts, the one write FerretDB 1.x makes exclusive.
// And one call's callbacks landing on both at once lose nothing: each change to a call is made under its lease.
import request from 'supertest';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks';
import { agentModel } from '../src/models/agent';
import { createPresenceStore, presenceModel } from '../src/models/presence';
import { createAgentAccounts } from '../src/services/agents';
import { fakeSid, TEST_ENV } from './helpers/app';
import { startAppOnDatabase, type SharedDbAppProcess as AppProcess } from './helpers/app-process';
import { openTestDatabase } from './helpers/db';
import { formValue, startRestRecorder, type RecordedRequest, type RestRecorder } from './helpers/rest-recorder';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let rest: RestRecorder;
const apps: AppProcess[] = [];
const CALLS_PATH = `/2010-04-01/Accounts/${TEST_ENV.TWILIO_ACCOUNT_SID}/Calls.json`;

beforeAll(async () => {
  db = await openTestDatabase();
  rest = await startRestRecorder();
  const env = {
    ...TEST_ENV,
    MONGODB_URI: `${process.env.TEST_MONGODB_URI!.replace(/\/?$/, '/')}${db.connection.name}`,
    TWILIO_API_BASE_URL: rest.baseUrl,
    LOG_LEVEL: 'warn',
    RING_SECONDS: '20',
    WRAP_UP_SECONDS: '0',
  };
  apps.push(...(await Promise.all([startAppOnDatabase(env), startAppOnDatabase(env)])));
}, 60000);

afterAll(async () => {
  await Promise.all(apps.map((app) => app.stop()));
  await rest?.close();
  await db?.drop();
});

function signedPost(app: AppProcess, path: string, params: Record<string, string>) {
  const signature = getExpectedTwilioSignature(TEST_ENV.TWILIO_AUTH_TOKEN, `${TEST_ENV.PUBLIC_BASE_URL}${path}`, params);
  return request(app.url).post(path).type('form').set('X-Twilio-Signature', signature).send(params);
}

const dials = (): RecordedRequest[] => rest.requests.filter((r) => r.path === CALLS_PATH);
const offerOf = (r: RecordedRequest) => ({ agentId: formValue(r, 'To')!.replace('client:', ''), callSid: formValue(r, 'Url')!.split('/')[4]! });

async function settle(count: number): Promise<void> {
  await rest.waitForRequests(rest.requests.length >= count ? 0 : count, 15000).catch(() => undefined);
  // Both instances keep dispatching (events and their periodic pass): give a racing second offer time to show.
  await new Promise((resolve) => setTimeout(resolve, 1500));
}

test('when two instances race to route twelve callers to two agents through several declines, then offers never overlap and no caller is lost', async () => {
  const accounts = createAgentAccounts(agentModel(db.connection));
  for (const id of ['agent1', 'agent2']) await accounts.addIfAbsent({ id, login: id, name: id });
  const presence = createPresenceStore(presenceModel(db.connection), (op) => op());
  for (const agentId of ['agent1', 'agent2']) {
    await presence.heartbeat(agentId, `tab-${agentId}-multi`, { takeOver: true, staleMs: 30000, registered: true });
    await presence.choose(agentId, 'available');
  }
  // Keep the softphones alive for the whole test.
  const beat = setInterval(() => {
    for (const agentId of ['agent1', 'agent2']) void presence.heartbeat(agentId, `tab-${agentId}-multi`, { takeOver: true, staleMs: 30000, registered: true });
  }, 2000);
  try {
    const callers = Array.from({ length: 12 }, () => fakeSid());
    const answers = await Promise.all(callers.map((callSid, i) => signedPost(apps[i % 2]!, '/conference/connect/client', { CallSid: callSid, From: '+15551112222', To: TEST_ENV.TWILIO_NUMBER })));
    expect(answers.map((a) => a.status)).toEqual(callers.map(() => 200));

    const seen: Array<{ agentId: string; callSid: string }> = [];
    for (let round = 1; round <= 5; round += 1) {
      await settle(2 * round);
      const offers = dials().map(offerOf);
      // Exactly one open offer per agent at a time: every earlier offer was declined before the next one went out.
      expect(offers).toHaveLength(2 * round);
      const open = offers.slice(seen.length);
      expect(open.map((o) => o.agentId).sort()).toEqual(['agent1', 'agent2']);
      expect(new Set(open.map((o) => o.callSid)).size).toBe(2);
      for (const o of open) expect(seen.some((s) => s.agentId === o.agentId && s.callSid === o.callSid)).toBe(false);
      seen.push(...open);
      if (round === 5) break;
      // Each agent declines; the callbacks land on the instance that did NOT make the offer.
      await Promise.all(
        open.map((o, i) =>
          signedPost(apps[(i + round) % 2]!, `/conference/${o.callSid}/agents/${o.agentId}/status`, { CallSid: fakeSid(), CallStatus: 'busy', To: `client:${o.agentId}` }).expect(200),
        ),
      );
    }

    const live = await db.models.calls.find({}).lean().exec();
    expect(live.map((c) => c._id).sort()).toEqual([...callers].sort());
    expect(live.filter((c) => c.status === 'offered')).toHaveLength(2);
    const reservations = await db.connection.collection('reservations').find({}).toArray();
    expect(reservations.map((r) => String(r._id)).sort()).toEqual(
      expect.arrayContaining([expect.stringMatching(/^agent:agent1$/), expect.stringMatching(/^agent:agent2$/)]),
    );
    expect(reservations).toHaveLength(4);
    for (const app of apps) expect(app.output.filter((line) => / ERROR /.test(line))).toEqual([]);
  } finally {
    clearInterval(beat);
  }
}, 90000);

test('when one call\'s connect, status and conference-start callbacks land on both instances at once, then nothing they said is lost (twenty calls)', async () => {
  const accounts = createAgentAccounts(agentModel(db.connection));
  const now = new Date();
  const calls = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const agentId = `racer${String(i).padStart(2, '0')}`;
      await accounts.addIfAbsent({ id: agentId, login: agentId, name: agentId });
      const callSid = fakeSid();
      // Arrange: a call offered to the agent, whose phone rings.
      await db.models.calls.create({ _id: callSid, conferenceName: callSid, status: 'offered', offeredTo: agentId, participants: [{ agentId, role: 'offer', status: 'ringing', createdAt: now, updatedAt: now }], passedBy: [], transfers: [], rev: 0 });
      return { callSid, agentId, leg: fakeSid(), conferenceSid: fakeSid('CF') };
    }),
  );

  // Act: the agent answers; Twilio's callbacks for it reach both instances within the same milliseconds.
  const answers = await Promise.all(
    calls.flatMap(({ callSid, agentId, leg, conferenceSid }, i) => [
      signedPost(apps[i % 2]!, `/conference/${callSid}/connect/${agentId}`, { CallSid: leg }),
      signedPost(apps[(i + 1) % 2]!, `/conference/${callSid}/agents/${agentId}/status`, { CallSid: leg, CallStatus: 'in-progress' }),
      signedPost(apps[i % 2]!, '/conference/events', { FriendlyName: callSid, ConferenceSid: conferenceSid, StatusCallbackEvent: 'conference-start' }),
      signedPost(apps[(i + 1) % 2]!, '/conference/events', { FriendlyName: callSid, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-join', CallSid: leg, ParticipantLabel: `agent:${agentId}` }),
    ]),
  );

  // Assert
  expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
  for (const { callSid, agentId, leg, conferenceSid } of calls) {
    const stored = (await db.models.calls.findById(callSid).lean().exec())!;
    expect({ callSid, status: stored.status, answered: stored.answeredAt !== undefined, conferenceSid: stored.conferenceSid, leg: stored.participants[0] && { status: stored.participants[0].status, legCallSid: stored.participants[0].legCallSid } }).toEqual({
      callSid,
      status: 'in-progress',
      answered: true,
      conferenceSid,
      leg: { status: 'in-progress', legCallSid: leg },
    });
    expect(stored.agentId).toBe(agentId);
  }
}, 60000);
