// Voicemail in a real browser, demo mode: after hours the caller hears we are closed and leaves a message from the
// phone page (ended with # on its keypad); an agent sees it on their page, plays it (audio from the stand-in's
// recording, through the app) and marks it done.
import { ADA, expectText, useE2e, waitFor } from './harness';
import { screenshot } from './browser';

const e2e = useE2e({ ringSeconds: 5 });

beforeAll(async () => {
  // Hours on, and no opening on any day: after hours whenever the test runs.
  await e2e.running.openingHours.saveSchedule({ enabled: true, week: { mon: [], tue: [], wed: [], thu: [], fri: [], sat: [], sun: [] }, holidays: [] });
});

test('when a caller leaves a voicemail after hours, then an agent plays it on their page and marks it done', async () => {
  const customer = await e2e.openPhone('+15557650000');

  await customer.click('#phone-call');
  await expectText(customer, '#phone-hears', /We are closed now/);
  await expectText(customer, '#phone-hears', /recording your message/, 15000);
  await new Promise((r) => setTimeout(r, 500));
  await customer.click('#phone-keypad button[data-key="#"]');
  await expectText(customer, '#phone-hears', /Your message was recorded/);
  await expectText(customer, '#phone-status', /completed/);
  const stored = await waitFor('the voicemail', async () => (await e2e.db.connection.collection('voicemails').find({ from: '+15557650000' }).toArray())[0]);
  expect(stored.durationSeconds).toBeGreaterThan(0);

  const ada = await e2e.openAgent(ADA);
  const row = `#voicemail-list li[data-voicemail="${String(stored._id)}"]`;
  await expectText(ada, row, /From \+15557650000/);
  const audio = ada.waitForResponse((res) => res.url().endsWith(`/api/me/voicemails/${String(stored._id)}/audio`));
  await ada.click(`${row} button[data-action="play"]`);
  const media = await audio;
  expect(media.status()).toBe(200);
  expect(media.headers()['content-type']).toMatch(/^audio\/wav/);
  expect((await media.body()).toString('ascii', 0, 4)).toBe('RIFF');
  await expectText(ada, '#voicemail-status', /Playing the message|Message played/);
  await screenshot(ada, 'voicemail-1-playing');

  await ada.click(`${row} button[data-action="done"]`);
  await expectText(ada, '#voicemail-status', /Voicemail marked done/);
  await ada.waitForSelector(row, { state: 'detached' });
  expect(await ada.isVisible('#voicemails-empty')).toBe(true);
  const claim = await e2e.db.connection.collection('voicemail_claims').findOne({ _id: stored._id });
  expect(claim).toMatchObject({ agentId: ADA.id, doneAt: expect.any(Date) });
});
