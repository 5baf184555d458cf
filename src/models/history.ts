// The call history: one record per finished customer call, kept in small time-bucketed collections so reads stay fast.
//
// Why buckets: FerretDB 1.24 (SQLite backend) reads every document of a collection for a query, indexes or not, and
// sorts in memory; what a query costs is the number of documents it decodes times their size (measured: ~150 µs per
// record without its timeline, ~450 µs with it; "newest 50" of one 100k collection takes seconds). An _id equality
// with a limit is the exception: SQLite compares it without decoding (~5 µs a row). So the history is split into
// collections small enough to read whole, a list never decodes a timeline, and a read walks only the few it needs:
//
//   history_r_YYYYMMDD                    full records, by the UTC day of endedAt: the detail page, by (day, CallSid)
//   history_s_YYYYMMDDHH                  summaries (the record without its timeline) of every call, by UTC hour
//   history_a_<agent>_YYYYMMDD            summaries, once per agent involved (agentIds ∪ offeredTo), by UTC day
//   history_o_<outcome>_YYYYMMDD          summaries of calls whose outcome is not 'answered' (the rare ones), by UTC day
//   history_ao_<agent>_<outcome>_YYYYMM   the same per agent, by UTC month (an agent's rare outcomes are few)
//
// A list picks the smallest family its filters allow (agent+rare outcome → ao, agent → a, rare outcome → o, else s),
// walks that family's buckets newest first, asks each for the rows still missing (sorted by endedAt, _id descending),
// and stops at the limit: "newest 50" reads one or two buckets whatever the size of the history (sparse buckets are
// asked in parallel rounds of 1, 2, 4 … 16, so a thin history costs a few round trips, not one per bucket). Time filters and the
// paging cursor skip whole buckets. Which buckets exist comes from listCollections, cached for a few seconds and
// extended as this process writes, so empty buckets are never queried. A bucket's cost follows recent traffic — one
// hour of the whole centre, one agent's day, one rare outcome's day, one agent's month of rare outcomes — never the
// stored total (measured by bench/history.ts: newest 50 at 100k stored calls, 90 days, 20 agents, in tens of ms).
// The price is many small collections (about 50 a day at 1,100 calls a day); inserts and listCollections stay cheap.
// The buckets live in a database of their own beside the app's (`warm_transfer_history` next to `warm_transfer`): FerretDB
// 1.24 answers every find and aggregate by first listing the collections of the database — a sorted copy of all of them
// (handler/msg_find.go → sqlite ListCollections → Registry.CollectionList) — so thousands of buckets in the app's
// database made every live query pay for the history (measured: find on a 3-document collection 0.8 ms beside 1
// collection, 2.5 ms beside 4,700; /api/me 14 → 33 ms by bench/growth.ts). Each database is its own SQLite file, so
// creating a bucket also no longer invalidates the live collections' statements ("database schema has changed").
// Names: agent ids and outcomes keep letters, digits and '-', every other byte is written _xx, so a name maps back to
// exactly one agent. Lists return summaries; the full record (with its timeline) comes from find(CallSid, day).
//
// Writes: a record is inserted into each of its buckets (inserts stay ~2 ms each on FerretDB; they run in parallel,
// the all-calls summary last so a listed call always has its detail). `_id` is the customer's CallSid, so a repeated
// append — one call finalised twice, by two instances or after a crash half-way — is a duplicate-key insert, treated
// as success; the first record written wins, and missing copies are filled in. A record's buckets follow its
// `endedAt`: finalisers must take it from the stored call (not from `now`) so two instances write the same buckets.
//
// Late markers (issue 21): the reports read per-hour and per-day summaries derived from the hour buckets
// (src/models/report-summary.ts) once an hour is over. A record whose hour was already over when its insert
// finished is "late" (a call ending on the hour, a bulk import): after its inserts, an empty marker collection
// history_x_YYYYMMDD_<CallSid> (or _bulk-<random> per day of an import) is created. A summary names how many markers
// its UTC days had when it was computed, so a late record makes a new summary be computed; markers are collections,
// so the cached bucket list tells how many there are without a query.
import { randomBytes } from 'node:crypto';
import type { Connection } from 'mongoose';
import type { Collection, Db, Filter } from 'mongodb';
import { isDuplicateKey, StoreUnavailableError, withDeadline } from '../errors';

export { OUTCOMES, TRANSFER_MODES } from '../contact-center/history';
export type { HistoryRecord, Outcome, TimelineEntry, TransferMode, TransferRecord } from '../contact-center/history';
import { OUTCOMES, type HistoryRecord, type Outcome } from '../contact-center/history';

