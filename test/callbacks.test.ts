// Callbacks that keep their place, over real HTTP, a real database and signed webhooks (the REST recorder is Twilio):
// waiting callers are moved out of their conference to hear the offer (Calls update), one asks for a callback and
// hangs up, keeps their place, and when their turn comes the agent answers and the app calls them; a callback nobody
// answers is retried, then recorded as failed.
import { addAgent, fakeSid, resetFloor, signedInAgent, signIn, TEST_ENV, useAppSuite } from './helpers/app';
import { formValue, type RecordedRequest } from './helpers/rest-recorder';
import { find, parseTwiml } from './helpers/twiml';

const suite = useAppSuite({ env: { RING_SECONDS: '5', WRAP_UP_SECONDS: '1', MAX_WAIT_SECONDS: '600', CALLBACK_OFFER_AFTER_SECONDS: '1', CALLBACK_OFFER_EVERY_SECONDS: '600', CALLBACK_ATTEMPTS: '2', CALLBACK_RETRY_SECONDS: '0' } });
const BASE = TEST_ENV.PUBLIC_BASE_URL;
const CALLS_PATH = `/2010-04-01/Accounts/${TEST_ENV.TWILIO_ACCOUNT_SID}/Calls.json`;

beforeAll(async () => {
  await addAgent(suite.app, 'ana');
});

beforeEach(async () => {
  await resetFloor(suite.app.running);
  suite.rest.requests.length = 0;
});

async function available(agentId: string): Promise<void> {
  await suite.app.running.presence.heartbeat(agentId, `tab-${agentId}-0001`, { takeOver: true, staleMs: 30000, registered: true });
  await suite.app.running.presence.choose(agentId, 'available');
}

const dials = (): RecordedRequest[] => suite.rest.requests.filter((r) => r.path === CALLS_PATH);
const updates = (callSid: string): RecordedRequest[] => suite.rest.requests.filter((r) => r.path.endsWith(`/Calls/${callSid}.json`));

