// Routing over real HTTP, a real database and signed webhooks: who rings first, what happens when nobody answers,
// the waiting line, wrap-up, and the maximum wait. The REST recorder stands in for Twilio's API.
import { addAgent, type AppSuite, fakeSid, makeAvailable, resetFloor, signIn, startTestApp, TEST_ENV, type TestApp, useAppSuite } from './helpers/app';
import { formValue, type RecordedRequest } from './helpers/rest-recorder';
import { find, parseTwiml } from './helpers/twiml';

const suite = useAppSuite({ env: { RING_SECONDS: '5', WRAP_UP_SECONDS: '1', MAX_WAIT_SECONDS: '3', RECONNECT_GRACE_SECONDS: '1' }, routing: { passCooldownSeconds: 30, leaveSettleMs: 400 } });
let db: AppSuite['db'];
let rest: AppSuite['rest'];
let app: TestApp;
const BASE = TEST_ENV.PUBLIC_BASE_URL;
const CALLS_PATH = `/2010-04-01/Accounts/${TEST_ENV.TWILIO_ACCOUNT_SID}/Calls.json`;

beforeAll(async () => {
  ({ db, rest, app } = suite);
  for (const id of ['ana', 'ben', 'cho', 'dev']) await addAgent(app, id);
});

beforeEach(async () => {
  await resetFloor(app.running);
  rest.requests.length = 0;
  rest.behave({});
});

function incomingCall(callSid: string) {
  return app.webhook('/conference/connect/client', { CallSid: callSid, From: '+15551112222', To: TEST_ENV.TWILIO_NUMBER, CallStatus: 'ringing', Direction: 'inbound' });
}

/** Arrange: the agent's softphone is up and they chose "available" (`idleFor` ms ago). */
async function available(agentId: string, idleForMs = 0): Promise<void> {
  await app.running.presence.heartbeat(agentId, `tab-${agentId}-0001`, { takeOver: true, staleMs: 30000, registered: true });
  await app.running.presence.choose(agentId, 'available');
  if (idleForMs) await db.connection.collection('presence').updateOne({ _id: agentId as never }, { $set: { idleSince: new Date(Date.now() - idleForMs) } });
}

const dials = (): RecordedRequest[] => rest.requests.filter((r) => r.path === CALLS_PATH);
const dialledAgent = (r: RecordedRequest): string => formValue(r, 'To')!.replace(/^client:/, '');

