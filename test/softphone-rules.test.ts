// The softphone's rules without a database or HTTP: hold and resume, mute, what the page may offer, and the wrap-up
// and caller-history rules.
import type { CallRecord } from '../src/contact-center/call';
import { actionsFor } from '../src/contact-center/actions';
import { agentJoined, consultStarted, customerAnswered, customerHoldRequested, legReported, muteReported, outboundPlaced } from '../src/contact-center/call-life';
import { InvalidRequestError, NoCallError, NotFoundError, NotReadyError, TransferRefusedError, WrapUpClosedError } from '../src/contact-center/errors';
import { finishedCallOf } from '../src/contact-center/history';
import { presenceOf } from '../src/contact-center/presence';
import { callerSummary, checkWrapUp, codeIdOf, withCall, wrapUpBlocks, type CallerCall, type PendingWrapUp } from '../src/contact-center/wrap-up';
import type { Participant } from '../src/contact-center/participants';

const now = new Date('2026-12-03T10:00:00Z');
const leg = (agentId: string, status: Participant['status'], extra: Partial<Participant> = {}): Participant => ({ agentId, role: 'offer', status, createdAt: now, updatedAt: now, ...extra });
const call = (extra: Partial<CallRecord> = {}): CallRecord => ({
  _id: 'CAcustomer',
  conferenceName: 'CAcustomer',
  conferenceSid: 'CFconf',
  status: 'in-progress',
  participants: [leg('ana', 'in-progress', { legCallSid: 'CAana' })],
  passedBy: [],
  transfers: [],
  rev: 3,
  createdAt: new Date(now.getTime() - 900_000),
  updatedAt: now,
  ...extra,
});
const view = (c: CallRecord) => ({ ...c, conferenceStarted: Boolean(c.conferenceSid) });

describe('hold and resume', () => {
  test('when the talking agent presses Hold, then the customer is held by them from now, and Resume clears it', () => {
    const held = customerHoldRequested(call(), { agentId: 'ana', on: true, now });
    expect(held).toEqual({ patch: { set: { heldBy: 'ana', heldSince: now } }, result: { conferenceSid: 'CFconf', changed: true } });

    const resumed = customerHoldRequested(call({ heldBy: 'ana', heldSince: now }), { agentId: 'ana', on: false, now });
    expect(resumed).toEqual({ patch: { clear: ['heldBy', 'heldSince'] }, result: { conferenceSid: 'CFconf', changed: true } });
  });

  test('when Hold is pressed twice, then the second press changes nothing', () => {
    expect(customerHoldRequested(call({ heldBy: 'ana' }), { agentId: 'ana', on: true, now })).toEqual({ result: { conferenceSid: 'CFconf', changed: false } });
  });

  test('when a transfer is under way, the conference has not started, the customer has not answered or the agent is not talking, then Hold is refused', () => {
    const consulting = call({ transfers: [{ id: 't1', from: 'ana', to: 'ben', mode: 'consult', state: 'consulting', at: now, updatedAt: now }] });
    expect(() => customerHoldRequested(consulting, { agentId: 'ana', on: true, now })).toThrow(TransferRefusedError);
    expect(() => customerHoldRequested(call({ conferenceSid: undefined }), { agentId: 'ana', on: true, now })).toThrow(NotReadyError);
    expect(() => customerHoldRequested(call({ customerRinging: true }), { agentId: 'ana', on: true, now })).toThrow(NotReadyError);
    expect(() => customerHoldRequested(call(), { agentId: 'ben', on: true, now })).toThrow(NoCallError);
  });

  test('when the agent consults while the customer is on hold, then the consult takes the hold over (Hold is cleared)', () => {
    const step = consultStarted(call({ heldBy: 'ana', heldSince: now }), { id: 't1', fromAgentId: 'ana', toAgentId: 'ben', toName: 'Ben', now });
    expect(step.patch?.clear).toEqual(['heldBy', 'heldSince']);
  });

  test('when the page asks what the agent may do, then Hold is offered while talking with no transfer open, Resume while held, and neither before the conference', () => {
    expect(actionsFor(view(call()), 'ana')).toMatchObject({ hold: true, resume: false, mute: true, keypad: true });
    expect(actionsFor(view(call({ heldBy: 'ana' })), 'ana')).toMatchObject({ hold: false, resume: true });
    expect(actionsFor(view(call({ conferenceSid: undefined })), 'ana')).toMatchObject({ hold: false, resume: false, hangUp: true });
    expect(actionsFor(view(call()), 'ben')).toMatchObject({ hold: false, mute: false, keypad: false });
  });

  test('when an outbound call\'s customer still rings, then the agent may only hang up (and use their own phone)', () => {
    expect(actionsFor(view(call({ customerRinging: true })), 'ana')).toMatchObject({ hangUp: true, hold: false, consult: false, coldTransfer: false, bringIn: false, toQueue: false, mute: true });
  });
});

