// The call's life as pure transitions, without a database or HTTP: each step's patch and decision.
import type { CallRecord } from '../src/contact-center/call';
import {
  agentJoined,
  agentJoinReported,
  agentLeft,
  backInLine,
  CALLBACK_AGENT_LEFT,
  callbackConferenceEnded,
  callbackLegEnded,
  callbackNumberConfirmed,
  callbackNumberTyped,
  callbackRequested,
  callEnded,
  coldTransferStarted,
  conferenceLeftBehind,
  customerGone,
  dialled,
  hangUpRequested,
  legReported,
  maxWaitReached,
  offered,
  offerEnded,
  transferDecided,
} from '../src/contact-center/call-life';
import { CallGoneError, NoCallError, TransferRefusedError } from '../src/contact-center/errors';
import type { Participant } from '../src/contact-center/participants';
import { startConsult } from '../src/contact-center/transfer';
import { toMongoUpdate } from '../src/models/call-store';

const now = new Date('2026-12-03T10:00:00Z');
const settings = { reconnectGraceMs: 15_000, leaveSettleMs: 2_000 };
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

describe('answering', () => {
  test('when the offered agent answers, then the call is theirs, answered now, and a customer held for them comes off hold', () => {
    const ringing = call({ status: 'offered', offeredTo: 'ana', customerHeld: true, participants: [leg('ana', 'ringing')] });
    const step = agentJoined(ringing, { agentId: 'ana', legCallSid: 'CAana', now });
    expect(step.result).toEqual({ role: 'offer', unholdCustomer: true, conferenceSid: 'CFconf' });
    expect(step.patch).toMatchObject({ set: { status: 'in-progress', agentId: 'ana', answeredAt: now }, clear: ['offeredTo', 'customerHeld'], participants: [{ index: 0, set: { status: 'in-progress', legCallSid: 'CAana' } }] });
  });

  test('when an agent answers an offer that went to someone else, or a call that ended, then it is refused as gone', () => {
    expect(() => agentJoined(call({ status: 'offered', offeredTo: 'ben', participants: [leg('ana', 'ringing')] }), { agentId: 'ana', now })).toThrow(CallGoneError);
    expect(() => agentJoined(call({ endReason: 'max-wait' }), { agentId: 'ana', now })).toThrow(CallGoneError);
  });
});

describe('an agent leaving', () => {
  test("when only the agent's own call says it ended and the customer is alone, then the customer goes back in line, routable only after the settle time, kept for that agent", () => {
    const step = legReported(call(), { agentId: 'ana', legCallSid: 'CAana', status: 'completed', callStatus: 'completed', now }, settings);
    expect(step.result).toMatchObject({ alone: true, onPurpose: false, left: true });
    expect(step.patch?.set).toMatchObject({ status: 'waiting', customerHeld: true, requeued: 1, lineSince: now, routableFrom: new Date(now.getTime() + 2_000), returnTo: { agentId: 'ana', until: new Date(now.getTime() + 15_000) } });
  });

  test('when the conference reports the agent left while it goes on, then the customer may be rung at once; a customer already waiting for that word is released', () => {
    const step = agentLeft(call(), { callSid: 'CAana', reason: 'participant_hung_up', now }, settings);
    expect(step.result).toMatchObject({ agentId: 'ana', alone: true, onPurpose: false });
    expect(step.patch?.set?.routableFrom).toEqual(now);
    const waiting = call({ status: 'waiting', routableFrom: new Date(now.getTime() + 1000), participants: [leg('ana', 'completed', { legCallSid: 'CAana' })] });
    const confirm = agentLeft(waiting, { callSid: 'CAana', reason: 'participant_hung_up', now }, settings);
    expect(confirm.result).toEqual({ confirmed: true });
    expect(confirm.patch?.set).toEqual({ routableFrom: now });
  });

  test('when the agent pressed Hang up, then the customer alone is told goodbye, not requeued', () => {
    const step = agentLeft(call({ participants: [leg('ana', 'in-progress', { legCallSid: 'CAana', hungUp: true })] }), { callSid: 'CAana', now }, settings);
    expect(step.patch?.set).toEqual({ abandonedAt: now, endReason: 'abandoned' });
  });

  test('when an agent is removed because the conference ended, or the customer leaves, then the customer is gone', () => {
    expect(customerGone({ _id: 'CAcustomer' }, { callSid: 'CAana', reason: 'moderator_ended_conference', now })).toBe(true);
    expect(customerGone({ _id: 'CAcustomer' }, { callSid: 'CAcustomer', reason: 'participant_hung_up', now })).toBe(true);
    expect(customerGone({ _id: 'CAcustomer' }, { callSid: 'CAana', reason: 'participant_hung_up', now })).toBe(false);
  });

  test('when a callback arrives late (a ring after the answer), then the leg does not move back', () => {
    expect(legReported(call(), { agentId: 'ana', legCallSid: 'CAana', status: 'ringing', callStatus: 'ringing', now }, settings)).toEqual({ result: { alone: false } });
  });
});

