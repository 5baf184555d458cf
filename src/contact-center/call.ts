// The customer call as the domain sees it: one aggregate per customer call (its conference, the agents rung into it,
// its transfers, what the conference reported), the patch a transition makes to it in domain words, and the lookups
// every rule needs. Pure: no I/O. The store alone turns a patch into a database update.
import { LIVE_LEG_STATUSES, type Participant } from './participants';
import type { HelpRequest, SupervisorLeg } from './supervision';
import type { Transfer } from './transfer';

/** waiting: in the line; offered: an agent's phone rings for it; in-progress: an agent took it; completed: over. */
export const CALL_STATUSES = ['waiting', 'offered', 'in-progress', 'completed'] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];

/** Who placed the call: the customer (inbound), or an agent from their page (outbound). */
export type CallDirection = 'inbound' | 'outbound';

export const CONFERENCE_EVENT_KINDS = ['hold', 'unhold', 'left', 'conference-ended', 'supervisor-joined', 'supervisor-mode', 'supervisor-left', 'help-raised', 'help-lowered'] as const;

/**
 * What the conference reported about its participants, in order: holds, unholds, who left and why, and how the
 * conference ended (Twilio's `ReasonParticipantLeft`, `ParticipantCallStatus`, `ReasonConferenceEnded`).
 */
export interface ConferenceEvent {
  at: Date;
  kind: (typeof CONFERENCE_EVENT_KINDS)[number];
  /** 'customer' or 'agent:<id>'. */
  label?: string;
  /** The participant's CallSid (for leaving: which of an agent's legs). */
  callSid?: string;
  reason?: string;
  /** ParticipantCallStatus on leaving. */
  callStatus?: string;
  /** conference-end: the label of the participant whose leaving ended it, when Twilio says. */
  endedBy?: string;
  /** A supervisor's join or switch: listen, coach or barge. */
  mode?: string;
  /** A supervisor's join or switch to coach: the agent coached. */
  coached?: string;
}

/** An agent who declined or missed the call, and when: routing offers it to others first. */
export interface Pass {
  agentId: string;
  at: Date;
  outcome: string;
}

