// The whole warm transfer in a real browser: a customer's phone page and agents' softphone pages, each agent in their
// own browser context signed in through the sign-in page (Ada with her password, the others in one click), in demo
// mode (the local Twilio stand-in plays the phone network), against the real app and database.
import type { Page } from 'playwright-core';
import { screenshot } from './browser';
import { ADA, answer, callSupport, expectText, GRACE, useE2e, waitFor } from './harness';

const e2e = useE2e({ ringSeconds: 5 });

/** The customer calls and Ada, the only one available, answers. */
async function customerReachesAda(customer: Page, ada: Page): Promise<string> {
  await callSupport(customer);
  await answer(ada);
  await expectText(customer, '#phone-hears', /connected to an agent \(conference with 2 participants\)/);
  const call = await waitFor('the call to be stored as in progress', async () => (await e2e.db.models.calls.find({ status: 'in-progress' }).lean().exec())[0]);
  return call._id;
}

/** Arrange: the customer talks with Ada, who found Grace in the directory and pressed Bring in; Grace's page rings. */
async function graceRinging(): Promise<{ customer: Page; ada: Page; grace: Page; callSid: string }> {
  const customer = await e2e.openPhone();
  const ada = await e2e.openAgent(ADA, { available: true });
  const grace = await e2e.openAgent(GRACE); // signed in, softphone up, away: routing does not offer her calls
  const callSid = await customerReachesAda(customer, ada);
  await ada.fill('#directory-search', 'grace');
  await ada.waitForSelector('#directory button.bring-in[data-agent="grace"]:not([aria-disabled="true"])');
  expect(await ada.locator('#directory li:not([hidden])').count()).toBe(1);
  // The filter hides the other rows from sight and from Tab too, and each button names its colleague.
  expect(await ada.locator('#directory li:visible').count()).toBe(1);
  expect(await ada.getAttribute('#directory button.bring-in[data-agent="grace"]', 'aria-label')).toBe('Bring in Grace Hopper');
  await ada.click('#directory button.bring-in[data-agent="grace"]');
  await expectText(grace, '#agent-status', /Ada Lovelace asks you to join their call with /);
  // A screen reader hears who asks, not "Incoming call" as if a customer were calling.
  await expectText(grace, '#announcer', /^Ada Lovelace asks you to join their call with \+\d+\. Answer or decline\.$/);
  await expectText(ada, '#call-legs', /Grace Hopper: (being called|ringing)/);
  return { customer, ada, grace, callSid };
}

test('when Ada brings Grace in and hangs up, then the customer and Grace stay connected until the customer hangs up', async () => {
  const { customer, ada, grace, callSid } = await graceRinging();
  await screenshot(customer, '1-customer-connected-to-ada');
  await screenshot(grace, '2-grace-ringing');
  await answer(grace);
  await expectText(ada, '#call-legs', /Grace Hopper: on the call/);
  await expectText(customer, '#phone-hears', /conference with 3 participants/);
  await screenshot(ada, '3-ada-colleague-joined');

  await ada.click('#hangup');
  await expectText(ada, '#agent-status', /Call ended/);
  await expectText(customer, '#phone-hears', /conference with 2 participants/);
  await expectText(grace, '#agent-hears', /the conference \(2 on the line\)/);
  await expectText(grace, '#call-legs', /Ada Lovelace: left the call/);
  await screenshot(grace, '4-grace-with-customer');

  // The customer is still connected, now with Grace alone.
  expect(await customer.textContent('#phone-status')).toMatch(/in-progress/);
  expect(e2e.running.twilioLocal!.snapshot().conferences.find((c) => c.friendlyName === callSid)!.status).toBe('in-progress');
  const afterTransfer = await waitFor('Ada\'s leg to be completed', async () => {
    const call = await e2e.db.models.calls.findById(callSid).lean().exec();
    return call?.participants.find((l) => l.agentId === ADA.id)?.status === 'completed' && call;
  });
  expect(afterTransfer).toMatchObject({ status: 'in-progress', agentId: GRACE.id });

  await customer.click('#phone-hangup');
  await expectText(customer, '#phone-status', /completed/);
  await expectText(grace, '#agent-status', /Call ended/);
  await screenshot(customer, '5-customer-hung-up');
  // The finished call leaves the live store for the history.
  const history = await waitFor('the call in the history', () => e2e.running.history.find(callSid, new Date()));
  expect(history).toMatchObject({ outcome: 'answered', agentIds: [ADA.id, GRACE.id] });
  // The history is written first, then the live record goes.
  await waitFor('the live call removed', async () => (await e2e.db.models.calls.findById(callSid).lean().exec()) === null);
  expect(e2e.logs.filter((line) => line.includes('page error'))).toEqual([]);
});

