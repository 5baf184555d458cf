// The call history store on the real database: appends, newest-first lists with filters and paging, finding one call,
// idempotent appends, and records that end either side of a UTC midnight or month boundary.
import { openTestDatabase } from './helpers/db';
import { createHistoryStore, type HistoryRecord, type HistoryStore } from '../src/models/history';
import { StoreUnavailableError } from '../src/errors';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let store: HistoryStore;

beforeEach(async () => {
  db = await openTestDatabase();
  store = createHistoryStore(db.connection);
});
afterEach(async () => {
  await db.drop();
});

let serial = 0;
/** A finished call ending at `endedAt` (ISO), with sensible defaults. */
function call(endedAt: string, overrides: Partial<HistoryRecord> = {}): HistoryRecord {
  serial += 1;
  const end = new Date(endedAt);
  return {
    _id: `CA${String(serial).padStart(32, '0')}`,
    startedAt: new Date(end.getTime() - 300_000),
    endedAt: end,
    from: '+15551230000',
    outcome: 'answered',
    agentIds: ['agent1'],
    offeredTo: ['agent1'],
    waitSeconds: 20,
    talkSeconds: 280,
    hungUpBy: 'customer',
    endReason: 'participant_hung_up',
    transfers: [],
    timeline: [
      { at: new Date(end.getTime() - 300_000), kind: 'queued' },
      { at: new Date(end.getTime() - 280_000), kind: 'answered', agentId: 'agent1' },
      { at: end, kind: 'hung-up', detail: 'participant_hung_up' },
    ],
    ...overrides,
  };
}

const ids = (rows: Array<{ _id: string }>) => rows.map((row) => row._id);

test('when calls are appended in any order, then newest lists them by end time, newest first, without their timelines', async () => {
  const a = call('2026-03-01T10:00:00Z');
  const b = call('2026-03-03T09:00:00Z');
  const c = call('2026-03-02T23:00:00Z');
  for (const record of [a, b, c]) await store.append(record);

  const rows = await store.newest();

  expect(ids(rows)).toEqual([b._id, c._id, a._id]);
  expect(rows[0]!.endedAt).toEqual(b.endedAt);
  expect(rows[0]!.endedAt).toBeInstanceOf(Date);
  expect(rows[0]).not.toHaveProperty('timeline');
  expect(rows[0]!.agentIds).toEqual(['agent1']);
});

test('when more calls match than the limit, then newest returns exactly the newest ones across day buckets', async () => {
  const records = Array.from({ length: 12 }, (_, i) => call(`2026-04-${String(1 + i).padStart(2, '0')}T12:00:00Z`));
  await store.appendMany(records);

  const rows = await store.newest({ limit: 5 });

  expect(ids(rows)).toEqual(ids(records.slice(-5).reverse()));
});

test('when a call is looked up by its CallSid and the day it ended, then the full record comes back, timeline included', async () => {
  const record = call('2026-05-05T08:30:00Z', {
    transfers: [{ from: 'agent1', to: 'agent2', mode: 'consult', outcome: 'completed', at: new Date('2026-05-05T08:28:00Z') }],
    agentIds: ['agent1', 'agent2'],
  });
  await store.append(record);

  const found = await store.find(record._id, '2026-05-05');

  expect(found).toEqual(record);
  expect(await store.find(record._id, '2026-05-04')).toBeNull();
  expect(await store.find('CAnope', '2026-05-05')).toBeNull();
});

test('when one call is appended twice, or five times at once, then it is stored once and the first version stays', async () => {
  const first = call('2026-06-01T10:00:00Z', { outcome: 'abandoned', agentIds: [], offeredTo: ['agent1'] });
  await store.append(first);

  await store.append({ ...first, endReason: 'a second finaliser' });
  await Promise.all(Array.from({ length: 5 }, () => store.append({ ...first, endReason: 'concurrent' })));

  expect(ids(await store.newest())).toEqual([first._id]);
  expect(ids(await store.newest({ agentId: 'agent1' }))).toEqual([first._id]);
  expect(ids(await store.newest({ outcome: 'abandoned' }))).toEqual([first._id]);
  expect(ids(await store.newest({ agentId: 'agent1', outcome: 'abandoned' }))).toEqual([first._id]);
  expect((await store.find(first._id, '2026-06-01'))?.endReason).toBe(first.endReason);
});

