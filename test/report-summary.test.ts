// The report's per-hour and per-day summaries on the real database: they equal the metrics of the calls, are stored
// once a day is over and read back, follow calls that arrive late, stay exact when many calls finish at once and
// summaries are computed meanwhile (by two instances), cover a 25-hour day, and are built for history stored before.
import { openTestDatabase } from './helpers/db';
import { createHistoryStore, type HistoryRecord } from '../src/models/history';
import { createReportSummaries, reportDatabaseName, SETTLE_MS, type ReportSettings } from '../src/models/report-summary';
import { callFactsOf, tallyCalls } from '../src/contact-center/metrics';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let clock: number;
const now = () => clock;
const SETTINGS: ReportSettings = { answerTargetSeconds: 20, shortAbandonSeconds: 5, timeZone: 'UTC' };

beforeEach(async () => {
  db = await openTestDatabase();
});
afterEach(async () => {
  await db.drop();
});

let serial = 0;
/** A finished call ending at `endedAt` after waiting `wait` seconds, answered (talking 60 s) unless `outcome` says not. */
function call(endedAt: string, wait: number, outcome: HistoryRecord['outcome'] = 'answered', agent = 'ada'): HistoryRecord {
  serial += 1;
  const end = Date.parse(endedAt);
  const answered = outcome === 'answered';
  const start = end - (wait + (answered ? 60 : 0)) * 1000;
  return {
    _id: `CA${String(serial).padStart(32, '0')}`,
    startedAt: new Date(start),
    endedAt: new Date(end),
    outcome,
    agentIds: answered ? [agent] : [],
    offeredTo: outcome === 'no-agent' ? [] : [agent],
    waitSeconds: wait,
    talkSeconds: answered ? 60 : 0,
    ...(answered ? { answeredAt: new Date(start + wait * 1000), answeredBy: agent } : {}),
    transfers: [],
    timeline: [],
  };
}

function stores(options: { bucketCacheMs?: number; settings?: ReportSettings; rowCacheMs?: number } = {}) {
  const history = createHistoryStore(db.connection, { now, bucketCacheMs: options.bucketCacheMs ?? 0 });
  const summaries = createReportSummaries(db.connection, history, options.settings ?? SETTINGS, { now, rowCacheMs: options.rowCacheMs });
  return { history, summaries };
}

const storedDays = () => db.connection.getClient().db(reportDatabaseName(db.connection.name)).collection('report_days_202603').find({}).toArray();

test('when a day is over, then its summary equals the metrics of its calls, hour by hour, and is stored and read back', async () => {
  const calls = [call('2026-03-10T09:10:00Z', 5), call('2026-03-10T09:50:00Z', 30), call('2026-03-10T14:00:00Z', 3, 'abandoned'), call('2026-03-10T14:30:00Z', 12, 'abandoned', 'grace')];
  const { history, summaries } = stores();
  for (const record of calls) {
    clock = record.endedAt.getTime() + 1000;
    await history.append(record);
  }
  clock = Date.parse('2026-03-11T00:00:00Z') + SETTLE_MS;

  const [first] = await summaries.days('2026-03-10', '2026-03-10');
  const [again] = await summaries.days('2026-03-10', '2026-03-10');

  const expected = tallyCalls(calls.map(callFactsOf), SETTINGS);
  expect(first!.settled).toBe(true);
  expect(first!.tally).toEqual(expected.tally);
  expect(first!.agents).toEqual(expected.agents);
  expect(first!.hours).toHaveLength(24);
  expect(first!.hours[9]!.tally).toMatchObject({ offered: 2, answered: 2, answeredWithinTarget: 1 });
  expect(first!.hours[14]!.tally).toMatchObject({ offered: 2, abandoned: 2, shortAbandoned: 1 });
  expect(again).toEqual(first);
  expect((await storedDays()).map((d) => d._id)).toEqual(['UTC|2026-03-10|T20|S5|g0']);
});

