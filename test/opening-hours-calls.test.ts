// Opening hours end to end on a fake clock: admins set them on /admin (forms, CSRF), a signed incoming call outside
// them hears why and when we open (and may leave a message) and is not put in line; inside them (or with none set) it
// waits as before.
import { DOMParser } from '@xmldom/xmldom';
import { fakeSid, signedInAgent, useAppSuite, type AgentClient } from './helpers/app';
import { parseTwiml } from './helpers/twiml';

let clock = new Date('2026-12-02T08:30:00Z'); // Wednesday 09:30 in Paris
const suite = useAppSuite({ env: { OPENING_HOURS_TIME_ZONE: 'Europe/Paris' }, now: () => clock });
let admin: AgentClient;

beforeAll(async () => {
  admin = await signedInAgent(suite.app, 'boss', { name: 'The Boss', role: 'admin' });
});

function submit(path: string, fields: Record<string, string>) {
  return admin.postWithoutToken(path).type('form').set('Accept', 'text/html').send({ ...fields, _csrf: admin.csrfToken });
}

const WEEK = { mon: '09:00-17:00', tue: '09:00-17:00', wed: '09:00-17:00', thu: '09:00-17:00', fri: '09:00-17:00', sat: '', sun: '' };

/** A signed incoming call: the verbs of the TwiML it gets, and whether the call was put in line. */
async function incomingCall(): Promise<{ verbs: string[]; said: string[]; stored: boolean }> {
  const callSid = fakeSid();
  const res = await suite.app.webhook('/conference/connect/client', { CallSid: callSid, From: '+15550001234' });
  expect(res.status).toBe(200);
  const doc = parseTwiml(res.text);
  // Reads past the opening hours' one-second cache.
  await new Promise((r) => setTimeout(r, 20));
  const stored = (await suite.app.running.calls.liveCalls()).some((c) => c.callSid === callSid);
  return { verbs: doc.children.map((c) => c.name), said: doc.children.filter((c) => c.name === 'Say').map((c) => c.text), stored };
}

/** Sets the clock and waits out the opening hours' cache. */
async function at(iso: string): Promise<void> {
  clock = new Date(iso);
  await new Promise((r) => setTimeout(r, 1100));
}

test('when no opening hours are set, then a call at 03:00 on a Sunday waits in line as before', async () => {
  await at('2026-12-06T02:00:00Z');

  const call = await incomingCall();

  expect(call.verbs).toEqual(['Dial']);
  expect(call.stored).toBe(true);
});

test('when an admin saves Monday to Friday 09:00-17:00, then 08:59 hears we open at 09:00 and is not in line, and 09:00 waits in line', async () => {
  const saved = await submit('/admin/opening-hours', { enabled: 'true', ...WEEK, holidays: '2026-12-25 Christmas Day' });
  expect(saved.status).toBe(303);

  await at('2026-12-02T07:59:00Z');
  const early = await incomingCall();
  expect(early.verbs).toEqual(['Say', 'Say', 'Record', 'Say', 'Hangup']);
  expect(early.said[0]).toBe('Thank you for calling. We are closed now. We open again today at 09:00.');
  expect(early.stored).toBe(false);

  await at('2026-12-02T08:00:00Z');
  const onTime = await incomingCall();
  expect(onTime.verbs).toEqual(['Dial']);
  expect(onTime.stored).toBe(true);
});

test('when the day is a holiday, then the caller hears its name and the next working day', async () => {
  await at('2026-12-25T10:00:00Z');

  const call = await incomingCall();

  expect(call.said[0]).toBe('Thank you for calling. We are closed today for Christmas Day. We open again on Monday at 09:00.');
  expect(call.stored).toBe(false);
});

test('when an admin presses Close now during opening hours, then callers hear we are closed until Open again', async () => {
  await at('2026-12-03T10:00:00Z');
  expect((await submit('/admin/opening-hours/closed', { closed: 'true' })).status).toBe(303);
  await at('2026-12-03T10:00:01Z');

  const closed = await incomingCall();
  const page = await admin.get('/admin').set('Accept', 'text/html');

  expect(closed.said[0]).toMatch(/closed at the moment/);
  expect(closed.stored).toBe(false);
  const doc = new DOMParser().parseFromString(page.text, 'text/html');
  expect(doc.getElementById('opening-hours-now')?.textContent).toBe('Closed now (closed by hand).');
  // Who and since when, as people read them (the admin's name; the time in the hours' zone), not an id and an ISO stamp.
  expect(doc.getElementById('closed-now')?.getElementsByTagName('p')[0]?.textContent?.replace(/\s+/g, ' ').trim()).toMatch(/^Closed by hand since \d{1,2} \w{3} 2026, \d{2}:\d{2} \([\w/]+\) by The Boss\.$/);

  await submit('/admin/opening-hours/closed', { closed: 'false' });
  await at('2026-12-03T10:00:02Z');
  expect((await incomingCall()).stored).toBe(true);
});

test('when the admin page opens, then the saved week and holidays are in the form, which carries the CSRF token', async () => {
  const page = await admin.get('/admin').set('Accept', 'text/html');

  const doc = new DOMParser().parseFromString(page.text, 'text/html');
  expect(doc.getElementById('opening-mon')?.getAttribute('value')).toBe('09:00-17:00');
  expect(doc.getElementById('opening-sat')?.getAttribute('value')).toBe('');
  expect(doc.getElementById('opening-holidays')?.textContent).toBe('2026-12-25 Christmas Day');
  expect(doc.getElementById('opening-hours-enabled')?.getAttribute('checked')).toBe('checked');
  const form = doc.getElementById('opening-hours-form');
  const token = Array.from(form?.getElementsByTagName('input') ?? []).find((i) => i.getAttribute('name') === '_csrf');
  expect(token?.getAttribute('value')).toBe(admin.csrfToken);
});

test('when the week is written wrong, or the form is posted without the token or by an agent, then nothing is saved', async () => {
  const bad = await submit('/admin/opening-hours', { enabled: 'true', ...WEEK, mon: '17:00-09:00' });
  expect(bad.status).toBe(400);
  expect(bad.text).toMatch(/ends before it starts/);

  const noToken = await admin.postWithoutToken('/admin/opening-hours/closed').type('form').send({ closed: 'true' });
  expect(noToken.status).toBe(403);

  const agent = await signedInAgent(suite.app, 'ann');
  const byAgent = await agent.postWithoutToken('/admin/opening-hours/closed').type('form').send({ closed: 'true', _csrf: agent.csrfToken });
  expect(byAgent.status).toBe(403);

  const hours = await suite.app.running.openingHours.load();
  expect(hours.week.mon).toEqual([{ from: 540, to: 1020 }]);
  expect(hours.closedNow).toBeUndefined();
});