test('when a bulk append repeats calls already stored, then the new ones are added and nothing is duplicated', async () => {
  const old = call('2026-06-02T10:00:00Z');
  await store.append(old);
  const fresh = call('2026-06-02T11:00:00Z');

  await store.appendMany([old, fresh]);

  expect(ids(await store.newest())).toEqual([fresh._id, old._id]);
});

test('when filtering by agent, then only calls that agent talked on or was offered come back, newest first', async () => {
  const talked = call('2026-07-01T10:00:00Z', { agentIds: ['agent1', 'agent2'], offeredTo: ['agent1', 'agent2'] });
  const offeredOnly = call('2026-07-02T10:00:00Z', { agentIds: ['agent1'], offeredTo: ['agent2', 'agent1'] });
  const other = call('2026-07-03T10:00:00Z', { agentIds: ['agent3'], offeredTo: ['agent3'] });
  await store.appendMany([talked, offeredOnly, other]);

  expect(ids(await store.newest({ agentId: 'agent2' }))).toEqual([offeredOnly._id, talked._id]);
  expect(ids(await store.newest({ agentId: 'agent3' }))).toEqual([other._id]);
  expect(await store.newest({ agentId: 'agent9' })).toEqual([]);
});

test('when agent ids differ only by characters that are escaped in bucket names, then their calls never mix', async () => {
  const plain = call('2026-07-05T10:00:00Z', { agentIds: ['a'], offeredTo: ['a'] });
  const underscored = call('2026-07-05T11:00:00Z', { agentIds: ['a_b'], offeredTo: ['a_b'] });
  const lookalike = call('2026-07-05T12:00:00Z', { agentIds: ['a_5fb'], offeredTo: ['a_5fb'] });
  const dotted = call('2026-07-05T13:00:00Z', { agentIds: ['a.b@x'], offeredTo: ['a.b@x'] });
  await store.appendMany([plain, underscored, lookalike, dotted]);

  expect(ids(await store.newest({ agentId: 'a' }))).toEqual([plain._id]);
  expect(ids(await store.newest({ agentId: 'a_b' }))).toEqual([underscored._id]);
  expect(ids(await store.newest({ agentId: 'a_5fb' }))).toEqual([lookalike._id]);
  expect(ids(await store.newest({ agentId: 'a.b@x' }))).toEqual([dotted._id]);
});

test('when filtering by outcome, alone or with an agent and dates, then only matching calls come back', async () => {
  const answered = call('2026-08-01T10:00:00Z');
  const abandoned = call('2026-08-02T10:00:00Z', { outcome: 'abandoned', agentIds: [], offeredTo: ['agent1'] });
  const abandonedOther = call('2026-08-03T10:00:00Z', { outcome: 'abandoned', agentIds: [], offeredTo: ['agent2'] });
  const noAgent = call('2026-08-04T10:00:00Z', { outcome: 'no-agent', agentIds: [], offeredTo: [] });
  await store.appendMany([answered, abandoned, abandonedOther, noAgent]);

  expect(ids(await store.newest({ outcome: 'answered' }))).toEqual([answered._id]);
  expect(ids(await store.newest({ outcome: 'abandoned' }))).toEqual([abandonedOther._id, abandoned._id]);
  expect(ids(await store.newest({ outcome: 'abandoned', agentId: 'agent1' }))).toEqual([abandoned._id]);
  expect(ids(await store.newest({ outcome: 'answered', agentId: 'agent1' }))).toEqual([answered._id]);
  expect(ids(await store.newest({ outcome: 'no-agent' }))).toEqual([noAgent._id]);
  expect(ids(await store.newest({ outcome: 'abandoned', since: new Date('2026-08-03T00:00:00Z') }))).toEqual([abandonedOther._id]);
  expect(await store.newest({ outcome: 'failed' })).toEqual([]);
});

test('when a date range is given, then since is inclusive and until exclusive, to the millisecond', async () => {
  const before = call('2026-09-09T23:59:59.999Z');
  const atStart = call('2026-09-10T00:00:00.000Z');
  const inside = call('2026-09-11T15:00:00Z');
  const atEnd = call('2026-09-12T00:00:00.000Z');
  await store.appendMany([before, atStart, inside, atEnd]);

  const rows = await store.newest({ since: new Date('2026-09-10T00:00:00Z'), until: new Date('2026-09-12T00:00:00Z') });

  expect(ids(rows)).toEqual([inside._id, atStart._id]);
});

