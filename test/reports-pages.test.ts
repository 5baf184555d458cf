// The reports page and its CSV exports over real HTTP in the running app, and the board's tiles: who may read them,
// what they count from a known history, the charts, and bad ranges answered with 400 and a message.
import request from 'supertest';
import { addAgent, fakeSid, signedInAgent, TEST_ENV, useAppSuite, type AgentClient } from './helpers/app';
import type { HistoryRecord } from '../src/models/history';
import { presetRange } from '../src/routes/reports';
import { localDayOf, utcHoursOfLocalDay } from '../src/contact-center/calendar';
import { toldSorryCallOf } from '../src/contact-center/history';

const suite = useAppSuite({ env: { REPORT_TIME_ZONE: 'Europe/Paris' } });

let supervisor: AgentClient;
let admin: AgentClient;
let alice: AgentClient;

let serial = 0;
/** A call that ended at `endedAt` after waiting `wait` s; answered calls talk 100 s, 20 of them on hold. */
function call(endedAt: string, wait: number, overrides: Partial<HistoryRecord> = {}): HistoryRecord {
  serial += 1;
  const end = Date.parse(endedAt);
  const answered = (overrides.outcome ?? 'answered') === 'answered';
  const start = end - (wait + (answered ? 100 : 0)) * 1000;
  return {
    _id: `CA${String(serial).padStart(32, '0')}`,
    startedAt: new Date(start),
    endedAt: new Date(end),
    from: '+15557770001',
    outcome: 'answered',
    agentIds: answered ? ['alice'] : [],
    offeredTo: ['alice'],
    waitSeconds: wait,
    talkSeconds: answered ? 100 : 0,
    ...(answered ? { holdSeconds: 20, answeredAt: new Date(start + wait * 1000), answeredBy: 'alice' } : {}),
    transfers: [],
    timeline: [],
    ...overrides,
  };
}

// 10 March 2026 in Paris (UTC+1): four calls in the 10:00 hour, one the day after; 29 March has 23 hours.
const CALLS = [
  call('2026-03-10T09:10:00Z', 5),
  call('2026-03-10T09:20:00Z', 30),
  call('2026-03-10T09:30:00Z', 3, { outcome: 'abandoned', agentIds: [] }),
  call('2026-03-10T09:40:00Z', 12, { outcome: 'abandoned', agentIds: [] }),
  call('2026-03-11T15:00:00Z', 8, { agentIds: ['alice', 'carol'], transfers: [{ from: 'alice', to: 'carol', mode: 'consult', outcome: 'completed', at: new Date('2026-03-11T14:59:00Z') }] }),
  call('2026-03-29T10:00:00Z', 8),
  // A caller told sorry (the database did not answer): failed, not offered.
  toldSorryCallOf({ callSid: `CA${'9'.repeat(32)}`, at: new Date('2026-03-10T09:50:00Z'), from: '+15557770001' }),
];

beforeAll(async () => {
  supervisor = await signedInAgent(suite.app, 'sam', { name: 'Sam Supervisor', role: 'supervisor' });
  admin = await signedInAgent(suite.app, 'ada', { name: 'Ada Admin', role: 'admin' });
  alice = await signedInAgent(suite.app, 'alice', { name: 'Alice Agent' });
  await addAgent(suite.app, 'carol', { name: 'Carol Colleague' });
  await suite.app.running.history.appendMany(CALLS);
});

const page = (client: AgentClient, url: string): request.Test => client.get(url).set('Accept', 'text/html');
const textOf = (html: string, id: string): string | undefined => new RegExp(`id="${id}"[^>]*>([^<]*)<`).exec(html)?.[1];