/** What lists show and the CSV exports: the record without its timeline (decoding timelines is what makes scans slow). */
export type HistorySummary = Omit<HistoryRecord, 'timeline'>;

export interface HistoryQuery {
  /** 1..MAX_QUERY_LIMIT, default 50. */
  limit?: number;
  /** Calls this agent talked on or was offered. */
  agentId?: string;
  /** endedAt >= since */
  since?: Date;
  /** endedAt < until */
  until?: Date;
  outcome?: Outcome;
  /** Paging: only calls strictly after this one in (endedAt, _id) descending order (the last row of the previous page). */
  before?: { endedAt: Date; id: string };
}

export interface HistoryStore {
  /** Stores a finished call; appending the same CallSid again is a success that changes nothing already written. */
  append(record: HistoryRecord): Promise<void>;
  /** Bulk append (imports, the benchmark): grouped per bucket, unordered, duplicates ignored. */
  appendMany(records: readonly HistoryRecord[]): Promise<void>;
  /** Summaries, newest first by (endedAt, _id) descending. */
  newest(query?: HistoryQuery): Promise<HistorySummary[]>;
  /** One full record by its CallSid and the UTC day it ended ('YYYY-MM-DD', or a Date on that day). */
  find(callSid: string, day: string | Date): Promise<HistoryRecord | null>;
  /**
   * The history database's collection names (cached for bucketCacheMs, extended by this process's writes). With
   * `staleOk`, an expired list is answered at once while it is read again (the board's tiles must not wait for it).
   */
  collectionNames(options?: { staleOk?: boolean }): Promise<ReadonlySet<string>>;
  /** Every summary in the all-calls bucket of the UTC hour starting at `hourStart` (ms), ending at or after `since`. */
  hourSummaries(hourStart: number, since?: Date): Promise<HistorySummary[]>;
  /** Calls `listener` with the summary of each call this store has just stored (append and appendMany); returns the unsubscribe. */
  onAppend(listener: (summary: HistorySummary) => void): () => void;
}

export interface HistoryStoreOptions {
  /** How long the list of existing buckets is trusted before it is read again (other instances create buckets too). */
  bucketCacheMs?: number;
  /** Each operation's deadline (appendMany has none); a database that fails or does not answer in time becomes StoreUnavailableError. */
  timeoutMs?: number;
  /** The clock that decides whether an append is late (tests). */
  now?: () => number;
}

export const MAX_QUERY_LIMIT = 10_000;
const PREFIX = { record: 'history_r_', summary: 'history_s_', agent: 'history_a_', outcome: 'history_o_', agentOutcome: 'history_ao_', late: 'history_x_' } as const;
const HOUR_MS = 3_600_000;

interface Bucket {
  name: string;
  /** Inclusive start and exclusive end of the endedAt range the bucket holds. */
  start: number;
  end: number;
}

/** The database the history of the app database `appDatabase` lives in. */
export function historyDatabaseName(appDatabase: string): string {
  return `${appDatabase}_history`;
}

/** The UTC day of `date` as 'YYYY-MM-DD'. */
export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** Collection-name-safe and reversible form of an id: letters, digits and '-' kept, every other byte as _xx. */
function encodeKey(key: string): string {
  return Array.from(Buffer.from(key, 'utf8'))
    .map((byte) => {
      const ch = String.fromCharCode(byte);
      return /[A-Za-z0-9-]/.test(ch) ? ch : `_${byte.toString(16).padStart(2, '0')}`;
    })
    .join('');
}

const dayPart = (date: Date): string => utcDay(date).replaceAll('-', '');
const hourPart = (date: Date): string => `${dayPart(date)}${date.toISOString().slice(11, 13)}`;
const monthPart = (date: Date): string => dayPart(date).slice(0, 6);
const agentPrefix = (agentId: string): string => `${PREFIX.agent}${encodeKey(agentId)}_`;
const outcomePrefix = (outcome: string): string => `${PREFIX.outcome}${encodeKey(outcome)}_`;
const agentOutcomePrefix = (agentId: string, outcome: string): string => `${PREFIX.agentOutcome}${encodeKey(agentId)}_${encodeKey(outcome)}_`;

/** The all-calls summary bucket of the UTC hour starting at `hourStart` (ms). */
export function summaryBucketName(hourStart: number): string {
  return `${PREFIX.summary}${hourPart(new Date(hourStart))}`;
}

