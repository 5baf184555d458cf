// What a finished call leaves behind: one history record built from the live call. Pure: no I/O.
import type { CallRecord, ConferenceEvent } from './call';
import { CALLBACK_AGENT_LEFT } from './call-life';
import type { Participant } from './participants';
import { agentLabel, agentOfLabel, CUSTOMER_LABEL } from './participants';
import { supervisorOfLabel } from './supervision';
import type { WrapUp } from './wrap-up';

// 'voicemail': the caller left a message instead of waiting (pressed 2 at the periodic offer); not an abandon.
export const OUTCOMES = ['answered', 'abandoned', 'timed-out', 'no-agent', 'failed', 'voicemail'] as const;
export type Outcome = (typeof OUTCOMES)[number];
export const TRANSFER_MODES = ['consult', 'cold', 'three-way'] as const;
export type TransferMode = (typeof TRANSFER_MODES)[number];

/**
 * Timeline kinds the history page explains (others are shown as they are): waiting, offered, brought-in, answered,
 * declined, no-answer, busy, failed, dial-failed, canceled, left, hold, unhold (an agent), customer-held,
 * customer-unheld, customer-left, transfer, conference-ended, ended; supervisor-joined, supervisor-mode, supervisor-left
 * (agentId: the supervisor; detail: the mode, or why they left), help-raised, help-lowered (detail: the agent's note).
 */
export interface TimelineEntry {
  at: Date;
  kind: string;
  agentId?: string;
  /** A transfer's target: an agent id, or 'queue'. */
  toAgentId?: string;
  /** Who asked for it (a colleague rung into the call). */
  byAgentId?: string;
  /** A transfer's mode and how it ended (records by earlier versions wrote them as detail "mode: outcome"). */
  mode?: TransferMode;
  outcome?: string;
  detail?: string;
}

export interface TransferRecord {
  /** Agent id of who transferred. */
  from: string;
  /** Agent id of the colleague, or 'queue' for back to the waiting line. */
  to: string;
  mode: TransferMode;
  /** e.g. 'completed', 'merged', 'canceled', 'declined', 'no-answer'. */
  outcome: string;
  at: Date;
}

/** A finished customer call, as the history keeps it. Plain data: dates, strings, numbers and arrays of them. */
export interface HistoryRecord {
  /** The customer's CallSid. */
  _id: string;
  startedAt: Date;
  endedAt: Date;
  /** The caller's number. */
  from?: string;
  outcome: Outcome;
  /** Everyone who talked with the customer. */
  agentIds: string[];
  /** Everyone whose phone rang for this call (answered or not). */
  offeredTo: string[];
  waitSeconds: number;
  /** From the first answer to the end, the customer's hold included (what people and the metrics see is talkLessHold). */
  talkSeconds: number;
  /** When the first agent answered (records since issue 21; the metrics use it for an exact wait). */
  answeredAt?: Date;
  /** Who answered first (records since issue 21). */
  answeredBy?: string;
  /**
   * Each agent's connected seconds on the call (records since issue 21): from their leg's answer (calls before this
   * version kept a later leg's ring instead) to their leaving.
   */
  agentTalk?: Array<{ agentId: string; seconds: number }>;
  /** Seconds the customer spent on hold, when they were. */
  holdSeconds?: number;
  /** 'customer' | 'agent:<id>' | 'system' */
  hungUpBy?: string;
  endReason?: string;
  transfers: TransferRecord[];
  timeline: TimelineEntry[];
  /** 'outbound': an agent called the customer from their page (unset: the customer called). */
  direction?: 'outbound';
  /** The queue the caller waited in (its name then; records since issue 20, and only with queues set up). */
  queue?: string;
  /** A callback the caller asked for (the number called, and which attempt this record is). */
  callback?: { number: string; attempt: number };
  /** The queue's id, and the one it overflowed from, when it did. */
  queueId?: string;
  overflowedFrom?: string;
  /** The name of the queue it overflowed from (records since this version; earlier ones have its id only). */
  overflowedFromName?: string;
  /** The agents' wrap-up codes and notes: not stored with the record, merged in when it is read (they come later). */
  wrapUps?: WrapUp[];
}

