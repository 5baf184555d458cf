// Supervisors on a call over real HTTP, signed webhooks and the REST recorder (every request checked against Twilio's
// OpenAPI spec): listen, coach, barge and leave as Participants create/update; agents refused; the customer's call
// surviving whatever the supervisor's leg does; the history's timeline; agents asking for help.
import { type AgentClient, type AppSuite, fakeSid, makeAvailable, resetFloor, signedInAgent, softphoneUp, TEST_ENV, type TestApp, useAppSuite } from './helpers/app';
import { formValue, type RecordedRequest } from './helpers/rest-recorder';

const suite = useAppSuite({ env: { RING_SECONDS: '5', WRAP_UP_SECONDS: '0' } });
let db: AppSuite['db'];
let rest: AppSuite['rest'];
let app: TestApp;
let ana: AgentClient;
let ben: AgentClient;
let sue: AgentClient;
let root: AgentClient;
const BASE = TEST_ENV.PUBLIC_BASE_URL;
const ACCOUNT = `/2010-04-01/Accounts/${TEST_ENV.TWILIO_ACCOUNT_SID}`;

beforeAll(async () => {
  ({ db, rest, app } = suite);
  ana = await signedInAgent(app, 'ana', { name: 'Ana' });
  ben = await signedInAgent(app, 'ben', { name: 'Ben' });
  sue = await signedInAgent(app, 'sue', { name: 'Sue', role: 'supervisor' });
  root = await signedInAgent(app, 'root', { name: 'Root', role: 'admin' });
});

beforeEach(async () => {
  await resetFloor(app.running);
  rest.requests.length = 0;
  rest.behave({});
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

/** Arrange: a customer talks with `agent` in a started conference. */
async function talking(agent: AgentClient = ana): Promise<{ customer: string; conferenceSid: string; leg: string }> {
  await makeAvailable(agent);
  const customer = fakeSid();
  const conferenceSid = fakeSid('CF');
  await app.webhook('/conference/connect/client', { CallSid: customer, From: '+15551112222', To: TEST_ENV.TWILIO_NUMBER }).expect(200);
  await until(`${agent.agentId} to be dialled`, () => rest.requests.find((r) => formValue(r, 'To') === `client:${agent.agentId}`));
  const leg = fakeSid();
  await app.webhook(`/conference/${customer}/connect/${agent.agentId}`, { CallSid: leg }).expect(200);
  await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: conferenceSid, StatusCallbackEvent: 'conference-start' }).expect(200);
  rest.requests.length = 0;
  return { customer, conferenceSid, leg };
}

const creates = (conferenceSid: string): RecordedRequest[] => rest.requests.filter((r) => r.method === 'POST' && r.path === `${ACCOUNT}/Conferences/${conferenceSid}/Participants.json`);
const updates = (conferenceSid: string, label: string): RecordedRequest[] => rest.requests.filter((r) => decodeURIComponent(r.path) === `${ACCOUNT}/Conferences/${conferenceSid}/Participants/${label}.json`);
const callUpdates = (callSid: string): RecordedRequest[] => rest.requests.filter((r) => r.path === `${ACCOUNT}/Calls/${callSid}.json`);

/** Sue joins `customer`'s call in `mode`, and her softphone answers (Twilio's status callback for her leg). */
async function sueJoins(customer: string, conferenceSid: string, mode: 'listen' | 'coach' | 'barge' = 'listen'): Promise<string> {
  const res = await sue.post(`/api/calls/${customer}/supervise`).send({ mode });
  expect(res.status).toBe(202);
  const created = await until('the participant create', () => creates(conferenceSid)[0]);
  const legCallSid = await until('the leg kept', async () => (await db.models.calls.findById(customer).lean().exec())?.supervisors?.[0]?.legCallSid);
  await app.webhook(`/conference/${customer}/supervisors/sue/status`, { CallSid: legCallSid, CallStatus: 'in-progress' }).expect(200);
  expect(created).toBeDefined();
  return legCallSid;
}

/** The customer hangs up: the conference reports their leaving; the call moves to the history. */
async function customerHangsUp(customer: string, conferenceSid: string): Promise<void> {
  await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-leave', CallSid: customer, ParticipantLabel: 'customer', ReasonParticipantLeft: 'participant_hung_up', ParticipantCallStatus: 'completed' }).expect(200);
  await until('the call in the history', async () => (await db.models.calls.findById(customer).lean().exec()) === null);
}

