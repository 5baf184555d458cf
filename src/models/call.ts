// How a live customer call is stored (the aggregate itself, CallRecord, is the domain's: src/contact-center/call.ts).
// Keyed by the customer's CallSid as _id: every webhook finds its call by primary key (FerretDB's SQLite backend
// pushes only _id lookups down to an index), and a repeated webhook is a duplicate-key insert.
import { Schema, type Connection, type Model } from 'mongoose';
import { CALL_STATUSES, CONFERENCE_EVENT_KINDS, type CallRecord } from '../contact-center/call';
import { LEG_STATUSES, PARTICIPANT_ROLES, type Participant } from '../contact-center/participants';
import { SUPERVISOR_LEG_STATUSES, SUPERVISOR_MODES } from '../contact-center/supervision';
import { TRANSFER_STATES } from '../contact-center/transfer';

export type { CallRecord, CallStatus, ConferenceEvent } from '../contact-center/call';
export type { Participant, ParticipantRole } from '../contact-center/participants';

const participantSchema = new Schema<Participant>(
  {
    agentId: { type: String, required: true },
    role: { type: String, enum: PARTICIPANT_ROLES, required: true },
    requestedBy: { type: String },
    legCallSid: { type: String },
    dialledSid: { type: String },
    joinedConferenceSid: { type: String },
    status: { type: String, enum: LEG_STATUSES, required: true },
    hungUp: { type: Boolean },
    held: { type: Boolean },
    muted: { type: Boolean },
    transferId: { type: String },
    answeredAt: { type: Date },
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
    leftConferenceSid: { type: String },
    from: { type: String },
    status: { type: String, enum: CALL_STATUSES, required: true },
    agentId: { type: String },
    participants: { type: [participantSchema], default: [] },
    dialError: { type: String },
    offeredTo: { type: String },
    passedBy: { type: [{ _id: false, agentId: String, at: Date, outcome: String }], default: [] },
    answeredAt: { type: Date },
    customerHeld: { type: Boolean },
    direction: { type: String, enum: ['inbound', 'outbound'] },
    heldBy: { type: String },
    heldSince: { type: Date },
    customerRinging: { type: Boolean },
    requeued: { type: Number },
    lineSince: { type: Date },
    routableFrom: { type: Date },
    queueId: { type: String },
    queueName: { type: String },
    queueSince: { type: Date },
    overflowedFrom: { type: String },
    overflowedFromName: { type: String },
    placeSince: { type: Date },
    awayFromLine: { type: Boolean },
    callbackOfferedAt: { type: Date },
    callbackTyped: { type: String },
    callback: { type: { _id: false, number: String, attempt: Number, requestedAt: Date } },
    customerLegSid: { type: String },
    returnTo: { type: { _id: false, agentId: String, until: Date } },
    transfers: {
      type: [{ _id: false, id: String, from: String, to: String, mode: { type: String, enum: ['consult', 'cold'] }, state: { type: String, enum: TRANSFER_STATES }, held: { type: String, enum: ['customer', 'colleague'] }, note: String, at: Date, updatedAt: Date }],
      default: [],
    },
    events: {
      type: [{ _id: false, at: Date, kind: { type: String, enum: CONFERENCE_EVENT_KINDS }, label: String, callSid: String, reason: String, callStatus: String, endedBy: String, mode: String, coached: String }],
      default: [],
    },
    supervisors: {
      type: [{ _id: false, supervisorId: String, mode: { type: String, enum: SUPERVISOR_MODES }, coaching: String, status: { type: String, enum: SUPERVISOR_LEG_STATUSES }, legCallSid: String, notice: String, createdAt: Date, updatedAt: Date }],
      default: undefined,
    },
    help: { type: { _id: false, agentId: String, note: String, at: Date } },
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
