// Callbacks in a real browser, demo mode: one agent is busy and three callers wait; each hears the callback offer,
// caller 2 presses 1 (and confirms their number) on the phone page's keypad and hangs up; when the agent is free, caller
// 1 rings first, then caller 2's callback (the agent sees "callback" and the number) before caller 3.
import type { Page } from 'playwright-core';
import { ADA, answer, expectText, GRACE, useE2e, waitFor } from './harness';
import { screenshot } from './browser';

// The offer comes 2 s after a caller joins the line; its <Gather> waits 60 simulated seconds (3 s here).
const e2e = useE2e({ ringSeconds: 10, env: { CALLBACK_OFFER_AFTER_SECONDS: '2', CALLBACK_OFFER_EVERY_SECONDS: '600', MENU_TIMEOUT_SECONDS: '60', MAX_WAIT_SECONDS: '600' } });

async function call(from: string): Promise<Page> {
  const page = await e2e.openPhone(from);
  await page.click('#phone-call');
  await expectText(page, '#phone-hears', /Thank you for calling|line|music/);
  return page;
}

const stored = (from: string) => waitFor(`the call from ${from}`, async () => (await e2e.db.models.calls.find({ from }).lean().exec())[0]);

test('when one agent is busy and three callers wait, then caller 2 asks for a callback and is called back before caller 3 is offered', async () => {
  const grace = await e2e.openAgent(GRACE, { available: true });
  const first = await call('+15557650010');
  await answer(grace);
  const one = await call('+15557650011');
  await new Promise((r) => setTimeout(r, 100));
  const two = await call('+15557650012');
  await new Promise((r) => setTimeout(r, 100));
  const three = await call('+15557650013');

  // Caller 2 hears the offer, presses 1, confirms their own number with 1 and #.
  await expectText(two, '#phone-hears', /To be called back, press 1/, 15000);
  await two.click('#phone-keypad button[data-key="1"]');
  await expectText(two, '#phone-hears', /call you back at 1 5 5 5 7 6 5 0 0 1 2/);
  await two.click('#phone-keypad button[data-key="1"]');
  await two.click('#phone-keypad button[data-key="#"]');
  await expectText(two, '#phone-hears', /keep your place in line/);
  await expectText(two, '#phone-status', /completed/);
  const kept = await waitFor('the callback kept', async () => (await e2e.db.models.calls.find({ from: '+15557650012', callback: { $exists: true } }).lean().exec())[0]);
  expect(kept).toMatchObject({ status: 'waiting', callback: { number: '+15557650012' } });
  // Callers 1 and 3 press nothing and are back in line (a caller still hearing the offer is not rung: wait until the
  // app has them back, or Grace would be offered the callback first).
  await expectText(one, '#phone-hears', /waiting for an agent|music|line/, 15000);
  await expectText(three, '#phone-hears', /waiting for an agent|music|line/, 15000);
  await waitFor('callers 1 and 3 back in line', async () => {
    const back = await e2e.db.models.calls.find({ from: { $in: ['+15557650011', '+15557650013'] } }).lean().exec();
    return back.length === 2 && back.every((c) => !c.awayFromLine) ? back : undefined;
  }, 15000);

  // Grace ends the first call: caller 1 rings her next.
  await first.click('#phone-hangup');
  await expectText(grace, '#agent-status', /Incoming call from \+15557650011/, 15000);
  await answer(grace);
  await one.click('#phone-hangup');

  // Then the callback (before caller 3): Grace sees it is one, answers, and the app calls caller 2 back.
  await expectText(grace, '#agent-status', /Incoming call from callback \+15557650012/, 15000);
  expect((await stored('+15557650013')).status).toBe('waiting');
  await screenshot(grace, 'callbacks-1-callback-rings');
  await answer(grace);
  const back = await waitFor('caller 2 back on the line', async () => {
    const c = (await e2e.db.models.calls.find({ from: '+15557650012' }).lean().exec())[0];
    return c?.customerLegSid && !c.customerRinging ? c : undefined;
  }, 15000);
  expect(back.status).toBe('in-progress');
  expect((await stored('+15557650013')).status).toBe('waiting');
  await expectText(grace, '#agent-status', /In call with/);

  // Grace's page goes away mid-call: the customer called back waits on hold, and rings Ada as a call to answer (not as
  // "Connecting your call", the words of Ada's own call to a number, which would never ring for her to answer).
  await three.click('#phone-hangup');
  await waitFor('caller 3 gone', async () => (await e2e.db.models.calls.find({ from: '+15557650013' }).lean().exec()).length === 0);
  const ada = await e2e.openAgent(ADA, { available: true });
  await grace.close();
  await expectText(ada, '#agent-status', /Incoming call from callback \+15557650012.*back in line/, 25000);
  await answer(ada);
  await expectText(ada, '#agent-status', /In call with callback \+15557650012/);
});