describe('offers', () => {
  test('when routing offers a waiting call, then it is offered with a new ringing leg; a call no longer waiting is not', () => {
    const step = offered(call({ status: 'waiting', participants: [] }), { agentId: 'ben', now });
    expect(step.result).toBe(0);
    expect(step.patch).toMatchObject({ set: { status: 'offered', offeredTo: 'ben' }, addParticipant: { agentId: 'ben', role: 'offer', status: 'dialing' } });
    expect(offered(call(), { agentId: 'ben', now })).toEqual({ result: undefined });
  });

  test('when an offer ends unanswered, then the call is back in line with the agent noted as having passed; a stale report changes nothing', () => {
    const step = offerEnded(call({ status: 'offered', offeredTo: 'ben' }), { agentId: 'ben', outcome: 'busy', now });
    expect(step).toEqual({ patch: { set: { status: 'waiting' }, clear: ['offeredTo'], addPass: { agentId: 'ben', at: now, outcome: 'busy' } }, result: true });
    expect(offerEnded(call({ status: 'offered', offeredTo: 'cho' }), { agentId: 'ben', outcome: 'busy', now }).result).toBe(false);
  });

  test('when the dial answers after the call ended, then the ring is to be stopped', () => {
    const ended = call({ status: 'completed', participants: [leg('ben', 'canceled')] });
    expect(dialled(ended, { index: 0, sid: 'CAben' }).result).toBe('stop');
    expect(dialled(call({ participants: [leg('ben', 'ringing')] }), { index: 0, sid: 'CAben' })).toEqual({ patch: { participants: [{ index: 0, set: { dialledSid: 'CAben', legCallSid: 'CAben' } }] }, result: 'kept' });
  });

  test('when the longest wait is reached, then the caller is told goodbye once', () => {
    expect(maxWaitReached(call({ status: 'waiting' }))).toEqual({ patch: { set: { endReason: 'max-wait' } }, result: true });
    expect(maxWaitReached(call({ status: 'waiting', endReason: 'max-wait' })).result).toBe(false);
    // Not while an agent's phone rings for them: the ring's outcome comes first.
    expect(maxWaitReached(call({ status: 'offered', offeredTo: 'ben' })).result).toBe(false);
  });

  test('when a callback waits longer than the longest wait, then its promise is kept: nobody is on the phone to say goodbye to (once reached and back in line, they are)', () => {
    const callback = { number: '+15550001111', attempt: 1, requestedAt: now };
    expect(maxWaitReached(call({ status: 'waiting', callback })).result).toBe(false);
    expect(maxWaitReached(call({ status: 'waiting', callback, customerLegSid: 'CAleg' })).result).toBe(true);
  });

  test('when routing offers a caller who was moved out to hear the callback offer meanwhile, then nothing is offered', () => {
    expect(offered(call({ status: 'waiting', participants: [], awayFromLine: true }), { agentId: 'ben', now })).toEqual({ result: undefined });
  });
});

