// Who hears whom, heard: each person in their own Chromium whose fake microphone plays a tone of its own (customer
// 1100 Hz, Ada 1450 Hz, Grace 1850 Hz), demo mode at real-time media, and every assertion measured with an AnalyserNode
// on what the page plays. The hold music always carries middle C (261.63 Hz); the greeting is espeak-ng's voice.
import type { Page } from 'playwright-core';
import { HOLD_MUSIC_PEDAL_HZ } from '../../src/twilio-local/audio/hold-music';
import { screenshot } from './browser';
import { ADA, answer, expectText, GRACE, useE2e, waitFor, type DemoAgent } from './harness';
import { expectDoesNotHear, expectHears, expectSpeech } from './listen';
import { useToneBrowsers } from './tone-browsers';

const CUSTOMER_HZ = 1100;
const ADA_HZ = 1450;
const GRACE_HZ = 1850;
const MUSIC_HZ = HOLD_MUSIC_PEDAL_HZ;
const ALL = [CUSTOMER_HZ, ADA_HZ, GRACE_HZ, MUSIC_HZ];
const NAMES: Record<number, string> = { [CUSTOMER_HZ]: 'customer', [ADA_HZ]: 'Ada', [GRACE_HZ]: 'Grace', [MUSIC_HZ]: 'music' };
// Declared before useE2e so that it runs first: the browsers' pages close (their calls end) before the floor is reset.
const { browsers, contextOf, listenAll, hearing } = useToneBrowsers({ customer: CUSTOMER_HZ, ada: ADA_HZ, grace: GRACE_HZ }, { freqs: ALL, names: NAMES, log: 'who hears whom' });
const e2e = useE2e({ ringSeconds: 10, localTimeScale: 1 });

/** The customer's phone page, in the customer's browser (microphone: the customer's tone). */
async function openCustomerPhone(): Promise<Page> {
  const page = await (await contextOf(browsers.customer)).newPage();
  page.on('pageerror', (err) => e2e.logs.push(`[customer page error] ${err.message}`));
  await page.goto(`${e2e.running.url}/phone`);
  return page;
}

async function openAgentIn(who: 'ada' | 'grace', agent: DemoAgent, available = false): Promise<Page> {
  const context = await contextOf(browsers[who]);
  return e2e.openAgent(agent, { available, context });
}

/** The customer calls with audio; Ada, the only one available, answers; both pages' sound is connected. */
async function customerTalksWithAda(): Promise<{ customer: Page; ada: Page; grace: Page }> {
  const ada = await openAgentIn('ada', ADA, true);
  const grace = await openAgentIn('grace', GRACE);
  const customer = await openCustomerPhone();
  await customer.click('#phone-call');
  await expectText(customer, '#demo-audio-note', /Sound on/);
  await answer(ada);
  await expectText(customer, '#phone-hears', /conference with 2 participants/);
  await expectText(ada, '#demo-audio-note', /Sound on/);
  return { customer, ada, grace };
}

/** Ada consults Grace (the customer on hold) and Grace answers. */
async function adaConsultsGrace(pages: { customer: Page; ada: Page; grace: Page }): Promise<void> {
  await pages.ada.click('#directory button.consult[data-agent="grace"]');
  await expectText(pages.customer, '#phone-hears', /on hold/);
  await answer(pages.grace);
  await expectText(pages.ada, '#transfer-state', /Talking with Grace Hopper; the customer is on hold/);
  await expectText(pages.grace, '#demo-audio-note', /Sound on/);
}

test('when a customer waits with nobody available, then they hear the greeting spoken and then the hold music', async () => {
  const customer = await openCustomerPhone();
  await customer.click('#phone-call');
  await expectText(customer, '#phone-hears', /Thank you for calling/);

  const greeting = await listenAll('greeting', { customer });
  await expectText(customer, '#phone-hears', /hold music/, 20000);
  // The greeting is a voice: loud overall, and not the music, whose middle C is far louder once the music plays.
  expectSpeech(greeting.customer!, 'the waiting customer', 'the greeting');
  // Measured in up to three windows, like every step of the tests below (a loaded machine can underrun one).
  await hearing('music', { customer }, (music) => {
    expectHears(music.customer!, 'the waiting customer', 'the hold music', MUSIC_HZ);
    const musicGap = music.customer!.tones[MUSIC_HZ]!.median - greeting.customer!.tones[MUSIC_HZ]!.median;
    if (musicGap < 10) throw new Error(`the greeting should not be the music: middle C measured median ${greeting.customer!.tones[MUSIC_HZ]!.median.toFixed(1)} dB during the greeting and ${music.customer!.tones[MUSIC_HZ]!.median.toFixed(1)} dB during the music (needs ≥ 10 dB apart)`);
  });
});

