// Routing in a real browser, several signed-in agents, demo mode: who rings, what happens when an agent declines or
// does not answer, the waiting line, reloading mid-call, and one softphone per agent across tabs.
import { ADA, ALAN, answer, callSupport, expectText, GRACE, goAvailable, MARGARET, useE2e, waitFor } from './harness';
import { screenshot } from './browser';

const e2e = useE2e({ ringSeconds: 5 });

test('when the first agent declines, then the next available agent rings, answers, and talks with the customer', async () => {
  const ada = await e2e.openAgent(ADA, { available: true });
  const grace = await e2e.openAgent(GRACE, { available: true });
  const customer = await e2e.openPhone('+15557654321');

  await callSupport(customer);
  // Ada has been idle longest (she went available first), so she rings first, with the caller's number and wait.
  await expectText(ada, '#agent-status', /Incoming call from \+15557654321, waiting \d+ s/);
  await screenshot(ada, 'routing-1-ada-rings');
  await ada.click('#decline');
  await expectText(ada, '#agent-status', /You declined the call\. Ready/);

  await answer(grace);
  await expectText(customer, '#phone-hears', /conference with 2 participants/);
  await expectText(ada, '#agent-status', /Ready/);
  await expectText(ada, '#directory li[data-agent="grace"] .presence-badge', /On a call/);
  const call = await waitFor('the call in progress', async () => (await e2e.db.models.calls.find({ status: 'in-progress' }).lean().exec())[0]);
  expect(call.passedBy.map((p) => [p.agentId, p.outcome])).toEqual([['ada', 'busy']]);
  expect(call.agentId).toBe('grace');

  await customer.click('#phone-hangup');
  await expectText(grace, '#agent-status', /Call ended/);
});

test('when the agent does not answer, then the next agent rings, and the one who missed it is set away and told why', async () => {
  const ada = await e2e.openAgent(ADA, { available: true });
  const grace = await e2e.openAgent(GRACE, { available: true });
  const customer = await e2e.openPhone();

  await callSupport(customer);
  await expectText(ada, '#agent-status', /Incoming call/);

  await answer(grace);
  await expectText(ada, '#presence', /Away/, 15000);
  await expectText(ada, '#presence-note', /missed a call/i);
  // The page says what happened to the ring (it rang out), not "taken elsewhere or the caller hung up".
  await expectText(ada, '#agent-status', /did not answer in time/);
  expect(await ada.getAttribute('#presence-note', 'role')).toBe('alert');
  await expectText(customer, '#phone-hears', /conference with 2 participants/);
  await screenshot(ada, 'routing-2-ada-missed-set-away');
  await customer.click('#phone-hangup');
  // Ada comes back: Available, then Away, then Available again, each press taken.
  await goAvailable(ada);
  await ada.click('#go-away');
  await expectText(ada, '#presence', /Away/);
  await goAvailable(ada);
});

test('when nobody is available, then the caller hears their place in line, and the first agent to become available gets the call', async () => {
  const customer = await e2e.openPhone();
  await callSupport(customer);
  await expectText(customer, '#phone-hears', /next in line|music/);
  const supervisor = await e2e.openAgent(MARGARET);
  await supervisor.goto(`${e2e.running.url}/board`);
  await expectText(supervisor, '#board-line tbody', /\+1555/);
  await screenshot(supervisor, 'routing-3-board-one-waiting');
  // No call in progress: the board says so in a sentence, with no bare table headers.
  expect(await supervisor.isVisible('#board-calls-empty')).toBe(true);
  expect(await supervisor.isVisible('#board-calls')).toBe(false);

  const alan = await e2e.openAgent(ALAN);
  expect(await alan.isDisabled('#answer')).toBe(true);
  await goAvailable(alan);
  await answer(alan);
  await expectText(customer, '#phone-hears', /conference with 2 participants/);
  await expectText(supervisor, '#board-calls tbody', /Alan Turing/);
  await expectText(supervisor, '#board-agents tr[data-agent="alan"]', /On a call/);
  await screenshot(supervisor, 'routing-4-board-alan-on-call');
  await customer.click('#phone-hangup');
});

test('when three callers wait for two agents, then they are answered in the order they called', async () => {
  const callers = [await e2e.openPhone('+15550000001'), await e2e.openPhone('+15550000002'), await e2e.openPhone('+15550000003')];
  for (const caller of callers) await callSupport(caller);
  const ada = await e2e.openAgent(ADA, { available: true });
  const grace = await e2e.openAgent(GRACE, { available: true });

  await expectText(ada, '#agent-status', /Incoming call from \+15550000001/);
  await expectText(grace, '#agent-status', /Incoming call from \+15550000002/);
  await answer(ada);
  await answer(grace);
  await expectText(callers[2]!, '#phone-hears', /next in line|music/);

  // The first caller hangs up; after her wrap-up Ada gets the third.
  await callers[0]!.click('#phone-hangup');
  await expectText(ada, '#agent-status', /Incoming call from \+15550000003/, 15000);
  await answer(ada);
  await expectText(callers[2]!, '#phone-hears', /conference with 2 participants/);
  for (const caller of callers.slice(1)) await caller.click('#phone-hangup');
});

