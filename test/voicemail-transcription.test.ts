// Voicemail transcription when Twilio provides it (VOICEMAIL_TRANSCRIBE): the <Record> asks for it, Twilio's signed
// transcribeCallback keeps the text on the voicemail once (a duplicate changes nothing; one that comes before its
// recording is kept for it), and the agent page's list, the voicemails page and its CSV show it. Real HTTP, a real database.
import { addAgent, fakeSid, signIn, signedInAgent, TEST_ENV, useAppSuite, type AgentClient } from './helpers/app';
import { find, parseTwiml } from './helpers/twiml';

const clock = new Date('2026-12-05T22:00:00Z'); // Saturday night in Paris: closed
const suite = useAppSuite({ env: { OPENING_HOURS_TIME_ZONE: 'Europe/Paris', VOICEMAIL_TRANSCRIBE: 'true' }, now: () => clock });
const BASE = TEST_ENV.PUBLIC_BASE_URL;
let admin: AgentClient;
let rec = 0;
const recordingSid = (): string => `RE${(Date.now().toString(16) + (rec += 1).toString(16)).padStart(32, '0').slice(-32)}`;
const recordings = (): string => `${suite.rest.baseUrl}/2010-04-01/Accounts/${TEST_ENV.TWILIO_ACCOUNT_SID}/Recordings`;

beforeAll(async () => {
  admin = await signedInAgent(suite.app, 'boss', { name: 'The Boss', role: 'admin' });
  const form = (path: string, fields: Record<string, string>) => admin.postWithoutToken(path).type('form').send({ ...fields, _csrf: admin.csrfToken }).expect(303);
  await form('/admin/opening-hours', { enabled: 'true', mon: '09:00-17:00', tue: '09:00-17:00', wed: '09:00-17:00', thu: '09:00-17:00', fri: '09:00-17:00', sat: '', sun: '' });
  await addAgent(suite.app, 'sue');
  await form('/admin/queues', { name: 'Support', key: '1', agents: 'sue' });
  await new Promise((r) => setTimeout(r, 1100)); // the settings' one-second cache
});

/** A caller leaves a message for Support (Twilio's <Record action>). */
async function messageLeft(): Promise<{ sid: string; callSid: string }> {
  const sid = recordingSid();
  const callSid = fakeSid();
  await suite.app.webhook('/conference/voicemail/saved?queue=support&from=%2B15550005555', { CallSid: callSid, RecordingSid: sid, RecordingUrl: `${recordings()}/${sid}`, RecordingDuration: '9', Digits: '#' }).expect(200);
  return { sid, callSid };
}

/** Twilio's transcribeCallback (https://www.twilio.com/docs/voice/twiml/record#transcribecallback). */
const transcription = (sid: string, callSid: string, fields: Record<string, string>) =>
  suite.app.webhook('/conference/voicemail/transcription', { AccountSid: TEST_ENV.TWILIO_ACCOUNT_SID, CallSid: callSid, RecordingSid: sid, RecordingUrl: `${recordings()}/${sid}`, TranscriptionSid: `TR${'1'.repeat(32)}`, TranscriptionUrl: `${recordings()}/${sid}/Transcriptions/TR${'1'.repeat(32)}`, ...fields });

const stored = (sid: string) => suite.db.connection.collection('voicemails').findOne({ _id: sid as never });

test('when transcription is on, then the voicemail <Record> asks Twilio for it with the transcription callback', async () => {
  const res = await suite.app.webhook('/conference/connect/client', { CallSid: fakeSid(), From: '+15550005555' }).expect(200);

  expect(find(parseTwiml(res.text), 'Record')!.attrs).toMatchObject({ transcribe: 'true', transcribeCallback: `${BASE}/conference/voicemail/transcription` });
});

