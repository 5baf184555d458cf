// Calls API details of the stand-in (Url vs Twiml, rejects, several devices, the callback base), via the real twilio library.
import express from 'express';
import { accessToken, creds, FakeApp, listen, restClient, SseReader, startRig, type Listening, type Rig } from './helpers';
import { createTwilioLocal, type ObservedWebhook, type TwilioLocal } from '../../src/twilio-local';

describe('with the default options', () => {
  let rig: Rig;

  beforeEach(async () => {
    rig = await startRig();
  });

  afterEach(async () => {
    await rig.close();
  });

  test('when a call is created with both Url and Twiml, then the Url is fetched and its TwiML runs (Twilio warning 32019)', async () => {
    rig.app.twiml('/from-url', '<Response><Say>From the URL.</Say><Pause length="600"/></Response>');
    const token = accessToken('alice');
    const device = await rig.device('alice', token);
    await device.next('registered');

    const call = await rig.client.calls.create({
      from: rig.support,
      to: 'client:alice',
      url: `${rig.app.server.url}/from-url`,
      twiml: '<Response><Say>From the Twiml parameter.</Say></Response>',
    });
    await device.next('incoming', (d) => d.callSid === call.sid);
    await rig.postJson(`/local/device/calls/${call.sid}/accept`, { token });

    await device.next('hears', (d) => d.what === 'say' && d.text === 'From the URL.');
    expect((await rig.app.waitFor('/from-url')).params.CallSid).toBe(call.sid);
    expect(device.events.some((e) => e.data.text === 'From the Twiml parameter.')).toBe(false);
  });

  test('when the device rejects a ringing call, then the call ends busy and the completed callback says so', async () => {
    const token = accessToken('bob');
    const device = await rig.device('bob', token);
    await device.next('registered');
    const call = await rig.client.calls.create({
      from: rig.support,
      to: 'client:bob',
      twiml: '<Response><Say>Hi</Say></Response>',
      statusCallback: `${rig.app.server.url}/status`,
    });
    await device.next('incoming', (d) => d.callSid === call.sid);

    expect((await rig.postJson(`/local/device/calls/${call.sid}/reject`, { token })).status).toBe(200);

    expect((await rig.app.waitFor('/status', (p) => p.CallSid === call.sid)).params).toMatchObject({ CallStatus: 'busy', CallDuration: '0' });
    expect((await rig.client.calls(call.sid).fetch()).status).toBe('busy');
  });

  test('when two devices share an identity, then both ring, the first to accept wins and the other sees cancel', async () => {
    const token = accessToken('carol');
    const first = await rig.device('carol', token);
    const second = await rig.device('carol', token);
    const firstId = String((await first.next('registered')).deviceId);
    const secondId = String((await second.next('registered')).deviceId);
    const call = await rig.client.calls.create({ from: rig.support, to: 'client:carol', twiml: '<Response><Pause length="600"/></Response>' });
    await first.next('incoming', (d) => d.callSid === call.sid);
    await second.next('incoming', (d) => d.callSid === call.sid);

    const won = await rig.postJson(`/local/device/calls/${call.sid}/accept`, { token, deviceId: secondId });
    const lost = await rig.postJson(`/local/device/calls/${call.sid}/accept`, { token, deviceId: firstId });

    expect(won.status).toBe(200);
    expect(lost).toMatchObject({ status: 409, body: { code: 31008 } });
    await first.next('cancel', (d) => d.callSid === call.sid);
    await second.next('accepted', (d) => d.callSid === call.sid);
    expect(first.names()).not.toContain('accepted');
    expect((await rig.client.calls(call.sid).fetch()).status).toBe('in-progress');
  });
});

describe('with a callback base', () => {
  let app: FakeApp;
  let host: Listening;
  let local: TwilioLocal;
  let observed: ObservedWebhook[];
  let allowed: string;
  let client: ReturnType<typeof restClient>;

  beforeEach(async () => {
    app = new FakeApp();
    app.server = await listen(app.app);
    allowed = `${app.server.url}/app`;
    observed = [];
    local = createTwilioLocal({
      ...creds,
      numbers: {},
      timeScale: 0.001,
      callbackBase: allowed,
      observe: { webhook: (w) => observed.push(w) },
    });
    const hostApp = express();
    hostApp.use('/twilio-local', local.router);
    host = await listen(hostApp);
    client = restClient(`${host.url}/twilio-local`);
  });

  afterEach(async () => {
    await local.stop();
    await host.close();
    await app.server.close();
  });

  test('when a URL lies outside the callback base, then REST answers 21205 (21609 for a StatusCallback) and creates nothing', async () => {
    const outside = [
      { url: `${app.server.url}/elsewhere` },
      { url: `${app.server.url}/application` },
      { url: 'http://169.254.169.254/latest/meta-data' },
      { url: `${allowed}/ok`, statusCallback: 'http://127.0.0.1:9/steal' },
    ];
    for (const params of outside) {
      await expect(client.calls.create({ from: '+15550001111', to: 'client:x', ...params })).rejects.toMatchObject({
        status: 400,
        code: params.statusCallback ? 21609 : 21205,
      });
    }
    await expect(
      client.conferences('room').participants.create({ from: '+15550001111', to: 'client:x', waitUrl: 'http://127.0.0.1:9/wait' }),
    ).rejects.toMatchObject({ code: 21205 });
    expect(await client.calls.list()).toEqual([]);
    expect(observed).toEqual([]);
  });

  test('when URLs lie under the callback base, then they are accepted and fetched; a TwiML Redirect outside it is never requested', async () => {
    app.twiml('/app/voice', '<Response><Say>Inside.</Say><Redirect>http://127.0.0.1:9/outside</Redirect></Response>');
    const token = accessToken('dave');
    const device = await SseReader.open(`${host.url}/twilio-local/local/device/events?token=${encodeURIComponent(token)}`);
    await device.next('registered');

    const call = await client.calls.create({ from: '+15550001111', to: 'client:dave', url: `${allowed}/voice`, statusCallback: `${allowed}/status` });
    await device.next('incoming');
    const res = await fetch(`${host.url}/twilio-local/local/device/calls/${call.sid}/accept`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    expect(res.status).toBe(200);

    await device.next('hears', (d) => d.what === 'say' && d.text === 'We are sorry, an application error has occurred. Goodbye.');
    await app.waitFor('/app/status', (p) => p.CallStatus === 'completed');
    device.close();
    expect(observed.map((w) => new URL(w.url).pathname)).toEqual(['/app/voice', '/app/status']);
  });
});
