// The stand-in's audio over real WebRTC (werift on both ends, PCMU over loopback): a phone call placed with audio
// rings until the audio connects, hears <Say> spoken and Twilio's hold music played as the local music; two legs in
// a conference hear each other, and a held or muted leg is heard by nobody. Levels are measured on what arrives.
import { HOLD_MUSIC_PEDAL_HZ } from '../../src/twilio-local/audio/hold-music';
import { accessToken, eventually, startRig, type Rig } from './helpers';
import { connectAudio, rmsDb, toneDb, type AudioClient } from '../helpers/audio-client';

let rig: Rig;
const clients: AudioClient[] = [];

beforeEach(async () => {
  rig = await startRig({ timeScale: 1 });
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await rig.close();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A phone call placed with audio; its page speaks `hz`. */
async function phoneWithAudio(hz: number): Promise<{ callSid: string; audio: AudioClient }> {
  const res = await rig.postJson('/local/phone/calls', { from: '+15557654321', to: rig.support, audio: true });
  const callSid = String(res.body.callSid);
  const audio = await connectAudio(`${rig.base}/local/phone/calls/${callSid}/media`, hz);
  clients.push(audio);
  return { callSid, audio };
}

test('when a phone call is placed with audio, then it rings until the audio connects, and the caller hears <Say> spoken and Twilio\'s hold music as the local music', async () => {
  rig.app.twiml('/voice', '<Response><Say>Thank you for calling the audio test line.</Say><Play loop="0">http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3</Play></Response>');
  const res = await rig.postJson('/local/phone/calls', { from: '+15557654321', to: rig.support, audio: true });
  const callSid = String(res.body.callSid);
  await sleep(300);
  expect(rig.app.at('/voice')).toHaveLength(0); // still ringing: no TwiML fetched before the audio is up
  const audio = await connectAudio(`${rig.base}/local/phone/calls/${callSid}/media`, 0);
  clients.push(audio);
  await audio.connected;
  await rig.app.waitFor('/voice');

  // The caption changes when the sound starts (a Say waits for its speech): listen just after each change.
  await eventually(() => rig.local.snapshot().calls[0]?.hears.what === 'say', 'the greeting', 8000);
  await sleep(800);
  const speech = audio.heard(600);
  await eventually(() => rig.local.snapshot().calls[0]?.hears.what === 'play', 'the music', 8000);
  await sleep(1500);
  const music = audio.heard(1000);

  const levels = { speechDb: rmsDb(speech), musicDb: rmsDb(music), speechPedalDb: toneDb(speech, HOLD_MUSIC_PEDAL_HZ), musicPedalDb: toneDb(music, HOLD_MUSIC_PEDAL_HZ) };
  // The music plays under the voices: quieter than the speech, so a volume set for one suits the other.
  expect({ speech: levels.speechDb > -35, music: levels.musicPedalDb > -40, gap: levels.musicPedalDb - levels.speechPedalDb > 20, underSpeech: levels.musicDb < levels.speechDb - 2, levels }).toEqual({ speech: true, music: true, gap: true, underSpeech: true, levels });
});

test('when an agent joins the caller\'s conference, then each hears the other; held, they hear nothing of each other; a muted agent is heard by nobody but still hears', async () => {
  rig.app.twiml('/voice', '<Response><Dial><Conference startConferenceOnEnter="false" endConferenceOnExit="true" waitUrl="/wait">room</Conference></Dial></Response>');
  rig.app.twiml('/wait', '<Response><Play loop="0">http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3</Play></Response>');
  rig.app.twiml('/agent', '<Response><Dial><Conference startConferenceOnEnter="true" endConferenceOnExit="false">room</Conference></Dial></Response>');
  const customer = await phoneWithAudio(1100);
  await customer.audio.connected;

  const token = accessToken('ada');
  const device = await rig.device('ada', token);
  const { deviceId } = await device.next('registered');
  const call = await rig.client.calls.create({ to: 'client:ada', from: rig.support, url: `${rig.app.server.url}/agent` });
  await device.next('incoming', (d) => d.callSid === call.sid);
  expect((await rig.postJson(`/local/device/calls/${call.sid}/accept`, { deviceId }, { Authorization: `Bearer ${token}` })).status).toBe(200);
  const agent = await connectAudio(`${rig.base}/local/device/calls/${call.sid}/media`, 1450, { deviceId }, { Authorization: `Bearer ${token}` });
  clients.push(agent);
  await agent.connected;
  const [conf] = await rig.client.conferences.list({ friendlyName: 'room', status: 'in-progress' });

  const measure = async (): Promise<Record<string, number>> => {
    await sleep(800);
    const c = customer.audio.heard(600);
    const a = agent.heard(600);
    return { customerHearsAgent: toneDb(c, 1450), agentHearsCustomer: toneDb(a, 1100), customerHearsMusic: toneDb(c, HOLD_MUSIC_PEDAL_HZ), customerHearsSelf: toneDb(c, 1100) };
  };
  const talking = await measure();
  await rig.client.conferences(conf!.sid).participants(customer.callSid).update({ hold: true });
  const held = await measure();
  await rig.client.conferences(conf!.sid).participants(customer.callSid).update({ hold: false });
  await rig.client.conferences(conf!.sid).participants(call.sid).update({ muted: true });
  const muted = await measure();

  const heard = (db: number | undefined): boolean => (db ?? -200) > -40;
  const silent = (db: number | undefined): boolean => (db ?? 0) < -70;
  expect({
    talking: [heard(talking.customerHearsAgent), heard(talking.agentHearsCustomer), silent(talking.customerHearsSelf)],
    held: [silent(held.customerHearsAgent), silent(held.agentHearsCustomer), heard(held.customerHearsMusic)],
    muted: [silent(muted.customerHearsAgent), heard(muted.agentHearsCustomer)],
    levels: { talking, held, muted },
  }).toEqual({ talking: [true, true, true], held: [true, true, true], muted: [true, true], levels: { talking, held, muted } });
});

test("when a device answers a call bringing audio, then the call's TwiML waits until that audio has connected, so the agent hears its first sound (3 s at most; without audio, at once)", async () => {
  rig.app.twiml('/agent', '<Response><Play loop="0">http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3</Play></Response>');
  const token = accessToken('agentA');
  const device = await rig.device('agentA', token);
  const { deviceId } = await device.next('registered');
  const auth = { Authorization: `Bearer ${token}` };
  const call = await rig.client.calls.create({ from: rig.support, to: 'client:agentA', url: `${rig.app.server.url}/agent` });
  await device.next('incoming', (d) => d.callSid === call.sid);

  expect((await rig.postJson(`/local/device/calls/${call.sid}/accept`, { deviceId, audio: true }, auth)).status).toBe(200);
  await sleep(600);
  // Answered, but no audio yet: the TwiML has not been asked for.
  expect(rig.local.snapshot().calls.find((c) => c.sid === call.sid)?.status).toBe('in-progress');
  expect(rig.app.at('/agent')).toHaveLength(0);

  const audio = await connectAudio(`${rig.base}/local/device/calls/${call.sid}/media`, 0, { deviceId }, auth);
  clients.push(audio);
  await audio.connected;
  await rig.app.waitFor('/agent');
  await eventually(() => rig.local.snapshot().calls.find((c) => c.sid === call.sid)?.hears.what === 'play', 'the music', 8000);
  await sleep(1000);
  // From the first moments the caption says music, the music is heard.
  expect(toneDb(audio.heard(800), HOLD_MUSIC_PEDAL_HZ)).toBeGreaterThan(-40);
});