test('when a call ending in a summarised day is stored late, then the next read counts it', async () => {
  clock = Date.parse('2026-03-10T09:00:01Z');
  const { history, summaries } = stores();
  await history.append(call('2026-03-10T09:00:00Z', 5));
  clock = Date.parse('2026-03-12T00:00:00Z');
  expect((await summaries.days('2026-03-10', '2026-03-10'))[0]!.tally.offered).toBe(1);

  await history.append(call('2026-03-10T09:30:00Z', 50, 'abandoned'));
  const [day] = await summaries.days('2026-03-10', '2026-03-10');

  expect(day!.tally).toMatchObject({ offered: 2, abandoned: 1 });
  expect((await storedDays()).map((d) => d._id).sort()).toEqual(['UTC|2026-03-10|T20|S5|g0', 'UTC|2026-03-10|T20|S5|g1']);
});

test('when 30 calls finish at once while two instances compute the summaries, then all 30 are counted', async () => {
  // Two app instances on one database, each with its own stores; the calls end in an hour that is already over, so
  // each is a late arrival racing the summaries being computed.
  clock = Date.parse('2026-03-12T00:00:00Z');
  const a = stores();
  const b = stores();
  const calls = Array.from({ length: 30 }, (_, i) => call(`2026-03-10T09:${String(i).padStart(2, '0')}:00Z`, i, i % 3 === 0 ? 'abandoned' : 'answered'));

  const reads: Array<Promise<unknown>> = [];
  const appends = calls.map(async (record, i) => {
    await (i % 2 ? a : b).history.append(record);
    reads.push((i % 2 ? b : a).summaries.days('2026-03-10', '2026-03-10'));
  });
  await Promise.all(appends);
  await Promise.all(reads);

  for (const instance of [a, b]) {
    const [day] = await instance.summaries.days('2026-03-10', '2026-03-10');
    expect(day!.tally.offered).toBe(30);
    expect(day!.tally.abandoned).toBe(10);
    expect(day!.tally).toEqual(tallyCalls(calls.map(callFactsOf), SETTINGS).tally);
  }
});

test('when 30 calls finish at once within their hour, then the summaries of that day count 30 once it is over', async () => {
  clock = Date.parse('2026-03-10T09:30:00Z');
  const a = stores();
  const b = stores();
  const calls = Array.from({ length: 30 }, (_, i) => call('2026-03-10T09:29:59Z', i));

  await Promise.all(calls.map((record, i) => (i % 2 ? a : b).history.append(record)));
  expect((await a.summaries.recent(15 * 60_000)).window.offered).toBe(30);
  clock = Date.parse('2026-03-11T00:00:00Z') + SETTLE_MS;
  const [fromA, fromB] = await Promise.all([a.summaries.days('2026-03-10', '2026-03-10'), b.summaries.days('2026-03-10', '2026-03-10')]);

  expect(fromA![0]!.tally.offered).toBe(30);
  expect(fromB![0]!.tally.offered).toBe(30);
  expect(await storedDays()).toHaveLength(1);
});

test('when the clocks go back in the report zone, then the 25-hour day holds the calls of both 02:00 hours', async () => {
  const settings: ReportSettings = { ...SETTINGS, timeZone: 'Europe/Paris' };
  clock = Date.parse('2026-10-26T12:00:00Z');
  const { history, summaries } = stores({ settings });
  await history.appendMany([call('2026-10-25T00:10:00Z', 5), call('2026-10-25T01:10:00Z', 5), call('2026-10-24T21:59:00Z', 5), call('2026-10-25T23:00:00Z', 5)]);

  const [day] = await summaries.days('2026-10-25', '2026-10-25');

  expect(day!.hours).toHaveLength(25);
  // 00:10Z and 01:10Z are both 02:10 local; 21:59Z on the 24th is 23:59 the day before; 23:00Z is 00:00 the day after.
  expect(day!.tally.offered).toBe(2);
  expect(day!.hours.filter((h) => h.tally.offered > 0).map((h) => new Date(h.start).toISOString())).toEqual(['2026-10-25T00:00:00.000Z', '2026-10-25T01:00:00.000Z']);
});

