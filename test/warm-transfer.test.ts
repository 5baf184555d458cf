// The warm-transfer flow over real HTTP, a real database, real signatures and a recording REST stand-in.
import { type AgentClient, type AppSuite, fakeSid, makeAvailable, resetFloor, signedInAgent, softphoneUp, TEST_ENV, type TestApp, useAppSuite } from './helpers/app';
import { formValue } from './helpers/rest-recorder';
import { find, parseTwiml } from './helpers/twiml';

const suite = useAppSuite();
let db: AppSuite['db'];
let rest: AppSuite['rest'];
let app: TestApp;
/** Signed-in pages of the two agents in this file's database (agent1 comes first in sign-in-name order, so takes calls first). */
let agent1Page: AgentClient;
let agent2Page: AgentClient;
const BASE = TEST_ENV.PUBLIC_BASE_URL;
const CALLS_PATH = `/2010-04-01/Accounts/${TEST_ENV.TWILIO_ACCOUNT_SID}/Calls.json`;

beforeAll(async () => {
  ({ db, rest, app } = suite);
  agent1Page = await signedInAgent(app, 'agent1', { name: 'Agent 1' });
  agent2Page = await signedInAgent(app, 'agent2', { name: 'Agent 2' });
});

beforeEach(async () => {
  await resetFloor(app.running);
  rest.requests.length = 0;
  rest.behave({});
  // agent1 takes calls; agent2 is away, so routing never offers them one — they are brought in by agent1.
  await makeAvailable(agent1Page);
  // agent2's page is open (a colleague who can be rung), though they chose Away.
  await softphoneUp(agent2Page);
});

function incomingCall(callSid: string, extra: Record<string, string> = {}) {
  return app.webhook('/conference/connect/client', {
    CallSid: callSid,
    AccountSid: TEST_ENV.TWILIO_ACCOUNT_SID,
    From: '+15551112222',
    To: TEST_ENV.TWILIO_NUMBER,
    CallStatus: 'ringing',
    Direction: 'inbound',
    ApiVersion: '2010-04-01',
    ...extra,
  });
}

async function legOf(conference: string, agentId: string) {
  const call = await db.models.calls.findById(conference).lean().exec();
  return call?.participants.filter((leg) => leg.agentId === agentId).pop();
}

/** Twilio's "ringing" status callback for an agent's call: the first time the app learns that leg's CallSid. */
async function ringing(conference: string, agentId: string): Promise<string> {
  const legCallSid = fakeSid();
  const res = await app.webhook(`/conference/${conference}/agents/${agentId}/status`, { CallSid: legCallSid, CallStatus: 'ringing', To: `client:${agentId}` });
  expect(res.status).toBe(200);
  return legCallSid;
}

/** Arrange: a customer talks with agent1, who has dialled agent2 in; agent2's phone rings. */
async function agent2Ringing(): Promise<{ customer: string; agent1CallSid: string; agent2CallSid: string }> {
  const customer = fakeSid();
  await incomingCall(customer);
  await app.running.background.drain();
  const agent1CallSid = await ringing(customer, 'agent1');
  await app.webhook(`/conference/${customer}/connect/agent1`, { CallSid: agent1CallSid }).expect(200);
  await agent1Page.post('/conference/agent1/call').send({ to: 'agent2' }).expect(202);
  return { customer, agent1CallSid, agent2CallSid: await ringing(customer, 'agent2') };
}

