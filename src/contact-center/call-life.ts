// The call's life as transitions: each takes the call as stored and what happened (an agent answered, a leg's status,
// a participant left, an agent asked for a transfer…) and answers the patch to store, in the domain's words, and what
// must follow (holds, hang-ups, a goodbye, routing). Pure: no I/O; src/services/calls.ts runs them through the store
// and carries out the effects. A rule is written once, here, and unit-tested on its own.
import { isOver, mergePatches, placeOf, newestLeg, transferIndex, transferOf, type CallPatch, type CallRecord, type ConferenceEvent } from './call';
import { CallGoneError, InvalidRequestError, NoCallError, NotFoundError, NotReadyError, AgentUnavailableError, TransferRefusedError } from './errors';
import { agentLabel, CUSTOMER_LABEL, leftAlone, LIVE_LEG_STATUSES, MISSED_LEG_STATUSES, movesForward, PENDING_LEG_STATUSES, type LegStatus, type Participant, type ParticipantRole } from './participants';
import { colleagueLegChanged, decide, openTransfer, startCold, startConsult, transferrerLeft, type Transfer, type TransferAction, type TransferEffects } from './transfer';

/** The product settings transitions need. */
export interface LifeSettings {
  /** An agent whose softphone dropped is offered their customer first for this long. */
  reconnectGraceMs: number;
  /** A customer left alone by an agent's own call ending waits this long for the conference to say why. */
  leaveSettleMs: number;
}

/** A transition's answer: what to store, and what it decided. */
export interface Step<T> {
  patch?: CallPatch;
  result: T;
}

/**
 * ReasonParticipantLeft values that mean the conference ended under the participant, not that they hung up.
 * https://www.twilio.com/en-us/changelog/participantcallstatus-and-reasonparticipantleft-attributes-added
 */
export const CONFERENCE_ENDED_LEAVES: readonly string[] = ['moderator_ended_conference', 'conference_ended_via_api'];

/** The fields of participant `index` as a patch. */
function participant(index: number, set: Partial<Omit<Participant, 'updatedAt'>>): CallPatch {
  return { participants: [{ index, set }] };
}

/** Transfer `id`'s new state (and held side) as a patch. */
function transferPatch(call: CallRecord, id: string, state: Transfer['state'], held?: Transfer['held']): CallPatch {
  const index = transferIndex(call, id);
  return index < 0 ? {} : { transfers: [{ index, set: { state, ...(held ? { held } : {}) } }] };
}

/**
 * Once participant `index` moves to `status`: was the customer talking with agents who have now all gone, with
 * nobody on the way? (No agent's leaving ends the conference by itself: every agent joins with endConferenceOnExit
 * false, and the server decides the customer's fate.)
 */
function leftAloneAfter(call: CallRecord, index: number, status: LegStatus): boolean {
  return leftAlone(call.status === 'in-progress' && !call.abandonedAt, call.participants.map((leg, j) => (j === index ? status : leg.status)));
}

/**
 * Participant `index` moves to `status`: what becomes of a transfer it belongs to (the colleague's leg answered,
 * missed or left), or of an open consult its agent started (the transferring agent is gone: nobody stays on hold
 * for them).
 */
function transferAfterLeg(call: CallRecord, index: number, status: LegStatus): { patch: CallPatch; effects?: TransferEffects; colleagueId?: string; missed: boolean } {
  const leg = call.participants[index]!;
  const own = transferOf(call, leg);
  if (own) {
    const transferrerThere = call.participants.some((other, j) => j !== index && other.agentId === own.from && other.status === 'in-progress');
    const next = colleagueLegChanged(own, status, transferrerThere);
    return { patch: next ? transferPatch(call, own.id, next.state) : {}, effects: next?.effects, colleagueId: own.to, missed: Boolean(next && MISSED_LEG_STATUSES.includes(status)) };
  }
  const open = openTransfer(call.transfers ?? []);
  const next = open && open.from === leg.agentId && leg.status === 'in-progress' && status !== 'in-progress' ? transferrerLeft(open) : undefined;
  return { patch: open && next ? transferPatch(call, open.id, next.state) : {}, effects: next?.effects, colleagueId: open?.to, missed: false };
}

/**
 * The last agent left a customer who is still there. An agent who pressed Hang up meant it: the customer hears
 * goodbye. A softphone that dropped (tab closed, network lost) is not the customer's fault: they go back to the line
 * on hold with music, the longest wait counting afresh, offered first to the agent who dropped for a moment (a
 * reloaded page gets its customer back). `confirmed`: the conference itself said the agent left while it goes on;
 * otherwise only the agent's own call said it ended, and nobody is rung until the conference had a moment to report
 * that the customer left too.
 */
function afterLastAgent(call: CallRecord, input: { onPurpose: boolean; droppedAgentId: string; confirmed: boolean; now: Date }, settings: LifeSettings): CallPatch {
  if (input.onPurpose) return { set: { abandonedAt: input.now, endReason: 'abandoned' } };
  const { now } = input;
  return {
    // Whoever takes the customer next finds them on hold with music (customerHeld), not held by the agent who left.
    clear: call.heldBy ? ['heldBy', 'heldSince'] : [],
    set: {
      status: 'waiting',
      customerHeld: Boolean(call.conferenceSid),
      requeued: (call.requeued ?? 0) + 1,
      lineSince: now,
      routableFrom: input.confirmed ? now : new Date(now.getTime() + settings.leaveSettleMs),
      ...(settings.reconnectGraceMs > 0 ? { returnTo: { agentId: input.droppedAgentId, until: new Date(now.getTime() + settings.reconnectGraceMs) } } : {}),
    },
  };
}

