// REST API of the local Twilio stand-in, driven by the real twilio helper library.
import { accessToken, creds, restClient, startRig, type Rig } from './helpers';

let rig: Rig;

beforeEach(async () => {
  rig = await startRig();
});

afterEach(async () => {
  await rig.close();
});

describe('authentication and error bodies', () => {
  test('when the credentials are wrong, then the API answers 401 with Twilio error 20003', async () => {
    const res = await fetch(`${rig.base}/2010-04-01/Accounts/${creds.accountSid}/Calls.json`, {
      headers: { Authorization: 'Basic ' + Buffer.from(`${creds.accountSid}:wrong`).toString('base64') },
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      code: 20003,
      message: 'Authenticate',
      more_info: 'https://www.twilio.com/docs/errors/20003',
      status: 401,
    });
  });

  test('when the twilio library uses a wrong secret, then it rejects with RestException 20003', async () => {
    const bad = restClient(rig.base, { user: creds.apiKeySid, pass: 'nope' });
    await expect(bad.calls.list()).rejects.toMatchObject({ status: 401, code: 20003 });
  });

  test('when account SID + auth token are used, then the API accepts them too', async () => {
    const byToken = restClient(rig.base, { user: creds.accountSid, pass: creds.authToken });
    await expect(byToken.calls.list()).resolves.toEqual([]);
  });

  test('when a call does not exist, then fetch rejects with 20404', async () => {
    await expect(rig.client.calls('CA' + '0'.repeat(32)).fetch()).rejects.toMatchObject({ status: 404, code: 20404 });
  });

  test('when Url is missing, then create rejects with 21205; when To is missing, 21201', async () => {
    await expect(rig.client.calls.create({ to: 'client:a', from: rig.support } as never)).rejects.toMatchObject({ status: 400, code: 21205 });
    // The library checks `to` itself, so send this one by hand.
    const res = await fetch(`${rig.base}/2010-04-01/Accounts/${creds.accountSid}/Calls.json`, {
      method: 'POST',
      headers: {
        Authorization: 'Basic ' + Buffer.from(`${creds.apiKeySid}:${creds.apiKeySecret}`).toString('base64'),
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ From: rig.support, Url: 'http://x.test/' }).toString(),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 21201, status: 400, more_info: 'https://www.twilio.com/docs/errors/21201' });
  });
});

describe('calls', () => {
  test('when a client is not registered, then the call goes initiated -> ringing -> no-answer with signed callbacks', async () => {
    const call = await rig.client.calls.create({
      to: 'client:nobody',
      from: rig.support,
      url: `${rig.app.server.url}/agent`,
      statusCallback: `${rig.app.server.url}/status`,
      statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
    });
    expect(call.sid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(call.status).toBe('queued');
    expect(call.direction).toBe('outbound-api');

    await rig.app.waitFor('/status', (p) => p.CallStatus === 'no-answer');
    const seen = rig.app.at('/status');
    expect(seen.map((r) => r.params.CallStatus)).toEqual(['initiated', 'ringing', 'no-answer']);
    expect(seen.map((r) => r.params.SequenceNumber)).toEqual(['0', '1', '2']);
    expect(seen.every((r) => r.signatureValid)).toBe(true);
    expect(seen[2]?.params).toMatchObject({ CallSid: call.sid, CallDuration: '0', CallbackSource: 'call-progress-events', AccountSid: creds.accountSid });
    expect(rig.app.at('/agent')).toHaveLength(0);
    await expect(rig.client.calls(call.sid).fetch()).resolves.toMatchObject({ status: 'no-answer', duration: '0' });
  });

  test('when a registered client does not answer within Timeout, then the device sees cancel and the call is no-answer', async () => {
    const device = await rig.device('agentA');
    await device.next('registered');
    const call = await rig.client.calls.create({
      to: 'client:agentA',
      from: rig.support,
      url: `${rig.app.server.url}/agent`,
      timeout: 1,
      statusCallback: `${rig.app.server.url}/status`,
    });
    const incoming = await device.next('incoming');
    expect(incoming).toMatchObject({ callSid: call.sid, from: rig.support, to: 'client:agentA' });
    await device.next('cancel', (d) => d.callSid === call.sid, 4000);
    const done = await rig.app.waitFor('/status');
    expect(done.params.CallStatus).toBe('no-answer');
    expect((await rig.client.calls(call.sid).fetch()).status).toBe('no-answer');
  });

  test('when a ringing call is canceled via the API, then the device sees cancel; a live call ignores canceled', async () => {
    rig.app.twiml('/agent', '<Response><Pause length="600"/></Response>');
    const device = await rig.device('agentA');
    await device.next('registered');
    const ringing = await rig.client.calls.create({ to: 'client:agentA', from: rig.support, url: `${rig.app.server.url}/agent` });
    await device.next('incoming', (d) => d.callSid === ringing.sid);
    const updated = await rig.client.calls(ringing.sid).update({ status: 'canceled' });
    expect(updated.status).toBe('canceled');
    await device.next('cancel', (d) => d.callSid === ringing.sid);

    const live = await rig.client.calls.create({ to: 'client:agentA', from: rig.support, url: `${rig.app.server.url}/agent` });
    await device.next('incoming', (d) => d.callSid === live.sid);
    const token = accessToken('agentA');
    expect((await rig.postJson(`/local/device/calls/${live.sid}/accept`, { token })).status).toBe(200);
    await rig.app.waitFor('/agent', (p) => p.CallSid === live.sid);
    expect((await rig.client.calls(live.sid).update({ status: 'canceled' })).status).toBe('in-progress');
    expect((await rig.client.calls(live.sid).update({ status: 'completed' })).status).toBe('completed');
    await device.next('disconnect', (d) => d.callSid === live.sid);
  });

  test('when calls are listed, then the paging envelope lets list() and each() read every page', async () => {
    for (let i = 0; i < 3; i++) {
      await rig.client.calls.create({ to: '+15550009999', from: rig.support, url: `${rig.app.server.url}/x` });
    }
    const res = await fetch(`${rig.base}/2010-04-01/Accounts/${creds.accountSid}/Calls.json?PageSize=2`, {
      headers: { Authorization: 'Basic ' + Buffer.from(`${creds.apiKeySid}:${creds.apiKeySecret}`).toString('base64') },
    });
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ page: 0, page_size: 2, start: 0, end: 1, previous_page_uri: null });
    expect(body.next_page_uri).toEqual(expect.stringContaining('Page=1'));
    const all = await rig.client.calls.list({ pageSize: 2 });
    expect(all).toHaveLength(3);
    const seen: string[] = [];
    await rig.client.calls.each({ pageSize: 1 }, (c) => {
      seen.push(c.sid);
    });
    expect(seen).toHaveLength(3);
  });

  test('when a phone number is dialled, then the call fails (no PSTN in the stand-in)', async () => {
    const call = await rig.client.calls.create({
      to: '+15550009999',
      from: rig.support,
      url: `${rig.app.server.url}/x`,
      statusCallback: `${rig.app.server.url}/status`,
    });
    const done = await rig.app.waitFor('/status');
    expect(done.params).toMatchObject({ CallSid: call.sid, CallStatus: 'failed' });
  });
});