describe('a customer calls the support number', () => {
  test('when the call arrives, then the caller waits in a conference named after their CallSid and agent1 is dialled into it', async () => {
    const callSid = fakeSid();

    const res = await incomingCall(callSid);

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/xml/);
    const twiml = parseTwiml(res.text);
    const dial = find(twiml, 'Dial')!;
    const conference = find(dial, 'Conference')!;
    expect(conference.text).toBe(callSid);
    expect(conference.attrs).toMatchObject({
      startConferenceOnEnter: 'false',
      endConferenceOnExit: 'true',
      waitUrl: `${BASE}/conference/wait?call=${callSid}&round=0`,
      statusCallback: `${BASE}/conference/events`,
    });

    const [dialAgent1] = await rest.waitForRequests(1);
    expect(dialAgent1!.method).toBe('POST');
    expect(dialAgent1!.path).toBe(CALLS_PATH);
    expect(formValue(dialAgent1!, 'To')).toBe('client:agent1');
    expect(formValue(dialAgent1!, 'From')).toBe(TEST_ENV.TWILIO_NUMBER);
    expect(formValue(dialAgent1!, 'Url')).toBe(`${BASE}/conference/${callSid}/connect/agent1`);
    expect(formValue(dialAgent1!, 'StatusCallback')).toBe(`${BASE}/conference/${callSid}/agents/agent1/status`);
    const basic = Buffer.from(dialAgent1!.authorization!.replace(/^Basic /, ''), 'base64').toString();
    expect(basic).toBe(`${TEST_ENV.TWILIO_API_KEY}:${TEST_ENV.TWILIO_API_SECRET}`);

    await app.running.background.drain();
    const stored = await db.models.calls.findById(callSid).lean().exec();
    expect(stored).toMatchObject({ _id: callSid, conferenceName: callSid, status: 'offered', offeredTo: 'agent1', from: '+15551112222' });
    expect(stored!.createdAt).toBeInstanceOf(Date);
    expect(stored!.participants).toHaveLength(1);
    expect(stored!.participants[0]).toMatchObject({ agentId: 'agent1', role: 'offer', status: 'dialing' });

    // Twilio's progress callbacks then tell the app the leg's CallSid and that it rings.
    const legCallSid = await ringing(callSid, 'agent1');
    expect(await legOf(callSid, 'agent1')).toMatchObject({ status: 'ringing', legCallSid });
  });

  test('when Twilio repeats the webhook for the same CallSid, then the caller gets the same conference and nobody is dialled twice', async () => {
    const callSid = fakeSid();

    const first = await incomingCall(callSid);
    const second = await incomingCall(callSid);
    await app.running.background.drain();

    expect(find(parseTwiml(first.text), 'Conference')!.text).toBe(callSid);
    expect(find(parseTwiml(second.text), 'Conference')!.text).toBe(callSid);
    expect(rest.requests).toHaveLength(1);
    expect(await db.models.calls.countDocuments({ _id: callSid })).toBe(1);
    expect((await db.models.calls.findById(callSid).lean().exec())!.participants).toHaveLength(1);
  });

  test('when two customers call at once, then each waits in their own conference, agent1 is offered one and the other waits in line', async () => {
    const [a, b] = [fakeSid(), fakeSid()];

    const [resA, resB] = await Promise.all([incomingCall(a), incomingCall(b)]);
    await rest.waitForRequests(1);
    await app.running.background.drain();

    expect(find(parseTwiml(resA.text), 'Conference')!.text).toBe(a);
    expect(find(parseTwiml(resB.text), 'Conference')!.text).toBe(b);
    expect(rest.requests).toHaveLength(1);
    const offered = formValue(rest.requests[0]!, 'Url')!.split('/')[4];
    expect([a, b]).toContain(offered);
    const stored = await db.models.calls.find({ _id: { $in: [a, b] } }).lean().exec();
    expect(stored.map((c) => c.status).sort()).toEqual(['offered', 'waiting']);
    expect(await db.models.calls.countDocuments({ _id: { $in: [a, b] } })).toBe(2);
  });

  test('when the REST API has not answered yet, then the caller already has their TwiML', async () => {
    rest.behave({ hold: true });
    const callSid = fakeSid();

    const res = await incomingCall(callSid);
    // The TwiML is in hand; the dial request is still unanswered at the stand-in.
    const [heldDial] = await rest.waitForRequests(1);
    const legWhileHeld = await legOf(callSid, 'agent1');
    rest.release();
    await app.running.background.drain();

    expect(res.status).toBe(200);
    expect(find(parseTwiml(res.text), 'Conference')!.text).toBe(callSid);
    expect(formValue(heldDial!, 'To')).toBe('client:agent1');
    expect(legWhileHeld!.status).toBe('dialing');
    expect((await legOf(callSid, 'agent1'))!.status).toBe('dialing'); // a successful dial writes nothing: callbacks will
  });

  test('when Twilio refuses to dial agent1, then the caller still waits, and the failure is logged and stored on the call', async () => {
    rest.behave({ error: { status: 400, code: 21211, message: "The 'To' number client:agent1 is not valid." } });
    const callSid = fakeSid();

    const res = await incomingCall(callSid);
    await app.running.background.drain();

    expect(find(parseTwiml(res.text), 'Conference')!.text).toBe(callSid);
    const stored = await db.models.calls.findById(callSid).lean().exec();
    expect(stored!.dialError).toMatch(/21211/);
    expect((await legOf(callSid, 'agent1'))!.status).toBe('dial-failed');
    expect(app.logs.some((line) => line.includes('could not dial agent') && line.includes(callSid))).toBe(true);
    expect((await app.http().get('/healthz')).status).toBe(200);
  });

  test('when the REST API drops the connection, then the dial is recorded as failed and the app keeps serving', async () => {
    rest.behave({ hangUp: true });
    const callSid = fakeSid();

    const res = await incomingCall(callSid);
    await app.running.background.drain();

    expect(res.status).toBe(200);
    expect((await legOf(callSid, 'agent1'))!.status).toBe('dial-failed');
    expect((await db.models.calls.findById(callSid).lean().exec())!.dialError).toBeTruthy();
  });

  test('when the webhook has no CallSid, then Twilio gets a spoken apology and nothing is stored or dialled', async () => {
    const before = await db.models.calls.countDocuments();

    const res = await app.webhook('/conference/connect/client', { From: '+15551112222', To: TEST_ENV.TWILIO_NUMBER });

    expect(res.status).toBe(200);
    const twiml = parseTwiml(res.text);
    expect(twiml.children.map((c) => c.name)).toEqual(['Say', 'Hangup']);
    expect(find(twiml, 'Say')!.text).toMatch(/sorry/i);
    expect(await db.models.calls.countDocuments()).toBe(before);
    expect(rest.requests).toHaveLength(0);
  });
});

