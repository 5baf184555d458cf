// Wrap-up codes, the setting that makes one required, and the codes agents pick (dispositions).
//
// Codes and the setting are a handful of small documents in the app's database (`wrap_up_codes`, `settings`).
// Agents' picks are kept beside the history, in its own database: appended, never updated (FerretDB 1.x updates are
// not atomic under concurrency), one document per agent and call (`_id` = `<CallSid>:<agentId>`, so a repeat is a
// duplicate key), in one collection per UTC day the call began (`history_w_YYYYMMDD`). A history read merges them in:
// the rows it shows began on a few days, so it asks only those days' collections — small, whatever the size of the
// history — and never scans the whole. A list filtered by code walks those day collections newest first.
import type { Collection, Db, Filter } from 'mongodb';
import type { Connection } from 'mongoose';
import { isDuplicateKey, StoreUnavailableError, withDeadline } from '../errors';
import type { WrapUp, WrapUpCode } from '../contact-center/wrap-up';
import { historyDatabaseName } from './history';
import { sharedRead } from './shared-read';

export type { WrapUp, WrapUpCode } from '../contact-center/wrap-up';

/** A stored pick: the wrap-up, and the day its call began. */
export interface StoredWrapUp extends WrapUp {
  _id: string;
  startedAt: Date;
}

export interface WrapUpSettings {
  /** An agent picks a code for their last call before they are offered the next one. */
  required: boolean;
  /** When it was last turned on: calls left before then are not held to it (unset when stored by an earlier version). */
  requiredSince?: Date;
}

const PICKS_PREFIX = 'history_w_';
const dayOf = (date: Date): string => new Date(date).toISOString().slice(0, 10).replaceAll('-', '');
/** A stored pick as the history and the caller card show it (without its key and the day its call began). */
function pickOfRow(row: StoredWrapUp): WrapUp {
  const { _id: _key, startedAt: _day, ...pick } = row;
  return pick;
}

