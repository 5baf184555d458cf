// A supervisor on the floor, in a real browser in demo mode: from the board she listens, coaches, barges and leaves a
// call while the agent's page says so; the agent asks for help and the board highlights the call and says it.
import type { Page } from 'playwright-core';
import { screenshot } from './browser';
import { ADA, answer, callSupport, expectText, GRACE, MARGARET, useE2e, waitFor } from './harness';

const e2e = useE2e({ ringSeconds: 8 });

/** The customer calls and Ada (available) answers; answers the call's CallSid. */
async function adaTalking(from = '+15550002222'): Promise<{ customer: Page; ada: Page; callSid: string }> {
  const ada = await e2e.openAgent(ADA, { available: true });
  const customer = await e2e.openPhone(from);
  await callSupport(customer);
  await answer(ada);
  await expectText(customer, '#phone-hears', /connected to an agent \(conference with 2 participants\)/);
  const call = await waitFor('the call in progress', async () => (await e2e.db.models.calls.find({ status: 'in-progress', conferenceSid: { $exists: true } }).lean().exec())[0]);
  return { customer, ada, callSid: call._id };
}

/** Margaret (a supervisor) opens the board; her supervisor softphone registers. */
async function openBoard(): Promise<Page> {
  const board = await e2e.openAgent(MARGARET);
  await board.goto(`${e2e.running.url}/board`);
  await expectText(board, '#supervise-softphone', /Supervisor softphone connected/);
  // Her own row says why she is Offline while her board is open.
  await expectText(board, '#board-agents tr[data-agent="margaret"]', /Offline.*You: on this board, taking no calls/);
  return board;
}

const button = (callSid: string, mode: string): string => `#board-calls tr[data-call="${callSid}"] button.supervise[data-mode="${mode}"]`;

test('when Margaret listens, coaches, barges and leaves from the board, then each step reaches the stand-in (muted, coaching Ada, heard by all, gone), Ada\'s page says so, the customer\'s call goes on, and the history keeps every step', async () => {
  const { customer, ada, callSid } = await adaTalking();
  const board = await openBoard();
  await expectText(board, `#board-calls tr[data-call="${callSid}"]`, /Ada Lovelace/);
  const supervisorLeg = () => e2e.running.twilioLocal!.snapshot().conferences.find((c) => c.friendlyName === callSid)?.participants.find((p) => p.label === 'supervisor:margaret');

  await board.click(button(callSid, 'listen'));

  await expectText(board, '#supervise-status', /Listening: nobody hears you/);
  await expectText(ada, '#supervisor-on-call', /Supervisor Margaret Hamilton is listening to this call/);
  await expectText(customer, '#phone-hears', /connected to an agent \(conference with 3 participants\)/);
  expect(supervisorLeg()).toMatchObject({ muted: true, coaching: false });
  expect(await board.getAttribute(button(callSid, 'listen'), 'aria-pressed')).toBe('true');

  await board.click(button(callSid, 'coach'));

  await expectText(board, '#supervise-status', /Coaching: only the agent hears you/);
  await expectText(ada, '#supervisor-on-call', /is coaching you \(only you hear them\)/);
  const adaLeg = (await e2e.db.models.calls.findById(callSid).lean().exec())!.participants[0]!.legCallSid;
  await waitFor('the stand-in to coach Ada', async () => supervisorLeg()?.coaching === true && supervisorLeg()?.callSidToCoach === adaLeg);
  await screenshot(board, 'supervisor-board-coaching');

  // Keyboard: Barge is reached with Tab from Coach and pressed with Enter; focus stays on the row's buttons across refreshes.
  await board.focus(button(callSid, 'coach'));
  await board.keyboard.press('Tab');
  await board.keyboard.press('Enter');

  await expectText(board, '#supervise-status', /In the call: everyone hears you/);
  await expectText(ada, '#supervisor-on-call', /is in the call \(everyone hears them\)/);
  await waitFor('the stand-in to un-mute and stop coaching', async () => supervisorLeg()?.coaching === false && supervisorLeg()?.muted === false);
  await new Promise((resolve) => setTimeout(resolve, 1200));
  expect(await board.evaluate(() => (globalThis as unknown as { document: { activeElement: { dataset: Record<string, string> } | null } }).document.activeElement?.dataset.mode)).toBe('barge');

  // The row's controls name the call they are for; Leave by keyboard leaves focus in the row (Leave itself is disabled then).
  expect(await board.getAttribute(`#board-calls tr[data-call="${callSid}"] .supervise-controls`, 'aria-label')).toMatch(/^Supervise the call from \+1\d+ with Ada Lovelace/);
  await board.focus(button(callSid, 'leave'));
  await board.keyboard.press('Enter');

  await expectText(board, '#supervise-status', /You are not on a call/);
  await board.waitForSelector(`${button(callSid, 'leave')}[disabled]`);
  await waitFor('focus back in the row', async () => (await board.evaluate(() => (globalThis as unknown as { document: { activeElement: { dataset: Record<string, string> } | null } }).document.activeElement?.dataset.mode)) === 'listen');
  await waitFor('Ada\'s page to drop the supervisor line', async () => ada.isHidden('#supervisor-on-call'));
  await expectText(customer, '#phone-hears', /connected to an agent \(conference with 2 participants\)/);
  await expectText(ada, '#agent-status', /In call with/);
  await customer.click('#phone-hangup');
  const history = await board.context().newPage();
  await waitFor('the call in the history', async () => (await e2e.running.history.find(callSid, new Date())) !== null);
  await history.goto(`${e2e.running.url}/history/${new Date().toISOString().slice(0, 10)}/${callSid}`);
  await expectText(history, '#call-timeline', /Supervisor joined:[\s\S]*listening[\s\S]*coaching ada[\s\S]*in the call \(barge\)[\s\S]*Supervisor left:[\s\S]*pressed Leave/);
});