describe('invalid values', () => {
  test('when a call or a conference is updated with a Status outside the spec\'s enum, then the API answers 400 Bad Request (code 400, not the 20001 warning) and nothing changes', async () => {
    const device = await rig.device('agentA');
    await device.next('registered');
    const call = await rig.client.calls.create({ to: 'client:agentA', from: rig.support, url: `${rig.app.server.url}/agent` });
    const added = await rig.client.conferences('room').participants.create({ from: rig.support, to: 'client:agentA' });
    await device.next('incoming', (d) => d.callSid === added.callSid);
    const [conf] = await rig.client.conferences.list({ friendlyName: 'room' });

    // https://www.twilio.com/docs/api/errors/400 : "one or more request parameters did not pass validation"
    const badRequest = { status: 400, code: 400, moreInfo: 'https://www.twilio.com/docs/errors/400' };
    await expect(rig.client.calls(call.sid).update({ status: 'ended' as never })).rejects.toMatchObject(badRequest);
    await expect(rig.client.conferences(conf!.sid).update({ status: 'ended' as never })).rejects.toMatchObject(badRequest);

    expect((await rig.client.calls(call.sid).fetch()).status).toBe('ringing');
    expect((await rig.client.conferences(conf!.sid).fetch()).status).toBe('init');
  });
});

describe('access tokens on the device channel', () => {
  test('when the token is signed with another secret, then the stream sends error 20107 and closes', async () => {
    const device = await rig.device('agentA', accessToken('agentA', 3600, 'another-secret'));
    await expect(device.next('error')).resolves.toMatchObject({ code: 20107 });
    await expect(device.next('registered')).rejects.toThrow('stream ended');
    expect(rig.local.snapshot().registeredIdentities).toEqual([]);
  });

  test('when the token is garbage, then the stream sends error 20101', async () => {
    const device = await rig.device('agentA', 'not-a-jwt');
    await expect(device.next('error')).resolves.toMatchObject({ code: 20101 });
  });

  test('when the token is about to expire, then tokenWillExpire comes, and updateToken keeps the device registered', async () => {
    const device = await rig.device('agentA', accessToken('agentA', 11));
    const { deviceId } = await device.next('registered');
    await device.next('tokenWillExpire', () => true, 3000);
    const res = await rig.postJson('/local/device/token', { deviceId, token: accessToken('agentA', 3600) });
    expect(res.status).toBe(200);
    expect(rig.local.snapshot().registeredIdentities).toEqual(['agentA']);
  });

  test('when another identity tries to accept a call, then it gets 403', async () => {
    const device = await rig.device('agentA');
    await device.next('registered');
    const call = await rig.client.calls.create({ to: 'client:agentA', from: rig.support, url: `${rig.app.server.url}/agent` });
    await device.next('incoming');
    const res = await rig.postJson(`/local/device/calls/${call.sid}/accept`, {}, { Authorization: `Bearer ${accessToken('mallory')}` });
    expect(res.status).toBe(403);
    expect(rig.local.snapshot().calls.find((c) => c.sid === call.sid)?.status).toBe('ringing');
  });
});