describe('signatures', () => {
  test('when X-Twilio-Signature is missing, then the webhook answers 400 and stores and dials nothing', async () => {
    const callSid = fakeSid();

    const res = await app.http().post('/conference/connect/client').type('form').send({ CallSid: callSid, From: '+15551112222' });

    expect(res.status).toBe(400);
    expect(res.text).toMatch(/signature/i);
    expect(await db.models.calls.countDocuments({ _id: callSid })).toBe(0);
    expect(rest.requests).toHaveLength(0);
  });

  test('when the signature is forged, then the webhook answers 403 and stores and dials nothing', async () => {
    const callSid = fakeSid();

    const res = await app.http().post('/conference/connect/client').type('form').set('X-Twilio-Signature', 'Zm9yZ2VkIHNpZ25hdHVyZQ==').send({ CallSid: callSid });

    expect(res.status).toBe(403);
    expect(await db.models.calls.countDocuments({ _id: callSid })).toBe(0);
    expect(rest.requests).toHaveLength(0);
  });

  test('when a genuine signature is replayed with changed parameters, then it is refused with 403', async () => {
    const callSid = fakeSid();
    const signed = await incomingCall(callSid);
    expect(signed.status).toBe(200);
    await app.running.background.drain();
    rest.requests.length = 0;
    const { twilioSignature } = await import('./helpers/app');
    const signature = twilioSignature(TEST_ENV.TWILIO_AUTH_TOKEN, `${BASE}/conference/connect/client`, { CallSid: callSid });

    const res = await app.http().post('/conference/connect/client').type('form').set('X-Twilio-Signature', signature).send({ CallSid: fakeSid() });

    expect(res.status).toBe(403);
    expect(rest.requests).toHaveLength(0);
  });

  test.each([
    ['/conference/wait', {}],
    ['/conference/events', { FriendlyName: 'x', StatusCallbackEvent: 'conference-end' }],
    [`/conference/${'CA'.padEnd(34, '0')}/connect/agent1`, {}],
    [`/conference/${'CA'.padEnd(34, '0')}/agents/agent1/status`, { CallSid: 'CA'.padEnd(34, '1'), CallStatus: 'completed' }],
  ])('when %s is called without a signature, then it answers 400', async (path, params) => {
    const res = await app.http().post(path).type('form').send(params);
    expect(res.status).toBe(400);
  });
});

describe('the hold line', () => {
  test('when the caller waits, then they hear a greeting, their place and hold music, then the same again from the next round', async () => {
    const callSid = fakeSid();
    await app.webhook('/conference/connect/client', { CallSid: callSid, From: '+15551112222', To: TEST_ENV.TWILIO_NUMBER, CallStatus: 'ringing', Direction: 'inbound' }).expect(200);

    const res = await app.webhook(`/conference/wait?call=${callSid}&round=0`, { CallSid: callSid });

    expect(res.status).toBe(200);
    const twiml = parseTwiml(res.text);
    expect(twiml.children.map((c) => c.name)).toEqual(['Say', 'Say', 'Play', 'Redirect']);
    expect(find(twiml, 'Say')!.text).toMatch(/thank you for calling/i);
    expect(find(twiml, 'Play')!.attrs.loop).toBe('1');
    expect(find(twiml, 'Play')!.text).toBe(TEST_ENV.HOLD_MUSIC_URL);
  });
});

