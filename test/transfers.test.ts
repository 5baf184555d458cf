// Consult transfers over real HTTP, signed webhooks and the REST recorder: what the app asks of Twilio at each step,
// and clear answers to requests that make no sense.
import { addAgent, type AgentClient, type AppSuite, fakeSid, makeAvailable, resetFloor, signedInAgent, softphoneUp, TEST_ENV, type TestApp, useAppSuite } from './helpers/app';
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
  ana = await signedInAgent(app, 'ana');
  ben = await signedInAgent(app, 'ben');
});

beforeEach(async () => {
  await resetFloor(app.running);
  rest.requests.length = 0;
  // ben's page is open: a colleague who can be rung.
  await softphoneUp(ben);
});

async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 8000;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
}

/** Arrange: a customer talks with ana in a started conference. */
async function anaTalking(): Promise<{ customer: string; conferenceSid: string }> {
  await makeAvailable(ana);
  const customer = fakeSid();
  const conferenceSid = fakeSid('CF');
  await app.webhook('/conference/connect/client', { CallSid: customer, From: '+15551112222', To: TEST_ENV.TWILIO_NUMBER }).expect(200);
  await until('ana to be dialled', () => rest.requests.find((r) => formValue(r, 'To') === 'client:ana'));
  const leg = fakeSid();
  await app.webhook(`/conference/${customer}/connect/ana`, { CallSid: leg }).expect(200);
  await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: conferenceSid, StatusCallbackEvent: 'conference-start' }).expect(200);
  rest.requests.length = 0;
  return { customer, conferenceSid };
}

/** Hold and unhold requests for a participant, addressed by its label (the customer's is 'customer'). */
const holdRequests = (conferenceSid: string, label = 'customer'): RecordedRequest[] => rest.requests.filter((r) => r.path === `${ACCOUNT}/Conferences/${conferenceSid}/Participants/${label}.json`);

test('when ana consults ben, then the customer is held with the line music, ben is dialled, and a no-answer takes the customer off hold', async () => {
  const { customer, conferenceSid } = await anaTalking();

  const res = await ana.post('/api/me/consult').send({ to: 'ben', note: 'billing' });

  expect(res.status).toBe(202);
  const hold = await until('the hold', () => holdRequests(conferenceSid)[0]);
  expect(formValue(hold, 'Hold')).toBe('true');
  expect(formValue(hold, 'HoldUrl')).toBe(`${BASE}/conference/wait?call=${customer}&round=1`);
  const dial = await until('ben dialled', () => rest.requests.find((r) => formValue(r, 'To') === 'client:ben'));
  expect(formValue(dial, 'Url')).toBe(`${BASE}/conference/${customer}/connect/ben`);
  const stored = (await db.models.calls.findById(customer).lean().exec())!;
  expect(stored.transfers).toEqual([expect.objectContaining({ from: 'ana', to: 'ben', state: 'dialing', note: 'billing', mode: 'consult' })]);

  // Twilio's callback carries the SID the dial was answered with, which the app stored on ben's leg.
  const legCallSid = (await db.models.calls.findById(customer).lean().exec())!.participants.find((l) => l.agentId === 'ben')!.legCallSid!;
  await app.webhook(`/conference/${customer}/agents/ben/status`, { CallSid: legCallSid, CallStatus: 'no-answer' }).expect(200);

  const unhold = await until('the unhold', () => holdRequests(conferenceSid)[1]);
  expect(formValue(unhold, 'Hold')).toBe('false');
  expect((await db.models.calls.findById(customer).lean().exec())!.transfers[0]!.state).toBe('no-answer');
  expect(await db.connection.collection('reservations').findOne({ _id: 'agent:ben' as never })).toBeNull();
});