describe('ending', () => {
  test('when the call ends, then talking legs complete, ringing legs are cancelled and their phones stopped, and the last event closes the timeline', () => {
    const live = call({ participants: [leg('ana', 'in-progress', { legCallSid: 'CAana' }), leg('ben', 'ringing', { legCallSid: 'CAben' }), leg('cho', 'dialing')] });
    const step = callEnded(live, { reason: 'customer-hung-up', now, lastEvent: { at: new Date(0), kind: 'left', label: 'customer' } });
    expect(step.result).toMatchObject({ ringing: ['CAben'], rang: ['ben', 'cho'], call: { status: 'completed', endReason: 'customer-hung-up' } });
    expect(step.patch?.participants).toEqual([{ index: 0, set: { status: 'completed' } }, { index: 1, set: { status: 'canceled' } }, { index: 2, set: { status: 'canceled' } }]);
    expect(step.patch?.addEvent).toEqual({ at: now, kind: 'left', label: 'customer' });
    expect(callEnded(call({ status: 'completed' }), { reason: 'x', now }).result).toBeUndefined();
    // A goodbye decided from an agent's own callback, but the customer's own leave says they hung up themselves.
    const told = call({ endReason: 'abandoned', abandonedAt: now, participants: [leg('ana', 'completed', { hungUp: true })] });
    expect(callEnded(told, { reason: 'customer-hung-up', now, lastEvent: { at: now, kind: 'left', label: 'customer', reason: 'participant_hung_up' } }).result?.call.endReason).toBe('customer-hung-up');
    expect(callEnded(told, { reason: 'customer-hung-up', now, lastEvent: { at: now, kind: 'left', label: 'customer', reason: 'participant_updated_via_api' } }).result?.call.endReason).toBe('abandoned');
  });

  test('when the call ends, then agents who answered but are not known to be in the ending conference are hung up, and those in it are left to it', () => {
    const live = call({
      conferenceSid: undefined,
      participants: [
        leg('ana', 'in-progress', { legCallSid: 'CAana', joinedConferenceSid: 'CFcustomer' }),
        leg('ben', 'in-progress', { legCallSid: 'CAben' }),
        leg('cho', 'in-progress', { legCallSid: 'CAcho', joinedConferenceSid: 'CFnew' }),
        leg('dee', 'completed', { legCallSid: 'CAdee' }),
      ],
    });
    expect(callEnded(live, { reason: 'customer-hung-up', now, conferenceSid: 'CFcustomer' }).result?.stranded).toEqual(['CAben', 'CAcho']);
    // The ending conference unknown (an outbound customer's own status callback): a reported join is trusted.
    expect(callEnded(live, { reason: 'customer-hung-up', now }).result?.stranded).toEqual(['CAben']);
    // The call's own conference, known from its start, stands in for the ending one.
    expect(callEnded({ ...live, conferenceSid: 'CFcustomer' }, { reason: 'conference-ended', now }).result?.stranded).toEqual(['CAben', 'CAcho']);
  });
});

describe("an agent's join reported by the conference", () => {
  test("when an agent's leg joins the call's conference (or one before the call's is known), then the conference is kept on the leg and nobody is hung up", () => {
    const live = call({ conferenceSid: undefined, participants: [leg('ana', 'in-progress', { legCallSid: 'CAana', dialledSid: 'CAana' })] });
    expect(agentJoinReported(live, { legCallSid: 'CAana', conferenceSid: 'CFnew' })).toEqual({ patch: { participants: [{ index: 0, set: { joinedConferenceSid: 'CFnew' } }] }, result: false });
    expect(agentJoinReported(call(), { legCallSid: 'CAana', conferenceSid: 'CFconf' }).result).toBe(false);
    // Reported twice: nothing new to keep.
    expect(agentJoinReported(call({ participants: [leg('ana', 'in-progress', { legCallSid: 'CAana', joinedConferenceSid: 'CFconf' })] }), { legCallSid: 'CAana', conferenceSid: 'CFconf' })).toEqual({ result: false });
  });

  test("when an agent's leg joins another conference of the call's name than the call's own, then that leg is to be hung up, and where it went is kept on it", () => {
    expect(agentJoinReported(call(), { legCallSid: 'CAana', conferenceSid: 'CFother' })).toEqual({ patch: { participants: [{ index: 0, set: { joinedConferenceSid: 'CFother' } }] }, result: true });
    expect(agentJoinReported(call(), { legCallSid: 'CAnobody', conferenceSid: 'CFother' })).toEqual({ result: true });
  });

  test("when a leg that joined another conference of the call's name leaves it, ends, or that conference ends, then none of it is the call's: nobody is left alone and the call goes on", () => {
    // Ana's late answer joined a new conference of the call's name (the call's own, CFconf, had ended with the customer).
    const strayed = call({ participants: [leg('ana', 'in-progress', { legCallSid: 'CAana', joinedConferenceSid: 'CFother' })] });

    expect(agentLeft(strayed, { callSid: 'CAana', conferenceSid: 'CFother', reason: 'participant_updated_via_api', now }, settings)).toEqual({ result: undefined });
    const ended = legReported(strayed, { agentId: 'ana', legCallSid: 'CAana', status: 'completed', callStatus: 'completed', now }, settings);
    expect(ended.result).toEqual({ alone: false });
    expect(ended.patch).toEqual({ participants: [{ index: 0, set: { status: 'completed', legCallSid: 'CAana' } }] });
    expect(callEnded(strayed, { reason: 'conference-ended', now, conferenceSid: 'CFother' }).result).toBeUndefined();

    // The call's own conference still counts: ana leaving it is a departure, and its end is the call's.
    expect(agentLeft(call(), { callSid: 'CAana', conferenceSid: 'CFconf', reason: 'participant_hung_up', now }, settings).result).toMatchObject({ agentId: 'ana', alone: true });
    expect(callEnded(strayed, { reason: 'conference-ended', now, conferenceSid: 'CFconf' }).result?.call.status).toBe('completed');
  });
});