describe('the warm transfer, end to end', () => {
  test('when agent1 answers, dials agent2 in and agent2 answers, then agent1 may leave and agent2 owns the call', async () => {
    // Arrange: the customer calls.
    const customer = fakeSid();
    await incomingCall(customer);
    await app.running.background.drain();
    const agent1CallSid = await ringing(customer, 'agent1');

    // Agent 1 answers: Twilio fetches the Url given in the REST request, from agent1's leg.
    const agent1 = await app.webhook(`/conference/${customer}/connect/agent1`, { CallSid: agent1CallSid, To: 'client:agent1', CallStatus: 'in-progress' });
    const agent1Conference = find(parseTwiml(agent1.text), 'Conference')!;
    expect(agent1Conference.text).toBe(customer);
    expect(agent1Conference.attrs).toMatchObject({ startConferenceOnEnter: 'true', endConferenceOnExit: 'false' });
    await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: fakeSid('CF'), StatusCallbackEvent: 'conference-start' });
    expect(await db.models.calls.findById(customer).lean().exec()).toMatchObject({ status: 'in-progress' });

    // Agent 1 dials agent 2 in from the page.
    rest.requests.length = 0;
    const transfer = await agent1Page.post('/conference/agent1/call').send({ to: 'agent2' });
    expect(transfer.status).toBe(202);
    expect(transfer.body).toMatchObject({ status: 'dialing', conference: customer, agentId: 'agent2' });
    const [dialAgent2] = await rest.waitForRequests(1);
    expect(formValue(dialAgent2!, 'To')).toBe('client:agent2');
    expect(formValue(dialAgent2!, 'From')).toBe(TEST_ENV.TWILIO_NUMBER);
    expect(formValue(dialAgent2!, 'Url')).toBe(`${BASE}/conference/${customer}/connect/agent2`);

    // Agent 2 answers and is the one whose leaving ends the call.
    expect(await legOf(customer, 'agent2')).toMatchObject({ role: 'colleague', requestedBy: 'agent1', status: 'dialing' });
    const agent2CallSid = await ringing(customer, 'agent2');
    const agent2 = await app.webhook(`/conference/${customer}/connect/agent2`, { CallSid: agent2CallSid, To: 'client:agent2' });
    // No agent's leaving ends the conference: the server decides the customer's fate when the last agent leaves.
    expect(find(parseTwiml(agent2.text), 'Conference')!.attrs).toMatchObject({ startConferenceOnEnter: 'true', endConferenceOnExit: 'false' });
    expect(await db.models.calls.findById(customer).lean().exec()).toMatchObject({ agentId: 'agent2', status: 'in-progress' });

    // Agent 1 hangs up: the customer stays with agent 2.
    rest.requests.length = 0;
    await app.webhook('/conference/events', { FriendlyName: customer, StatusCallbackEvent: 'participant-leave', CallSid: agent1CallSid });
    await app.running.background.drain();
    expect((await legOf(customer, 'agent1'))!.status).toBe('completed');
    expect((await legOf(customer, 'agent2'))!.status).toBe('in-progress');
    expect(rest.requests).toHaveLength(0); // nobody redirects the customer away from agent 2
    const agent2View = await agent2Page.get('/agents/agent2/call');
    expect(agent2View.body.call).toMatchObject({ callSid: customer, status: 'in-progress' });
    expect((await agent1Page.get('/agents/agent1/call')).body.call).toBeNull();

    // The customer hangs up: the conference ends, and the call moves from the live store to the history.
    await app.webhook('/conference/events', { FriendlyName: customer, StatusCallbackEvent: 'conference-end' });
    expect(await db.models.calls.findById(customer).lean().exec()).toBeNull();
    const history = await app.running.history.find(customer, new Date());
    expect(history).toMatchObject({ outcome: 'answered', agentIds: ['agent1', 'agent2'], transfers: [expect.objectContaining({ from: 'agent1', to: 'agent2', outcome: 'joined' })] });
    expect(history!.endedAt).toBeInstanceOf(Date);
  });

  test('when agent2 does not answer, then the leg says no-answer, agent1 keeps the customer, and the page can tell', async () => {
    const { customer, agent2CallSid } = await agent2Ringing();

    const res = await app.webhook(`/conference/${customer}/agents/agent2/status`, { CallSid: agent2CallSid, CallStatus: 'no-answer' });

    expect(res.status).toBe(200);
    expect((await legOf(customer, 'agent2'))!.status).toBe('no-answer');
    const view = (await agent1Page.get('/agents/agent1/call')).body.call;
    expect(view.callSid).toBe(customer);
    expect(view.participants).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ agentId: 'agent1', status: 'in-progress' }),
        expect.objectContaining({ agentId: 'agent2', status: 'no-answer', requestedBy: 'agent1' }),
      ]),
    );
    expect(view.dialError).toMatch(/agent2 did not answer/);

    // A late "ringing" callback does not bring the leg back to life.
    await app.webhook(`/conference/${customer}/agents/agent2/status`, { CallSid: agent2CallSid, CallStatus: 'ringing' });
    expect((await legOf(customer, 'agent2'))!.status).toBe('no-answer');
    // Agent 1 may try again.
    await agent1Page.post('/conference/agent1/call').send({ to: 'agent2' }).expect(202);
  });

  test('when the customer hangs up while agent2 is ringing, then agent2 ringing call is cancelled and the call ends', async () => {
    const { customer, agent1CallSid, agent2CallSid } = await agent2Ringing();
    // agent1 is in the call's conference (the conference's end takes them down with it).
    await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: `CF${'3'.repeat(32)}`, StatusCallbackEvent: 'participant-join', CallSid: agent1CallSid, ParticipantLabel: 'agent:agent1' }).expect(200);
    rest.requests.length = 0;

    await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: `CF${'3'.repeat(32)}`, StatusCallbackEvent: 'conference-end' });
    await app.running.background.drain();

    const [cancel] = await rest.waitForRequests(1);
    expect(cancel!.path).toBe(`/2010-04-01/Accounts/${TEST_ENV.TWILIO_ACCOUNT_SID}/Calls/${agent2CallSid}.json`);
    expect(formValue(cancel!, 'Status')).toBe('completed');
    // The finished call leaves the live store for the history.
    expect(await db.models.calls.findById(customer).lean().exec()).toBeNull();
    const history = await app.running.history.find(customer, new Date());
    expect(history).toMatchObject({ outcome: 'answered', agentIds: ['agent1'], endReason: 'conference-ended' });
    expect(history!.timeline.map((e: { kind: string; agentId?: string }) => [e.kind, e.agentId])).toEqual(expect.arrayContaining([['brought-in', 'agent2'], ['canceled', 'agent2']]));
  });
});

