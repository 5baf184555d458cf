// Presence, decided by the server: what an agent chose (available, away) combined with what calls say (ringing, on a
// call, wrap-up) and whether their softphone is alive. Pure functions: no I/O, unit-tested on their own.

/** What an agent sets on their page. */
export const CHOSEN_STATUSES = ['available', 'away'] as const;
export type ChosenStatus = (typeof CHOSEN_STATUSES)[number];

/** Where an agent is in a call's life, from their reservation (TaskRouter's word for a held offer). */
export type ReservationState = 'offered' | 'on-call' | 'wrap-up';

/** Everything an agent can be, as pages and routing see it. */
export type Presence = 'offline' | ChosenStatus | 'ringing' | 'on-call' | 'wrap-up';

export interface PresenceInputs {
  chosen: ChosenStatus;
  chosenAt: Date;
  /** The softphone's last heartbeat; undefined = never registered. */
  lastSeenAt?: Date;
  /** The page's softphone is registered and can ring (a page still connecting it is not ready). */
  softphoneReady?: boolean;
  reservation?: { state: ReservationState; since: Date };
  /** Since when the agent's last call waits for a required wrap-up code (they are offered nothing until it is picked). */
  wrapUpBlockedSince?: Date;
  now: Date;
  /** A softphone silent this long is gone (tab closed, network lost, laptop asleep). */
  offlineAfterMs: number;
}

/** The agent's presence and since when. A call in progress wins over a silent softphone: the customer is still there. */
export function presenceOf(input: PresenceInputs): { presence: Presence; since: Date } {
  const { reservation } = input;
  if (reservation) {
    const presence = reservation.state === 'offered' ? 'ringing' : reservation.state;
    return { presence, since: reservation.since };
  }
  if (!softphoneAlive(input)) return { presence: 'offline', since: input.lastSeenAt ?? input.chosenAt };
  // A page whose softphone is not registered (yet, or any more) cannot ring: offered nothing, so shown offline.
  if (!input.softphoneReady) return { presence: 'offline', since: input.lastSeenAt ?? input.chosenAt };
  if (input.wrapUpBlockedSince) return { presence: 'wrap-up', since: input.wrapUpBlockedSince };
  return { presence: input.chosen, since: input.chosenAt };
}

/** Whether the agent's softphone has been heard from recently enough. */
export function softphoneAlive(input: Pick<PresenceInputs, 'lastSeenAt' | 'now' | 'offlineAfterMs'>): boolean {
  return input.lastSeenAt !== undefined && input.now.getTime() - input.lastSeenAt.getTime() <= input.offlineAfterMs;
}