/** The history record of a finished call (what the history store keeps). */
export type FinishedCall = HistoryRecord;

const LEG_EVENT: Partial<Record<Participant['status'], string>> = {
  'no-answer': 'did not answer',
  busy: 'declined',
  failed: 'could not be reached',
  'dial-failed': 'could not be dialled',
  canceled: 'ringing stopped',
};

/** Who ended the call, from why it ended and why the customer left the conference (Twilio's ReasonParticipantLeft). */
function hungUpByOf(call: CallRecord, customerLeft: ConferenceEvent | undefined): string | undefined {
  // An agent pressed Hang up and left the customer alone: the app said goodbye for them. Or, a callback's agent pressed
  // it while the customer's phone still rang (callback-agent-left: the ring was stopped; a dropped softphone: 'system').
  if (call.endReason === 'abandoned' || call.endReason === CALLBACK_AGENT_LEFT) {
    const last = [...call.participants].reverse().find((leg) => leg.hungUp);
    return last ? agentLabel(last.agentId) : 'system';
  }
  if (call.endReason === 'customer-hung-up') return customerLeft?.reason && customerLeft.reason !== 'participant_hung_up' ? 'system' : 'customer';
  if (call.endReason === 'max-wait' || call.endReason === 'conference-ended') return 'system';
  if (call.endReason === 'voicemail') return 'customer';
  return undefined;
}

/** Seconds the customer spent on hold (consults, cold transfers, waiting again after their agent dropped). */
function customerHoldSeconds(events: readonly ConferenceEvent[], endedAt: Date): number {
  let total = 0;
  let since: Date | undefined;
  for (const e of events) {
    if (e.label !== CUSTOMER_LABEL) continue;
    if (e.kind === 'hold' && !since) since = new Date(e.at);
    else if ((e.kind === 'unhold' || e.kind === 'left') && since) {
      total += new Date(e.at).getTime() - since.getTime();
      since = undefined;
    }
  }
  if (since) total += endedAt.getTime() - since.getTime();
  return Math.max(0, Math.round(total / 1000));
}

/**
 * Why a call ended, in the history's words. The live call marks an agent's Hang up that left the customer alone
 * 'abandoned' (the app then says goodbye), which read in the history as if the caller had abandoned an answered call:
 * the history says 'agent-hung-up'. Records stored before this version keep the old word, and are read through this too.
 */
export function historyEndReason(endReason: string | undefined): string | undefined {
  return endReason === 'abandoned' || endReason === 'last-agent-left' ? 'agent-hung-up' : endReason;
}

/** The talk time that the metrics count: connected time less the customer's time on hold (see docs/metrics.md). */
export function talkLessHold(record: Pick<HistoryRecord, 'talkSeconds' | 'holdSeconds'>): number {
  return Math.max(0, record.talkSeconds - (record.holdSeconds ?? 0));
}

/**
 * Why an agent's leg left the call on purpose, in the timeline's words: handing the call on (Complete transfer, a cold
 * transfer, to a colleague or the line) reads as that, not as Hang up; undefined when they did not leave on purpose.
 */
function leftOnPurpose(call: CallRecord, leg: Participant): string | undefined {
  const since = new Date(leg.createdAt).getTime();
  const handedOn = (call.transfers ?? []).find((t) => t.from === leg.agentId && new Date(t.at).getTime() >= since && (t.mode === 'cold' || t.state === 'completed'));
  if (handedOn) return handedOn.mode === 'cold' ? 'transferred the call' : 'completed the transfer';
  return leg.hungUp ? 'pressed Hang up' : undefined;
}

/** Why a supervisor left, when only their own call's end said so (src/services/supervision.ts). */
export const SUPERVISOR_LEG_ENDED = 'their leg ended';

/** How long before the customer's leave an agent's leg may end and still count as ended with the call (callbacks' order). */
const WITH_THE_CALL_MS = 2000;

