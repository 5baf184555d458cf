// The browser device double (public/js/twilio-local-device.js) run against the stand-in with a tiny EventSource.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import vm from 'node:vm';
import { accessToken, eventually, sseParser, startRig, type Rig } from './helpers';

/** Just enough of the browser EventSource for the double: named events, onerror, readyState, close(). */
class NodeEventSource {
  static CLOSED = 2;
  readyState = 0;
  onerror: (() => void) | null = null;
  private listeners = new Map<string, Array<(ev: { data: string }) => void>>();
  private req: http.ClientRequest;

  constructor(url: string) {
    this.req = http.get(url, (res) => {
      this.readyState = 1;
      res.setEncoding('utf8');
      res.on(
        'data',
        sseParser((event, data) => {
          for (const fn of this.listeners.get(event) ?? []) fn({ data });
        }),
      );
      res.on('end', () => {
        this.readyState = NodeEventSource.CLOSED;
        this.onerror?.();
      });
      res.on('error', () => undefined);
    });
    this.req.on('error', () => undefined);
  }

  addEventListener(name: string, fn: (ev: { data: string }) => void): void {
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), fn]);
  }

  close(): void {
    this.readyState = NodeEventSource.CLOSED;
    this.req.destroy();
  }
}

interface FakeCall {
  parameters: { CallSid: string; From: string; To: string };
  customParameters: Map<string, string>;
  accept(): void;
  disconnect(): void;
  status(): string;
  isOnHold(): boolean;
  hears(): Record<string, unknown>;
  on(name: string, fn: (...args: unknown[]) => void): void;
}
interface FakeDevice {
  state: string;
  register(): Promise<void>;
  destroy(): void;
  on(name: string, fn: (...args: unknown[]) => void): void;
}

let rig: Rig;
let opened: NodeEventSource[];

function loadTwilio(): { Device: new (token: string) => FakeDevice } {
  const source = fs.readFileSync(path.join(__dirname, '../../public/js/twilio-local-device.js'), 'utf8');
  opened = [];
  const window: Record<string, unknown> = {};
  vm.runInNewContext(source, {
    window,
    document: { querySelector: () => ({ content: rig.base }) },
    fetch,
    EventSource: class extends NodeEventSource {
      constructor(url: string) {
        super(url);
        opened.push(this);
      }
    },
    Map,
    Promise,
    setTimeout,
    JSON,
    Object,
    Error,
  });
  return window.Twilio as { Device: new (token: string) => FakeDevice };
}

beforeEach(async () => {
  rig = await startRig();
});

afterEach(async () => {
  for (const es of opened) es.close();
  await rig.close();
});

test('when the double registers and a call comes in, then incoming, accept, hears and disconnect work like the SDK', async () => {
  const { Device } = loadTwilio();
  const device = new Device(accessToken('agentA'));
  const incoming: FakeCall[] = [];
  device.on('incoming', (c) => incoming.push(c as FakeCall));
  await device.register();
  expect(device.state).toBe('registered');
  rig.app.twiml('/agent', '<Response><Say>Hello agent</Say><Pause length="600"/></Response>');

  const created = await rig.client.calls.create({ to: 'client:agentA?topic=billing', from: rig.support, url: `${rig.app.server.url}/agent` });
  const call = await eventually(() => incoming[0], 'incoming call');
  expect(call.parameters).toEqual({ CallSid: created.sid, From: rig.support, To: 'client:agentA?topic=billing' });
  expect(call.customParameters.get('topic')).toBe('billing');
  expect(call.status()).toBe('pending');
  const heard: Array<Record<string, unknown>> = [];
  let accepted = false;
  let disconnected = false;
  call.on('accept', () => (accepted = true));
  call.on('hears', (d) => heard.push(d as Record<string, unknown>));
  call.on('disconnect', () => (disconnected = true));

  call.accept();
  await eventually(() => accepted && call.status() === 'open', 'accept');
  await eventually(() => heard.find((h) => h.what === 'say' && h.text === 'Hello agent'), 'hears say');

  await rig.client.calls(created.sid).update({ status: 'completed' });
  await eventually(() => disconnected, 'disconnect');
  expect(call.status()).toBe('closed');
  device.destroy();
  expect(device.state).toBe('destroyed');
});