/** Why a callback's attempt ended when its agent left before the customer answered: no attempt of theirs is spent. */
export const CALLBACK_AGENT_LEFT = 'callback-agent-left';

/**
 * Whether the last agent leaving a callback whose customer's phone still rings calls this attempt off: the customer
 * never answered, but through nobody's fault of theirs (their agent hung up, or their softphone dropped).
 */
function callsOffCallback(call: CallRecord, alone: boolean): boolean {
  return alone && !isOver(call) && Boolean(call.callback) && Boolean(call.customerRinging);
}

/**
 * The agent taken for a dropped softphone who in fact left with the call: their own 'completed' was heard a moment
 * before the conference reported the customer leaving, and the call ended before it could go back to the line (within
 * the settle time an unconfirmed drop waits). They talked with the customer and wrap up like everyone else who did.
 */
export function leftWithTheCall(call: CallRecord): string | undefined {
  if (!call.returnTo || !call.endedAt || !call.routableFrom) return undefined;
  return new Date(call.endedAt).getTime() <= new Date(call.routableFrom).getTime() ? call.returnTo.agentId : undefined;
}

/** What follows an agent's leaving: the customer's fate and the transfer's, for the service to carry out. */
export interface Departure {
  agentId: string;
  /** The customer is now alone. */
  alone: boolean;
  /** The agent pressed Hang up (or completed a transfer). */
  onPurpose: boolean;
  conferenceSid?: string;
  /** The customer's own call: a callback's or an outbound call's leg, else the call's CallSid (whom a goodbye reaches). */
  customerCallSid?: string;
  transferEffects?: TransferEffects;
  colleagueId?: string;
  /**
   * A callback's customer was still being rung when the last agent left: this attempt is called off, not counted
   * (the call is marked CALLBACK_AGENT_LEFT; the service stops the ring and puts the callback back in line).
   */
  calledOffCallback?: boolean;
}

/**
 * An agent answered: their leg joins the conference. The first agent's offer becomes their call; a colleague
 * brought in joins the same way. Refused when the call ended, or the offer went to someone else meanwhile.
 */
export function agentJoined(call: CallRecord, input: { agentId: string; legCallSid?: string; now: Date }): Step<{ role: ParticipantRole; unholdCustomer: boolean; conferenceSid?: string }> {
  if (isOver(call)) throw new CallGoneError('This call has already ended.');
  const i = newestLeg(call, input.agentId, (leg) => LIVE_LEG_STATUSES.includes(leg.status));
  if (i < 0) throw new NotFoundError('This agent was not called into this conference.');
  const leg = call.participants[i]!;
  const offer = leg.role === 'offer';
  if (offer && (call.status !== 'offered' || call.offeredTo !== input.agentId) && leg.status !== 'in-progress') throw new CallGoneError('This call was offered to someone else meanwhile.');
  const transfer = transferAfterLeg(call, i, 'in-progress');
  return {
    patch: mergePatches(participant(i, { status: 'in-progress', ...(input.legCallSid ? { legCallSid: input.legCallSid } : {}), ...(leg.answeredAt ? {} : { answeredAt: input.now }) }), transfer.patch, {
      // Back in line in a conference of its own (after the callback offer), the customer holds nowhere Twilio could
      // take them off hold and report it: their time on hold ends with this answer.
      ...(offer && call.customerHeld && !call.conferenceSid ? { addEvent: { at: input.now, kind: 'unhold' as const, label: CUSTOMER_LABEL } } : {}),
      // The owner is whoever joined last: the first agent, then the colleague they bring in.
      // An outbound call is answered when the customer picks up (customerAnswered), not when its agent joins first.
      set: { status: 'in-progress', agentId: input.agentId, ...(offer && !call.answeredAt && call.direction !== 'outbound' && !call.callback ? { answeredAt: input.now } : {}) },
      clear: offer ? ['offeredTo', ...(call.customerHeld ? (['customerHeld'] as const) : [])] : [],
    }),
    // The customer was held while they waited for someone new (or a consult): they hear their agent once that agent is in.
    result: { role: leg.role, unholdCustomer: Boolean((offer && call.customerHeld) || transfer.effects?.unholdCustomer), conferenceSid: call.conferenceSid },
  };
}

/** What an agent leg's status callback decided. */
export interface LegOutcome extends Partial<Departure> {
  alone: boolean;
  /** The ring of an offer ended unanswered: routing offers the call on. */
  missedOffer?: boolean;
  /** A colleague's ring (consult, bring-in) ended unanswered. */
  missedTransfer?: boolean;
  /** The agent's own leg of their outbound call never connected while the customer's phone still rang: the call is called off. */
  callOffOutbound?: boolean;
  /** The agent left a call they had talked on. */
  left?: boolean;
}

/**
 * Twilio reports an agent's leg: ringing, answered, no-answer, busy, completed… Callbacks may arrive late, twice or
 * out of order: a leg only moves forward, and a callback for a ring that ended already changes nothing. An agent
 * whose own call ended leaving the customer alone is not yet proof the customer is still there (the conference may
 * report the customer's leaving next): nobody is rung until it had a moment to.
 */
