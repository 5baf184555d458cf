// The opening hours as admins set them: one small document in the app's `settings` collection (`_id: 'opening-hours'`).
// Admins' saves overwrite it whole (the last save wins, as on any settings form); the manual switch is its own field,
// so closing now never rewrites the week. Read on every incoming call, so kept for a second per instance.
import type { Collection, Db } from 'mongodb';
import type { Connection } from 'mongoose';
import { alwaysOpen, WEEKDAYS, type Holiday, type Opening, type OpeningHours, type Weekday } from '../contact-center/opening-hours';
import { StoreUnavailableError, withDeadline } from '../errors';

interface OpeningHoursDoc {
  _id: string;
  enabled?: boolean;
  week?: Partial<Record<Weekday, Opening[]>>;
  holidays?: Holiday[];
  closedNow?: { since: Date; by?: string } | null;
}

const ID = 'opening-hours';

/** The opening-hours store. */
export function createOpeningHoursStore(connection: Connection, options: { timeoutMs?: number; cacheMs?: number } = {}) {
  const timeoutMs = options.timeoutMs ?? 5000;
  const cacheMs = options.cacheMs ?? 1000;
  let cached: { at: number; hours: OpeningHours } | undefined;

  function settings(): Collection<OpeningHoursDoc> {
    if (!connection.db) throw new Error('the database connection is not open');
    return (connection.db as unknown as Db).collection<OpeningHoursDoc>('settings');
  }

  async function guarded<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await withDeadline(operation(), timeoutMs, () => new Error(`no answer within ${timeoutMs} ms`));
    } catch (err) {
      throw new StoreUnavailableError(err);
    }
  }

  return {
    /** The hours (never configured: always open); cached for a second. */
    async load(): Promise<OpeningHours> {
      if (cached && Date.now() - cached.at < cacheMs) return cached.hours;
      const doc = await guarded(() => settings().findOne({ _id: ID }));
      const base = alwaysOpen();
      const hours: OpeningHours = {
        enabled: Boolean(doc?.enabled),
        week: Object.fromEntries(WEEKDAYS.map((d) => [d, (doc?.week?.[d] ?? []).map((o) => ({ from: o.from, to: o.to }))])) as OpeningHours['week'],
        holidays: (doc?.holidays ?? base.holidays).map((h) => ({ day: h.day, ...(h.name ? { name: h.name } : {}) })),
        ...(doc?.closedNow ? { closedNow: { since: new Date(doc.closedNow.since), ...(doc.closedNow.by ? { by: doc.closedNow.by } : {}) } } : {}),
      };
      cached = { at: Date.now(), hours };
      return hours;
    },

    /** Saves the week, the holidays and whether the hours apply (the manual switch is left as it is). */
    async saveSchedule(schedule: Pick<OpeningHours, 'enabled' | 'week' | 'holidays'>): Promise<void> {
      await guarded(() => settings().updateOne({ _id: ID }, { $set: { enabled: schedule.enabled, week: schedule.week, holidays: schedule.holidays } }, { upsert: true }));
      cached = undefined;
    },

    /** The manual switch: closed now (by whom), or open again (undefined). */
    async setClosedNow(closedNow: { since: Date; by?: string } | undefined): Promise<void> {
      await guarded(() => settings().updateOne({ _id: ID }, { $set: { closedNow: closedNow ?? null } }, { upsert: true }));
      cached = undefined;
    },
  };
}

export type OpeningHoursStore = ReturnType<typeof createOpeningHoursStore>;