test('when Ada asks for help, then the board highlights the call and says who asks and why; Margaret listening clears it on both pages', async () => {
  const { ada, callSid } = await adaTalking('+15550003333');
  const board = await openBoard();

  await ada.fill('#help-note', 'Refund over my limit');
  await ada.press('#help-note', 'Enter');

  await expectText(ada, '#help-raised', /You asked for help: “Refund over my limit”/);
  await waitFor('the row highlighted', async () => (await board.getAttribute(`#board-calls tr[data-call="${callSid}"]`, 'data-help')) === 'true');
  await expectText(board, '#board-announcer', /Ada Lovelace asks for help: Refund over my limit/);
  await expectText(board, `#board-calls tr[data-call="${callSid}"]`, /✋ Ada Lovelace asks for help: “Refund over my limit”/);
  expect(await board.title()).toMatch(/^\(1 ✋\)/);
  await screenshot(board, 'supervisor-board-help');

  await board.click(button(callSid, 'listen'));

  await waitFor('the hand lowered on the board', async () => (await board.getAttribute(`#board-calls tr[data-call="${callSid}"]`, 'data-help')) === 'false');
  await waitFor('the hand lowered on Ada\'s page', async () => ada.isHidden('#help-raised'));
  await expectText(ada, '#supervisor-on-call', /is listening/);
  await expect(ada.isVisible('#help-form')).resolves.toBe(true);

  // Her own line hung up from the board (as a closed tab would): only her leg ends.
  await board.click('#supervise-hangup');

  await waitFor('Ada\'s page to drop the supervisor line', async () => ada.isHidden('#supervisor-on-call'));
  await expectText(board, '#supervise-status', /You are not on a call/);
  await expectText(ada, '#agent-status', /In call with/);
  const stored = (await e2e.db.models.calls.findById(callSid).lean().exec())!;
  expect(stored.status).toBe('in-progress');
  expect(stored.events!.filter((e) => e.kind === 'supervisor-left')).toHaveLength(1);
});

test('when Margaret\'s softphone never answers the leg rung for her, then the board tells her she did not join, and the customer\'s call goes on', async () => {
  const { customer, ada, callSid } = await adaTalking('+15550004444');
  const board = await e2e.openAgent(MARGARET);
  // Her supervisor softphone cannot get a token: nothing answers the leg the server rings for her.
  await board.route('**/api/supervisor/token', (route) => route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: 'unavailable' }) }));
  await board.goto(`${e2e.running.url}/board`);
  await expectText(board, '#supervise-softphone', /not connected/);

  await board.click(button(callSid, 'listen'));

  await expectText(board, '#supervise-error', /Your softphone did not answer, so you did not join the call/, 20000);
  await expectText(board, '#supervise-status', /You are not on a call/);
  await expectText(customer, '#phone-hears', /connected to an agent \(conference with 2 participants\)/);
  await expectText(ada, '#agent-status', /In call with/);
  expect(await ada.isHidden('#supervisor-on-call')).toBe(true);
  const stored = (await e2e.db.models.calls.findById(callSid).lean().exec())!;
  expect(stored.supervisors).toEqual([expect.objectContaining({ supervisorId: 'margaret', status: 'failed' })]);
  expect(stored.events!.find((e) => e.kind === 'supervisor-left')?.reason).toMatch(/softphone did not answer \(no-answer\)/);
});