/** A late marker for UTC day `day` ('YYYYMMDD'): an empty collection, named after the call or the import. */
function lateMarkerName(day: string, suffix: string): string {
  return `${PREFIX.late}${day}_${encodeKey(suffix)}`;
}

/** How many late markers each UTC day ('YYYYMMDD') has among `names`. */
export function lateMarkerCounts(names: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const name of names) {
    if (!name.startsWith(PREFIX.late)) continue;
    const day = name.slice(PREFIX.late.length, PREFIX.late.length + 8);
    counts.set(day, (counts.get(day) ?? 0) + 1);
  }
  return counts;
}

/** How many late markers UTC day `day` (ms of any instant in it) has among `names`. */
export function lateMarkersOf(names: Iterable<string>, day: number): number {
  return lateMarkerCounts(names).get(dayPart(new Date(day))) ?? 0;
}

/** Every collection `record` is stored in: its full-record bucket first, the all-calls summary bucket last. */
export function bucketNamesFor(record: Pick<HistoryRecord, 'endedAt' | 'agentIds' | 'offeredTo' | 'outcome'>): { record: string; summaries: string[] } {
  const day = dayPart(record.endedAt);
  const month = monthPart(record.endedAt);
  const agents = [...new Set([...record.agentIds, ...record.offeredTo])];
  const summaries = agents.map((agentId) => `${agentPrefix(agentId)}${day}`);
  if (record.outcome !== 'answered') {
    summaries.push(`${outcomePrefix(record.outcome)}${day}`);
    for (const agentId of agents) summaries.push(`${agentOutcomePrefix(agentId, record.outcome)}${month}`);
  }
  summaries.push(`${PREFIX.summary}${hourPart(record.endedAt)}`);
  return { record: `${PREFIX.record}${day}`, summaries };
}

/** The endedAt range of a bucket from the date part of its name (YYYYMMDDHH: an hour, YYYYMMDD: a day, YYYYMM: a month). */
function bucketRange(name: string, datePart: string): Bucket | undefined {
  const year = Number(datePart.slice(0, 4));
  const month = Number(datePart.slice(4, 6)) - 1;
  if (datePart.length === 10) {
    const start = Date.UTC(year, month, Number(datePart.slice(6, 8)), Number(datePart.slice(8, 10)));
    return { name, start, end: start + 3_600_000 };
  }
  if (datePart.length === 8) {
    const start = Date.UTC(year, month, Number(datePart.slice(6, 8)));
    return { name, start, end: Date.UTC(year, month, Number(datePart.slice(6, 8)) + 1) };
  }
  return { name, start: Date.UTC(year, month, 1), end: Date.UTC(year, month + 1, 1) };
}

/** The buckets of one family (exactly `prefix` followed by the date part), newest first. */
function familyBuckets(names: Iterable<string>, prefix: string, digits: 6 | 8 | 10): Bucket[] {
  const pattern = new RegExp(`^\\d{${digits}}$`);
  const buckets: Bucket[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    if (!pattern.test(rest)) continue;
    const bucket = bucketRange(name, rest);
    if (bucket && !Number.isNaN(bucket.start)) buckets.push(bucket);
  }
  return buckets.sort((a, b) => b.start - a.start);
}

/** A duplicate _id is what a repeated append looks like; for a bulk insert, every row's error must be one. */
function onlyDuplicateKeys(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const writeErrors = (err as { writeErrors?: unknown }).writeErrors;
  if (Array.isArray(writeErrors) && writeErrors.length > 0) return writeErrors.every(isDuplicateKey);
  return isDuplicateKey(err);
}

function validate(record: HistoryRecord): void {
  if (typeof record._id !== 'string' || record._id.length === 0) throw new TypeError('history record needs its CallSid as _id');
  for (const key of ['startedAt', 'endedAt'] as const) {
    if (!(record[key] instanceof Date) || Number.isNaN(record[key].getTime())) throw new TypeError(`history record ${key} must be a valid Date`);
  }
  if (!OUTCOMES.includes(record.outcome)) throw new TypeError(`history record outcome must be one of ${OUTCOMES.join(', ')}`);
}

function summaryOf(record: HistoryRecord): HistorySummary {
  const { timeline: _timeline, ...summary } = record;
  return summary;
}

