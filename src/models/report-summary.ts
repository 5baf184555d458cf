// Per-hour and per-day summaries of the call history, for the reports page and the board's tiles: a report reads one
// small document per day, never the calls.
//
// Where they come from: the history's all-calls hour buckets (history_s_YYYYMMDDHH, one summary row per call,
// written by unique _id inserts, so concurrent finishing calls never lose one). A summary is a pure function of a
// bucket's rows (src/contact-center/metrics.ts), computed once the hour is over and settled, and stored as its own
// document; nothing is ever incremented, so FerretDB's non-atomic updates cannot lose a count.
//
//   report_hours_YYYYMMDD   hour summaries of that UTC day:  _id '<YYYYMMDDHH>|T20|S5|g<n>'
//   report_days_YYYYMM      day summaries of that local month: _id '<zone>|<YYYY-MM-DD>|T20|S5|g<n>', with its hours
//
// They live in a database of their own (`warm_transfer_reports`), beside the app's and the history's: FerretDB 1.24
// lists a database's collections for every query, and a read by _id in the history's database (thousands of
// buckets) takes ~7 ms where it takes ~1 ms in a database of a few dozen collections; a report reads one per day.
// A read by _id compares every row's _id (~5 µs a row, no decoding), so each collection holds a day or a month.
//
// Staying right when calls arrive late: an hour is summarised only SETTLE_MS after it ended; a record whose hour was
// already over when it was stored leaves a late marker for its UTC day (src/models/history.ts), and a summary's _id
// carries how many markers its UTC days had (g<n>) when its rows were read — markers are read first, rows after. A
// new marker changes the _id the readers ask for, so the summary is computed again from the rows, now including the
// late call; two instances computing the same _id insert it once (a unique insert, exclusive on FerretDB too) and
// either's result holds every call whose marker it counted. The definitions (T, S) are part of the _id too, so
// changing them computes new summaries instead of mixing. Hours and days not yet settled (today) are computed from
// their rows on each read and not stored.
import type { Connection } from 'mongoose';
import type { Db } from 'mongodb';
import { StoreUnavailableError, withDeadline } from '../errors';
import { addDays, HOUR_MS, localDayOf, localDayStart, utcHourOf, utcHoursOfLocalDay } from '../contact-center/calendar';
import { addAgentTallies, addTallies, callFactsOf, emptyTally, tallyCalls, type AgentTally, type MetricSettings, type Tally } from '../contact-center/metrics';
import { lateMarkerCounts, summaryBucketName, type HistoryStore, type HistorySummary } from './history';

/** The database the report summaries of the app database `appDatabase` live in. */
export function reportDatabaseName(appDatabase: string): string {
  return `${appDatabase}_reports`;
}

/** How long after an hour ends before it is summarised for good (covers clock differences between instances). */
export const SETTLE_MS = 2 * 60_000;

/** The counts of one hour, as a day's hour rows keep them (the wait distribution is kept per day). */
export type HourCounts = Omit<Tally, 'answeredWaits' | 'abandonedWaits'>;

export interface HourReport {
  /** The UTC hour's start, ms. */
  start: number;
  tally: HourCounts;
}

export interface DayReport {
  /** The local day, 'YYYY-MM-DD' in the report's time zone. */
  day: string;
  tally: Tally;
  agents: Map<string, AgentTally>;
  hours: HourReport[];
  /** Stored for good (the day and its settling are over); otherwise computed from the rows just now. */
  settled: boolean;
}

export interface ReportSettings extends Pick<MetricSettings, 'answerTargetSeconds' | 'shortAbandonSeconds'> {
  /** IANA zone of the report's days and hours. */
  timeZone: string;
}

export interface ReportSummaries {
  /** Each local day from `from` to `to` (both included), with its hours and agents. */
  days(from: string, to: string): Promise<DayReport[]>;
  /** The finished calls of today (local) so far, and of the last `windowMs`. */
  recent(windowMs: number): Promise<{ today: Tally; window: Tally }>;
  /** Stores the summaries of settled days that have calls but no summary yet, newest first, until `budgetMs` is spent. */
  settle(budgetMs?: number): Promise<{ done: number; pending: number }>;
}

interface StoredAgent extends AgentTally {
  agentId: string;
}
/**
 * A stored summary: its content as one JSON string. FerretDB 1.24 decodes a document field by field (a day's ~500
 * numbers took ~2 ms a document); one string is one field, and JSON.parse reads it in microseconds. Nothing queries
 * inside a summary, so nothing is lost.
 */