test("when ben's consult ring lasts longer than the sweep's grace, then his reservation stays: a new caller does not ring him while it rings", async () => {
  const { customer } = await anaTalking();
  await makeAvailable(ben);
  await ana.post('/api/me/consult').send({ to: 'ben' }).expect(202);
  await until('ben dialled', () => rest.requests.find((r) => formValue(r, 'To') === 'client:ben'));
  // As if he had been ringing for 12 s (the sweep looks at reservations older than 10 s).
  await db.connection.collection('reservations').updateOne({ _id: 'agent:ben' as never }, { $set: { since: new Date(Date.now() - 12_000) } });
  await new Promise((resolve) => setTimeout(resolve, 400));

  const other = fakeSid();
  await app.webhook('/conference/connect/client', { CallSid: other, From: '+15553334444', To: TEST_ENV.TWILIO_NUMBER }).expect(200);
  await new Promise((resolve) => setTimeout(resolve, 600));

  expect(rest.requests.filter((r) => formValue(r, 'To') === 'client:ben')).toHaveLength(1);
  expect(await db.connection.collection('reservations').findOne({ _id: 'agent:ben' as never })).toMatchObject({ callSid: customer, state: 'offered' });
  expect(app.logs.filter((line) => line.includes('outlived its call'))).toEqual([]);
});

test("when ben's page reloads or closes while the consult rings him, then the ring is called off at once and the customer comes off hold, back with ana", async () => {
  const { customer, conferenceSid } = await anaTalking();
  await ana.post('/api/me/consult').send({ to: 'ben' }).expect(202);
  await until('ben dialled', () => rest.requests.find((r) => formValue(r, 'To') === 'client:ben'));
  const benLeg = (await db.models.calls.findById(customer).lean().exec())!.participants.find((l) => l.agentId === 'ben')!.legCallSid!;

  // The closing page's last heartbeat: its softphone is gone.
  await ben.post('/api/me/heartbeat').send({ tab: 'tab-ben-test-0001', registered: false }).expect(200);

  const callOff = await until('the ring called off', () => rest.requests.find((r) => r.path === `${ACCOUNT}/Calls/${benLeg}.json`));
  expect(formValue(callOff, 'Status')).toBe('completed');
  await app.webhook(`/conference/${customer}/agents/ben/status`, { CallSid: benLeg, CallStatus: 'canceled' }).expect(200);
  expect(formValue(await until('the unhold', () => holdRequests(conferenceSid).find((r) => formValue(r, 'Hold') === 'false')), 'Hold')).toBe('false');
  // Ana cancelled nothing: her page says Ben could not be reached.
  expect((await db.models.calls.findById(customer).lean().exec())!.transfers[0]!.state).toBe('failed');
});

test('when the consult is answered and ana completes it, then the customer comes off hold and ana\'s own leg is ended on purpose', async () => {
  const { customer, conferenceSid } = await anaTalking();
  await ana.post('/api/me/consult').send({ to: 'ben' }).expect(202);
  await until('ben dialled', () => rest.requests.find((r) => formValue(r, 'To') === 'client:ben'));
  await app.webhook(`/conference/${customer}/connect/ben`, { CallSid: fakeSid() }).expect(200);
  expect((await db.models.calls.findById(customer).lean().exec())!.transfers[0]!.state).toBe('consulting');
  rest.requests.length = 0;

  const res = await ana.post('/api/me/transfer/complete').send({});

  expect(res.body).toEqual({ state: 'completed' });
  await until('the unhold', () => holdRequests(conferenceSid).find((r) => formValue(r, 'Hold') === 'false'));
  const stored = (await db.models.calls.findById(customer).lean().exec())!;
  const anaLeg = stored.participants.find((l) => l.agentId === 'ana')!;
  expect(anaLeg.hungUp).toBe(true);
  await until('ana\'s leg ended', () => rest.requests.find((r) => r.path === `${ACCOUNT}/Calls/${anaLeg.legCallSid}.json` && formValue(r, 'Status') === 'completed'));
});

/** Arrange: ana consults ben and ben answers; the request log starts empty. */
async function consulting(): Promise<{ customer: string; conferenceSid: string; benLeg: string }> {
  const { customer, conferenceSid } = await anaTalking();
  await ana.post('/api/me/consult').send({ to: 'ben' }).expect(202);
  await until('ben dialled', () => rest.requests.find((r) => formValue(r, 'To') === 'client:ben'));
  const benLeg = (await db.models.calls.findById(customer).lean().exec())!.participants.find((l) => l.agentId === 'ben')!.legCallSid!;
  await app.webhook(`/conference/${customer}/connect/ben`, { CallSid: benLeg }).expect(200);
  rest.requests.length = 0;
  return { customer, conferenceSid, benLeg };
}

