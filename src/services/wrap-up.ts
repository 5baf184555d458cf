// Wrap-up codes as a feature: admins manage the codes and whether one is required; an agent picks one (and may write a
// note) for their last call; the history shows the picks, filters by them and exports them; the ringing page shows
// who is calling from the caller's last calls. Orchestration only: the rules are in src/contact-center/wrap-up.ts.
import { checkWrapUp, codeIdOf, callerSummary, wrapUpBlocks, type CallerCall, type PendingWrapUp, type WrapUp, type WrapUpCode } from '../contact-center/wrap-up';
import { AgentUnavailableError, NotFoundError, WrapUpClosedError } from '../contact-center/errors';
import type { HistoryRecord } from '../contact-center/history';
import type { Logger } from '../logger';
import type { CallerStore } from '../models/callers';
import type { HistoryQuery, HistoryStore, HistorySummary } from '../models/history';
import type { PresenceStore } from '../models/presence';
import type { WrapUpStore } from '../models/wrap-up';
import type { ChangeHub } from './changes';

export interface WrapUpServiceDeps {
  store: WrapUpStore;
  callers: CallerStore;
  presence: PresenceStore;
  changes: ChangeHub;
  logger: Logger;
  /** A routing pass (an agent whose wrap-up held their next offer back may take one now). */
  dispatch: () => void;
}

/** What the agent page shows while the agent's last call waits for its code. */
export interface WrapUpView {
  callSid: string;
  from?: string;
  direction?: 'inbound' | 'outbound';
  required: boolean;
  /** The next offer waits for this wrap-up. */
  blocking: boolean;
  codes: Array<Pick<WrapUpCode, 'id' | 'name'>>;
}

/** What the ringing card says about who is calling. */
export interface CallerCard {
  callsLast30Days: number;
  last?: { endedAt: Date; agentId?: string; outcome: CallerCall['outcome']; direction?: CallerCall['direction']; code?: string; note?: string };
}

/** How long a caller card is kept, and how many at most (see callerCard). */
const CALLER_CARD_KEEP_MS = 5000;
const CALLER_CARDS_KEPT = 1000;

export function createWrapUpService(deps: WrapUpServiceDeps) {
  const { store, callers, presence, changes, logger } = deps;
  const cards = new Map<string, { at: number; card: Promise<CallerCard> }>();

  async function rules(): Promise<{ required: boolean; requiredSince?: Date; activeCodes: number }> {
    const { codes, settings } = await store.load();
    return { required: settings.required, ...(settings.requiredSince ? { requiredSince: settings.requiredSince } : {}), activeCodes: codes.filter((c) => c.active).length };
  }

  async function callerCardNow(number: string, now: Date, exceptCallSid?: string): Promise<CallerCard> {
    const summary = callerSummary(await callers.calls(number), now, exceptCallSid);
    if (!summary.last) return { callsLast30Days: summary.callsLast30Days };
    const { last } = summary;
    // The card names the last agent who talked with them, so it shows that agent's pick (a lookup by key: a search
    // of the day's picks would read them all, and they grow all day).
    const pick = last.agentId ? await store.pickOf(last.callSid, last.agentId, new Date(last.startedAt)) : undefined;
    return {
      callsLast30Days: summary.callsLast30Days,
      last: { endedAt: last.endedAt, ...(last.agentId ? { agentId: last.agentId } : {}), outcome: last.outcome, ...(last.direction ? { direction: last.direction } : {}), ...(pick ? { code: pick.codeName, ...(pick.note ? { note: pick.note } : {}) } : {}) },
    };
  }

  return {
    rules,

    /** Every code and the setting, for /admin. */
    load: () => store.load(),

    /** The wrap-up the agent's page shows for `pending` (their presence's last call), or null when there is none to pick. */
    async viewFor(pending: PendingWrapUp | undefined): Promise<WrapUpView | null> {
      if (!pending) return null;
      const { codes, settings } = await store.load();
      const active = codes.filter((c) => c.active);
      if (active.length === 0) return null;
      return {
        callSid: pending.callSid,
        ...(pending.from ? { from: pending.from } : {}),
        ...(pending.direction ? { direction: pending.direction } : {}),
        required: settings.required,
        blocking: wrapUpBlocks({ ...settings, activeCodes: active.length, pending }),
        codes: active.map(({ id, name }) => ({ id, name })),
      };
    },

    /** The agent picks the code (and a note) for their last call; their next offer may come now. */
    async save(agentId: string, input: { callSid: string; code: string; note?: string }): Promise<WrapUp> {
      const [record, { codes }] = await Promise.all([presence.get(agentId), store.load()]);
      const code = checkWrapUp({ pending: record?.wrapUp, callSid: input.callSid, code: input.code, codes });
      const pick: WrapUp = { callSid: input.callSid, agentId, code: code.id, codeName: code.name, ...(input.note?.trim() ? { note: input.note.trim() } : {}), at: new Date() };
      if (!(await store.addPick(pick, record!.wrapUp!.startedAt))) throw new WrapUpClosedError('You saved this call\'s wrap-up already.');
      await presence.wrapUpDone(agentId, input.callSid);
      logger.info('wrap-up saved', { callSid: input.callSid, agentId, code: code.id });
      changes.publish('agents', 'history');
      deps.dispatch();
      return pick;
    },

    /**
     * Who is calling from `number`: calls in the last 30 days and the last one, with its agent's wrap-up. Every page
     * with a call asks on every change, so a card is worked out once and kept for a few seconds (CALLER_CARD_KEEP_MS):
     * it tells of the caller's earlier calls, which the call under way does not change.
     */
    callerCard(number: string, now: Date, exceptCallSid?: string): Promise<CallerCard> {
      const key = `${number}\n${exceptCallSid ?? ''}`;
      const kept = cards.get(key);
      if (kept && now.getTime() - kept.at < CALLER_CARD_KEEP_MS && now.getTime() >= kept.at) return kept.card;
      if (cards.size >= CALLER_CARDS_KEPT) {
        for (const [k, c] of cards) if (now.getTime() - c.at >= CALLER_CARD_KEEP_MS) cards.delete(k);
        if (cards.size >= CALLER_CARDS_KEPT) cards.clear();
      }
      const card = callerCardNow(number, now, exceptCallSid);
      cards.set(key, { at: now.getTime(), card });
      card.catch(() => {
        if (cards.get(key)?.card === card) cards.delete(key);
      });
      return card;
    },

    // ---------- admin ----------

    async addCode(name: string): Promise<WrapUpCode> {
      const code: WrapUpCode = { id: codeIdOf(name), name: name.trim(), active: true };
      if (!(await store.addCode(code))) throw new AgentUnavailableError(`There is a wrap-up code like "${code.name}" already.`);
      return code;
    },
    async changeCode(id: string, change: Partial<Pick<WrapUpCode, 'name' | 'active'>>): Promise<void> {
      if (!(await store.changeCode(id, change))) throw new NotFoundError(`Unknown wrap-up code: ${id}`);
      changes.publish('agents');
    },
    async setRequired(required: boolean): Promise<void> {
      await store.setRequired(required);
      changes.publish('agents');
      deps.dispatch();
    },
  };
}