describe('an answer that lands after the customer left', () => {
  const legPath = (callSid: string) => `/2010-04-01/Accounts/${TEST_ENV.TWILIO_ACCOUNT_SID}/Calls/${callSid}.json`;
  const join = (conference: string, legCallSid: string, agentId: string) =>
    app.webhook('/conference/events', { FriendlyName: conference, ConferenceSid: `CF${'9'.repeat(32)}`, StatusCallbackEvent: 'participant-join', CallSid: legCallSid, ParticipantLabel: `agent:${agentId}` }).expect(200);

  test("when an agent's leg joins the conference after the call ended, then the app hangs that leg up (it would wait alone in a new, empty conference of that name)", async () => {
    // Arrange: agent2 is being rung in; the customer hangs up and the call ends.
    const { customer, agent2CallSid } = await agent2Ringing();
    await app.webhook('/conference/events', { FriendlyName: customer, StatusCallbackEvent: 'participant-leave', CallSid: customer, ParticipantLabel: 'customer' }).expect(200);
    await app.running.background.drain();
    expect(await db.models.calls.findById(customer).lean().exec()).toBeNull();
    rest.requests.length = 0;

    // Act: agent2's answer lands now, and their leg joins a conference by the call's name.
    await join(customer, agent2CallSid, 'agent2');
    await app.running.background.drain();

    // Assert
    expect(rest.requests.map((r) => [r.path, formValue(r, 'Status')])).toEqual([[legPath(agent2CallSid), 'completed']]);
  });

  test("when an agent's leg joins another conference of the call's name before the call's end is recorded, then that leg is hung up", async () => {
    // Arrange: the call's conference is known; agent2 is being rung in.
    const { customer, agent2CallSid } = await agent2Ringing();
    await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: `CF${'1'.repeat(32)}`, StatusCallbackEvent: 'conference-start' }).expect(200);
    rest.requests.length = 0;

    // Act: agent2's leg joins a new conference by that name (the customer's leave has not reached the app yet).
    await join(customer, agent2CallSid, 'agent2');
    await app.running.background.drain();

    // Assert
    expect(rest.requests.map((r) => [r.path, formValue(r, 'Status')])).toEqual([[legPath(agent2CallSid), 'completed']]);
  });

  test("when an agent's leg joins a live call's own conference, then nobody is hung up", async () => {
    const { customer, agent1CallSid } = await agent2Ringing();
    await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: `CF${'9'.repeat(32)}`, StatusCallbackEvent: 'conference-start' }).expect(200);
    rest.requests.length = 0;

    await join(customer, agent1CallSid, 'agent1');
    await app.running.background.drain();

    expect(rest.requests).toEqual([]);
  });
});