test('when ana toggles during the consult, then ben is held and the customer comes back, and toggling again swaps them; completing takes both off hold', async () => {
  const { customer, conferenceSid } = await consulting();

  const toCustomer = await ana.post('/api/me/transfer/toggle').send({});

  expect(toCustomer.body).toEqual({ state: 'consulting', held: 'colleague' });
  const benHeld = await until('ben on hold', () => holdRequests(conferenceSid, 'agent:ben')[0]);
  expect(formValue(benHeld, 'Hold')).toBe('true');
  expect(formValue(benHeld, 'HoldUrl')).toBe(`${BASE}/conference/wait?call=${customer}&round=1`);
  expect(formValue(await until('the customer off hold', () => holdRequests(conferenceSid)[0]), 'Hold')).toBe('false');
  expect((await db.models.calls.findById(customer).lean().exec())!.transfers[0]).toMatchObject({ state: 'consulting', held: 'colleague' });
  rest.requests.length = 0;

  expect((await ana.post('/api/me/transfer/toggle').send({})).body).toEqual({ state: 'consulting', held: 'customer' });
  expect(formValue(await until('the customer on hold again', () => holdRequests(conferenceSid)[0]), 'Hold')).toBe('true');
  expect(formValue(await until('ben off hold', () => holdRequests(conferenceSid, 'agent:ben')[0]), 'Hold')).toBe('false');
  await ana.post('/api/me/transfer/toggle').send({}).expect(200); // ben held again
  // The holds go out after the answer: wait for them, so they are not taken for what completing sends.
  await until('ben on hold again', () => holdRequests(conferenceSid, 'agent:ben').find((r) => formValue(r, 'Hold') === 'true'));
  await until('the customer off hold again', () => holdRequests(conferenceSid).find((r) => formValue(r, 'Hold') === 'false'));
  rest.requests.length = 0;

  expect((await ana.post('/api/me/transfer/complete').send({})).body).toEqual({ state: 'completed' });
  expect(formValue(await until('ben off hold', () => holdRequests(conferenceSid, 'agent:ben')[0]), 'Hold')).toBe('false');
  expect(formValue(await until('the customer off hold', () => holdRequests(conferenceSid)[0]), 'Hold')).toBe('false');
});

test('when ana toggles twice while Twilio answers slowly, then the holds reach Twilio one at a time, in the order decided', async () => {
  const { conferenceSid } = await consulting();
  rest.behave({ delayMs: 300 });
  try {
    await ana.post('/api/me/transfer/toggle').send({}).expect(200);
    await ana.post('/api/me/transfer/toggle').send({}).expect(200);

    const holds = await until('four hold requests', () => {
      const all = rest.requests.filter((r) => r.path.startsWith(`${ACCOUNT}/Conferences/${conferenceSid}/Participants/`));
      return all.length >= 4 ? all : undefined;
    });
    expect(holds.map((r) => `${r.path.split('/').pop()} ${formValue(r, 'Hold')}`)).toEqual(['agent:ben.json true', 'customer.json false', 'customer.json true', 'agent:ben.json false']);
    // Each was sent only once Twilio had answered the one before.
    for (let i = 1; i < holds.length; i += 1) expect(holds[i]!.receivedAt - holds[i - 1]!.receivedAt).toBeGreaterThanOrEqual(250);
  } finally {
    rest.behave({});
  }
});

