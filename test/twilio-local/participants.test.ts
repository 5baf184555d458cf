// Conference Participants API of the stand-in (labels, hold, mute, leave reasons), driven by the real twilio library.
import { accessToken, startRig, type Rig, type SseReader } from './helpers';

let rig: Rig;

beforeEach(async () => {
  rig = await startRig();
});

afterEach(async () => {
  await rig.close();
});

const confEvent = (event: string, match: (p: Record<string, string>) => boolean = () => true) =>
  rig.app.waitFor('/conf-events', (p) => p.StatusCallbackEvent === event && match(p));

/** The customer waits in "support-room" (ends the conference on exit); every conference event goes to /conf-events. */
async function customerWaiting(waitUrl = '/wait'): Promise<{ callSid: string; phone: SseReader; confSid: string }> {
  rig.app.twiml(
    '/voice',
    `<Response><Dial><Conference participantLabel="customer" startConferenceOnEnter="false" endConferenceOnExit="true"
      waitUrl="${waitUrl}" statusCallback="/conf-events" statusCallbackEvent="start end join leave hold mute">support-room</Conference></Dial></Response>`,
  );
  if (!rig.app.routes.has('/wait')) rig.app.twiml('/wait', '<Response><Play loop="0">https://example.com/wait.mp3</Play></Response>');
  const { callSid, events: phone } = await rig.phoneCall();
  await rig.app.waitFor('/conf-events', (p) => p.StatusCallbackEvent === 'participant-join' && p.CallSid === callSid);
  const [conf] = await rig.client.conferences.list({ friendlyName: 'support-room', status: 'init' });
  if (!conf) throw new Error('no conference');
  return { callSid, phone, confSid: conf.sid };
}

async function registered(identity: string): Promise<{ device: SseReader; token: string; deviceId: string }> {
  const token = accessToken(identity);
  const device = await rig.device(identity, token);
  const { deviceId } = await device.next('registered');
  return { device, token, deviceId: String(deviceId) };
}

/** Adds `identity` to the conference with the Participants API and accepts on its device. */
async function agentJoins(confSid: string, identity: string, label: string): Promise<string> {
  const dev = await registered(identity);
  const added = await rig.client.conferences(confSid).participants.create({ from: rig.support, to: `client:${identity}`, label });
  await dev.device.next('incoming', (d) => d.callSid === added.callSid);
  expect((await rig.postJson(`/local/device/calls/${added.callSid}/accept`, { token: dev.token, deviceId: dev.deviceId })).status).toBe(200);
  await confEvent('participant-join', (p) => p.CallSid === added.callSid);
  return added.callSid;
}

