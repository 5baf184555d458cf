// The stand-in's <Record>: a recording ended by a key, by maxLength or by the caller hanging up; the action request,
// the recording status callback, and the recording's media at its RecordingUrl (https://www.twilio.com/docs/voice/twiml/record).
import { creds, startRig, type Rig } from './helpers';

let rig: Rig;

beforeEach(async () => {
  rig = await startRig({ restBaseUrl: 'http://placeholder.invalid' });
});

afterEach(async () => {
  await rig.close();
});

const auth = `Basic ${Buffer.from(`${creds.accountSid}:${creds.authToken}`).toString('base64')}`;

/** The media URL as reachable in this rig (the rig's REST base is only known once it listens). */
const mediaOf = (recordingUrl: string): string => recordingUrl.replace('http://placeholder.invalid', rig.base);

test('when the caller presses # during <Record>, then the action gets the recording and Digits, the status callback comes, and the media is a WAV', async () => {
  rig.app.twiml('/voice', '<Response><Say>Leave a message after the tone.</Say><Record action="/saved" maxLength="120" finishOnKey="#" recordingStatusCallback="/recording-status"/><Say>Not reached.</Say></Response>');
  rig.app.twiml('/saved', '<Response><Say>Thank you, goodbye.</Say><Hangup/></Response>');
  const { callSid, events } = await rig.phoneCall();
  await events.next('hears', (d) => d.recording === true);

  await rig.postJson(`/local/phone/calls/${callSid}/digits`, { digits: '#' });

  const saved = await rig.app.waitFor('/saved');
  expect(saved.signatureValid).toBe(true);
  expect(saved.params).toMatchObject({ CallSid: callSid, Digits: '#', RecordingSid: expect.stringMatching(/^RE[0-9a-f]{32}$/), RecordingDuration: expect.stringMatching(/^\d+$/) });
  expect(saved.params.RecordingUrl).toBe(`http://placeholder.invalid/2010-04-01/Accounts/${creds.accountSid}/Recordings/${saved.params.RecordingSid}`);
  await events.next('hears', (d) => d.text === 'Thank you, goodbye.');
  const status = await rig.app.waitFor('/recording-status');
  expect(status.params).toMatchObject({ CallSid: callSid, RecordingSid: saved.params.RecordingSid, RecordingStatus: 'completed', RecordingSource: 'RecordVerb', RecordingChannels: '1' });

  const media = await fetch(mediaOf(`${saved.params.RecordingUrl}.wav`), { headers: { Authorization: auth } });
  expect(media.status).toBe(200);
  expect(media.headers.get('content-type')).toMatch(/^audio\/wav/);
  const wav = Buffer.from(await media.arrayBuffer());
  expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
  expect(wav.readUInt32LE(24)).toBe(8000);
  expect((await fetch(mediaOf(saved.params.RecordingUrl!), {})).status).toBe(401);
});

test('when the recording reaches maxLength, then it ends by itself, with no Digits', async () => {
  rig.app.twiml('/voice', '<Response><Record action="/saved" maxLength="3" playBeep="false"/></Response>');
  rig.app.twiml('/saved', '<Response><Hangup/></Response>');
  await rig.phoneCall();

  const saved = await rig.app.waitFor('/saved');

  expect(saved.params.Digits).toBeUndefined();
  expect(saved.params.RecordingDuration).toBe('3');
});

test('when the caller hangs up during <Record>, then the recording is kept and the action is requested with Digits=hangup', async () => {
  rig.app.twiml('/voice', '<Response><Record action="/saved" maxLength="600"/></Response>');
  const { callSid, events } = await rig.phoneCall();
  await events.next('hears', (d) => d.recording === true);
  await new Promise((r) => setTimeout(r, 30));

  await rig.postJson(`/local/phone/calls/${callSid}/hangup`, {});

  const saved = await rig.app.waitFor('/saved');
  expect(saved.params).toMatchObject({ CallSid: callSid, Digits: 'hangup', CallStatus: 'completed' });
  expect(rig.local.snapshot().recordings).toEqual([expect.objectContaining({ sid: saved.params.RecordingSid, callSid, hasAudio: false })]);
});