test('when calls end just before and just after midnight UTC, then each lands in its own day and both list in order', async () => {
  const lateNight = call('2026-10-14T23:59:59.999Z', { agentIds: ['agent7'], offeredTo: ['agent7'] });
  const afterMidnight = call('2026-10-15T00:00:00.000Z', { agentIds: ['agent7'], offeredTo: ['agent7'] });
  await store.append(afterMidnight);
  await store.append(lateNight);

  expect(ids(await store.newest())).toEqual([afterMidnight._id, lateNight._id]);
  expect(ids(await store.newest({ agentId: 'agent7' }))).toEqual([afterMidnight._id, lateNight._id]);
  expect((await store.find(lateNight._id, '2026-10-14'))?._id).toBe(lateNight._id);
  expect(await store.find(lateNight._id, '2026-10-15')).toBeNull();
  expect((await store.find(afterMidnight._id, new Date('2026-10-15T18:00:00Z')))?._id).toBe(afterMidnight._id);
  expect(ids(await store.newest({ until: new Date('2026-10-15T00:00:00Z') }))).toEqual([lateNight._id]);
});

test('when an agent has rare-outcome calls either side of a month boundary, then the monthly buckets list both, and dates split them', async () => {
  const october = call('2026-10-31T23:59:59.999Z', { outcome: 'timed-out', agentIds: [], offeredTo: ['agent8'] });
  const november = call('2026-11-01T00:00:00.000Z', { outcome: 'timed-out', agentIds: [], offeredTo: ['agent8'] });
  await store.appendMany([november, october]);

  expect(ids(await store.newest({ agentId: 'agent8', outcome: 'timed-out' }))).toEqual([november._id, october._id]);
  expect(ids(await store.newest({ agentId: 'agent8', outcome: 'timed-out', since: new Date('2026-11-01T00:00:00Z') }))).toEqual([november._id]);
  expect(ids(await store.newest({ agentId: 'agent8', outcome: 'timed-out', until: new Date('2026-11-01T00:00:00Z') }))).toEqual([october._id]);
  expect(ids(await store.newest({ agentId: 'agent8', outcome: 'timed-out', before: { endedAt: november.endedAt, id: november._id } }))).toEqual([october._id]);
});

test('when paging with the last row of each page, then every call appears exactly once, ties on end time included', async () => {
  const sameMoment = '2026-12-01T12:00:00.000Z';
  const records = [
    ...Array.from({ length: 4 }, () => call(sameMoment)),
    ...Array.from({ length: 5 }, (_, i) => call(`2026-11-${String(25 + i).padStart(2, '0')}T08:00:00Z`)),
  ];
  await store.appendMany(records);

  const seen: string[] = [];
  let before: { endedAt: Date; id: string } | undefined;
  for (let page = 0; page < 10; page += 1) {
    const rows = await store.newest({ limit: 3, before });
    if (rows.length === 0) break;
    seen.push(...ids(rows));
    const last = rows.at(-1)!;
    before = { endedAt: last.endedAt, id: last._id };
  }

  const expected = [...records].sort((x, y) => y.endedAt.getTime() - x.endedAt.getTime() || (x._id < y._id ? 1 : -1));
  expect(seen).toEqual(ids(expected));
});

test('when another store instance writes a new day, then this one lists it once its bucket cache expires', async () => {
  const reader = createHistoryStore(db.connection, { bucketCacheMs: 0 });
  await reader.append(call('2027-01-01T10:00:00Z'));
  const writer = createHistoryStore(db.connection);
  const later = call('2027-01-02T10:00:00Z');

  await writer.append(later);

  expect(ids(await reader.newest({ limit: 1 }))).toEqual([later._id]);
});

test('when a record is not a finished call, then append refuses it and stores nothing', async () => {
  const bad = call('2027-02-01T10:00:00Z', { endedAt: new Date('not a date') });

  await expect(store.append(bad)).rejects.toThrow(/endedAt/);
  await expect(store.append({ ...call('2027-02-01T10:00:00Z'), outcome: 'lost' as never })).rejects.toThrow(/outcome/);
  expect(await store.newest()).toEqual([]);
});

test('when the database connection is gone, then reads and appends fail as StoreUnavailableError instead of a raw driver error', async () => {
  const other = await openTestDatabase();
  const orphan = createHistoryStore(other.connection);
  await other.drop();

  await expect(orphan.newest()).rejects.toBeInstanceOf(StoreUnavailableError);
  await expect(orphan.find('CA1', '2026-01-01')).rejects.toBeInstanceOf(StoreUnavailableError);
  await expect(orphan.append(call('2027-03-01T10:00:00Z'))).rejects.toBeInstanceOf(StoreUnavailableError);
});