async function until<T>(what: string, probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function dialsCount(n: number): Promise<RecordedRequest[]> {
  return until(`${n} dial(s)`, () => (dials().length >= n ? dials() : undefined));
}

/** Twilio's status callback for the leg the app dialled to `agentId` for `callSid`. */
async function legStatus(callSid: string, agentId: string, CallStatus: string, legCallSid = fakeSid()) {
  await app.webhook(`/conference/${callSid}/agents/${agentId}/status`, { CallSid: legCallSid, CallStatus, To: `client:${agentId}` }).expect(200);
  return legCallSid;
}

async function answer(callSid: string, agentId: string): Promise<string> {
  const leg = await legStatus(callSid, agentId, 'ringing');
  const res = await app.webhook(`/conference/${callSid}/connect/${agentId}`, { CallSid: leg, To: `client:${agentId}` }).expect(200);
  expect(find(parseTwiml(res.text), 'Conference')?.text).toBe(callSid);
  return leg;
}

/** Arrange: ana is available, a customer calls, ana is rung and answers; answers the call and ana's leg. */
async function anaAnswersACall(): Promise<{ customer: string; anaLeg: string }> {
  await available('ana');
  const customer = fakeSid();
  await incomingCall(customer);
  await dialsCount(1);
  return { customer, anaLeg: await answer(customer, 'ana') };
}

describe('routing a new call', () => {
  test('when several agents are available, then the call rings the one idle longest, with the configured ring timeout', async () => {
    await available('ana', 1000);
    await available('ben', 60000);
    await available('cho', 5000);
    const customer = fakeSid();

    await incomingCall(customer).expect(200);

    const [dial] = await dialsCount(1);
    expect(dialledAgent(dial!)).toBe('ben');
    expect(formValue(dial!, 'Timeout')).toBe('5');
    expect(formValue(dial!, 'Url')).toBe(`${BASE}/conference/${customer}/connect/ben`);
    const stored = await db.models.calls.findById(customer).lean().exec();
    expect(stored).toMatchObject({ status: 'offered', offeredTo: 'ben' });
  });

  test('when the agent declines, then the next available agent rings and the one who declined is not rung again for it', async () => {
    await available('ana', 30000);
    await available('ben', 20000);
    const customer = fakeSid();
    await incomingCall(customer);
    await dialsCount(1);

    await legStatus(customer, 'ana', 'busy');

    const all = await dialsCount(2);
    expect(all.map(dialledAgent)).toEqual(['ana', 'ben']);
    const stored = (await db.models.calls.findById(customer).lean().exec())!;
    expect(stored).toMatchObject({ status: 'offered', offeredTo: 'ben' });
    expect(stored.passedBy.map((p) => [p.agentId, p.outcome])).toEqual([['ana', 'busy']]);
    // Declining does not make ana unavailable for other callers.
    expect((await app.running.presence.get('ana'))!.chosen).toBe('available');
  });

  test('when the agent does not answer, then the next agent rings and the one who missed it is set away', async () => {
    const [anaPage, benPage] = await Promise.all([signIn(app, 'ana'), signIn(app, 'ben')]);
    await available('ana', 30000);
    await available('ben', 20000);
    const customer = fakeSid();
    await incomingCall(customer);
    await dialsCount(1);

    await legStatus(customer, 'ana', 'no-answer');

    expect((await dialsCount(2)).map(dialledAgent)).toEqual(['ana', 'ben']);
    const ana = (await app.running.presence.get('ana'))!;
    expect(ana.chosen).toBe('away');
    expect(ana.note).toMatch(/missed a call/i);
    // Ana's page tells her; her colleagues' directory and the floor say it of her, not to her.
    expect((await anaPage.get('/api/me')).body.you.note).toBe('You missed a call, so you were set away. Press Available when you are back.');
    const seenByBen = ((await benPage.get('/api/me')).body.colleagues as Array<{ id: string; note?: string }>).find((agent) => agent.id === 'ana');
    expect(seenByBen?.note).toBe('Missed a call: set away by the app.');
  });

  test('when Twilio cannot dial the agent, then the call goes to the next agent', async () => {
    await available('ana', 30000);
    await available('ben', 20000);
    rest.behave({ error: { status: 400, code: 21210, message: 'Caller phone number not verified' } });
    const customer = fakeSid();
    await incomingCall(customer);
    await dialsCount(1);
    rest.behave({});

    expect((await dialsCount(2)).map(dialledAgent)).toEqual(['ana', 'ben']);
  });

  test('when an agent chose available but their softphone is silent, then they are not offered calls', async () => {
    await available('ana');
    await db.connection.collection('presence_softphones').updateOne({ _id: 'ana' as never }, { $set: { lastSeenAt: new Date(Date.now() - 120000) } });
    await incomingCall(fakeSid());

    await new Promise((resolve) => setTimeout(resolve, 400));

    expect(dials()).toHaveLength(0);
  });
});

describe('the waiting line', () => {
  test('when music is asked for a call the app has no live record of (finished, or never stored), then the caller hears the apology and the call ends, instead of music for ever', async () => {
    const unknown = fakeSid();

    const wait = parseTwiml((await app.webhook(`/conference/wait?call=${unknown}&round=2`, { CallSid: unknown }).expect(200)).text);

    expect(wait.children.map((c) => c.name)).toEqual(['Say', 'Hangup']);
    expect(find(wait, 'Play')).toBeUndefined();
    // Nor for no call at all (a URL the app never gave).
    const nobody = parseTwiml((await app.webhook('/conference/wait', { CallSid: unknown }).expect(200)).text);
    expect(nobody.children.map((c) => c.name)).toEqual(['Say', 'Hangup']);
  });

  test('when nobody is available, then the caller hears their place in line and music, and the first agent to become available gets the call', async () => {
    const first = fakeSid();
    const second = fakeSid();
    await incomingCall(first);
    await incomingCall(second);

    const waitFirst = await app.webhook(`/conference/wait?call=${first}&round=0`, {}).expect(200);
    const waitSecond = await app.webhook(`/conference/wait?call=${second}&round=3`, {}).expect(200);

    const a = parseTwiml(waitFirst.text);
    expect(a.children.map((c) => c.name)).toEqual(['Say', 'Say', 'Play', 'Redirect']);
    expect(a.children[1]!.text).toBe('You are next in line.');
    expect(find(a, 'Redirect')!.text).toBe(`${BASE}/conference/wait?call=${first}&round=1`);
    const b = parseTwiml(waitSecond.text);
    expect(b.children.map((c) => c.name)).toEqual(['Say', 'Play', 'Redirect']);
    expect(b.children[0]!.text).toBe('You are number 2 in line.');
    expect(dials()).toHaveLength(0);

    await available('cho');

    const [dial] = await dialsCount(1);
    expect(formValue(dial!, 'Url')).toBe(`${BASE}/conference/${first}/connect/cho`);
  });

  test('when callers keep arriving while nobody is free, then routing checks the agents a few times, not once per caller; the first agent to become available gets the first caller', async () => {
    const first = fakeSid();
    await incomingCall(first);
    await until('a routing pass that found nobody free', () => app.running.background.pending === 0);
    const before = app.running.routing.passes;
    const started = Date.now();

    for (let i = 0; i < 20; i += 1) await incomingCall(fakeSid()).expect(200);

    const elapsed = Date.now() - started;
    // One pass per 250 ms at most while nobody is free (and the periodic line check), instead of one per caller.
    expect(app.running.routing.passes - before).toBeLessThanOrEqual(Math.ceil(elapsed / 250) + 2);
    await available('ana');
    app.running.routing.dispatch(); // as the presence route does when an agent becomes available
    const [dial] = await dialsCount(1);
    expect(formValue(dial!, 'Url')).toBe(`${BASE}/conference/${first}/connect/ana`);
  });

  test('when three callers wait for two agents, then they are served in arrival order as agents free up', async () => {
    const callers = [fakeSid(), fakeSid(), fakeSid()];
    for (const c of callers) await incomingCall(c).expect(200);
    await available('ana', 20000);
    await available('ben', 10000);

    const two = await dialsCount(2);
    expect(two.map((r) => [formValue(r, 'Url')])).toEqual([[`${BASE}/conference/${callers[0]}/connect/ana`], [`${BASE}/conference/${callers[1]}/connect/ben`]]);

    // ana takes the first caller, they talk, the caller hangs up; after wrap-up ana gets the third caller.
    await answer(callers[0]!, 'ana');
    await app.webhook('/conference/events', { FriendlyName: callers[0]!, StatusCallbackEvent: 'participant-leave', CallSid: callers[0]! }).expect(200);
    expect(dials()).toHaveLength(2);
    const third = await dialsCount(3);
    expect(formValue(third[2]!, 'Url')).toBe(`${BASE}/conference/${callers[2]}/connect/ana`);
  });

  test('when four agents free up at once for four waiting callers, then one pass rings them in its order, each ring after the one before was dialled', async () => {
    const callers = [fakeSid(), fakeSid(), fakeSid(), fakeSid()];
    for (const c of callers) await incomingCall(c).expect(200);
    // One pass for all four: routing paused while they become available, longest idle first (ana).
    await app.running.routing.stop();
    for (const [i, agentId] of ['ana', 'ben', 'cho', 'dev'].entries()) await available(agentId, 40_000 - i * 10_000);
    rest.behave({ delayMs: 150 });
    app.running.routing.start();
    app.running.routing.dispatch();

    const four = await dialsCount(4);
    expect(four.map((r) => formValue(r, 'Url'))).toEqual(['ana', 'ben', 'cho', 'dev'].map((agentId, i) => `${BASE}/conference/${callers[i]}/connect/${agentId}`));
    // The Twilio stand-in answers each dial 150 ms after it came: no ring was dialled before the previous was answered.
    for (let i = 1; i < 4; i += 1) expect(four[i]!.receivedAt - four[i - 1]!.receivedAt).toBeGreaterThanOrEqual(150);
  });

  test('when a caller has waited the longest allowed, then they hear a polite goodbye and are not offered to anyone', async () => {
    const customer = fakeSid();
    await incomingCall(customer);

    const goodbye = await until('the goodbye', () => rest.requests.find((r) => r.path.endsWith(`/Calls/${customer}.json`)), 8000);

    const twiml = parseTwiml(formValue(goodbye, 'Twiml')!);
    expect(twiml.children.map((c) => c.name)).toEqual(['Say', 'Hangup']);
    expect(find(twiml, 'Say')!.text).toMatch(/no agent could take your call in time/);
    await available('dev');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(dials()).toHaveLength(0);
    // Twilio then reports the customer leaving: the call moves to the history as timed out.
    await app.webhook('/conference/events', { FriendlyName: customer, StatusCallbackEvent: 'participant-leave', CallSid: customer }).expect(200);
    expect(await db.models.calls.findById(customer).lean().exec()).toBeNull();
    const history = await app.running.history.find(customer, new Date());
    expect(history).toMatchObject({ outcome: 'timed-out', endReason: 'max-wait' });
  });
});

describe('one offer at a time', () => {
  test('when ten callers arrive at once for three agents, then each agent is offered exactly one call and each call rings at most one agent', async () => {
    await available('ana', 3000);
    await available('ben', 2000);
    await available('cho', 1000);
    const callers = Array.from({ length: 10 }, () => fakeSid());

    await Promise.all(callers.map((c) => incomingCall(c).expect(200)));
    await dialsCount(3);
    await new Promise((resolve) => setTimeout(resolve, 500));

    const offered = dials().map(dialledAgent);
    expect(offered.sort()).toEqual(['ana', 'ben', 'cho']);
    const urls = dials().map((r) => formValue(r, 'Url')!.split('/')[4]);
    expect(new Set(urls).size).toBe(3);
    const stored = await db.models.calls.find({ status: 'offered' }).lean().exec();
    expect(stored).toHaveLength(3);
    const reservations = await db.connection.collection('reservations').countDocuments({});
    expect(reservations).toBe(6); // one per agent and one per call being offered
  });

  test('when the agent is wrapping up, then they are not offered the next call until wrap-up ends', async () => {
    await available('dev');
    const first = fakeSid();
    await incomingCall(first);
    await dialsCount(1);
    await answer(first, 'dev');
    await app.webhook('/conference/events', { FriendlyName: first, StatusCallbackEvent: 'participant-leave', CallSid: first }).expect(200);

    const second = fakeSid();
    await incomingCall(second);
    const reservation = await db.connection.collection('reservations').findOne({ _id: 'agent:dev' as never });
    expect(reservation).toMatchObject({ state: 'wrap-up' });
    expect(dials()).toHaveLength(1);

    const [, next] = await dialsCount(2);
    expect(formValue(next!, 'Url')).toBe(`${BASE}/conference/${second}/connect/dev`);
  });
});

describe('calls end and leave the live store', () => {
  test('when the customer hangs up mid-call, then the live call is gone, its history is kept, and the agent wraps up', async () => {
    await available('ana');
    const customer = fakeSid();
    await incomingCall(customer);
    await dialsCount(1);
    await answer(customer, 'ana');

    await app.webhook('/conference/events', { FriendlyName: customer, StatusCallbackEvent: 'participant-leave', CallSid: customer }).expect(200);
    await app.webhook('/conference/events', { FriendlyName: customer, StatusCallbackEvent: 'conference-end' }).expect(200);

    expect(await db.models.calls.findById(customer).lean().exec()).toBeNull();
    const history = await app.running.history.find(customer, new Date());
    expect(history).toMatchObject({ outcome: 'answered', agentIds: ['ana'], offeredTo: ['ana'], endReason: 'customer-hung-up', hungUpBy: 'customer' });
    expect(await db.connection.collection('reservations').findOne({ _id: 'agent:ana' as never })).toMatchObject({ state: 'wrap-up' });
    // Late callbacks about the finished call are accepted quietly.
    await app.webhook(`/conference/${customer}/agents/ana/status`, { CallSid: fakeSid(), CallStatus: 'completed' }).expect(200);
    expect(app.logs.filter((line) => / ERROR /.test(line))).toEqual([]);
  });

  test('when the caller hangs up while an agent is being rung, then the ringing phone is stopped and the agent is free again', async () => {
    await available('ben');
    const customer = fakeSid();
    await incomingCall(customer);
    await dialsCount(1);
    const leg = await legStatus(customer, 'ben', 'ringing');

    await app.webhook('/conference/events', { FriendlyName: customer, StatusCallbackEvent: 'participant-leave', CallSid: customer }).expect(200);

    const cancel = await until('the cancel', () => rest.requests.find((r) => r.path.endsWith(`/Calls/${leg}.json`)));
    expect(formValue(cancel, 'Status')).toBe('completed');
    expect(await db.connection.collection('reservations').countDocuments({})).toBe(0);
    expect(await app.running.history.find(customer, new Date())).toMatchObject({ outcome: 'abandoned', offeredTo: ['ben'] });
  });
});

/** The agent's page is closing: its softphone is no longer registered (the page's last heartbeat says so). */
async function softphoneGone(agentId: string): Promise<void> {
  await app.running.presence.heartbeat(agentId, `tab-${agentId}-0001`, { takeOver: true, staleMs: 30000, registered: false });
}

const goodbyes = (callSid: string): RecordedRequest[] => rest.requests.filter((r) => r.path.endsWith(`/Calls/${callSid}.json`) && /Hangup/.test(formValue(r, 'Twiml') ?? ''));

describe('the customer survives their agent leaving', () => {
  /** The customer's participant, addressed by its label. */
  const participantPath = (conferenceSid: string) => `/2010-04-01/Accounts/${TEST_ENV.TWILIO_ACCOUNT_SID}/Conferences/${conferenceSid}/Participants/customer.json`;

  test('when the agent\'s softphone drops mid-call without hanging up, then the customer goes on hold with music, back to the front of the line, and comes off hold with the next agent', async () => {
    await available('ana', 20000);
    const customer = fakeSid();
    const conferenceSid = fakeSid('CF');
    await incomingCall(customer);
    await dialsCount(1);
    const anaLeg = await answer(customer, 'ana');
    await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: conferenceSid, StatusCallbackEvent: 'conference-start' }).expect(200);

    // The tab closes (the page says its softphone is gone as it goes): Twilio reports ana's leg leaving; nobody pressed Hang up.
    await softphoneGone('ana');
    await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-leave', CallSid: anaLeg }).expect(200);

    const hold = await until('the customer on hold', () => rest.requests.find((r) => r.path === participantPath(conferenceSid)));
    expect(formValue(hold, 'Hold')).toBe('true');
    expect(formValue(hold, 'HoldUrl')).toBe(`${BASE}/conference/wait?call=${customer}&round=1`);
    expect(rest.requests.some((r) => formValue(r, 'Twiml')?.includes('Hangup'))).toBe(false); // no goodbye
    expect(await db.models.calls.findById(customer).lean().exec()).toMatchObject({ status: 'waiting', customerHeld: true, requeued: 1 });

    await available('ben');
    const [, again] = await dialsCount(2);
    expect(formValue(again!, 'Url')).toBe(`${BASE}/conference/${customer}/connect/ben`);
    rest.requests.length = 0;
    await answer(customer, 'ben');
    const unhold = await until('the customer off hold', () => rest.requests.find((r) => r.path === participantPath(conferenceSid)));
    expect(formValue(unhold, 'Hold')).toBe('false');
  });

  test('when the agent presses Hang up, then the server ends their leg, and the customer left alone hears goodbye', async () => {
    const ana = await signIn(app, 'ana');
    const { customer, anaLeg } = await anaAnswersACall();

    const res = await ana.post('/api/me/hangup').send({});

    expect(res.status).toBe(200);
    const hangUp = await until('the hang-up', () => rest.requests.find((r) => r.path.endsWith(`/Calls/${anaLeg}.json`)));
    expect(formValue(hangUp, 'Status')).toBe('completed');
    await app.webhook('/conference/events', { FriendlyName: customer, StatusCallbackEvent: 'participant-leave', CallSid: anaLeg }).expect(200);
    const goodbye = await until('the goodbye', () => rest.requests.find((r) => r.path.endsWith(`/Calls/${customer}.json`)));
    expect(formValue(goodbye, 'Twiml')).toMatch(/agent has left the call/);
    expect(await db.models.calls.findById(customer).lean().exec()).toMatchObject({ endReason: 'abandoned' });
  });

  test('when an agent with no call presses Hang up, then the answer is 404 with a message', async () => {
    const ana = await signIn(app, 'ana');
    const res = await ana.post('/api/me/hangup').send({});
    expect(res.status).toBe(404);
    expect(res.body.error).toMatch(/no call/i);
  });
});

