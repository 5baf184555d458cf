// Consult transfers in a real browser, demo mode: the customer waits on hold while two agents talk, then the transfer
// completes, merges into a three-way call, or is cancelled; a colleague who declines gives the customer back.
import type { Page } from 'playwright-core';
import { screenshot } from './browser';
import { ADA, ALAN, answer, callSupport, expectText, GRACE, useE2e, waitFor } from './harness';

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

test('when Ada consults Grace and completes the transfer, then the customer comes off hold with Grace and Ada leaves', async () => {
  const { customer, ada, grace, callSid } = await consulting();
  await answer(grace);
  await expectText(ada, '#transfer-state', /Talking with Grace Hopper; the customer is on hold/);
  await screenshot(ada, 'transfer-2-ada-consulting');

  await ada.click('#transfer-complete');

  await expectText(customer, '#phone-hears', /connected to an agent \(conference with 2 participants\)/, 15000);
  await expectText(grace, '#call-legs', /Ada Lovelace: left the call/);
  await expectText(ada, '#agent-status', /Call ended|Wrapping up|Ready/);
  await customer.click('#phone-hangup');
  const history = await waitFor('the call in the history', () => e2e.running.history.find(callSid, new Date()));
  expect(history.transfers).toEqual([expect.objectContaining({ from: 'ada', to: 'grace', mode: 'consult', outcome: 'completed' })]);
  expect(history.agentIds).toEqual(['ada', 'grace']);
});

test('when Ada cancels the consult, then Grace\'s leg ends and the customer comes off hold, back with Ada', async () => {
  const { customer, ada, grace } = await consulting();
  await answer(grace);

  await ada.click('#transfer-cancel');

  await expectText(ada, '#transfer-state', /Transfer cancelled: the customer is back with you/);
  await expectText(customer, '#phone-hears', /connected to an agent \(conference with 2 participants\)/, 15000);
  await expectText(grace, '#agent-status', /Call ended|Away/);
  await customer.click('#phone-hangup');
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
  await customer.click('#phone-hangup');
  const history = await waitFor('the call in the history', () => e2e.running.history.find(callSid, new Date()));
  expect(history.transfers).toEqual([expect.objectContaining({ mode: 'consult', outcome: 'merged' })]);
});

test('when Grace declines the consult, then the customer comes off hold by themselves and Ada is told', async () => {
  const { customer, ada, grace } = await consulting();

  await grace.click('#decline');

  await expectText(ada, '#transfer-state', /Grace Hopper declined: the customer is back with you/);
  await expectText(customer, '#phone-hears', /connected to an agent \(conference with 2 participants\)/, 15000);
  await screenshot(ada, 'transfer-3-grace-declined');
  await customer.click('#phone-hangup');
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

  await expectText(ada, '#agent-status', /Call ended|Wrapping up|Ready/);
  await expectText(customer, '#phone-hears', /on hold/);
  await expectText(grace, '#agent-status', /Transfer from Ada Lovelace about \+15550005678 .*"Needs a manager"/);
  await screenshot(grace, 'transfer-4-grace-cold-transfer-rings');
  // Grace lets it ring out; Alan becomes available meanwhile and gets the customer.
  const alan = await e2e.openAgent(ALAN, { available: true });
  await answer(alan);
  await expectText(customer, '#phone-hears', /connected to an agent \(conference with 2 participants\)/, 20000);
  const call = await waitFor('the call with Alan', async () => (await e2e.db.models.calls.find({ agentId: 'alan', status: 'in-progress' }).lean().exec())[0]);
  expect(call.transfers).toEqual([expect.objectContaining({ from: 'ada', to: 'grace', mode: 'cold', state: 'no-answer' })]);
  await customer.click('#phone-hangup');
});
