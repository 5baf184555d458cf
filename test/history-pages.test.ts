// The call history pages over real HTTP in the running app, signed in through the sign-in form, against the real database:
// who sees which calls, filters, paging, one call's timeline, the CSV export, and bad input answered with 400 and a message.
import request from 'supertest';
import { DOMParser, type Document } from '@xmldom/xmldom';
import { addAgent, signedInAgent, useAppSuite, type AgentClient } from './helpers/app';
import { historyDatabaseName, type HistoryRecord } from '../src/models/history';
import { csvCell, describeCall, historyCsv } from '../src/routes/history';

const suite = useAppSuite();

/** Signed-in browsers, as far as HTTP goes: each asks for HTML unless a test says otherwise. */
let supervisor: AgentClient;
let admin: AgentClient;
let alice: AgentClient;
let bob: AgentClient;

beforeAll(async () => {
  supervisor = await signedInAgent(suite.app, 'sam', { name: 'Sam Supervisor', role: 'supervisor' });
  admin = await signedInAgent(suite.app, 'ada', { name: 'Ada Admin', role: 'admin' });
  alice = await signedInAgent(suite.app, 'alice', { name: 'Alice Agent' });
  bob = await signedInAgent(suite.app, 'bob', { name: 'Bob Builder' });
  await addAgent(suite.app, 'carol', { name: 'Carol Colleague' });
  await suite.app.running.history.appendMany(CALLS);
});

/** A page request from `client`'s browser. */
const page = (client: AgentClient, url: string): request.Test => client.get(url).set('Accept', 'text/html');

const at = (iso: string, seconds = 0) => new Date(new Date(iso).getTime() + seconds * 1000);

let serial = 0;
function call(endedAt: string, overrides: Partial<HistoryRecord> = {}): HistoryRecord {
  serial += 1;
  const end = new Date(endedAt);
  return {
    _id: `CA${String(serial).padStart(32, '0')}`,
    startedAt: at(endedAt, -120),
    endedAt: end,
    from: '+15551230000',
    outcome: 'answered',
    agentIds: ['alice'],
    offeredTo: ['alice'],
    waitSeconds: 15,
    talkSeconds: 105,
    hungUpBy: 'customer',
    endReason: 'participant_hung_up',
    transfers: [],
    timeline: [],
    ...overrides,
  };
}

/** A consult transfer from Alice to Carol after Bob declined: the call the detail page test reads. */
const TRANSFERRED = call('2026-03-10T10:10:00Z', {
  startedAt: new Date('2026-03-10T10:00:00Z'),
  from: '+15557770001',
  agentIds: ['alice', 'carol'],
  offeredTo: ['bob', 'alice', 'carol'],
  waitSeconds: 42,
  talkSeconds: 558,
  hungUpBy: 'agent:carol',
  endReason: 'participant_hung_up',
  transfers: [{ from: 'alice', to: 'carol', mode: 'consult', outcome: 'completed', at: at('2026-03-10T10:00:00Z', 200) }],
  holdSeconds: 60,
  timeline: [
    { at: at('2026-03-10T10:00:00Z'), kind: 'waiting' },
    { at: at('2026-03-10T10:00:00Z', 2), kind: 'offered', agentId: 'bob' },
    { at: at('2026-03-10T10:00:00Z', 20), kind: 'busy', agentId: 'bob', detail: 'declined' },
    { at: at('2026-03-10T10:00:00Z', 21), kind: 'offered', agentId: 'alice' },
    { at: at('2026-03-10T10:00:00Z', 42), kind: 'answered', agentId: 'alice' },
    { at: at('2026-03-10T10:00:00Z', 200), kind: 'transfer', agentId: 'alice', toAgentId: 'carol', detail: 'consult: completed' },
    { at: at('2026-03-10T10:00:00Z', 200), kind: 'customer-held' },
    { at: at('2026-03-10T10:00:00Z', 201), kind: 'brought-in', agentId: 'carol', byAgentId: 'alice' },
    { at: at('2026-03-10T10:00:00Z', 260), kind: 'customer-unheld' },
    { at: at('2026-03-10T10:00:00Z', 261), kind: 'left', agentId: 'alice', detail: 'pressed Hang up' },
    { at: at('2026-03-10T10:00:00Z', 600), kind: 'left', agentId: 'carol', detail: 'participant_hung_up' },
    { at: at('2026-03-10T10:00:00Z', 600), kind: 'ended', detail: 'abandoned' },
  ],
});
const BOBS = call('2026-03-11T09:00:00Z', { agentIds: ['bob'], offeredTo: ['bob'], from: '<script>alert(1)</script>' });
const ABANDONED = call('2026-03-12T09:00:00Z', { outcome: 'abandoned', agentIds: [], offeredTo: ['alice'], talkSeconds: 0, hungUpBy: 'customer' });
const TRICKY = call('2026-03-13T09:00:00Z', {
  agentIds: ['carol'],
  offeredTo: ['carol'],
  from: '=HYPERLINK("http://evil.example","x")',
  endReason: 'said "bye", then\nleft',
  hungUpBy: '@SUM(A1)',
});
/** 55 more of Carol's calls, on earlier days, so her list pages. */
const CAROLS = Array.from({ length: 55 }, (_, i) => call(`2026-02-${String(1 + (i % 27)).padStart(2, '0')}T${String(10 + Math.floor(i / 27)).padStart(2, '0')}:00:00Z`, { agentIds: ['carol'], offeredTo: ['carol'] }));
const CALLS = [TRANSFERRED, BOBS, ABANDONED, TRICKY, ...CAROLS];