test('when the page with an answered call goes away (its device is gone), then the call ends as the real SDK ends it', async () => {
  const { Device } = loadTwilio();
  const device = new Device(accessToken('agentGone'));
  const incoming: FakeCall[] = [];
  device.on('incoming', (c) => incoming.push(c as FakeCall));
  await device.register();
  // A long pause (the rig plays media at 1/1000 speed): the call would not end by itself during the test.
  rig.app.twiml('/agent-gone', '<Response><Pause length="60000"/></Response>');
  const created = await rig.client.calls.create({ to: 'client:agentGone', from: rig.support, url: `${rig.app.server.url}/agent-gone` });
  const call = await eventually(() => incoming[0], 'incoming call');
  call.accept();
  await eventually(() => call.status() === 'open', 'accept');

  // The page reloads or closes: its event stream just ends (nothing on the page gets to hang up).
  for (const es of opened) es.close();

  let status = '';
  for (const until = Date.now() + 5000; status !== 'completed' && Date.now() < until; ) {
    status = (await rig.client.calls(created.sid).fetch()).status;
    if (status !== 'completed') await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(status).toBe('completed');
});

test('when the token is invalid, then register() rejects with a TwilioError carrying the code', async () => {
  const { Device } = loadTwilio();
  const device = new Device('bad.token.here');
  const errors: Array<{ code: number }> = [];
  device.on('error', (e) => errors.push(e as { code: number }));
  await expect(device.register()).rejects.toMatchObject({ code: 20101 });
  expect(errors[0]?.code).toBe(20101);
  expect(device.state).toBe('unregistered');
});

test('when two doubles of one identity ring, then the first to accept gets the call and the other sees cancel', async () => {
  const { Device } = loadTwilio();
  const first = new Device(accessToken('agentA'));
  const second = new Device(accessToken('agentA'));
  const offered: Array<{ device: string; call: FakeCall }> = [];
  first.on('incoming', (c) => offered.push({ device: 'first', call: c as FakeCall }));
  second.on('incoming', (c) => offered.push({ device: 'second', call: c as FakeCall }));
  await first.register();
  await second.register();

  const created = await rig.client.calls.create({ to: 'client:agentA', from: rig.support, twiml: '<Response><Pause length="600"/></Response>' });
  await eventually(() => offered.length === 2, 'both devices ring');
  const onSecond = offered.find((o) => o.device === 'second')?.call as FakeCall;
  const onFirst = offered.find((o) => o.device === 'first')?.call as FakeCall;
  let canceled = false;
  onFirst.on('cancel', () => (canceled = true));
  onSecond.accept();

  await eventually(() => onSecond.status() === 'open', 'second accepted');
  await eventually(() => canceled, 'cancel on the first device');
  expect(onFirst.status()).toBe('closed');
  expect(created.sid).toBe(onSecond.parameters.CallSid);
  first.destroy();
  second.destroy();
});

test('when the conference holds the leg, then the double emits hold, hears the hold music, and unhold when it returns', async () => {
  const { Device } = loadTwilio();
  const device = new Device(accessToken('agentA'));
  const incoming: FakeCall[] = [];
  device.on('incoming', (c) => incoming.push(c as FakeCall));
  await device.register();
  rig.app.twiml('/voice', '<Response><Dial><Conference startConferenceOnEnter="false">room-h</Conference></Dial></Response>');
  await rig.phoneCall();
  await eventually(() => rig.local.snapshot().conferences[0], 'customer in the conference');
  // Twilio addresses a participant by the Conference SID, not the room's name
  // (https://www.twilio.com/docs/voice/api/conference-participant-resource#update-a-participant-resource)
  const [conf] = await rig.client.conferences.list({ friendlyName: 'room-h', status: 'init' });
  if (!conf) throw new Error('no conference room-h');
  const added = await rig.client.conferences(conf.sid).participants.create({ from: rig.support, to: 'client:agentA', label: 'agent:a' });
  const call = await eventually(() => incoming[0], 'incoming call');
  const events: string[] = [];
  call.on('hold', () => events.push('hold'));
  call.on('unhold', () => events.push('unhold'));
  call.accept();
  await eventually(() => call.hears().what === 'conference', 'in the conference');

  await rig.client.conferences(conf.sid).participants('agent:a').update({ hold: true });
  await eventually(() => call.isOnHold(), 'on hold');
  expect(call.hears()).toMatchObject({ held: true, what: 'play', url: expect.stringContaining('holdmusic') });
  await rig.client.conferences(conf.sid).participants(added.callSid).update({ hold: false });
  await eventually(() => !call.isOnHold(), 'off hold');

  expect(events).toEqual(['hold', 'unhold']);
  expect(call.hears().what).toBe('conference');
  device.destroy();
});