describe('mute', () => {
  test('when the page reports a mute, then the agent\'s talking leg is marked muted; the same again changes nothing', () => {
    expect(muteReported(call(), { agentId: 'ana', muted: true }).patch).toEqual({ participants: [{ index: 0, set: { muted: true } }] });
    expect(muteReported(call({ participants: [leg('ana', 'in-progress', { muted: true })] }), { agentId: 'ana', muted: true }).patch).toBeUndefined();
    expect(() => muteReported(call(), { agentId: 'ben', muted: true })).toThrow(NoCallError);
  });
});

describe('wrap-up codes', () => {
  const pending: PendingWrapUp = { callSid: 'CAlast', startedAt: now, since: now };
  const codes = [{ id: 'refund', name: 'Refund', active: true }, { id: 'old', name: 'Old', active: false }];

  test('when a code is added, then its id comes from its name; a name with no letter or digit is refused', () => {
    expect(codeIdOf('  Refund issued (10 %)! ')).toBe('refund-issued-10');
    expect(codeIdOf('Rückruf später')).toBe('ruckruf-spater');
    expect(() => codeIdOf('!!!')).toThrow(InvalidRequestError);
    // Names in other scripts get ids of their own (not one shared id, and not a refusal).
    expect(codeIdOf('تم الحل')).toMatch(/^c-[0-9a-f]{10}$/);
    expect(codeIdOf('日本語')).toMatch(/^c-[0-9a-f]{10}$/);
    expect(codeIdOf('日本語')).not.toBe(codeIdOf('تم الحل'));
    expect(codeIdOf(' 日本語 ')).toBe(codeIdOf('日本語'));
  });

  test('when admins require a code and there is one to pick, then a missing wrap-up holds the next offer back; otherwise it never does', () => {
    expect(wrapUpBlocks({ required: true, activeCodes: 2, pending })).toBe(true);
    expect(wrapUpBlocks({ required: false, activeCodes: 2, pending })).toBe(false);
    expect(wrapUpBlocks({ required: true, activeCodes: 0, pending })).toBe(false);
    expect(wrapUpBlocks({ required: true, activeCodes: 2, pending: undefined })).toBe(false);
    // A call left before the rule was turned on is not held to it.
    expect(wrapUpBlocks({ required: true, requiredSince: new Date(new Date(pending.since).getTime() + 1), activeCodes: 2, pending })).toBe(false);
    expect(wrapUpBlocks({ required: true, requiredSince: new Date(pending.since), activeCodes: 2, pending })).toBe(true);
  });

  test('when a required wrap-up holds an agent back, then their presence reads wrap-up since they left the call (a call or ring still wins)', () => {
    const base = { chosen: 'available' as const, chosenAt: new Date(now.getTime() - 600_000), lastSeenAt: now, softphoneReady: true, now, offlineAfterMs: 30_000 };
    const left = new Date(now.getTime() - 20_000);
    expect(presenceOf({ ...base, wrapUpBlockedSince: left })).toEqual({ presence: 'wrap-up', since: left });
    expect(presenceOf({ ...base, wrapUpBlockedSince: left, reservation: { state: 'offered', since: now } }).presence).toBe('ringing');
    expect(presenceOf(base).presence).toBe('available');
  });

  test('when an agent picks, then only an active code for the call waiting for their wrap-up is taken', () => {
    expect(checkWrapUp({ pending, callSid: 'CAlast', code: 'refund', codes })).toEqual(codes[0]);
    expect(() => checkWrapUp({ pending, callSid: 'CAother', code: 'refund', codes })).toThrow(WrapUpClosedError);
    expect(() => checkWrapUp({ pending: undefined, callSid: 'CAlast', code: 'refund', codes })).toThrow(WrapUpClosedError);
    expect(() => checkWrapUp({ pending, callSid: 'CAlast', code: 'nope', codes })).toThrow(NotFoundError);
    expect(() => checkWrapUp({ pending, callSid: 'CAlast', code: 'old', codes })).toThrow(InvalidRequestError);
  });
});