test('when Twilio fails a hold change once, then it is tried again and lands; when the participant is gone (404), then that is no error', async () => {
  const { conferenceSid } = await consulting();
  const errorsBefore = app.logs.filter((line) => / ERROR /.test(line)).length;
  rest.behave({ error: { status: 503, code: 20003, message: 'Service unavailable' } });
  try {
    await ana.post('/api/me/transfer/toggle').send({}).expect(200);
    await until('the first, failed attempt', () => holdRequests(conferenceSid, 'agent:ben')[0]);
    rest.behave({});
    const second = await until('the second attempt', () => holdRequests(conferenceSid, 'agent:ben')[1]);
    expect(formValue(second, 'Hold')).toBe('true');
    expect(formValue(await until('then the customer off hold', () => holdRequests(conferenceSid)[0]), 'Hold')).toBe('false');

    rest.requests.length = 0;
    rest.behave({ error: { status: 404, code: 20404, message: 'The requested resource was not found' } });
    await ana.post('/api/me/transfer/toggle').send({}).expect(200);
    await until('both hold changes tried', () => (holdRequests(conferenceSid).length >= 1 && holdRequests(conferenceSid, 'agent:ben').length >= 1 ? true : undefined));
    await app.running.background.drain();
    expect(holdRequests(conferenceSid)).toHaveLength(1); // not retried: the participant is gone
    expect(app.logs.filter((line) => / ERROR /.test(line))).toHaveLength(errorsBefore);
  } finally {
    rest.behave({});
  }
});

test('when someone other than the transferring agent, or nobody in a consult, toggles, then it is refused with a reason', async () => {
  expect((await ana.post('/api/me/transfer/toggle').send({})).status).toBe(404); // no call at all
  await anaTalking();
  const none = await ana.post('/api/me/transfer/toggle').send({});
  expect(none.status).toBe(409);
  expect(none.text).toMatch(/no transfer under way/);
  await ana.post('/api/me/consult').send({ to: 'ben' }).expect(202);
  const ringing = await ana.post('/api/me/transfer/toggle').send({});
  expect(ringing.status).toBe(409);
  expect(ringing.text).toMatch(/has not answered yet/);
  expect((await ana.post('/api/me/transfer/nonsense').send({})).status).toBe(404);
});

test('when ana\'s softphone drops during the consult, then ben keeps the customer: the transfer completes and the customer comes off hold', async () => {
  const { customer, conferenceSid } = await consulting();
  const anaLeg = (await db.models.calls.findById(customer).lean().exec())!.participants.find((l) => l.agentId === 'ana')!.legCallSid!;

  await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-leave', CallSid: anaLeg, ReasonParticipantLeft: 'participant_hung_up', ParticipantCallStatus: 'completed' }).expect(200);

  expect(formValue(await until('the customer off hold', () => holdRequests(conferenceSid)[0]), 'Hold')).toBe('false');
  const stored = (await db.models.calls.findById(customer).lean().exec())!;
  expect(stored).toMatchObject({ status: 'in-progress', transfers: [expect.objectContaining({ state: 'completed' })] });
  expect(rest.requests.some((r) => formValue(r, 'Twiml')?.includes('Hangup'))).toBe(false); // nobody said goodbye
});

test('when ana hangs up while ben\'s phone still rings and ben then answers, then ben simply has the customer, off hold', async () => {
  const { customer, conferenceSid } = await anaTalking();
  await ana.post('/api/me/consult').send({ to: 'ben' }).expect(202);
  await until('ben dialled', () => rest.requests.find((r) => formValue(r, 'To') === 'client:ben'));
  const anaLeg = (await db.models.calls.findById(customer).lean().exec())!.participants.find((l) => l.agentId === 'ana')!.legCallSid!;
  await ana.post('/api/me/hangup').send({}).expect(200);
  await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-leave', CallSid: anaLeg, ReasonParticipantLeft: 'participant_updated_via_api', ParticipantCallStatus: 'completed' }).expect(200);
  expect((await db.models.calls.findById(customer).lean().exec())!.transfers[0]!.state).toBe('dialing');
  rest.requests.length = 0;

  const benLeg = (await db.models.calls.findById(customer).lean().exec())!.participants.find((l) => l.agentId === 'ben')!.legCallSid!;
  await app.webhook(`/conference/${customer}/connect/ben`, { CallSid: benLeg }).expect(200);

  expect(formValue(await until('the customer off hold', () => holdRequests(conferenceSid)[0]), 'Hold')).toBe('false');
  expect((await db.models.calls.findById(customer).lean().exec())!).toMatchObject({ status: 'in-progress', agentId: 'ben', transfers: [expect.objectContaining({ state: 'completed' })] });
});