describe('signing out', () => {
  test('when an available agent signs out, then they are offline at once and not offered the next caller', async () => {
    const cho = await signIn(app, 'cho');
    await makeAvailable(cho);
    expect((await app.running.routing.presenceOfAll()).get('cho')?.presence).toBe('available');

    const res = await cho.postWithoutToken('/sign-out').type('form').send({ _csrf: cho.csrfToken });

    expect(res.status).toBe(303);
    expect((await app.running.routing.presenceOfAll()).get('cho')?.presence).toBe('offline');
    await incomingCall(fakeSid());
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(dials()).toHaveLength(0);
  });
});

describe('the longest wait counts time in line', () => {
  /** The call began `seconds` ago (as if the customer had been talking that long). */
  async function startedAgo(callSid: string, seconds: number): Promise<void> {
    await db.connection.collection('calls').updateOne({ _id: callSid as never }, { $set: { createdAt: new Date(Date.now() - seconds * 1000) } });
  }

  test('when a call older than the longest wait goes back in line after a dropped softphone, then the caller is not told goodbye until they have waited the longest wait in line again', async () => {
    const { customer, anaLeg } = await anaAnswersACall();
    await startedAgo(customer, 60); // MAX_WAIT_SECONDS is 3
    await softphoneGone('ana');

    const backInLine = Date.now(); // the server's clock starts the wait a moment after this
    await app.webhook('/conference/events', { FriendlyName: customer, StatusCallbackEvent: 'participant-leave', CallSid: anaLeg, ReasonParticipantLeft: 'participant_hung_up' }).expect(200);

    // The line is scanned every 750 ms here: well past two scans, the caller is still waiting, with no goodbye.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(goodbyes(customer)).toHaveLength(0);
    expect(await db.models.calls.findById(customer).lean().exec()).toMatchObject({ status: 'waiting', requeued: 1 });
    // Then the longest wait, counted from going back in line, ends it politely.
    const goodbye = await until('the goodbye', () => goodbyes(customer)[0]);
    expect(goodbye.receivedAt - backInLine).toBeGreaterThanOrEqual(3000);
    expect(formValue(goodbye, 'Twiml')).toMatch(/no agent could take your call in time/);
  });

  test('when a call older than the longest wait is cold-transferred back to the line, then the caller waits afresh', async () => {
    const ana = await signIn(app, 'ana');
    await available('ana');
    const customer = fakeSid();
    await incomingCall(customer);
    await dialsCount(1);
    await answer(customer, 'ana');
    await startedAgo(customer, 60);

    await ana.post('/api/me/transfer-cold').send({ to: 'queue' }).expect(202);

    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(goodbyes(customer)).toHaveLength(0);
    expect(await db.models.calls.findById(customer).lean().exec()).toMatchObject({ status: 'waiting' });
  });
});