export function legReported(call: CallRecord, input: { agentId: string; legCallSid: string; status: LegStatus; callStatus: string; now: Date }, settings: LifeSettings): Step<LegOutcome> {
  const nothing = { result: { alone: false } };
  let i = call.participants.findIndex((leg) => leg.agentId === input.agentId && leg.legCallSid === input.legCallSid);
  // Twilio's callbacks carry the SID the dial was answered with; a leg whose SID no callback has named yet takes the
  // first callback's (the dial's answer may still be on its way).
  if (i < 0) i = newestLeg(call, input.agentId, (leg) => (!leg.legCallSid || leg.legCallSid === leg.dialledSid) && PENDING_LEG_STATUSES.includes(leg.status));
  if (i < 0) return nothing;
  const leg = call.participants[i]!;
  if (!movesForward(leg.status, input.status)) return leg.legCallSid ? nothing : { patch: participant(i, { legCallSid: input.legCallSid }), result: { alone: false } };
  // A leg that joined another conference of the call's name ends having left nobody: the customer's own leave ends the call.
  if (otherConference(call, leg.joinedConferenceSid)) return { patch: participant(i, { status: input.status, legCallSid: input.legCallSid }), result: { alone: false } };
  const missed = MISSED_LEG_STATUSES.includes(input.status);
  const transfer = transferAfterLeg(call, i, input.status);
  const alone = leftAloneAfter(call, i, input.status);
  // A colleague who never answered a transfer is nobody's decision to end the call: the customer goes back in line.
  // A ring that ends after the agent on the call hung up follows that agent's decision; an agent who was talking and
  // dropped off (a reload, a crash) decided nothing, even when the one who handed them the call had left on purpose.
  const onPurpose = !transfer.missed && (Boolean(leg.hungUp) || (leg.status !== 'in-progress' && call.participants.some((other) => other.hungUp && other.status === 'completed')));
  const calledOff = callsOffCallback(call, alone);
  return {
    patch: mergePatches(
      participant(i, { status: input.status, legCallSid: input.legCallSid }),
      missed ? { set: { dialError: `${input.agentId} did not answer (${input.callStatus}).` } } : undefined,
      calledOff ? { set: { endReason: CALLBACK_AGENT_LEFT } } : alone ? afterLastAgent(call, { onPurpose, droppedAgentId: input.agentId, confirmed: false, now: input.now }, settings) : undefined,
      transfer.patch,
    ),
    result: {
      agentId: input.agentId,
      // Nobody is left alone by a callback called off: its customer never answered.
      alone: alone && !calledOff,
      calledOffCallback: calledOff,
      transferEffects: transfer.effects,
      colleagueId: transfer.colleagueId,
      onPurpose,
      conferenceSid: call.conferenceSid,
      customerCallSid: call.customerLegSid ?? call._id,
      // An outbound call whose agent never joined is called off rather than offered to someone else (the customer has not answered).
      missedOffer: missed && leg.role === 'offer' && call.status === 'offered' && call.offeredTo === input.agentId && !call.customerRinging,
      callOffOutbound: missed && leg.role === 'offer' && Boolean(call.customerRinging),
      missedTransfer: missed && leg.role === 'colleague',
      left: input.status === 'completed' && leg.status === 'in-progress',
    },
  };
}

/** A conference status callback about one participant, as transitions read it. */
export interface ParticipantReport {
  /** The participant's CallSid. */
  callSid?: string;
  /** The conference that reported it (ConferenceSid). */
  conferenceSid?: string;
  participantLabel?: string;
  reason?: string;
  participantCallStatus?: string;
  now: Date;
}

/** The event the history keeps for a conference report about `input`'s participant. */
export function conferenceEvent(call: CallRecord, kind: ConferenceEvent['kind'], input: ParticipantReport, fields: Omit<ConferenceEvent, 'at' | 'kind' | 'label' | 'callSid'> = {}): ConferenceEvent {
  const leg = input.callSid && input.callSid !== call._id ? call.participants.find((l) => l.legCallSid === input.callSid) : undefined;
  const label = input.callSid === call._id ? CUSTOMER_LABEL : leg ? agentLabel(leg.agentId) : input.participantLabel;
  return { at: input.now, kind, ...(label ? { label } : {}), ...(input.callSid ? { callSid: input.callSid } : {}), ...fields };
}

/** Why a participant left, as the history keeps it. */
function whyLeft(input: ParticipantReport): Pick<ConferenceEvent, 'reason' | 'callStatus'> {
  return { ...(input.reason ? { reason: input.reason } : {}), ...(input.participantCallStatus ? { callStatus: input.participantCallStatus } : {}) };
}

/** Whether a participant-leave says the customer is gone: their own leave, or an agent removed by the conference's end. */
export function customerGone(call: Pick<CallRecord, '_id'> & Partial<Pick<CallRecord, 'customerLegSid'>>, input: ParticipantReport): boolean {
  return input.callSid === call._id || (call.customerLegSid !== undefined && input.callSid === call.customerLegSid) || (input.reason !== undefined && CONFERENCE_ENDED_LEAVES.includes(input.reason));
}

/**
 * An agent's participant left the conference (Twilio's participant-leave, the customer's own leave being the call's
 * end). The conference going on without them confirms the customer is still there: a customer already waiting for
 * that confirmation (the agent's own call reported its end first) may be rung for now.
 */
