// Queues in a real browser, demo mode: the customer hears the menu and presses a key on the phone page's keypad; only
// an agent of the chosen queue rings. An admin sets the queues with the keyboard on /admin.
import type { Page } from 'playwright-core';
import { ALAN, answer, expectText, GRACE, KATHERINE, useE2e, waitFor, type DemoAgent } from './harness';
import { screenshot } from './browser';

const DEMO_ADMIN: DemoAgent = { id: 'demo-admin', name: 'Demo Admin' };

// The menu waits 60 simulated seconds for a key (3 s of real time at the suite's 0.05 time scale).
const e2e = useE2e({ ringSeconds: 5, env: { MENU_TIMEOUT_SECONDS: '60' } });

beforeAll(async () => {
  await e2e.running.queues.add({ id: 'sales', name: 'Sales', key: '1', agents: [GRACE.id], skills: [], priority: 0 });
  await e2e.running.queues.add({ id: 'support', name: 'Support', key: '2', agents: [], skills: ['support'], priority: 0 });
  await e2e.running.queues.add({ id: 'night', name: 'Night desk', key: '4', agents: [KATHERINE.id], skills: [], priority: 0, overflow: { to: 'support', afterSeconds: 5 } });
  await e2e.running.queues.setSkills(ALAN.id, ['support']);
});

/** The customer calls and waits for the menu to be read to them. */
async function callAndHearMenu(customer: Page): Promise<void> {
  await customer.click('#phone-call');
  await expectText(customer, '#phone-hears', /For Sales, press 1\. For Support, press 2\.|Thank you for calling/);
  await customer.waitForSelector('#phone-keypad:not([disabled])');
}

test('when the caller presses 2 on the keypad, then the Support agent rings and answers, and the Sales agent, idle longer, does not ring', async () => {
  const grace = await e2e.openAgent(GRACE, { available: true });
  const alan = await e2e.openAgent(ALAN, { available: true });
  const customer = await e2e.openPhone('+15557654321');

  await callAndHearMenu(customer);
  await customer.click('#phone-keypad button[data-key="2"]');
  await expectText(customer, '#phone-pressed', /^2$/);

  await expectText(alan, '#agent-status', /Incoming call from \+15557654321/);
  await screenshot(customer, 'queues-1-pressed-2');
  await answer(alan);
  await expectText(customer, '#phone-hears', /conference with 2 participants/);
  await expectText(grace, '#agent-status', /Ready/);
  const call = await waitFor('the call in progress', async () => (await e2e.db.models.calls.find({ status: 'in-progress' }).lean().exec())[0]);
  expect(call).toMatchObject({ queueId: 'support', agentId: ALAN.id });
  expect(call.participants.map((p) => p.agentId)).toEqual([ALAN.id]);

  await customer.click('#phone-hangup');
  await expectText(alan, '#agent-status', /Call ended/);
});

test('when the caller types 1 with the keyboard on the keypad, then the Sales agent rings, not the Support agent', async () => {
  const alan = await e2e.openAgent(ALAN, { available: true });
  const grace = await e2e.openAgent(GRACE, { available: true });
  const customer = await e2e.openPhone();

  await callAndHearMenu(customer);
  await customer.focus('#phone-keypad button[data-key="5"]');
  await customer.keyboard.press('1');

  await expectText(grace, '#agent-status', /Incoming call/);
  await expectText(alan, '#agent-status', /Ready/);
  await answer(grace);
  await customer.click('#phone-hangup');
});

test('when the caller presses 4 and every agent of that queue is offline, then after its 5 s the call overflows to Support and the Support agent rings', async () => {
  const alan = await e2e.openAgent(ALAN, { available: true });
  const customer = await e2e.openPhone('+15557650004');

  await callAndHearMenu(customer);
  await customer.click('#phone-keypad button[data-key="4"]');
  const waiting = await waitFor('the call in the Night queue', async () => (await e2e.db.models.calls.find({ from: '+15557650004' }).lean().exec())[0]);
  expect(waiting.queueId).toBe('night');
  const started = Date.now();

  await expectText(alan, '#agent-status', /Incoming call from \+15557650004/, 15000);
  expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
  const moved = (await e2e.db.models.calls.find({ from: '+15557650004' }).lean().exec())[0]!;
  expect(moved).toMatchObject({ queueId: 'support', overflowedFrom: 'night' });
  expect(new Date(moved.queueSince!).getTime() - new Date(moved.createdAt).getTime()).toBeGreaterThanOrEqual(5000);
  await answer(alan);
  await customer.click('#phone-hangup');
});

test('when an admin adds a queue with the keyboard only on /admin, then the menu names it', async () => {
  const admin = await e2e.openAgent(DEMO_ADMIN);
  await admin.goto(`${e2e.running.url}/admin#queues`);

  await admin.focus('#new-queue-name');
  await admin.keyboard.type('Billing');
  await admin.keyboard.press('Tab');
  await admin.keyboard.type('3');
  await admin.keyboard.press('Enter');

  await expectText(admin, '#queues-menu', /For Billing, press 3\./);
  expect((await e2e.running.queues.load()).queues.map((q) => q.id)).toEqual(['sales', 'support', 'night', 'billing']);
});