describe('transfers', () => {
  test('when an agent sends the customer back to the line, then the longest wait counts from now and routing does not hand it straight back', () => {
    const step = coldTransferStarted(call(), { id: 't1', fromAgentId: 'ana', to: 'queue', now });
    expect(step.patch).toMatchObject({ set: { status: 'waiting', customerHeld: true, lineSince: now }, addPass: { agentId: 'ana', outcome: 'transferred' } });
    expect(step.result).toEqual({ legCallSid: 'CAana', conferenceSid: 'CFconf', targetIndex: 1 });
  });

  test('when someone other than the consult\'s starter decides, or there is none, then it is refused', () => {
    const consult = { ...startConsult([], { id: 't1', from: 'ana', to: 'ben', now }), state: 'consulting' as const };
    const consulting = call({ participants: [leg('ana', 'in-progress'), leg('ben', 'in-progress', { role: 'colleague', transferId: 't1' })], transfers: [consult] });
    expect(() => transferDecided(consulting, { agentId: 'ben', action: 'complete' })).toThrow(TransferRefusedError);
    expect(transferDecided(consulting, { agentId: 'ana', action: 'complete' }).patch).toEqual({ transfers: [{ index: 0, set: { state: 'completed' } }], participants: [{ index: 0, set: { hungUp: true } }] });
    expect(() => hangUpRequested(call({ participants: [] }), 'ana')).toThrow(NoCallError);
  });
});

describe('the store turns a patch into one update', () => {
  test('when a patch sets fields of the call, a participant and a transfer, clears and appends, then the update says exactly that', () => {
    const at = new Date('2026-12-03T10:00:01Z');
    expect(
      toMongoUpdate({ set: { status: 'waiting' }, clear: ['offeredTo'], participants: [{ index: 2, set: { status: 'busy' } }], transfers: [{ index: 0, set: { state: 'declined' } }], addPass: { agentId: 'ben', at, outcome: 'busy' } }, at),
    ).toEqual({
      $set: { status: 'waiting', updatedAt: at, 'participants.2.status': 'busy', 'participants.2.updatedAt': at, 'transfers.0.state': 'declined', 'transfers.0.updatedAt': at },
      $unset: { offeredTo: 1 },
      $push: { passedBy: { agentId: 'ben', at, outcome: 'busy' } },
    });
  });
});

describe('a callback\'s conference', () => {
  const callback = { number: '+15550000001', attempt: 1, requestedAt: now };

  test('when a callback waits before anyone called the customer back, then its old conference\'s leave and end are left behind', () => {
    expect(conferenceLeftBehind(call({ status: 'waiting', callback }), { event: 'participant-leave', reason: 'participant_hung_up' })).toBe(true);
    expect(conferenceLeftBehind(call({ status: 'offered', callback }), { event: 'conference-end' })).toBe(true);
  });

  test('when a reached callback\'s customer is back in line after their agent dropped, then their leaving and the end are the call\'s', () => {
    const back = call({ status: 'waiting', callback, customerLegSid: 'CAleg', direction: 'outbound' });
    expect(conferenceLeftBehind(back, { event: 'participant-leave', reason: 'participant_hung_up' })).toBe(false);
    expect(conferenceLeftBehind(back, { event: 'conference-end' })).toBe(false);
  });

  test('when a caller is moved out to hear the offer, then only a leave that says they hung up counts', () => {
    const away = call({ status: 'waiting', awayFromLine: true });
    expect(conferenceLeftBehind(away, { event: 'participant-leave', reason: 'participant_updated_via_api' })).toBe(true);
    expect(conferenceLeftBehind(away, { event: 'conference-end' })).toBe(true);
    expect(conferenceLeftBehind(away, { event: 'participant-leave', reason: 'participant_hung_up' })).toBe(false);
  });
});

