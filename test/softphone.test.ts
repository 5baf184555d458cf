// The softphone's server side over real HTTP, signed webhooks and the REST recorder: hold and resume, mute, what the
// page may offer (GET /api/me `can`), wrap-up codes, the caller's recent history, and outbound calls.
import { type AgentClient, type AppSuite, fakeSid, makeAvailable, resetFloor, signedInAgent, softphoneUp, TEST_ENV, type TestApp, useAppSuite } from './helpers/app';
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

  test("when ana's softphone drops and the customer hangs up while back in line on hold, then the history's talk time leaves out that wait, as /reports does", async () => {
    const { customer, conferenceSid, leg } = await talking();
    await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-leave', CallSid: leg, ReasonParticipantLeft: 'participant_hung_up' }).expect(200);
    await until('the customer on hold', () => holdRequests(conferenceSid)[0]);
    await app.webhook('/conference/events', { FriendlyName: customer, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-hold', CallSid: customer, ParticipantLabel: 'customer' }).expect(200);
    await new Promise((resolve) => setTimeout(resolve, 2600));

    await customerHangsUp(customer, conferenceSid);

    const record = (await app.running.history.find(customer, new Date()))!;
    expect(record.talkSeconds).toBeGreaterThanOrEqual(2);
    expect(record.holdSeconds).toBeGreaterThanOrEqual(2);
    const talked = Math.max(0, record.talkSeconds - record.holdSeconds!);
    expect(talked).toBeLessThanOrEqual(1);
    const page = await ana.get(`/history/${record.endedAt.toISOString().slice(0, 10)}/${customer}`).set('Accept', 'text/html').expect(200);
    expect(page.text).toMatch(new RegExp(`id="call-talked">${talked} s<`));
    const csv = (await ana.get('/history.csv').expect(200)).text.split('\r\n').find((line) => line.startsWith(customer))!.split(',');
    expect(csv[8]).toBe(String(talked));
    expect(csv.at(-1)).toBe(String(record.holdSeconds));
  });

  test('when ana presses Hold with no call, or during a consult, then it is refused with a reason and nothing reaches Twilio', async () => {
    const none = await ana.post('/api/me/hold').send({});
    expect(none.status).toBe(404);
    expect(none.body.error).toMatch(/no call/);

    const { conferenceSid } = await talking();
    await softphoneUp(ben);
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

/** Posts an /admin form as `admin` (session cookie, CSRF token in the form). */
function adminForm(admin: AgentClient, path: string, fields: Record<string, string>) {
  return admin.postWithoutToken(path).type('form').set('Accept', 'text/html').send({ ...fields, _csrf: admin.csrfToken });
}

describe('wrap-up codes and who is calling', () => {
  let boss: AgentClient;
  beforeAll(async () => {
    boss = await signedInAgent(app, 'boss', { role: 'admin', name: 'The Boss' });
    await adminForm(boss, '/admin/wrap-up-codes', { name: 'Refund issued' }).expect(303);
    await adminForm(boss, '/admin/wrap-up-codes', { name: 'Call back later' }).expect(303);
  });

  test('when an admin adds, renames and turns off codes on /admin, then the page lists them and agents are offered only the active ones', async () => {
    await adminForm(boss, '/admin/wrap-up-codes', { name: 'Wrong number' }).expect(303);
    expect((await adminForm(boss, '/admin/wrap-up-codes', { name: 'wrong NUMBER' })).status).toBe(409);
    // A refused form's page says what to fix in words, under a heading that says what happened.
    const blank = await adminForm(boss, '/admin/wrap-up-codes', { name: '   ' }).set('Accept', 'text/html');
    expect(blank.status).toBe(400);
    expect(blank.text).toContain('<h1>Please check what you entered</h1>');
    expect(blank.text).toContain('<title>Please check what you entered · Warm transfer</title>');
    expect(blank.text).toContain('<p class="error-message" role="alert">A wrap-up code needs a name.</p>');
    const nul = await adminForm(boss, '/admin/wrap-up-codes', { name: 'Sale \u0000 made' });
    expect(nul.status).toBe(400);
    expect(nul.text).toMatch(/may not contain control characters/);
    const renamed = await adminForm(boss, '/admin/wrap-up-codes/wrong-number', { name: 'Wrong number dialled' }).expect(303);
    const off = await adminForm(boss, '/admin/wrap-up-codes/wrong-number', { active: 'false' }).expect(303);
    // A name in another script is a code of its own.
    const arabic = await adminForm(boss, '/admin/wrap-up-codes', { name: 'تم الحل' }).expect(303);

    const page = await boss.get('/admin').set('Accept', 'text/html');
    expect(page.text).toContain('Wrong number dialled');
    expect(page.text).toMatch(/id="wrap-up-codes"/);
    expect(page.text).toContain('aria-label="Turn on the code Wrong number dialled"');
    const { codes } = await app.running.wrapUp.load();
    expect(codes.map((c) => [c.id, c.active])).toEqual([['refund-issued', true], ['call-back-later', true], ['wrong-number', false], [expect.stringMatching(/^c-[0-9a-f]{10}$/), true]]);
    // Each form comes back saying what was done, in the stored name; a forged link says nothing.
    const noticeAt = async (location: string): Promise<string | undefined> => /<p class="notice" id="wrap-up-notice" role="status">([^<]*)<\/p>/.exec((await boss.get(location).set('Accept', 'text/html')).text)?.[1];
    expect(await noticeAt(renamed.headers.location!)).toBe('Saved the code Wrong number dialled.');
    expect(await noticeAt(off.headers.location!)).toBe('Turned off the code Wrong number dialled: agents no longer see it.');
    expect(await noticeAt(arabic.headers.location!)).toBe('Added the code تم الحل.');
    expect(await noticeAt('/admin?wrapped=on&code=wrong-number')).toBeUndefined();
    expect(await noticeAt('/admin?wrapped=added&code=nope')).toBeUndefined();
    expect(await noticeAt('/admin?wrapped=required')).toBeUndefined();
    expect(await noticeAt('/admin?wrapped=__proto__&code=refund-issued')).toBeUndefined();
    // Turned off again: the tests below offer agents the first two codes only.
    await adminForm(boss, `/admin/wrap-up-codes/${codes[3]!.id}`, { active: 'false' }).expect(303);
    expect((await adminForm(ana, '/admin/wrap-up-codes', { name: 'Sneaky' })).status).toBe(403);
  });

  test('when a code is required, then ana is offered no call until she picks one for her last call; her pick and note show in the history, its filter and the CSV', async () => {
    await adminForm(boss, '/admin/wrap-up-settings', { required: 'true' }).expect(303);
    try {
      const { customer, conferenceSid } = await talking();
      await customerHangsUp(customer, conferenceSid);
      const me = (await until('the wrap-up on ana\'s page', async () => {
        const body = (await ana.get('/api/me')).body;
        return body.wrapUp ? body : undefined;
      }));
      expect(me.wrapUp).toMatchObject({ callSid: customer, from: '+15551112222', required: true, blocking: true, codes: [{ id: 'refund-issued', name: 'Refund issued' }, { id: 'call-back-later', name: 'Call back later' }] });
      expect(me.you.presence).toBe('wrap-up');
      rest.requests.length = 0;
      const next = fakeSid();
      await app.webhook('/conference/connect/client', { CallSid: next, From: '+15550000001', To: TEST_ENV.TWILIO_NUMBER }).expect(200);
      await new Promise((resolve) => setTimeout(resolve, 800));
      expect(rest.requests.find((r) => formValue(r, 'To') === 'client:ana')).toBeUndefined();

      const saved = await ana.post('/api/me/wrap-up').send({ callSid: customer, code: 'refund-issued', note: 'Gave 10 % off' });

      expect(saved.status).toBe(201);
      await until('ana offered the waiting call', () => rest.requests.find((r) => formValue(r, 'To') === 'client:ana'));
      expect((await ana.post('/api/me/wrap-up').send({ callSid: customer, code: 'refund-issued' })).status).toBe(409);
      const csv = (await boss.get('/history.csv')).text;
      expect(csv.split('\r\n')[0]).toMatch(/,wrap_up,wrap_up_note,queue,callback,hold_seconds$/);
      expect(csv).toContain(`${customer},`);
      expect(csv.split('\r\n').find((line) => line.startsWith(customer))).toMatch(/,inbound,Refund issued,Gave 10 % off,,,0$/);
      expect((await boss.get('/history?code=refund-issued').set('Accept', 'text/html')).text).toContain(customer);
      expect((await boss.get('/history?code=call-back-later').set('Accept', 'text/html')).text).not.toContain(customer);
      const detail = await boss.get(`/history/${new Date().toISOString().slice(0, 10)}/${customer}`).set('Accept', 'text/html');
      expect(detail.text).toMatch(/Agent ana|Ana/);
      expect(detail.text).toContain('Refund issued');
    } finally {
      await adminForm(boss, '/admin/wrap-up-settings', {}).expect(303);
    }
  });

  test('when an admin requires a code after ana left her last call, then that call does not hold her back: she is offered the next one, and a code turned on again keeps its moment', async () => {
    const { customer, conferenceSid } = await talking();
    await customerHangsUp(customer, conferenceSid);
    await until('the wrap-up waiting', async () => (await ana.get('/api/me')).body.wrapUp);
    await adminForm(boss, '/admin/wrap-up-settings', { required: 'true' }).expect(303);
    try {
      const since = (await app.running.wrapUp.load()).settings.requiredSince?.getTime();
      expect(since).toBeGreaterThan(Date.now() - 5000);
      await adminForm(boss, '/admin/wrap-up-settings', { required: 'true' }).expect(303);
      expect((await app.running.wrapUp.load()).settings.requiredSince?.getTime()).toBe(since);

      const me = (await ana.get('/api/me')).body;
      expect(me.wrapUp).toMatchObject({ callSid: customer, required: true, blocking: false });
      expect(me.you.presence).toBe('available');
      rest.requests.length = 0;
      await app.webhook('/conference/connect/client', { CallSid: fakeSid(), From: '+15550000001', To: TEST_ENV.TWILIO_NUMBER }).expect(200);
      await until('ana offered the new call', () => rest.requests.find((r) => formValue(r, 'To') === 'client:ana'));
    } finally {
      await adminForm(boss, '/admin/wrap-up-settings', {}).expect(303);
    }
  });

  test('when ana\'s own leg end is heard just before the customer\'s leave (the callbacks crossed), then she wraps up that call all the same', async () => {
    const { customer, conferenceSid, leg } = await talking();
    // Her softphone's call ended because the conference did; its status callback is handled first: a drop, unconfirmed.
    await app.webhook(`/conference/${customer}/agents/ana/status`, { CallSid: leg, CallStatus: 'completed' }).expect(200);

    await customerHangsUp(customer, conferenceSid);

    const me = await until('the wrap-up waiting', async () => {
      const body = (await ana.get('/api/me')).body as { wrapUp?: { callSid: string } };
      return body.wrapUp ? body : undefined;
    });
    expect(me.wrapUp).toMatchObject({ callSid: customer });
  });

  test('when ana picks a code for a call that is not her last, or an unknown code, then it is refused with a reason', async () => {
    const { customer, conferenceSid } = await talking();
    await customerHangsUp(customer, conferenceSid);
    await until('the wrap-up waiting', async () => (await ana.get('/api/me')).body.wrapUp);

    expect((await ana.post('/api/me/wrap-up').send({ callSid: fakeSid(), code: 'refund-issued' })).status).toBe(409);
    expect((await ana.post('/api/me/wrap-up').send({ callSid: customer, code: 'nope' })).status).toBe(404);
    expect((await ana.post('/api/me/wrap-up').send({ callSid: customer })).status).toBe(400);
    expect((await ben.post('/api/me/wrap-up').send({ callSid: customer, code: 'refund-issued' })).status).toBe(409);
  });

  test('when the same number calls again, then ana\'s ringing page shows the first call: calls in the last 30 days, who took it, its outcome, wrap-up and note', async () => {
    const first = await talking(ana, '+15553334444');
    await customerHangsUp(first.customer, first.conferenceSid);
    await until('the wrap-up waiting', async () => (await ana.get('/api/me')).body.wrapUp);
    await ana.post('/api/me/wrap-up').send({ callSid: first.customer, code: 'call-back-later', note: 'Wants a call on Friday' }).expect(201);
    await until('the caller record', async () => (await app.running.db.connection.getClient().db(`${app.running.db.connection.name}_history`).collection('callers').findOne({ _id: '+15553334444' as never })) ?? undefined);

    await makeAvailable(ana);
    const second = fakeSid();
    await app.webhook('/conference/connect/client', { CallSid: second, From: '+15553334444', To: TEST_ENV.TWILIO_NUMBER }).expect(200);
    await until('ana rung', () => rest.requests.find((r) => formValue(r, 'To') === 'client:ana'));

    const me = (await ana.get('/api/me')).body;
    expect(me.call.caller).toMatchObject({ callsLast30Days: 1, last: { agentId: 'ana', agentName: 'Ana', outcome: 'answered', code: 'Call back later', note: 'Wants a call on Friday' } });
    const stranger = fakeSid();
    await app.webhook('/conference/connect/client', { CallSid: stranger, From: '+15559990000', To: TEST_ENV.TWILIO_NUMBER }).expect(200);
    await makeAvailable(ben);
    await until('ben rung', () => rest.requests.find((r) => formValue(r, 'To') === 'client:ben'));
    expect((await ben.get('/api/me')).body.call.caller).toEqual({ callsLast30Days: 0 });
  });
});

describe('outbound calls', () => {
  const NUMBER = '+15556667777';

  /** Arrange: ana calls NUMBER from her page; her own phone is rung and she joins; the customer's phone still rings. */
  async function anaCallsOut(): Promise<{ callSid: string; leg: string }> {
    await makeAvailable(ana);
    const res = await ana.post('/api/me/call-out').send({ to: NUMBER });
    expect(res.status).toBe(202);
    const callSid = res.body.callSid as string;
    const dial = await until('the customer dialled', () => rest.requests.find((r) => formValue(r, 'To') === NUMBER));
    expect(formValue(dial, 'From')).toBe(TEST_ENV.TWILIO_NUMBER);
    expect(formValue(dial, 'Url')).toBe(`${BASE}/conference/outbound/answer`);
    expect(formValue(dial, 'StatusCallback')).toBe(`${BASE}/conference/outbound/status`);
    const agentDial = await until('ana rung', () => rest.requests.find((r) => formValue(r, 'To') === 'client:ana'));
    expect(formValue(agentDial, 'Url')).toBe(`${BASE}/conference/${callSid}/connect/ana`);
    const leg = fakeSid();
    await app.webhook(`/conference/${callSid}/connect/ana`, { CallSid: leg }).expect(200);
    return { callSid, leg };
  }

  test('when ana calls a number, then it is dialled from the support number into a conference named after its CallSid that ana joins first; once the customer answers it is a call like any other, and can be transferred', async () => {
    const { callSid } = await anaCallsOut();
    const stored = (await db.models.calls.findById(callSid).lean().exec())!;
    expect(stored).toMatchObject({ direction: 'outbound', from: NUMBER, status: 'in-progress', customerRinging: true, agentId: 'ana' });
    expect(stored.answeredAt).toBeUndefined();
    let me = (await ana.get('/api/me')).body;
    expect(me.call).toMatchObject({ direction: 'outbound', customerRinging: true, from: NUMBER });
    expect(me.can).toMatchObject({ hangUp: true, hold: false, consult: false, coldTransfer: false, callOut: false });

    const twiml = await app.webhook('/conference/outbound/answer', { CallSid: callSid, From: TEST_ENV.TWILIO_NUMBER, To: NUMBER, CallStatus: 'in-progress' }).expect(200);

    expect(twiml.text).toContain(`participantLabel="customer"`);
    expect(twiml.text).toContain(`endConferenceOnExit="true"`);
    expect(twiml.text).toContain(`>${callSid}</Conference>`);
    await app.webhook('/conference/events', { FriendlyName: callSid, ConferenceSid: fakeSid('CF'), StatusCallbackEvent: 'conference-start' }).expect(200);
    me = (await ana.get('/api/me')).body;
    expect(me.call.customerRinging).toBeUndefined();
    expect(me.can).toMatchObject({ hold: true, consult: true, coldTransfer: true });
    expect((await db.models.calls.findById(callSid).lean().exec())!.answeredAt).toBeDefined();

    await makeAvailable(ben);
    rest.requests.length = 0;
    await ana.post('/api/me/transfer-cold').send({ to: 'ben' }).expect(202);
    const benDial = await until('ben rung', () => rest.requests.find((r) => formValue(r, 'To') === 'client:ben'));
    expect(formValue(benDial, 'Url')).toBe(`${BASE}/conference/${callSid}/connect/ben`);
    await app.webhook(`/conference/${callSid}/connect/ben`, { CallSid: fakeSid() }).expect(200);
    expect((await db.models.calls.findById(callSid).lean().exec())!).toMatchObject({ agentId: 'ben', status: 'in-progress' });
  });

  test('when the customer of ana\'s outbound call is busy, then the call ends, ana is hung up out of the empty conference, and the history says outbound, not connected', async () => {
    const { callSid, leg } = await anaCallsOut();

    await app.webhook('/conference/outbound/status', { CallSid: callSid, CallStatus: 'busy' }).expect(200);

    await until('the call finished', async () => (await db.models.calls.findById(callSid).lean().exec()) === null);
    await until('ana hung up', () => rest.requests.find((r) => r.path === `${ACCOUNT}/Calls/${leg}.json` && formValue(r, 'Status') === 'completed'));
    const record = (await app.running.history.find(callSid, new Date()))!;
    expect(record).toMatchObject({ direction: 'outbound', outcome: 'failed', endReason: 'customer-busy', from: NUMBER, agentIds: ['ana'] });
  });

  test('when ana\'s softphone drops while she talks with the customer she called, then the customer is not dropped: back in line on hold, offered to ana first', async () => {
    const { callSid, leg } = await anaCallsOut();
    await app.webhook('/conference/outbound/answer', { CallSid: callSid, From: TEST_ENV.TWILIO_NUMBER, To: NUMBER, CallStatus: 'in-progress' }).expect(200);
    const conferenceSid = fakeSid('CF');
    await app.webhook('/conference/events', { FriendlyName: callSid, ConferenceSid: conferenceSid, StatusCallbackEvent: 'conference-start' }).expect(200);
    rest.requests.length = 0;

    await app.webhook('/conference/events', { FriendlyName: callSid, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-leave', CallSid: leg, ReasonParticipantLeft: 'participant_hung_up' }).expect(200);

    const hold = await until('the customer on hold', () => holdRequests(conferenceSid)[0]);
    expect(formValue(hold, 'Hold')).toBe('true');
    expect(rest.requests.some((r) => /Hangup/.test(formValue(r, 'Twiml') ?? ''))).toBe(false);
    expect(await db.models.calls.findById(callSid).lean().exec()).toMatchObject({ direction: 'outbound', customerHeld: true, requeued: 1, returnTo: { agentId: 'ana' } });
    // Ana's softphone is still registered (a reloaded page): her customer rings her again first.
    const again = await until('ana rung again', () => rest.requests.find((r) => formValue(r, 'To') === 'client:ana'));
    expect(formValue(again, 'Url')).toBe(`${BASE}/conference/${callSid}/connect/ana`);
  });

  test('when ana hangs up while the customer\'s phone still rings, then the customer\'s call is called off', async () => {
    const { callSid } = await anaCallsOut();

    await ana.post('/api/me/hangup').send({}).expect(200);

    await until('the customer call cancelled', () => rest.requests.find((r) => r.path === `${ACCOUNT}/Calls/${callSid}.json` && formValue(r, 'Status') === 'completed'));
  });

  test('when the number is not E.164, ana is on a call, or the number is the support line, then calling out is refused with a reason and nothing is dialled', async () => {
    await makeAvailable(ana);
    expect((await ana.post('/api/me/call-out').send({ to: '555-1234' })).body.error).toMatch(/E\.164/);
    expect((await ana.post('/api/me/call-out').send({ to: TEST_ENV.TWILIO_NUMBER })).status).toBe(400);
    await talking();
    const busy = await ana.post('/api/me/call-out').send({ to: NUMBER });
    expect(busy.status).toBe(409);
    expect(rest.requests.find((r) => formValue(r, 'To') === NUMBER)).toBeUndefined();
  });
});
