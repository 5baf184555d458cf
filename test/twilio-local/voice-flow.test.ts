// Voice engine of the local Twilio stand-in: inbound call, conference, agents, hold, transfer, hang-ups.
import { accessToken, creds, SseReader, startRig, type Rig } from './helpers';

let rig: Rig;

beforeEach(async () => {
  rig = await startRig();
});

afterEach(async () => {
  await rig.close();
});

/** The fake app's TwiML: the customer waits in a conference that ends when they leave. */
function customerTwiml(): void {
  rig.app.twiml(
    '/voice',
    `<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Say>Thanks for calling support.</Say>
  <Dial><Conference startConferenceOnEnter="false" endConferenceOnExit="true" waitUrl="/wait"
      statusCallback="/conf-events" statusCallbackEvent="start end join leave hold mute">support-room</Conference></Dial>
  <Say>Goodbye after dial.</Say>
</Response>`,
  );
  rig.app.twiml('/wait', '<Response><Play loop="0">https://example.com/hold.mp3</Play></Response>');
  rig.app.twiml(
    '/agent-join',
    '<Response><Dial><Conference startConferenceOnEnter="true" endConferenceOnExit="false">support-room</Conference></Dial></Response>',
  );
}

async function registered(identity: string): Promise<{ device: SseReader; token: string; deviceId: string }> {
  const token = accessToken(identity);
  const device = await rig.device(identity, token);
  const { deviceId } = await device.next('registered');
  return { device, token, deviceId: String(deviceId) };
}

/** Starts a customer call and waits until they hear the wait music. */
async function customerWaiting(): Promise<{ callSid: string; events: SseReader; confSid: string }> {
  customerTwiml();
  const { callSid, events } = await rig.phoneCall();
  await events.next('hears', (d) => d.what === 'play' && d.url === 'https://example.com/hold.mp3');
  const [conf] = await rig.client.conferences.list({ friendlyName: 'support-room', status: 'init' });
  if (!conf) throw new Error('no conference');
  return { callSid, events, confSid: conf.sid };
}

async function ringAndAccept(identity: string, dev: { device: SseReader; token: string; deviceId: string }): Promise<string> {
  const call = await rig.client.calls.create({
    to: `client:${identity}?ticket=42`,
    from: rig.support,
    url: `${rig.app.server.url}/agent-join`,
    statusCallback: `${rig.app.server.url}/agent-status`,
    statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
  });
  const incoming = await dev.device.next('incoming', (d) => d.callSid === call.sid);
  expect(incoming.customParameters).toEqual({ ticket: '42' });
  const res = await rig.postJson(`/local/device/calls/${call.sid}/accept`, { token: dev.token, deviceId: dev.deviceId });
  expect(res.status).toBe(200);
  await dev.device.next('accepted', (d) => d.callSid === call.sid);
  return call.sid;
}

