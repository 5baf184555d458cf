// A call's participants: the customer, and the agents whose phones are rung into the customer's conference (one leg
// per ring: an offer, a colleague brought in, a consult). Each has a stable label, unique among the conference's
// active participants as Twilio requires (errors 16025/16026), so the app can address them without knowing CallSids.
// Pure: the rules for how a leg moves and when the customer is left alone; no I/O, unit-tested on their own.

export const CUSTOMER_LABEL = 'customer';

/** The conference label of an agent's leg: `agent:<id>`. https://www.twilio.com/docs/voice/twiml/conference#attributes-participant-label */
export function agentLabel(agentId: string): string {
  return `agent:${agentId}`;
}

/** The agent id in an `agent:<id>` label, or undefined for the customer or an unknown label. */
export function agentOfLabel(label: string | undefined): string | undefined {
  return label?.startsWith('agent:') ? label.slice('agent:'.length) || undefined : undefined;
}

/**
 * Why an agent's phone was rung into the call: 'offer' — routing offered them the call (first, again after a drop,
 * or as a cold transfer's target); 'colleague' — an agent on the call brought them in or consulted them.
 */
export const PARTICIPANT_ROLES = ['offer', 'colleague'] as const;
export type ParticipantRole = (typeof PARTICIPANT_ROLES)[number];

/** One agent in the customer's conference: one call leg, rung once. An agent rung again gets a new participant. */
export interface Participant {
  agentId: string;
  role: ParticipantRole;
  /** The agent who brought them in, consulted them or cold-transferred the call to them. */
  requestedBy?: string;
  /** Twilio's SID of the agent's own call, once a webhook or callback has told us. */
  legCallSid?: string;
  /** The SID Twilio answered when the app rang this phone (kept at once, so a call that ends can stop the ring). */
  dialledSid?: string;
  /**
   * The conference the leg joined, as the conference's participant-join said. A leg that answered but whose join into the
   * call's conference was never reported may have joined a new, empty one of the same name: the call's end hangs it up.
   */
  joinedConferenceSid?: string;
  status: LegStatus;
  /** On hold in the conference (a consult toggled to the customer), as Twilio reported it. */
  held?: boolean;
  /** The agent muted their microphone (the SDK's call.mute(): nobody hears them), as their page reported it. */
  muted?: boolean;
  /** The agent hung up on purpose (the page's Hang up), rather than their softphone dropping. */
  hungUp?: boolean;
  /** When the agent answered this leg (legs since this version; earlier ones have only their ring's createdAt). */
  answeredAt?: Date;
  /** The transfer this participant was rung for (consult or cold). */
  transferId?: string;
  error?: string;
  createdAt: Date;
  updatedAt: Date;
}

export const LEG_STATUSES = ['dialing', 'ringing', 'in-progress', 'completed', 'dial-failed', 'no-answer', 'busy', 'failed', 'canceled'] as const;
export type LegStatus = (typeof LEG_STATUSES)[number];
/** Statuses in which the agent is part of the call, or about to be. */
export const LIVE_LEG_STATUSES: readonly LegStatus[] = ['dialing', 'ringing', 'in-progress'];
/** Statuses in which the agent's phone is ringing or about to. */
export const PENDING_LEG_STATUSES: readonly LegStatus[] = ['dialing', 'ringing'];
/** Statuses of a ring that never became a conversation. */
export const MISSED_LEG_STATUSES: readonly LegStatus[] = ['no-answer', 'busy', 'failed', 'canceled', 'dial-failed'];

/** Twilio's CallStatus values, as the leg status they mean. https://www.twilio.com/docs/voice/api/call-resource#call-status-values */
const CALL_STATUS_TO_LEG: ReadonlyMap<string, LegStatus> = new Map([
  ['queued', 'dialing'],
  ['initiated', 'dialing'],
  ['ringing', 'ringing'],
  ['in-progress', 'in-progress'],
  ['answered', 'in-progress'],
  ['completed', 'completed'],
  ['busy', 'busy'],
  ['failed', 'failed'],
  ['no-answer', 'no-answer'],
  ['canceled', 'canceled'],
]);

/** The leg status a Twilio CallStatus means, or undefined for a value Twilio does not send. */
export function legStatusOf(callStatus: string): LegStatus | undefined {
  return CALL_STATUS_TO_LEG.get(callStatus);
}

const STATUS_ORDER: Record<LegStatus, number> = { dialing: 0, ringing: 1, 'in-progress': 2, completed: 3, 'dial-failed': 3, 'no-answer': 3, busy: 3, failed: 3, canceled: 3 };

/** Callbacks may arrive late or out of order: a leg only moves forward, and never out of an ending. */
export function movesForward(from: LegStatus, to: LegStatus): boolean {
  return STATUS_ORDER[to] > STATUS_ORDER[from] && STATUS_ORDER[from] < 3;
}

/**
 * After the legs' statuses become `legs`: was the customer talking with agents who have now all gone, with nobody on
 * the way? (`talking`: an agent had taken the call and the app has not said goodbye yet.)
 */
export function leftAlone(talking: boolean, legs: readonly LegStatus[]): boolean {
  return talking && legs.includes('completed') && !legs.some((status) => LIVE_LEG_STATUSES.includes(status));
}
