// An agent's leg of a customer call: one document per agent dialled in, so any number of agents can take part.
import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

export const LEG_STATUSES = ['dialing', 'ringing', 'in-progress', 'completed', 'dial-failed', 'no-answer', 'busy', 'failed', 'canceled'] as const;
export type LegStatus = (typeof LEG_STATUSES)[number];
/** Statuses in which the agent is part of the call, or about to be. */
export const LIVE_LEG_STATUSES: readonly LegStatus[] = ['dialing', 'ringing', 'in-progress'];
/** Statuses in which the agent's phone is ringing or about to. */
export const PENDING_LEG_STATUSES: readonly LegStatus[] = ['dialing', 'ringing'];

const legSchema = new Schema(
  {
    /** The customer's CallSid (= the conference name) this leg belongs to. */
    conference: { type: String, required: true },
    agentId: { type: String, required: true },
    /** 'first': the agent who took the call; 'transfer': an agent brought in by another. */
    role: { type: String, enum: ['first', 'transfer'], required: true },
    requestedBy: { type: String },
    /** Twilio's SID of the agent's own call, once the REST API has answered. */
    legCallSid: { type: String },
    status: { type: String, enum: LEG_STATUSES, required: true, default: 'dialing' },
    error: { type: String },
  },
  { timestamps: true },
);
legSchema.index({ conference: 1, agentId: 1 });
legSchema.index({ agentId: 1, status: 1 });
legSchema.index({ legCallSid: 1 });

export type LegRecord = InferSchemaType<typeof legSchema> & { createdAt: Date; updatedAt: Date };
export type LegModel = Model<LegRecord>;

/** Registers the Leg model on a connection. */
export function legModel(connection: Connection): LegModel {
  return (connection.models.Leg as LegModel | undefined) ?? (connection.model('Leg', legSchema) as unknown as LegModel);
}
