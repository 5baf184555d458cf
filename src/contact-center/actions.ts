// What an agent may do on their call now, decided once here so the page only renders it (a button the server would
// refuse is never offered). Pure: the call's participants and transfers in, a set of allowed actions out.
import { openTransfer, type Transfer } from './transfer';
import type { Participant } from './participants';
import type { Presence } from './presence';

export interface CallActions {
  /** End their own leg on purpose (the page's Hang up). */
  hangUp: boolean;
  /** Consult a colleague, transfer cold to one, or bring one in (each also needs a colleague who can take it). */
  consult: boolean;
  coldTransfer: boolean;
  bringIn: boolean;
  /** Send the customer back to the front of the waiting line. */
  toQueue: boolean;
  /** The open consult's outcomes, for the agent who started it. */
  complete: boolean;
  merge: boolean;
  toggle: boolean;
  cancel: boolean;
  /** Put the customer on hold with the line's music (Hold), or take them off it (Resume). */
  hold: boolean;
  resume: boolean;
  /** Mute or unmute their own microphone, and send keypad digits on their leg. */
  mute: boolean;
  keypad: boolean;
}

export const NO_ACTIONS: CallActions = { hangUp: false, consult: false, coldTransfer: false, bringIn: false, toQueue: false, complete: false, merge: false, toggle: false, cancel: false, hold: false, resume: false, mute: false, keypad: false };

/** What actionsFor reads of a call. */
export interface CallForActions {
  status: string;
  participants: readonly Pick<Participant, 'agentId' | 'status'>[];
  transfers: readonly Transfer[];
  /** The conference has started (Twilio gave its SID): its participants can be held. */
  conferenceStarted?: boolean;
  /** The agent who put the customer on hold (the page's Hold). */
  heldBy?: string;
  /** Outbound: the customer has not answered yet. */
  customerRinging?: boolean;
}

/** What `agentId` may do on `call` (undefined: no call) now. */
export function actionsFor(call: CallForActions | undefined, agentId: string): CallActions {
  if (!call || call.status === 'completed') return NO_ACTIONS;
  const mine = call.participants.filter((leg) => leg.agentId === agentId);
  const talking = mine.length > 0 && mine[mine.length - 1]!.status === 'in-progress';
  if (!talking) return NO_ACTIONS;
  const open = openTransfer(call.transfers);
  const ownConsult = open && open.mode === 'consult' && open.from === agentId ? open : undefined;
  // An outbound call whose customer has not answered yet can only be hung up (and the agent's own phone used).
  const connected = !call.customerRinging;
  return {
    hangUp: true,
    // One transfer at a time: while one is open, nobody starts another (the colleague being consulted included).
    consult: connected && !open,
    coldTransfer: connected && !open,
    bringIn: connected && !open,
    toQueue: connected && !open,
    complete: ownConsult?.state === 'consulting',
    merge: ownConsult?.state === 'consulting',
    toggle: ownConsult?.state === 'consulting',
    cancel: Boolean(ownConsult),
    // A transfer decides who holds while it is open; holding needs the conference (its participants are held by label).
    hold: connected && !open && !call.heldBy && Boolean(call.conferenceStarted),
    resume: !open && Boolean(call.heldBy),
    mute: true,
    keypad: true,
  };
}

/**
 * Whether a colleague in `presence` can be consulted, sent a transfer or brought in: their softphone is up and they
 * are not busy with a call. Supervisors and admins take calls only when they chose to (Available), so they are not
 * offered as targets while away.
 */
export function takesTransfers(colleague: { role: string; presence: Presence }): boolean {
  if (colleague.presence === 'offline' || colleague.presence === 'ringing' || colleague.presence === 'on-call') return false;
  return colleague.role === 'agent' || colleague.presence === 'available';
}

/** Whether the agent may call a number from their page now: between calls (Available or Away), nothing ringing. */
export function mayCallOut(input: { presence: Presence; hasCall: boolean }): boolean {
  return !input.hasCall && (input.presence === 'available' || input.presence === 'away');
}