test('when Ada answers, then the customer and Ada hear each other; during a consult the customer hears music and neither agent while Ada and Grace hear each other; the toggle swaps that; after Complete Ada hears nothing and the customer and Grace hear each other', async () => {
  const pages = await customerTalksWithAda();
  const { customer, ada, grace } = pages;

  await hearing('customer with Ada', { customer, ada }, (h) => {
    expectHears(h.customer!, 'the customer', 'Ada', ADA_HZ);
    expectHears(h.ada!, 'Ada', 'the customer', CUSTOMER_HZ);
    expectDoesNotHear(h.customer!, 'the customer', 'their own voice', CUSTOMER_HZ);
  });
  await screenshot(customer, 'audio-1-customer-hears-ada');
  await screenshot(ada, 'audio-2-ada-hears-the-customer');

  await adaConsultsGrace(pages);
  await hearing('consult: customer on hold, Ada with Grace', { customer, ada, grace }, (h) => {
    expectHears(h.customer!, 'the held customer', 'the hold music', MUSIC_HZ);
    expectDoesNotHear(h.customer!, 'the held customer', 'Ada', ADA_HZ);
    expectDoesNotHear(h.customer!, 'the held customer', 'Grace', GRACE_HZ);
    expectHears(h.ada!, 'Ada', 'Grace', GRACE_HZ);
    expectHears(h.grace!, 'Grace', 'Ada', ADA_HZ);
    expectDoesNotHear(h.ada!, 'Ada', 'the held customer', CUSTOMER_HZ);
    expectDoesNotHear(h.grace!, 'Grace', 'the held customer', CUSTOMER_HZ);
  });
  await screenshot(grace, 'audio-3-grace-in-the-consult');

  await ada.click('#transfer-toggle');
  await expectText(grace, '#agent-hears', /hold music/, 15000);
  await expectText(customer, '#phone-hears', /connected to an agent/);
  await hearing('toggle: Ada with the customer, Grace on hold', { customer, ada, grace }, (h) => {
    expectHears(h.customer!, 'the customer', 'Ada', ADA_HZ);
    expectHears(h.ada!, 'Ada', 'the customer', CUSTOMER_HZ);
    expectHears(h.grace!, 'held Grace', 'the hold music', MUSIC_HZ);
    expectDoesNotHear(h.grace!, 'held Grace', 'Ada', ADA_HZ);
    expectDoesNotHear(h.grace!, 'held Grace', 'the customer', CUSTOMER_HZ);
    expectDoesNotHear(h.customer!, 'the customer', 'held Grace', GRACE_HZ);
    expectDoesNotHear(h.ada!, 'Ada', 'held Grace', GRACE_HZ);
    expectDoesNotHear(h.customer!, 'the customer', 'the hold music', MUSIC_HZ);
  });

  await ada.click('#transfer-toggle');
  await expectText(customer, '#phone-hears', /on hold/, 15000);
  await expectText(grace, '#agent-hears', /the conference/);
  await ada.click('#transfer-complete');
  await expectText(customer, '#phone-hears', /connected to an agent \(conference with 2 participants\)/, 15000);
  await expectText(ada, '#agent-status', /Call ended|Wrapping up|Ready/);
  await hearing('complete: Ada gone, customer with Grace', { customer, ada, grace }, (h) => {
    expectHears(h.customer!, 'the customer', 'Grace', GRACE_HZ);
    expectHears(h.grace!, 'Grace', 'the customer', CUSTOMER_HZ);
    for (const hz of [CUSTOMER_HZ, GRACE_HZ, MUSIC_HZ]) expectDoesNotHear(h.ada!, 'Ada, who left', NAMES[hz]!, hz);
    expectDoesNotHear(h.customer!, 'the customer', 'Ada, who left', ADA_HZ);
    expectDoesNotHear(h.grace!, 'Grace', 'Ada, who left', ADA_HZ);
  });
});