describe('a softphone that is not registered is offered nothing', () => {
  test('when an available agent\'s page is alive but its softphone has not registered yet, then a waiting caller does not ring them; once it registers, it does', async () => {
    const tab = 'tab-ana-registering';
    await app.running.presence.heartbeat('ana', tab, { takeOver: true, staleMs: 30000, registered: false });
    await app.running.presence.choose('ana', 'available');
    const customer = fakeSid();
    await incomingCall(customer);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(dials()).toHaveLength(0);
    expect((await app.running.routing.presenceOfAll()).get('ana')?.presence).toBe('offline');

    const ana = await signIn(app, 'ana');
    await ana.post('/api/me/presence').send({ status: 'available' }).expect(200);
    await ana.post('/api/me/heartbeat').send({ tab, registered: true }).expect(200);

    const [dial] = await dialsCount(1);
    expect(dialledAgent(dial!)).toBe('ana');
  });
});

describe('an agent whose softphone drops gets their customer back first', () => {
  test('when ana\'s page reloads mid-call and her softphone registers again within the grace, then the customer rings ana again, not the agent idle longest', async () => {
    const { customer, anaLeg } = await anaAnswersACall();
    await available('ben', 600_000); // free, and idle far longer than ana
    await softphoneGone('ana');

    await app.webhook('/conference/events', { FriendlyName: customer, StatusCallbackEvent: 'participant-leave', CallSid: anaLeg, ReasonParticipantLeft: 'participant_hung_up' }).expect(200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(dials()).toHaveLength(1);
    // The reloaded page's softphone registers.
    await app.running.presence.heartbeat('ana', 'tab-ana-0001', { takeOver: true, staleMs: 30000, registered: true });
    app.running.routing.dispatch();

    const [, again] = await dialsCount(2);
    expect(dialledAgent(again!)).toBe('ana');
  });

  test('when ana had chosen Away (she took the call as a colleague) and her page reloads, then the customer rings ana again all the same, and an Away ana is offered nobody else', async () => {
    const { customer, anaLeg } = await anaAnswersACall();
    await app.running.presence.choose('ana', 'away');
    await softphoneGone('ana');

    await app.webhook('/conference/events', { FriendlyName: customer, StatusCallbackEvent: 'participant-leave', CallSid: anaLeg, ReasonParticipantLeft: 'participant_hung_up' }).expect(200);
    await app.running.presence.heartbeat('ana', 'tab-ana-0002', { takeOver: true, staleMs: 30000, registered: true });
    const other = fakeSid();
    await incomingCall(other);
    app.running.routing.dispatch();

    const [, again] = await dialsCount(2);
    expect(dialledAgent(again!)).toBe('ana');
    expect(formValue(again!, 'Url')).toContain(`/conference/${customer}/connect/ana`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(dials()).toHaveLength(2);
  });

  test("when ana's page closes while her phone rings (her customer kept for her, or any caller), then the ring is called off at once, she is not set Away, and the customer goes to ben", async () => {
    const ana = await signIn(app, 'ana');
    const { customer, anaLeg } = await anaAnswersACall();
    await available('ben', 600_000);
    await softphoneGone('ana');
    await app.webhook('/conference/events', { FriendlyName: customer, StatusCallbackEvent: 'participant-leave', CallSid: anaLeg, ReasonParticipantLeft: 'participant_hung_up' }).expect(200);
    // Her reloaded page registers, and the customer rings it again…
    await ana.post('/api/me/heartbeat').send({ tab: 'tab-ana-0002', takeOver: true, registered: true }).expect(200);
    const [, again] = await dialsCount(2);
    expect(dialledAgent(again!)).toBe('ana');
    const ringing = await until('the ring kept', async () => (await db.models.calls.findById(customer).lean().exec())?.participants.find((leg) => leg.agentId === 'ana' && leg.status === 'dialing' && leg.legCallSid)?.legCallSid);

    // …and then that tab closes (its last heartbeat says its softphone is gone).
    await ana.post('/api/me/heartbeat').send({ tab: 'tab-ana-0002', registered: false }).expect(200);

    const callOff = await until('the ring called off', () => rest.requests.find((r) => r.path.endsWith(`/Calls/${ringing}.json`)));
    expect(formValue(callOff, 'Status')).toBe('completed');
    await legStatus(customer, 'ana', 'canceled', ringing);
    const [, , next] = await dialsCount(3);
    expect(dialledAgent(next!)).toBe('ben');
    expect((await app.running.presence.get('ana'))?.chosen).toBe('available');
  });

  test('when ana\'s page does not come back within the grace, then the next free agent gets the customer', async () => {
    const { customer, anaLeg } = await anaAnswersACall();
    await available('ben', 600_000);
    await softphoneGone('ana');

    await app.webhook('/conference/events', { FriendlyName: customer, StatusCallbackEvent: 'participant-leave', CallSid: anaLeg, ReasonParticipantLeft: 'participant_hung_up' }).expect(200);
    const dropped = Date.now();

    const [, next] = await dialsCount(2);
    expect(dialledAgent(next!)).toBe('ben');
    expect(next!.receivedAt - dropped).toBeGreaterThanOrEqual(900); // RECONNECT_GRACE_SECONDS is 1
  });
});

describe('callbacks that never came (lost while the app was down): Twilio is asked', () => {
  const minuteLater = () => new Date(Date.now() + 61_000);

  test("when ana presses Hang up on a leg Twilio no longer knows (its end was never reported), then her leg is ended here, she is free, and the customer is told goodbye", async () => {
    const { customer, anaLeg } = await anaAnswersACall();
    await available('ben', 600_000);
    rest.behave({ gone: [anaLeg], callStatus: 'in-progress' });
    const ana = await signIn(app, 'ana');

    const res = await ana.post('/api/me/hangup').send({});

    expect(res.status).toBeLessThan(300);
    await until("ana's leg ended here", async () => (await db.models.calls.findById(customer).lean().exec())?.participants.find((l) => l.agentId === 'ana')?.status === 'completed');
    await until('ana no longer on the call', async () => (await app.running.routing.presenceOfAll()).get('ana')?.presence !== 'on-call');
    // She pressed Hang up: the customer, alone, hears goodbye (not the line).
    await until('the goodbye', () => rest.requests.find((r) => r.path.endsWith(`/Calls/${customer}.json`) && /Hangup/.test(formValue(r, 'Twiml') ?? '')));
    expect(dials().filter((d) => dialledAgent(d) === 'ben')).toHaveLength(0);
  });

  test("when a finished call's incoming-call webhook comes again (a replay), then the call is hung up: no conference, nobody rung, the history keeps the one call", async () => {
    const { customer } = await anaAnswersACall();
    await available('ben', 600_000);
    await app.webhook('/conference/events', { FriendlyName: customer, StatusCallbackEvent: 'participant-leave', CallSid: customer, ReasonParticipantLeft: 'participant_hung_up' }).expect(200);
    await app.webhook('/conference/events', { FriendlyName: customer, StatusCallbackEvent: 'conference-end', ReasonConferenceEnded: 'participant-with-end-conference-on-exit-left' }).expect(200);
    await until('the call in the history', async () => (await app.running.history.find(customer, new Date())) !== null);
    await app.running.background.drain();
    rest.requests.length = 0;

    const replay = await incomingCall(customer).expect(200);

    const twiml = parseTwiml(replay.text);
    expect(find(twiml, 'Hangup')).toBeDefined();
    expect(find(twiml, 'Conference')).toBeUndefined();
    expect(await db.models.calls.findById(customer).lean().exec()).toBeNull();
    await app.running.routing.dispatch();
    expect(dials()).toHaveLength(0);
    expect((await app.running.history.find(customer, new Date()))?.agentIds).toEqual(['ana']);
  });

  test('when Twilio cannot hang up a leg (an outage), then the agent reads a plain message, with no account or path in it', async () => {
    await anaAnswersACall();
    rest.behave({ error: { status: 503, code: 20003, message: 'Service unavailable for /2010-04-01/Accounts/ACxxx/Calls/CAxxx.json' } });
    const ana = await signIn(app, 'ana');

    const res = await ana.post('/api/me/hangup').send({});

    expect(res.status).toBe(502);
    expect(res.body.error).toBe('Your call could not be hung up: Twilio did not take it. Try again in a moment.');
  });

  test("when no news of a waiting caller comes for a minute and Twilio says they are gone, then the call ends as their hang-up: it leaves the line, reaches the history, and rings nobody", async () => {
    const customer = fakeSid();
    await incomingCall(customer).expect(200);
    rest.behave({ gone: [customer] });

    expect(await app.running.calls.auditQuietCalls(new Date())).toEqual({ checked: 0, ended: 0 });
    expect(await app.running.calls.auditQuietCalls(minuteLater())).toEqual({ checked: 1, ended: 1 });

    expect(await db.models.calls.findById(customer).lean().exec()).toBeNull();
    expect((await app.running.history.find(customer, new Date()))?.endReason).toBe('customer-hung-up');
    await available('ben');
    await app.running.routing.dispatch();
    expect(dials()).toHaveLength(0);
  });

  test('when an instance starts while a caller waits whose hang-up was lost (every instance was down), then it asks Twilio about that call at once, and the call ends instead of ringing agents for nobody', async () => {
    const customer = fakeSid();
    await incomingCall(customer).expect(200);
    rest.behave({ gone: [customer] });

    // A fresh instance on the same database (as after a restart), with no agent free to ring.
    const restarted = await startTestApp({ db, restBaseUrl: rest.baseUrl, env: { RING_SECONDS: '5' } });
    try {
      await until('the call ended', async () => (await db.models.calls.findById(customer).lean().exec()) === null, 5000);
      expect(rest.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/Calls/${customer}.json`)).length).toBeGreaterThanOrEqual(1);
      expect((await app.running.history.find(customer, new Date()))?.endReason).toBe('customer-hung-up');
    } finally {
      await restarted.stop();
    }
  });

  test("when no news of a call comes for a minute, its customer is still up but ana's leg is gone, then her leg is ended here and the customer goes back in line and is rung again; a call asked about is not asked again within the minute", async () => {
    const { customer, anaLeg } = await anaAnswersACall();
    rest.behave({ gone: [anaLeg], callStatus: 'in-progress' });

    expect(await app.running.calls.auditQuietCalls(minuteLater())).toEqual({ checked: 1, ended: 1 });

    expect((await db.models.calls.findById(customer).lean().exec())?.participants.find((l) => l.agentId === 'ana')?.status).toBe('completed');
    // As when her softphone drops: back in line (ana, still signed in, is offered her customer first).
    const [, again] = await dialsCount(2);
    expect(formValue(again!, 'Url')).toBe(`${BASE}/conference/${customer}/connect/${dialledAgent(again!)}`);
    expect(await db.models.calls.findById(customer).lean().exec()).toMatchObject({ status: 'offered', requeued: 1 });
    // Asked again within the minute: nothing (each call is asked about at most once a minute).
    expect(await app.running.calls.auditQuietCalls(minuteLater())).toEqual({ checked: 0, ended: 0 });
  });
});

describe('callbacks in any order decide nothing about a customer who has gone', () => {
  const customerEnds = (customer: string) => [
    () => app.webhook('/conference/events', { FriendlyName: customer, StatusCallbackEvent: 'participant-leave', CallSid: customer, ReasonParticipantLeft: 'participant_hung_up' }).expect(200),
    () => app.webhook('/conference/events', { FriendlyName: customer, StatusCallbackEvent: 'conference-end', ReasonConferenceEnded: 'participant-with-end-conference-on-exit-left' }).expect(200),
  ];

  /** ana talks with a customer while ben is free (so a wrong requeue would ring ben). */
  async function talking(): Promise<{ customer: string; anaLeg: string }> {
    const { customer, anaLeg } = await anaAnswersACall();
    await available('ben', 600_000);
    rest.requests.length = 0;
    return { customer, anaLeg };
  }

  const orders: Array<[string, (c: { customer: string; anaLeg: string }) => Array<() => Promise<unknown>>]> = [
    ["ana's call completed, then (250 ms later) the customer's leave and the conference's end", ({ customer, anaLeg }) => [() => legStatus(customer, 'ana', 'completed', anaLeg), ...customerEnds(customer)]],
    ["ana's leave (the conference ended under her), then the customer's", ({ customer, anaLeg }) => [
      () => app.webhook('/conference/events', { FriendlyName: customer, StatusCallbackEvent: 'participant-leave', CallSid: anaLeg, ReasonParticipantLeft: 'moderator_ended_conference' }).expect(200),
      () => legStatus(customer, 'ana', 'completed', anaLeg),
      ...customerEnds(customer),
    ]],
    ["the conference's end, then ana's call, then the customer's leave", ({ customer, anaLeg }) => [customerEnds(customer)[1]!, () => legStatus(customer, 'ana', 'completed', anaLeg), customerEnds(customer)[0]!]],
    ["the customer's leave, then ana's call and leave", ({ customer, anaLeg }) => [
      customerEnds(customer)[0]!,
      () => legStatus(customer, 'ana', 'completed', anaLeg),
      () => app.webhook('/conference/events', { FriendlyName: customer, StatusCallbackEvent: 'participant-leave', CallSid: anaLeg, ReasonParticipantLeft: 'moderator_ended_conference' }).expect(200),
    ]],
  ];

  test.each(orders)('when the callbacks arrive as %s, then nobody is rung for the departed customer and nobody stays reserved', async (_name, sequence) => {
    const call = await talking();
    for (const step of sequence(call)) {
      await step();
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await new Promise((resolve) => setTimeout(resolve, 700)); // past the settle time (400 ms here)
    await app.running.background.drain();

    expect(dials()).toHaveLength(0);
    expect(await db.models.calls.findById(call.customer).lean().exec()).toBeNull();
    expect(['customer-hung-up', 'conference-ended']).toContain((await app.running.history.find(call.customer, new Date()))?.endReason);
    expect((await app.running.routing.presenceOfAll()).get('ben')?.presence).toBe('available');
  });

  const fetchesOf = (callSid: string) => rest.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/Calls/${callSid}.json`));

  test("when only ana's own call reports its end (the conference says nothing), then after the settle time the customer is not lost: Twilio says they are still there, they go back in line and ring ben", async () => {
    const { customer, anaLeg } = await talking();
    await softphoneGone('ana');
    await legStatus(customer, 'ana', 'completed', anaLeg);
    const [dial] = await dialsCount(1);
    expect(dialledAgent(dial!)).toBe('ben');
    expect(await db.models.calls.findById(customer).lean().exec()).toMatchObject({ status: 'offered', requeued: 1 });
    expect(fetchesOf(customer)).toHaveLength(1);
    expect(fetchesOf(customer)[0]!.receivedAt).toBeLessThan(dial!.receivedAt);
  });

  test("when only ana's own call reports its end and the customer's leave comes seconds late, then Twilio's word that the customer hung up keeps anyone from being rung, and the late leave ends the call", async () => {
    const { customer, anaLeg } = await talking();
    await softphoneGone('ana');
    rest.behave({ callStatus: 'completed' });
    await legStatus(customer, 'ana', 'completed', anaLeg);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // well past the settle time (400 ms here)
    await app.running.routing.dispatch();
    await app.running.background.drain();

    expect(fetchesOf(customer)).toHaveLength(1);
    expect(dials()).toHaveLength(0);
    for (const step of customerEnds(customer)) await step();
    await app.running.background.drain();
    expect(await db.models.calls.findById(customer).lean().exec()).toBeNull();
    expect((await app.running.history.find(customer, new Date()))?.endReason).toBe('customer-hung-up');
    expect((await app.running.routing.presenceOfAll()).get('ben')?.presence).toBe('available');
    expect(dials()).toHaveLength(0);
  });

  test("when Twilio cannot say whether the customer taken back to the line is still there, then they are offered as before", async () => {
    const { customer, anaLeg } = await talking();
    await softphoneGone('ana');
    rest.behave({ error: { status: 503, code: 20003, message: 'Service unavailable' } });
    await legStatus(customer, 'ana', 'completed', anaLeg);
    await until('Twilio asked', () => fetchesOf(customer).length > 0);
    rest.behave({});
    const [dial] = await dialsCount(1);
    expect(dialledAgent(dial!)).toBe('ben');
  });

  test('when the customer hangs up while the dial to an agent has not returned yet, then that ring is stopped as soon as Twilio answers the dial', async () => {
    rest.behave({ hold: true });
    await available('ben');
    const customer = fakeSid();
    await incomingCall(customer);
    await dialsCount(1);

    await customerEnds(customer)[0]!();
    expect(await db.models.calls.findById(customer).lean().exec()).toBeNull();
    rest.behave({});
    rest.release();

    const stop = await until('the ring stopped', () => rest.requests.find((r) => /\/Calls\/CA[0-9a-f]{32}\.json$/.test(r.path) && !r.path.includes(customer) && formValue(r, 'Status') === 'completed'));
    expect(stop).toBeDefined();
    await until('ben free', async () => (await app.running.routing.presenceOfAll()).get('ben')?.presence === 'available');
  });
});

describe('signing in', () => {
  test('when an agent who chose Available in an earlier shift signs in, then they start away and a waiting caller does not ring them until they choose Available', async () => {
    await app.running.presence.choose('dev', 'available');
    await incomingCall(fakeSid());

    const dev = await signIn(app, 'dev');
    await dev.post('/api/me/heartbeat').send({ tab: 'tab-dev-signin-0001', registered: true }).expect(200);
    await new Promise((resolve) => setTimeout(resolve, 400));

    expect((await app.running.presence.get('dev'))?.chosen).toBe('away');
    expect(dials()).toHaveLength(0);
    await dev.post('/api/me/presence').send({ status: 'available' }).expect(200);
    const [dial] = await dialsCount(1);
    expect(dialledAgent(dial!)).toBe('dev');
  });
});