export interface CallRecord {
  /** The customer's CallSid: the key Twilio gives us, and the conference's name. */
  _id: string;
  conferenceName: string;
  conferenceSid?: string;
  /** The conference a caller who had talked left behind to hear the callback offer (see callbackOfferStarted). */
  leftConferenceSid?: string;
  /** The caller's number as Twilio sent it (shown to agents; never logged in full); for an outbound call, the number dialled. */
  from?: string;
  /** 'outbound': an agent called the customer (the customer's leg was dialled by the app); unset: the customer called. */
  direction?: CallDirection;
  status: CallStatus;
  /** The agent who owns the call: the first agent, then whoever it was transferred to. */
  agentId?: string;
  participants: Participant[];
  /** The last dialling failure, for the agents' pages and the history. */
  dialError?: string;
  /** The agent whose phone rings for it now (status 'offered'). */
  offeredTo?: string;
  passedBy: Pass[];
  /** When an agent first answered. */
  answeredAt?: Date;
  /** The customer is on hold in the conference, waiting for an agent again (their agent's softphone dropped). */
  customerHeld?: boolean;
  /** The agent who put the customer on hold with the page's Hold (until Resume); unset while not held that way. */
  heldBy?: string;
  /** When the customer was put on hold with Hold. */
  heldSince?: Date;
  /** Outbound: the customer's phone is still ringing (they have not answered yet). */
  customerRinging?: boolean;
  /** How many times the customer went back to the line after their agent dropped. */
  requeued?: number;
  /**
   * When the caller last joined the line: on arrival, or back from an agent (a dropped softphone, a cold transfer).
   * The longest wait counts from here; unset on calls stored before it existed (then from createdAt).
   */
  lineSince?: Date;
  /** The queue the caller chose in the menu (or was sent to): only its agents are offered the call. Unset: no queues. */
  queueId?: string;
  /** The queue's name when the call joined it (the history keeps it, whatever the queue is called later). */
  queueName?: string;
  /** When the call joined its current queue (an overflow counts its wait from here; its place stays its entry time). */
  queueSince?: Date;
  /** The queue it overflowed from, when it did. */
  overflowedFrom?: string;
  /** That queue's name then (calls since this version). */
  overflowedFromName?: string;
  /** The caller's place in line: when they first called (a callback retry keeps it). Unset: createdAt. */
  placeSince?: Date;
  /** The caller was moved out of the conference to hear the callback offer: routing skips the call meanwhile. */
  awayFromLine?: boolean;
  /** When the caller last heard the callback offer. */
  callbackOfferedAt?: Date;
  /** A number the caller typed for their callback, read back to them and not yet confirmed (not kept until they do). */
  callbackTyped?: string;
  /** The caller asked to be called back at `number`: the call keeps its place; this is attempt `attempt`. */
  callback?: { number: string; attempt: number; requestedAt: Date };
  /** A callback's customer leg (the CallSid Twilio gave the call to the customer), once dialled. */
  customerLegSid?: string;
  /** Routing rings nobody for this call before this (the conference has not yet confirmed the customer is still there). */
  routableFrom?: Date;
  /** The agent whose softphone dropped off this call: offered it first until `until`, so a reloaded page gets its customer back. */
  returnTo?: { agentId: string; until: Date };
  /** Consult and cold transfers, each with its own state. */
  transfers: Transfer[];
  /** Supervisors' legs (listen, coach, barge): never agents, never the call's owner (src/contact-center/supervision.ts). */
  supervisors?: SupervisorLeg[];
  /** An agent on the call asked for help (until a supervisor joins or they lower it). */
  help?: HelpRequest;
  /** Holds, unholds and departures as the conference reported them (for the history's timeline). */
  events?: ConferenceEvent[];
  /** Why the call ended, once it has: 'customer-hung-up', 'max-wait', 'abandoned'… */
  endReason?: string;
  /** When every agent had left the customer alone and the app said goodbye to them. */
  abandonedAt?: Date;
  endedAt?: Date;
  /** Bumped by every change: writers update only the revision they read, and retry otherwise. */
  rev: number;
  createdAt: Date;
  updatedAt: Date;
}

/** The call's own fields a transition may set (participants, transfers and the lists change through their own entries). */
export type CallFields = Pick<
  CallRecord,
  'status' | 'queueId' | 'queueName' | 'queueSince' | 'overflowedFrom' | 'overflowedFromName' | 'placeSince' | 'awayFromLine' | 'callbackOfferedAt' | 'callbackTyped' | 'leftConferenceSid' | 'callback' | 'customerLegSid' | 'direction' | 'agentId' | 'conferenceSid' | 'dialError' | 'offeredTo' | 'answeredAt' | 'customerHeld' | 'heldBy' | 'heldSince' | 'customerRinging' | 'requeued' | 'lineSince' | 'routableFrom' | 'returnTo' | 'endReason' | 'abandonedAt' | 'endedAt' | 'help'
>;

/** A change to one call, in the domain's words: the store turns it into one atomic update of the revision it read. */
export interface CallPatch {
  set?: Partial<CallFields>;
  clear?: ReadonlyArray<keyof CallFields>;
  /** Fields of existing participants, by position (each gets updatedAt). */
  participants?: ReadonlyArray<{ index: number; set: Partial<Omit<Participant, 'updatedAt'>> }>;
  addParticipant?: Participant;
  /** Fields of existing transfers, by position (each gets updatedAt). */
  transfers?: ReadonlyArray<{ index: number; set: Partial<Pick<Transfer, 'state' | 'held'>> }>;
  addTransfer?: Transfer;
  addEvent?: ConferenceEvent;
  /** More events, after addEvent, in order (one transition may note several: two coaches switched, a hand lowered). */
  addEvents?: readonly ConferenceEvent[];
  addPass?: Pass;
  /** Fields of existing supervisor legs, by position (each gets updatedAt). */
  supervisors?: ReadonlyArray<{ index: number; set: Partial<Omit<SupervisorLeg, 'updatedAt'>> }>;
  /** Optional fields of existing supervisor legs to remove, by position. */
  unsetSupervisorFields?: ReadonlyArray<{ index: number; keys: ReadonlyArray<'coaching' | 'notice'> }>;
  addSupervisor?: SupervisorLeg;
}