test('when ana hangs up while ben\'s phone still rings and ben does not answer, then the customer goes back in line, not goodbye', async () => {
  const { customer, conferenceSid } = await anaTalking();
  await ana.post('/api/me/consult').send({ to: 'ben' }).expect(202);
  await until('ben dialled', () => rest.requests.find((r) => formValue(r, 'To') === 'client:ben'));
  const participants = (await db.models.calls.findById(customer).lean().exec())!.participants;
  await ana.post('/api/me/hangup').send({}).expect(200);
  await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-leave', CallSid: participants.find((l) => l.agentId === 'ana')!.legCallSid!, ReasonParticipantLeft: 'participant_updated_via_api', ParticipantCallStatus: 'completed' }).expect(200);
  rest.requests.length = 0;

  await app.webhook(`/conference/${customer}/agents/ben/status`, { CallSid: participants.find((l) => l.agentId === 'ben')!.legCallSid!, CallStatus: 'no-answer' }).expect(200);

  expect(await db.models.calls.findById(customer).lean().exec()).toMatchObject({ status: 'waiting', customerHeld: true });
  expect(rest.requests.some((r) => formValue(r, 'Twiml')?.includes('Hangup'))).toBe(false);
});

test('when the conference reports holds and departures, then the history keeps them: who was held, for how long, who left and why, who hung up', async () => {
  const { customer, conferenceSid, benLeg } = await consulting();
  const anaLeg = (await db.models.calls.findById(customer).lean().exec())!.participants.find((l) => l.agentId === 'ana')!.legCallSid!;
  const event = (fields: Record<string, string>) => app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: conferenceSid, ...fields }).expect(200);
  await event({ StatusCallbackEvent: 'participant-hold', CallSid: customer, ParticipantLabel: 'customer', Hold: 'true' });
  await ana.post('/api/me/transfer/toggle').send({}).expect(200);
  await event({ StatusCallbackEvent: 'participant-hold', CallSid: benLeg, ParticipantLabel: 'agent:ben', Hold: 'true' });
  await event({ StatusCallbackEvent: 'participant-unhold', CallSid: customer, ParticipantLabel: 'customer', Hold: 'false' });
  await ana.post('/api/me/transfer/complete').send({}).expect(200);
  await event({ StatusCallbackEvent: 'participant-unhold', CallSid: benLeg, ParticipantLabel: 'agent:ben', Hold: 'false' });
  await event({ StatusCallbackEvent: 'participant-leave', CallSid: anaLeg, ParticipantLabel: 'agent:ana', ReasonParticipantLeft: 'participant_updated_via_api', ParticipantCallStatus: 'completed' });

  await event({ StatusCallbackEvent: 'participant-leave', CallSid: customer, ParticipantLabel: 'customer', ReasonParticipantLeft: 'participant_hung_up', ParticipantCallStatus: 'completed' });

  const history = (await app.running.history.find(customer, new Date()))!;
  expect(history).toMatchObject({ hungUpBy: 'customer', endReason: 'customer-hung-up', agentIds: ['ana', 'ben'], transfers: [expect.objectContaining({ mode: 'consult', outcome: 'completed' })] });
  expect(history.holdSeconds ?? 0).toBeGreaterThanOrEqual(0);
  const kinds = history.timeline.map((e) => `${e.kind}${e.agentId ? ` ${e.agentId}` : ''}${e.mode ? ` (${e.mode}: ${e.outcome})` : e.detail ? ` (${e.detail})` : ''}`);
  expect(kinds).toEqual(
    expect.arrayContaining(['customer-held', 'hold ben', 'customer-unheld', 'unhold ben', 'left ana (completed the transfer)', 'answered ben', 'customer-left (participant_hung_up)', 'transfer ana (consult: completed)']),
  );
  const order = ['customer-held', 'hold ben', 'customer-unheld', 'unhold ben', 'left ana (completed the transfer)', 'customer-left (participant_hung_up)'].map((k) => kinds.indexOf(k));
  expect([...order].sort((a, b) => a - b)).toEqual(order);
});