/** The history record of a call that has just ended at `endedAt`. */
export function finishedCallOf(call: CallRecord, endedAt: Date): FinishedCall {
  const started = new Date(call.createdAt);
  const answered = call.answeredAt ? new Date(call.answeredAt) : undefined;
  const events = call.events ?? [];
  const talked = call.participants.filter((leg) => leg.status === 'completed' || leg.status === 'in-progress');
  // An outbound call whose customer never answered did not connect: 'failed' (busy, no answer, could not be reached).
  const outcome: Outcome = answered ? 'answered' : call.direction === 'outbound' ? 'failed' : call.endReason === 'max-wait' ? 'timed-out' : call.endReason === 'voicemail' ? 'voicemail' : call.participants.length === 0 ? 'no-agent' : 'abandoned';
  const timeline: FinishedCall['timeline'] = [call.callback ? { at: started, kind: 'callback', detail: `The customer asked to be called back at ${call.callback.number} (attempt ${call.callback.attempt}), keeping their place in line.` } : call.direction === 'outbound' ? { at: started, kind: 'dialled', detail: 'An agent called the customer.' } : { at: started, kind: 'waiting', detail: call.queueName ? `The customer called and waited in the queue ${call.queueName}.` : 'The customer called and waited in line.' }];
  if (call.overflowedFrom && call.queueSince) timeline.push({ at: new Date(call.queueSince), kind: 'overflow', detail: `Nobody who serves ${call.overflowedFromName ?? call.overflowedFrom} was online: moved to ${call.queueName ?? call.queueId}.` });
  // When the customer was gone: their own leave, or the call's end. An agent whose leg ended about then (or later) left
  // because the call ended: the times are when the app heard of each, and the agent's own callback and the conference's
  // arrive in either order, a moment apart.
  const customerLeft = events.find((e) => e.kind === 'left' && e.label === CUSTOMER_LABEL);
  const customerGone = Math.min(endedAt.getTime(), customerLeft ? new Date(customerLeft.at).getTime() : Infinity) - WITH_THE_CALL_MS;
  for (const leg of call.participants) {
    timeline.push({ at: new Date(leg.createdAt), kind: leg.role === 'offer' ? 'offered' : 'brought-in', agentId: leg.agentId, ...(leg.requestedBy ? { byAgentId: leg.requestedBy } : {}) });
    const ended = LEG_EVENT[leg.status];
    if (ended) timeline.push({ at: new Date(leg.updatedAt), kind: leg.status, agentId: leg.agentId, detail: ended });
    else if (leg.status === 'completed' && !events.some((e) => e.kind === 'left' && e.callSid !== undefined && e.callSid === leg.legCallSid)) {
      // Still on the call when it ended (their own departure is reported after the call is over).
      const withCall = new Date(leg.updatedAt).getTime() >= customerGone;
      const purpose = leftOnPurpose(call, leg);
      timeline.push({ at: new Date(leg.updatedAt), kind: 'left', agentId: leg.agentId, ...(purpose ? { detail: purpose } : withCall ? { detail: 'the call ended' } : {}) });
    }
  }
  for (const e of events) {
    const at = new Date(e.at);
    const agentId = agentOfLabel(e.label);
    const leg = e.callSid ? call.participants.find((l) => l.legCallSid === e.callSid) : undefined;
    if (e.kind === 'hold' || e.kind === 'unhold') timeline.push(agentId ? { at, kind: e.kind, agentId } : { at, kind: e.kind === 'hold' ? 'customer-held' : 'customer-unheld' });
    else if (e.kind === 'left' && e.label === CUSTOMER_LABEL) timeline.push({ at, kind: 'customer-left', ...(e.reason ? { detail: e.reason } : {}) });
    else if (e.kind === 'left') {
      const purpose = leg ? leftOnPurpose(call, leg) : undefined;
      timeline.push({ at, kind: 'left', ...(agentId ? { agentId } : {}), ...(purpose ? { detail: purpose } : e.reason ? { detail: e.reason } : {}) });
    }
    else if (e.kind === 'conference-ended') timeline.push({ at, kind: 'conference-ended', ...(e.reason ? { detail: e.reason } : {}) });
    else if (e.kind === 'supervisor-joined' || e.kind === 'supervisor-mode') timeline.push({ at, kind: e.kind, agentId: supervisorOfLabel(e.label), detail: supervisorModeText(e) });
    else if (e.kind === 'supervisor-left') {
      // A supervisor's own call ending as the customer left (the callbacks cross) left because the call ended.
      const detail = e.reason === SUPERVISOR_LEG_ENDED && at.getTime() >= customerGone ? 'the call ended' : e.reason;
      timeline.push({ at, kind: e.kind, agentId: supervisorOfLabel(e.label), ...(detail ? { detail } : {}) });
    }
    else if (e.kind === 'help-raised' || e.kind === 'help-lowered') timeline.push({ at, kind: e.kind, ...(agentId ? { agentId } : {}), ...(e.reason ? { detail: e.reason } : {}) });
  }
  // A supervisor still on the call when it ended left with it.
  for (const leg of call.supervisors ?? []) {
    if (leg.status === 'dialing' || leg.status === 'ringing' || leg.status === 'in-progress') timeline.push({ at: endedAt, kind: 'supervisor-left', agentId: leg.supervisorId, detail: 'the call ended' });
  }
  for (const t of call.transfers ?? []) timeline.push({ at: new Date(t.at), kind: 'transfer', agentId: t.from, toAgentId: t.to, mode: t.mode, outcome: t.state });
  // Each answer, the first agent's and every later one (a colleague's, the next agent's from the line); a call whose
  // legs do not keep their answers (stored by an earlier version) has the first one only.
  const answers = call.participants.filter((leg) => leg.answeredAt);
  for (const leg of answers) timeline.push({ at: new Date(leg.answeredAt!), kind: 'answered', agentId: leg.agentId });
  if (answered && answers.length === 0) timeline.push({ at: answered, kind: 'answered', agentId: call.participants.find((leg) => leg.role === 'offer' && (leg.status === 'completed' || leg.status === 'in-progress'))?.agentId });
  timeline.sort((a, b) => a.at.getTime() - b.at.getTime());
  timeline.push({ at: endedAt, kind: 'ended', detail: call.endReason === 'voicemail' ? 'voicemail: the caller left a message instead of waiting' : (historyEndReason(call.endReason) ?? 'ended') });
  const hungUpBy = hungUpByOf(call, [...events].reverse().find((e) => e.kind === 'left' && e.label === CUSTOMER_LABEL));
  const holdSeconds = customerHoldSeconds(events, endedAt);
  const answeredBy = answered ? call.participants.find((leg) => leg.role === 'offer' && (leg.status === 'completed' || leg.status === 'in-progress'))?.agentId : undefined;
  const agentTalk = answered ? agentConnectedSeconds(talked, events, answered, endedAt) : [];
  return {
    _id: call._id,
    startedAt: started,
    endedAt,
    ...(call.from ? { from: call.from } : {}),
    ...(call.direction === 'outbound' ? { direction: 'outbound' as const } : {}),
    ...(call.queueName ? { queue: call.queueName } : {}),
    ...(call.callback ? { callback: { number: call.callback.number, attempt: call.callback.attempt } } : {}),
    ...(call.queueId ? { queueId: call.queueId } : {}),
    ...(call.overflowedFrom ? { overflowedFrom: call.overflowedFrom } : {}),
    ...(call.overflowedFromName ? { overflowedFromName: call.overflowedFromName } : {}),
    outcome,
    agentIds: [...new Set(talked.map((leg) => leg.agentId))],
    offeredTo: call.participants.filter((leg) => leg.role === 'offer').map((leg) => leg.agentId),
    waitSeconds: Math.max(0, Math.round(((answered ?? endedAt).getTime() - started.getTime()) / 1000)),
    talkSeconds: answered ? Math.max(0, Math.round((endedAt.getTime() - answered.getTime()) / 1000)) : 0,
    ...(answered ? { answeredAt: answered } : {}),
    ...(answeredBy ? { answeredBy } : {}),
    ...(agentTalk.length ? { agentTalk } : {}),
    ...(holdSeconds > 0 ? { holdSeconds } : {}),
    ...(call.endReason ? { endReason: historyEndReason(call.endReason) } : {}),
    ...(hungUpBy ? { hungUpBy } : {}),
    transfers: [
      ...(call.transfers ?? []).map((t) => ({ from: t.from, to: t.to, mode: t.mode, outcome: t.state, at: new Date(t.at) })),
      ...threeWay(call),
    ],
    timeline,
  };
}