test('when today is not over, then today and the last 15 minutes are counted from the calls just stored', async () => {
  clock = Date.parse('2026-03-10T12:10:00Z');
  const { history, summaries } = stores();
  await history.appendMany([call('2026-03-10T08:00:00Z', 5), call('2026-03-10T11:50:00Z', 5, 'abandoned'), call('2026-03-10T11:58:00Z', 25), call('2026-03-10T12:05:00Z', 2, 'abandoned'), call('2026-03-09T23:59:00Z', 5)]);

  const { today, window } = await summaries.recent(15 * 60_000);

  expect(today).toMatchObject({ offered: 4, answered: 2, abandoned: 2, shortAbandoned: 1 });
  expect(window).toMatchObject({ offered: 2, answered: 1, answeredWithinTarget: 0, abandoned: 1, shortAbandoned: 1 });
});

test('when the history was stored before the summaries existed, then the settling pass builds every past day and reports read them', async () => {
  clock = Date.parse('2026-03-20T12:00:00Z');
  const { history, summaries } = stores();
  const old = [call('2026-03-01T10:00:00Z', 5), call('2026-03-02T10:00:00Z', 40), call('2026-03-19T23:30:00Z', 5), call('2026-03-20T09:00:00Z', 5)].map(({ answeredAt: _a, answeredBy: _b, ...r }) => r as HistoryRecord);
  await history.appendMany(old);

  const pass = await summaries.settle();
  const days = await summaries.days('2026-03-01', '2026-03-20');

  expect(pass).toEqual({ done: 3, pending: 0 });
  expect((await storedDays()).map((d) => JSON.parse(d.data as string).day).sort()).toEqual(['2026-03-01', '2026-03-02', '2026-03-19']);
  expect(days.filter((d) => d.tally.offered > 0).map((d) => [d.day, d.settled])).toEqual([
    ['2026-03-01', true],
    ['2026-03-02', true],
    ['2026-03-19', true],
    ['2026-03-20', false],
  ]);
  expect(days.reduce((n, d) => n + d.tally.answeredWithinTarget, 0)).toBe(3);
});

test('when the definitions change, then new summaries are computed instead of reusing the old ones', async () => {
  clock = Date.parse('2026-03-10T09:00:01Z');
  const { history, summaries } = stores();
  await history.append(call('2026-03-10T09:00:00Z', 25));
  clock = Date.parse('2026-03-12T00:00:00Z');
  expect((await summaries.days('2026-03-10', '2026-03-10'))[0]!.tally.answeredWithinTarget).toBe(0);

  const wider = createReportSummaries(db.connection, history, { ...SETTINGS, answerTargetSeconds: 30 }, { now });
  const [day] = await wider.days('2026-03-10', '2026-03-10');

  expect(day!.tally.answeredWithinTarget).toBe(1);
  expect((await storedDays()).map((d) => d._id).sort()).toEqual(['UTC|2026-03-10|T20|S5|g0', 'UTC|2026-03-10|T30|S5|g0']);
});

test('when this instance stores a call, then the tiles count it at once; another instance\'s call once its rows are read again', async () => {
  clock = Date.parse('2026-03-10T09:30:00Z');
  const a = stores({ rowCacheMs: 60_000 });
  const b = stores();
  expect((await a.summaries.recent(15 * 60_000)).window.offered).toBe(0);

  await a.history.append(call('2026-03-10T09:29:00Z', 5));
  await b.history.append(call('2026-03-10T09:29:30Z', 5));
  const cached = await a.summaries.recent(15 * 60_000);
  const fresh = await createReportSummaries(db.connection, a.history, SETTINGS, { now, rowCacheMs: 0 }).recent(15 * 60_000);

  expect(cached.window.offered).toBe(1);
  expect(cached.today.offered).toBe(1);
  expect(fresh.window.offered).toBe(2);
});