test('when a live call was stored by the earlier version (legs marked first/transfer), then the next webhook finds its agent and rewrites it as participants', async () => {
  const customer = fakeSid();
  const anaLeg = fakeSid();
  const now = new Date();
  await db.connection.collection('calls').insertOne({
    _id: customer as never,
    conferenceName: customer,
    status: 'in-progress',
    agentId: 'ana',
    legs: [{ agentId: 'ana', role: 'first', status: 'in-progress', legCallSid: anaLeg, createdAt: now, updatedAt: now }],
    passedBy: [],
    transfers: [],
    answeredAt: now,
    rev: 4,
    createdAt: now,
    updatedAt: now,
  });

  await app.webhook(`/conference/${customer}/agents/ana/status`, { CallSid: anaLeg, CallStatus: 'completed' }).expect(200);

  const stored = (await db.connection.collection('calls').findOne({ _id: customer as never }))!;
  expect(stored.legs).toBeUndefined();
  expect(stored.participants).toEqual([expect.objectContaining({ agentId: 'ana', role: 'offer', status: 'completed' })]);
});

test('when ana consults, brings in or cold-transfers to a colleague whose page is closed, then it is refused with the reason, the customer is not held and nobody is rung', async () => {
  await addAgent(app, 'cal', { name: 'Cal' }); // an account with no page open: offline
  const { customer, conferenceSid } = await anaTalking();

  const consult = await ana.post('/api/me/consult').send({ to: 'cal' });
  const cold = await ana.post('/api/me/transfer-cold').send({ to: 'cal' });
  const bringIn = await ana.post('/conference/ana/call').send({ to: 'cal' });

  for (const res of [consult, cold, bringIn]) {
    expect(res.status).toBe(409);
    expect(res.body.error).toBe('Cal is offline: their softphone is not connected.');
  }
  expect(rest.requests.filter((r) => r.path.endsWith('/Calls.json') || r.path.includes(`/Conferences/${conferenceSid}/`))).toEqual([]);
  expect(await db.models.calls.findById(customer).lean().exec()).toMatchObject({ status: 'in-progress', participants: [expect.objectContaining({ agentId: 'ana', status: 'in-progress' })] });
});

test('when requests make no sense, then they get clear 4xx answers and nothing is dialled', async () => {
  expect((await ana.post('/api/me/consult').send({ to: 'ben' })).status).toBe(404); // no call
  expect((await ana.post('/api/me/transfer/complete').send({})).status).toBe(404);
  await anaTalking();
  const self = await ana.post('/api/me/consult').send({ to: 'ana' });
  expect(self.status).toBe(409);
  expect(self.body.error).toMatch(/You cannot consult yourself/);
  expect((await ana.post('/api/me/consult').send({ to: 'nobody' })).status).toBe(404);
  expect((await ana.post('/api/me/consult').send({ to: '' })).status).toBe(400);
  expect((await ana.post('/api/me/consult').send({ to: 'ben', note: 'x'.repeat(501) })).status).toBe(400);
  expect((await ana.post('/api/me/transfer/explode').send({})).status).toBe(404);
  const none = await ana.post('/api/me/transfer/complete').send({});
  expect(none.status).toBe(409);
  expect(none.body.error).toMatch(/no transfer/i);
  expect((await ben.post('/api/me/transfer/cancel').send({})).status).toBe(404); // ben has no call
  expect(rest.requests.filter((r) => r.path.endsWith('/Calls.json'))).toHaveLength(0);
  expect(app.logs.filter((line) => / ERROR /.test(line))).toEqual([]);
});