export type WrapUpService = ReturnType<typeof createWrapUpService>;

/** The history's list filters, and a wrap-up code. */
export type HistoryQueryWithCode = HistoryQuery & { code?: string };

/**
 * The history as its pages read it: each record and summary with the agents' wrap-up picks merged in (read from the
 * days the calls began on), and the list filterable by code (walking the picks' day collections, newest first).
 */
export function historyWithWrapUps(history: Pick<HistoryStore, 'newest' | 'find'>, store: WrapUpStore) {
  async function merge<T extends HistorySummary>(rows: T[]): Promise<Array<T & { wrapUps?: WrapUp[] }>> {
    if (rows.length === 0) return rows;
    const picks = await store.picksFor(rows.map((r) => ({ callSid: r._id, startedAt: r.startedAt })));
    return rows.map((r) => (picks.has(r._id) ? { ...r, wrapUps: picks.get(r._id) } : r));
  }

  /** The record of a call that began at `startedAt`: it ended that day or soon after. */
  async function recordOf(callSid: string, startedAt: Date): Promise<HistoryRecord | null> {
    for (let days = 0; days <= 2; days += 1) {
      const found = await history.find(callSid, new Date(startedAt.getTime() + days * 86_400_000));
      if (found) return found;
    }
    return null;
  }

  /**
   * The list filtered by a code: the days with picks of it are walked newest first, each day's calls read from the
   * history and filtered like any list, until the page is full and one more day has been read (its calls may have
   * ended later than the last ones found).
   */
  async function withCode(query: HistoryQueryWithCode & { code: string }): Promise<HistorySummary[]> {
    const limit = Math.max(1, query.limit ?? 50);
    const until = query.before && (!query.until || query.before.endedAt < query.until) ? query.before.endedAt : query.until;
    const rows: HistorySummary[] = [];
    let extraDays = -1;
    for (const day of await store.pickDays({ since: query.since, until })) {
      const calls = await store.callsWithCodeOn(day, query.code);
      const records = await Promise.all(calls.map((c) => recordOf(c.callSid, c.startedAt)));
      for (const record of records) {
        if (!record) continue;
        const { timeline: _timeline, ...r } = record;
        if (query.agentId !== undefined && !r.agentIds.includes(query.agentId) && !r.offeredTo.includes(query.agentId)) continue;
        if (query.outcome !== undefined && r.outcome !== query.outcome) continue;
        if ((query.since && r.endedAt < query.since) || (query.until && r.endedAt >= query.until)) continue;
        if (query.before && !(r.endedAt < query.before.endedAt || (r.endedAt.getTime() === query.before.endedAt.getTime() && r._id < query.before.id))) continue;
        rows.push(r);
      }
      if (extraDays >= 0) extraDays += 1;
      else if (rows.length >= limit) extraDays = 0;
      if (extraDays >= 1) break;
    }
    return rows.sort((a, b) => b.endedAt.getTime() - a.endedAt.getTime() || (a._id < b._id ? 1 : -1)).slice(0, limit);
  }

  return {
    async newest(query: HistoryQueryWithCode = {}): Promise<Array<HistorySummary & { wrapUps?: WrapUp[] }>> {
      const { code, ...rest } = query;
      return merge(code ? await withCode({ ...rest, code }) : await history.newest(rest));
    },
    async find(callSid: string, day: string | Date): Promise<(HistoryRecord & { wrapUps?: WrapUp[] }) | null> {
      const record = await history.find(callSid, day);
      return record ? (await merge([record]))[0]! : null;
    },
  };
}