test('when the agent reloads the page mid-call, then the customer waits on hold and the same agent gets them back first, even with a colleague free longer', async () => {
  const ada = await e2e.openAgent(ADA, { available: true });
  const customer = await e2e.openPhone();
  await callSupport(customer);
  await answer(ada);
  const alan = await e2e.openAgent(ALAN, { available: true }); // free, idle since before Ada's call ended

  // Reloading drops the page's audio (the SDK hangs up its calls when the page goes): nobody pressed Hang up.
  await ada.reload();

  await expectText(customer, '#phone-hears', /on hold/, 15000);
  expect(await customer.textContent('#phone-status')).toMatch(/in-progress/);
  // Ada, back on the same tab, is offered her customer again within the grace, and her page says why it rings.
  await expectText(ada, '#agent-status', /Your call with .* dropped\. Answer to get them back/, 15000);
  await expectText(alan, '#agent-status', /Ready/);
  await answer(ada);
  await expectText(customer, '#phone-hears', /connected to an agent \(conference with 2 participants\)/);
  await expectText(ada, '#call-legs', /You: on the call/);
  await screenshot(ada, 'routing-5-reloaded-mid-call');
  const call = await waitFor('the requeued call in progress', async () => (await e2e.db.models.calls.find({ status: 'in-progress' }).lean().exec())[0]);
  expect(call.requeued).toBe(1);
  await ada.click('#hangup');
  await expectText(customer, '#phone-status', /completed/, 15000);
});

test('when an agent opens a second tab, then only one softphone is registered and the other tab says so plainly', async () => {
  const first = await e2e.openAgent(ADA, { available: true });
  const second = await e2e.openAgent(ADA, { context: first.context() });

  await expectText(second, '#other-tab', /open in another tab/);
  expect(await second.isVisible('#other-tab')).toBe(true);
  expect(await first.isVisible('#other-tab')).toBe(false);
  await screenshot(second, 'routing-6-second-tab');
  const customer = await e2e.openPhone();
  await callSupport(customer);
  await expectText(first, '#agent-status', /Incoming call/);
  expect(await second.isDisabled('#answer')).toBe(true);

  // The agent moves the softphone to the second tab: the first one stands down.
  await first.click('#decline');
  await second.click('#use-this-tab');
  await expectText(first, '#other-tab', /open in another tab/);
  await expectText(second, '#softphone', /Softphone connected/);
  await customer.click('#phone-hangup');
});

test('when an agent on a call presses Use this tab instead in a second tab, then they are asked first, and saying no leaves the call where it is', async () => {
  const first = await e2e.openAgent(ADA, { available: true });
  const customer = await e2e.openPhone();
  await callSupport(customer);
  await answer(first);
  const second = await e2e.openAgent(ADA, { context: first.context() });
  await expectText(second, '#other-tab', /open in another tab/);
  await expectText(second, '#agent-status', /In call with/);

  let asked = '';
  second.once('dialog', (dialog) => {
    asked = dialog.message();
    void dialog.dismiss();
  });
  await second.click('#use-this-tab');

  expect(asked).toMatch(/You are on a call with .* in your other tab\. Moving your softphone here ends the audio there/);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(await second.isVisible('#other-tab')).toBe(true);
  expect(await first.isVisible('#other-tab')).toBe(false);
  await expectText(customer, '#phone-hears', /connected to an agent/);
  await customer.click('#phone-hangup');
});

test('when an agent tabs to a colleague\'s Consult button, then the button keeps focus while the directory updates, and Enter starts the consult', async () => {
  const ada = await e2e.openAgent(ADA, { available: true });
  const grace = await e2e.openAgent(GRACE);
  const customer = await e2e.openPhone();
  await callSupport(customer);
  await answer(ada);
  await ada.waitForSelector('#directory button.consult[data-agent="grace"]:not([aria-disabled="true"])');

  // From the note field, Tab moves through the directory's buttons to Grace's Consult.
  await ada.focus('#transfer-note');
  for (let i = 0; i < 20; i += 1) {
    await ada.keyboard.press('Tab');
    if (await ada.evaluate(() => (globalThis as unknown as { document: { activeElement: { matches(s: string): boolean } | null } }).document.activeElement?.matches('#directory button.consult[data-agent="grace"]'))) break;
  }
  const focused = () => ada.evaluate(() => (globalThis as unknown as { document: { activeElement: { matches(s: string): boolean } | null } }).document.activeElement?.matches('#directory button.consult[data-agent="grace"]') ?? false);
  expect(await focused()).toBe(true);
  // The page renders every second (timers) and on every change: three renders later, focus is where it was.
  await new Promise((resolve) => setTimeout(resolve, 3200));
  expect(await focused()).toBe(true);

  await ada.keyboard.press('Enter');
  await expectText(grace, '#agent-status', /Consult from Ada Lovelace/);
  await answer(grace);
  await ada.click('#transfer-cancel');
  await customer.click('#phone-hangup');
});

test('when an agent signs in while a caller waits, then no call rings a softphone that is still connecting and nobody is marked as having missed it', async () => {
  const customer = await e2e.openPhone();
  await callSupport(customer);
  // Ada chose Available in her last shift.
  await e2e.running.presence.choose(ADA.id, 'available');

  const ada = await e2e.openAgent(ADA);
  await new Promise((resolve) => setTimeout(resolve, 2500));

  expect(await ada.isVisible('#presence-note')).toBe(false);
  expect(await ada.textContent('#agent-status')).not.toMatch(/missed|did not answer/i);
  const call = await waitFor('the waiting call', async () => (await e2e.db.models.calls.find({}).lean().exec())[0]);
  expect(call.passedBy).toEqual([]);
  await goAvailable(ada);
  await answer(ada);
  await customer.click('#phone-hangup');
});