function parse(html: string): Document {
  return new DOMParser().parseFromString(html, 'text/html');
}
/** The CallSids of the list's rows, in page order. */
function listed(html: string): string[] {
  return Array.from(parse(html).getElementsByTagName('tr'))
    .map((tr) => tr.getAttribute('data-call'))
    .filter((sid): sid is string => Boolean(sid));
}
/** The text of each list item under the element `id`. */
function items(html: string, id: string): string[] {
  return Array.from(parse(html).getElementById(id)?.getElementsByTagName('li') ?? []).map((li) => (li.textContent ?? '').replace(/\s+/g, ' ').trim());
}
function byId(html: string, id: string): string {
  return (parse(html).getElementById(id)?.textContent ?? '').replace(/\s+/g, ' ').trim();
}

test('when nobody is signed in, then a browser opening a history page is sent to sign in and a script gets 401', async () => {
  for (const url of ['/history', '/history.csv?agent=alice', `/history/2026-03-10/${TRANSFERRED._id}`]) {
    const browser = await suite.app.http().get(url).set('Accept', 'text/html');
    const script = await suite.app.http().get(url).set('Accept', 'application/json');

    expect(browser.status).toBe(303);
    expect(browser.headers.location).toBe(`/sign-in?next=${encodeURIComponent(url)}`);
    expect(browser.text).not.toContain('data-call');
    expect(browser.text).not.toContain('+15557770001');
    expect(script.status).toBe(401);
    expect(script.body).toEqual({ error: 'Sign in first.', status: 401 });
  }
});

test('when a supervisor opens the history, then the newest 50 calls of everyone are listed newest first with an older-calls link', async () => {
  const res = await page(supervisor, '/history');

  expect(res.status).toBe(200);
  const expected = [...CALLS].sort((a, b) => b.endedAt.getTime() - a.endedAt.getTime()).slice(0, 50).map((c) => c._id);
  expect(listed(res.text)).toEqual(expected);
  const older = parse(res.text).getElementById('history-older')?.getAttribute('href');
  expect(older).toMatch(/^\/history\?beforeAt=.+&beforeId=CA/);
  expect(res.text).toContain('Alice Agent, Carol Colleague');
});

