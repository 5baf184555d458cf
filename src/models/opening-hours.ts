// The opening hours as admins set them: one small document in the app's `settings` collection (`_id: 'opening-hours'`).
// Admins' saves overwrite it whole (the last save wins, as on any settings form); the manual switch is its own field,
// so closing now never rewrites the week. Read on every incoming call, so kept for a second per instance.
import type { Collection, Db } from 'mongodb';
import type { Connection } from 'mongoose';
import { alwaysOpen, WEEKDAYS, type Holiday, type Opening, type OpeningHours, type Weekday } from '../contact-center/opening-hours';
import { StoreUnavailableError, withDeadline } from '../errors';
import { cachedSetting } from './cached-setting';

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

  async function read(): Promise<OpeningHours> {
    const doc = await guarded(() => settings().findOne({ _id: ID }));
    const base = alwaysOpen();
    const hours: OpeningHours = {
      enabled: Boolean(doc?.enabled),
      week: Object.fromEntries(WEEKDAYS.map((d) => [d, (doc?.week?.[d] ?? []).map((o) => ({ from: o.from, to: o.to }))])) as OpeningHours['week'],
      holidays: (doc?.holidays ?? base.holidays).map((h) => ({ day: h.day, ...(h.name ? { name: h.name } : {}) })),
      ...(doc?.closedNow ? { closedNow: { since: new Date(doc.closedNow.since), ...(doc.closedNow.by ? { by: doc.closedNow.by } : {}) } } : {}),
    };
    return hours;
  }
  const cache = cachedSetting(read, cacheMs);

  return {
    /** The hours (never configured: always open); cached for a second (`staleOk`: the last value at once). */
    load: (options?: { staleOk?: boolean }): Promise<OpeningHours> => cache.get(options),

    /** Saves the week, the holidays and whether the hours apply (the manual switch is left as it is). */
    async saveSchedule(schedule: Pick<OpeningHours, 'enabled' | 'week' | 'holidays'>): Promise<void> {
      await guarded(() => settings().updateOne({ _id: ID }, { $set: { enabled: schedule.enabled, week: schedule.week, holidays: schedule.holidays } }, { upsert: true }));
      cache.forget();
    },

    /** The manual switch: closed now (by whom), or open again (undefined). */
    async setClosedNow(closedNow: { since: Date; by?: string } | undefined): Promise<void> {
      await guarded(() => settings().updateOne({ _id: ID }, { $set: { closedNow: closedNow ?? null } }, { upsert: true }));
      cache.forget();
    },
  };
}

export type OpeningHoursStore = ReturnType<typeof createOpeningHoursStore>;