export function agentLeft(call: CallRecord, input: ParticipantReport, settings: LifeSettings): Step<(Departure & { confirmed?: false }) | { confirmed: true } | undefined> {
  const event = conferenceEvent(call, 'left', input, whyLeft(input));
  // Leaving another conference of the call's name (joined after the call's own had ended) is no departure from the call.
  if (otherConference(call, input.conferenceSid)) return { result: undefined };
  const i = call.participants.findIndex((leg) => input.callSid !== undefined && leg.legCallSid === input.callSid && LIVE_LEG_STATUSES.includes(leg.status));
  if (i < 0) {
    if (!call.participants.some((leg) => leg.legCallSid === input.callSid)) return { result: undefined };
    const confirms = call.status === 'waiting' && call.routableFrom !== undefined && new Date(call.routableFrom).getTime() > input.now.getTime();
    return { patch: { addEvent: event, ...(confirms ? { set: { routableFrom: input.now } } : {}) }, result: confirms ? { confirmed: true } : undefined };
  }
  const leg = call.participants[i]!;
  const alone = leftAloneAfter(call, i, 'completed');
  const transfer = transferAfterLeg(call, i, 'completed');
  const onPurpose = Boolean(leg.hungUp);
  const calledOff = callsOffCallback(call, alone);
  return {
    patch: mergePatches(
      participant(i, { status: 'completed' }),
      calledOff ? { set: { endReason: CALLBACK_AGENT_LEFT } } : alone ? afterLastAgent(call, { onPurpose, droppedAgentId: leg.agentId, confirmed: true, now: input.now }, settings) : undefined,
      transfer.patch,
      { addEvent: event },
    ),
    result: { agentId: leg.agentId, alone: alone && !calledOff, calledOffCallback: calledOff, onPurpose, conferenceSid: call.conferenceSid, customerCallSid: call.customerLegSid ?? call._id, transferEffects: alone ? undefined : transfer.effects, colleagueId: transfer.colleagueId },
  };
}

/** A hold or unhold the conference reported, kept for the history; the participant's held flag follows it. */
export function holdReported(call: CallRecord, input: ParticipantReport & { on: boolean }): Step<void> {
  const i = call.participants.findIndex((p) => input.callSid !== undefined && p.legCallSid === input.callSid);
  return { patch: mergePatches({ addEvent: conferenceEvent(call, input.on ? 'hold' : 'unhold', input) }, i >= 0 ? participant(i, { held: input.on }) : undefined), result: undefined };
}

/** The conference started: its SID is kept (holds address participants through it). */
export function conferenceStarted(call: CallRecord, conferenceSid: string | undefined): Step<void> {
  return { patch: call.status === 'completed' || call.conferenceSid || !conferenceSid ? undefined : { set: { conferenceSid } }, result: undefined };
}

/**
 * The conference reported an agent's leg joining (participant-join). A call has one conference for its whole life: a
 * leg that joins another one of the call's name (the call's own ended under it, with the customer, while the agent's
 * answer was on its way) waits there alone for ever, and is to be hung up (true). Otherwise the conference the leg
 * joined is kept on it, so the call's end knows which legs its conference takes down with it.
 */
export function agentJoinReported(call: CallRecord, input: { legCallSid: string; conferenceSid?: string }): Step<boolean> {
  const i = call.participants.findIndex((leg) => leg.legCallSid === input.legCallSid || leg.dialledSid === input.legCallSid);
  const known = i >= 0 && call.participants[i]!.joinedConferenceSid === input.conferenceSid;
  const keep = i >= 0 && input.conferenceSid && !known ? participant(i, { joinedConferenceSid: input.conferenceSid }) : undefined;
  // Kept on the leg either way: its leaving that other conference, and its end, are then no departure from the call.
  return { ...(keep ? { patch: keep } : {}), result: otherConference(call, input.conferenceSid) };
}

/**
 * Whether `conferenceSid` is another conference of the call's name than the call's own (both known): one an agent's
 * late answer joined after the call's own had ended with the customer (see agentJoinReported). Nothing that happens
 * there is the call's: the leg was never with the customer, and its leaving or that conference's end leaves nobody.
 */
function otherConference(call: CallRecord, conferenceSid: string | undefined): boolean {
  return Boolean(call.conferenceSid && conferenceSid && conferenceSid !== call.conferenceSid);
}

/** What ending a call decided: its final shape, and the phones still ringing for it. */
export interface Ending {
  call: CallRecord;
  /** CallSids of legs still ringing: their rings are stopped. */
  ringing: string[];
  /**
   * CallSids of agents' legs that answered but that the ending conference does not take down: their join was never
   * reported, or was reported into another conference of the call's name. They are hung up (twice is harmless).
   */
  stranded: string[];
  /** Agents whose phones were ringing for it. */
  rang: string[];
}

/**
 * The call is over (the customer left, or the conference ended): every live leg ends — talking ones completed,
 * ringing ones cancelled — and the last conference event closes the timeline at the same instant. Undefined when it
 * had ended already.
 */
export function callEnded(call: CallRecord, input: { reason: string; now: Date; lastEvent?: ConferenceEvent; conferenceSid?: string }): Step<Ending | undefined> {
  if (call.status === 'completed') return { result: undefined };
  // The customer is only ever in the call's own conference: another one of its name ending (one an agent's late
  // answer joined, see agentJoinReported) is not the call's end.
  if (otherConference(call, input.conferenceSid)) return { result: undefined };
  const { now } = input;
  const last = input.lastEvent ? { ...input.lastEvent, at: now } : undefined;
  const ending = input.conferenceSid ?? call.conferenceSid;
  const ringing: string[] = [];
  const stranded: string[] = [];
  const rang: string[] = [];
  const legs: Array<{ index: number; set: Partial<Participant> }> = [];
  const participants = call.participants.map((leg, index) => {
    if (!LIVE_LEG_STATUSES.includes(leg.status)) return leg;
    // Anyone still being rung for this call would answer into nothing: stop their phones.
    if (leg.status !== 'in-progress') rang.push(leg.agentId);
    if (leg.status !== 'in-progress' && leg.legCallSid) ringing.push(leg.legCallSid);
    // An agent who answered is taken down by the conference's end only if their leg is in that conference.
    if (leg.status === 'in-progress' && leg.legCallSid && (!leg.joinedConferenceSid || (ending !== undefined && leg.joinedConferenceSid !== ending))) stranded.push(leg.legCallSid);
    const status: LegStatus = leg.status === 'in-progress' ? 'completed' : 'canceled';
    legs.push({ index, set: { status } });
    return { ...leg, status, updatedAt: now };
  });
  // The app decided on a goodbye from an agent's own callback, but the customer hung up themselves (their own leave says
  // so; the goodbye would have moved them out, participant_updated_via_api): they ended the call, not the agent.
  const hungUpThemselves = call.endReason === 'abandoned' && input.lastEvent?.label === CUSTOMER_LABEL && input.lastEvent.reason === 'participant_hung_up';
  const endReason = hungUpThemselves ? input.reason : (call.endReason ?? input.reason);
  return {
    patch: { set: { status: 'completed', endedAt: now, endReason }, participants: legs, ...(last ? { addEvent: last } : {}) },
    result: { call: { ...call, participants, events: [...(call.events ?? []), ...(last ? [last] : [])], status: 'completed', endedAt: now, endReason }, ringing, stranded, rang },
  };
}