test('when following the older-calls link, then the next page continues exactly where the first stopped', async () => {
  const first = await page(supervisor, '/history');
  const olderHref = parse(first.text).getElementById('history-older')!.getAttribute('href')!;

  const second = await page(supervisor, olderHref);

  expect(second.status).toBe(200);
  const all = [...listed(first.text), ...listed(second.text)];
  expect(new Set(all).size).toBe(CALLS.length);
  expect(all.length).toBe(CALLS.length);
  expect(parse(second.text).getElementById('history-older')).toBeNull();
  expect(parse(second.text).getElementById('history-newest')?.getAttribute('href')).toBe('/history');
});

test('when an agent opens the history, then only calls they talked on or were offered are listed, and the agent filter offers only them', async () => {
  const res = await page(bob, '/history');

  expect(res.status).toBe(200);
  expect(listed(res.text)).toEqual([BOBS._id, TRANSFERRED._id]);
  const options = Array.from(parse(res.text).getElementsByTagName('option')).map((o) => o.getAttribute('value'));
  expect(options).toContain('bob');
  expect(options).not.toContain('alice');
  // The page has a working Sign out: its form carries the session's CSRF token.
  const signOut = Array.from(parse(res.text).getElementsByTagName('form')).find((f) => f.getAttribute('action') === '/sign-out');
  const token = signOut && Array.from(signOut.getElementsByTagName('input')).find((i) => i.getAttribute('name') === '_csrf')?.getAttribute('value');
  expect(token).toBe(bob.csrfToken);
});

test("when an agent filters by a colleague, then the answer is 403 with a message and none of the colleague's calls", async () => {
  const res = await page(bob, '/history?agent=alice');

  expect(res.status).toBe(403);
  expect(byId(res.text, 'history-error')).toBe('Agents can see only their own calls.');
  expect(listed(res.text)).toEqual([]);
});

test("when an agent opens a call they were not part of, then it is 404, as for a call that does not exist; a supervisor sees it", async () => {
  const denied = await page(bob, `/history/2026-03-13/${TRICKY._id}`);
  const missing = await page(bob, '/history/2026-03-13/CAdoesnotexist');
  const allowed = await page(supervisor, `/history/2026-03-13/${TRICKY._id}`);

  expect(denied.status).toBe(404);
  expect(missing.status).toBe(404);
  expect(allowed.status).toBe(200);
});

test('when filtering by agent, outcome and dates, then only the matching calls are listed and the form keeps the choices', async () => {
  const byOutcome = await page(supervisor, '/history?outcome=abandoned');
  const byAgentAndDates = await page(supervisor, '/history?agent=alice&from=2026-03-10&to=2026-03-11');
  const emptyFieldsMeanAny = await page(alice, '/history?agent=&from=&to=&outcome=');

  expect(listed(byOutcome.text)).toEqual([ABANDONED._id]);
  expect(listed(byAgentAndDates.text)).toEqual([TRANSFERRED._id]);
  const doc = parse(byAgentAndDates.text);
  const fromInput = Array.from(doc.getElementsByTagName('input')).find((i) => i.getAttribute('name') === 'from');
  expect(fromInput?.getAttribute('value')).toBe('2026-03-10');
  expect(listed(emptyFieldsMeanAny.text)).toEqual([ABANDONED._id, TRANSFERRED._id]);
});