describe('listen, coach, barge, leave', () => {
  test('when Sue listens, then her softphone is added to the conference muted, labelled supervisor:sue, never starting or ending it, and Ana\'s page says a supervisor is listening', async () => {
    const { customer, conferenceSid } = await talking();

    const res = await sue.post(`/api/calls/${customer}/supervise`).send({ mode: 'listen' });

    expect(res.status).toBe(202);
    expect(res.body).toEqual({ mode: 'listen', status: 'dialing' });
    const create = await until('the participant create', () => creates(conferenceSid)[0]);
    expect(create.form).toMatchObject({
      To: ['client:supervisor_sue'],
      From: [TEST_ENV.TWILIO_NUMBER],
      Label: ['supervisor:sue'],
      Muted: ['true'],
      Coaching: ['false'],
      StartConferenceOnEnter: ['false'],
      EndConferenceOnExit: ['false'],
      StatusCallback: [`${BASE}/conference/${customer}/supervisors/sue/status`],
      StatusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
    });
    expect(create.form.CallSidToCoach).toBeUndefined();
    const me = (await ana.get('/api/me')).body;
    expect(me.call.supervisors).toEqual([expect.objectContaining({ supervisorId: 'sue', name: 'Sue', mode: 'listen' })]);
    const board = (await sue.get('/api/board')).body;
    expect(board.calls[0].supervisors).toEqual([expect.objectContaining({ supervisorId: 'sue', mode: 'listen' })]);
    // Sue never counts as an agent: the call is still Ana's, with Ana its only participant.
    const stored = (await db.models.calls.findById(customer).lean().exec())!;
    expect(stored.agentId).toBe('ana');
    expect(stored.participants.map((p) => p.agentId)).toEqual(['ana']);
  });

  test('when Sue switches to coach, then barge, then leaves, then Twilio is asked for Coaching with Ana\'s leg, then neither, then her leg ends; the call goes on and the history keeps each step with who and which mode', async () => {
    const { customer, conferenceSid, leg } = await talking();
    const sueLeg = await sueJoins(customer, conferenceSid, 'listen');

    const coach = await sue.post(`/api/calls/${customer}/supervise`).send({ mode: 'coach' });
    expect(coach.status).toBe(200);
    const toCoach = (await until('the coach update', () => updates(conferenceSid, 'supervisor:sue')[0]))!;
    expect(toCoach.form).toMatchObject({ Muted: ['false'], Coaching: ['true'], CallSidToCoach: [leg] });
    expect((await ana.get('/api/me')).body.call.supervisors[0]).toMatchObject({ mode: 'coach', coaching: 'ana', coachingName: 'Ana' });

    await sue.post(`/api/calls/${customer}/supervise`).send({ mode: 'barge' }).expect(200);
    const toBarge = (await until('the barge update', () => updates(conferenceSid, 'supervisor:sue')[1]))!;
    expect(toBarge.form).toMatchObject({ Muted: ['false'], Coaching: ['false'] });
    expect(toBarge.form.CallSidToCoach).toBeUndefined();

    const left = await sue.post(`/api/calls/${customer}/leave`).send({});
    expect(left.status).toBe(200);
    expect(formValue(await until('Sue\'s leg ended', () => callUpdates(sueLeg)[0]), 'Status')).toBe('completed');
    // Twilio then reports her call's end: written once.
    await app.webhook(`/conference/${customer}/supervisors/sue/status`, { CallSid: sueLeg, CallStatus: 'completed' }).expect(200);
    await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-leave', CallSid: sueLeg, ParticipantLabel: 'supervisor:sue', ReasonParticipantLeft: 'participant_updated_via_api', ParticipantCallStatus: 'completed' }).expect(200);

    // The customer's call is untouched: still Ana's, nobody held, nobody hung up but Sue.
    const stored = (await db.models.calls.findById(customer).lean().exec())!;
    expect(stored.status).toBe('in-progress');
    expect(stored.participants[0]).toMatchObject({ agentId: 'ana', status: 'in-progress' });
    expect(rest.requests.filter((r) => r.path.includes(`/Calls/${customer}`) || r.path.endsWith('/Participants/customer.json'))).toEqual([]);
    expect((await ana.get('/api/me')).body.call.supervisors).toEqual([]);
    await customerHangsUp(customer, conferenceSid);
    const record = (await app.running.history.find(customer, new Date()))!;
    const steps = record.timeline.filter((e) => e.kind.startsWith('supervisor-')).map((e) => [e.kind, e.agentId, e.detail]);
    expect(steps).toEqual([
      ['supervisor-joined', 'sue', 'listening'],
      ['supervisor-mode', 'sue', 'coaching ana'],
      ['supervisor-mode', 'sue', 'in the call (barge)'],
      ['supervisor-left', 'sue', 'pressed Leave'],
    ]);
    expect(record.agentIds).toEqual(['ana']);
    const page = await sue.get(`/history/${record.startedAt.toISOString().slice(0, 10)}/${customer}`).set('Accept', 'text/html');
    expect(page.text).toContain('Supervisor joined:');
  });

  test('when the same join arrives 30 times at once, then one supervisor leg is dialled', async () => {
    const { customer, conferenceSid } = await talking();

    const answers = await Promise.all(Array.from({ length: 30 }, () => sue.post(`/api/calls/${customer}/supervise`).send({ mode: 'listen' })));

    expect(answers.map((a) => a.status).sort()).toEqual([...Array(29).fill(200), 202]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(creates(conferenceSid)).toHaveLength(1);
    expect((await db.models.calls.findById(customer).lean().exec())!.supervisors).toHaveLength(1);
  });

  test('when an admin barges, then they join heard by all (an admin may do what a supervisor does)', async () => {
    const { customer, conferenceSid } = await talking();

    await root.post(`/api/calls/${customer}/supervise`).send({ mode: 'barge' }).expect(202);

    const create = await until('the participant create', () => creates(conferenceSid)[0]);
    expect(create.form).toMatchObject({ To: ['client:supervisor_root'], Label: ['supervisor:root'], Muted: ['false'], Coaching: ['false'] });
  });
});

describe('who may, and bad input', () => {
  test('when an agent tries any supervisor action, then each answers 403 with a message and nothing reaches Twilio', async () => {
    const { customer } = await talking();

    const tries = [
      await ben.post(`/api/calls/${customer}/supervise`).send({ mode: 'listen' }),
      await ben.post(`/api/calls/${customer}/supervise`).send({ mode: 'coach' }),
      await ben.post(`/api/calls/${customer}/supervise`).send({ mode: 'barge' }),
      await ben.post(`/api/calls/${customer}/leave`).send({}),
      await ben.post('/api/supervisor/token').send({}),
      await ana.post(`/api/calls/${customer}/supervise`).send({ mode: 'listen' }),
    ];

    for (const t of tries) {
      expect(t.status).toBe(403);
      expect(t.body.error).toMatch(/Only supervisor or admin accounts may do this/);
    }
    expect(rest.requests).toEqual([]);
  });

  test('when the request is wrong, then it answers 4xx with a clear message, never a 500, and dials nobody', async () => {
    const { customer } = await talking();
    const waiting = fakeSid();
    await app.webhook('/conference/connect/client', { CallSid: waiting, From: '+15553334444', To: TEST_ENV.TWILIO_NUMBER }).expect(200);
    rest.requests.length = 0;

    const cases: Array<[Promise<{ status: number; body: { error?: string } }>, number, RegExp]> = [
      [sue.post(`/api/calls/${customer}/supervise`).send({ mode: 'whisper' }), 400, /listen, coach or barge/],
      [sue.post(`/api/calls/${customer}/supervise`).send({}), 400, /mode/],
      [sue.post(`/api/calls/${customer}/supervise`).send({ mode: 'listen', extra: 1 }), 400, /extra/],
      [sue.post('/api/calls/not-a-call/supervise').send({ mode: 'listen' }), 400, /CallSid/],
      [sue.post(`/api/calls/${fakeSid()}/supervise`).send({ mode: 'listen' }), 404, /does not exist or has ended/],
      [sue.post(`/api/calls/${waiting}/supervise`).send({ mode: 'listen' }), 409, /in progress/],
      [sue.post(`/api/calls/${customer}/supervise`).send({ mode: 'listen', agentId: 'ana' }), 400, /Only coaching names an agent/],
      [sue.post(`/api/calls/${customer}/supervise`).send({ mode: 'coach', agentId: 'ben' }), 409, /ben is not talking on this call/],
      [sue.post(`/api/calls/${customer}/leave`).send({}), 404, /not on this call/],
      [sue.post(`/api/calls/${customer}/supervise`).type('form').set('Accept', 'application/json').send('mode=listen'), 415, /JSON/],
    ];
    for (const [pending, status, message] of cases) {
      const res = await pending;
      expect({ status: res.status, error: res.body.error }).toEqual({ status, error: expect.stringMatching(message) });
    }
    expect(rest.requests).toEqual([]);
  });

  test('when Sue switches while her softphone still rings, then she is told to answer first', async () => {
    const { customer } = await talking();
    await sue.post(`/api/calls/${customer}/supervise`).send({ mode: 'listen' }).expect(202);

    const early = await sue.post(`/api/calls/${customer}/supervise`).send({ mode: 'barge' });

    expect(early.status).toBe(409);
    expect(early.body.error).toMatch(/still ringing/);
  });

  test('when Sue listens again at once after leaving and Twilio still holds her label (16026), then the add is tried again and she joins', async () => {
    const { customer, conferenceSid } = await talking();
    await sueJoins(customer, conferenceSid, 'listen');
    await sue.post(`/api/calls/${customer}/leave`).send({}).expect(200);
    rest.requests.length = 0;
    rest.behave({ error: { status: 400, code: 16026, message: 'Participant label is in use by another participant' } });

    const again = sue.post(`/api/calls/${customer}/supervise`).send({ mode: 'listen' }).then((res) => res);
    await until('the refused create', () => creates(conferenceSid)[0]);
    rest.behave({});
    const res = await again;

    expect(res.status).toBe(202);
    expect(creates(conferenceSid).length).toBeGreaterThanOrEqual(2);
    expect(formValue(creates(conferenceSid).at(-1)!, 'Label')).toBe('supervisor:sue');
  });

  test('when Twilio refuses the participant, then Sue hears why (502), her leg is marked failed in the history, and the call is untouched', async () => {
    const { customer, conferenceSid } = await talking();
    rest.behave({ error: { status: 400, code: 16028, message: 'Participant to be whispered is not present in the conference' } });

    const res = await sue.post(`/api/calls/${customer}/supervise`).send({ mode: 'coach' });

    expect(res.status).toBe(502);
    expect(res.body.error).toMatch(/16028/);
    rest.behave({});
    const stored = (await db.models.calls.findById(customer).lean().exec())!;
    expect(stored.supervisors?.[0]).toMatchObject({ status: 'failed' });
    expect(stored.status).toBe('in-progress');
    // She may try again: a new leg.
    await sue.post(`/api/calls/${customer}/supervise`).send({ mode: 'listen' }).expect(202);
    await until('the second create', () => creates(conferenceSid)[1]);
  });
});

describe('the customer survives the supervisor', () => {
  test('when the coached agent\'s softphone drops, then the customer goes back to the line on hold (a supervisor is no agent) and the coach leaves the call, told why: the next agent\'s call starts unsupervised', async () => {
    const { customer, conferenceSid, leg } = await talking();
    const sueLeg = await sueJoins(customer, conferenceSid, 'coach');
    rest.requests.length = 0;

    await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-leave', CallSid: leg, ParticipantLabel: 'agent:ana', ReasonParticipantLeft: 'participant_hung_up', ParticipantCallStatus: 'completed' }).expect(200);

    const ended = await until('Sue\'s leg ended', () => callUpdates(sueLeg)[0]);
    expect(formValue(ended, 'Status')).toBe('completed');
    expect(updates(conferenceSid, 'supervisor:sue')).toEqual([]);
    const stored = (await db.models.calls.findById(customer).lean().exec())!;
    expect(stored.supervisors![0]).toMatchObject({ status: 'completed', notice: 'ana left and the caller went back to the line: you left the call.' });
    expect(stored.events!.slice(-1).map((e) => [e.kind, e.label, e.reason])).toEqual([['supervisor-left', 'supervisor:sue', 'the call went back to the line']]);
    // Back in line (offered first to Ana for the reconnect grace): routed like any dropped call, the supervisor no agent.
    expect(['waiting', 'offered']).toContain(stored.status);
    expect(stored.customerHeld).toBe(true);
    const held = await until('the customer held', () => updates(conferenceSid, 'customer')[0]);
    expect(formValue(held, 'Hold')).toBe('true');
    const board = (await sue.get('/api/board')).body;
    expect(board.line).toEqual([expect.objectContaining({ callSid: customer })]);
    // Sue may join another call at once.
    expect(board.calls.flatMap((c: { supervisors: unknown[] }) => c.supervisors)).toEqual([]);
  });

  test('when the coached agent hangs up on purpose, then the customer hears goodbye as always (never stranded with the supervisor) and the coach is switched to listening', async () => {
    const { customer, conferenceSid, leg } = await talking();
    await sueJoins(customer, conferenceSid, 'coach');
    rest.requests.length = 0;

    await ana.post('/api/me/hangup').send({}).expect(200);
    await app.webhook(`/conference/${customer}/agents/ana/status`, { CallSid: leg, CallStatus: 'completed' }).expect(200);

    const goodbye = await until('the goodbye', () => callUpdates(customer)[0]);
    expect(formValue(goodbye, 'Twiml')).toMatch(/goodbye/i);
    expect((await until('the switch to listen', () => updates(conferenceSid, 'supervisor:sue')[0])).form).toMatchObject({ Coaching: ['false'], Muted: ['true'] });
  });

  test('when Ana completes a transfer to Ben while Sue coaches her, then Sue listens (told), Ben has the customer, and Sue may coach Ben next', async () => {
    const { customer, conferenceSid } = await talking();
    await sueJoins(customer, conferenceSid, 'coach');
    await softphoneUp(ben);
    await ana.post('/api/me/consult').send({ to: 'ben' }).expect(202);
    await until('ben dialled', () => rest.requests.find((r) => formValue(r, 'To') === 'client:ben'));
    const benLeg = (await db.models.calls.findById(customer).lean().exec())!.participants.find((l) => l.agentId === 'ben')!.legCallSid!;
    await app.webhook(`/conference/${customer}/connect/ben`, { CallSid: benLeg }).expect(200);
    const anaLeg = (await db.models.calls.findById(customer).lean().exec())!.participants.find((l) => l.agentId === 'ana')!.legCallSid!;
    rest.requests.length = 0;

    await ana.post('/api/me/transfer/complete').send({}).expect(200);
    await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-leave', CallSid: anaLeg, ParticipantLabel: 'agent:ana', ReasonParticipantLeft: 'participant_updated_via_api', ParticipantCallStatus: 'completed' }).expect(200);

    expect((await until('the switch to listen', () => updates(conferenceSid, 'supervisor:sue')[0])).form).toMatchObject({ Muted: ['true'], Coaching: ['false'] });
    const board = await until('the notice on the board', async () => {
      const b = (await sue.get('/api/board')).body;
      return b.calls[0]?.supervisors[0]?.notice ? b : undefined;
    });
    expect(board.calls[0]).toMatchObject({ agentId: 'ben', supervisors: [expect.objectContaining({ mode: 'listen', notice: 'ana left the call: you are listening now.' })] });
    await sue.post(`/api/calls/${customer}/supervise`).send({ mode: 'coach' }).expect(200);
    expect((await until('the coach update for Ben', () => updates(conferenceSid, 'supervisor:sue')[1])).form).toMatchObject({ Coaching: ['true'], CallSidToCoach: [benLeg] });
    expect((await sue.get('/api/board')).body.calls[0].supervisors[0]).toMatchObject({ mode: 'coach', coaching: 'ben' });
    expect((await sue.get('/api/board')).body.calls[0].supervisors[0].notice).toBeUndefined();
  });

  test('when Sue\'s tab closes (her leg ends), then only her leg ends: the call goes on with Ana and the history says she left', async () => {
    const { customer, conferenceSid } = await talking();
    const sueLeg = await sueJoins(customer, conferenceSid, 'barge');
    rest.requests.length = 0;

    await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-leave', CallSid: sueLeg, ParticipantLabel: 'supervisor:sue', ReasonParticipantLeft: 'participant_hung_up', ParticipantCallStatus: 'completed' }).expect(200);
    await app.webhook(`/conference/${customer}/supervisors/sue/status`, { CallSid: sueLeg, CallStatus: 'completed' }).expect(200);

    const stored = (await db.models.calls.findById(customer).lean().exec())!;
    expect(stored).toMatchObject({ status: 'in-progress', agentId: 'ana' });
    expect(stored.supervisors![0]!.status).toBe('completed');
    expect(stored.events!.filter((e) => e.kind === 'supervisor-left')).toHaveLength(1);
    expect(rest.requests).toEqual([]);
    expect((await ana.get('/api/me')).body.can.hangUp).toBe(true);
  });

  test('when the customer hangs up during a barge, then the call ends into the history as the customer\'s, Sue counted as no agent, her leave closing the timeline', async () => {
    const { customer, conferenceSid } = await talking();
    await sueJoins(customer, conferenceSid, 'barge');

    await customerHangsUp(customer, conferenceSid);

    const record = (await app.running.history.find(customer, new Date()))!;
    expect(record).toMatchObject({ outcome: 'answered', hungUpBy: 'customer', agentIds: ['ana'] });
    expect(record.timeline.filter((e) => e.kind === 'supervisor-left')).toEqual([expect.objectContaining({ agentId: 'sue', detail: 'the call ended' })]);
  });

  test('when Sue is on one call, then she cannot join another until she leaves it', async () => {
    const first = await talking(ana);
    await sueJoins(first.customer, first.conferenceSid);
    const second = await talking(ben);

    const res = await sue.post(`/api/calls/${second.customer}/supervise`).send({ mode: 'listen' });

    expect(res.status).toBe(409);
    expect(res.body.error).toMatch(/another call/);
  });
});

describe('raise hand', () => {
  test('when Ana asks for help with a note, then the board shows it; Sue joining lowers it; the history keeps both', async () => {
    const { customer, conferenceSid } = await talking();
    expect((await ana.get('/api/me')).body.can).toMatchObject({ askHelp: true, lowerHelp: false });

    await ana.post('/api/me/help').send({ note: 'Customer wants a refund over the limit' }).expect(200);

    expect((await sue.get('/api/board')).body.calls[0].help).toMatchObject({ agentId: 'ana', name: 'Ana', note: 'Customer wants a refund over the limit' });
    expect((await ana.get('/api/me')).body.can).toMatchObject({ askHelp: false, lowerHelp: true });
    await sueJoins(customer, conferenceSid, 'listen');
    expect((await sue.get('/api/board')).body.calls[0].help).toBeUndefined();
    await customerHangsUp(customer, conferenceSid);
    const kinds = (await app.running.history.find(customer, new Date()))!.timeline.map((e) => e.kind);
    expect(kinds.indexOf('help-raised')).toBeLessThan(kinds.indexOf('supervisor-joined'));
  });

  test('when Ana drops off the call with her hand raised while Sue coaches her, then the hand is lowered and Sue leaves with the caller back in line, both kept in the history', async () => {
    const { customer, conferenceSid, leg } = await talking();
    await sueJoins(customer, conferenceSid, 'coach');
    await ana.post('/api/me/help').send({ note: 'still here?' }).expect(200);

    await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-leave', CallSid: leg, ParticipantLabel: 'agent:ana', ReasonParticipantLeft: 'participant_hung_up', ParticipantCallStatus: 'completed' }).expect(200);

    const stored = await until('the hand lowered', async () => {
      const c = (await db.models.calls.findById(customer).lean().exec())!;
      return c.help ? undefined : c;
    });
    expect(stored.events!.slice(-2).map((e) => [e.kind, e.label, e.reason])).toEqual([
      ['supervisor-left', 'supervisor:sue', 'the call went back to the line'],
      ['help-lowered', 'agent:ana', 'the call went back to the line'],
    ]);
  });

  test('when Ana lowers her hand, then it clears; without a call, or from a colleague not on it, asking is refused with a reason', async () => {
    await talking();
    await ana.post('/api/me/help').send({}).expect(200);

    expect((await ana.post('/api/me/help/lower').send({})).body).toEqual({ status: 'lowered' });
    expect((await sue.get('/api/board')).body.calls[0].help).toBeUndefined();
    expect((await ana.post('/api/me/help/lower').send({})).body).toEqual({ status: 'not-raised' });
    const none = await ben.post('/api/me/help').send({});
    expect(none.status).toBe(404);
    expect(none.body.error).toMatch(/no call/);
    const long = await ana.post('/api/me/help').send({ note: 'x'.repeat(201) });
    expect(long.status).toBe(400);
    expect(long.body.error).toMatch(/one line/);
  });
});
