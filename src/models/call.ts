// A live customer call: its conference, its participants (the agents dialled into it, one call leg each — the
// customer is the call itself), its transfers, who owns it, who passed on it.
// Keyed by the customer's CallSid as _id: every webhook finds its call by primary key (FerretDB's SQLite backend
// pushes only _id lookups down to an index), and a repeated webhook is a duplicate-key insert.
import { Schema, type Connection, type Model } from 'mongoose';
import { LEG_STATUSES, PARTICIPANT_ROLES, type Participant } from '../contact-center/participants';
import { TRANSFER_STATES, type Transfer } from '../contact-center/transfer';

/** waiting: in the line; offered: an agent's phone rings for it; in-progress: an agent took it; completed: over. */
export const CALL_STATUSES = ['waiting', 'offered', 'in-progress', 'completed'] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];
export type { Participant, ParticipantRole } from '../contact-center/participants';

/**
 * What the conference reported about its participants, in order: holds, unholds, who left and why, and how the
 * conference ended (Twilio's `ReasonParticipantLeft`, `ParticipantCallStatus`, `ReasonConferenceEnded`).
 */
export interface ConferenceEvent {
  at: Date;
  kind: 'hold' | 'unhold' | 'left' | 'conference-ended';
  /** 'customer' or 'agent:<id>'. */
  label?: string;
  /** The participant's CallSid (for leaving: which of an agent's legs). */
  callSid?: string;
  reason?: string;
  /** ParticipantCallStatus on leaving. */
  callStatus?: string;
}

export interface CallRecord {
  /** The customer's CallSid: the key Twilio gives us, and the conference's name. */
  _id: string;
  conferenceName: string;
  conferenceSid?: string;
  /** The caller's number as Twilio sent it (shown to agents; never logged in full). */
  from?: string;
  status: CallStatus;
  /** The agent who owns the call: the first agent, then whoever it was transferred to. */
  agentId?: string;
  participants: Participant[];
  /** The last dialling failure, for the agents' pages and the history. */
  dialError?: string;
  /** The agent whose phone rings for it now (status 'offered'). */
  offeredTo?: string;
  /** Agents who declined or missed it, and when: routing offers it to others first. */
  passedBy: Array<{ agentId: string; at: Date; outcome: string }>;
  /** When an agent first answered. */
  answeredAt?: Date;
  /** The customer is on hold in the conference, waiting for an agent again (their agent's softphone dropped). */
  customerHeld?: boolean;
  /** How many times the customer went back to the line after their agent dropped. */
  requeued?: number;
  /**
   * When the caller last joined the line: on arrival, or back from an agent (a dropped softphone, a cold transfer).
   * The longest wait counts from here; unset on calls stored before it existed (then from createdAt).
   */
  lineSince?: Date;
  /** Routing rings nobody for this call before this (the conference has not yet confirmed the customer is still there). */
  routableFrom?: Date;
  /** The agent whose softphone dropped off this call: offered it first until `until`, so a reloaded page gets its customer back. */
  returnTo?: { agentId: string; until: Date };
  /** Consult transfers, each with its own state. */
  transfers: Transfer[];
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

const participantSchema = new Schema<Participant>(
  {
    agentId: { type: String, required: true },
    role: { type: String, enum: PARTICIPANT_ROLES, required: true },
    requestedBy: { type: String },
    legCallSid: { type: String },
    dialledSid: { type: String },
    status: { type: String, enum: LEG_STATUSES, required: true },
    hungUp: { type: Boolean },
    held: { type: Boolean },
    transferId: { type: String },
    error: { type: String },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { _id: false },
);

const callSchema = new Schema<CallRecord>(
  {
    _id: { type: String, required: true },
    conferenceName: { type: String, required: true },
    conferenceSid: { type: String },
    from: { type: String },
    status: { type: String, enum: CALL_STATUSES, required: true },
    agentId: { type: String },
    participants: { type: [participantSchema], default: [] },
    dialError: { type: String },
    offeredTo: { type: String },
    passedBy: { type: [{ _id: false, agentId: String, at: Date, outcome: String }], default: [] },
    answeredAt: { type: Date },
    customerHeld: { type: Boolean },
    requeued: { type: Number },
    lineSince: { type: Date },
    routableFrom: { type: Date },
    returnTo: { type: { _id: false, agentId: String, until: Date } },
    transfers: {
      type: [{ _id: false, id: String, from: String, to: String, mode: { type: String, enum: ['consult', 'cold'] }, state: { type: String, enum: TRANSFER_STATES }, held: { type: String, enum: ['customer', 'colleague'] }, note: String, at: Date, updatedAt: Date }],
      default: [],
    },
    events: {
      type: [{ _id: false, at: Date, kind: { type: String, enum: ['hold', 'unhold', 'left', 'conference-ended'] }, label: String, callSid: String, reason: String, callStatus: String }],
      default: [],
    },
    endReason: { type: String },
    abandonedAt: { type: Date },
    endedAt: { type: Date },
    rev: { type: Number, required: true, default: 0 },
  },
  { timestamps: true, versionKey: false },
);
// Only live calls are stored here (finished ones move to the history), so every query is a scan of a few hundred
// documents at most on FerretDB; on MongoDB the collection is just as small. No secondary index is needed.

export type CallModel = Model<CallRecord>;

/** Registers the Call model on a connection (each app or test gets its own connection). */
export function callModel(connection: Connection): CallModel {
  return (connection.models.Call as CallModel | undefined) ?? connection.model<CallRecord>('Call', callSchema);
}