test('when a caller number holds markup, then the page shows it as text', async () => {
  const res = await page(supervisor, '/history?agent=bob');

  expect(res.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  expect(res.text).not.toContain('<script>alert(1)');
});

test('when a call is opened, then its page tells the wait, who rang and how they answered, the talk, the transfer, the hold, and who hung up', async () => {
  const res = await page(alice, `/history/2026-03-10/${TRANSFERRED._id}`);

  expect(res.status).toBe(200);
  expect(byId(res.text, 'call-waited')).toBe('42 s');
  // Talked is connected time less the customer's minute on hold, as /reports counts it: 42 s + 8:18 + 1:00 = 10 min.
  expect(byId(res.text, 'call-talked')).toBe('8 min 18 s');
  expect(items(res.text, 'call-rang')).toEqual(['Bob Builder: declined', 'Alice Agent: answered', 'Carol Colleague: answered']);
  expect(byId(res.text, 'call-talked-with')).toBe('Alice Agent, Carol Colleague');
  expect(byId(res.text, 'call-hung-up')).toBe('Carol Colleague (hung up)');
  const transferCells = Array.from(parse(res.text).getElementById('call-transfers')!.getElementsByTagName('td')).map((td) => td.textContent);
  expect(transferCells).toEqual(['+3 min 20 s', 'Alice Agent', 'Carol Colleague', 'consult', 'completed']);
  const kinds = Array.from(parse(res.text).getElementById('call-timeline')!.getElementsByTagName('li')).map((li) => li.getAttribute('data-kind'));
  expect(kinds).toEqual(['waiting', 'offered', 'busy', 'offered', 'answered', 'transfer', 'customer-held', 'brought-in', 'customer-unheld', 'left', 'left', 'ended']);
  expect(byId(res.text, 'call-held')).toBe('1 min 00 s');
  const timeline = byId(res.text, 'call-timeline');
  expect(timeline).toContain('Transfer by Alice Agent — consult to Carol Colleague: completed');
  expect(timeline).toContain('Customer put on hold');
  expect(timeline).toContain('Rang colleague Carol Colleague — for Alice Agent');
  expect(timeline).toContain('Left: Alice Agent — pressed Hang up');
  expect(timeline).toContain('Left: Carol Colleague — hung up');
  expect(timeline).toContain('Call ended — every agent had left; the caller heard goodbye');
  expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)/i);
});

test('when a call was offered but nobody answered, then its page says who got no answer', async () => {
  const res = await page(alice, `/history/2026-03-12/${ABANDONED._id}`);

  expect(items(res.text, 'call-rang')).toEqual(['Alice Agent: no answer']);
  expect(byId(res.text, 'call-talked-with')).toBe('nobody');
  expect(byId(res.text, 'call-outcome')).toBe('Abandoned (caller left)');
});

test('when the CSV is downloaded with filters, then it is an attachment with a header and exactly the filtered rows', async () => {
  const res = await page(supervisor, '/history.csv?agent=alice');

  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/csv; charset=utf-8/);
  expect(res.headers['content-disposition']).toMatch(/^attachment; filename="?call-history-\d{4}-\d{2}-\d{2}\.csv"?$/);
  const lines = res.text.split('\r\n');
  expect(lines[0]).toBe('call_sid,started_at,ended_at,caller,outcome,agents,offered_to,wait_seconds,talk_seconds,transfers,hung_up_by,end_reason,direction,wrap_up,wrap_up_note,queue,callback,hold_seconds');
  expect(lines.slice(1, -1).map((line) => line.split(',')[0])).toEqual([ABANDONED._id, TRANSFERRED._id]);
  expect(lines[2]).toBe(
    `${TRANSFERRED._id},2026-03-10T10:00:00.000Z,2026-03-10T10:10:00.000Z,+15557770001,answered,Alice Agent; Carol Colleague,Bob Builder; Alice Agent; Carol Colleague,42,498,"Alice Agent > Carol Colleague (consult, completed)",agent:carol,participant_hung_up,inbound,,,,,60`,
  );
  expect(lines.at(-1)).toBe('');
});

test('when CSV fields hold commas, quotes, newlines or start like a formula, then they are quoted and defused', async () => {
  const res = await page(supervisor, '/history.csv?agent=carol&from=2026-03-13&to=2026-03-13');

  expect(res.text).toContain(`,"'=HYPERLINK(""http://evil.example"",""x"")",answered,`);
  expect(res.text).toContain(`,'@SUM(A1),"said ""bye"", then\nleft",inbound,,,,,0\r\n`);
  expect(csvCell('+1 555')).toBe("'+1 555");
  // An E.164 caller number (+ and digits only) cannot be a formula: it stays as it is; anything more is defused.
  expect(csvCell('+15557770001')).toBe('+15557770001');
  expect(csvCell('+1555777000+1')).toBe("'+1555777000+1");
  expect(csvCell('+1(555)')).toBe("'+1(555)");
  expect(csvCell('-2+3')).toBe("'-2+3");
  expect(csvCell('=1,2')).toBe(`"'=1,2"`);
  expect(csvCell('\tcmd')).toBe("'\tcmd");
  expect(csvCell(' padded')).toBe('" padded"');
  expect(csvCell('plain')).toBe('plain');
  expect(csvCell(-5)).toBe('-5');
  expect(csvCell(undefined)).toBe('');
});