describe('labels', () => {
  test('when a participant is created with a label, then it can be fetched, updated and listed by that label or its CallSid', async () => {
    const { confSid } = await customerWaiting();
    const agent = await agentJoins(confSid, 'alice', 'agent:alice');

    const byLabel = await rig.client.conferences(confSid).participants('agent:alice').fetch();
    const byCallSid = await rig.client.conferences(confSid).participants(agent).fetch();
    const list = await rig.client.conferences(confSid).participants.list();

    expect(byLabel).toMatchObject({ callSid: agent, label: 'agent:alice', status: 'connected', conferenceSid: confSid });
    expect(byCallSid.label).toBe('agent:alice');
    expect(list.map((p) => p.label).sort()).toEqual(['agent:alice', 'customer']);
    expect((await rig.client.conferences(confSid).participants('customer').update({ muted: true })).muted).toBe(true);
  });

  test('when a label is already used by an active participant, then create rejects with 16026 and nobody is dialled', async () => {
    const { confSid } = await customerWaiting();
    const bob = await registered('bob');

    await expect(rig.client.conferences(confSid).participants.create({ from: rig.support, to: 'client:bob', label: 'customer' })).rejects.toMatchObject({
      status: 400,
      code: 16026,
    });
    expect(rig.local.snapshot().calls.filter((c) => c.to === 'client:bob')).toEqual([]);
    expect(bob.device.names()).not.toContain('incoming');
  });

  test("when a label is longer than 128 characters, looks like a CallSid or contains '/', then create rejects with 16024", async () => {
    const { confSid } = await customerWaiting();
    for (const label of ['x'.repeat(129), 'CA' + 'a'.repeat(32), 'agent/alice', 'agent%2Falice']) {
      await expect(rig.client.conferences(confSid).participants.create({ from: rig.support, to: 'client:bob', label })).rejects.toMatchObject({ code: 16024 });
    }
  });

  test('when a label names nobody, then fetch rejects with 20404', async () => {
    const { confSid } = await customerWaiting();
    await expect(rig.client.conferences(confSid).participants('agent:nobody').fetch()).rejects.toMatchObject({ status: 404, code: 20404 });
  });

  test('when TwiML joins a call with a label already in use, then the Dial fails (16025) and DialCallStatus is failed', async () => {
    const { confSid } = await customerWaiting();
    const carol = await registered('carol');
    rig.app.twiml('/dup', '<Response><Dial action="/after-dial"><Conference participantLabel="customer">support-room</Conference></Dial></Response>');
    const call = await rig.client.calls.create({ from: rig.support, to: 'client:carol', url: `${rig.app.server.url}/dup` });
    await carol.device.next('incoming', (d) => d.callSid === call.sid);
    await rig.postJson(`/local/device/calls/${call.sid}/accept`, { token: carol.token });

    const after = await rig.app.waitFor('/after-dial', (p) => p.CallSid === call.sid);
    expect(after.params.DialCallStatus).toBe('failed');
    expect(rig.logs.some((l) => l.includes('16025'))).toBe(true);
    expect((await rig.client.conferences(confSid).participants.list()).map((p) => p.callSid)).not.toContain(call.sid);
  });
});

describe('addressing the conference', () => {
  test('when list, fetch, update or delete name the conference by its friendly name, then each answers 404 (20404) and nothing changes; create may use the name', async () => {
    // As the app does: the conference is named after the caller's CallSid, so conferences(callSid) is a natural mistake.
    // twilio_api_v2010.json: ConferenceSid is ^CF[0-9a-fA-F]{32}$ for these four, unconstrained for CreateParticipant.
    rig.app.twiml('/voice', (p) => `<Response><Dial><Conference participantLabel="customer" statusCallback="/conf-events" statusCallbackEvent="join">${p.CallSid}</Conference></Dial></Response>`);
    const { callSid: customer } = await rig.phoneCall();
    await confEvent('participant-join', (p) => p.CallSid === customer);
    const [conf] = await rig.client.conferences.list({ friendlyName: customer });
    const byName = rig.client.conferences(customer);

    await expect(byName.participants.list()).rejects.toMatchObject({ status: 404, code: 20404 });
    await expect(byName.participants('customer').fetch()).rejects.toMatchObject({ status: 404, code: 20404 });
    await expect(byName.participants('customer').update({ muted: true })).rejects.toMatchObject({ status: 404, code: 20404 });
    await expect(byName.participants(customer).remove()).rejects.toMatchObject({ status: 404, code: 20404 });

    expect(await rig.client.conferences(conf!.sid).participants('customer').fetch()).toMatchObject({ callSid: customer, muted: false, status: 'connected' });
    const ivan = await registered('ivan');
    const added = await byName.participants.create({ from: rig.support, to: 'client:ivan', label: 'agent:ivan' });
    await ivan.device.next('incoming', (d) => d.callSid === added.callSid);
    expect(added.conferenceSid).toBe(conf!.sid);
  });
});

