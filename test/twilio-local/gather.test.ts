// The stand-in's <Gather> and the phone page's keypad channel: keys from the caller reach the action URL as Digits,
// following https://www.twilio.com/docs/voice/twiml/gather.
import { startRig, type Rig } from './helpers';

let rig: Rig;

beforeEach(async () => {
  // A fifth of real time: a prompt and a 5 s timeout last long enough (1 s) for the test's keys to arrive while the
  // <Gather> listens, also on a loaded machine (at the rigs' usual thousandth, 5 ms, a key could come too late).
  rig = await startRig({ timeScale: 0.2 });
});

afterEach(async () => {
  await rig.close();
});

/** The caller hears the menu prompt (the nested Say) and the gather is listening. */
async function callHearing(text: string): Promise<{ callSid: string; events: Awaited<ReturnType<Rig['phoneCall']>>['events'] }> {
  const call = await rig.phoneCall();
  await call.events.next('hears', (d) => d.what === 'say' && d.text === text);
  return call;
}

test('when the caller presses one key of a numDigits="1" menu, then the action gets Digits, signed, and its TwiML runs', async () => {
  rig.app.twiml('/voice', '<Response><Gather numDigits="1" action="/menu" timeout="5"><Say>Press 1 for sales, 2 for support.</Say></Gather><Say>No choice made.</Say></Response>');
  rig.app.twiml('/menu', (p) => `<Response><Say>You chose ${p.Digits ?? 'nothing'}.</Say></Response>`);
  const { callSid, events } = await callHearing('Press 1 for sales, 2 for support.');

  const pressed = await rig.postJson(`/local/phone/calls/${callSid}/digits`, { digits: '2' });

  expect(pressed.status).toBe(200);
  const menu = await rig.app.waitFor('/menu');
  expect(menu.signatureValid).toBe(true);
  expect(menu.params).toMatchObject({ CallSid: callSid, Digits: '2', CallStatus: 'in-progress' });
  await events.next('hears', (d) => d.what === 'say' && d.text === 'You chose 2.');
  // The verb after <Gather> is not reached once keys were submitted.
  expect(events.events.some((e) => e.data.text === 'No choice made.')).toBe(false);
  expect(rig.local.snapshot().calls.find((c) => c.sid === callSid)?.digits).toBe('2');
});

test('when nobody presses a key before the timeout, then no action is requested and the next verb runs', async () => {
  rig.app.twiml('/voice', '<Response><Gather numDigits="1" action="/menu" timeout="2"><Say>Press a key.</Say></Gather><Say>Taking you to the default queue.</Say></Response>');
  const { events } = await callHearing('Press a key.');

  await events.next('hears', (d) => d.what === 'say' && d.text === 'Taking you to the default queue.');

  expect(rig.app.at('/menu')).toHaveLength(0);
});

test('when the caller types several keys and finishOnKey, then Digits holds the keys before it; finishOnKey alone falls through', async () => {
  rig.app.twiml('/voice', '<Response><Gather action="/number" finishOnKey="#" timeout="30"><Say>Type your number, then the pound key.</Say></Gather><Say>Nothing typed.</Say></Response>');
  rig.app.twiml('/number', '<Response><Say>Thanks.</Say></Response>');
  const first = await callHearing('Type your number, then the pound key.');

  await rig.postJson(`/local/phone/calls/${first.callSid}/digits`, { digits: '555' });
  await rig.postJson(`/local/phone/calls/${first.callSid}/digits`, { digits: '12#' });

  expect((await rig.app.waitFor('/number')).params.Digits).toBe('55512');
  await first.events.next('hears', (d) => d.text === 'Thanks.');

  const second = await callHearing('Type your number, then the pound key.');
  await rig.postJson(`/local/phone/calls/${second.callSid}/digits`, { digits: '#' });
  await second.events.next('hears', (d) => d.text === 'Nothing typed.');
  expect(rig.app.at('/number')).toHaveLength(1);
});

test('when <Gather> has no action, then the keys are posted to the document that holds it', async () => {
  let asked = 0;
  rig.app.twiml('/voice', (p) => {
    asked += 1;
    return p.Digits ? `<Response><Say>Got ${p.Digits}.</Say></Response>` : '<Response><Gather numDigits="2"><Say>Two keys please.</Say></Gather></Response>';
  });
  const { callSid, events } = await callHearing('Two keys please.');

  await rig.postJson(`/local/phone/calls/${callSid}/digits`, { digits: '4' });
  await rig.postJson(`/local/phone/calls/${callSid}/digits`, { digits: '2' });

  await events.next('hears', (d) => d.text === 'Got 42.');
  expect(asked).toBe(2);
});

test('when the caller presses keys while waiting in a conference, then nothing is requested: a waitUrl cannot gather', async () => {
  rig.app.twiml('/voice', '<Response><Dial><Conference startConferenceOnEnter="false" waitUrl="/wait">room</Conference></Dial></Response>');
  rig.app.twiml('/wait', '<Response><Say>Please hold.</Say><Pause length="30"/></Response>');
  const { callSid } = await callHearing('Please hold.');
  const before = rig.app.received.length;

  const pressed = await rig.postJson(`/local/phone/calls/${callSid}/digits`, { digits: '1' });

  expect(pressed.status).toBe(200);
  await new Promise((r) => setTimeout(r, 100));
  expect(rig.app.received.slice(before).filter((r) => r.params.Digits !== undefined)).toEqual([]);
});

test('when the keys are not 0-9, * or #, or the call is unknown, then the phone channel refuses them', async () => {
  rig.app.twiml('/voice', '<Response><Gather numDigits="1"><Say>Press a key.</Say></Gather></Response>');
  const { callSid } = await callHearing('Press a key.');

  expect((await rig.postJson(`/local/phone/calls/${callSid}/digits`, { digits: 'A' })).status).toBe(400);
  expect((await rig.postJson(`/local/phone/calls/${callSid}/digits`, { digits: '' })).status).toBe(400);
  expect((await rig.postJson(`/local/phone/calls/CA${'0'.repeat(32)}/digits`, { digits: '1' })).status).toBe(404);
});
