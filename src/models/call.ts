// A customer call: the conference it waits in, who owns it, and how it ended.
import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

export const CALL_STATUSES = ['waiting', 'in-progress', 'completed'] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];

const callSchema = new Schema(
  {
    /** The customer's CallSid: the key Twilio gives us, also the conference's name. */
    callSid: { type: String, required: true, unique: true },
    conferenceName: { type: String, required: true },
    conferenceSid: { type: String },
    /** The caller's number as Twilio sent it (shown to agents; never logged in full). */
    from: { type: String },
    status: { type: String, enum: CALL_STATUSES, required: true, default: 'waiting' },
    /** The agent who currently owns the call: the first agent, then whoever it was transferred to. */
    agentId: { type: String },
    /** The last dialling failure, for the agents' pages and the history. */
    dialError: { type: String },
    endedAt: { type: Date },
  },
  { timestamps: true },
);
callSchema.index({ status: 1, createdAt: -1 });

export type CallRecord = InferSchemaType<typeof callSchema> & { createdAt: Date; updatedAt: Date };
export type CallModel = Model<CallRecord>;

/** Registers the Call model on a connection (each app or test gets its own connection). */
export function callModel(connection: Connection): CallModel {
  return (connection.models.Call as CallModel | undefined) ?? (connection.model('Call', callSchema) as unknown as CallModel);
}