describe('create', () => {
  test('when a participant is created with the documented options, then they are kept and its call progress goes to its statusCallback', async () => {
    const { confSid } = await customerWaiting();
    const dave = await registered('dave');

    const added = await rig.client.conferences(confSid).participants.create({
      from: rig.support,
      to: 'client:dave',
      label: 'agent:dave',
      statusCallback: `${rig.app.server.url}/leg-status`,
      statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
      timeout: 20,
      startConferenceOnEnter: true,
      endConferenceOnExit: false,
      beep: 'false',
      earlyMedia: true,
      muted: true,
      waitUrl: `${rig.app.server.url}/wait`,
    });
    await dave.device.next('incoming', (d) => d.callSid === added.callSid);
    await rig.postJson(`/local/device/calls/${added.callSid}/accept`, { token: dave.token });
    await confEvent('conference-start');

    expect(added).toMatchObject({ status: 'queued', label: 'agent:dave', muted: true, startConferenceOnEnter: true, endConferenceOnExit: false });
    await rig.app.waitFor('/leg-status', (p) => p.CallStatus === 'in-progress');
    expect(rig.app.at('/leg-status').map((r) => r.params.CallStatus)).toEqual(['initiated', 'ringing', 'in-progress']);
    const join = await confEvent('participant-join', (p) => p.CallSid === added.callSid);
    expect(join.params).toMatchObject({ ParticipantLabel: 'agent:dave', Muted: 'true', StartConferenceOnEnter: 'true' });
    expect(join.params.ParticipantCallStatus).toBeUndefined();
  });
});

describe('hold and mute', () => {
  test('when a participant is held with a TwiML holdUrl, then it hears that document (fetched with GET) and the others see it held', async () => {
    rig.app.twiml('/hold-music', '<Response><Say>Please hold.</Say><Play loop="0">https://example.com/music.mp3</Play></Response>');
    const { callSid: customer, phone, confSid } = await customerWaiting();
    const agent = await agentJoins(confSid, 'alice', 'agent:alice');
    await phone.next('hears', (d) => d.what === 'conference');

    const held = await rig.client.conferences(confSid).participants('customer').update({ hold: true, holdUrl: `${rig.app.server.url}/hold-music` });

    expect(held.hold).toBe(true);
    await phone.next('hears', (d) => d.what === 'say' && d.text === 'Please hold.' && d.held === true);
    await phone.next('hears', (d) => d.what === 'play' && d.url === 'https://example.com/music.mp3' && d.held === true);
    // Fetched with GET (HoldMethod's default): the parameters travel in the signed query string, not in a form body.
    const holdFetch = rig.app.at('/hold-music')[0];
    expect(holdFetch?.params).toEqual({});
    expect(holdFetch?.signatureValid).toBe(true);
    expect((await confEvent('participant-hold', (p) => p.CallSid === customer)).params).toMatchObject({ Hold: 'true', ParticipantLabel: 'customer' });
    const agentHears = rig.local.snapshot().calls.find((c) => c.sid === agent)?.hears;
    expect(agentHears).toMatchObject({ what: 'conference', conference: { participants: 2, held: 1 } });
    expect((await rig.client.conferences(confSid).participants.list({ hold: true })).map((p) => p.callSid)).toEqual([customer]);

    await rig.client.conferences(confSid).participants('customer').update({ hold: false });

    await confEvent('participant-unhold', (p) => p.CallSid === customer);
    await phone.next('hears', (d) => d.what === 'conference' && d.held === undefined && phone.events.some((e) => e.data.held === true));
    expect(rig.local.snapshot().calls.find((c) => c.sid === agent)?.hears).toMatchObject({ conference: { held: 0 } });
  });

  test('when a held agent is on a device, then the device hears the hold music', async () => {
    const { confSid } = await customerWaiting();
    const dev = await registered('erin');
    const added = await rig.client.conferences(confSid).participants.create({ from: rig.support, to: 'client:erin', label: 'agent:erin' });
    await dev.device.next('incoming');
    await rig.postJson(`/local/device/calls/${added.callSid}/accept`, { token: dev.token });
    await dev.device.next('hears', (d) => d.what === 'conference');

    await rig.client.conferences(confSid).participants('agent:erin').update({ hold: true });

    const hears = await dev.device.next('hears', (d) => d.held === true);
    expect(hears).toMatchObject({ callSid: added.callSid, what: 'play', url: expect.stringContaining('twimlets.com/holdmusic') });
  });

  test('when a participant is held while still ringing, then it joins on hold and hears the hold music', async () => {
    const { confSid } = await customerWaiting();
    const dev = await registered('hana');
    const added = await rig.client.conferences(confSid).participants.create({ from: rig.support, to: 'client:hana', label: 'agent:hana' });
    await dev.device.next('incoming');

    await rig.client.conferences(confSid).participants('agent:hana').update({ hold: true });
    await rig.postJson(`/local/device/calls/${added.callSid}/accept`, { token: dev.token });

    expect(await dev.device.next('hears', (d) => d.held === true)).toMatchObject({ what: 'play', url: expect.stringContaining('holdmusic') });
    expect((await rig.client.conferences(confSid).participants('agent:hana').fetch()).hold).toBe(true);
  });

  test('when endConferenceOnExit is changed on a held participant, then it is ignored; after unhold it takes effect', async () => {
    const { confSid } = await customerWaiting();
    await agentJoins(confSid, 'alice', 'agent:alice');
    await rig.client.conferences(confSid).participants('agent:alice').update({ hold: true });

    const whileHeld = await rig.client.conferences(confSid).participants('agent:alice').update({ endConferenceOnExit: true });
    const fetched = await rig.client.conferences(confSid).participants('agent:alice').fetch();
    await rig.client.conferences(confSid).participants('agent:alice').update({ hold: false });
    const afterUnhold = await rig.client.conferences(confSid).participants('agent:alice').update({ endConferenceOnExit: true });

    expect(whileHeld.endConferenceOnExit).toBe(false);
    expect(fetched.endConferenceOnExit).toBe(false);
    expect(afterUnhold.endConferenceOnExit).toBe(true);
  });

  test('when a participant is muted and unmuted, then it is reported muted and participant-mute/unmute are sent', async () => {
    const { callSid: customer, confSid } = await customerWaiting();

    await rig.client.conferences(confSid).participants(customer).update({ muted: true });
    const muted = await rig.client.conferences(confSid).participants.list({ muted: true });
    await rig.client.conferences(confSid).participants(customer).update({ muted: false });

    expect(muted.map((p) => p.callSid)).toEqual([customer]);
    expect((await confEvent('participant-mute')).params).toMatchObject({ CallSid: customer, Muted: 'true' });
    expect((await confEvent('participant-unmute')).params).toMatchObject({ CallSid: customer, Muted: 'false' });
  });
});

