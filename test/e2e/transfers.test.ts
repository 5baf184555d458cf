// Consult transfers in a real browser, demo mode: the customer waits on hold while two agents talk, then the transfer
// completes, merges into a three-way call, toggles between the two sides, or is cancelled; a colleague who declines
// gives the customer back. After each, a supervisor reads the call on the history page.
import type { Page } from 'playwright-core';
import { screenshot } from './browser';
import { ADA, ALAN, answer, callSupport, expectText, GRACE, MARGARET, useE2e, waitFor } from './harness';

const e2e = useE2e({ ringSeconds: 5 });

/** Arrange: the customer talks with Ada; Ada types a note and presses Consult next to Grace; Grace's page rings with it. */
async function consulting(): Promise<{ customer: Page; ada: Page; grace: Page; callSid: string }> {
  const ada = await e2e.openAgent(ADA, { available: true });
  const grace = await e2e.openAgent(GRACE);
  const customer = await e2e.openPhone('+15550001234');
  await callSupport(customer);
  await answer(ada);
  await expectText(customer, '#phone-hears', /conference with 2 participants/);
  const call = await waitFor('the call in progress', async () => (await e2e.db.models.calls.find({ status: 'in-progress', conferenceSid: { $exists: true } }).lean().exec())[0]);
  await ada.fill('#transfer-note', 'Wants a refund for order 42');
  await ada.click('#directory button.consult[data-agent="grace"]');
  await expectText(customer, '#phone-hears', /on hold/);
  await expectText(ada, '#transfer-state', /Calling Grace Hopper; the customer is on hold/);
  await expectText(grace, '#agent-status', /Consult from Ada Lovelace about \+15550001234 \(waited .*\): "Wants a refund for order 42"/);
  await screenshot(grace, 'transfer-1-grace-sees-the-consult');
  return { customer, ada, grace, callSid: call._id };
}

/** Margaret, a supervisor, opens the call history in her own browser, finds the call and opens its page. */
async function historyOf(callSid: string): Promise<Page> {
  const page = await (await e2e.newContext()).newPage();
  await page.goto(`${e2e.running.url}/sign-in`);
  await page.click(`.demo-sign-in button[data-agent="${MARGARET.id}"]`);
  await page.waitForURL((url) => !url.pathname.endsWith('/sign-in'));
  await waitFor('the call on the history page', async () => {
    await page.goto(`${e2e.running.url}/history`);
    return (await page.$(`#history-table tr[data-call="${callSid}"] a`)) !== null;
  });
  await page.click(`#history-table tr[data-call="${callSid}"] a`);
  await expectText(page, 'h1', new RegExp(callSid));
  return page;
}

/** The customer hangs up, and the history page then shows the call's transfer, timeline and ending as `expected`. */
async function hangUpAndReadHistory(customer: Page, callSid: string, expected: { transfer: RegExp; timeline: RegExp[]; hungUp?: RegExp; name: string }): Promise<Page> {
  await customer.click('#phone-hangup');
  const page = await historyOf(callSid);
  await expectText(page, '#call-outcome', /Answered/);
  await expectText(page, '#call-transfers', expected.transfer);
  for (const line of expected.timeline) await expectText(page, '#call-timeline', line);
  await expectText(page, '#call-hung-up', expected.hungUp ?? /the customer/);
  await screenshot(page, `history-${expected.name}`);
  return page;
}

test('when Ada consults Grace and completes the transfer, then the customer comes off hold with Grace and Ada leaves', async () => {
  const { customer, ada, grace, callSid } = await consulting();
  await answer(grace);
  await expectText(ada, '#transfer-state', /Talking with Grace Hopper; the customer is on hold/);
  await expectText(grace, '#agent-status', /Consult with Ada Lovelace about \+15550001234: the customer is on hold and cannot hear you\. Note: "Wants a refund for order 42"/);
  await screenshot(ada, 'transfer-2-ada-consulting');

  await ada.click('#transfer-complete');

  await expectText(customer, '#phone-hears', /connected to an agent \(conference with 2 participants\)/, 15000);
  await expectText(grace, '#call-legs', /Ada Lovelace: left the call/);
  // Ada's page says whose the call is now, not only that hers ended.
  await expectText(ada, '#agent-status', /Grace Hopper has the customer now\./);
  expect(await ada.textContent('#agent-status')).not.toMatch(/Call ended\. Call ended/);
  await hangUpAndReadHistory(customer, callSid, {
    name: 'consult-completed',
    transfer: /Ada Lovelace\s*Grace Hopper\s*consult\s*completed/,
    timeline: [/Transfer by Ada Lovelace — consult to Grace Hopper: completed/, /Customer put on hold/, /Customer taken off hold/, /Left: Ada Lovelace — completed the transfer/, /Customer left — hung up/],
  });
  const history = (await e2e.running.history.find(callSid, new Date()))!;
  expect(history.agentIds).toEqual(['ada', 'grace']);
});

