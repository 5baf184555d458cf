// Voicemail over real HTTP, a real database and signed webhooks: a caller who finds us closed is asked for a message
// (<Record>); Twilio's action and recording status callback (in any order, each perhaps twice) keep it once; it is a task
// for the agents of its queue, exactly one of 30 agents' simultaneous takes wins, the taker marks it done.
import { addAgent, fakeSid, signIn, signedInAgent, TEST_ENV, useAppSuite, type AgentClient } from './helpers/app';
import { find, parseTwiml } from './helpers/twiml';

const clock = new Date('2026-12-05T22:00:00Z'); // Saturday night in Paris
const suite = useAppSuite({ env: { OPENING_HOURS_TIME_ZONE: 'Europe/Paris', VOICEMAIL_MAX_SECONDS: '90' }, now: () => clock });
const BASE = TEST_ENV.PUBLIC_BASE_URL;
let admin: AgentClient;
let rec = 0;
const recordingSid = (): string => `RE${(Date.now().toString(16) + (rec += 1).toString(16)).padStart(32, '0').slice(-32)}`;
const recordings = (): string => `${suite.rest.baseUrl}/2010-04-01/Accounts/${TEST_ENV.TWILIO_ACCOUNT_SID}/Recordings`;

beforeAll(async () => {
  admin = await signedInAgent(suite.app, 'boss', { name: 'The Boss', role: 'admin' });
  const form = (path: string, fields: Record<string, string>) => admin.postWithoutToken(path).type('form').send({ ...fields, _csrf: admin.csrfToken }).expect(303);
  await form('/admin/opening-hours', { enabled: 'true', mon: '09:00-17:00', tue: '09:00-17:00', wed: '09:00-17:00', thu: '09:00-17:00', fri: '09:00-17:00', sat: '', sun: '' });
  for (const id of ['sam', 'sue']) await addAgent(suite.app, id);
  await form('/admin/queues', { name: 'Sales', key: '1', agents: 'sam' });
  await form('/admin/queues', { name: 'Support', key: '2', agents: 'sue' });
  await new Promise((r) => setTimeout(r, 1100)); // the settings' one-second cache
});

test('when a caller finds us closed, then they hear why and are asked for a message in a <Record> for the default queue', async () => {
  const res = await suite.app.webhook('/conference/connect/client', { CallSid: fakeSid(), From: '+15550001234' }).expect(200);

  const doc = parseTwiml(res.text);
  expect(doc.children.map((c) => c.name)).toEqual(['Say', 'Say', 'Record', 'Say', 'Hangup']);
  expect(doc.children[0]!.text).toBe('Thank you for calling. We are closed now. We open again on Monday at 09:00.');
  expect(find(doc, 'Record')!.attrs).toMatchObject({
    action: `${BASE}/conference/voicemail/saved?queue=sales&from=%2B15550001234`,
    recordingStatusCallback: `${BASE}/conference/voicemail/status?queue=sales&from=%2B15550001234`,
    maxLength: '90',
    finishOnKey: '#',
  });
  // VOICEMAIL_TRANSCRIBE is off by default: no transcription is asked for (a paid feature).
  expect(find(doc, 'Record')!.attrs.transcribe).toBeUndefined();
});

test('when the recording status callback and the action both arrive, twice each and in any order, then one voicemail is kept and the caller is thanked', async () => {
  const callSid = fakeSid();
  const sid = recordingSid();
  const url = `${recordings()}/${sid}`;
  const status = () => suite.app.webhook('/conference/voicemail/status?queue=sales&from=%2B15550001234', { CallSid: callSid, RecordingSid: sid, RecordingUrl: url, RecordingStatus: 'completed', RecordingDuration: '12', AccountSid: TEST_ENV.TWILIO_ACCOUNT_SID });
  const saved = () => suite.app.webhook('/conference/voicemail/saved?queue=sales&from=%2B15550001234', { CallSid: callSid, From: '+15550001234', RecordingSid: sid, RecordingUrl: url, RecordingDuration: '12', Digits: '#' });

  const answers = await Promise.all([status(), saved(), status(), saved()]);

  expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
  expect(parseTwiml(answers[1]!.text).children.map((c) => c.name)).toEqual(['Say', 'Hangup']);
  const stored = await suite.db.connection.collection('voicemails').find({ callSid }).toArray();
  expect(stored).toHaveLength(1);
  expect(stored[0]).toMatchObject({ _id: sid, from: '+15550001234', queueId: 'sales', queueName: 'Sales', durationSeconds: 12, recordingUrl: url });
});