test('when ana transfers the call back to the line, then she leaves at once, the customer waits on hold at the front, and the next free agent gets them', async () => {
  const { customer, conferenceSid } = await anaTalking();
  const anaLeg = (await db.models.calls.findById(customer).lean().exec())!.participants.find((l) => l.agentId === 'ana')!.legCallSid!;

  const res = await ana.post('/api/me/transfer-cold').send({ to: 'queue', note: 'wrong department' });

  expect(res.status).toBe(202);
  expect(res.body).toMatchObject({ to: 'queue' });
  await until('the hold', () => holdRequests(conferenceSid).find((r) => formValue(r, 'Hold') === 'true'));
  await until('ana\'s leg ended', () => rest.requests.find((r) => r.path === `${ACCOUNT}/Calls/${anaLeg}.json` && formValue(r, 'Status') === 'completed'));
  const stored = (await db.models.calls.findById(customer).lean().exec())!;
  expect(stored).toMatchObject({ status: 'waiting', customerHeld: true });
  expect(stored.transfers).toEqual([expect.objectContaining({ from: 'ana', to: 'queue', mode: 'cold', state: 'completed', note: 'wrong department' })]);
  // ana's leg leaving does not say goodbye to the customer.
  await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-leave', CallSid: anaLeg }).expect(200);
  expect(rest.requests.some((r) => formValue(r, 'Twiml')?.includes('Hangup'))).toBe(false);

  await makeAvailable(ben);
  const dial = await until('ben offered the call', () => rest.requests.find((r) => formValue(r, 'Url') === `${BASE}/conference/${customer}/connect/ben`));
  expect(formValue(dial, 'To')).toBe('client:ben');
  // ben's ringing page is told the caller is back in line, and since when (not their first wait, which ended at ana's answer).
  const benState = (await ben.get('/api/me').expect(200)).body;
  expect(benState.call).toMatchObject({ status: 'offered', callSid: customer, backInLineSeconds: expect.any(Number) });
  expect(benState.call.backInLineSeconds).toBeLessThan(30);
  expect((await ana.get('/api/me').expect(200)).body.call).toBeNull();
});

test('when a cold transfer makes no sense, then it gets a clear 4xx and the call stays with the agent', async () => {
  const { customer } = await anaTalking();
  expect((await ana.post('/api/me/transfer-cold').send({ to: 'ana' })).status).toBe(409);
  expect((await ana.post('/api/me/transfer-cold').send({ to: 'nobody' })).status).toBe(404);
  expect((await ana.post('/api/me/transfer-cold').send({})).status).toBe(400);
  expect((await ben.post('/api/me/transfer-cold').send({ to: 'ana' })).status).toBe(404); // ben has no call
  expect(await db.models.calls.findById(customer).lean().exec()).toMatchObject({ status: 'in-progress', agentId: 'ana' });
});

test('when the page asks for a transfer action that does not exist, then the answer is 404 naming the actions there are', async () => {
  const res = await ana.post('/api/me/transfer/teleport').send({});
  expect(res.status).toBe(404);
  expect(res.body.error).toBe('Unknown transfer action: choose one of complete, merge, cancel, toggle.');
});

test("when a cold transfer's colleague answers but their answer reaches the app after the customer left, then they are told the call is gone, never join, and the history says the transfer did not complete", async () => {
  // Arrange: ana transfers the call cold to ben; ben's phone rings.
  const { customer, conferenceSid } = await anaTalking();
  await makeAvailable(ben);
  await ana.post('/api/me/transfer-cold').send({ to: 'ben' }).expect(202);
  const dial = await until('ben dialled', () => rest.requests.find((r) => formValue(r, 'To') === 'client:ben'));
  expect(formValue(dial, 'Url')).toBe(`${BASE}/conference/${customer}/connect/ben`);
  const benLeg = (await db.models.calls.findById(customer).lean().exec())!.participants.find((l) => l.agentId === 'ben')!.legCallSid!;

  // Act: ben answers on the softphone, but the customer's leave reaches the app before ben's connect webhook does.
  await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-leave', CallSid: customer, ParticipantLabel: 'customer', ReasonParticipantLeft: 'participant_hung_up' }).expect(200);
  const connect = await app.webhook(`/conference/${customer}/connect/ben`, { CallSid: benLeg }).expect(200);
  await app.running.background.drain();

  // Assert: ben hears that the call is gone (no conference to join), so never talks with the customer; the history agrees.
  expect(connect.text).not.toContain('<Conference');
  expect(connect.text).toContain('no longer available');
  const history = await app.running.history.find(customer, new Date());
  expect(history).toMatchObject({ agentIds: ['ana'], hungUpBy: 'customer' });
  expect(history!.transfers).toEqual([expect.objectContaining({ mode: 'cold', from: 'ana', to: 'ben' })]);
  expect(history!.transfers[0]!.outcome).not.toBe('completed');
});

