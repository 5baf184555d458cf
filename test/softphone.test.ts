// The softphone's server side over real HTTP, signed webhooks and the REST recorder: hold and resume, mute, what the
// page may offer (GET /api/me `can`), wrap-up codes, the caller's recent history, and outbound calls.
import { type AgentClient, type AppSuite, fakeSid, makeAvailable, resetFloor, signedInAgent, TEST_ENV, type TestApp, useAppSuite } from './helpers/app';
import { formValue, type RecordedRequest } from './helpers/rest-recorder';

const suite = useAppSuite({ env: { RING_SECONDS: '5', WRAP_UP_SECONDS: '0' } });
let db: AppSuite['db'];
let rest: AppSuite['rest'];
let app: TestApp;
let ana: AgentClient;
let ben: AgentClient;
const BASE = TEST_ENV.PUBLIC_BASE_URL;
const ACCOUNT = `/2010-04-01/Accounts/${TEST_ENV.TWILIO_ACCOUNT_SID}`;

beforeAll(async () => {
  ({ db, rest, app } = suite);
  ana = await signedInAgent(app, 'ana', { name: 'Ana' });
  ben = await signedInAgent(app, 'ben', { name: 'Ben' });
});

beforeEach(async () => {
  await resetFloor(app.running);
  rest.requests.length = 0;
});

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 8000;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
}

/** Arrange: a customer calling from `from` talks with `agent` in a started conference. */
async function talking(agent: AgentClient = ana, from = '+15551112222'): Promise<{ customer: string; conferenceSid: string; leg: string }> {
  await makeAvailable(agent);
  const customer = fakeSid();
  const conferenceSid = fakeSid('CF');
  await app.webhook('/conference/connect/client', { CallSid: customer, From: from, To: TEST_ENV.TWILIO_NUMBER }).expect(200);
  await until(`${agent.agentId} to be dialled`, () => rest.requests.find((r) => formValue(r, 'To') === `client:${agent.agentId}`));
  const leg = fakeSid();
  await app.webhook(`/conference/${customer}/connect/${agent.agentId}`, { CallSid: leg }).expect(200);
  await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: conferenceSid, StatusCallbackEvent: 'conference-start' }).expect(200);
  rest.requests.length = 0;
  return { customer, conferenceSid, leg };
}

/** The customer hangs up: the conference reports their leaving and its end. */
async function customerHangsUp(customer: string, conferenceSid: string): Promise<void> {
  await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-leave', CallSid: customer, ParticipantLabel: 'customer', ReasonParticipantLeft: 'participant_hung_up', ParticipantCallStatus: 'completed' }).expect(200);
  await until('the call in the history', async () => (await db.models.calls.findById(customer).lean().exec()) === null);
}

const holdRequests = (conferenceSid: string, label = 'customer'): RecordedRequest[] => rest.requests.filter((r) => r.path === `${ACCOUNT}/Conferences/${conferenceSid}/Participants/${label}.json`);

describe('hold and mute', () => {
  test('when ana presses Hold, then the customer is held with the line music and the page offers Resume; Resume takes them off hold; the history times it', async () => {
    const { customer, conferenceSid } = await talking();
    expect((await ana.get('/api/me')).body.can).toMatchObject({ hold: true, resume: false, mute: true, keypad: true });

    const held = await ana.post('/api/me/hold').send({});

    expect(held.status).toBe(200);
    const hold = await until('the hold', () => holdRequests(conferenceSid)[0]);
    expect(formValue(hold, 'Hold')).toBe('true');
    expect(formValue(hold, 'HoldUrl')).toBe(`${BASE}/conference/wait?call=${customer}&round=1`);
    const me = (await ana.get('/api/me')).body;
    expect(me.can).toMatchObject({ hold: false, resume: true });
    expect(me.call).toMatchObject({ customerOnHold: true, heldBy: 'ana' });
    await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-hold', CallSid: customer, ParticipantLabel: 'customer' }).expect(200);
    await new Promise((resolve) => setTimeout(resolve, 1100));

    await ana.post('/api/me/resume').send({}).expect(200);

    expect(formValue(await until('the unhold', () => holdRequests(conferenceSid)[1]), 'Hold')).toBe('false');
    expect((await ana.get('/api/me')).body.can).toMatchObject({ hold: true, resume: false });
    await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-unhold', CallSid: customer, ParticipantLabel: 'customer' }).expect(200);
    await customerHangsUp(customer, conferenceSid);
    const record = (await app.running.history.find(customer, new Date()))!;
    expect(record.holdSeconds).toBeGreaterThanOrEqual(1);
    expect(record.timeline.map((e) => e.kind)).toEqual(expect.arrayContaining(['customer-held', 'customer-unheld']));
  });

  test('when ana presses Hold with no call, or during a consult, then it is refused with a reason and nothing reaches Twilio', async () => {
    const none = await ana.post('/api/me/hold').send({});
    expect(none.status).toBe(404);
    expect(none.body.error).toMatch(/no call/);

    const { conferenceSid } = await talking();
    await ana.post('/api/me/consult').send({ to: 'ben' }).expect(202);
    rest.requests.length = 0;
    const during = await ana.post('/api/me/hold').send({});
    expect(during.status).toBe(409);
    expect(during.body.error).toMatch(/transfer is under way/);
    expect(holdRequests(conferenceSid)).toEqual([]);
  });

  test('when ana\'s page mutes her microphone, then her leg is marked muted for the floor, and unmuting clears it; a body without `muted` is refused', async () => {
    const { customer } = await talking();

    await ana.post('/api/me/mute').send({ muted: true }).expect(200);

    expect((await db.models.calls.findById(customer).lean().exec())!.participants[0]!.muted).toBe(true);
    expect((await (await signedInAgent(app, 'sue', { role: 'supervisor' })).get('/api/board')).body.calls[0].participants[0]).toMatchObject({ agentId: 'ana', muted: true });
    await ana.post('/api/me/mute').send({ muted: false }).expect(200);
    expect((await db.models.calls.findById(customer).lean().exec())!.participants[0]!.muted).toBe(false);
    expect((await ana.post('/api/me/mute').send({})).status).toBe(400);
  });
});
