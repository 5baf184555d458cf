// Consult transfers, as their own records with explicit states. Pure: a transition takes the transfer (and what
// happened) and answers the new state and what the voice side must do; no I/O, unit-tested on its own.
//
//   dialing ──answered──▶ consulting ──complete──▶ completed   (customer off hold, the first agent leaves)
//      │                      ├────────merge────▶ merged      (customer off hold, three-way)
//      │                      └────────cancel───▶ canceled    (colleague's leg ends, customer off hold)
//      ├──cancel──▶ canceled
//      └──declined / no answer / failed──▶ declined | no-answer | failed   (customer off hold by itself)

export const TRANSFER_STATES = ['dialing', 'consulting', 'completed', 'merged', 'canceled', 'declined', 'no-answer', 'failed'] as const;
export type TransferState = (typeof TRANSFER_STATES)[number];

export interface Transfer {
  id: string;
  /** The agent who transfers. */
  from: string;
  /** The colleague consulted. */
  to: string;
  /** consult: the first agent stays until they decide; cold: they leave at once and the call is offered to `to`. */
  mode: 'consult' | 'cold';
  state: TransferState;
  /** What the transferring agent typed for the colleague. */
  note?: string;
  at: Date;
  updatedAt: Date;
}

/** What the voice side must do after a transition. */
export interface TransferEffects {
  /** Take the customer off hold. */
  unholdCustomer?: boolean;
  /** End the colleague's leg. */
  hangUpColleague?: boolean;
  /** End the transferring agent's leg (on purpose). */
  hangUpTransferrer?: boolean;
}

export class TransferRuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransferRuleError';
  }
}

const OPEN: readonly TransferState[] = ['dialing', 'consulting'];

/** The transfer still under way on a call, if any (one at a time). */
export function openTransfer(transfers: readonly Transfer[]): Transfer | undefined {
  return transfers.find((t) => OPEN.includes(t.state));
}

/** A new consult from `from` to `to`: refused while another is open, or to oneself. */
export function startConsult(transfers: readonly Transfer[], input: { id: string; from: string; to: string; note?: string; now: Date }): Transfer {
  if (input.from === input.to) throw new TransferRuleError('You cannot consult yourself.');
  const open = openTransfer(transfers);
  if (open) throw new TransferRuleError('A transfer is already under way on this call: complete or cancel it first.');
  const note = input.note?.trim();
  return { id: input.id, from: input.from, to: input.to, mode: 'consult', state: 'dialing', ...(note ? { note } : {}), at: input.now, updatedAt: input.now };
}

/**
 * A cold transfer from `from` to the agent `to` (or to 'queue', back to the waiting line): the first agent leaves at
 * once, the customer waits on hold; if `to` does not answer, routing offers the call to the next available agent.
 */
export function startCold(transfers: readonly Transfer[], input: { id: string; from: string; to: string; note?: string; now: Date }): Transfer {
  if (input.from === input.to) throw new TransferRuleError('You cannot transfer a call to yourself.');
  if (openTransfer(transfers)) throw new TransferRuleError('A transfer is already under way on this call: complete or cancel it first.');
  const note = input.note?.trim();
  return { id: input.id, from: input.from, to: input.to, mode: 'cold', state: input.to === 'queue' ? 'completed' : 'dialing', ...(note ? { note } : {}), at: input.now, updatedAt: input.now };
}

/** The colleague's phone reported `legStatus` (the leg's own status: in-progress, busy, no-answer, failed, canceled...). */
export function colleagueLegChanged(transfer: Transfer, legStatus: string): { state: TransferState; effects: TransferEffects } | undefined {
  if (transfer.mode === 'cold') {
    // The customer is routing's now: answered completes the transfer; a miss sends the call on to the next agent.
    if (transfer.state !== 'dialing') return undefined;
    const cold: Record<string, TransferState> = { 'in-progress': 'completed', busy: 'declined', 'no-answer': 'no-answer', failed: 'failed', 'dial-failed': 'failed', canceled: 'canceled' };
    return cold[legStatus] ? { state: cold[legStatus]!, effects: {} } : undefined;
  }
  if (transfer.state === 'dialing' && legStatus === 'in-progress') return { state: 'consulting', effects: {} };
  if (transfer.state !== 'dialing' && transfer.state !== 'consulting') return undefined;
  const ended: Record<string, TransferState> = { busy: 'declined', 'no-answer': 'no-answer', failed: 'failed', 'dial-failed': 'failed', canceled: 'canceled', completed: 'canceled' };
  const state = ended[legStatus];
  // The colleague never came, or left during the consult: the customer comes back to the transferring agent.
  return state ? { state, effects: { unholdCustomer: true } } : undefined;
}

/** The transferring agent acts on the open consult. */
export function decide(transfer: Transfer, action: 'complete' | 'merge' | 'cancel', byAgentId: string): { state: TransferState; effects: TransferEffects } {
  if (transfer.mode !== 'consult') throw new TransferRuleError('A cold transfer has left your hands.');
  if (byAgentId !== transfer.from) throw new TransferRuleError('Only the agent who started this transfer can do that.');
  if (action === 'cancel') {
    if (!OPEN.includes(transfer.state)) throw new TransferRuleError('There is no transfer under way to cancel.');
    return { state: 'canceled', effects: { hangUpColleague: true, unholdCustomer: true } };
  }
  if (transfer.state !== 'consulting') throw new TransferRuleError(transfer.state === 'dialing' ? 'Your colleague has not answered yet.' : 'There is no consult under way.');
  return action === 'complete'
    ? { state: 'completed', effects: { unholdCustomer: true, hangUpTransferrer: true } }
    : { state: 'merged', effects: { unholdCustomer: true } };
}