/** An agent's new leg on the call, rung by the app. */
function ringLeg(input: { agentId: string; role: ParticipantRole; requestedBy?: string; transferId?: string; now: Date }): Participant {
  return {
    agentId: input.agentId,
    role: input.role,
    status: 'dialing',
    ...(input.requestedBy ? { requestedBy: input.requestedBy } : {}),
    ...(input.transferId ? { transferId: input.transferId } : {}),
    createdAt: input.now,
    updatedAt: input.now,
  };
}

/**
 * Routing offers the waiting call to `agentId`: their phone is about to ring. Undefined when it is not waiting any more,
 * or its caller is away from the conference hearing the callback offer (routing read the line before they were moved
 * out: an agent rung now would answer into an empty conference).
 */
export function offered(call: CallRecord, input: { agentId: string; now: Date }): Step<number | undefined> {
  if (call.status !== 'waiting' || call.endReason || call.awayFromLine) return { result: undefined };
  return { patch: { set: { status: 'offered', offeredTo: input.agentId }, addParticipant: ringLeg({ agentId: input.agentId, role: 'offer', now: input.now }) }, result: call.participants.length };
}

/** An offer ended unanswered (declined, rang out, could not be dialled): the call is back in line, the agent noted as having passed. */
export function offerEnded(call: CallRecord, input: { agentId: string; outcome: string; now: Date }): Step<boolean> {
  if (call.status !== 'offered' || call.offeredTo !== input.agentId) return { result: false };
  return { patch: { set: { status: 'waiting' }, clear: ['offeredTo'], addPass: { agentId: input.agentId, at: input.now, outcome: input.outcome } }, result: true };
}

/**
 * The dial for participant `index` returned `sid`. It is kept at once (not only from a later status callback), so a
 * call that ends while the phone rings can stop it; 'stop' when the call ended before Twilio answered the dial.
 */
export function dialled(call: CallRecord, input: { index: number; sid: string }): Step<'kept' | 'stop'> {
  const leg = call.participants[input.index];
  if (!leg) return { result: 'kept' };
  const over = call.status === 'completed' || (leg.status === 'canceled' && !leg.legCallSid);
  return { patch: participant(input.index, { dialledSid: input.sid, ...(leg.legCallSid ? {} : { legCallSid: input.sid }) }), result: over ? 'stop' : 'kept' };
}

/** Twilio would not dial participant `index`: the leg failed (and the transfer it was for). */
export function dialFailed(call: CallRecord, input: { index: number; agentId: string; error: string; transferId?: string }): Step<void> {
  return {
    patch: mergePatches(
      participant(input.index, { status: 'dial-failed', error: input.error }),
      { set: { dialError: `Could not dial ${input.agentId}: ${input.error}` } },
      input.transferId ? transferPatch(call, input.transferId, 'failed') : undefined,
    ),
    result: undefined,
  };
}

/**
 * The caller waited the longest allowed: they are told goodbye (once). False when the call is not waiting any more, or
 * is a callback whose customer is not on the phone (they hung up with a promise to be called back: nobody is waiting
 * on a line, and the callback keeps its place however long it takes).
 */
export function maxWaitReached(call: CallRecord): Step<boolean> {
  // A caller whose agent's phone is ringing now is not told goodbye under that ring: the next tick decides, if nobody answers.
  if (call.endReason || call.status !== 'waiting') return { result: false };
  if (call.callback && !call.customerLegSid) return { result: false };
  return { patch: { set: { endReason: 'max-wait' } }, result: true };
}

/**
 * A waiting call moves from queue `from` to `to` (an overflow). Only once: a call no longer waiting, or already moved
 * (by another instance), is left as it is. Its place in line stays its entry time.
 */
export function queueOverflowed(call: CallRecord, input: { from: string; to: string; toName: string; now: Date }): Step<boolean> {
  if (isOver(call) || call.status !== 'waiting' || call.queueId !== input.from) return { result: false };
  return { patch: { set: { queueId: input.to, queueName: input.toName, queueSince: input.now, overflowedFrom: input.from, ...(call.queueName ? { overflowedFromName: call.queueName } : {}) } }, result: true };
}

/**
 * The waiting caller is moved out of the conference to hear the callback offer (routing skips them meanwhile; their
 * place stays). Only a call still waiting, not offered, not already away and not already a callback. A caller who had
 * talked already (sent back to the line, or back after a dropped softphone) leaves a conference that ends behind them:
 * back in line, they join a new one of the same name, which the next agent's answer starts. So the call forgets the
 * old conference (kept as `leftConferenceSid`, whose late events are then no news about the call). Their time away and
 * back in line still counts as on hold (customerHeld), as any time back in line does, until an agent answers.
 */
