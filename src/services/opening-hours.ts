// Opening hours as the webhooks and the admin page need them: whether we are open now in the configured zone, what a
// caller hears when we are not, and the admins' changes. The rules are in src/contact-center/opening-hours.ts.
import { closedMessage, openingState, type OpeningHours, type OpenState } from '../contact-center/opening-hours';
import type { OpeningHoursStore } from '../models/opening-hours';

export interface OpeningHoursServiceDeps {
  store: OpeningHoursStore;
  /** IANA zone the hours are written in (OPENING_HOURS_TIME_ZONE). */
  timeZone: string;
  /** The clock (tests pass a fake one). */
  now?: () => Date;
}

/** Builds the opening-hours service. */
export function createOpeningHoursService(deps: OpeningHoursServiceDeps) {
  const now = deps.now ?? (() => new Date());
  return {
    timeZone: deps.timeZone,
    load: () => deps.store.load(),

    /** Whether we are open now, and if not why and when we open. */
    async state(): Promise<OpenState> {
      return openingState(await deps.store.load(), now(), deps.timeZone);
    },

    /** What a caller hears when we are closed now; undefined while we are open (`staleOk`: from the last read at once). */
    async closedGreeting(options?: { staleOk?: boolean }): Promise<string | undefined> {
      const at = now();
      const state = openingState(await deps.store.load(options), at, deps.timeZone);
      return state.open ? undefined : closedMessage(state, at, deps.timeZone);
    },

    saveSchedule: (schedule: Pick<OpeningHours, 'enabled' | 'week' | 'holidays'>) => deps.store.saveSchedule(schedule),
    closeNow: (by: string) => deps.store.setClosedNow({ since: now(), by }),
    openAgain: () => deps.store.setClosedNow(undefined),
  };
}

export type OpeningHoursService = ReturnType<typeof createOpeningHoursService>;