describe('leave and end reasons', () => {
  test('when an added agent rejects on the device, then its call is busy and participant-leave says participant_add_failed', async () => {
    const { confSid } = await customerWaiting();
    const dev = await registered('frank');
    const added = await rig.client.conferences(confSid).participants.create({ from: rig.support, to: 'client:frank', label: 'agent:frank' });
    await dev.device.next('incoming');

    expect((await rig.postJson(`/local/device/calls/${added.callSid}/reject`, { token: dev.token })).status).toBe(200);

    const leave = await confEvent('participant-leave', (p) => p.CallSid === added.callSid);
    expect(leave.params).toMatchObject({ ReasonParticipantLeft: 'participant_add_failed', ParticipantCallStatus: 'busy', ParticipantLabel: 'agent:frank' });
    expect((await rig.client.calls(added.callSid).fetch()).status).toBe('busy');
    expect((await rig.client.conferences(confSid).fetch()).status).toBe('init');
  });

  test('when the participant with endConferenceOnExit hangs up, then the others leave with moderator_ended_conference and the end names who and why', async () => {
    const { callSid: customer, confSid } = await customerWaiting();
    const agent = await agentJoins(confSid, 'alice', 'agent:alice');

    await rig.postJson(`/local/phone/calls/${customer}/hangup`, {});

    const customerLeft = await confEvent('participant-leave', (p) => p.CallSid === customer);
    const agentLeft = await confEvent('participant-leave', (p) => p.CallSid === agent);
    const end = await confEvent('conference-end');
    expect(customerLeft.params).toMatchObject({ ReasonParticipantLeft: 'participant_hung_up', ParticipantCallStatus: 'completed' });
    expect(agentLeft.params).toMatchObject({ ReasonParticipantLeft: 'moderator_ended_conference', ParticipantLabel: 'agent:alice' });
    // https://www.twilio.com/docs/voice/twiml/conference#attributes-status-callback-parameters : who ended it, and why
    expect(end.params).toMatchObject({
      ReasonConferenceEnded: 'participant-with-end-conference-on-exit-left',
      Reason: `Participant ${customer} with endConferenceOnExit left the conference`,
      CallSidEndingConference: customer,
      ParticipantLabelEndingConference: 'customer',
    });
  });

  test('when the conference is ended via the API, then each leaves with conference_ended_via_api and the end says so without a CallSid or label', async () => {
    const { callSid: customer, confSid } = await customerWaiting();

    await rig.client.conferences(confSid).update({ status: 'completed' });

    expect((await confEvent('participant-leave', (p) => p.CallSid === customer)).params.ReasonParticipantLeft).toBe('conference_ended_via_api');
    const end = await confEvent('conference-end');
    expect(end.params).toMatchObject({ ReasonConferenceEnded: 'conference-ended-via-api', Reason: 'Conference ended via API' });
    expect(end.params.CallSidEndingConference).toBeUndefined();
    expect(end.params.ParticipantLabelEndingConference).toBeUndefined();
  });

  test('when a participant is removed via the API, then it leaves with participant_updated_via_api', async () => {
    const { confSid } = await customerWaiting();
    const agent = await agentJoins(confSid, 'alice', 'agent:alice');

    await rig.client.conferences(confSid).participants('agent:alice').remove();

    expect((await confEvent('participant-leave', (p) => p.CallSid === agent)).params.ReasonParticipantLeft).toBe('participant_updated_via_api');
    expect((await rig.client.conferences(confSid).fetch()).status).toBe('in-progress');
  });
});