/** Two patches of one transition, as one (the later one wins on the same field). */
export function mergePatches(...patches: ReadonlyArray<CallPatch | undefined>): CallPatch {
  const out: { -readonly [K in keyof CallPatch]: CallPatch[K] } = {};
  for (const p of patches) {
    if (!p) continue;
    if (p.set) out.set = { ...out.set, ...p.set };
    if (p.clear) out.clear = [...(out.clear ?? []), ...p.clear];
    if (p.participants) out.participants = [...(out.participants ?? []), ...p.participants];
    if (p.transfers) out.transfers = [...(out.transfers ?? []), ...p.transfers];
    if (p.addParticipant) out.addParticipant = p.addParticipant;
    if (p.addTransfer) out.addTransfer = p.addTransfer;
    if (p.addEvent) out.addEvent = p.addEvent;
    if (p.addPass) out.addPass = p.addPass;
    if (p.addEvents) out.addEvents = [...(out.addEvents ?? []), ...p.addEvents];
    if (p.supervisors) out.supervisors = [...(out.supervisors ?? []), ...p.supervisors];
    if (p.unsetSupervisorFields) out.unsetSupervisorFields = [...(out.unsetSupervisorFields ?? []), ...p.unsetSupervisorFields];
    if (p.addSupervisor) out.addSupervisor = p.addSupervisor;
  }
  return out;
}

/** Whether a patch changes anything. */
export function isEmptyPatch(patch: CallPatch | undefined): boolean {
  return !patch || Object.values(patch).every((v) => v === undefined || (Array.isArray(v) ? v.length === 0 : typeof v === 'object' && Object.keys(v).length === 0));
}

/** The position of the newest participant of `agentId` that matches `where`, or -1. */
export function newestLeg(call: Pick<CallRecord, 'participants'>, agentId: string, where: (leg: Participant) => boolean = () => true): number {
  for (let i = call.participants.length - 1; i >= 0; i -= 1) if (call.participants[i]!.agentId === agentId && where(call.participants[i]!)) return i;
  return -1;
}

/** The live call `agentId` is on (or else being rung for), or undefined. */
export function callOf<C extends Pick<CallRecord, 'status' | 'participants'>>(live: readonly C[], agentId: string): C | undefined {
  const mine = live.filter((call) => call.status !== 'completed' && call.participants.some((leg) => leg.agentId === agentId && LIVE_LEG_STATUSES.includes(leg.status)));
  return mine.find((call) => call.participants.some((leg) => leg.agentId === agentId && leg.status === 'in-progress')) ?? mine[0];
}

/** Whether `agentId` is talking on the call (their newest leg is in the conference). */
export function isTalking(call: Pick<CallRecord, 'participants'>, agentId: string): boolean {
  return call.participants.some((leg) => leg.agentId === agentId && leg.status === 'in-progress');
}

/** The transfer a participant was rung for, if any. */
export function transferOf(call: Pick<CallRecord, 'transfers'>, leg: Participant): Transfer | undefined {
  return leg.transferId ? (call.transfers ?? []).find((t) => t.id === leg.transferId) : undefined;
}

/** The position of transfer `id`, or -1. */
export function transferIndex(call: Pick<CallRecord, 'transfers'>, id: string): number {
  return (call.transfers ?? []).findIndex((t) => t.id === id);
}

/**
 * When the caller last joined the line: the longest wait counts from here, so a caller who has talked with an agent
 * and goes back in line (a dropped softphone, a cold transfer) waits afresh.
 */
export function lineSinceOf(call: Pick<CallRecord, 'createdAt' | 'lineSince'>): Date {
  return new Date(call.lineSince ?? call.createdAt);
}

/** The caller's place in line: their first call's time (kept by a callback retry), else the record's creation. */
export function placeOf(call: Pick<CallRecord, 'createdAt' | 'placeSince'>): Date {
  return new Date(call.placeSince ?? call.createdAt);
}

/** Whether the call has been decided over (finished, or told goodbye). */
export function isOver(call: Pick<CallRecord, 'status' | 'endReason'>): boolean {
  return call.status === 'completed' || Boolean(call.endReason);
}
