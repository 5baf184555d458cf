// Consult transfers, as their own records with explicit states. Pure: a transition takes the transfer (and what
// happened) and answers the new state and what the voice side must do; no I/O, unit-tested on its own.
//
//   dialing ──answered──▶ consulting ──complete──▶ completed   (customer off hold, the first agent leaves)
//      │                    │ ▲   ├────────merge────▶ merged      (customer off hold, three-way)
//      │              toggle└─┘   └────────cancel───▶ canceled    (colleague's leg ends, customer off hold)
//      │   (talk to the customer while the colleague holds, and back)
//      ├──cancel──▶ canceled
//      └──declined / no answer / failed──▶ declined | no-answer | failed   (customer off hold by itself)

import { TransferRefusedError } from './errors';

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
  /** During a consult, who waits on hold while the transferring agent talks with the other (customer unless toggled). */
  held?: 'customer' | 'colleague';
  at: Date;
  updatedAt: Date;
}

/** What the voice side must do after a transition. */
export interface TransferEffects {
  /** Take the customer off hold. */
  unholdCustomer?: boolean;
  /** Put the customer on hold (toggle back to the colleague). */
  holdCustomer?: boolean;
  /** Put the colleague on hold (toggle to the customer). */
  holdColleague?: boolean;
  /** Take the colleague off hold. */
  unholdColleague?: boolean;
  /** End the colleague's leg. */
  hangUpColleague?: boolean;
  /** End the transferring agent's leg (on purpose). */
  hangUpTransferrer?: boolean;
}

/** A transfer rule refused the action (a 409 for the agent who asked). */
export class TransferRuleError extends TransferRefusedError {}

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

/**
 * The colleague's phone reported `legStatus` (the leg's own status: in-progress, busy, no-answer, failed, canceled...).
 * `transferrerThere` is false once the transferring agent's own leg has ended: a colleague who answers then simply
 * takes the customer.
 */
export function colleagueLegChanged(transfer: Transfer, legStatus: string, transferrerThere = true): { state: TransferState; effects: TransferEffects } | undefined {
  if (transfer.mode === 'cold') {
    // The customer is routing's now: answered completes the transfer; a miss sends the call on to the next agent.
    if (transfer.state !== 'dialing') return undefined;
    const cold: Record<string, TransferState> = { 'in-progress': 'completed', busy: 'declined', 'no-answer': 'no-answer', failed: 'failed', 'dial-failed': 'failed', canceled: 'canceled' };
    return cold[legStatus] ? { state: cold[legStatus]!, effects: {} } : undefined;
  }
  if (transfer.state === 'dialing' && legStatus === 'in-progress') return transferrerThere ? { state: 'consulting', effects: {} } : { state: 'completed', effects: { unholdCustomer: true } };
  if (transfer.state !== 'dialing' && transfer.state !== 'consulting') return undefined;
  // A ring called off that the transferring agent did not cancel (their Cancel settles the transfer first): the
  // colleague's page went away as it rang, so they could not be reached.
  const ended: Record<string, TransferState> = { busy: 'declined', 'no-answer': 'no-answer', failed: 'failed', 'dial-failed': 'failed', canceled: 'failed', completed: 'canceled' };
  const state = ended[legStatus];
  // The colleague never came, or left during the consult: the customer comes back to the transferring agent.
  return state ? { state, effects: { unholdCustomer: true } } : undefined;
}

export type TransferAction = 'complete' | 'merge' | 'cancel' | 'toggle';
export const TRANSFER_ACTIONS: readonly TransferAction[] = ['complete', 'merge', 'cancel', 'toggle'];

/** The transferring agent acts on the open consult. */
export function decide(transfer: Transfer, action: TransferAction, byAgentId: string): { state: TransferState; held?: Transfer['held']; effects: TransferEffects } {
  if (transfer.mode !== 'consult') throw new TransferRuleError('A cold transfer has left your hands.');
  if (byAgentId !== transfer.from) throw new TransferRuleError('Only the agent who started this transfer can do that.');
  const colleagueHeld = transfer.held === 'colleague';
  if (action === 'cancel') {
    if (!OPEN.includes(transfer.state)) throw new TransferRuleError('There is no transfer under way to cancel.');
    return { state: 'canceled', effects: { hangUpColleague: true, unholdCustomer: true } };
  }
  if (transfer.state !== 'consulting') throw new TransferRuleError(transfer.state === 'dialing' ? 'Your colleague has not answered yet.' : 'There is no consult under way.');
  if (action === 'toggle') {
    // One side at a time: whoever was held comes back, the other waits with music.
    return colleagueHeld
      ? { state: 'consulting', held: 'customer', effects: { holdCustomer: true, unholdColleague: true } }
      : { state: 'consulting', held: 'colleague', effects: { holdColleague: true, unholdCustomer: true } };
  }
  const unholdBoth: TransferEffects = { unholdCustomer: true, ...(colleagueHeld ? { unholdColleague: true } : {}) };
  return action === 'complete' ? { state: 'completed', effects: { ...unholdBoth, hangUpTransferrer: true } } : { state: 'merged', effects: unholdBoth };
}

/**
 * The transferring agent's own leg ended while the transfer was open (their tab closed, or they hung up): the
 * customer must not stay on hold for nobody. A consult under way becomes a completed transfer (both sides off hold:
 * the colleague has the customer); one still ringing the colleague stays open, and the colleague answering completes it.
 */
export function transferrerLeft(transfer: Transfer): { state: TransferState; effects: TransferEffects } | undefined {
  if (transfer.mode !== 'consult') return undefined;
  if (transfer.state === 'consulting') return { state: 'completed', effects: { unholdCustomer: true, ...(transfer.held === 'colleague' ? { unholdColleague: true } : {}) } };
  return undefined;
}
