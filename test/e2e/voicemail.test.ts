// Voicemail in a real browser, demo mode: after hours the caller hears we are closed and leaves a message from the
// phone page (ended with # on its keypad); an agent sees it on their page, plays it (audio from the stand-in's
// recording, through the app) and marks it done.
import type { APIResponse, Route } from 'playwright-core';
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

test('when an agent takes a voicemail by keyboard while the list is being read, then it shows as theirs with Mark done, never Take again; each button names its message, and Mark done leaves focus in the voicemails', async () => {
  const id = `RE${'7'.repeat(32)}`;
  await e2e.running.voicemails.record({ id, callSid: `CA${'7'.repeat(32)}`, from: '+15557650007', recordingUrl: `${e2e.running.url}/none`, durationSeconds: 4, reason: 'closed', createdAt: new Date() });
  const ada = await e2e.openAgent(ADA);
  const row = `#voicemail-list li[data-voicemail="${id}"]`;
  await expectText(ada, row, /From \+15557650007.*new/);

  // The page's next poll of the list is read from the server at once but answers only after Take was pressed.
  let holdNext = true;
  let held: { route: Route; response: APIResponse } | undefined;
  await ada.route('**/api/me/voicemails', async (route) => {
    if (holdNext && route.request().method() === 'GET') {
      holdNext = false;
      held = { route, response: await route.fetch() };
      return;
    }
    await route.continue();
  });
  const stale = await waitFor('a poll in flight', async () => held, 6000);

  await ada.focus(`${row} button[data-action="take"]`);
  await ada.keyboard.press('Enter');
  await expectText(ada, '#voicemail-status', /The voicemail is yours/);
  await expectText(ada, row, /yours/);
  expect(await ada.isHidden(`${row} button[data-action="take"]`)).toBe(true);
  expect(await ada.evaluate(() => (globalThis as unknown as { document: { activeElement: { getAttribute(n: string): string | null } } }).document.activeElement.getAttribute('data-action'))).toBe('done');

  // The poll read before the Take answers now: the row still says it is Ada's.
  await stale.route.fulfill({ response: stale.response });
  await new Promise((r) => setTimeout(r, 500));
  expect(await ada.isHidden(`${row} button[data-action="take"]`)).toBe(true);
  await expectText(ada, row, /yours/);
  expect(await ada.getAttribute(row, 'data-state')).toBe('taken');

  // Each button names its message (a screen reader's list of buttons otherwise reads "Play, Take, Mark done" for all).
  expect(await ada.getAttribute(`${row} button[data-action="done"]`, 'aria-label')).toMatch(/^Mark done the message from \+15557650007, /);
  expect(await ada.getAttribute(`${row} button[data-action="play"]`, 'aria-label')).toMatch(/^Play the message from \+15557650007, /);
  // Mark done by keyboard: the row goes, and focus stays in the voicemails (the only message: its status line), not
  // the top of the page.
  await ada.keyboard.press('Enter');
  await expectText(ada, '#voicemail-status', /marked done/);
  await ada.waitForSelector(row, { state: 'detached' });
  expect(await ada.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } } }).document.activeElement.id)).toBe('voicemail-status');
});