async function until<T>(what: string, probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const pathOf = (url: string): string => new URL(url).pathname + new URL(url).search;
const incoming = (callSid: string, from: string) => suite.app.webhook('/conference/connect/client', { CallSid: callSid, From: from }).expect(200);
const conferenceUrl = (r: RecordedRequest): string => formValue(r, 'Url') ?? '';

/** The agent's phone rang for `callSid`: they answer (status callback, then their TwiML). */
async function agentAnswers(callSid: string, agentId = 'ana'): Promise<string> {
  const leg = fakeSid();
  await suite.app.webhook(`/conference/${callSid}/agents/${agentId}/status`, { CallSid: leg, CallStatus: 'ringing' }).expect(200);
  const res = await suite.app.webhook(`/conference/${callSid}/connect/${agentId}`, { CallSid: leg }).expect(200);
  expect(find(parseTwiml(res.text), 'Conference')?.text).toBe(callSid);
  return leg;
}

/** The call ends (the customer hangs up): the conference ends, the agent wraps up. */
const callEnds = (callSid: string) => suite.app.webhook('/conference/events', { FriendlyName: callSid, StatusCallbackEvent: 'conference-end', ReasonConferenceEnded: 'participant-with-end-conference-on-exit-left' }).expect(200);

/** Twilio moved the caller to the offer (Calls update): they hear it and press `digits` (nothing: back to the line). */
async function hearOffer(callSid: string, from: string, digits?: string): Promise<ReturnType<typeof parseTwiml>> {
  const [update] = await until(`the offer to ${callSid}`, () => (updates(callSid).length ? updates(callSid) : undefined));
  const redirect = find(parseTwiml(formValue(update!, 'Twiml')!), 'Redirect')!.text;
  expect(formValue(update!, 'StatusCallback')).toBe(`${BASE}/conference/callback/customer-status?call=${callSid}`);
  // The caller left the conference for the offer: its end must not end the call.
  await suite.app.webhook('/conference/events', { FriendlyName: callSid, StatusCallbackEvent: 'participant-leave', CallSid: callSid, ParticipantLabel: 'customer', ReasonParticipantLeft: 'participant_updated_via_api' }).expect(200);
  await suite.app.webhook('/conference/events', { FriendlyName: callSid, StatusCallbackEvent: 'conference-end', ReasonConferenceEnded: 'participant-with-end-conference-on-exit-left' }).expect(200);
  const offer = parseTwiml((await suite.app.webhook(new URL(redirect).pathname + new URL(redirect).search, { CallSid: callSid, From: from }).expect(200)).text);
  const action = find(offer, 'Gather')!.attrs.action!;
  const res = await suite.app.webhook(new URL(action).pathname + new URL(action).search, { CallSid: callSid, From: from, ...(digits ? { Digits: digits } : {}) }).expect(200);
  return parseTwiml(res.text);
}

test('when one agent is busy and three callers wait, then caller 2 asks for a callback, keeps their place, and is called back before caller 3 is offered', async () => {
  await available('ana');
  const first = fakeSid();
  await incoming(first, '+15550000000');
  await until('ana rung for the first caller', () => dials().length >= 1);
  await agentAnswers(first);
  const [c1, c2, c3] = [fakeSid(), fakeSid(), fakeSid()];
  await incoming(c1, '+15550000001');
  await new Promise((r) => setTimeout(r, 20));
  await incoming(c2, '+15550000002');
  await new Promise((r) => setTimeout(r, 20));
  await incoming(c3, '+15550000003');

  // Callers 1 and 3 stay on the line; caller 2 asks for a callback at their own number and hangs up.
  expect(find(await hearOffer(c1, '+15550000001'), 'Conference')?.text).toBe(c1);
  expect(find(await hearOffer(c3, '+15550000003'), 'Conference')?.text).toBe(c3);
  const askNumber = await hearOffer(c2, '+15550000002', '1');
  const numberAction = find(askNumber, 'Gather')!.attrs.action!;
  expect(find(askNumber, 'Say')?.text).toMatch(/call you back at 1 5 5 5 0 0 0 0 0 0 2/);
  const kept = parseTwiml((await suite.app.webhook(new URL(numberAction).pathname + new URL(numberAction).search, { CallSid: c2, From: '+15550000002', Digits: '1' }).expect(200)).text);
  expect(kept.children.map((c) => c.name)).toEqual(['Say', 'Hangup']);
  await suite.app.webhook(`/conference/callback/customer-status?call=${c2}`, { CallSid: c2, CallStatus: 'completed' }).expect(200);
  expect(await suite.db.models.calls.findById(c2).lean().exec()).toMatchObject({ status: 'waiting', callback: { number: '+15550000002', attempt: 1 } });

  // Ana finishes the first call: caller 1 (first in line) rings her next.
  await callEnds(first);
  await until('ana rung for caller 1', () => dials().some((d) => conferenceUrl(d) === `${BASE}/conference/${c1}/connect/ana`));
  await agentAnswers(c1);
  await callEnds(c1);

  // Then caller 2's callback, before caller 3: on Answer the app calls caller 2 back into the conference.
  await until('ana rung for the callback', () => dials().some((d) => conferenceUrl(d) === `${BASE}/conference/${c2}/connect/ana`));
  expect(dials().some((d) => conferenceUrl(d).includes(c3))).toBe(false);
  const me = await suite.app.running.calls.activeCallFor('ana');
  expect(me).toMatchObject({ callSid: c2, callback: { number: '+15550000002', attempt: 1 } });
  await agentAnswers(c2);
  const customerDial = await until('the customer dialled', () => dials().find((d) => formValue(d, 'To') === '+15550000002'));
  expect(formValue(customerDial, 'Url')).toBe(`${BASE}/conference/callback/answer?call=${c2}`);
  const customerLeg = fakeSid();
  const join = parseTwiml((await suite.app.webhook(`/conference/callback/answer?call=${c2}`, { CallSid: customerLeg }).expect(200)).text);
  expect(find(join, 'Conference')?.text).toBe(c2);
  expect(await suite.db.models.calls.findById(c2).lean().exec()).toMatchObject({ status: 'in-progress', customerLegSid: customerLeg, answeredAt: expect.any(Date) });
  expect(dials().some((d) => conferenceUrl(d).includes(c3))).toBe(false);

  // The callback's customer hangs up: the call ends; its history says it was a callback, answered.
  await suite.app.webhook('/conference/events', { FriendlyName: c2, StatusCallbackEvent: 'participant-leave', CallSid: customerLeg, ParticipantLabel: 'customer', ReasonParticipantLeft: 'participant_hung_up' }).expect(200);
  const record = await until('the callback in the history', async () => (await suite.app.running.history.newest({ limit: 10 })).find((r) => r._id === c2));
  expect(record).toMatchObject({ outcome: 'answered', callback: { number: '+15550000002', attempt: 1 } });
  // Caller 3 comes next.
  await until('ana rung for caller 3', () => dials().some((d) => conferenceUrl(d) === `${BASE}/conference/${c3}/connect/ana`), 10_000);
});

test.each([
  ['too short to hold a country code', '1234567#', /Sorry, that number is too short: please type it with its country code/],
  ['too long for any number', '1234567890123456#', /Sorry, that number is too long\./],
  ['the support line itself', `${TEST_ENV.TWILIO_NUMBER.slice(1)}#`, /Sorry, that is our own number\./],
  ['the support line after the international prefix 00', `00${TEST_ENV.TWILIO_NUMBER.slice(1)}#`, /Sorry, that is our own number\./],
  ['nothing but the pound key', '#', /Sorry, we did not get a number\./],
])('when the number typed for a callback is %s, then it is refused, the caller hears why and is back in line, with no callback', async (_what, Digits, why) => {
  const caller = fakeSid();
  await incoming(caller, '+15550000019');
  const askNumber = await hearOffer(caller, '+15550000019', '1');
  const numberAction = find(askNumber, 'Gather')!.attrs.action!;

  const refused = await suite.app.webhook(new URL(numberAction).pathname + new URL(numberAction).search, { CallSid: caller, From: '+15550000019', To: TEST_ENV.TWILIO_NUMBER, Digits }).expect(200);

  const twiml = parseTwiml(refused.text);
  expect(find(twiml, 'Say')?.text).toMatch(why);
  expect(find(twiml, 'Say')?.text).toMatch(/You are back in line, in the same place\./);
  expect(find(twiml, 'Conference')?.text).toBe(caller);
  expect((await suite.db.models.calls.findById(caller).lean().exec())?.callback).toBeUndefined();
});

describe('a typed number read back', () => {
  /** The caller asks for a callback at another number and types `digits`: what they hear next. */
  async function typeNumber(caller: string, from: string, digits: string): Promise<ReturnType<typeof parseTwiml>> {
    await incoming(caller, from);
    const askNumber = await hearOffer(caller, from, '1');
    const numberAction = find(askNumber, 'Gather')!.attrs.action!;
    return parseTwiml((await suite.app.webhook(pathOf(numberAction), { CallSid: caller, From: from, To: TEST_ENV.TWILIO_NUMBER, Digits: digits }).expect(200)).text);
  }

  test('when a caller types a number after the international prefix 00, then it is read back with its country code, without the 00', async () => {
    const readBack = await typeNumber(fakeSid(), '+15550000054', '00442071234567#');
    expect(find(find(readBack, 'Gather')!, 'Say')?.text).toMatch(/You typed 4 4 2 0 7 1 2 3 4 5 6 7\./);
  });

  test('when a caller types another number, then it is read back digit by digit in a one-key <Gather> and kept only once they press 1; a repeated 1 changes nothing', async () => {
    const caller = fakeSid();
    const readBack = await typeNumber(caller, '+15550000051', '15557770051#');

    const gather = find(readBack, 'Gather')!;
    expect(gather.attrs).toMatchObject({ numDigits: '1', action: `${BASE}/conference/callback/confirm?call=${caller}&round=1` });
    expect(find(gather, 'Say')?.text).toMatch(/You typed 1 5 5 5 7 7 7 0 0 5 1\. To be called back at this number, press 1\. To type it again, press 2\./);
    expect(find(readBack, 'Redirect')?.text).toBe(gather.attrs.action);
    // Not kept yet: no callback, the caller still away hearing the question.
    const asked = (await suite.db.models.calls.findById(caller).lean().exec())!;
    expect(asked).toMatchObject({ status: 'waiting', awayFromLine: true });
    expect(asked.callback).toBeUndefined();

    const kept = parseTwiml((await suite.app.webhook(pathOf(gather.attrs.action!), { CallSid: caller, From: '+15550000051', Digits: '1' }).expect(200)).text);
    expect(kept.children.map((c) => c.name)).toEqual(['Say', 'Hangup']);
    expect(find(kept, 'Say')?.text).toMatch(/you keep your place in line/);
    const stored = (await suite.db.models.calls.findById(caller).lean().exec())!;
    expect(stored).toMatchObject({ status: 'waiting', callback: { number: '+15557770051', attempt: 1 }, placeSince: stored.createdAt });
    expect(stored.awayFromLine).toBeUndefined();

    // Twilio repeats the confirmation: the same answer, and the callback as it was.
    const again = parseTwiml((await suite.app.webhook(pathOf(gather.attrs.action!), { CallSid: caller, From: '+15550000051', Digits: '1' }).expect(200)).text);
    expect(again.children.map((c) => c.name)).toEqual(['Say', 'Hangup']);
    expect(find(again, 'Conference')).toBeUndefined();
    const after = (await suite.db.models.calls.findById(caller).lean().exec())!;
    expect(after.callback).toEqual(stored.callback);
    expect(after.rev).toBe(stored.rev);
    expect((await suite.db.models.calls.find({ 'callback.number': '+15557770051' }).lean().exec())).toHaveLength(1);
    // Their own call's end (they hung up after the goodbye) leaves the callback in line.
    await suite.app.webhook(`/conference/callback/customer-status?call=${caller}`, { CallSid: caller, CallStatus: 'completed' }).expect(200);
    expect(await suite.db.models.calls.findById(caller).lean().exec()).toMatchObject({ callback: { number: '+15557770051' } });
  });

  test('when the caller presses 2 at the read-back, then they type the number again, hear the new one, and that one is kept', async () => {
    const caller = fakeSid();
    const readBack = await typeNumber(caller, '+15550000052', '15557770099#');

    const askAgain = parseTwiml((await suite.app.webhook(pathOf(find(readBack, 'Gather')!.attrs.action!), { CallSid: caller, From: '+15550000052', Digits: '2' }).expect(200)).text);
    const gather = find(askAgain, 'Gather')!;
    expect(find(gather, 'Say')?.text).toMatch(/type the number/);
    const second = parseTwiml((await suite.app.webhook(pathOf(gather.attrs.action!), { CallSid: caller, From: '+15550000052', To: TEST_ENV.TWILIO_NUMBER, Digits: '15557770052#' }).expect(200)).text);
    expect(find(find(second, 'Gather')!, 'Say')?.text).toMatch(/You typed 1 5 5 5 7 7 7 0 0 5 2\./);
    expect((await suite.db.models.calls.findById(caller).lean().exec())?.callback).toBeUndefined();
    await suite.app.webhook(pathOf(find(second, 'Gather')!.attrs.action!), { CallSid: caller, From: '+15550000052', Digits: '1' }).expect(200);

    expect(await suite.db.models.calls.findById(caller).lean().exec()).toMatchObject({ callback: { number: '+15557770052', attempt: 1 } });
  });

  test('when the caller presses nothing at the read-back, then it is read once more, and after a second silence they are back in line in the same place, with no callback, and the next offer counts from then', async () => {
    const caller = fakeSid();
    const readBack = await typeNumber(caller, '+15550000053', '15557770053#');
    const before = (await suite.db.models.calls.findById(caller).lean().exec())!;

    // Nothing pressed: the <Gather> times out into its <Redirect>, which posts without Digits.
    const once = parseTwiml((await suite.app.webhook(pathOf(find(readBack, 'Redirect')!.text), { CallSid: caller, From: '+15550000053' }).expect(200)).text);
    const gather = find(once, 'Gather')!;
    expect(gather.attrs.action).toBe(`${BASE}/conference/callback/confirm?call=${caller}&round=2`);
    expect(gather.children.map((c) => c.text).join(' ')).toMatch(/did not get your answer.*You typed 1 5 5 5 7 7 7 0 0 5 3\./);
    const backAt = Date.now();
    const back = parseTwiml((await suite.app.webhook(pathOf(find(once, 'Redirect')!.text), { CallSid: caller, From: '+15550000053' }).expect(200)).text);

    expect(find(back, 'Say')?.text).toMatch(/did not keep that number\. You are back in line, in the same place/);
    expect(find(back, 'Conference')?.text).toBe(caller);
    const after = (await suite.db.models.calls.findById(caller).lean().exec())!;
    expect(after).toMatchObject({ status: 'waiting', createdAt: before.createdAt });
    expect(after.callback).toBeUndefined();
    expect(after.awayFromLine).toBeUndefined();
    expect(after).not.toHaveProperty('callbackTyped');
    // The next offer comes CALLBACK_OFFER_EVERY_SECONDS after they are back, not after the offer began (the offer's
    // steps can outlast the period, and the caller heard the offer again the moment they were back).
    expect(new Date(after.callbackOfferedAt!).getTime()).toBeGreaterThanOrEqual(backAt);
  });
});

test('when nobody answers a callback, then it is tried again at its place, and after the last attempt recorded as failed', async () => {
  // Nobody is available: the caller waits, hears the offer and asks for a callback at another number.
  const caller = fakeSid();
  await incoming(caller, '+15550000009');
  const askNumber = await hearOffer(caller, '+15550000009', '1');
  const numberAction = find(askNumber, 'Gather')!.attrs.action!;
  const numberPath = new URL(numberAction).pathname + new URL(numberAction).search;
  const readBack = parseTwiml((await suite.app.webhook(numberPath, { CallSid: caller, From: '+15550000009', To: TEST_ENV.TWILIO_NUMBER, Digits: '15557770000#' }).expect(200)).text);
  await suite.app.webhook(pathOf(find(readBack, 'Gather')!.attrs.action!), { CallSid: caller, From: '+15550000009', Digits: '1' }).expect(200);
  const placed = (await suite.db.models.calls.findById(caller).lean().exec())!;
  expect(placed.callback).toMatchObject({ number: '+15557770000' });

  await available('ana');
  const tried = new Set<string>();
  for (let attempt = 1; attempt <= 2; attempt += 1) {
    const offer = await until(`attempt ${attempt} rung`, () => dials().find((d) => conferenceUrl(d).endsWith('/connect/ana') && !tried.has(conferenceUrl(d))));
    tried.add(conferenceUrl(offer));
    const callSid = /conference\/(CA[0-9a-f]{32})\/connect/.exec(conferenceUrl(offer))![1]!;
    await agentAnswers(callSid);
    await until('the customer dialled', () => dials().filter((d) => formValue(d, 'To') === '+15557770000').length >= attempt);
    await suite.app.webhook(`/conference/callback/status?call=${callSid}`, { CallSid: fakeSid(), CallStatus: 'no-answer' }).expect(200);
    const ended = await until('the attempt in the history', async () => (await suite.app.running.history.newest({ limit: 10 })).find((r) => r._id === callSid));
    expect(ended).toMatchObject({ outcome: 'failed', callback: { attempt } });
    const retry = (await suite.db.models.calls.find({}).lean().exec()).find((c) => c.callback);
    if (attempt === 1) expect(retry).toMatchObject({ callback: { attempt: 2 }, placeSince: placed.createdAt });
    else expect(retry).toBeUndefined();
  }
});

describe('an agent who leaves before the callback\'s customer answers', () => {
  /** A supervisor reading the history pages (signed in once, by the first test that needs them). */
  const readers: { boss?: Awaited<ReturnType<typeof signedInAgent>> } = {};
  const callPath = (sid: string) => `/2010-04-01/Accounts/${TEST_ENV.TWILIO_ACCOUNT_SID}/Calls/${sid}.json`;

  /** A caller asks for a callback at their own number; ana takes it, joins the conference, and the customer's phone rings. */
  async function ringingCallback(from: string): Promise<{ callSid: string; anaLeg: string; customerLeg: string; conferenceSid: string; placeSince: Date }> {
    const callSid = fakeSid();
    await incoming(callSid, from);
    const askNumber = await hearOffer(callSid, from, '1');
    await suite.app.webhook(pathOf(find(askNumber, 'Gather')!.attrs.action!), { CallSid: callSid, From: from, Digits: '1' }).expect(200);
    await suite.app.webhook(`/conference/callback/customer-status?call=${callSid}`, { CallSid: callSid, CallStatus: 'completed' }).expect(200);
    const placeSince = (await suite.db.models.calls.findById(callSid).lean().exec())!.createdAt;
    await available('ana');
    await until('ana rung for the callback', () => dials().some((d) => conferenceUrl(d) === `${BASE}/conference/${callSid}/connect/ana`));
    const anaLeg = await agentAnswers(callSid);
    const conferenceSid = fakeSid('CF');
    await suite.app.webhook('/conference/events', { FriendlyName: callSid, ConferenceSid: conferenceSid, StatusCallbackEvent: 'conference-start' }).expect(200);
    await suite.app.webhook('/conference/events', { FriendlyName: callSid, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-join', CallSid: anaLeg, ParticipantLabel: 'agent:ana' }).expect(200);
    const ringing = await until('the customer dialled', async () => {
      const call = await suite.db.models.calls.findById(callSid).lean().exec();
      return call?.customerRinging && call.customerLegSid ? call : undefined;
    });
    return { callSid, anaLeg, customerLeg: ringing.customerLegSid!, conferenceSid, placeSince };
  }

  /** The callback back in line after `callSid`'s attempt: its record, once there. */
  const backInLineAfter = (callSid: string) => until('the callback back in line', async () => (await suite.db.models.calls.find({ 'callback.number': { $exists: true } }).lean().exec()).find((c) => c._id !== callSid && c.status === 'waiting'));

  test.each([
    ['her leg\'s end, the conference\'s, then the customer\'s canceled ring', ['agent', 'leave', 'end', 'customer']],
    ['the customer\'s canceled ring first, then her leg\'s end and the conference\'s', ['customer', 'agent', 'leave', 'end']],
    ['the conference\'s end first, then the customer\'s ring, then her leg', ['end', 'customer', 'leave', 'agent']],
  ])('when ana presses Hang up while the customer\'s phone still rings (callbacks: %s), then the ring is stopped and the callback is back in line at its place, the attempt not counted', async (_order, order) => {
    const from = '+15550000061';
    const { callSid, anaLeg, customerLeg, conferenceSid, placeSince } = await ringingCallback(from);
    suite.rest.requests.length = 0;

    await suite.app.running.calls.hangUp('ana');
    for (const step of order) {
      if (step === 'agent') await suite.app.webhook(`/conference/${callSid}/agents/ana/status`, { CallSid: anaLeg, CallStatus: 'completed' }).expect(200);
      if (step === 'leave') await suite.app.webhook('/conference/events', { FriendlyName: callSid, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-leave', CallSid: anaLeg, ParticipantLabel: 'agent:ana', ReasonParticipantLeft: 'participant_hung_up' }).expect(200);
      if (step === 'end') await suite.app.webhook('/conference/events', { FriendlyName: callSid, ConferenceSid: conferenceSid, StatusCallbackEvent: 'conference-end', ReasonConferenceEnded: 'last-participant-left' }).expect(200);
      if (step === 'customer') await suite.app.webhook(`/conference/callback/status?call=${callSid}`, { CallSid: customerLeg, CallStatus: 'canceled' }).expect(200);
    }

    // The customer's phone stops ringing; nobody says goodbye on it.
    await until('the ring stopped', () => suite.rest.requests.find((r) => r.path === callPath(customerLeg) && formValue(r, 'Status') === 'completed'));
    expect(suite.rest.requests.some((r) => /Hangup/.test(formValue(r, 'Twiml') ?? ''))).toBe(false);
    // The callback is back in line at its place, this attempt not counted, routable now.
    const again = await backInLineAfter(callSid);
    expect(again).toMatchObject({ callback: { number: from, attempt: 1 }, placeSince });
    expect(again.routableFrom === undefined || new Date(again.routableFrom).getTime() <= Date.now()).toBe(true);
    expect((await suite.db.models.calls.find({ 'callback.number': from }).lean().exec()).map((c) => c._id)).toEqual([again._id]);
    // The history keeps the attempt ana left, said so.
    const record = await until('the attempt in the history', async () => (await suite.app.running.history.newest({ limit: 10 })).find((r) => r._id === callSid));
    expect(record).toMatchObject({ endReason: 'callback-agent-left', callback: { attempt: 1 } });
    // And the call's page says why, in words.
    readers.boss ??= await signedInAgent(suite.app, 'cb-boss', { role: 'supervisor' });
    const page = await readers.boss.get(`/history/${record.endedAt.toISOString().slice(0, 10)}/${callSid}`).expect(200);
    expect(page.text).toContain("the agent left while the customer's phone rang");
    // Ana wraps up, then is offered the callback again (she is the only agent).
    await until('ana rung again for the callback', () => dials().some((d) => conferenceUrl(d) === `${BASE}/conference/${again._id}/connect/ana`));
  });

  test('when ana\'s softphone drops while the customer\'s phone rings on the last attempt, then the callback is not lost: back in line at its place, the ring stopped', async () => {
    const from = '+15550000062';
    const { callSid, anaLeg, customerLeg, placeSince } = await ringingCallback(from);
    await suite.db.models.calls.updateOne({ _id: callSid }, { $set: { 'callback.attempt': 2 } }).exec(); // CALLBACK_ATTEMPTS is 2
    suite.rest.requests.length = 0;

    await suite.app.webhook(`/conference/${callSid}/agents/ana/status`, { CallSid: anaLeg, CallStatus: 'completed' }).expect(200);
    await suite.app.webhook(`/conference/callback/status?call=${callSid}`, { CallSid: customerLeg, CallStatus: 'canceled' }).expect(200);

    await until('the ring stopped', () => suite.rest.requests.find((r) => r.path === callPath(customerLeg) && formValue(r, 'Status') === 'completed'));
    expect(await backInLineAfter(callSid)).toMatchObject({ callback: { number: from, attempt: 2 }, placeSince });
  });

  test('when the callback is back in line after ana left its ring, then the floor lists it where routing serves it, ahead of a later caller, waiting since the customer first called', async () => {
    const from = '+15550000063';
    const { callSid, anaLeg, customerLeg } = await ringingCallback(from);
    // The customer asked five minutes ago; another caller called just now.
    const firstCalled = new Date(Date.now() - 5 * 60_000);
    await suite.db.models.calls.updateOne({ _id: callSid }, { $set: { placeSince: firstCalled } }).exec();
    const later = fakeSid();
    await incoming(later, '+15550000064');

    await suite.app.webhook(`/conference/${callSid}/agents/ana/status`, { CallSid: anaLeg, CallStatus: 'completed' }).expect(200);
    await suite.app.webhook(`/conference/callback/status?call=${callSid}`, { CallSid: customerLeg, CallStatus: 'canceled' }).expect(200);
    const again = await backInLineAfter(callSid);

    readers.boss ??= await signedInAgent(suite.app, 'cb-boss', { role: 'supervisor' });
    const board = (await readers.boss.get('/api/board').expect(200)).body as { line: Array<{ callSid: string; waitedSeconds: number }>; tiles?: { longestWaitSeconds?: number } };
    expect(board.line.map((c) => c.callSid)).toEqual([again._id, later]);
    expect(board.line[0]!.waitedSeconds).toBeGreaterThanOrEqual(299);
    expect(board.line[1]!.waitedSeconds).toBeLessThan(60);
  });
});

test('when a caller sent back to the line by their agent hears the offer and stays, then the next agent who answers (Ben) joins them in the new conference (not hung up as a stranger), and its start is the call\'s', async () => {
  const from = '+15550000079';
  const ana = await signIn(suite.app, 'ana');
  await available('ana');
  const caller = fakeSid();
  await incoming(caller, from);
  await until('ana rung', () => dials().some((d) => conferenceUrl(d) === `${BASE}/conference/${caller}/connect/ana`));
  const firstLeg = await agentAnswers(caller);
  const first = fakeSid('CF');
  await suite.app.webhook('/conference/events', { FriendlyName: caller, ConferenceSid: first, StatusCallbackEvent: 'conference-start' }).expect(200);
  await ana.post('/api/me/transfer-cold').send({ to: 'queue' }).expect(202);
  await suite.app.webhook('/conference/events', { FriendlyName: caller, ConferenceSid: first, StatusCallbackEvent: 'participant-hold', CallSid: caller, ParticipantLabel: 'customer' }).expect(200);
  await suite.app.webhook(`/conference/${caller}/agents/ana/status`, { CallSid: firstLeg, CallStatus: 'completed' }).expect(200);
  await suite.app.running.presence.choose('ana', 'away');
  await until('back in line', async () => (await suite.db.models.calls.findById(caller).lean().exec())?.status === 'waiting');
  suite.rest.requests.length = 0;

  // The offer takes the caller out of the first conference (it ends behind them); they press nothing.
  await hearOffer(caller, from);
  expect(await suite.db.models.calls.findById(caller).lean().exec()).toMatchObject({ leftConferenceSid: first });
  // The first conference's end, late and with its SID, is no news about the call.
  await suite.app.webhook('/conference/events', { FriendlyName: caller, ConferenceSid: first, StatusCallbackEvent: 'conference-end', ReasonConferenceEnded: 'last-participant-left' }).expect(200);
  expect(await suite.db.models.calls.findById(caller).lean().exec()).toMatchObject({ status: 'waiting' });

  // Ana passed the call on; Ben takes it.
  await addAgent(suite.app, 'ben');
  await available('ben');
  await until('ben rung', () => dials().some((d) => conferenceUrl(d) === `${BASE}/conference/${caller}/connect/ben`));
  const secondLeg = await agentAnswers(caller, 'ben');
  const second = fakeSid('CF');
  await suite.app.webhook('/conference/events', { FriendlyName: caller, ConferenceSid: second, StatusCallbackEvent: 'conference-start' }).expect(200);
  await suite.app.webhook('/conference/events', { FriendlyName: caller, ConferenceSid: second, StatusCallbackEvent: 'participant-join', CallSid: secondLeg, ParticipantLabel: 'agent:ben' }).expect(200);

  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(updates(secondLeg)).toEqual([]);
  expect(suite.app.logs.filter((line) => line.includes('joined the conference of a call that had ended'))).toEqual([]);
  expect(await suite.db.models.calls.findById(caller).lean().exec()).toMatchObject({ status: 'in-progress', conferenceSid: second });
  const answered = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 2100));
  await callEnds(caller);
  // Back in line counts as on hold until Ben answered; his talk after it counts as talk.
  const record = (await suite.app.running.history.find(caller, new Date()))!;
  expect(record.timeline.filter((e) => e.kind === 'customer-held' || e.kind === 'customer-unheld').map((e) => e.kind)).toEqual(['customer-held', 'customer-unheld']);
  const unheld = record.timeline.find((e) => e.kind === 'customer-unheld')!.at.getTime();
  expect(Math.abs(unheld - answered)).toBeLessThan(1500);
  expect(record.talkSeconds - (record.holdSeconds ?? 0)).toBeGreaterThanOrEqual(2);
  expect(record.timeline.filter((e) => e.kind === 'answered').map((e) => e.agentId)).toEqual(['ana', 'ben']);
});

test('when the agent comes free while the first caller is hearing the offer, then the caller behind them is not rung first: back in line, the first caller is rung at once', async () => {
  await available('ana');
  const busy = fakeSid();
  await incoming(busy, '+15550000070');
  await until('ana rung', () => dials().some((d) => conferenceUrl(d) === `${BASE}/conference/${busy}/connect/ana`));
  await agentAnswers(busy);
  // The first caller waits and is moved out to hear the offer; a second caller waits behind them (offered already).
  const first = fakeSid();
  await incoming(first, '+15550000071');
  const [update] = await until('the offer to the first caller', () => (updates(first).length ? updates(first) : undefined));
  const second = fakeSid();
  await incoming(second, '+15550000072');
  await suite.db.models.calls.updateOne({ _id: second }, { $set: { callbackOfferedAt: new Date() } }).exec();
  const offerUrl = find(parseTwiml(formValue(update!, 'Twiml')!), 'Redirect')!.text;
  await suite.app.webhook('/conference/events', { FriendlyName: first, StatusCallbackEvent: 'participant-leave', CallSid: first, ParticipantLabel: 'customer', ReasonParticipantLeft: 'participant_updated_via_api' }).expect(200);
  await suite.app.webhook('/conference/events', { FriendlyName: first, StatusCallbackEvent: 'conference-end', ReasonConferenceEnded: 'participant-with-end-conference-on-exit-left' }).expect(200);
  const offer = parseTwiml((await suite.app.webhook(pathOf(offerUrl), { CallSid: first, From: '+15550000071' }).expect(200)).text);

  // Ana's call ends and her wrap-up (1 s) runs out while the first caller is still in the offer's menu.
  await callEnds(busy);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  expect(dials().filter((d) => conferenceUrl(d) === `${BASE}/conference/${second}/connect/ana`)).toEqual([]);

  // The first caller presses nothing: back in line, and ana rings for them now, not at the next tick or event.
  const back = parseTwiml((await suite.app.webhook(pathOf(find(offer, 'Redirect')!.text), { CallSid: first, From: '+15550000071' }).expect(200)).text);
  expect(find(back, 'Conference')?.text).toBe(first);
  const backAt = Date.now();
  await until('ana rung for the first caller', () => dials().some((d) => conferenceUrl(d) === `${BASE}/conference/${first}/connect/ana`), 3000);
  expect(Date.now() - backAt).toBeLessThan(1000);
  expect(dials().filter((d) => conferenceUrl(d) === `${BASE}/conference/${second}/connect/ana`)).toEqual([]);
});

test('when an agent who could take the caller is free as the offer falls due, then the caller is not taken out of the line for it: the agent rings instead', async () => {
  const caller = fakeSid();
  await incoming(caller, '+15550000080');
  // Not routable for 3 s (as a call back in line waits for the conference to settle), so only the offer could move it.
  await suite.db.models.calls.updateOne({ _id: caller }, { $set: { routableFrom: new Date(Date.now() + 3000) } }).exec();
  await available('ana');

  await new Promise((resolve) => setTimeout(resolve, 2000));

  expect(updates(caller)).toEqual([]);
  expect(await suite.db.models.calls.findById(caller).lean().exec()).not.toMatchObject({ awayFromLine: true });
  await until('ana rung', () => dials().some((d) => conferenceUrl(d) === `${BASE}/conference/${caller}/connect/ana`));
  await callEnds(caller);
});

test('when a caller hangs up just as they are moved to the offer, then the call ends (their leave says they hung up)', async () => {
  const caller = fakeSid();
  await incoming(caller, '+15550000077');
  await until('the offer', () => updates(caller).length > 0);
  expect(await suite.db.models.calls.findById(caller).lean().exec()).toMatchObject({ awayFromLine: true });

  await suite.app.webhook('/conference/events', { FriendlyName: caller, StatusCallbackEvent: 'conference-end', ReasonConferenceEnded: 'participant-with-end-conference-on-exit-left' }).expect(200);
  expect(await suite.db.models.calls.findById(caller).lean().exec()).not.toBeNull();
  await suite.app.webhook('/conference/events', { FriendlyName: caller, StatusCallbackEvent: 'participant-leave', CallSid: caller, ParticipantLabel: 'customer', ReasonParticipantLeft: 'participant_hung_up' }).expect(200);

  expect(await suite.db.models.calls.findById(caller).lean().exec()).toBeNull();
  expect((await suite.app.running.history.newest({ limit: 5 })).find((r) => r._id === caller)).toMatchObject({ endReason: 'customer-hung-up' });
});

test('when a caller hangs up while hearing the offer, then their call status ends the call', async () => {
  const caller = fakeSid();
  await incoming(caller, '+15550000078');
  await until('the offer', () => updates(caller).length > 0);

  await suite.app.webhook(`/conference/callback/customer-status?call=${caller}`, { CallSid: caller, CallStatus: 'completed' }).expect(200);

  expect(await suite.db.models.calls.findById(caller).lean().exec()).toBeNull();
});

describe('an agent whose softphone drops during a callback conversation', () => {
  const participantPath = (conferenceSid: string) => `/2010-04-01/Accounts/${TEST_ENV.TWILIO_ACCOUNT_SID}/Conferences/${conferenceSid}/Participants/customer.json`;

  /** A caller asks for a callback; ana takes it and talks with the customer on their own leg. */
  async function talkingOnCallback(from: string): Promise<{ callSid: string; anaLeg: string; customerLeg: string; conferenceSid: string }> {
    const callSid = fakeSid();
    await incoming(callSid, from);
    const askNumber = await hearOffer(callSid, from, '1');
    const numberAction = find(askNumber, 'Gather')!.attrs.action!;
    await suite.app.webhook(new URL(numberAction).pathname + new URL(numberAction).search, { CallSid: callSid, From: from, Digits: '1' }).expect(200);
    await suite.app.webhook(`/conference/callback/customer-status?call=${callSid}`, { CallSid: callSid, CallStatus: 'completed' }).expect(200);
    await available('ana');
    await until('ana rung for the callback', () => dials().some((d) => conferenceUrl(d) === `${BASE}/conference/${callSid}/connect/ana`));
    const anaLeg = await agentAnswers(callSid);
    await until('the customer dialled', () => dials().find((d) => formValue(d, 'To') === from));
    const customerLeg = fakeSid();
    await suite.app.webhook(`/conference/callback/answer?call=${callSid}`, { CallSid: customerLeg }).expect(200);
    const conferenceSid = fakeSid('CF');
    await suite.app.webhook('/conference/events', { FriendlyName: callSid, ConferenceSid: conferenceSid, StatusCallbackEvent: 'conference-start' }).expect(200);
    return { callSid, anaLeg, customerLeg, conferenceSid };
  }

  test('when ana\'s softphone drops (no Hang up), then the customer goes back in line on hold with music, keeps their place, is offered to ana first, and is not dialled again', async () => {
    const { callSid, anaLeg, customerLeg, conferenceSid } = await talkingOnCallback('+15550000031');
    const dialled = dials().length;
    suite.rest.requests.length = 0;

    await suite.app.webhook(`/conference/${callSid}/agents/ana/status`, { CallSid: anaLeg, CallStatus: 'completed' }).expect(200);
    await suite.app.webhook('/conference/events', { FriendlyName: callSid, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-leave', CallSid: anaLeg, ReasonParticipantLeft: 'participant_hung_up' }).expect(200);

    const hold = await until('the customer on hold', () => suite.rest.requests.find((r) => r.path === participantPath(conferenceSid)));
    expect(formValue(hold, 'Hold')).toBe('true');
    expect(suite.rest.requests.some((r) => /Hangup/.test(formValue(r, 'Twiml') ?? ''))).toBe(false); // no goodbye
    const waiting = (await suite.db.models.calls.findById(callSid).lean().exec())!;
    expect(waiting).toMatchObject({ status: 'waiting', customerHeld: true, requeued: 1, customerLegSid: customerLeg, returnTo: { agentId: 'ana' }, callback: { attempt: 1 } });
    expect(waiting.placeSince).toEqual(waiting.createdAt);

    // Ana's page comes back: she is offered her customer again; on Answer the customer comes off hold, nobody is dialled.
    const again = await until('ana rung again', () => dials().find((d) => conferenceUrl(d) === `${BASE}/conference/${callSid}/connect/ana`));
    expect(again).toBeDefined();
    suite.rest.requests.length = 0;
    await agentAnswers(callSid);
    const unhold = await until('the customer off hold', () => suite.rest.requests.find((r) => r.path === participantPath(conferenceSid)));
    expect(formValue(unhold, 'Hold')).toBe('false');
    await new Promise((r) => setTimeout(r, 200));
    expect(dials().filter((d) => formValue(d, 'To') === '+15550000031')).toHaveLength(0);
    expect(dialled).toBeGreaterThan(0);

    // The customer hangs up: the call ends, answered, a callback.
    await suite.app.webhook('/conference/events', { FriendlyName: callSid, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-leave', CallSid: customerLeg, ReasonParticipantLeft: 'participant_hung_up' }).expect(200);
    const record = await until('the call in the history', async () => (await suite.app.running.history.newest({ limit: 10 })).find((r) => r._id === callSid));
    expect(record).toMatchObject({ outcome: 'answered', callback: { number: '+15550000031', attempt: 1 } });
  });

  test('when the customer hangs up while back in line after the drop, then the call ends (their leave is not ignored) and nobody is rung for it', async () => {
    const { callSid, anaLeg, customerLeg, conferenceSid } = await talkingOnCallback('+15550000032');
    await suite.app.webhook('/conference/events', { FriendlyName: callSid, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-leave', CallSid: anaLeg, ReasonParticipantLeft: 'participant_hung_up' }).expect(200);
    expect(await suite.db.models.calls.findById(callSid).lean().exec()).toMatchObject({ status: 'waiting' });

    await suite.app.webhook('/conference/events', { FriendlyName: callSid, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-leave', CallSid: customerLeg, ReasonParticipantLeft: 'participant_hung_up' }).expect(200);

    expect(await suite.db.models.calls.findById(callSid).lean().exec()).toBeNull();
    expect((await suite.app.running.history.newest({ limit: 5 })).find((r) => r._id === callSid)).toMatchObject({ endReason: 'customer-hung-up', outcome: 'answered' });
  });

  test('when ana presses Hang up on a callback, then the customer hears goodbye on their own leg (not the call they made earlier) and is not put back in line', async () => {
    const { callSid, anaLeg, customerLeg, conferenceSid } = await talkingOnCallback('+15550000033');
    await suite.app.running.calls.hangUp('ana');
    suite.rest.requests.length = 0;
    await suite.app.webhook('/conference/events', { FriendlyName: callSid, ConferenceSid: conferenceSid, StatusCallbackEvent: 'participant-leave', CallSid: anaLeg, ReasonParticipantLeft: 'participant_hung_up' }).expect(200);
    expect(await suite.db.models.calls.findById(callSid).lean().exec()).toMatchObject({ endReason: 'abandoned' });
    const callPath = (sid: string) => `/2010-04-01/Accounts/${TEST_ENV.TWILIO_ACCOUNT_SID}/Calls/${sid}.json`;
    const goodbye = await until('the goodbye', () => suite.rest.requests.find((r) => /Hangup/.test(formValue(r, 'Twiml') ?? '')));
    expect(goodbye.path).toBe(callPath(customerLeg));
    expect(suite.rest.requests.filter((r) => r.path === callPath(callSid))).toEqual([]);
  });
});

describe('a key to leave a message while waiting', () => {
  beforeAll(async () => {
    // One queue: every caller waits in it (no menu), and ana serves it.
    const admin = await signedInAgent(suite.app, 'boss', { name: 'The Boss', role: 'admin' });
    await admin.postWithoutToken('/admin/queues').type('form').send({ name: 'Billing', key: '1', _csrf: admin.csrfToken }).expect(303);
    await new Promise((r) => setTimeout(r, 1100)); // the settings' one-second cache
  });

  /** The caller waits in Billing and is moved out for the offer; they hear it (the parsed <Gather>). */
  async function atTheOffer(from: string): Promise<{ callSid: string; offer: ReturnType<typeof parseTwiml> }> {
    const callSid = fakeSid();
    await incoming(callSid, from);
    expect(await suite.db.models.calls.findById(callSid).lean().exec()).toMatchObject({ queueId: 'billing' });
    const [update] = await until(`the offer to ${callSid}`, () => (updates(callSid).length ? updates(callSid) : undefined));
    const redirect = find(parseTwiml(formValue(update!, 'Twiml')!), 'Redirect')!.text;
    await suite.app.webhook('/conference/events', { FriendlyName: callSid, StatusCallbackEvent: 'participant-leave', CallSid: callSid, ParticipantLabel: 'customer', ReasonParticipantLeft: 'participant_updated_via_api' }).expect(200);
    await suite.app.webhook('/conference/events', { FriendlyName: callSid, StatusCallbackEvent: 'conference-end', ReasonConferenceEnded: 'participant-with-end-conference-on-exit-left' }).expect(200);
    const offer = parseTwiml((await suite.app.webhook(new URL(redirect).pathname + new URL(redirect).search, { CallSid: callSid, From: from }).expect(200)).text);
    return { callSid, offer };
  }

  test('when a waiting caller presses 2 at the offer, then a <Record> keeps a message for their queue, their place ends, and the history says they left a voicemail (not an abandon)', async () => {
    const { callSid, offer } = await atTheOffer('+15550000041');
    const gather = find(offer, 'Gather')!;
    expect(find(gather, 'Say')?.text).toMatch(/To leave a message instead, press 2\./);
    const action = gather.attrs.action!;

    const recordTwiml = parseTwiml((await suite.app.webhook(new URL(action).pathname + new URL(action).search, { CallSid: callSid, From: '+15550000041', Digits: '2' }).expect(200)).text);

    const record = find(recordTwiml, 'Record')!;
    expect(record.attrs).toMatchObject({
      action: `${BASE}/conference/voicemail/saved?reason=waiting&queue=billing&from=%2B15550000041`,
      recordingStatusCallback: `${BASE}/conference/voicemail/status?reason=waiting&queue=billing&from=%2B15550000041`,
      finishOnKey: '#',
    });
    // The place in line ended: the call is in the history, a voicemail, left by the customer.
    expect(await suite.db.models.calls.findById(callSid).lean().exec()).toBeNull();
    const ended = (await suite.app.running.history.newest({ limit: 10 })).find((r) => r._id === callSid);
    expect(ended).toMatchObject({ outcome: 'voicemail', endReason: 'voicemail', queueId: 'billing' });

    // Twilio posts the recording: a voicemail for Billing, left while waiting.
    const sid = `RE${'4'.repeat(32)}`;
    await suite.app.webhook(new URL(record.attrs.action!).pathname + new URL(record.attrs.action!).search, { CallSid: callSid, From: '+15550000041', RecordingSid: sid, RecordingUrl: `${suite.rest.baseUrl}/r/${sid}`, RecordingDuration: '6', Digits: '#' }).expect(200);
    expect(await suite.db.connection.collection('voicemails').findOne({ _id: sid as never })).toMatchObject({ reason: 'waiting', queueId: 'billing', queueName: 'Billing', from: '+15550000041', callSid });
    // Twilio repeats the key's request (its answer was lost): the caller is still asked for the message, not sent back in line.
    const again = parseTwiml((await suite.app.webhook(new URL(action).pathname + new URL(action).search, { CallSid: callSid, From: '+15550000041', Digits: '2' }).expect(200)).text);
    expect(find(again, 'Record')?.attrs.action).toBe(`${BASE}/conference/voicemail/saved?reason=waiting&from=%2B15550000041`);
    expect(find(again, 'Conference')).toBeUndefined();
    // Their own call's end afterwards changes nothing (no second history record, no error).
    await suite.app.webhook(`/conference/callback/customer-status?call=${callSid}`, { CallSid: callSid, CallStatus: 'completed' }).expect(200);
    expect((await suite.app.running.history.newest({ limit: 10 })).filter((r) => r._id === callSid)).toHaveLength(1);
  });

  test('when an agent is already on the way as the caller presses 2, then they go back into their conference instead', async () => {
    const { callSid, offer } = await atTheOffer('+15550000042');
    const action = find(offer, 'Gather')!.attrs.action!;
    // An agent took the call meanwhile (another instance ended the wait).
    await suite.db.models.calls.updateOne({ _id: callSid }, { $set: { status: 'offered', offeredTo: 'ana' } }).exec();

    const back = parseTwiml((await suite.app.webhook(new URL(action).pathname + new URL(action).search, { CallSid: callSid, From: '+15550000042', Digits: '2' }).expect(200)).text);

    expect(find(back, 'Record')).toBeUndefined();
    expect(find(back, 'Conference')?.text).toBe(callSid);
    expect(await suite.db.models.calls.findById(callSid).lean().exec()).toMatchObject({ status: 'offered' });
  });
});