test('when an agent downloads the CSV, then it holds only their calls', async () => {
  const res = await page(bob, '/history.csv');

  expect(res.text.split('\r\n').slice(1, -1).map((line) => line.split(',')[0])).toEqual([BOBS._id, TRANSFERRED._id]);
});

test.each([
  ['/history?from=2026-13-01', 'From must be a real date written YYYY-MM-DD.'],
  ['/history?from=2026-02-30', 'From must be a real date written YYYY-MM-DD.'],
  ['/history?to=yesterday', 'To must be a real date written YYYY-MM-DD.'],
  ['/history?from=2026-03-12&to=2026-03-10', 'From must not be after To.'],
  ['/history?outcome=lost', 'Outcome must be one of: answered, abandoned, timed-out, no-agent, failed, voicemail.'],
  ['/history?agent=%3Cscript%3E', 'Agent must be an agent id (letters, digits, . _ @ -).'],
  ['/history?agent=alice&agent=bob', 'Agent must be one agent id.'],
  ['/history?beforeAt=2026-03-10T10:00:00Z', 'Paging needs both beforeAt and beforeId.'],
  ['/history?beforeAt=soon&beforeId=CA1', 'The paging position (beforeAt) must be an ISO date-time.'],
  ['/history.csv?outcome=lost', 'Outcome must be one of: answered, abandoned, timed-out, no-agent, failed, voicemail.'],
])('when the list is asked for %s, then it answers 400 with the form and a message', async (url, message) => {
  const res = await page(supervisor, url);

  expect(res.status).toBe(400);
  expect(res.headers['content-type']).toMatch(/text\/html/);
  expect(byId(res.text, 'history-error')).toBe(message);
  expect(parse(res.text).getElementById('history-filters')).not.toBeNull();
  expect(listed(res.text)).toEqual([]);
});

test('when a script asks for JSON with bad filters, then it gets 400 JSON with the message', async () => {
  const res = await admin.get('/history.csv?from=nope').set('Accept', 'application/json');

  expect(res.status).toBe(400);
  expect(res.body).toEqual({ error: 'From must be a real date written YYYY-MM-DD.', status: 400 });
});

test('when a call address has a bad day or call id, then it answers 400 with a message', async () => {
  const badDay = await page(supervisor, `/history/2026-02-31/${TRANSFERRED._id}`);
  const badSid = await page(supervisor, '/history/2026-03-10/CA%24%7Bbad%7D');

  expect(badDay.status).toBe(400);
  expect(badDay.text).toContain('The day in the address must be a real date written YYYY-MM-DD.');
  expect(badSid.status).toBe(400);
  expect(badSid.text).toContain('The call id in the address is not a call id.');
});

test('when a page is served, then it links the history stylesheet and carries no inline script', async () => {
  const list = await page(supervisor, '/history');
  const detail = await page(supervisor, `/history/2026-03-10/${TRANSFERRED._id}`);

  for (const res of [list, detail]) {
    expect(res.text).toContain('<link rel="stylesheet" href="/css/history.css">');
    expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)|\sonclick=/i);
  }
});