/** Why a call ended whose caller was told sorry: the app could not store it in time (the database did not answer). */
export const TOLD_SORRY_END_REASON = 'told-sorry';

/** A caller told sorry, as the apology's record keeps them. */
export interface ToldSorryCaller {
  callSid: string;
  /** When they were told sorry (also when they called: the apology is the webhook's answer). */
  at: Date;
  from?: string;
  queueId?: string;
  queueName?: string;
}

/**
 * The history record of a caller told sorry: they called and heard the apology, because the app could not take their
 * call. A technical failure ('failed'): the call never reached the line, so it is not offered (see docs/metrics.md).
 * Built from the apology's record only, so that every instance, and every attempt, builds the same record.
 */
export function toldSorryCallOf(caller: ToldSorryCaller): FinishedCall {
  const at = new Date(caller.at);
  return {
    _id: caller.callSid,
    startedAt: at,
    endedAt: at,
    ...(caller.from ? { from: caller.from } : {}),
    ...(caller.queueName ? { queue: caller.queueName } : {}),
    ...(caller.queueId ? { queueId: caller.queueId } : {}),
    outcome: 'failed',
    agentIds: [],
    offeredTo: [],
    waitSeconds: 0,
    talkSeconds: 0,
    endReason: TOLD_SORRY_END_REASON,
    hungUpBy: 'system',
    transfers: [],
    timeline: [{ at, kind: 'ended', detail: TOLD_SORRY_END_REASON }],
  };
}