test('when a supervisor or an admin opens a range, then the totals, the three charts, the agents and the wait distribution follow the stored calls', async () => {
  for (const client of [supervisor, admin]) {
    const res = await page(client, '/reports?from=2026-03-10&to=2026-03-11');

    expect(res.status).toBe(200);
    expect(textOf(res.text, 'total-offered')).toBe('5');
    expect(textOf(res.text, 'total-answered')).toBe('3');
    // SL: answered within 20 s (5 s, 8 s) over offered less the one short abandon (3 s): 2 / 4.
    expect(textOf(res.text, 'total-service-level')).toBe('50.0 %');
    // ASA (5 + 30 + 8) / 3; AHT talk 80 + hold 20 + wrap-up 5; one transfer in three handled calls.
    expect(textOf(res.text, 'total-asa')).toBe('14 s');
    expect(textOf(res.text, 'total-aht')).toBe('1 min 45 s');
    expect(textOf(res.text, 'total-transfer-rate')).toBe('33.3 %');
    expect(textOf(res.text, 'total-abandoned')).toBe('2 (25.0 %)');
    // The caller told sorry is not offered, and is counted apart.
    expect(textOf(res.text, 'total-failed')).toBe('1');
    expect(res.text.match(/<figure class="chart" id="chart-(volume|service-level|waits)">/g)).toHaveLength(3);
    expect(res.text).toContain('<svg');
    expect(res.text).toMatch(/<tr data-agent="alice"><td>Alice Agent<\/td><td>3<\/td><td>3<\/td>/);
    expect(res.text).toMatch(/<tr data-agent="carol"><td>Carol Colleague<\/td><td>1<\/td><td>0<\/td>/);
    // Per day by default for a range; the caller's number appears nowhere.
    expect(res.text).toMatch(/<td>2026-03-10<\/td><td>4<\/td><td>2<\/td><td>2<\/td><td>1<\/td>/);
    expect(res.text).not.toContain('+15557770001');
  }
});

test('when one day is read per hour, then its hours are local hours, and a day whose clocks go forward has 23 of them', async () => {
  const day = await page(supervisor, '/reports?from=2026-03-10&to=2026-03-10&by=hour');
  const spring = await page(supervisor, '/reports?from=2026-03-29&to=2026-03-29&by=hour');

  expect(day.status).toBe(200);
  expect(day.text).toMatch(/<td>2026-03-10 10:00<\/td><td>4<\/td>/);
  expect(spring.text.match(/<td>2026-03-29 \d\d:00 UTC\+0\d:00<\/td>/g)).toHaveLength(23);
  expect(spring.text).toMatch(/<td>2026-03-29 12:00 UTC\+02:00<\/td><td>1<\/td>/);
  // Today is not over: its hours so far, labelled as on any ordinary day (offsets only when today's clocks change).
  const today = await page(supervisor, '/reports?preset=today');
  const ordinary = utcHoursOfLocalDay(localDayOf(new Date(), 'Europe/Paris'), 'Europe/Paris').length === 24;
  expect(today.text).toMatch(/<td>\d{4}-\d\d-\d\d 00:00( UTC\+0\d:00)?<\/td>/);
  if (ordinary) expect(today.text).not.toMatch(/<td>\d{4}-\d\d-\d\d \d\d:00 UTC/);
});

test('when a table is downloaded, then the CSV has its rows as numbers', async () => {
  const intervals = await page(supervisor, '/reports.csv?from=2026-03-10&to=2026-03-11&table=intervals');
  const agents = await page(supervisor, '/reports.csv?from=2026-03-10&to=2026-03-11&table=agents');
  const waits = await page(supervisor, '/reports.csv?from=2026-03-10&to=2026-03-11&table=waits');

  expect(intervals.status).toBe(200);
  expect(intervals.headers['content-type']).toMatch(/^text\/csv/);
  expect(intervals.headers['content-disposition']).toContain('report-intervals-2026-03-10-to-2026-03-11.csv');
  expect(intervals.text.split('\r\n')[0]).toBe('day,offered,answered,abandoned,short_abandoned,timed_out,service_level_percent,asa_seconds,abandon_rate_percent,aht_seconds,transfer_rate_percent,longest_wait_seconds,failed');
  expect(intervals.text.split('\r\n')[1]).toBe('2026-03-10,4,2,2,1,0,33.33,17.5,33.33,105.0,0.00,30,1');
  expect(agents.text.split('\r\n').slice(0, 3)).toEqual(['agent_id,agent,calls,answered,talk_seconds,hold_seconds,aht_seconds,transfers', 'alice,Alice Agent,3,3,200,60,91.7,1', 'carol,Carol Colleague,1,0,40,0,45.0,0']);
  expect(waits.text.split('\r\n').slice(0, 3)).toEqual(['wait,answered,abandoned', '0–5 s,0,1', '5–10 s,2,0']);
});