test('when Ada cancels the consult, then Grace\'s leg ends and the customer comes off hold, back with Ada', async () => {
  const { customer, ada, grace, callSid } = await consulting();
  await answer(grace);
  // A second consult meanwhile does nothing, and says why (not "this works during a call").
  await ada.focus('#directory button.consult[data-agent="grace"]');
  await ada.keyboard.press('Enter');
  await expectText(ada, '#announcer', /^(A transfer is under way: complete or cancel it first\.|Grace Hopper is already on this call\.)$/);

  await ada.click('#transfer-cancel');

  await expectText(ada, '#transfer-state', /Transfer cancelled: the customer is back with you/);
  await expectText(customer, '#phone-hears', /connected to an agent \(conference with 2 participants\)/, 15000);
  await expectText(grace, '#agent-status', /Call ended|Away/);
  await hangUpAndReadHistory(customer, callSid, {
    name: 'consult-cancelled',
    transfer: /Ada Lovelace\s*Grace Hopper\s*consult\s*cancelled/,
    timeline: [/Transfer by Ada Lovelace — consult to Grace Hopper: cancelled/, /Customer taken off hold/, /Left: Grace Hopper/],
  });
});

test('when Ada toggles during the consult, then she talks with the customer while Grace holds, and back; then she completes and Grace has the customer', async () => {
  const { customer, ada, grace, callSid } = await consulting();
  await answer(grace);
  await expectText(ada, '#transfer-toggle', /Talk to the customer/);

  await ada.click('#transfer-toggle');

  await expectText(customer, '#phone-hears', /connected to an agent \(conference with 3 participants, 1 on hold\)/, 15000);
  await expectText(grace, '#agent-hears', /hold music/);
  await expectText(grace, '#agent-status', /On hold: Ada Lovelace is talking with \+15550001234/);
  await expectText(ada, '#transfer-state', /Talking with the customer; Grace Hopper is on hold/);
  await expectText(ada, '#call-legs', /Grace Hopper: on the call, on hold \(consult\)/);
  const board = await e2e.openAgent(MARGARET);
  await board.goto(`${e2e.running.url}/board`);
  await expectText(board, '#board-calls tbody', /Ada Lovelace, Grace Hopper \(on hold\)\s*Consult: Ada Lovelace → Grace Hopper \(consulting, colleague on hold\)/);
  await screenshot(board, 'transfer-toggle-board');
  await screenshot(ada, 'transfer-toggle-ada-with-customer');

  await ada.click('#transfer-toggle');
  await expectText(customer, '#phone-hears', /on hold/, 15000);
  await expectText(grace, '#agent-hears', /the conference/);
  await expectText(ada, '#transfer-state', /Talking with Grace Hopper; the customer is on hold/);

  await ada.click('#transfer-toggle');
  await expectText(grace, '#agent-hears', /hold music/, 15000);
  await ada.click('#transfer-complete');
  await expectText(customer, '#phone-hears', /connected to an agent \(conference with 2 participants\)/, 15000);
  await expectText(grace, '#agent-hears', /the conference \(2 on the line\)/);
  await expectText(grace, '#agent-status', /In call with \+15550001234/);
  await hangUpAndReadHistory(customer, callSid, {
    name: 'consult-toggled',
    transfer: /consult\s*completed/,
    timeline: [/On hold: Grace Hopper/, /Off hold: Grace Hopper/, /Customer taken off hold/, /Left: Grace Hopper — the call ended/],
  });
});