test('when Ada merges the consult into a three-way call, then all three hear each other; when Grace mutes, then nobody hears her and she still hears both', async () => {
  const pages = await customerTalksWithAda();
  const { customer, ada, grace } = pages;
  await adaConsultsGrace(pages);
  await ada.click('#transfer-merge');
  await expectText(customer, '#phone-hears', /conference with 3 participants\)/, 15000);

  await hearing('three-way', { customer, ada, grace }, (h) => {
    expectHears(h.customer!, 'the customer', 'Ada', ADA_HZ);
    expectHears(h.customer!, 'the customer', 'Grace', GRACE_HZ);
    expectHears(h.ada!, 'Ada', 'the customer', CUSTOMER_HZ);
    expectHears(h.ada!, 'Ada', 'Grace', GRACE_HZ);
    expectHears(h.grace!, 'Grace', 'the customer', CUSTOMER_HZ);
    expectHears(h.grace!, 'Grace', 'Ada', ADA_HZ);
    for (const [who, own] of [['customer', CUSTOMER_HZ], ['ada', ADA_HZ], ['grace', GRACE_HZ]] as const) expectDoesNotHear(h[who]!, who, 'their own voice', own);
  });

  await grace.click('#demo-mute');
  await expectText(grace, '#demo-mute', /Unmute/);
  await expectText(grace, '#demo-audio-note', /you are muted/);
  await screenshot(grace, 'audio-4-grace-muted');
  await hearing('three-way, Grace muted', { customer, ada, grace }, (h) => {
    expectDoesNotHear(h.customer!, 'the customer', 'muted Grace', GRACE_HZ);
    expectDoesNotHear(h.ada!, 'Ada', 'muted Grace', GRACE_HZ);
    expectHears(h.customer!, 'the customer', 'Ada', ADA_HZ);
    expectHears(h.grace!, 'muted Grace', 'the customer', CUSTOMER_HZ);
    expectHears(h.grace!, 'muted Grace', 'Ada', ADA_HZ);
  });
  await waitFor('the meters to show Grace muted', async () => (await grace.$eval('#demo-mic-level', (m) => (m as unknown as { value: number }).value)) === 0);
  // One mute per call: the call's own Mute says so too (it is what the sound panel pressed)…
  await expectText(grace, '#mute', /Unmute/);
  expect(await grace.getAttribute('#mute', 'aria-pressed')).toBe('true');
  // …and unmuting there is what the panel shows, and what the others hear.
  await grace.click('#mute');
  await expectText(grace, '#demo-mute', /^Mute$/);
  await expectText(grace, '#demo-audio-note', /you hear the call and it hears you/);
  await hearing('three-way, Grace unmuted', { customer, ada, grace }, (h) => {
    expectHears(h.customer!, 'the customer', 'Grace again', GRACE_HZ);
    expectHears(h.ada!, 'Ada', 'Grace again', GRACE_HZ);
  });
});

test('when the pages have no microphone, then the call works on text, and each sound panel says so plainly', async () => {
  // The harness's own browser has no microphone at all.
  const adaContext = await e2e.newContext();
  const ada = await e2e.openAgent(ADA, { available: true, context: adaContext });
  const customer = await (await e2e.newContext()).newPage();
  await customer.goto(`${e2e.running.url}/phone`);
  await customer.click('#phone-call');

  await expectText(customer, '#demo-audio-note', /No sound: no microphone was found, so this call works on text only/);
  await expectText(customer, '#phone-hears', /Thank you for calling|line|music/);
  await answer(ada);
  await expectText(ada, '#demo-audio-note', /No sound: no microphone was found, so this call works on text only/);
  await expectText(ada, '#agent-hears', /the conference \(2 on the line\)/);
  await expectText(customer, '#phone-hears', /connected to an agent/);
  await screenshot(customer, 'audio-5-customer-without-a-microphone');
  for (const page of [customer, ada]) {
    expect(await page.$('audio.twilio-local-audio')).toBeNull();
    expect(await page.isDisabled('#demo-mute')).toBe(true);
  }
});