/** Creates the history store on the app's mongoose connection. */
export function createHistoryStore(connection: Connection, options: HistoryStoreOptions = {}): HistoryStore {
  const cacheMs = options.bucketCacheMs ?? 5000;
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 5000;
  let known: Set<string> | undefined;
  let knownAt = 0;
  let loading: Promise<Set<string>> | undefined;
  let writtenWhileLoading: Set<string> | undefined;
  const appendListeners = new Set<(summary: HistorySummary) => void>();
  const appended = (summary: HistorySummary): void => {
    for (const listener of appendListeners) listener(summary);
  };

  /** The history's own database beside the app's: `<app database>_history` (see the header on why). */
  function historyDb(): Db {
    if (!connection.db) throw new Error('the database connection is not open');
    return connection.getClient().db(historyDatabaseName(connection.name));
  }

  function collection<T extends HistorySummary>(name: string): Collection<T> {
    return historyDb().collection<T>(name);
  }

  async function bucketNames(staleOk = false): Promise<Set<string>> {
    if (known && Date.now() - knownAt < cacheMs) return known;
    if (known && staleOk) {
      bucketNames().catch(() => undefined);
      return known;
    }
    loading ??= (async () => {
      writtenWhileLoading = new Set();
      try {
        const startedAt = Date.now();
        const list = await historyDb().listCollections({}, { nameOnly: true }).toArray();
        const names = new Set(list.map((c) => c.name).filter((n) => n.startsWith('history_')));
        // Buckets this process created while the list was being read may be missing from it.
        for (const name of writtenWhileLoading) names.add(name);
        known = names;
        knownAt = startedAt;
        return names;
      } finally {
        writtenWhileLoading = undefined;
        loading = undefined;
      }
    })();
    return loading;
  }

  function remember(names: Iterable<string>): void {
    for (const name of names) {
      known?.add(name);
      writtenWhileLoading?.add(name);
    }
  }

  async function insertIgnoringDuplicates<T extends HistorySummary>(name: string, docs: T[]): Promise<void> {
    try {
      if (docs.length === 1) await collection<T>(name).insertOne(docs[0]! as never);
      else await collection<T>(name).insertMany(docs as never[], { ordered: false });
    } catch (err) {
      if (!onlyDuplicateKeys(err)) throw err;
    }
  }

  async function walk(buckets: Bucket[], query: HistoryQuery, extra: Filter<HistorySummary>, limit: number): Promise<HistorySummary[]> {
    const since = query.since?.getTime() ?? -Infinity;
    const until = Math.min(query.until?.getTime() ?? Infinity, query.before ? query.before.endedAt.getTime() + 1 : Infinity);
    const clauses: Filter<HistorySummary>[] = [extra];
    if (query.since || query.until) clauses.push({ endedAt: { ...(query.since ? { $gte: query.since } : {}), ...(query.until ? { $lt: query.until } : {}) } });
    if (query.before) {
      const { endedAt, id } = query.before;
      clauses.push({ $or: [{ endedAt: { $lt: endedAt } }, { endedAt, _id: { $lt: id } }] });
    }
    const filter = clauses.length === 1 ? clauses[0]! : { $and: clauses };

    // Sparse buckets cost a round trip each: ask 1, then 2, 4, … (at most 16) buckets at once while rows are missing,
    // so a dense history reads one bucket and a sparse one takes a few rounds instead of one per bucket.
    const inRange = buckets.filter((bucket) => bucket.start < until && bucket.end > since);
    const out: HistorySummary[] = [];
    let next = 0;
    for (let width = 1; out.length < limit && next < inRange.length; width = Math.min(width * 2, 16)) {
      const round = inRange.slice(next, next + width);
      next += round.length;
      const missing = limit - out.length;
      const results = await Promise.all(
        round.map((bucket) => collection<HistorySummary>(bucket.name).find(filter).sort({ endedAt: -1, _id: -1 }).limit(missing).toArray()),
      );
      for (const rows of results) out.push(...(rows as HistorySummary[]).slice(0, limit - out.length));
    }
    return out;
  }

  /** The database's failures and silences as StoreUnavailableError (503 for people), after `timeoutMs` at most. */
  async function guarded<T>(operation: () => Promise<T>, deadlineMs: number | null = timeoutMs): Promise<T> {
    try {
      if (deadlineMs === null) return await operation();
      return await withDeadline(operation(), deadlineMs, () => new Error(`no answer within ${deadlineMs} ms`));
    } catch (err) {
      throw new StoreUnavailableError(err);
    }
  }

  return {
    async append(record) {
      validate(record);
      return guarded(() => appendOne(record));
    },

    async appendMany(records) {
      for (const record of records) validate(record);
      // A bulk import takes as long as it takes: no deadline, but failures still come out as StoreUnavailableError.
      return guarded(() => appendAll(records), null);
    },

    newest: (query = {}) => guarded(() => newest(query)),

    find: (callSid, day) => guarded(() => find(callSid, day)),

    collectionNames: (options) => guarded(() => bucketNames(options?.staleOk)),

    onAppend(listener) {
      appendListeners.add(listener);
      return () => appendListeners.delete(listener);
    },

    hourSummaries: (hourStart, since) =>
      guarded(async () => {
        const name = summaryBucketName(hourStart);
        if (!(await bucketNames()).has(name)) return [];
        const filter: Filter<HistorySummary> = since ? { endedAt: { $gte: since } } : {};
        return (await collection<HistorySummary>(name).find(filter).toArray()) as HistorySummary[];
      }),
  };

  /** Marks `days` (UTC, 'YYYYMMDD' → marker suffix) as having late records: see the header. */
  async function markLate(markers: Map<string, string>): Promise<void> {
    if (markers.size === 0) return;
    const names = [...markers].map(([day, suffix]) => lateMarkerName(day, suffix));
    await Promise.all(names.map((name) => insertIgnoringDuplicates(name, [{ _id: 'late' } as never])));
    remember(names);
  }

  /** Whether `endedAt`'s hour was over when the insert finished (now). */
  function isLate(endedAt: Date): boolean {
    return now() >= Math.floor(endedAt.getTime() / HOUR_MS) * HOUR_MS + HOUR_MS;
  }

  async function appendOne(record: HistoryRecord): Promise<void> {
    const names = bucketNamesFor(record);
    const summary = summaryOf(record);
    const lists = names.summaries.slice(0, -1);
    const all = names.summaries.at(-1)!;
    await Promise.all([insertIgnoringDuplicates(names.record, [record]), ...lists.map((name) => insertIgnoringDuplicates(name, [summary]))]);
    await insertIgnoringDuplicates(all, [summary]);
    remember([names.record, ...names.summaries]);
    if (isLate(record.endedAt)) await markLate(new Map([[dayPart(record.endedAt), record._id]]));
    appended(summary);
  }

  async function appendAll(records: readonly HistoryRecord[]): Promise<void> {
    const groups = new Map<string, HistorySummary[]>();
    const add = (name: string, doc: HistorySummary): void => {
      const group = groups.get(name);
      if (group) group.push(doc);
      else groups.set(name, [doc]);
    };
    for (const record of records) {
      const names = bucketNamesFor(record);
      add(names.record, record);
      const summary = summaryOf(record);
      for (const name of names.summaries) add(name, summary);
    }
    for (const [name, docs] of groups) {
      for (let i = 0; i < docs.length; i += 1000) await insertIgnoringDuplicates(name, docs.slice(i, i + 1000));
    }
    remember(groups.keys());
    // One marker per UTC day of the import that holds a late record.
    const batch = `bulk-${randomBytes(6).toString('hex')}`;
    await markLate(new Map(records.filter((r) => isLate(r.endedAt)).map((r) => [dayPart(r.endedAt), batch])));
    for (const record of records) appended(summaryOf(record));
  }

  async function newest(query: HistoryQuery): Promise<HistorySummary[]> {
    const limit = Math.min(Math.max(Math.trunc(query.limit ?? 50), 1), MAX_QUERY_LIMIT);
    const names = await bucketNames();
    const rare = query.outcome !== undefined && query.outcome !== 'answered';
    if (query.agentId !== undefined && rare) return walk(familyBuckets(names, agentOutcomePrefix(query.agentId, query.outcome!), 6), query, {}, limit);
    const byOutcome: Filter<HistorySummary> = query.outcome ? { outcome: query.outcome } : {};
    if (query.agentId !== undefined) return walk(familyBuckets(names, agentPrefix(query.agentId), 8), query, byOutcome, limit);
    if (rare) return walk(familyBuckets(names, outcomePrefix(query.outcome!), 8), query, {}, limit);
    return walk(familyBuckets(names, PREFIX.summary, 10), query, byOutcome, limit);
  }

  async function find(callSid: string, day: string | Date): Promise<HistoryRecord | null> {
    const date = typeof day === 'string' ? new Date(`${day}T00:00:00.000Z`) : day;
    if (Number.isNaN(date.getTime())) return null;
    // A direct read by _id (no decoding of other rows); a bucket that does not exist answers empty without being created.
    const row = await collection<HistoryRecord>(`${PREFIX.record}${dayPart(date)}`).findOne({ _id: callSid } as Filter<HistoryRecord>);
    return (row as HistoryRecord | null) ?? null;
  }
}