describe('a typed callback number', () => {
  const away = (extra: Partial<CallRecord> = {}) => call({ status: 'waiting', conferenceSid: undefined, participants: [], awayFromLine: true, ...extra });

  test('when the caller types a number, then it waits for their confirmation and is not a callback yet', () => {
    const typed = callbackNumberTyped(away(), '+15557770000');
    expect(typed).toEqual({ patch: { set: { callbackTyped: '+15557770000' } }, result: 'typed' });
  });

  test('when they confirm it, then it is their callback at their place, and the number typed is forgotten; a repeated confirmation changes nothing', () => {
    const waiting = away({ callbackTyped: '+15557770000' });
    const confirmed = callbackNumberConfirmed(waiting, now);
    expect(confirmed.result).toBe('kept');
    expect(confirmed.patch).toEqual({ set: { callback: { number: '+15557770000', attempt: 1, requestedAt: now }, placeSince: waiting.createdAt }, clear: ['awayFromLine', 'callbackTyped'] });
    const kept = away({ awayFromLine: undefined, callback: { number: '+15557770000', attempt: 1, requestedAt: now } });
    expect(callbackNumberConfirmed(kept, now)).toEqual({ result: 'kept' });
    expect(callbackRequested(kept, { number: '+15557770000', now })).toEqual({ result: true });
  });

  test('when an agent is on the way, or no number waits, then the caller goes back (nothing kept)', () => {
    expect(callbackNumberConfirmed(away({ status: 'offered', callbackTyped: '+15557770000' }), now)).toEqual({ result: 'back' });
    expect(callbackNumberConfirmed(away(), now)).toEqual({ result: 'back' });
    expect(callbackNumberTyped(away({ status: 'offered' }), '+15557770000')).toEqual({ result: 'back' });
  });

  test('when the caller goes back to the line, then the number they typed is forgotten', () => {
    expect(backInLine(away({ callbackTyped: '+15557770000' }), now).patch).toEqual({ set: { callbackOfferedAt: now }, clear: ['awayFromLine', 'callbackTyped'] });
  });
});

describe('a callback whose agent leaves before the customer answers', () => {
  const callback = { number: '+15550000001', attempt: 1, requestedAt: now };
  const ringing = (extra: Partial<CallRecord> = {}) => call({ callback, direction: 'outbound', customerRinging: true, customerLegSid: 'CAcust', ...extra });

  test('when the agent\'s own leg ends (Hang up or a drop), then the attempt is called off: no goodbye, nobody left alone, not back in line on this record', () => {
    for (const hungUp of [true, false]) {
      const step = legReported(ringing({ participants: [leg('ana', 'in-progress', { legCallSid: 'CAana', hungUp })] }), { agentId: 'ana', legCallSid: 'CAana', status: 'completed', callStatus: 'completed', now }, settings);
      expect(step.patch?.set).toEqual({ endReason: CALLBACK_AGENT_LEFT });
      expect(step.result).toMatchObject({ alone: false, calledOffCallback: true, left: true });
    }
  });

  test('when the conference reports the agent leaving first, then the same', () => {
    const step = agentLeft(ringing(), { callSid: 'CAana', conferenceSid: 'CFconf', reason: 'participant_hung_up', now }, settings);
    expect(step.patch?.set).toEqual({ endReason: CALLBACK_AGENT_LEFT });
    expect(step.result).toMatchObject({ alone: false, calledOffCallback: true });
  });

  test('when the conference ends first, then the attempt is called off; once decided (or for another conference), not again', () => {
    expect(callbackConferenceEnded(ringing(), { conferenceSid: 'CFconf' })).toEqual({ patch: { set: { endReason: CALLBACK_AGENT_LEFT } }, result: true });
    expect(callbackConferenceEnded(ringing({ endReason: CALLBACK_AGENT_LEFT }), { conferenceSid: 'CFconf' }).result).toBe(false);
    expect(callbackConferenceEnded(ringing(), { conferenceSid: 'CFother' }).result).toBe(false);
    expect(callbackConferenceEnded(ringing({ customerRinging: undefined }), { conferenceSid: 'CFconf' }).result).toBe(false);
  });

  test('when the customer\'s ring ends, then it counts only if an agent still waited for them', () => {
    expect(callbackLegEnded(ringing(), { callStatus: 'no-answer' })).toEqual({ patch: { set: { endReason: 'callback-no-answer' } }, result: 'failed' });
    expect(callbackLegEnded(ringing({ participants: [leg('ana', 'in-progress', { legCallSid: 'CAana', hungUp: true })] }), { callStatus: 'canceled' })).toEqual({ patch: { set: { endReason: CALLBACK_AGENT_LEFT } }, result: 'called-off' });
    expect(callbackLegEnded(ringing({ participants: [leg('ana', 'completed', { legCallSid: 'CAana' })] }), { callStatus: 'canceled' }).result).toBe('called-off');
    // Decided already by the agent's leaving, reported first: nothing more.
    expect(callbackLegEnded(ringing({ endReason: CALLBACK_AGENT_LEFT }), { callStatus: 'canceled' })).toEqual({ result: undefined });
    // A customer who had answered hung up.
    expect(callbackLegEnded(ringing({ customerRinging: undefined }), { callStatus: 'completed' }).result).toBe('hung-up');
  });
});
