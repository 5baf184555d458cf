// An agent's account: who they are (id = their Twilio client identity), how they sign in, and what they may do.
// Keyed by the agent id as _id: a unique _id insert is the one write FerretDB 1.x makes exclusive, so two admins
// (or two app instances seeding demo agents) can never create the same agent twice.
import { Schema, type Connection, type Model } from 'mongoose';

export const AGENT_ROLES = ['agent', 'supervisor', 'admin'] as const;
export type AgentRole = (typeof AGENT_ROLES)[number];

/** Agent ids become Twilio client identities (`client:<id>`): letters, digits, `_` and `-` only. */
export const AGENT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Sign-in names: stored lower-case; letters, digits and `.`, `_`, `-`, `@`. */
export const SIGN_IN_NAME_PATTERN = /^[a-z0-9][a-z0-9._@-]{0,63}$/;

export interface AgentRecord {
  /** The agent id: stable, used in call legs and as the Twilio client identity. */
  _id: string;
  /** Display name. */
  name: string;
  /** Sign-in name, lower-case, unique. */
  login: string;
  /** `scrypt$…` (see services/passwords.ts); absent: the account cannot sign in with a password (demo agents). */
  passwordHash?: string;
  role: AgentRole;
  disabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

const agentSchema = new Schema<AgentRecord>(
  {
    _id: { type: String, required: true, match: AGENT_ID_PATTERN },
    name: { type: String, required: true, trim: true, minlength: 1, maxlength: 100 },
    login: { type: String, required: true, lowercase: true, trim: true, match: SIGN_IN_NAME_PATTERN },
    passwordHash: { type: String },
    role: { type: String, enum: AGENT_ROLES, required: true, default: 'agent' },
    disabled: { type: Boolean, required: true, default: false },
  },
  { timestamps: true, versionKey: false },
);
agentSchema.index({ login: 1 }, { unique: true });

export type AgentModel = Model<AgentRecord>;

/** Twilio mode's accounts. */
export const AGENTS_COLLECTION = 'agents';

/**
 * Registers the Agent model on a connection (each app or test gets its own connection), over `collection`: Twilio
 * mode's accounts by default; demo mode keeps its own (see auth/demo.ts).
 */
export function agentModel(connection: Connection, collection: string = AGENTS_COLLECTION): AgentModel {
  const name = collection === AGENTS_COLLECTION ? 'Agent' : `Agent:${collection}`;
  return (connection.models[name] as AgentModel | undefined) ?? connection.model<AgentRecord>(name, agentSchema, collection);
}