test('when a voicemail is for Sales, then only the Sales agent sees it; 30 simultaneous takes leave it to one agent; the taker marks it done', async () => {
  const sid = recordingSid();
  await suite.app.webhook('/conference/voicemail/saved?queue=sales&from=%2B15550009999', { CallSid: fakeSid(), RecordingSid: sid, RecordingUrl: `${recordings()}/${sid}`, RecordingDuration: '5', Digits: 'hangup' }).expect(200);
  const sam = await signIn(suite.app, 'sam');
  const sue = await signIn(suite.app, 'sue');
  await addAgent(suite.app, 'sal');
  // sal serves Sales too, by the admin's change.
  await admin.postWithoutToken('/admin/queues/sales').type('form').send({ name: 'Sales', key: '1', agents: 'sam, sal', _csrf: admin.csrfToken }).expect(303);
  await new Promise((r) => setTimeout(r, 1100));
  const sal = await signIn(suite.app, 'sal');

  expect((await sam.get('/api/me/voicemails').expect(200)).body.voicemails.map((v: { id: string }) => v.id)).toContain(sid);
  expect((await sue.get('/api/me/voicemails').expect(200)).body.voicemails.map((v: { id: string }) => v.id)).not.toContain(sid);
  expect((await sue.post(`/api/me/voicemails/${sid}/take`).send({})).status).toBe(404);

  const takes = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? sam : sal).post(`/api/me/voicemails/${sid}/take`).send({})));
  const winners = new Set(takes.filter((t) => t.status === 200).map((t) => t.request.url));
  const statuses = takes.map((t) => t.status);
  expect(statuses.every((s) => s === 200 || s === 409)).toBe(true);
  const claims = await suite.db.connection.collection('voicemail_claims').find({ _id: sid as never }).toArray();
  expect(claims).toHaveLength(1);
  const taker = claims[0]!.agentId === 'sam' ? sam : sal;
  const other = taker === sam ? sal : sam;
  // Every 200 came from the taker; every one of the other's was 409.
  expect(takes.filter((t, i) => (i % 2 ? sam : sal) === other).every((t) => t.status === 409)).toBe(true);
  expect(winners.size).toBeGreaterThan(0);

  const refused = await other.post(`/api/me/voicemails/${sid}/done`).send({});
  expect(refused.status).toBe(409);
  // Said with the taker's name, not their sign-in id; once done, that it was dealt with.
  const takerName = (await suite.app.running.agents.find(claims[0]!.agentId))!.name;
  expect(refused.body.error).toBe(`${takerName} took this voicemail already.`);
  await taker.post(`/api/me/voicemails/${sid}/done`).send({}).expect(200);
  expect((await other.post(`/api/me/voicemails/${sid}/done`).send({})).body.error).toBe(`${takerName} has already dealt with this voicemail.`);
  expect((await taker.get('/api/me/voicemails').expect(200)).body.voicemails.map((v: { id: string }) => v.id)).not.toContain(sid);
  expect((await suite.db.connection.collection('voicemail_claims').findOne({ _id: sid as never }))?.doneAt).toBeInstanceOf(Date);
});

test('when the voicemail webhooks get bad input, then the caller hears an apology and nothing is stored', async () => {
  const res = await suite.app.webhook('/conference/voicemail/saved', { CallSid: fakeSid(), RecordingSid: 'nope', RecordingUrl: 'ftp://x', RecordingDuration: '1' });

  expect(res.status).toBe(200);
  expect(parseTwiml(res.text).children.map((c) => c.name)).toEqual(['Say', 'Hangup']);
});

test('when voicemails were left, then the voicemail history and its CSV show who, when, the queue, why, and who took it', async () => {
  const sid = recordingSid();
  await suite.app.webhook('/conference/voicemail/saved?queue=support&from=%2B15550004444', { CallSid: fakeSid(), RecordingSid: sid, RecordingUrl: `${recordings()}/${sid}`, RecordingDuration: '7', Digits: '#' }).expect(200);
  const sue = await signIn(suite.app, 'sue');
  await sue.post(`/api/me/voicemails/${sid}/done`).send({}).expect(200);

  const csv = await admin.get('/history/voicemails.csv').expect(200);
  const page = await admin.get('/history/voicemails').set('Accept', 'text/html').expect(200);
  const sam = await signIn(suite.app, 'sam');
  const samsCsv = await sam.get('/history/voicemails.csv').expect(200);

  const lines = csv.text.split('\r\n');
  expect(lines[0]).toBe('recording_sid,call_sid,left_at,caller,seconds,queue,reason,state,taken_by,done_at,transcription');
  const row = lines.find((l) => l.startsWith(sid))!.split(',');
  expect(row.slice(3, 9)).toEqual(['+15550004444', '7', 'Support', 'closed', 'done', 'sue']);
  expect(page.text).toContain(`data-voicemail="${sid}"`);
  // sam serves Sales, not Support: the Support voicemail is not his to see.
  expect(samsCsv.text).not.toContain(sid);
});