test("when a cold transfer's colleague answers into a new conference of the call's name (the customer's ended under it) and that leg's end reaches the app before the customer's leave, then the call is offered to nobody else and ends as the customer's hang-up", async () => {
  // Arrange: ana transfers the call cold to ben; her leg ends; ben's phone rings.
  const { customer, conferenceSid } = await anaTalking();
  await makeAvailable(ben);
  const legOf = async (agentId: string) => (await db.models.calls.findById(customer).lean().exec())!.participants.find((l) => l.agentId === agentId)!.legCallSid!;
  const anaLeg = await legOf('ana');
  await ana.post('/api/me/transfer-cold').send({ to: 'ben' }).expect(202);
  await until('ben dialled', () => rest.requests.find((r) => formValue(r, 'To') === 'client:ben'));
  const benLeg = await legOf('ben');
  await app.webhook(`/conference/${customer}/agents/ana/status`, { CallSid: anaLeg, CallStatus: 'completed' }).expect(200);
  await app.running.background.drain();
  const holds = (): RecordedRequest[] => holdRequests(conferenceSid).filter((r) => formValue(r, 'Hold') === 'true');
  const transferHolds = holds().length;

  // Act: the customer hangs up, but their leave is slow to reach the app: ben's answer comes first, and his leg joins
  // a new conference of the call's name. The app hangs it up; the leg leaves it, ends, and that conference ends.
  const other = fakeSid('CF');
  await app.webhook(`/conference/${customer}/agents/ben/status`, { CallSid: benLeg, CallStatus: 'in-progress' }).expect(200);
  expect((await app.webhook(`/conference/${customer}/connect/ben`, { CallSid: benLeg }).expect(200)).text).toContain('<Conference');
  await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: other, StatusCallbackEvent: 'participant-join', CallSid: benLeg, ParticipantLabel: 'agent:ben' }).expect(200);
  await until('ben hung up', () => rest.requests.find((r) => r.path === `${ACCOUNT}/Calls/${benLeg}.json` && formValue(r, 'Status') === 'completed'));
  await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: other, StatusCallbackEvent: 'participant-leave', CallSid: benLeg, ParticipantLabel: 'agent:ben', ReasonParticipantLeft: 'participant_updated_via_api' }).expect(200);
  await app.webhook(`/conference/${customer}/agents/ben/status`, { CallSid: benLeg, CallStatus: 'completed' }).expect(200);
  await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: other, StatusCallbackEvent: 'conference-end', ReasonConferenceEnded: 'last-participant-left' }).expect(200);
  // Longer than the leave's settle time (2 s), after which a customer taken for still there would be rung for again.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  await app.running.background.drain();

  // Assert: nobody else was dialled and the customer was not put on hold again for the line; the call is still live...
  const dialsAfterBen = rest.requests.filter((r) => r.path === `${ACCOUNT}/Calls.json` && formValue(r, 'To') !== 'client:ben');
  expect(dialsAfterBen).toEqual([]);
  expect(holds()).toHaveLength(transferHolds);
  expect((await db.models.calls.findById(customer).lean().exec())?.status).not.toBe('waiting');

  // ...until the customer's own leave comes: then it ends as their hang-up.
  await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-leave', CallSid: customer, ParticipantLabel: 'customer', ReasonParticipantLeft: 'participant_hung_up' }).expect(200);
  await app.running.background.drain();
  expect(await db.models.calls.findById(customer).lean().exec()).toBeNull();
  expect(await app.running.history.find(customer, new Date())).toMatchObject({ hungUpBy: 'customer' });
});
