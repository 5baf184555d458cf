// What pages see of a live call: the call without the SIDs and bookkeeping they have no use for.
import { placeOf, type CallRecord } from '../contact-center/call';
import { agentLabel, type Participant } from '../contact-center/participants';
import { liveSupervisors, type HelpRequest, type SupervisorLeg } from '../contact-center/supervision';
import { openTransfer, type Transfer } from '../contact-center/transfer';

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
  /** The caller's place in line: when they first called (a callback's later attempts keep it), else `createdAt`. */
  placeSince: Date;
  answeredAt?: Date;
  endedAt?: Date;
  participants: Array<Omit<Participant, 'legCallSid' | 'dialledSid' | 'joinedConferenceSid' | 'createdAt'> & { label: string }>;
  transfers: Transfer[];
  /** The agent whose softphone dropped off the call, offered it first until `until`. */
  returnTo?: { agentId: string; until: Date };
  /** 'outbound' when an agent called the customer. */
  direction: NonNullable<CallRecord['direction']>;
  /** The conference has started (its participants can be held). */
  conferenceStarted: boolean;
  /** The customer waits on hold: put there with Hold (`heldBy`), by a transfer, or back in line after their agent dropped. */
  customerOnHold: boolean;
  /** The agent who pressed Hold, and since when. */
  heldBy?: string;
  heldSince?: Date;
  /** Outbound: the customer's phone still rings. */
  customerRinging?: boolean;
  /** Supervisors ringing or on the call (listen, coach, barge): shown to its agents, as the README's policy says. */
  supervisors: Array<Pick<SupervisorLeg, 'supervisorId' | 'mode' | 'coaching' | 'status' | 'notice'>>;
  /** An agent on the call asked for help. */
  help?: HelpRequest;
  /** A callback the caller asked for: the number the app calls (once the agent answers) and which attempt this is. */
  callback?: { number: string; attempt: number };
  /** The caller's queue. */
  queue?: string;
  /** When the caller last joined the line (after an agent had answered, it is when they went back to it). */
  lineSince?: Date;
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
    placeSince: placeOf(call),
    answeredAt: call.answeredAt,
    endedAt: call.endedAt,
    participants: call.participants.map(({ agentId, role, status, requestedBy, error, updatedAt, transferId, held, muted, answeredAt }) => ({ agentId, label: agentLabel(agentId), role, status, ...(held ? { held } : {}), ...(muted ? { muted } : {}), requestedBy, error, updatedAt, ...(transferId ? { transferId } : {}), ...(answeredAt ? { answeredAt } : {}) })),
    transfers: call.transfers ?? [],
    ...(call.returnTo ? { returnTo: call.returnTo } : {}),
    direction: call.direction ?? 'inbound',
    conferenceStarted: Boolean(call.conferenceSid),
    customerOnHold: Boolean(call.heldBy || call.customerHeld || customerHeldByTransfer(call.transfers ?? [])),
    ...(call.heldBy ? { heldBy: call.heldBy, heldSince: call.heldSince } : {}),
    ...(call.customerRinging ? { customerRinging: true } : {}),
    supervisors: liveSupervisors(call).map(({ supervisorId, mode, coaching, status, notice }) => ({ supervisorId, mode, status, ...(coaching ? { coaching } : {}), ...(notice ? { notice } : {}) })),
    ...(call.help ? { help: call.help } : {}),
    ...(call.callback ? { callback: { number: call.callback.number, attempt: call.callback.attempt } } : {}),
    ...(call.queueName ? { queue: call.queueName } : {}),
    ...(call.lineSince ? { lineSince: call.lineSince } : {}),
  };
}

/** An open transfer keeps the customer on hold: a cold one throughout, a consult unless it was toggled to the customer. */
function customerHeldByTransfer(transfers: readonly Transfer[]): boolean {
  const open = openTransfer(transfers);
  return Boolean(open && (open.mode === 'cold' || open.held !== 'colleague'));
}

/** Calls by their place in line (the order routing serves them in), the oldest first. */
export function oldestFirst(calls: CallRecord[]): CallRecord[] {
  return [...calls].sort((a, b) => placeOf(a).getTime() - placeOf(b).getTime());
}