describe("a first agent's answer racing the customer's leave from a conference that had not started", () => {
  const legPath = (callSid: string) => `/2010-04-01/Accounts/${TEST_ENV.TWILIO_ACCOUNT_SID}/Calls/${callSid}.json`;
  /** The customer's conference (never started: nobody joined it before the customer left), and the new one of the same name the agent's leg joins. */
  const CUSTOMERS = `CF${'1'.repeat(32)}`;
  const NEW_ONE = `CF${'2'.repeat(32)}`;
  type Step = 'customer leaves' | 'conference ends' | 'connect webhook' | 'agent joins' | 'agent answered';
  const steps: Step[] = ['customer leaves', 'conference ends', 'connect webhook', 'agent joins', 'agent answered'];
  const orders = (items: Step[]): Step[][] => (items.length <= 1 ? [items] : items.flatMap((first, i) => orders([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [first, ...rest])));

  async function send(step: Step, customer: string, leg: string): Promise<void> {
    const events = (params: Record<string, string>) => app.webhook('/conference/events', { FriendlyName: customer, ...params }).expect(200);
    if (step === 'customer leaves') await events({ ConferenceSid: CUSTOMERS, StatusCallbackEvent: 'participant-leave', CallSid: customer, ParticipantLabel: 'customer', ReasonParticipantLeft: 'participant_hung_up', ParticipantCallStatus: 'completed' });
    if (step === 'conference ends') await events({ ConferenceSid: CUSTOMERS, StatusCallbackEvent: 'conference-end', ReasonConferenceEnded: 'participant-with-end-conference-on-exit-left', ParticipantLabelEndingConference: 'customer' });
    if (step === 'agent joins') await events({ ConferenceSid: NEW_ONE, StatusCallbackEvent: 'participant-join', CallSid: leg, ParticipantLabel: 'agent:agent1' });
    if (step === 'connect webhook') await app.webhook(`/conference/${customer}/connect/agent1`, { CallSid: leg }).expect(200);
    if (step === 'agent answered') await app.webhook(`/conference/${customer}/agents/agent1/status`, { CallSid: leg, CallStatus: 'in-progress', To: 'client:agent1' }).expect(200);
  }

  test.each(orders(steps).map((order) => [order.join(', '), order] as const))("when the callbacks arrive as: %s, then agent1's leg is hung up and the call is in the history, finished", async (_name, order) => {
    // Arrange: a customer waits alone in their conference; agent1's phone rings for them.
    const customer = fakeSid();
    await incomingCall(customer);
    await app.running.background.drain();
    const leg = await ringing(customer, 'agent1');
    rest.requests.length = 0;

    // Act
    for (const step of order) await send(step, customer, leg);
    await app.running.background.drain();

    // Assert: agent1's leg does not outlive the call (hanging it up twice is harmless: Twilio ends a call once).
    expect(rest.requests.filter((r) => r.path === legPath(leg)).map((r) => formValue(r, 'Status'))).toContain('completed');
    expect(await db.models.calls.findById(customer).lean().exec()).toBeNull();
    const history = await app.running.history.find(customer, new Date());
    const leftFirst = order.indexOf('customer leaves') < order.indexOf('conference ends');
    expect(history).toMatchObject(leftFirst ? { endReason: 'customer-hung-up', hungUpBy: 'customer' } : { endReason: 'conference-ended' });
    // The answer counts only if it reached the app while the call was live.
    const answered = order.indexOf('connect webhook') < Math.min(order.indexOf('customer leaves'), order.indexOf('conference ends'));
    expect(history!.outcome).toBe(answered ? 'answered' : 'abandoned');
  });
});

describe('when every agent leaves', () => {
  const customerCallPath = (callSid: string) => `/2010-04-01/Accounts/${TEST_ENV.TWILIO_ACCOUNT_SID}/Calls/${callSid}.json`;

  test('when agent1 hangs up with no colleague on the call or on the way, then the customer hears goodbye once and the call ends', async () => {
    const customer = fakeSid();
    await incomingCall(customer);
    await app.running.background.drain();
    const agent1CallSid = await ringing(customer, 'agent1');
    await app.webhook(`/conference/${customer}/connect/agent1`, { CallSid: agent1CallSid }).expect(200);
    // agent1 presses Hang up: the server ends their leg through Twilio, and knows it was on purpose.
    await agent1Page.post('/api/me/hangup').send({}).expect(200);
    expect(rest.requests.filter((r) => r.path === customerCallPath(agent1CallSid)).map((r) => formValue(r, 'Status'))).toEqual(['completed']);
    rest.requests.length = 0;

    await app.webhook('/conference/events', { FriendlyName: customer, StatusCallbackEvent: 'participant-leave', CallSid: agent1CallSid }).expect(200);
    await app.webhook(`/conference/${customer}/agents/agent1/status`, { CallSid: agent1CallSid, CallStatus: 'completed' }).expect(200);
    await app.running.background.drain();

    expect(rest.requests).toHaveLength(1);
    const [goodbye] = rest.requests;
    expect(goodbye!.path).toBe(customerCallPath(customer));
    const twiml = parseTwiml(formValue(goodbye!, 'Twiml')!);
    expect(twiml.children.map((c) => c.name)).toEqual(['Say', 'Hangup']);
    expect(find(twiml, 'Say')!.text).toMatch(/agent has left the call/);
    const call = (await db.models.calls.findById(customer).lean().exec())!;
    expect(call.abandonedAt).toBeInstanceOf(Date);
    expect(call.status).not.toBe('completed'); // Twilio's conference-end callback will say so
  });

  test('when agent1 hangs up while agent2 still rings, then the customer waits; when agent2 then does not answer, the customer hears goodbye', async () => {
    const { customer, agent1CallSid, agent2CallSid } = await agent2Ringing();
    await agent1Page.post('/api/me/hangup').send({}).expect(200);
    rest.requests.length = 0;

    await app.webhook('/conference/events', { FriendlyName: customer, StatusCallbackEvent: 'participant-leave', CallSid: agent1CallSid }).expect(200);
    await app.running.background.drain();
    expect(rest.requests).toHaveLength(0);

    await app.webhook(`/conference/${customer}/agents/agent2/status`, { CallSid: agent2CallSid, CallStatus: 'no-answer' }).expect(200);
    await app.running.background.drain();

    expect(rest.requests.map((r) => r.path)).toEqual([customerCallPath(customer)]);
    expect(formValue(rest.requests[0]!, 'Twiml')).toMatch(/<Hangup\/>/);
  });

  test('when agent1 hangs up after agent2 joined and agent2\'s page then drops before the conference says so, then the customer goes back to the line, not goodbye', async () => {
    const { customer, agent1CallSid, agent2CallSid } = await agent2Ringing();
    await app.webhook(`/conference/${customer}/connect/agent2`, { CallSid: agent2CallSid }).expect(200);
    await agent1Page.post('/api/me/hangup').send({}).expect(200);
    await app.webhook('/conference/events', { FriendlyName: customer, StatusCallbackEvent: 'participant-leave', CallSid: agent1CallSid }).expect(200);
    await app.running.background.drain();
    rest.requests.length = 0;

    // agent2's tab reloads: their own call's end arrives before the conference reports them leaving.
    await app.webhook(`/conference/${customer}/agents/agent2/status`, { CallSid: agent2CallSid, CallStatus: 'completed' }).expect(200);
    await app.running.background.drain();

    expect(rest.requests.filter((r) => r.path === customerCallPath(customer))).toEqual([]);
    const call = (await db.models.calls.findById(customer).lean().exec())!;
    expect(call.abandonedAt).toBeUndefined();
    expect(call).toMatchObject({ status: 'waiting', returnTo: { agentId: 'agent2' } });
  });

  test('when the first agent never answers, then the customer keeps waiting with music (no goodbye)', async () => {
    const customer = fakeSid();
    await incomingCall(customer);
    await app.running.background.drain();
    const agent1CallSid = await ringing(customer, 'agent1');
    rest.requests.length = 0;

    await app.webhook(`/conference/${customer}/agents/agent1/status`, { CallSid: agent1CallSid, CallStatus: 'no-answer' }).expect(200);
    await app.running.background.drain();

    expect(rest.requests).toHaveLength(0);
    expect(await db.models.calls.findById(customer).lean().exec()).toMatchObject({ status: 'waiting', dialError: 'agent1 did not answer (no-answer).' });
  });
});

describe('bad requests get clear answers', () => {
  test('when an agent answers into a conference that does not exist, then they hear an apology and the call hangs up', async () => {
    const res = await app.webhook(`/conference/${fakeSid()}/connect/agent1`, { CallSid: fakeSid() });

    expect(res.status).toBe(200);
    const twiml = parseTwiml(res.text);
    expect(twiml.children.map((c) => c.name)).toEqual(['Say', 'Hangup']);
  });

  test('when the agent in the path is unknown, then the leg hears an apology', async () => {
    const customer = fakeSid();
    await incomingCall(customer);
    await app.running.background.drain();

    const res = await app.webhook(`/conference/${customer}/connect/mallory`, { CallSid: fakeSid() });

    expect(parseTwiml(res.text).children.map((c) => c.name)).toEqual(['Say', 'Hangup']);
  });

  test('when an agent disabled while their phone rang answers, then the leg hears an apology, is never joined, and the caller is back in line at once', async () => {
    const customer = fakeSid();
    await incomingCall(customer);
    await app.running.background.drain();
    const leg = await ringing(customer, 'agent1');
    await app.running.agents.change('agent1', { disabled: true });
    try {
      const res = await app.webhook(`/conference/${customer}/connect/agent1`, { CallSid: leg });

      expect(parseTwiml(res.text).children.map((c) => c.name)).toEqual(['Say', 'Hangup']);
      const call = (await db.models.calls.findById(customer).lean().exec())!;
      expect(call.status).toBe('waiting');
      expect(call.answeredAt).toBeUndefined();
      expect(call.passedBy.map((p) => [p.agentId, p.outcome])).toEqual([['agent1', 'declined']]);
    } finally {
      await app.running.agents.change('agent1', { disabled: false });
    }
  });

  test('when an agent with no active call asks to dial a colleague in, then the answer is 404 JSON and nobody is dialled', async () => {
    const res = await agent2Page.post('/conference/agent2/call').send({ to: 'agent1' });

    expect(res.status).toBe(404);
    expect(res.body.error).toMatch(/agent2 has no active call/);
    expect(rest.requests).toHaveLength(0);
  });

  test('when a signed-in agent names another agent in the path, then /conference/:agentId/call and /token/:agentId answer 403 JSON', async () => {
    const call = await agent1Page.post('/conference/nobody/call').send({ to: 'agent2' });
    const token = await agent1Page.post('/token/agent2');

    expect(call.status).toBe(403);
    expect(call.body.error).toMatch(/signed in as agent1/);
    expect(token.status).toBe(403);
    expect(token.body.token).toBeUndefined();
  });

  test('when the colleague to bring in is unknown, then the answer is 404 JSON and nobody is dialled', async () => {
    const res = await agent1Page.post('/conference/agent1/call').send({ to: 'nobody' });

    expect(res.status).toBe(404);
    expect(res.body.error).toMatch(/Unknown agent: nobody/);
    expect(rest.requests).toHaveLength(0);
  });

  test('when the request body is not valid JSON, then the answer is 400 JSON', async () => {
    const res = await agent1Page.post('/conference/agent1/call').set('Content-Type', 'application/json').send('{"to":');

    expect(res.status).toBe(400);
    expect(res.body.error).toBeTruthy();
  });

  test('when a page does not exist, then a browser gets an HTML 404 and a script gets JSON', async () => {
    const html = await app.http().get('/nope').set('Accept', 'text/html');
    const json = await app.http().get('/nope').set('Accept', 'application/json');

    expect(html.status).toBe(404);
    expect(html.text).toMatch(/<h1>Not found<\/h1>/);
    expect(html.text).toContain('(HTTP 404)');
    expect(json.status).toBe(404);
    expect(json.body.error).toMatch(/Not found/);
  });
});

describe('logs', () => {
  test('when calls are handled, then no secret and no full phone number reaches the logs', async () => {
    const token = await agent1Page.post('/token/agent1');
    await incomingCall(fakeSid(), { From: '+15559876543' });
    await app.running.background.drain();

    const all = app.logs.join('\n');
    expect(all.length).toBeGreaterThan(0);
    for (const secret of [TEST_ENV.TWILIO_AUTH_TOKEN, TEST_ENV.TWILIO_API_SECRET, token.body.token, '+15559876543', '5559876543']) {
      expect(all).not.toContain(secret);
    }
  });
});

describe('concurrent webhooks for one call', () => {
  test('when Twilio sends a leg callback, the agent connect webhook and conference events at once, then no change is lost', async () => {
    const { customer, agent1CallSid, agent2CallSid } = await agent2Ringing();
    const conferenceSid = fakeSid('CF');

    const answers = await Promise.all([
      app.webhook(`/conference/${customer}/connect/agent2`, { CallSid: agent2CallSid }),
      app.webhook(`/conference/${customer}/agents/agent2/status`, { CallSid: agent2CallSid, CallStatus: 'in-progress' }),
      app.webhook(`/conference/${customer}/agents/agent1/status`, { CallSid: agent1CallSid, CallStatus: 'in-progress' }),
      app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: conferenceSid, StatusCallbackEvent: 'conference-start' }),
      app.webhook('/conference/events', { FriendlyName: customer, StatusCallbackEvent: 'participant-join', CallSid: agent2CallSid }),
    ]);

    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    const call = (await db.models.calls.findById(customer).lean().exec())!;
    expect(call).toMatchObject({ status: 'in-progress', agentId: 'agent2', conferenceSid });
    expect(call.participants.map((leg) => [leg.agentId, leg.status, leg.legCallSid])).toEqual([
      ['agent1', 'in-progress', agent1CallSid],
      ['agent2', 'in-progress', agent2CallSid],
    ]);
  });
});