export function callbackOfferStarted(call: CallRecord, now: Date): Step<boolean> {
  if (isOver(call) || call.status !== 'waiting' || call.awayFromLine || call.callback || call.direction === 'outbound') return { result: false };
  const left = call.conferenceSid ? { leftConferenceSid: call.conferenceSid } : {};
  return { patch: { set: { awayFromLine: true, callbackOfferedAt: now, ...left }, ...(call.conferenceSid ? { clear: ['conferenceSid'] as const } : {}) }, result: true };
}

/**
 * The caller pressed 2 at the callback offer to leave a message instead of waiting: their place in line ends here
 * (`endReason` 'voicemail'; the service ends the call and the history says so, not an abandon). Only a call still
 * waiting, away from the line for the offer, not already a callback: an agent on the way takes them back in instead.
 */
export function voicemailInstead(call: CallRecord): Step<boolean> {
  if (isOver(call) || call.status !== 'waiting' || !call.awayFromLine || call.callback) return { result: false };
  return { patch: { set: { endReason: 'voicemail' } }, result: true };
}

/**
 * The caller declined the offer (or pressed nothing): back in the conference, routable again. The next offer counts
 * from `now`, when they are back: counted from the offer's start, a caller who spent its whole period in the offer's
 * steps (a number typed, read back, not confirmed) heard the offer again the moment they were back.
 */
export function backInLine(call: CallRecord, now: Date): Step<boolean> {
  if (isOver(call) || !call.awayFromLine) return { result: false };
  return { patch: { set: { callbackOfferedAt: now }, clear: ['awayFromLine', ...(call.callbackTyped ? (['callbackTyped'] as const) : [])] }, result: true };
}

/**
 * The caller asked to be called back at `number`: the call keeps its place in line (its entry time) and is offered
 * like any other; the caller hangs up. Refused (false) once the call is no longer waiting (an agent is ready now).
 * Asked again for the same number (Twilio repeating the request), it is kept already: true, and nothing changes.
 */
export function callbackRequested(call: CallRecord, input: { number: string; now: Date }): Step<boolean> {
  if (!isOver(call) && call.callback) return { result: call.callback.number === input.number };
  if (isOver(call) || call.status !== 'waiting') return { result: false };
  return { patch: { set: { callback: { number: input.number, attempt: 1, requestedAt: input.now }, placeSince: placeOf(call) }, clear: ['awayFromLine', ...(call.callbackTyped ? (['callbackTyped'] as const) : [])] }, result: true };
}

/**
 * The caller typed another number to be called back at: it is read back to them and kept only once they confirm it
 * (callbackNumberConfirmed). 'typed' while they are still waiting, away for the offer; 'kept' when a callback is kept
 * already (a repeated request); 'back' once an agent is on the way (they go back into the conference).
 */
export function callbackNumberTyped(call: CallRecord, number: string): Step<'typed' | 'kept' | 'back'> {
  if (!isOver(call) && call.callback) return { result: 'kept' };
  if (isOver(call) || call.status !== 'waiting' || !call.awayFromLine) return { result: 'back' };
  return { patch: call.callbackTyped === number ? undefined : { set: { callbackTyped: number } }, result: 'typed' };
}

/**
 * The caller confirmed the number read back to them: it is kept as their callback's (callbackRequested). A repeated
 * confirmation finds it kept already and changes nothing ('kept' again); 'back' once an agent is on the way, or when
 * no number waits for confirmation.
 */
export function callbackNumberConfirmed(call: CallRecord, now: Date): Step<'kept' | 'back'> {
  if (!isOver(call) && call.callback) return { result: 'kept' };
  if (!call.callbackTyped) return { result: 'back' };
  const step = callbackRequested(call, { number: call.callbackTyped, now });
  return { ...step, result: step.result ? 'kept' : 'back' };
}

/**
 * Whether a conference's leave or end is about a conference the caller left behind, not about the call: the caller
 * was moved out to hear the callback offer (a caller who hangs up just as they are moved still ends the call: their
 * leave says participant_hung_up), or asked for a callback and hung up, and nobody has called them back yet. A
 * callback whose customer was reached (`customerLegSid`) is in its conference again: back in line after their agent's
 * softphone dropped, their leaving or the conference's end is the call's end, as for any caller.
 */
export function conferenceLeftBehind(call: CallRecord, input: { event: 'participant-leave' | 'conference-end'; reason?: string; conferenceSid?: string }): boolean {
  const movedOut = Boolean(call.awayFromLine) && (input.event === 'conference-end' || input.reason === undefined || input.reason === 'participant_updated_via_api');
  const calledBackLater = Boolean(call.callback) && !call.customerLegSid && (call.status === 'waiting' || call.status === 'offered');
  // The conference the caller left for an offer, reporting late (after they were back in line).
  const oldConference = Boolean(input.conferenceSid && input.conferenceSid === call.leftConferenceSid);
  return movedOut || calledBackLater || oldConference;
}

/**
 * The agent who took a callback is in the conference: the customer's phone is being rung. From here the call is an
 * outbound call (answered when the customer picks up; one who never does ends it as failed).
 */
export function callbackDialling(call: CallRecord): Step<{ number: string } | undefined> {
  if (isOver(call) || !call.callback || call.customerRinging || call.customerLegSid || call.direction === 'outbound') return { result: undefined };
  return { patch: { set: { direction: 'outbound', customerRinging: true } }, result: { number: call.callback.number } };
}

/**
 * The conference of a callback whose customer's phone still rings ended: its agent left (nobody else was in it), so
 * this attempt is called off, not counted (CALLBACK_AGENT_LEFT). False for another conference of the call's name, a
 * customer already reached, or a call already decided over (by the agent's own leaving, reported first).
 */