test("when calls are in the history, then their buckets live in the history's own database and none in the app's (whose every query FerretDB prices by its collection count)", async () => {
  const appCollections = (await suite.db.connection.db!.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
  const historyCollections = (await suite.db.connection.getClient().db(historyDatabaseName(suite.db.connection.name)).listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);

  expect(appCollections.filter((name) => name.startsWith('history_'))).toEqual([]);
  expect(historyCollections).toContain('history_r_20260310');
  expect(historyCollections).toContain('history_a_carol_20260313');
});

test('when a call recorded by the previous version is shown, then its older timeline kinds still read as words', () => {
  const old = call('2026-03-01T10:00:00Z', {
    timeline: [
      { at: at('2026-03-01T09:58:00Z'), kind: 'queued' },
      { at: at('2026-03-01T09:58:20Z'), kind: 'joined', agentId: 'alice' },
      { at: at('2026-03-01T10:00:00Z'), kind: 'hung-up', detail: 'participant_hung_up' },
    ],
  });

  const labels = describeCall(old, (id) => (id === 'alice' ? 'Alice Agent' : id)).timeline.map((e) => [e.label, e.agent, e.detail].filter(Boolean).join(' '));

  expect(labels).toEqual(['Waiting with music', 'Joined: Alice Agent', 'Hung up hung up']);
});

test('when an agent missed a first ring and answered the second, then the Rang list gives each ring its own result', () => {
  const twice = call('2026-03-14T10:05:00Z', {
    offeredTo: ['ada', 'grace', 'grace'],
    agentIds: ['grace'],
    timeline: [
      { at: at('2026-03-14T10:05:00Z', -120), kind: 'offered', agentId: 'ada' },
      { at: at('2026-03-14T10:05:00Z', -100), kind: 'no-answer', agentId: 'ada', detail: 'did not answer' },
      { at: at('2026-03-14T10:05:00Z', -90), kind: 'offered', agentId: 'grace' },
      { at: at('2026-03-14T10:05:00Z', -70), kind: 'no-answer', agentId: 'grace', detail: 'did not answer' },
      { at: at('2026-03-14T10:05:00Z', -60), kind: 'offered', agentId: 'grace' },
    ],
  });

  expect(describeCall(twice, (id) => id).rang).toEqual([
    { agent: 'ada', result: 'no answer' },
    { agent: 'grace', result: 'no answer' },
    { agent: 'grace', result: 'answered' },
  ]);
});

test('when the app told the customer goodbye after every agent hung up, then the timeline says so (not "moved by the app")', () => {
  const goodbye = call('2026-03-14T10:05:00Z', {
    endReason: 'abandoned',
    hungUpBy: 'system',
    timeline: [
      { at: at('2026-03-14T10:05:00Z', -60), kind: 'left', agentId: 'alice', detail: 'pressed Hang up' },
      { at: at('2026-03-14T10:05:00Z', -1), kind: 'customer-left', detail: 'participant_updated_via_api' },
    ],
  });

  const customerLeft = describeCall(goodbye, (id) => id).timeline.find((entry) => entry.kind === 'customer-left');

  expect(customerLeft?.detail).toBe('heard goodbye after every agent had left');
  // A record stored before this version says 'abandoned' for an agent's Hang up; the export says what happened.
  expect(historyCsv([goodbye], (id) => id).split('\r\n')[1]!.split(',')[11]).toBe('agent-hung-up');
  expect(describeCall(goodbye, (id) => id).endReason).toBe('every agent had left; the caller heard goodbye');
  expect(describeCall(call('2026-03-14T10:06:00Z', { timeline: [{ at: at('2026-03-14T10:06:00Z', -1), kind: 'customer-left', detail: 'participant_hung_up' }] }), (id) => id).timeline[0]?.detail).toBe('hung up');
});

test('when a transfer is stored with its mode and outcome as fields, or (by an earlier version) as "mode: outcome" text, then the timeline reads both alike', () => {
  const names = (id: string) => (id === 'carol' ? 'Carol Colleague' : id);
  const structured = call('2026-03-14T11:00:00Z', { timeline: [{ at: at('2026-03-14T11:00:00Z', -30), kind: 'transfer', agentId: 'alice', toAgentId: 'carol', mode: 'consult', outcome: 'completed' }] });
  const older = call('2026-03-14T11:01:00Z', { timeline: [{ at: at('2026-03-14T11:01:00Z', -30), kind: 'transfer', agentId: 'alice', toAgentId: 'carol', detail: 'consult: completed' }] });
  expect(describeCall(structured, names).timeline[0]?.detail).toBe('consult to Carol Colleague: completed');
  expect(describeCall(older, names).timeline[0]?.detail).toBe('consult to Carol Colleague: completed');
});