test('when Ada has brought Grace in, then Margaret picks Grace under "Agent to coach" with the keyboard and coaches her, not Ada', async () => {
  const { customer, ada, callSid } = await adaTalking('+15550005555');
  const grace = await e2e.openAgent(GRACE);
  await ada.fill('#directory-search', 'grace');
  await ada.waitForSelector('#directory button.bring-in[data-agent="grace"]:not([aria-disabled="true"])');
  await ada.click('#directory button.bring-in[data-agent="grace"]');
  await answer(grace);
  await expectText(customer, '#phone-hears', /conference with 3 participants/);
  const board = await openBoard();
  const whom = `#board-calls tr[data-call="${callSid}"] select.coach-whom`;
  await board.waitForSelector(`${whom}:not([hidden])`);

  await board.focus(whom);
  await board.selectOption(whom, 'grace');
  await board.keyboard.press('Tab');
  await board.keyboard.press('Enter');

  await expectText(board, '#supervise-status', /Coaching: only the agent hears you/);
  await expectText(grace, '#supervisor-on-call', /is coaching you \(only you hear them\)/);
  await expectText(board, `#board-calls tr[data-call="${callSid}"]`, /coaching Grace Hopper/);
  const stored = (await e2e.db.models.calls.findById(callSid).lean().exec())!;
  const graceLeg = stored.participants.find((l) => l.agentId === 'grace')!.legCallSid;
  await waitFor('the stand-in to coach Grace', async () => e2e.running.twilioLocal!.snapshot().conferences.find((c) => c.friendlyName === callSid)?.participants.find((p) => p.label === 'supervisor:margaret')?.callSidToCoach === graceLeg);
  await expectText(ada, '#supervisor-on-call', /Supervisor Margaret Hamilton is coaching Grace Hopper \(you do not hear them\)/);
});

test('when Ada\'s page reloads while Margaret listens, then Margaret leaves the call with it back in line, her board says why, and Ada\'s next call starts unsupervised', async () => {
  const { customer, ada, callSid } = await adaTalking('+15550002223');
  const board = await openBoard();
  await board.click(button(callSid, 'listen'));
  await expectText(board, '#supervise-status', /Listening: nobody hears you/);

  // Reloading drops Ada's audio (nobody pressed Hang up): the customer goes back to the line on hold.
  await ada.reload();

  await expectText(customer, '#phone-hears', /on hold/, 15000);
  await expectText(board, '#board-announcer', /The agent left the call from \+15550002223 and the caller went back to the line: you left the call\./);
  await expectText(board, '#supervise-status', /You are not on a call/);
  await waitFor('Margaret\'s leg gone from the conference', async () => !e2e.running.twilioLocal!.snapshot().conferences.find((c) => c.friendlyName === callSid)?.participants.some((p) => p.label === 'supervisor:margaret'));
  // Ada takes her customer back: nobody supervises that call.
  await expectText(ada, '#agent-status', /Answer to get them back/, 15000);
  await answer(ada);
  await expectText(customer, '#phone-hears', /connected to an agent \(conference with 2 participants\)/);
  expect(await ada.isHidden('#supervisor-on-call')).toBe(true);
  await customer.click('#phone-hangup');
});

test('when a callback waits its turn beside a caller on the line, then the board\'s waiting line says it is a callback, to which number and which attempt', async () => {
  // Nobody is available: a caller waits on the line, and a callback waits its turn (its caller hung up after asking to
  // be called back at another number: the app has nobody on a line to ask Twilio about).
  const customer = await e2e.openPhone('+15550003001');
  await callSupport(customer);
  const caller = (await waitFor('the caller in line', async () => (await e2e.db.models.calls.find({ from: '+15550003001', status: 'waiting' }).lean().exec())[0]))._id;
  const now = Date.now();
  const callback = `CA${'32'.repeat(16)}`;
  await e2e.db.models.calls.create({ _id: callback, conferenceName: callback, from: '+15550003002', status: 'waiting', direction: 'inbound', placeSince: new Date(now - 30_000), callback: { number: '+15557770002', attempt: 2, requestedAt: new Date(now - 25_000) }, createdAt: new Date(now - 10_000) });

  const board = await openBoard();

  await expectText(board, `#board-line tr[data-call="${callback}"]`, /Callback to \+15557770002 \(attempt 2\)/);
  expect(await board.getAttribute(`#board-line tr[data-call="${callback}"]`, 'data-kind')).toBe('callback');
  await expectText(board, `#board-line tr[data-call="${caller}"]`, /\+15550003001/);
  expect(await board.textContent(`#board-line tr[data-call="${caller}"]`)).not.toMatch(/Callback/);
  expect(await board.getAttribute(`#board-line tr[data-call="${caller}"]`, 'data-kind')).toBe('caller');
  const api = await board.evaluate(async () => (await fetch('/api/board', { headers: { Accept: 'application/json' } })).json() as Promise<{ line: Array<{ callSid: string; callback?: unknown }> }>);
  expect(api.line.find((c) => c.callSid === callback)?.callback).toEqual({ number: '+15557770002', attempt: 2 });
  expect(api.line.find((c) => c.callSid === caller)).not.toHaveProperty('callback');
  await screenshot(board, 'supervisors-callback-waiting');
});