/** The wrap-up store: codes, the setting, and agents' picks. */
export function createWrapUpStore(connection: Connection, options: { timeoutMs?: number; cacheMs?: number } = {}) {
  const timeoutMs = options.timeoutMs ?? 5000;
  const cacheMs = options.cacheMs ?? 1000;
  let cached: { at: number; codes: WrapUpCode[]; settings: WrapUpSettings } | undefined;

  function appDb(): Db {
    if (!connection.db) throw new Error('the database connection is not open');
    return connection.db as unknown as Db;
  }
  function historyDb(): Db {
    return connection.getClient().db(historyDatabaseName(connection.name));
  }
  const codes = (): Collection<{ _id: string; name: string; active: boolean; createdAt: Date }> => appDb().collection('wrap_up_codes');
  const settings = (): Collection<{ _id: string; required?: boolean; requiredSince?: Date }> => appDb().collection('settings');
  const picks = (day: string): Collection<StoredWrapUp> => historyDb().collection<StoredWrapUp>(`${PICKS_PREFIX}${day}`);

  async function guarded<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await withDeadline(operation(), timeoutMs, () => new Error(`no answer within ${timeoutMs} ms`));
    } catch (err) {
      if (isDuplicateKey(err)) throw err;
      throw new StoreUnavailableError(err);
    }
  }

  /** Counts this process's changes to codes and the setting: a read that started before one is not cached. */
  let changes = 0;
  async function read(): Promise<{ at: number; changes: number; codes: WrapUpCode[]; settings: WrapUpSettings }> {
    const at = Date.now();
    const seen = changes;
    const [rows, setting] = await guarded(() => Promise.all([codes().find({}).toArray(), settings().findOne({ _id: 'wrap-up' })]));
    const list = rows.sort((a, b) => new Date(a.createdAt).getTime() - new Date(b.createdAt).getTime() || a.name.localeCompare(b.name)).map((r) => ({ id: r._id, name: r.name, active: r.active }));
    return { at, changes: seen, codes: list, settings: { required: Boolean(setting?.required), ...(setting?.required && setting.requiredSince ? { requiredSince: new Date(setting.requiredSince) } : {}) } };
  }
  // Every page and routing pass asks: when the cache runs out, the callers of that moment share one read.
  const shared = sharedRead(read);

  async function load(): Promise<{ codes: WrapUpCode[]; settings: WrapUpSettings }> {
    if (cached && Date.now() - cached.at < cacheMs) return cached;
    const fresh = await shared();
    // A change made meanwhile is not hidden by a read that started before it.
    if (fresh.changes === changes) cached = fresh;
    return fresh;
  }

  return {
    /** Every code (active or not), in the order they were added, and the setting; cached for a second. */
    load,

    /** Adds a code; false when one with that id exists. */
    async addCode(code: WrapUpCode): Promise<boolean> {
      try {
        await guarded(() => codes().insertOne({ _id: code.id, name: code.name, active: code.active, createdAt: new Date() }));
      } catch (err) {
        if (isDuplicateKey(err)) return false;
        throw err;
      }
      cached = undefined;
      changes += 1;
      return true;
    },

    /** Renames a code or turns it on or off (the history keeps the name it had when picked); false when unknown. */
    async changeCode(id: string, change: Partial<Pick<WrapUpCode, 'name' | 'active'>>): Promise<boolean> {
      const result = await guarded(() => codes().updateOne({ _id: id }, { $set: change }));
      cached = undefined;
      changes += 1;
      return result.matchedCount === 1;
    },

    async setRequired(required: boolean): Promise<void> {
      // Turned on, it holds the calls left from now on (not an agent's last call of this morning); turned on again
      // while on, it keeps its moment.
      const current = await guarded(() => settings().findOne({ _id: 'wrap-up' }));
      if (required && current?.required) return;
      await guarded(() => settings().updateOne({ _id: 'wrap-up' }, { $set: { required, ...(required ? { requiredSince: new Date() } : {}) } }, { upsert: true }));
      cached = undefined;
      changes += 1;
    },

    /** Keeps an agent's pick for a call that began at `startedAt`; false when they had picked for it already. */
    async addPick(pick: WrapUp, startedAt: Date): Promise<boolean> {
      try {
        await guarded(() => picks(dayOf(startedAt)).insertOne({ _id: `${pick.callSid}:${pick.agentId}`, ...pick, startedAt: new Date(startedAt) }));
        return true;
      } catch (err) {
        if (isDuplicateKey(err)) return false;
        throw err;
      }
    },

    /** One agent's pick for a call that began at `startedAt`, if they made one: a lookup by `_id`, whatever the day's size. */
    async pickOf(callSid: string, agentId: string, startedAt: Date): Promise<WrapUp | undefined> {
      const row = await guarded(() => picks(dayOf(startedAt)).findOne({ _id: `${callSid}:${agentId}` }));
      return row ? pickOfRow(row) : undefined;
    },

    /** The picks for these calls (each with the time it began), by CallSid: one read per day the calls began on. */
    async picksFor(calls: ReadonlyArray<{ callSid: string; startedAt: Date }>): Promise<Map<string, WrapUp[]>> {
      const byDay = new Map<string, string[]>();
      for (const c of calls) {
        const day = dayOf(c.startedAt);
        byDay.set(day, [...(byDay.get(day) ?? []), c.callSid]);
      }
      const found = await guarded(() => Promise.all([...byDay].map(([day, sids]) => picks(day).find({ callSid: { $in: sids } } as Filter<StoredWrapUp>).toArray())));
      const out = new Map<string, WrapUp[]>();
      for (const row of found.flat().sort((a, b) => new Date(a.at).getTime() - new Date(b.at).getTime())) out.set(row.callSid, [...(out.get(row.callSid) ?? []), pickOfRow(row)]);
      return out;
    },

    /**
     * The days (YYYYMMDD, newest first) on which calls with picks began, from `since` (less a day: a call that ended
     * then may have begun the day before) to `until`: a list filtered by code walks these, one day at a time.
     */
    async pickDays(range: { since?: Date; until?: Date }): Promise<string[]> {
      const names = await guarded(async () => (await historyDb().listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
      const from = range.since ? dayOf(new Date(range.since.getTime() - 86_400_000)) : undefined;
      const to = range.until ? dayOf(range.until) : undefined;
      return names
        .filter((n) => n.startsWith(PICKS_PREFIX) && /^\d{8}$/.test(n.slice(PICKS_PREFIX.length)))
        .map((n) => n.slice(PICKS_PREFIX.length))
        .filter((day) => !(to && day > to) && !(from && day < from))
        .sort()
        .reverse();
    },

    /** The calls that began on `day` with a pick of `code` (each once), newest pick first. */
    async callsWithCodeOn(day: string, code: string): Promise<Array<{ callSid: string; startedAt: Date }>> {
      const rows = await guarded(() => picks(day).find({ code } as Filter<StoredWrapUp>).toArray());
      const seen = new Set<string>();
      return rows
        .sort((a, b) => new Date(b.at).getTime() - new Date(a.at).getTime())
        .filter((row) => !seen.has(row.callSid) && Boolean(seen.add(row.callSid)))
        .map((row) => ({ callSid: row.callSid, startedAt: new Date(row.startedAt) }));
    },
  };
}

export type WrapUpStore = ReturnType<typeof createWrapUpStore>;