test('when Grace never answers, then Ada and the customer stay connected and Ada\'s page says so', async () => {
  const { customer, ada, grace, callSid } = await graceRinging();

  await expectText(ada, '#call-legs', /Grace Hopper: did not answer/, 20000);
  // Her page does not send the customer back to the line: they stayed with Ada.
  await expectText(grace, '#agent-status', /You did not answer Ada Lovelace in time: the customer stays with them/);
  await screenshot(ada, '6-grace-did-not-answer');
  expect(await customer.textContent('#phone-status')).toMatch(/in-progress/);
  await expectText(customer, '#phone-hears', /conference with 2 participants/);
  const call = (await e2e.db.models.calls.findById(callSid).lean().exec())!;
  expect(call.participants.map((l) => [l.agentId, l.status])).toEqual([
    [ADA.id, 'in-progress'],
    [GRACE.id, 'no-answer'],
  ]);

  await customer.click('#phone-hangup');
  await expectText(ada, '#agent-status', /Call ended/);
});

test('when the customer hangs up while Grace is ringing, then her phone stops ringing and the call ends', async () => {
  const { customer, ada, grace, callSid } = await graceRinging();
  await customer.click('#phone-hangup');

  await expectText(ada, '#agent-status', /Call ended/);
  await grace.waitForSelector('#answer[disabled]');
  await screenshot(grace, '7-grace-ringing-withdrawn');
  const history = await waitFor('the call in the history', () => e2e.running.history.find(callSid, new Date()));
  expect(history.timeline.map((entry) => [entry.kind, entry.agentId])).toEqual(expect.arrayContaining([['canceled', GRACE.id]]));
});

test('when a second customer calls while Ada is on a call, then they wait in line without disturbing her, and ring her once she is free', async () => {
  const first = await e2e.openPhone('+15550000011');
  const second = await e2e.openPhone('+15550000022');
  const ada = await e2e.openAgent(ADA, { available: true });
  await customerReachesAda(first, ada);

  await callSupport(second);
  await expectText(second, '#phone-hears', /next in line|music/);
  await expectText(ada, '#line', /1 caller waiting/);
  await screenshot(ada, '8-ada-one-caller-waiting');
  expect(await ada.isEnabled('#hangup')).toBe(true);
  expect(await ada.isDisabled('#answer')).toBe(true);

  await ada.click('#hangup'); // on purpose: the first customer hears goodbye
  await expectText(first, '#phone-status', /completed/);
  await expectText(ada, '#agent-status', /Incoming call from \+15550000022/, 15000);
  await answer(ada);
  await expectText(second, '#phone-hears', /connected to an agent \(conference with 2 participants\)/);
  await second.click('#phone-hangup');
  await expectText(ada, '#agent-status', /Call ended/);
});

test('when an admin disables Grace on the admin page while her page is open, then her page goes to sign-in and she cannot sign in again', async () => {
  const grace = await e2e.openAgent(GRACE);
  const admin = await (await e2e.newContext()).newPage();
  await admin.goto(`${e2e.running.url}/sign-in`);
  await admin.click('.demo-sign-in button[data-agent="demo-admin"]');
  await admin.waitForURL(`${e2e.running.url}/`);
  await admin.click('a[href="/admin"]');
  await admin.waitForURL(`${e2e.running.url}/admin`);

  await admin.click(`tr[data-agent="${GRACE.id}"] form[action$="/disable"] button`);
  await expectText(admin, '#admin-notice', /Disabled Grace Hopper; \d+ session\(s\) ended/);
  await screenshot(admin, '9-admin-disabled-grace');

  await grace.waitForURL(/\/sign-in\?ended=disabled/, { timeout: 20000 });
  expect(await grace.locator(`.demo-sign-in button[data-agent="${GRACE.id}"]`).count()).toBe(0);
  expect(await e2e.running.agents.find(GRACE.id)).toMatchObject({ disabled: true });
  await e2e.running.agents.change(GRACE.id, { disabled: false });
});