describe('who is calling', () => {
  const at = (daysAgo: number, callSid: string): CallerCall => ({ callSid, startedAt: new Date(now.getTime() - daysAgo * 86_400_000), endedAt: new Date(now.getTime() - daysAgo * 86_400_000 + 60_000), outcome: 'answered', agentId: 'ana' });

  test('when calls finish, then the caller\'s record keeps each once, oldest first, the newest 50 at most', () => {
    let calls: CallerCall[] = [];
    for (let i = 60; i >= 1; i -= 1) calls = withCall(calls, at(i, `CA${i}`));
    calls = withCall(calls, at(1, 'CA1'));
    expect(calls).toHaveLength(50);
    expect(calls[0]!.callSid).toBe('CA50');
    expect(calls.at(-1)!.callSid).toBe('CA1');
  });

  test('when the page asks about a caller, then it hears the calls of the last 30 days and the last one, leaving out the call ringing now', () => {
    const calls = [at(45, 'CAold'), at(20, 'CAmid'), at(2, 'CArecent')];
    expect(callerSummary(calls, now)).toEqual({ callsLast30Days: 2, last: calls[2] });
    expect(callerSummary([...calls, at(0, 'CAnow')], now, 'CAnow')).toEqual({ callsLast30Days: 2, last: calls[2] });
    expect(callerSummary([], now)).toEqual({ callsLast30Days: 0 });
  });
});

describe('outbound calls', () => {
  const placed = (): CallRecord => ({ ...outboundPlaced({ callSid: 'CAout', to: '+15556667777', agentId: 'ana', supportNumber: '+15550000000', now }), createdAt: now, updatedAt: now });

  test('when an agent calls a number, then the call is keyed by the customer\'s CallSid, offered to that agent, the customer still ringing; a number that is not E.164 or is the support line is refused', () => {
    expect(placed()).toMatchObject({ _id: 'CAout', conferenceName: 'CAout', from: '+15556667777', direction: 'outbound', status: 'offered', offeredTo: 'ana', customerRinging: true, participants: [{ agentId: 'ana', role: 'offer', status: 'dialing' }] });
    expect(() => outboundPlaced({ callSid: 'CA', to: '5556667777', agentId: 'ana', supportNumber: '+15550000000', now })).toThrow(InvalidRequestError);
    expect(() => outboundPlaced({ callSid: 'CA', to: '+15550000000', agentId: 'ana', supportNumber: '+15550000000', now })).toThrow(InvalidRequestError);
  });

  test('when the agent joins first, then the call is theirs but not yet answered; the customer answering answers it', () => {
    const joined = agentJoined(placed(), { agentId: 'ana', legCallSid: 'CAana', now });
    expect(joined.patch?.set).toEqual({ status: 'in-progress', agentId: 'ana' });
    expect(customerAnswered({ ...placed(), status: 'in-progress' }, now)).toEqual({ patch: { clear: ['customerRinging'], set: { answeredAt: now } }, result: true });
    expect(customerAnswered({ ...placed(), customerRinging: undefined }, now)).toEqual({ result: true });
    expect(customerAnswered({ ...placed(), status: 'completed' }, now)).toEqual({ result: false });
  });

  test('when the agent\'s own leg never connects while the customer still rings, then the call is called off, not offered to someone else', () => {
    const ringing = { ...placed(), participants: [leg('ana', 'ringing', { legCallSid: 'CAana' })] };
    const step = legReported(ringing, { agentId: 'ana', legCallSid: 'CAana', status: 'no-answer', callStatus: 'no-answer', now }, { reconnectGraceMs: 0, leaveSettleMs: 0 });
    expect(step.result).toMatchObject({ missedOffer: false, callOffOutbound: true });
  });

  test('when an outbound call ends without the customer answering, then the history says outbound and failed', () => {
    const record = finishedCallOf({ ...placed(), status: 'completed', endReason: 'customer-busy' }, now);
    expect(record).toMatchObject({ direction: 'outbound', outcome: 'failed', endReason: 'customer-busy' });
    expect(record.timeline[0]).toMatchObject({ kind: 'dialled' });
  });
});