test('when an agent or nobody asks for the reports, then they are refused', async () => {
  expect((await page(alice, '/reports')).status).toBe(403);
  expect((await page(alice, '/reports.csv')).status).toBe(403);
  const anonymous = await request(suite.app.running.url).get('/reports').set('Accept', 'text/html').set('X-Forwarded-Proto', 'https').set('X-Forwarded-Host', new URL(TEST_ENV.PUBLIC_BASE_URL).host);
  expect(anonymous.status).toBe(303);
  expect(anonymous.headers.location).toMatch(/\/sign-in/);
});

test('when the range is backwards or too long, then the page answers 400 with a message', async () => {
  const backwards = await page(supervisor, '/reports?from=2026-03-11&to=2026-03-10');
  const long = await page(supervisor, '/reports?from=2026-01-01&to=2026-06-01');
  const bad = await supervisor.get('/reports?from=2026-02-30').set('Accept', 'application/json');

  expect(backwards.status).toBe(400);
  expect(textOf(backwards.text, 'reports-error')).toBe('From must not be after To.');
  expect(long.status).toBe(400);
  expect(long.text).toContain('at most 93 days');
  expect(bad.status).toBe(400);
  expect(bad.body.error).toContain('real date');
  // At the very end of the calendar the span is counted in days too: a short range is a report, not "too long".
  const lastDays = await supervisor.get('/reports?from=9999-12-01&to=9999-12-30').set('Accept', 'application/json');
  expect(lastDays.status).toBe(200);
  const lastDay = await supervisor.get('/reports?from=9999-12-31').set('Accept', 'application/json');
  expect(lastDay.status).toBe(400);
  expect(lastDay.body.error).toBe('From must be on or before 9999-12-30.');
  expect((await supervisor.get('/reports?from=9999-01-01&to=9999-12-30').set('Accept', 'application/json')).body.error).toContain('at most 93 days');
});

test('when a preset is chosen, then it covers the days it names in the report zone', async () => {
  expect(presetRange('last7', '2026-03-10')).toEqual({ from: '2026-03-04', to: '2026-03-10' });
  expect(presetRange('last-month', '2026-03-10')).toEqual({ from: '2026-02-01', to: '2026-02-28' });
  expect(presetRange('this-month', '2026-03-10')).toEqual({ from: '2026-03-01', to: '2026-03-10' });
  const res = await page(supervisor, '/reports?preset=last31');
  expect(res.status).toBe(200);
  expect(res.text).toMatch(/<a class="current" href="\/reports\?preset=last31" aria-current="page">Last 31 days<\/a>/);
});

test('when the board is read, then it carries the tiles: the line, agents by presence and today’s metrics with their definitions', async () => {
  const callSid = fakeSid();
  await suite.app.webhook('/conference/connect/client', { CallSid: callSid, From: '+15550001111', To: '+15557654321', CallStatus: 'ringing' }).expect(200);

  const board = await supervisor.get('/api/board').set('Accept', 'application/json');

  expect(board.status).toBe(200);
  expect(board.body.tiles).toMatchObject({
    waiting: 1,
    agents: expect.objectContaining({ available: 0, onCall: 0 }),
    today: expect.objectContaining({ offered: 0, serviceLevel: null }),
    last15Minutes: expect.objectContaining({ offered: 0 }),
    definitions: { answerTargetSeconds: 20, shortAbandonSeconds: 5, serviceLevelGoal: 0.8, timeZone: 'Europe/Paris' },
  });
  expect(board.body.tiles.longestWaitNowSeconds).toBeGreaterThanOrEqual(0);
  expect((await page(supervisor, '/board')).text).toContain('href="/reports"');
});