export function callbackConferenceEnded(call: CallRecord, input: { conferenceSid?: string }): Step<boolean> {
  if (isOver(call) || !call.callback || !call.customerRinging || otherConference(call, input.conferenceSid)) return { result: false };
  return { patch: { set: { endReason: CALLBACK_AGENT_LEFT } }, result: true };
}

/**
 * A callback's customer leg ended (its status callback). 'hung-up': they had answered (the call ends as any customer's
 * leaving); 'called-off': they never answered, but no agent waited for them any more (each left, or pressed Hang up,
 * whose ring-stop this is): not counted; 'failed': nobody answered (busy, no answer, failed), this attempt counts.
 * Undefined when the call is over already, or this attempt was decided by the agent's leaving reported first.
 */
export function callbackLegEnded(call: CallRecord, input: { callStatus: string }): Step<'hung-up' | 'called-off' | 'failed' | undefined> {
  if (call.status === 'completed' || !call.callback) return { result: undefined };
  if (!call.customerRinging) return { result: 'hung-up' };
  if (isOver(call)) return { result: undefined };
  const waited = call.participants.some((leg) => LIVE_LEG_STATUSES.includes(leg.status) && !leg.hungUp);
  if (!waited) return { patch: { set: { endReason: CALLBACK_AGENT_LEFT } }, result: 'called-off' };
  return { patch: { set: { endReason: `callback-${input.callStatus}` } }, result: 'failed' };
}

/** The agent's call, checked: they are talking on it. */
function requireTalking(call: CallRecord | undefined, agentId: string, message = 'You have no call to transfer.'): asserts call is CallRecord {
  if (!call || isOver(call) || !call.participants.some((leg) => leg.agentId === agentId && leg.status === 'in-progress')) throw new NoCallError(message);
}

/** Checks before a colleague's phone may ring for the call `agentId` is on (the reservation is taken next). */
export function checkColleagueRing(call: CallRecord | undefined, input: { fromAgentId: string; toAgentId: string; kind: 'consult' | 'bring-in' | 'cold' }): asserts call is CallRecord {
  if (input.kind === 'bring-in' && input.toAgentId === input.fromAgentId) throw new InvalidRequestError('An agent cannot bring themselves into their own call.');
  if (input.kind === 'consult' && input.toAgentId === input.fromAgentId) throw new AgentUnavailableError('You cannot consult yourself: pick a colleague.');
  requireTalking(call, input.fromAgentId, input.kind === 'bring-in' ? `${input.fromAgentId} has no active call.` : 'You have no call to transfer.');
  if (input.kind === 'cold' && input.toAgentId === input.fromAgentId) throw new AgentUnavailableError('You cannot transfer a call to yourself.');
}

/** A warm transfer with consult starts: the colleague's leg and the transfer record. Refused by the transfer rules. */
export function consultStarted(call: CallRecord, input: { id: string; fromAgentId: string; toAgentId: string; toName: string; note?: string; now: Date }): Step<number> {
  if (isOver(call)) throw new NoCallError('You have no call to transfer.');
  const transfer = startConsult(call.transfers ?? [], { id: input.id, from: input.fromAgentId, to: input.toAgentId, note: input.note, now: input.now });
  if (newestLeg(call, input.toAgentId, (leg) => LIVE_LEG_STATUSES.includes(leg.status)) >= 0) throw new AgentUnavailableError(`${input.toName} is already on this call.`);
  return {
    // The consult holds the customer from here (and takes them off hold when it ends): the page's Hold is over.
    patch: { addParticipant: ringLeg({ agentId: input.toAgentId, role: 'colleague', requestedBy: input.fromAgentId, transferId: input.id, now: input.now }), addTransfer: transfer, ...(call.heldBy ? { clear: ['heldBy', 'heldSince'] as const } : {}) },
    result: call.participants.length,
  };
}

/** A colleague is brought straight into the call (no consult). */
export function bringInStarted(call: CallRecord, input: { fromAgentId: string; toAgentId: string; toName: string; now: Date }): Step<number> {
  if (isOver(call)) throw new NoCallError(`${input.fromAgentId} has no active call.`);
  const live = newestLeg(call, input.toAgentId, (leg) => LIVE_LEG_STATUSES.includes(leg.status));
  if (live >= 0) throw new AgentUnavailableError(`${input.toName} is already ${call.participants[live]!.status === 'in-progress' ? 'on' : 'being dialled into'} this call.`);
  return { patch: { addParticipant: ringLeg({ agentId: input.toAgentId, role: 'colleague', requestedBy: input.fromAgentId, now: input.now }) }, result: call.participants.length };
}

/**
 * A cold transfer: the customer waits on hold while the call is offered to `to` (an agent, or 'queue' for the front
 * of the line, where the longest wait counts afresh), and the transferring agent leaves at once. Routing does not
 * hand the call straight back to the agent who transferred it.
 */
export function coldTransferStarted(call: CallRecord, input: { id: string; fromAgentId: string; to: string | 'queue'; note?: string; now: Date }): Step<{ legCallSid?: string; conferenceSid?: string; targetIndex: number }> {
  if (call.status !== 'in-progress' || call.endReason) throw new NoCallError('You have no call to transfer.');
  const toQueue = input.to === 'queue';
  const transfer = startCold(call.transfers ?? [], { id: input.id, from: input.fromAgentId, to: input.to, note: input.note, now: input.now });
  const mine = newestLeg(call, input.fromAgentId, (leg) => leg.status === 'in-progress');
  return {
    patch: {
      set: { status: toQueue ? 'waiting' : 'offered', ...(toQueue ? {} : { offeredTo: input.to }), customerHeld: Boolean(call.conferenceSid), lineSince: input.now },
      ...(call.heldBy ? { clear: ['heldBy', 'heldSince'] as const } : {}),
      addTransfer: transfer,
      addPass: { agentId: input.fromAgentId, at: input.now, outcome: 'transferred' },
      ...(toQueue ? {} : { addParticipant: ringLeg({ agentId: input.to, role: 'offer', requestedBy: input.fromAgentId, transferId: input.id, now: input.now }) }),
    },
    result: { legCallSid: call.participants[mine]?.legCallSid, conferenceSid: call.conferenceSid, targetIndex: call.participants.length },
  };
}

