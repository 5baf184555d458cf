// What a finished call leaves behind: one history record built from the live call. Pure: no I/O.
import type { CallRecord, Leg } from '../models/call';

export const OUTCOMES = ['answered', 'abandoned', 'timed-out', 'no-agent', 'failed'] as const;
export type Outcome = (typeof OUTCOMES)[number];
export const TRANSFER_MODES = ['consult', 'cold', 'three-way'] as const;
export type TransferMode = (typeof TRANSFER_MODES)[number];

/**
 * Timeline kinds the history page explains (others are shown as they are): queued, offered, ringing, answered,
 * declined, no-answer, busy, failed, canceled, joined, left, hold, unhold, transfer, hung-up, ended.
 */
export interface TimelineEntry {
  at: Date;
  kind: string;
  agentId?: string;
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
  talkSeconds: number;
  /** 'customer' | 'agent:<id>' | 'system' */
  hungUpBy?: string;
  endReason?: string;
  transfers: TransferRecord[];
  timeline: TimelineEntry[];
}

/** The history record of a finished call (what the history store keeps). */
export type FinishedCall = HistoryRecord;

const LEG_EVENT: Partial<Record<Leg['status'], string>> = {
  'no-answer': 'did not answer',
  busy: 'declined',
  failed: 'could not be reached',
  'dial-failed': 'could not be dialled',
  canceled: 'ringing stopped',
};

/** The history record of a call that has just ended at `endedAt`. */
export function finishedCallOf(call: CallRecord, endedAt: Date): FinishedCall {
  const started = new Date(call.createdAt);
  const answered = call.answeredAt ? new Date(call.answeredAt) : undefined;
  const talked = call.legs.filter((leg) => leg.legCallSid !== undefined || leg.status === 'completed' || leg.status === 'in-progress').filter((leg) => leg.status === 'completed' || leg.status === 'in-progress');
  const outcome: Outcome = answered ? 'answered' : call.endReason === 'max-wait' ? 'timed-out' : call.legs.length === 0 ? 'no-agent' : 'abandoned';
  const timeline: FinishedCall['timeline'] = [{ at: started, kind: 'waiting', detail: 'The customer called and waited in line.' }];
  for (const leg of call.legs) {
    timeline.push({ at: new Date(leg.createdAt), kind: leg.role === 'first' ? 'offered' : 'brought-in', agentId: leg.agentId, ...(leg.requestedBy ? { detail: `by ${leg.requestedBy}` } : {}) });
    const ended = LEG_EVENT[leg.status];
    if (ended) timeline.push({ at: new Date(leg.updatedAt), kind: leg.status, agentId: leg.agentId, detail: ended });
    else if (leg.status === 'completed') timeline.push({ at: new Date(leg.updatedAt), kind: 'left', agentId: leg.agentId });
  }
  if (answered) timeline.push({ at: answered, kind: 'answered', agentId: call.legs.find((leg) => leg.role === 'first' && (leg.status === 'completed' || leg.status === 'in-progress'))?.agentId });
  timeline.push({ at: endedAt, kind: 'ended', detail: call.endReason ?? 'ended' });
  timeline.sort((a, b) => a.at.getTime() - b.at.getTime());
  return {
    _id: call._id,
    startedAt: started,
    endedAt,
    ...(call.from ? { from: call.from } : {}),
    outcome,
    agentIds: [...new Set(talked.map((leg) => leg.agentId))],
    offeredTo: call.legs.filter((leg) => leg.role === 'first').map((leg) => leg.agentId),
    waitSeconds: Math.max(0, Math.round(((answered ?? endedAt).getTime() - started.getTime()) / 1000)),
    talkSeconds: answered ? Math.max(0, Math.round((endedAt.getTime() - answered.getTime()) / 1000)) : 0,
    ...(call.endReason ? { endReason: call.endReason, hungUpBy: call.endReason === 'customer-hung-up' ? 'customer' : call.endReason === 'max-wait' || call.endReason === 'abandoned' ? 'system' : undefined } : {}),
    transfers: [
      ...(call.transfers ?? []).map((t) => ({ from: t.from, to: t.to, mode: t.mode, outcome: t.state, at: new Date(t.at) })),
      ...threeWay(call),
    ],
    timeline,
  };
}

/** Colleagues brought straight into the call (no consult): three-way from the start. */
function threeWay(call: CallRecord): HistoryRecord['transfers'] {
  return call.legs
      .filter((leg) => leg.role === 'transfer' && leg.requestedBy && !leg.transferId)
      .map((leg) => ({ from: leg.requestedBy!, to: leg.agentId, mode: 'three-way' as const, outcome: leg.status === 'completed' || leg.status === 'in-progress' ? 'joined' : leg.status, at: new Date(leg.createdAt) }));
}