describe('conference callbacks and wait music', () => {
  test('when a later participant names another statusCallback, then the first participant\'s callback keeps getting every event', async () => {
    const { confSid } = await customerWaiting();
    const dev = await registered('gina');
    const added = await rig.client.conferences(confSid).participants.create({
      from: rig.support,
      to: 'client:gina',
      conferenceStatusCallback: `${rig.app.server.url}/other-events`,
      conferenceStatusCallbackEvent: ['join', 'leave', 'start', 'end'],
    });
    await dev.device.next('incoming');
    await rig.postJson(`/local/device/calls/${added.callSid}/accept`, { token: dev.token });

    await confEvent('participant-join', (p) => p.CallSid === added.callSid);
    await confEvent('conference-start');
    expect(rig.app.at('/other-events')).toEqual([]);
  });

  test('when the waitUrl document ends without Redirect, then it plays once and the caller hears silence', async () => {
    rig.app.twiml('/wait-once', '<Response><Say>All agents are busy.</Say></Response>');
    const { phone } = await customerWaiting('/wait-once');

    await phone.next('hears', (d) => d.what === 'say' && d.text === 'All agents are busy.');
    await phone.next('hears', (d) => d.what === 'silence');
    expect(rig.app.at('/wait-once')).toHaveLength(1);
    expect(rig.local.snapshot().calls[0]?.hears).toMatchObject({ what: 'silence', conference: { started: false } });
  });

  test('when the waitUrl document Redirects, then it is fetched again and the caller hears each announcement', async () => {
    let n = 0;
    rig.app.twiml('/position', () => `<Response><Say>You are number ${++n} in line.</Say><Redirect>/position</Redirect></Response>`);
    const { phone, callSid } = await customerWaiting('/position');

    await phone.next('hears', (d) => d.what === 'say' && d.text === 'You are number 3 in line.');
    const requests = rig.app.at('/position');
    expect(requests.length).toBeGreaterThanOrEqual(3);
    // a plain voice request for the waiting call (https://www.twilio.com/docs/voice/twiml#request-parameters)
    expect(requests.every((r) => r.signatureValid && r.params.CallSid === callSid)).toBe(true);
  });
});

