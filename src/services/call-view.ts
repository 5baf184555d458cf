// What pages see of a live call: the call without the SIDs and bookkeeping they have no use for.
import type { CallRecord } from '../contact-center/call';
import { agentLabel, type Participant } from '../contact-center/participants';
import type { Transfer } from '../contact-center/transfer';

export interface CallView {
  callSid: string;
  conferenceName: string;
  status: CallRecord['status'];
  /** The caller's number as Twilio gave it (shown to agents only). */
  from?: string;
  agentId?: string;
  offeredTo?: string;
  dialError?: string;
  createdAt: Date;
  answeredAt?: Date;
  endedAt?: Date;
  participants: Array<Omit<Participant, 'legCallSid' | 'dialledSid' | 'createdAt'> & { label: string }>;
  transfers: Transfer[];
  /** The agent whose softphone dropped off the call, offered it first until `until`. */
  returnTo?: { agentId: string; until: Date };
}


/** What the page sees of a call. */
export function view(call: CallRecord): CallView {
  return {
    callSid: call._id,
    conferenceName: call.conferenceName,
    status: call.status,
    from: call.from,
    agentId: call.agentId,
    offeredTo: call.offeredTo,
    dialError: call.dialError,
    createdAt: call.createdAt,
    answeredAt: call.answeredAt,
    endedAt: call.endedAt,
    participants: call.participants.map(({ agentId, role, status, requestedBy, error, updatedAt, transferId, held }) => ({ agentId, label: agentLabel(agentId), role, status, ...(held ? { held } : {}), requestedBy, error, updatedAt, ...(transferId ? { transferId } : {}) })),
    transfers: call.transfers ?? [],
    ...(call.returnTo ? { returnTo: call.returnTo } : {}),
  };
}

export function oldestFirst(calls: CallRecord[]): CallRecord[] {
  return [...calls].sort((a, b) => new Date(a.createdAt).getTime() - new Date(b.createdAt).getTime());
}