interface SummaryDoc {
  _id: string;
  data: string;
}
interface HourData {
  tally: Tally;
  agents: StoredAgent[];
}
interface DayData {
  zone: string;
  day: string;
  tally: Tally;
  agents: StoredAgent[];
  hours: Array<{ start: number; tally: HourCounts }>;
}

interface HourTally {
  tally: Tally;
  agents: Map<string, AgentTally>;
}

const compactDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
const compactHour = (ms: number): string => `${compactDay(ms)}${new Date(ms).toISOString().slice(11, 13)}`;

function hourCounts(t: Tally): HourCounts {
  const { answeredWaits: _a, abandonedWaits: _b, ...counts } = t;
  return counts;
}

const toStored = (agents: Map<string, AgentTally>): StoredAgent[] => [...agents].map(([agentId, t]) => ({ agentId, ...t }));
const fromStored = (agents: StoredAgent[]): Map<string, AgentTally> =>
  new Map(agents.map(({ agentId, calls, answered, talkSeconds, holdSeconds, transfers }) => [agentId, { calls, answered, talkSeconds, holdSeconds, transfers }]));

function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: number }).code === 11000;
}

/** Runs `tasks` with at most `width` at once, results in order. */
async function limited<T>(width: number, tasks: Array<() => Promise<T>>): Promise<T[]> {
  const out = new Array<T>(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        out[i] = await tasks[i]!();
      }
    }),
  );
  return out;
}

export interface ReportSummaryOptions {
  now?: () => number;
  /**
   * How long the rows of an hour still open (today's tiles) are trusted before they are read again: this process's
   * own finished calls are added as they are stored; other instances' appear within this time.
   */
  rowCacheMs?: number;
  /** Each read's deadline; a database that fails or is silent becomes StoreUnavailableError. */
  timeoutMs?: number;
}