test('when Ada merges into a three-way call and Grace then leaves, then the customer and Ada stay connected', async () => {
  const { customer, ada, grace, callSid } = await consulting();
  await answer(grace);

  await ada.click('#transfer-merge');
  await expectText(customer, '#phone-hears', /conference with 3 participants/, 15000);
  await expectText(ada, '#transfer-state', /Three-way/);
  await grace.click('#hangup');

  await expectText(customer, '#phone-hears', /conference with 2 participants/, 15000);
  await expectText(ada, '#call-legs', /Grace Hopper: left the call/);
  expect(await customer.textContent('#phone-status')).toMatch(/in-progress/);
  await hangUpAndReadHistory(customer, callSid, {
    name: 'consult-merged',
    transfer: /Ada Lovelace\s*Grace Hopper\s*consult\s*merged into a three-way call/,
    timeline: [/Transfer by Ada Lovelace — consult to Grace Hopper: merged into a three-way call/, /Left: Grace Hopper — pressed Hang up/, /Customer left — hung up/],
  });
});

test('when Grace declines the consult, then the customer comes off hold by themselves and Ada is told', async () => {
  const { customer, ada, grace, callSid } = await consulting();

  await grace.click('#decline');

  await expectText(ada, '#transfer-state', /Grace Hopper declined: the customer is back with you/);
  await expectText(customer, '#phone-hears', /connected to an agent \(conference with 2 participants\)/, 15000);
  await screenshot(ada, 'transfer-3-grace-declined');
  await hangUpAndReadHistory(customer, callSid, {
    name: 'consult-declined',
    transfer: /Ada Lovelace\s*Grace Hopper\s*consult\s*declined/,
    timeline: [/Rang colleague Grace Hopper — for Ada Lovelace/, /Declined by Grace Hopper/, /Transfer by Ada Lovelace — consult to Grace Hopper: declined/, /Customer taken off hold/],
  });
});

test('when Ada cold-transfers to Grace and Grace does not answer, then Ada is free at once and the call goes back to routing: Alan gets it', async () => {
  const ada = await e2e.openAgent(ADA, { available: true });
  const grace = await e2e.openAgent(GRACE);
  const customer = await e2e.openPhone('+15550005678');
  await callSupport(customer);
  await answer(ada);
  await expectText(customer, '#phone-hears', /conference with 2 participants/);
  await waitFor('the conference to start', async () => (await e2e.db.models.calls.find({ status: 'in-progress', conferenceSid: { $exists: true } }).lean().exec())[0]);

  await ada.fill('#transfer-note', 'Needs a manager');
  await ada.click('#directory button.cold[data-agent="grace"]');

  await expectText(ada, '#agent-status', /You transferred the customer to Grace Hopper\./);
  await expectText(customer, '#phone-hears', /on hold/);
  await expectText(grace, '#agent-status', /Transfer from Ada Lovelace about \+15550005678 .*"Needs a manager"/);
  await screenshot(grace, 'transfer-4-grace-cold-transfer-rings');
  // Grace lets it ring out; Alan becomes available meanwhile and gets the customer.
  const alan = await e2e.openAgent(ALAN, { available: true });
  await answer(alan);
  await expectText(customer, '#phone-hears', /connected to an agent \(conference with 2 participants\)/, 20000);
  const call = await waitFor('the call with Alan', async () => (await e2e.db.models.calls.find({ agentId: 'alan', status: 'in-progress' }).lean().exec())[0]);
  expect(call.transfers).toEqual([expect.objectContaining({ from: 'ada', to: 'grace', mode: 'cold', state: 'no-answer' })]);
  const page = await hangUpAndReadHistory(customer, call._id, {
    name: 'cold-not-answered',
    transfer: /Ada Lovelace\s*Grace Hopper\s*cold transfer\s*not answered/,
    timeline: [/Transfer by Ada Lovelace — cold transfer to Grace Hopper: not answered/, /No answer from Grace Hopper/, /Answered by Ada Lovelace/, /Offered to Alan Turing/],
  });
  await expectText(page, '#call-talked-with', /Ada Lovelace, Alan Turing/);
  await expectText(page, '#call-rang', /Ada Lovelace: answered[\s\S]*Grace Hopper: no answer[\s\S]*Alan Turing: answered/);
});
