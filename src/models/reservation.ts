// Reservations: who is offered, talking or wrapping up on which call. Each agent and each waiting call has at most one,
// because a reservation is a document with a unique _id ('agent:<id>', 'call:<CallSid>') and an insert of a taken _id
// fails on every MongoDB-compatible server — the one write FerretDB 1.x makes exclusive across processes.
import { isDuplicateKey } from '../errors';
import { randomUUID } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';
import type { ReservationState } from '../contact-center/presence';
import { sharedRead } from './shared-read';

export interface ReservationRecord {
  /** 'agent:<agentId>' (the agent is taken) or 'call:<CallSid>' (the waiting call is being offered). */
  _id: string;
  agentId: string;
  callSid: string;
  state: ReservationState;
  since: Date;
  /** Wrap-up: when the agent is free again. */
  until?: Date;
  /** Who made it, so a release never removes a newer reservation of the same agent. */
  token: string;
}

const reservationSchema = new Schema<ReservationRecord>(
  {
    _id: { type: String, required: true },
    agentId: { type: String, required: true },
    callSid: { type: String, required: true },
    state: { type: String, enum: ['offered', 'on-call', 'wrap-up'], required: true },
    since: { type: Date, required: true },
    until: { type: Date },
    token: { type: String, required: true },
  },
  { versionKey: false },
);

export type ReservationModel = Model<ReservationRecord>;

export function reservationModel(connection: Connection): ReservationModel {
  return (connection.models.Reservation as ReservationModel | undefined) ?? connection.model<ReservationRecord>('Reservation', reservationSchema, 'reservations');
}

const agentKey = (agentId: string): string => `agent:${agentId}`;
const callKey = (callSid: string): string => `call:${callSid}`;

export { isDuplicateKey };

/** The reservations' named queries and writes. */
export function createReservationStore(model: ReservationModel, run: <T>(op: () => Promise<T>) => Promise<T>) {
  // Every page reads them (through presence) on every change: callers at the same moment share one scan.
  const all = sharedRead(() => run(() => model.find({}).lean<ReservationRecord[]>().exec()));
  async function insert(doc: ReservationRecord): Promise<boolean> {
    try {
      await run(() => model.create(doc));
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  return {
    /** Takes the agent for an offer of `callSid`, and the call for the agent; false when either is taken. */
    async claimOffer(agentId: string, callSid: string): Promise<boolean> {
      const now = new Date();
      const token = randomUUID();
      if (!(await insert({ _id: agentKey(agentId), agentId, callSid, state: 'offered', since: now, token }))) return false;
      try {
        if (await insert({ _id: callKey(callSid), agentId, callSid, state: 'offered', since: now, token })) return true;
      } catch (err) {
        await run(() => model.deleteOne({ _id: agentKey(agentId), token }).exec()).catch(() => undefined);
        throw err;
      }
      await run(() => model.deleteOne({ _id: agentKey(agentId), token }).exec());
      return false;
    },

    /** Takes the agent (a colleague brought into a call); false when they are taken. */
    claimAgent(agentId: string, callSid: string, state: ReservationState): Promise<boolean> {
      return insert({ _id: agentKey(agentId), agentId, callSid, state, since: new Date(), token: randomUUID() });
    },

    /** The call is no longer being offered (answered, or the offer ended). */
    async releaseCall(callSid: string): Promise<void> {
      await run(() => model.deleteOne({ _id: callKey(callSid) }).exec());
    },

    /** The agent's reservation for `callSid` moves on (on a call, wrapping up until `until`). */
    async moveAgent(agentId: string, callSid: string, state: ReservationState, until?: Date): Promise<void> {
      await run(() => model.updateOne({ _id: agentKey(agentId), callSid }, { $set: { state, since: new Date(), ...(until ? { until } : {}) } }).exec());
    },

    /** The agent's reservation taken for a call not yet placed (`from`) now names the placed call `to`. */
    async renameCall(agentId: string, from: string, to: string): Promise<void> {
      await run(() => model.updateOne({ _id: agentKey(agentId), callSid: from }, { $set: { callSid: to } }).exec());
    },

    /** Frees the agent, if their reservation is still for `callSid`. */
    async releaseAgent(agentId: string, callSid: string): Promise<void> {
      await run(() => model.deleteOne({ _id: agentKey(agentId), callSid }).exec());
    },

    /** Every reservation (a handful: one per busy agent and per call being offered). */
    all(): Promise<ReservationRecord[]> {
      return all();
    },
  };
}

export type ReservationStore = ReturnType<typeof createReservationStore>;