/** The summaries over the history `history` of the app database on `connection`. */
export function createReportSummaries(connection: Connection, history: Pick<HistoryStore, 'collectionNames' | 'hourSummaries'> & Partial<Pick<HistoryStore, 'onAppend'>>, settings: ReportSettings, options: ReportSummaryOptions = {}): ReportSummaries {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 5000;
  const zone = settings.timeZone;
  const definitions = `T${settings.answerTargetSeconds}|S${settings.shortAbandonSeconds}`;
  /** Days whose stored summary this process has seen (by _id): the settling pass skips them. */
  const seenDays = new Set<string>();
  /** Stored hour summaries by _id: an _id's content never changes, so the board's "today" reads none twice. */
  const hourCache = new Map<string, HourTally>();
  const remember = (id: string, value: HourTally): void => {
    if (hourCache.size >= 5000) hourCache.clear();
    hourCache.set(id, value);
  };
  /** The rows of the open hours the tiles read (rows are never deleted, so a union of reads and appends is right). */
  const rowCacheMs = options.rowCacheMs ?? 5000;
  const openRows = new Map<number, { rows: Map<string, HistorySummary>; readAt: number; reading?: Promise<void> }>();
  history.onAppend?.((summary) => openRows.get(utcHourOf(summary.endedAt))?.rows.set(summary._id, summary));

  async function rowsOfOpenHour(start: number, names: ReadonlySet<string>): Promise<HistorySummary[]> {
    let entry = openRows.get(start);
    if (!entry) {
      entry = { rows: new Map(), readAt: -Infinity };
      openRows.set(start, entry);
      for (const hour of openRows.keys()) if (hour < start - 3 * HOUR_MS) openRows.delete(hour);
    }
    const e = entry;
    if (Date.now() - e.readAt >= rowCacheMs) {
      if (!e.reading) {
        const startedAt = Date.now();
        const reading = (async () => {
          // A bucket not created yet has no rows to read (this process's first call of the hour arrives by onAppend).
          if (names.has(summaryBucketName(start))) for (const row of await history.hourSummaries(start)) e.rows.set(row._id, row);
          e.readAt = startedAt;
        })().finally(() => {
          if (e.reading === reading) e.reading = undefined;
        });
        e.reading = reading;
      }
      // Read once before answering; after that the board answers from what it has while the rows are read again.
      if (e.readAt === -Infinity) await e.reading;
      else e.reading?.catch(() => undefined);
    }
    return [...e.rows.values()];
  }

  function db(): Db {
    if (!connection.db) throw new Error('the database connection is not open');
    return connection.getClient().db(reportDatabaseName(connection.name));
  }

  async function guarded<T>(operation: () => Promise<T>, deadlineMs: number | null = timeoutMs): Promise<T> {
    try {
      if (deadlineMs === null) return await operation();
      return await withDeadline(operation(), deadlineMs, () => new Error(`no answer within ${deadlineMs} ms`));
    } catch (err) {
      throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError(err);
    }
  }

  async function insertOnce(collection: string, id: string, data: HourData | DayData): Promise<void> {
    try {
      await db().collection<SummaryDoc>(collection).insertOne({ _id: id, data: JSON.stringify(data) });
    } catch (err) {
      // Another instance stored the same summary first: same _id, same rows counted.
      if (!isDuplicateKey(err)) throw err;
    }
  }

  const settledHour = (start: number, at: number): boolean => at >= start + HOUR_MS + SETTLE_MS;

  /** Late markers of the UTC day of `ms`: counted once per list of names (the list only grows, so its size tells). */
  let markerMemo: { names: ReadonlySet<string>; size: number; byDay: Map<string, number> } | undefined;
  function lateMarkersOf(names: ReadonlySet<string>, ms: number): number {
    if (markerMemo?.names !== names || markerMemo.size !== names.size) markerMemo = { names, size: names.size, byDay: lateMarkerCounts(names) };
    return markerMemo.byDay.get(compactDay(ms)) ?? 0;
  }

  /** The tally of one UTC hour's rows. */
  async function tallyRows(start: number): Promise<HourTally> {
    const rows: HistorySummary[] = await history.hourSummaries(start);
    return tallyCalls(rows.map(callFactsOf), settings);
  }

  /** One hour: its stored summary once settled (computed and stored the first time), else its rows now. */
  async function hourTally(start: number, names: ReadonlySet<string>, at: number): Promise<HourTally> {
    if (!names.has(summaryBucketName(start))) return { tally: emptyTally(), agents: new Map() };
    if (!settledHour(start, at)) return tallyRows(start);
    // Markers first (from `names`, read before the rows), then the rows: see the header.
    const id = `${compactHour(start)}|${definitions}|g${lateMarkersOf(names, start)}`;
    const known = hourCache.get(id);
    if (known) return known;
    const collection = `report_hours_${compactDay(start)}`;
    const stored = await db().collection<SummaryDoc>(collection).findOne({ _id: id });
    if (stored) {
      const data = JSON.parse(stored.data) as HourData;
      remember(id, { tally: data.tally, agents: fromStored(data.agents) });
      return hourCache.get(id)!;
    }
    const computed = await tallyRows(start);
    await insertOnce(collection, id, { tally: computed.tally, agents: toStored(computed.agents) });
    remember(id, computed);
    return computed;
  }

  function dayId(day: string, hours: number[], names: ReadonlySet<string>): string {
    const utcDays = [...new Set(hours.map(compactDay))];
    const markers = utcDays.reduce((n, d) => n + lateMarkersOf(names, Date.parse(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T00:00:00Z`)), 0);
    return `${zone}|${day}|${definitions}|g${markers}`;
  }

  const dayCollection = (day: string): string => `report_days_${day.slice(0, 7).replace('-', '')}`;

  function emptyDay(day: string, hours: number[], settled: boolean): DayReport {
    return { day, tally: emptyTally(), agents: new Map(), hours: hours.map((start) => ({ start, tally: hourCounts(emptyTally()) })), settled };
  }

  /** One local day from its hours (each stored or computed); stored too when the day is settled. */
  async function buildDay(day: string, hours: number[], names: ReadonlySet<string>, at: number, id: string | undefined): Promise<DayReport> {
    const parts = await limited(4, hours.map((start) => () => hourTally(start, names, at)));
    let tally = emptyTally();
    const agents = new Map<string, AgentTally>();
    for (const part of parts) {
      tally = addTallies(tally, part.tally);
      addAgentTallies(agents, part.agents);
    }
    const report: DayReport = { day, tally, agents, hours: hours.map((start, i) => ({ start, tally: hourCounts(parts[i]!.tally) })), settled: id !== undefined };
    if (id) {
      await insertOnce(dayCollection(day), id, { zone, day, tally, agents: toStored(agents), hours: report.hours });
      seenDays.add(id);
    }
    return report;
  }

  function fromDoc(doc: SummaryDoc): DayReport {
    const data = JSON.parse(doc.data) as DayData;
    return { day: data.day, tally: data.tally, agents: fromStored(data.agents), hours: data.hours, settled: true };
  }

  /** One local day: its stored summary when settled (`stored`: what a batch read found), else computed and stored. */
  async function dayReport(day: string, names: ReadonlySet<string>, at: number, stored?: Map<string, SummaryDoc>): Promise<DayReport> {
    const hours = utcHoursOfLocalDay(day, zone);
    const end = localDayStart(addDays(day, 1), zone);
    const settled = at >= end + SETTLE_MS;
    const withCalls = hours.filter((start) => names.has(summaryBucketName(start)));
    if (withCalls.length === 0) return emptyDay(day, hours, settled);
    if (!settled) return buildDay(day, hours.filter((start) => start <= at), names, at, undefined);
    const id = dayId(day, hours, names);
    const doc = stored ? stored.get(id) : ((await db().collection<SummaryDoc>(dayCollection(day)).findOne({ _id: id })) ?? undefined);
    if (doc) {
      seenDays.add(id);
      return fromDoc(doc);
    }
    return buildDay(day, hours, names, at, id);
  }

  /** The stored summaries of `days` (settled, with calls): one read per month collection, not one per day. */
  async function storedDays(days: string[], names: ReadonlySet<string>): Promise<Map<string, SummaryDoc>> {
    const byMonth = new Map<string, string[]>();
    for (const day of days) {
      const hours = utcHoursOfLocalDay(day, zone);
      if (!hours.some((start) => names.has(summaryBucketName(start)))) continue;
      const ids = byMonth.get(dayCollection(day)) ?? [];
      ids.push(dayId(day, hours, names));
      byMonth.set(dayCollection(day), ids);
    }
    const found = await Promise.all([...byMonth].map(([collection, ids]) => db().collection<SummaryDoc>(collection).find({ _id: { $in: ids } }).toArray()));
    return new Map(found.flat().map((doc) => [doc._id, doc]));
  }

  return {
    days: (from, to) =>
      guarded(async () => {
        const at = now();
        const names = await history.collectionNames();
        const list: string[] = [];
        for (let day = from; day <= to; day = addDays(day, 1)) list.push(day);
        const settled = list.filter((day) => at >= localDayStart(addDays(day, 1), zone) + SETTLE_MS);
        const stored = await storedDays(settled, names);
        return limited(8, list.map((day) => () => dayReport(day, names, at, stored)));
      }, null),

    recent: (windowMs) =>
      guarded(async () => {
        const at = now();
        const names = await history.collectionNames({ staleOk: true });
        const since = at - windowMs;
        const todayHours = utcHoursOfLocalDay(localDayOf(at, zone), zone).filter((start) => start <= at);
        const windowHours = new Set<number>();
        for (let start = Math.floor(since / HOUR_MS) * HOUR_MS; start <= at; start += HOUR_MS) windowHours.add(start);
        // Rows are read once for every hour that is not settled or that the window reaches into.
        const rowHours = [...new Set([...todayHours.filter((start) => !settledHour(start, at)), ...windowHours])];
        const rows = new Map<number, HistorySummary[]>(await Promise.all(rowHours.map(async (start) => [start, await rowsOfOpenHour(start, names)] as const)));
        let today = emptyTally();
        const settledToday = todayHours.filter((start) => settledHour(start, at));
        for (const part of await limited(4, settledToday.map((start) => () => hourTally(start, names, at)))) today = addTallies(today, part.tally);
        const unsettledRows = todayHours.filter((start) => !settledHour(start, at)).flatMap((start) => rows.get(start) ?? []);
        today = addTallies(today, tallyCalls(unsettledRows.map(callFactsOf), settings).tally);
        const windowRows = [...windowHours].flatMap((start) => rows.get(start) ?? []).filter((row) => row.endedAt.getTime() >= since);
        return { today, window: tallyCalls(windowRows.map(callFactsOf), settings).tally };
      }),

    settle: (budgetMs = 10_000) =>
      guarded(async () => {
        const started = Date.now();
        const at = now();
        const names = await history.collectionNames();
        // Every local day that has an hour bucket, newest first, up to the last settled one.
        const days = new Set<string>();
        for (const name of names) {
          const m = /^history_s_(\d{4})(\d{2})(\d{2})(\d{2})$/.exec(name);
          if (m) days.add(localDayOf(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4])), zone));
        }
        const candidates = [...days].filter((day) => at >= localDayStart(addDays(day, 1), zone) + SETTLE_MS).sort().reverse();
        let done = 0;
        let pending = 0;
        for (const day of candidates) {
          const id = dayId(day, utcHoursOfLocalDay(day, zone), names);
          if (seenDays.has(id)) continue;
          if (Date.now() - started > budgetMs) {
            pending += 1;
            continue;
          }
          if ((await dayReport(day, names, at)).settled) done += 1;
        }
        return { done, pending };
      }, null),
  };
}