/** What the transferring agent's decision on the open consult asks of the voice side. */
export interface Decision {
  next: ReturnType<typeof decide>;
  colleague?: string;
  colleagueId: string;
  transferrer?: string;
  conferenceSid?: string;
}

/** The transferring agent completes, merges, toggles or cancels the open consult. */
export function transferDecided(call: CallRecord, input: { agentId: string; action: TransferAction }): Step<Decision> {
  const transfer = openTransfer(call.transfers ?? []);
  if (!transfer) throw new AgentUnavailableError('There is no transfer under way on your call.');
  const next = decide(transfer, input.action, input.agentId);
  const colleague = call.participants.find((leg) => leg.transferId === transfer.id);
  const mine = newestLeg(call, input.agentId, (leg) => leg.status === 'in-progress');
  return {
    patch: mergePatches(transferPatch(call, transfer.id, next.state, next.held), next.effects.hangUpTransferrer && mine >= 0 ? participant(mine, { hungUp: true }) : undefined),
    result: { next, colleague: colleague?.legCallSid, colleagueId: transfer.to, transferrer: mine >= 0 ? call.participants[mine]!.legCallSid : undefined, conferenceSid: call.conferenceSid },
  };
}

/** The agent pressed Hang up: their live leg is marked as ended on purpose (so a customer left alone hears goodbye). */
export function hangUpRequested(call: CallRecord, agentId: string): Step<{ legCallSid?: string }> {
  const i = newestLeg(call, agentId, (leg) => LIVE_LEG_STATUSES.includes(leg.status));
  if (i < 0) throw new NoCallError('You have no call to hang up.');
  return { patch: participant(i, { hungUp: true }), result: { legCallSid: call.participants[i]!.legCallSid } };
}

/**
 * The agent puts the customer on hold (they hear the line's music and nobody hears them) or takes them off it. Refused
 * while a transfer is under way (the transfer decides who holds) and before the customer is connected. `changed` is
 * false when the customer already was where asked (a second press changes nothing).
 * https://www.twilio.com/docs/voice/api/conference-participant-resource#update-a-participant-resource
 */
export function customerHoldRequested(call: CallRecord, input: { agentId: string; on: boolean; now: Date }): Step<{ conferenceSid: string; changed: boolean }> {
  requireTalking(call, input.agentId, input.on ? 'You have no call to put on hold.' : 'You have no call to resume.');
  if (openTransfer(call.transfers ?? [])) throw new TransferRefusedError('A transfer is under way: it decides who waits on hold.');
  if (call.customerRinging) throw new NotReadyError('The customer has not answered yet.');
  if (!call.conferenceSid) throw new NotReadyError('The call has not started yet: try again in a moment.');
  if (input.on === Boolean(call.heldBy)) return { result: { conferenceSid: call.conferenceSid, changed: false } };
  return {
    patch: input.on ? { set: { heldBy: input.agentId, heldSince: input.now } } : { clear: ['heldBy', 'heldSince'] },
    result: { conferenceSid: call.conferenceSid, changed: true },
  };
}

/** The agent's page muted or unmuted their microphone (the SDK's call.mute()): kept on their leg so the floor sees it. */
export function muteReported(call: CallRecord, input: { agentId: string; muted: boolean }): Step<void> {
  const i = newestLeg(call, input.agentId, (leg) => leg.status === 'in-progress');
  if (isOver(call) || i < 0) throw new NoCallError('You have no call to mute.');
  if (Boolean(call.participants[i]!.muted) === input.muted) return { result: undefined };
  return { patch: participant(i, { muted: input.muted }), result: undefined };
}

/** A valid E.164 number: + and up to 15 digits, not starting with 0. https://www.twilio.com/docs/glossary/what-e164 */
export const E164 = /^\+[1-9]\d{1,14}$/;

/**
 * An agent calls a number from their page: the new call, keyed by the customer's CallSid (the dial's answer) like an
 * inbound call, offered to the agent who placed it (their phone rings and their page answers it: they join the
 * conference first), the customer's phone still ringing. From here its life is an inbound call's.
 */
export function outboundPlaced(input: { callSid: string; to: string; agentId: string; supportNumber: string; now: Date }): Omit<CallRecord, 'createdAt' | 'updatedAt'> {
  if (!E164.test(input.to)) throw new InvalidRequestError('The number must be in E.164 form: + and the country code, e.g. +15551234567.');
  if (input.to === input.supportNumber) throw new InvalidRequestError('That is the support number itself.');
  return {
    _id: input.callSid,
    conferenceName: input.callSid,
    from: input.to,
    direction: 'outbound',
    status: 'offered',
    offeredTo: input.agentId,
    customerRinging: true,
    participants: [ringLeg({ agentId: input.agentId, role: 'offer', now: input.now })],
    passedBy: [],
    transfers: [],
    rev: 0,
  };
}

/** The customer of an outbound call answered: the call is answered now (talk time counts from here). */
export function customerAnswered(call: CallRecord, now: Date): Step<boolean> {
  if (isOver(call)) return { result: false };
  if (!call.customerRinging) return { result: true };
  return { patch: { clear: ['customerRinging'], ...(call.answeredAt ? {} : { set: { answeredAt: now } }) }, result: true };
}