/** A supervisor's mode as the timeline says it: listening, coaching <agent>, or in the call (barge). */
function supervisorModeText(e: ConferenceEvent): string {
  const mode = e.mode === 'coach' ? `coaching ${e.coached ?? 'the agent'}` : e.mode === 'barge' ? 'in the call (barge)' : 'listening';
  return e.reason ? `${mode}: ${e.reason}` : mode;
}

/** Colleagues brought straight into the call (no consult): three-way from the start. */
function threeWay(call: CallRecord): HistoryRecord['transfers'] {
  return call.participants
      .filter((leg) => leg.role === 'colleague' && leg.requestedBy && !leg.transferId)
      .map((leg) => ({ from: leg.requestedBy!, to: leg.agentId, mode: 'three-way' as const, outcome: leg.status === 'completed' || leg.status === 'in-progress' ? 'joined' : leg.status, at: new Date(leg.createdAt) }));
}

/** Each agent's connected seconds: every leg they talked on, from its answer (earlier records: its ring; never before the call's answer) to their leaving. */
function agentConnectedSeconds(talked: readonly Participant[], events: readonly ConferenceEvent[], answeredAt: Date, endedAt: Date): Array<{ agentId: string; seconds: number }> {
  const total = new Map<string, number>();
  for (const leg of talked) {
    const from = Math.max(new Date(leg.answeredAt ?? leg.createdAt).getTime(), answeredAt.getTime());
    const left = events.find((e) => e.kind === 'left' && e.callSid !== undefined && e.callSid === leg.legCallSid);
    const to = Math.min(left ? new Date(left.at).getTime() : leg.status === 'completed' ? new Date(leg.updatedAt).getTime() : endedAt.getTime(), endedAt.getTime());
    total.set(leg.agentId, (total.get(leg.agentId) ?? 0) + Math.max(0, to - from));
  }
  return [...total].map(([agentId, ms]) => ({ agentId, seconds: Math.round(ms / 1000) }));
}