test('when a customer calls and two agents join, then the conference runs Twilio-style and ends when the customer leaves', async () => {
  const agentA = await registered('agentA');
  const agentB = await registered('agentB');

  // Inbound call: signed voice webhook with Twilio's parameters, Say, then the waitUrl while the conference has not started.
  const { callSid: customer, events: phone, confSid } = await customerWaiting();
  const voice = rig.app.at('/voice')[0];
  expect(voice?.signatureValid).toBe(true);
  expect(voice?.params).toMatchObject({
    CallSid: customer,
    CallStatus: 'ringing',
    Direction: 'inbound',
    ApiVersion: '2010-04-01',
    From: '+15557654321',
    To: rig.support,
    Caller: '+15557654321',
    Called: rig.support,
  });
  expect(phone.names()).toContain('hears');
  await phone.next('hears', (d) => d.what === 'say' && d.text === 'Thanks for calling support.');
  expect(rig.app.at('/wait')[0]?.signatureValid).toBe(true);

  // Agent A is called on their device, accepts, and the conference starts.
  const agentACall = await ringAndAccept('agentA', agentA);
  const join = await rig.app.waitFor('/agent-join');
  expect(join.params).toMatchObject({ CallSid: agentACall, CallStatus: 'in-progress', Direction: 'outbound-api', To: 'client:agentA?ticket=42' });
  expect(join.signatureValid).toBe(true);
  await agentA.device.next('hears', (d) => d.what === 'conference' && (d.conference as { started: boolean }).started);
  await phone.next('hears', (d) => d.what === 'conference' && (d.conference as { participants: number }).participants === 2);
  expect((await rig.client.conferences(confSid).fetch()).status).toBe('in-progress');

  // Warm transfer: agent B is added with the Participants API.
  const added = await rig.client.conferences(confSid).participants.create({
    from: rig.support,
    to: 'client:agentB',
    label: 'agentB',
    startConferenceOnEnter: true,
    endConferenceOnExit: false,
  });
  expect(added.status).toBe('queued');
  const incomingB = await agentB.device.next('incoming');
  expect(incomingB.callSid).toBe(added.callSid);
  expect((await rig.postJson(`/local/device/calls/${added.callSid}/accept`, { token: agentB.token })).status).toBe(200);
  await agentB.device.next('hears', (d) => d.what === 'conference' && (d.conference as { participants: number }).participants === 3);
  const list = await rig.client.conferences(confSid).participants.list();
  expect(list.map((p) => p.callSid).sort()).toEqual([customer, agentACall, added.callSid].sort());
  expect((await rig.client.conferences(confSid).participants('agentB').fetch()).callSid).toBe(added.callSid);

  // Hold and unhold the customer while the agents talk.
  const held = await rig.client.conferences(confSid).participants(customer).update({ hold: true });
  expect(held.hold).toBe(true);
  await phone.next('hears', (d) => d.what === 'play' && String(d.url).includes('twimlets.com/holdmusic'));
  await rig.client.conferences(confSid).participants(customer).update({ hold: false });
  await phone.next('hears', (d) => d.what === 'conference' && phone.events.some((e) => e.event === 'hears' && e.data.what === 'play' && String(e.data.url).includes('twimlets')));

  // Agent A leaves: the conference carries on.
  expect((await rig.postJson(`/local/device/calls/${agentACall}/disconnect`, { token: agentA.token })).status).toBe(200);
  await rig.app.waitFor('/agent-status', (p) => p.CallStatus === 'completed');
  expect((await rig.client.conferences(confSid).fetch()).status).toBe('in-progress');

  // The customer (endConferenceOnExit) hangs up: the conference ends and agent B is disconnected.
  expect((await rig.postJson(`/local/phone/calls/${customer}/hangup`, {})).status).toBe(200);
  await agentB.device.next('disconnect', (d) => d.callSid === added.callSid);
  await phone.next('status', (d) => d.status === 'completed');
  const conf = await rig.client.conferences(confSid).fetch();
  expect(conf).toMatchObject({ status: 'completed', reasonConferenceEnded: 'participant-with-end-conference-on-exit-left', callSidEndingConference: customer });
  expect((await rig.client.calls(added.callSid).fetch()).status).toBe('completed');

  // Conference status callbacks: signed, in order, numbered.
  await rig.app.waitFor('/conf-events', (p) => p.StatusCallbackEvent === 'conference-end');
  const events = rig.app.at('/conf-events');
  expect(events.every((e) => e.signatureValid)).toBe(true);
  expect(events.map((e) => `${e.params.StatusCallbackEvent}:${e.params.CallSid ?? ''}`)).toEqual([
    `participant-join:${customer}`,
    `participant-join:${agentACall}`,
    'conference-start:',
    `participant-join:${added.callSid}`,
    `participant-hold:${customer}`,
    `participant-unhold:${customer}`,
    `participant-leave:${agentACall}`,
    `participant-leave:${customer}`,
    `participant-leave:${added.callSid}`,
    'conference-end:',
  ]);
  expect(events.map((e) => Number(e.params.SequenceNumber))).toEqual(events.map((_, i) => i + 1));
  expect(events[0]?.params).toMatchObject({ ConferenceSid: confSid, FriendlyName: 'support-room', StartConferenceOnEnter: 'false', EndConferenceOnExit: 'true' });
  expect(events[6]?.params).toMatchObject({ ReasonParticipantLeft: 'participant_hung_up', ParticipantCallStatus: 'completed' });
  expect(events[9]?.params).toMatchObject({ ReasonConferenceEnded: 'participant-with-end-conference-on-exit-left', CallSidEndingConference: customer });

  // Agent A's call progress callbacks.
  const progress = rig.app.at('/agent-status').filter((r) => r.params.CallSid === agentACall);
  expect(progress.map((r) => r.params.CallStatus)).toEqual(['initiated', 'ringing', 'in-progress', 'completed']);
  expect(progress.map((r) => r.params.SequenceNumber)).toEqual(['0', '1', '2', '3']);
});

test('when the customer hangs up while an agent is still ringing, then the app can cancel it and the device sees cancel', async () => {
  const agentA = await registered('agentA');
  const { callSid: customer } = await customerWaiting();
  const agentCall = await rig.client.calls.create({ to: 'client:agentA', from: rig.support, url: `${rig.app.server.url}/agent-join` });
  await agentA.device.next('incoming', (d) => d.callSid === agentCall.sid);

  await rig.postJson(`/local/phone/calls/${customer}/hangup`, {});
  // The app learns it from the conference callback, then cancels the agent leg, as it would with Twilio.
  await rig.app.waitFor('/conf-events', (p) => p.StatusCallbackEvent === 'conference-end' && p.ReasonConferenceEnded === 'participant-with-end-conference-on-exit-left');
  await rig.client.calls(agentCall.sid).update({ status: 'canceled' });

  await agentA.device.next('cancel', (d) => d.callSid === agentCall.sid);
  expect(rig.local.snapshot().calls.find((c) => c.sid === agentCall.sid)?.status).toBe('canceled');
});