test('when Twilio posts the transcription, twice, then the first text is kept and shown on the agent page, the voicemails page and the CSV', async () => {
  const { sid, callSid } = await messageLeft();
  const text = 'Hi, this is Jo <b>Smith</b>, about my invoice, please call me back.';

  await transcription(sid, callSid, { TranscriptionStatus: 'completed', TranscriptionText: text }).expect(200);
  await transcription(sid, callSid, { TranscriptionStatus: 'completed', TranscriptionText: 'A different text from a retry.' }).expect(200);

  expect(await stored(sid)).toMatchObject({ transcription: { status: 'completed', text } });
  const sue = await signIn(suite.app, 'sue');
  const tasks = (await sue.get('/api/me/voicemails').expect(200)).body.voicemails as Array<{ id: string; transcription?: { text?: string } }>;
  expect(tasks.find((v) => v.id === sid)?.transcription).toEqual({ status: 'completed', text });
  const page = await admin.get('/history/voicemails').set('Accept', 'text/html').expect(200);
  expect(page.text).toContain('Hi, this is Jo &lt;b&gt;Smith&lt;/b&gt;, about my invoice, please call me back.');
  const lines = (await admin.get('/history/voicemails.csv').expect(200)).text.split('\r\n');
  expect(lines[0]!.split(',').at(-1)).toBe('transcription');
  expect(lines.find((l) => l.startsWith(sid))).toMatch(/,"Hi, this is Jo <b>Smith<\/b>, about my invoice, please call me back\."$/);
});

test('when Twilio could not transcribe, then the voicemail says so; another status is ignored', async () => {
  const { sid, callSid } = await messageLeft();
  await transcription(sid, callSid, { TranscriptionStatus: 'in-progress' }).expect(200);
  expect((await stored(sid))?.transcription).toBeUndefined();

  await transcription(sid, callSid, { TranscriptionStatus: 'failed' }).expect(200);

  expect(await stored(sid)).toMatchObject({ transcription: { status: 'failed' } });
  const line = (await admin.get('/history/voicemails.csv').expect(200)).text.split('\r\n').find((l) => l.startsWith(sid));
  expect(line).toMatch(/,\(transcription failed\)$/);
});

test('when the transcription comes before its recording, twice, then it answers 200, makes no voicemail, and the first text is on the voicemail once the recording comes', async () => {
  const sid = recordingSid();
  const callSid = fakeSid();

  await transcription(sid, callSid, { TranscriptionStatus: 'completed', TranscriptionText: 'Early, but kept.' }).expect(200);
  await transcription(sid, callSid, { TranscriptionStatus: 'completed', TranscriptionText: 'A retry, not kept.' }).expect(200);
  expect(await stored(sid)).toBeNull();

  await suite.app.webhook('/conference/voicemail/saved?queue=support&from=%2B15550005555', { CallSid: callSid, RecordingSid: sid, RecordingUrl: `${recordings()}/${sid}`, RecordingDuration: '4', Digits: '#' }).expect(200);

  expect(await stored(sid)).toMatchObject({ transcription: { status: 'completed', text: 'Early, but kept.' } });
  const sue = await signIn(suite.app, 'sue');
  const tasks = (await sue.get('/api/me/voicemails').expect(200)).body.voicemails as Array<{ id: string; transcription?: { text?: string } }>;
  expect(tasks.find((v) => v.id === sid)?.transcription).toEqual({ status: 'completed', text: 'Early, but kept.' });
});

test('when the recording and its transcription arrive at the same moment, many times, then there is one voicemail with the text', async () => {
  const sid = recordingSid();
  const callSid = fakeSid();
  const record = () => suite.app.webhook('/conference/voicemail/saved?queue=support&from=%2B15550005555', { CallSid: callSid, RecordingSid: sid, RecordingUrl: `${recordings()}/${sid}`, RecordingDuration: '4', Digits: '#' });

  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? record() : transcription(sid, callSid, { TranscriptionStatus: 'completed', TranscriptionText: 'Both at once.' }))));

  expect(answers.map((res) => res.status)).toEqual(answers.map(() => 200));
  expect(await suite.db.connection.collection('voicemails').countDocuments({ _id: sid as never })).toBe(1);
  expect(await stored(sid)).toMatchObject({ transcription: { status: 'completed', text: 'Both at once.' } });
});

test('when a transcription callback is not signed by Twilio, then it answers 403 and keeps nothing', async () => {
  const { sid } = await messageLeft();

  await suite.app.http().post('/conference/voicemail/transcription').type('form').set('X-Twilio-Signature', 'forged').send({ RecordingSid: sid, TranscriptionStatus: 'completed', TranscriptionText: 'forged' }).expect(403);

  expect((await stored(sid))?.transcription).toBeUndefined();
});