describe('coaching', () => {
  test('when a coach is added with CallSidToCoach, then it is coaching that participant; without CallSidToCoach it is refused (400), and a CallSidToCoach not in the conference is 16028; nobody is dialled for a refusal', async () => {
    const { confSid } = await customerWaiting();
    const agent = await agentJoins(confSid, 'alice', 'agent:alice');
    await registered('sue');

    await expect(rig.client.conferences(confSid).participants.create({ from: rig.support, to: 'client:sue', label: 'supervisor:sue', coaching: true })).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/CallSidToCoach is required/) });
    await expect(rig.client.conferences(confSid).participants.create({ from: rig.support, to: 'client:sue', label: 'supervisor:sue', coaching: true, callSidToCoach: `CA${'0'.repeat(32)}` })).rejects.toMatchObject({ status: 400, code: 16028 });
    expect(rig.local.snapshot().calls.filter((c) => c.to === 'client:sue')).toEqual([]);

    const coach = await rig.client.conferences(confSid).participants.create({ from: rig.support, to: 'client:sue', label: 'supervisor:sue', coaching: true, callSidToCoach: agent, startConferenceOnEnter: false, endConferenceOnExit: false });

    expect(coach).toMatchObject({ coaching: true, callSidToCoach: agent, muted: false, endConferenceOnExit: false, startConferenceOnEnter: false, label: 'supervisor:sue' });
  });

  test('when a coach joins through the Participants API with a status callback, then its call reports initiated, ringing, in-progress and completed, and the conference reports it joining with Coaching=true and leaving on its hang-up, the conference going on', async () => {
    const { confSid } = await customerWaiting();
    const alice = await agentJoins(confSid, 'alice', 'agent:alice');
    await confEvent('conference-start');
    const sue = await registered('sue');

    const coach = await rig.client.conferences(confSid).participants.create({
      from: rig.support,
      to: 'client:sue',
      label: 'supervisor:sue',
      coaching: true,
      callSidToCoach: alice,
      startConferenceOnEnter: false,
      endConferenceOnExit: false,
      statusCallback: `${rig.app.server.url}/sup-status`,
      statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
    });
    await sue.device.next('incoming', (d) => d.callSid === coach.callSid);
    await rig.postJson(`/local/device/calls/${coach.callSid}/accept`, { token: sue.token, deviceId: sue.deviceId });

    const join = await confEvent('participant-join', (p) => p.CallSid === coach.callSid);
    expect(join.params).toMatchObject({ ParticipantLabel: 'supervisor:sue', Coaching: 'true', Muted: 'false', EndConferenceOnExit: 'false', StartConferenceOnEnter: 'false' });
    await rig.client.calls(coach.callSid).update({ status: 'completed' });
    const leave = await confEvent('participant-leave', (p) => p.CallSid === coach.callSid);
    expect(leave.params).toMatchObject({ ParticipantLabel: 'supervisor:sue', ParticipantCallStatus: 'completed' });
    await rig.app.waitFor('/sup-status', (p) => p.CallStatus === 'completed');
    expect(rig.app.at('/sup-status').map((r) => r.params.CallStatus)).toEqual(['initiated', 'ringing', 'in-progress', 'completed']);
    expect(rig.local.snapshot().conferences.find((c) => c.sid === confSid)?.status).toBe('in-progress');
  });

  test('when a participant is updated to coach, to listen (muted) and back, then the resource says so; coaching someone not in the conference is 16028 and changes nothing', async () => {
    const { confSid } = await customerWaiting();
    const alice = await agentJoins(confSid, 'alice', 'agent:alice');
    await agentJoins(confSid, 'sue', 'supervisor:sue');
    const sue = rig.client.conferences(confSid).participants('supervisor:sue');

    expect(await sue.update({ coaching: true, callSidToCoach: alice, muted: false })).toMatchObject({ coaching: true, callSidToCoach: alice });
    expect(await sue.update({ coaching: false, muted: true })).toMatchObject({ coaching: false, muted: true });
    expect(await sue.update({ callSidToCoach: alice, muted: false })).toMatchObject({ coaching: true, muted: false });
    await expect(sue.update({ coaching: true, callSidToCoach: `CA${'1'.repeat(32)}` })).rejects.toMatchObject({ status: 400, code: 16028 });
    expect((await sue.fetch()).callSidToCoach).toBe(alice);
  });
});
