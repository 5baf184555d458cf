// The stand-in's softphone additions, driven with the real twilio library and the device channel: keypad digits
// (Call.sendDigits()), a muted device heard by nobody, and demo mode's pretend phone number that answers.
import { accessToken, eventually, startRig, type Rig } from './helpers';

let rig: Rig;
afterEach(async () => {
  await rig?.close();
});

/** Arrange: agentA's device answers a call that joins it to conference `room` with a customer waiting there. */
async function agentInConference(r: Rig): Promise<{ agentCall: string; customerCall: string; token: string }> {
  const token = accessToken('agentA');
  const device = await r.device('agentA', token);
  const { deviceId } = await device.next('registered');
  r.app.twiml('/voice', '<Response><Dial><Conference startConferenceOnEnter="false">room</Conference></Dial></Response>');
  const customer = await r.phoneCall();
  await eventually(() => r.local.snapshot().conferences.find((c) => c.friendlyName === 'room'), 'the conference');
  const added = await r.client.conferences('room').participants.create({ from: r.support, to: 'client:agentA' });
  await device.next('incoming', (d) => d.callSid === added.callSid);
  const accepted = await r.postJson(`/local/device/calls/${added.callSid}/accept`, { deviceId }, { Authorization: `Bearer ${token}` });
  expect(accepted.status).toBe(200);
  await eventually(() => r.local.snapshot().conferences.find((c) => c.friendlyName === 'room' && c.status === 'in-progress'), 'the conference to start');
  return { agentCall: added.callSid, customerCall: customer.callSid, token };
}

test('when the device sends keypad digits on its answered call, then the stand-in records them on the call, in order; bad digits are refused', async () => {
  rig = await startRig();
  const { agentCall, token } = await agentInConference(rig);
  const auth = { Authorization: `Bearer ${token}` };

  expect((await rig.postJson(`/local/device/calls/${agentCall}/digits`, { digits: '12' }, auth)).status).toBe(200);
  expect((await rig.postJson(`/local/device/calls/${agentCall}/digits`, { digits: '3#' }, auth)).status).toBe(200);
  const refused = await rig.postJson(`/local/device/calls/${agentCall}/digits`, { digits: 'abc' }, auth);

  expect(refused.status).toBe(400);
  expect(rig.local.snapshot().calls.find((c) => c.sid === agentCall)?.digits).toBe('123#');
});

test('when the device mutes its call, then the others in the conference hear one muted participant, and unmuting ends it', async () => {
  rig = await startRig();
  const { agentCall, customerCall, token } = await agentInConference(rig);
  const auth = { Authorization: `Bearer ${token}` };

  await rig.postJson(`/local/device/calls/${agentCall}/mute`, { muted: true }, auth);

  expect(rig.local.snapshot().calls.find((c) => c.sid === agentCall)?.deviceMuted).toBe(true);
  await eventually(() => rig.local.snapshot().calls.find((c) => c.sid === customerCall)?.hears.conference?.muted === 1, 'the customer to hear a muted participant');
  await rig.postJson(`/local/device/calls/${agentCall}/mute`, { muted: false }, auth);
  await eventually(() => rig.local.snapshot().calls.find((c) => c.sid === customerCall)?.hears.conference?.muted === undefined, 'nobody muted');
});

test('when pstnAnswerSeconds is set and a phone number is dialled, then it rings, is answered and runs its TwiML (demo mode; unset, rest.test.ts shows it fails)', async () => {
  rig = await startRig({ pstnAnswerSeconds: 2 });
  rig.app.twiml('/customer', '<Response><Dial><Conference>out-room</Conference></Dial></Response>');

  const call = await rig.client.calls.create({ to: '+15550009999', from: rig.support, url: `${rig.app.server.url}/customer`, statusCallback: `${rig.app.server.url}/status`, statusCallbackEvent: ['ringing', 'answered', 'completed'] });

  await rig.app.waitFor('/status', (p) => p.CallStatus === 'ringing');
  await rig.app.waitFor('/status', (p) => p.CallStatus === 'in-progress');
  await rig.app.waitFor('/customer', (p) => p.CallSid === call.sid && p.To === '+15550009999');
  await eventually(() => rig.local.snapshot().calls.find((c) => c.sid === call.sid && c.conferenceSid), 'the answered number in its conference');
  await rig.client.calls(call.sid).update({ status: 'completed' });
  await rig.app.waitFor('/status', (p) => p.CallStatus === 'completed');
});