test('when the conference ends while a participant added via the API is ringing, then that device sees cancel', async () => {
  const agentB = await registered('agentB');
  const { callSid: customer, confSid } = await customerWaiting();
  const added = await rig.client.conferences(confSid).participants.create({ from: rig.support, to: 'client:agentB' });
  await agentB.device.next('incoming', (d) => d.callSid === added.callSid);
  expect((await rig.client.conferences(confSid).participants(added.callSid).fetch()).status).toBe('ringing');

  await rig.postJson(`/local/phone/calls/${customer}/hangup`, {});

  await agentB.device.next('cancel', (d) => d.callSid === added.callSid);
  expect((await rig.client.calls(added.callSid).fetch()).status).toBe('canceled');
});

test('when a participant is removed, then it leaves the conference and its TwiML continues after <Dial>', async () => {
  const agentA = await registered('agentA');
  const { callSid: customer, events: phone, confSid } = await customerWaiting();
  await ringAndAccept('agentA', agentA);
  await phone.next('hears', (d) => d.what === 'conference');

  const res = await fetch(`${rig.base}/2010-04-01/Accounts/${creds.accountSid}/Conferences/${confSid}/Participants/${customer}.json`, {
    method: 'DELETE',
    headers: { Authorization: 'Basic ' + Buffer.from(`${creds.apiKeySid}:${creds.apiKeySecret}`).toString('base64') },
  });
  expect(res.status).toBe(204);
  await expect(rig.client.conferences(confSid).participants(customer).fetch()).rejects.toMatchObject({ code: 20404 });

  await phone.next('hears', (d) => d.what === 'say' && d.text === 'Goodbye after dial.');
  await phone.next('status', (d) => d.status === 'completed');
  const leave = await rig.app.waitFor('/conf-events', (p) => p.StatusCallbackEvent === 'participant-leave' && p.CallSid === customer);
  expect(leave.params.ReasonParticipantLeft).toBe('participant_updated_via_api');
  const end = await rig.app.waitFor('/conf-events', (p) => p.StatusCallbackEvent === 'conference-end');
  // the kicked participant had no label, so there is none to send (ParticipantLabelEndingConference "if applicable")
  expect(end.params).toMatchObject({ ReasonConferenceEnded: 'participant-with-end-conference-on-exit-kicked', CallSidEndingConference: customer, Reason: expect.stringContaining(customer) });
  expect(end.params.ParticipantLabelEndingConference).toBeUndefined();
  await agentA.device.next('disconnect');
});

test('when the app redirects a live call via the API, then it leaves the conference and runs the new TwiML', async () => {
  const agentA = await registered('agentA');
  const { confSid } = await customerWaiting();
  const agentCall = await ringAndAccept('agentA', agentA);
  await agentA.device.next('hears', (d) => d.what === 'conference');

  await rig.client.calls(agentCall).update({ twiml: '<Response><Say>Wrap up now.</Say></Response>' });

  await agentA.device.next('hears', (d) => d.what === 'say' && d.text === 'Wrap up now.');
  await agentA.device.next('disconnect', (d) => d.callSid === agentCall);
  const leave = await rig.app.waitFor('/conf-events', (p) => p.StatusCallbackEvent === 'participant-leave' && p.CallSid === agentCall);
  expect(leave.params.ReasonParticipantLeft).toBe('participant_updated_via_api');
  expect((await rig.client.conferences(confSid).fetch()).status).toBe('in-progress');
});

test('when the conference is completed via the API, then everyone leaves with conference-ended-via-api', async () => {
  const agentA = await registered('agentA');
  const { events: phone, confSid } = await customerWaiting();
  await ringAndAccept('agentA', agentA);
  await phone.next('hears', (d) => d.what === 'conference');

  const conf = await rig.client.conferences(confSid).update({ status: 'completed' });

  expect(conf.status).toBe('completed');
  expect(conf.reasonConferenceEnded).toBe('conference-ended-via-api');
  await agentA.device.next('disconnect');
  await phone.next('status', (d) => d.status === 'completed');
});

test('when the voice webhook fails, then the caller hears the application error and the call ends', async () => {
  rig.app.routes.set('/voice', () => ({ status: 500, body: 'boom' }));
  const { events } = await rig.phoneCall();
  await events.next('hears', (d) => d.what === 'say' && String(d.text).includes('application error'));
  await events.next('status', (d) => d.status === 'completed' && d.reason === 'application-error');
  expect(rig.logs.some((l) => l.includes('application error'))).toBe(true);
});

test('when the voice webhook returns invalid TwiML, then the caller hears the application error', async () => {
  rig.app.twiml('/voice', '<Response><Say>unclosed</Response>');
  const { events } = await rig.phoneCall();
  await events.next('status', (d) => d.status === 'completed' && d.reason === 'application-error');
});

test('when the voice webhook answers <Reject> first, then the call is never answered and ends busy (reason="busy") or no-answer (reason="rejected", the default)', async () => {
  // https://www.twilio.com/docs/voice/twiml/reject : not picked up, "busy or no-answer, depending on the verb's reason"
  for (const [reject, status] of [['<Reject reason="busy"/>', 'busy'], ['<Reject/>', 'no-answer']] as const) {
    rig.app.twiml('/voice', `<Response>${reject}<Say>Never heard.</Say></Response>`);

    const { callSid, events } = await rig.phoneCall();

    await events.next('status', (d) => d.status === 'failed' && d.reason === 'rejected');
    expect(await rig.client.calls(callSid).fetch()).toMatchObject({ status, startTime: null, duration: '0' });
    expect(events.events.some((e) => e.data.status === 'in-progress' || e.data.what === 'say')).toBe(false);
  }
});

test('when <Reject> comes after another verb, then the call was already answered and simply ends completed', async () => {
  rig.app.twiml('/voice', '<Response><Say>Hello.</Say><Reject reason="busy"/></Response>');

  const { callSid, events } = await rig.phoneCall();

  await events.next('status', (d) => d.status === 'completed');
  const call = await rig.client.calls(callSid).fetch();
  expect(call.status).toBe('completed');
  expect(call.startTime).not.toBeNull();
});

test('when a status callback URL fails, then nothing crashes and the failure is logged', async () => {
  const call = await rig.client.calls.create({
    to: 'client:nobody',
    from: rig.support,
    url: `${rig.app.server.url}/agent`,
    statusCallback: 'http://127.0.0.1:1/nowhere',
  });
  await expect(
    (async () => {
      for (let i = 0; i < 200 && !rig.logs.some((l) => l.includes('callback failed')); i++) await new Promise((r) => setTimeout(r, 10));
    })(),
  ).resolves.toBeUndefined();
  expect(rig.logs.some((l) => l.includes('call completed callback failed'))).toBe(true);
  expect((await rig.client.calls(call.sid).fetch()).status).toBe('no-answer');
});

test('when a number is not configured, then the phone channel answers 404', async () => {
  const res = await rig.postJson('/local/phone/calls', { from: '+15557654321', to: '+15550000000' });
  expect(res.status).toBe(404);
});

test("when the phone's own number is blank, not E.164, or the support line's, then it is refused with 400 and a message, and nothing is dialled", async () => {
  const before = rig.local.snapshot().calls.length;
  for (const from of ['', '   ', 'hello', '5557654321', '+0123', '<script>', rig.support]) {
    const res = await rig.postJson('/local/phone/calls', { from, to: rig.support });
    expect(res.status).toBe(400);
    expect(String(res.body.message)).toMatch(from === rig.support ? /support line's own number/ : /E\.164/);
  }
  expect((await rig.postJson('/local/phone/calls', { to: rig.support })).status).toBe(400);
  expect(rig.local.snapshot().calls.length).toBe(before);
});

test('when stop() is called twice with live calls and streams, then everything ends and the streams close', async () => {
  const agentA = await registered('agentA');
  const { events: phone } = await customerWaiting();
  await rig.local.stop();
  await rig.local.stop();
  expect(rig.local.snapshot().calls.every((c) => ['completed', 'canceled'].includes(c.status))).toBe(true);
  await expect(agentA.device.next('never')).rejects.toThrow('stream ended');
  await expect(phone.next('never')).rejects.toThrow('stream ended');
});

test('when the caller\'s page closes and no page follows the call any more, then the caller has hung up; while another page follows it, the call goes on', async () => {
  const { callSid, events } = await customerWaiting();
  const second = await SseReader.open(`${rig.base}/local/phone/calls/${callSid}/events`);

  events.close();
  await new Promise((resolve) => setTimeout(resolve, 100)); // 20 times the (scaled) grace
  expect((await rig.client.calls(callSid).fetch()).status).toBe('in-progress');

  second.close();
  for (let i = 0; i < 100 && (await rig.client.calls(callSid).fetch()).status !== 'completed'; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
  expect((await rig.client.calls(callSid).fetch()).status).toBe('completed');
  const left = rig.app.at('/conf-events').find((r) => r.params.StatusCallbackEvent === 'participant-leave' && r.params.CallSid === callSid);
  expect(left?.params.ReasonParticipantLeft).toBe('participant_hung_up');
});
