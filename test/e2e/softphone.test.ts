// The softphone agents would choose, in a real browser in demo mode: hold and resume (the customer hears music, the
// history times it), mute, keypad digits reaching the stand-in, ringing that gets noticed (ring tone, blinking title,
// a desktop notification in a background tab), keyboard shortcuts, a required wrap-up code holding the next offer
// back, the caller's earlier call on the next ring, and an outbound call that connects and is transferred.
import type { BrowserContext, Page } from 'playwright-core';
import { screenshot } from './browser';
import { ADA, answer, callSupport, expectText, goAvailable, GRACE, MARGARET, useE2e, waitFor } from './harness';

const e2e = useE2e({ ringSeconds: 8 });

/** What a function evaluated in the page sees (this file is compiled without the DOM library). */
type PageGlobals = {
  document: { title: string; querySelector(selector: string): { paused: boolean; dataset: Record<string, string> } | null; dispatchEvent(event: unknown): boolean };
  Event: new (name: string) => unknown;
  __notifications: Array<{ title: string; body?: string; closed: boolean }>;
};

/** The customer calls and Ada (available) answers; answers the call's CallSid. */
async function adaTalking(from = '+15550001111'): Promise<{ customer: Page; ada: Page; callSid: string }> {
  const ada = await e2e.openAgent(ADA, { available: true });
  const customer = await e2e.openPhone(from);
  await callSupport(customer);
  await answer(ada);
  await expectText(customer, '#phone-hears', /connected to an agent \(conference with 2 participants\)/);
  const call = await waitFor('the call in progress', async () => (await e2e.db.models.calls.find({ status: 'in-progress', conferenceSid: { $exists: true } }).lean().exec())[0]);
  return { customer, ada, callSid: call._id };
}

/** A supervisor opens the call's page in the history. */
async function historyPage(callSid: string): Promise<Page> {
  const page = await (await e2e.newContext()).newPage();
  await page.goto(`${e2e.running.url}/sign-in`);
  await page.click(`.demo-sign-in button[data-agent="${MARGARET.id}"]`);
  await page.waitForURL((url) => !url.pathname.endsWith('/sign-in'));
  await waitFor('the call in the history', async () => {
    await page.goto(`${e2e.running.url}/history`);
    return (await page.$(`#history-table tr[data-call="${callSid}"] a`)) !== null;
  });
  await page.goto(`${e2e.running.url}/history/${new Date().toISOString().slice(0, 10)}/${callSid}`);
  return page;
}

/** The stand-in's view of Ada's own leg of `callSid`. */
function adaLeg(callSid: string) {
  const conference = e2e.running.twilioLocal!.snapshot().conferences.find((c) => c.friendlyName === callSid);
  const label = conference?.participants.find((p) => p.label === `agent:${ADA.id}`);
  return e2e.running.twilioLocal!.snapshot().calls.find((c) => c.sid === label?.callSid);
}

test('when Ada presses Hold, then the customer hears music and the page offers Resume; Resume brings them back; the history shows the hold and its time; the call card stays on screen while the directory scrolls', async () => {
  const { customer, ada, callSid } = await adaTalking();
  await ada.setViewportSize({ width: 1000, height: 520 });

  await ada.click('#hold');

  await expectText(customer, '#phone-hears', /on hold/);
  await expectText(ada, '#hold', /Resume/);
  await expectText(ada, '#agent-status', /\+15550001111 is on hold with music/);
  await expectText(ada, '#announcer', /The customer is on hold/);
  const board = await e2e.openAgent(MARGARET);
  await board.goto(`${e2e.running.url}/board`);
  await expectText(board, '#board-calls tbody', /\+15550001111 \(on hold\)/);
  // The directory scrolls with the page; the call and its controls stay in view.
  // The call pane scrolls on its own too (the browser brings a focused control in it into view): start it at its top,
  // then scroll the page to its bottom.
  await ada.evaluate(() => {
    const g = globalThis as unknown as { document: { querySelector(s: string): { scrollTop: number } | null }; scrollTo(x: number, y: number): void };
    const pane = g.document.querySelector('.call-pane');
    if (pane) pane.scrollTop = 0;
    g.scrollTo(0, 100000);
  });
  // Asked again while the page settles (a live update may be re-rendering the pane as it scrolls).
  let box: Awaited<ReturnType<ReturnType<typeof ada.locator>['boundingBox']>> = null;
  const inView = async () => {
    box = await ada.locator('#hangup').boundingBox();
    return box !== null && box.y >= 0 && box.y + box.height <= 520;
  };
  for (const end = Date.now() + 3000; !(await inView()) && Date.now() < end; ) await new Promise((resolve) => setTimeout(resolve, 100));
  const shown = await inView();
  expect({ hangUpInView: shown, box: shown ? 'in view' : box }).toEqual({ hangUpInView: true, box: 'in view' });
  await screenshot(ada, 'softphone-hold');
  await new Promise((resolve) => setTimeout(resolve, 1200));

  await ada.click('#hold');

  await expectText(customer, '#phone-hears', /connected to an agent \(conference with 2 participants\)/);
  await expectText(ada, '#hold', /^Hold$/);
  await customer.click('#phone-hangup');
  const history = await historyPage(callSid);
  await expectText(history, '#call-timeline', /Customer put on hold/);
  await expectText(history, '#call-timeline', /Customer taken off hold/);
  await expectText(history, '#call-held', /\d+ s/);
});

test('when Ada presses Mute, then the stand-in\'s double mutes her leg (the customer\'s conference counts one muted) and the board shows it, and the sound panel of her tab without a microphone says so too; keypad digits she presses reach the stand-in', async () => {
  await e2e.openAgent(GRACE); // a colleague in the directory, for the README's picture of the page
  const { ada, callSid } = await adaTalking();
  // The harness's browser has no microphone: the sound panel's Mute is disabled, and reads what the call's Mute does.
  await expectText(ada, '#demo-audio-note', /No sound: no microphone was found/);
  expect(await ada.textContent('#demo-mute')).toBe('Mute');

  await ada.click('#mute');

  await expectText(ada, '#mute', /Unmute/);
  expect(await ada.getAttribute('#mute', 'aria-pressed')).toBe('true');
  await expectText(ada, '#demo-mute', /^Unmute$/);
  expect(await ada.getAttribute('#demo-mute', 'aria-pressed')).toBe('true');
  expect(await ada.isDisabled('#demo-mute')).toBe(true);
  await waitFor('Ada\'s leg muted in the stand-in', async () => adaLeg(callSid)?.deviceMuted === true);
  await waitFor('the customer to hear one muted participant', async () => e2e.running.twilioLocal!.snapshot().calls.find((c) => c.sid === callSid)?.hears.conference?.muted === 1);
  await expectText(ada, '#call-legs', /You: on the call, muted/);
  const board = await e2e.openAgent(MARGARET);
  await board.goto(`${e2e.running.url}/board`);
  await expectText(board, '#board-calls tbody', /Ada Lovelace \(muted\)/);

  for (const digit of ['1', '2', '#']) await ada.click(`#keypad button.key[data-digit="${digit}"]`);

  await waitFor('the digits in the stand-in', async () => adaLeg(callSid)?.digits === '12#');
  await expectText(ada, '#keypad-sent', /12#/);
  // In the keypad, typed digits press their keys and the arrows move as on a phone (5 is right of 4, 8 below it).
  await ada.focus('#keypad button.key[data-digit="4"]');
  await ada.keyboard.press('ArrowRight');
  await ada.keyboard.press('ArrowDown');
  expect(await ada.evaluate(() => (globalThis as unknown as { document: { activeElement: { dataset: Record<string, string> } | null } }).document.activeElement?.dataset.digit)).toBe('8');
  await ada.keyboard.type('7*');
  await waitFor('the typed digits in the stand-in', async () => adaLeg(callSid)?.digits === '12#7*');
  await expectText(ada, '#keypad-sent', /12#7\*/);
  await screenshot(ada, 'softphone-mute-keypad');
  // The README's picture of the agent page (docs/agent-page.png is a copy of it), tall enough to show the whole call pane.
  await ada.setViewportSize({ width: 1100, height: 1250 });
  await expectText(ada, '#directory li[data-agent="grace"] .presence-badge', /Away/);
  await screenshot(ada, 'softphone-agent-page');
  await ada.keyboard.press('Alt+Shift+KeyM');
  await waitFor('Ada unmuted', async () => !adaLeg(callSid)?.deviceMuted);
  await expectText(ada, '#mute', /^Mute$/);
  await expectText(ada, '#demo-mute', /^Mute$/);
  expect(await ada.getAttribute('#demo-mute', 'aria-pressed')).toBe('false');
});

/** Records the page's desktop notifications (a stand-in for the browser's Notification API, permission granted). */
async function recordNotifications(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const w = globalThis as unknown as PageGlobals & { Notification: unknown };
    w.__notifications = [];
    function Recorded(this: { close(): void; onclick: unknown }, title: string, options?: { body?: string }) {
      const entry = { title, body: options?.body, closed: false };
      w.__notifications.push(entry);
      this.close = () => {
        entry.closed = true;
      };
    }
    (Recorded as unknown as { permission: string }).permission = 'granted';
    (Recorded as unknown as { requestPermission(): Promise<string> }).requestPermission = () => Promise.resolve('granted');
    w.Notification = Recorded;
  });
}

/** The tab goes to the background (the page's visibilityState is hidden, and it hears visibilitychange). */
async function sendToBackground(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = globalThis as unknown as PageGlobals;
    Object.defineProperty(w.document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    Object.defineProperty(w.document, 'hidden', { configurable: true, get: () => true });
    w.document.dispatchEvent(new w.Event('visibilitychange'));
  });
}

test('when a call rings while Ada\'s tab is in the background, then she gets a desktop notification, the ring tone plays and the title blinks; all stop when she answers', async () => {
  const context = await e2e.newContext();
  await recordNotifications(context);
  const ada = await e2e.openAgent(ADA, { available: true, context });
  await sendToBackground(ada);
  const customer = await e2e.openPhone('+15550002222');

  await callSupport(customer);

  await waitFor('the notification', async () => (await ada.evaluate(() => (globalThis as unknown as PageGlobals).__notifications)).length > 0);
  // The newest notification names the caller (one shown before the page knew the number is replaced).
  await waitFor('the caller\'s number in the notification', async () => (await ada.evaluate(() => (globalThis as unknown as PageGlobals).__notifications)).some((n) => !n.closed && n.body === 'From +15550002222. Answer in the softphone tab.'));
  const shown = await ada.evaluate(() => (globalThis as unknown as PageGlobals).__notifications);
  expect(shown.filter((n) => !n.closed)).toHaveLength(1);
  expect(shown[shown.length - 1]).toMatchObject({ title: 'Incoming call', closed: false });
  expect(await ada.$eval('#ring-tone', (audio) => (audio as unknown as { dataset: Record<string, string> }).dataset.playing)).toBe('true');
  expect(await ada.$eval('#ring-tone', (audio) => (audio as unknown as { paused: boolean }).paused)).toBe(false);
  await waitFor('the title to blink', async () => /☎ Incoming call/.test(await ada.title()));
  await expectText(ada, '#announcer', /Incoming call from/);

  await answer(ada);

  expect(await ada.$eval('#ring-tone', (audio) => (audio as unknown as { paused: boolean }).paused)).toBe(true);
  await waitFor('the title back', async () => !/Incoming call/.test(await ada.title()));
  expect((await ada.evaluate(() => (globalThis as unknown as PageGlobals).__notifications)).every((n) => n.closed)).toBe(true);
});

test('when notifications were never asked about, then the page offers them once: "Turn on" asks the browser, and the offer is not shown again, across reloads too', async () => {
  const context = await e2e.newContext();
  // Headless Chromium answers every permission question itself: the browser's side is played by a stand-in that has
  // not been asked yet and grants when asked (counting the questions).
  await context.addInitScript(() => {
    const w = globalThis as unknown as { Notification: unknown; __asked: number; localStorage: { getItem(k: string): string | null } };
    w.__asked = 0;
    function Pending() {}
    (Pending as unknown as { permission: string }).permission = 'default';
    (Pending as unknown as { requestPermission(): Promise<string> }).requestPermission = () => {
      w.__asked += 1;
      (Pending as unknown as { permission: string }).permission = 'granted';
      return Promise.resolve('granted');
    };
    w.Notification = Pending;
  });
  const ada = await e2e.openAgent(ADA, { context });
  await ada.waitForSelector('#notify-offer:not([hidden])');

  await ada.click('#notify-enable');

  expect(await ada.isHidden('#notify-offer')).toBe(true);
  await expectText(ada, '#announcer', /Desktop notifications are on/);
  expect(await ada.evaluate(() => (globalThis as unknown as { __asked: number }).__asked)).toBe(1);
  await ada.reload();
  await expectText(ada, '#softphone', /Softphone connected/);
  expect(await ada.isHidden('#notify-offer')).toBe(true);
});

test('when Ada uses the keyboard shortcuts, then Alt+Shift+A answers, O holds and resumes, M mutes, / shows the list and H hangs up', async () => {
  const ada = await e2e.openAgent(ADA, { available: true });
  const customer = await e2e.openPhone('+15550003333');
  await callSupport(customer);
  await expectText(ada, '#agent-status', /Incoming call/);
  await ada.waitForSelector('#answer:not([disabled])');

  await ada.keyboard.press('Alt+Shift+KeyA');
  // Hold pressed as the call connects waits for the call, then holds.
  await ada.keyboard.press('Alt+Shift+KeyO');
  await expectText(ada, '#agent-status', /In call with|on hold/);
  await expectText(customer, '#phone-hears', /on hold/);
  await expectText(ada, '#hold', /Resume/);
  await ada.keyboard.press('Alt+Shift+KeyO');
  await expectText(customer, '#phone-hears', /connected to an agent/);
  await ada.waitForSelector('#mute:not([disabled])');
  await ada.keyboard.press('Alt+Shift+KeyM');
  await expectText(ada, '#mute', /Unmute/);
  await ada.keyboard.press('Alt+Shift+Slash');
  await ada.waitForSelector('#shortcuts[open]');
  await screenshot(ada, 'softphone-shortcuts');
  await ada.keyboard.press('Escape');
  await ada.waitForSelector('#shortcuts', { state: 'hidden' });
  // Every text the status line takes as the call ends, however briefly.
  await ada.evaluate(() => {
    const g = globalThis as unknown as { seen: string[]; MutationObserver: new (f: () => void) => { observe(n: unknown, o: object): void }; document: { getElementById(id: string): { textContent: string } } };
    const line = g.document.getElementById('agent-status');
    g.seen = [];
    new g.MutationObserver(() => g.seen.push(line.textContent)).observe(line, { childList: true, characterData: true, subtree: true });
  });
  await ada.keyboard.press('Alt+Shift+KeyH');

  await expectText(customer, '#phone-status', /completed/);
  await expectText(ada, '#agent-status', /Call ended|Wrapping up|Ready/);
  const seen = await ada.evaluate(() => (globalThis as unknown as { seen: string[] }).seen);
  expect(seen.filter((t) => /ended\..*(On a call|Ringing)/.test(t))).toEqual([]);
});

/** The id of the element that has focus in `page`. */
const focusedId = (page: Page): Promise<string | undefined> => page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id);

test('when Ada opens the keyboard shortcuts, then Tab and Shift+Tab stay inside the list until Escape closes it, and focus goes back to what opened it; a call ringing closes the list, so its announcement is spoken', async () => {
  const ada = await e2e.openAgent(ADA);
  const focused = (): Promise<string> => ada.evaluate(() => {
    const el = (globalThis as unknown as { document: { activeElement: { id: string; tagName: string; closest(s: string): unknown } | null } }).document.activeElement;
    return el ? `${el.tagName.toLowerCase()}#${el.id}${el.closest('dialog#shortcuts') ? ' (in the list)' : ''}` : 'nothing';
  });

  await ada.focus('#shortcuts-open');
  await ada.keyboard.press('Enter');
  await ada.waitForSelector('#shortcuts[open]');
  expect(await focused()).toBe('button#shortcuts-close (in the list)');
  for (const key of ['Tab', 'Tab', 'Tab', 'Shift+Tab', 'Shift+Tab']) {
    await ada.keyboard.press(key);
    expect(`${key}: ${await focused()}`).toBe(`${key}: button#shortcuts-close (in the list)`);
  }
  await ada.keyboard.press('Escape');
  await ada.waitForSelector('#shortcuts', { state: 'hidden' });
  expect(await focused()).toBe('button#shortcuts-open');

  // Opened by its shortcut while typing in a field: Escape gives the field its focus back.
  await ada.focus('#directory-search');
  await ada.keyboard.press('Alt+Shift+Slash');
  await ada.waitForSelector('#shortcuts[open]');
  await ada.keyboard.press('Shift+Tab');
  expect(await focused()).toBe('button#shortcuts-close (in the list)');
  await ada.keyboard.press('Escape');
  await ada.waitForSelector('#shortcuts', { state: 'hidden' });
  expect(await focused()).toBe('input#directory-search');

  // A call rings while the list is open: the modal list would make the announcement inert (never spoken), so it closes
  // and the ring is announced; focus is back where it was.
  await goAvailable(ada);
  await ada.focus('#shortcuts-open');
  await ada.keyboard.press('Enter');
  await ada.waitForSelector('#shortcuts[open]');
  const customer = await e2e.openPhone('+15550101999');
  await callSupport(customer);
  await ada.waitForSelector('#shortcuts', { state: 'hidden' });
  await expectText(ada, '#announcer', /Incoming call from \+15550101999/);
  expect(await focused()).toBe('button#shortcuts-open');
});

/**
 * From now on the page's reads of its state answer `ms` late (a busy server), and every text its status line, live
 * region and desktop notifications take is kept, however briefly; `texts()` answers them.
 */
async function watchRingTexts(page: Page, ms: number): Promise<() => Promise<string[]>> {
  await page.route('**/api/me', async (route) => {
    await new Promise((r) => setTimeout(r, ms));
    await route.continue();
  });
  await page.evaluate(() => {
    type Node = { textContent: string };
    const g = globalThis as unknown as { ringTexts: string[]; MutationObserver: new (f: () => void) => { observe(n: unknown, o: object): void }; document: { getElementById(id: string): Node } };
    g.ringTexts = [];
    for (const id of ['agent-status', 'announcer']) {
      const el = g.document.getElementById(id);
      new g.MutationObserver(() => g.ringTexts.push(`${id}: ${el.textContent}`)).observe(el, { childList: true, characterData: true, subtree: true });
    }
  });
  return () => page.evaluate(() => (globalThis as unknown as { ringTexts: string[] }).ringTexts);
}

test('when the softphone rings before the page has read whose call it is, then it never says "a customer": only the caller\'s number, or the colleague\'s consult', async () => {
  const ada = await e2e.openAgent(ADA, { available: true });
  const grace = await e2e.openAgent(GRACE);
  const adaTexts = await watchRingTexts(ada, 400);
  const graceTexts = await watchRingTexts(grace, 400);
  const customer = await e2e.openPhone('+15550004444');
  await callSupport(customer);

  await expectText(ada, '#agent-status', /Incoming call from \+15550004444/);
  await answer(ada);
  await ada.click('#directory button.consult[data-agent="grace"]');
  await expectText(grace, '#agent-status', /Consult from Ada Lovelace about \+15550004444/);
  await grace.click('#decline');
  await expectText(ada, '#transfer-state', /Grace Hopper declined/);

  const rang = (texts: string[]): string[] => texts.filter((t) => /call|Consult/i.test(t));
  expect((await adaTexts()).filter((t) => /a customer/.test(t))).toEqual([]);
  expect(rang(await adaTexts())).toEqual(expect.arrayContaining([expect.stringMatching(/^announcer: Incoming call from \+15550004444/)]));
  expect((await graceTexts()).filter((t) => /a customer|Incoming call from/.test(t))).toEqual([]);
  expect(rang(await graceTexts())).toEqual(expect.arrayContaining([expect.stringMatching(/^announcer: Consult from Ada Lovelace/)]));
});

test('when Ada presses Hold with the keyboard, then focus stays on the button, Space again resumes, and after Hang up focus lands on the status line, not the page', async () => {
  const ada = await e2e.openAgent(ADA, { available: true });
  const customer = await e2e.openPhone('+15550003334');
  await callSupport(customer);
  await ada.waitForSelector('#answer:not([disabled])');
  await ada.keyboard.press('Alt+Shift+KeyA');
  await ada.waitForSelector('#hold:not([disabled])');

  await ada.focus('#hold');
  await ada.keyboard.press('Space');
  await expectText(ada, '#hold', /Resume/);
  expect(await focusedId(ada)).toBe('hold');
  await ada.keyboard.press('Space');
  await expectText(customer, '#phone-hears', /connected to an agent/);
  await expectText(ada, '#hold', /Hold/);
  expect(await focusedId(ada)).toBe('hold');

  await ada.focus('#hangup');
  await ada.keyboard.press('Enter');
  await expectText(customer, '#phone-status', /completed/);
  await ada.waitForSelector('#hangup[disabled]');
  expect(await focusedId(ada)).toBe('agent-status');
});

test('when the same number calls a second time, then Ada\'s ringing page shows the first call: how many calls, who took it and how it ended', async () => {
  const first = await adaTalking('+15550004444');
  await first.customer.click('#phone-hangup');
  await waitFor('the caller record', async () => (await e2e.db.connection.getClient().db(`${e2e.db.connection.name}_history`).collection('callers').findOne({ _id: '+15550004444' as never })) ?? undefined);
  await expectText(first.ada, '#agent-status', /Ready/);

  const again = await e2e.openPhone('+15550004444');
  await callSupport(again);

  await expectText(first.ada, '#agent-status', /Incoming call from \+15550004444/);
  await expectText(first.ada, '#caller-summary', /1 call in the last 30 days\. Last: .* with Ada Lovelace, answered/);
  await screenshot(first.ada, 'softphone-who-is-calling');
});

test('when an admin requires a wrap-up code, then Ada gets no new call until she picks one; her code and note show in the history and its CSV', async () => {
  const admin = await (await e2e.newContext()).newPage();
  await admin.goto(`${e2e.running.url}/sign-in`);
  await admin.click('.demo-sign-in button[data-agent="demo-admin"]');
  await admin.waitForURL((url) => !url.pathname.endsWith('/sign-in'));
  await admin.goto(`${e2e.running.url}/admin`);
  for (const name of ['Refund issued', 'Needs a callback']) {
    await admin.fill('#new-wrap-up-code', name);
    await admin.click('#add-wrap-up-code button[type="submit"]');
    await admin.waitForSelector(`#wrap-up-codes tr[data-code="${name.toLowerCase().replaceAll(' ', '-')}"]`);
  }
  await admin.check('#wrap-up-required');
  await admin.click('#wrap-up-settings button[type="submit"]');
  await admin.waitForSelector('#wrap-up-required:checked');
  await screenshot(admin, 'softphone-admin-wrap-up-codes');
  try {
    const { customer, ada, callSid } = await adaTalking('+15550005555');
    await customer.click('#phone-hangup');
    await ada.waitForSelector('#wrap-up:not([hidden])');
    await expectText(ada, '#agent-status', /choose the call's outcome before your next call/);
    await expectText(ada, '#presence', /Wrapping up/);
    const next = await e2e.openPhone('+15550006666');
    await callSupport(next);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(await ada.textContent('#agent-status')).not.toMatch(/Incoming call/);
    await screenshot(ada, 'softphone-wrap-up');
    // Away then Available while the code is due: the page says what she goes back to, and the button shows it.
    await ada.click('#go-away');
    await expectText(ada, '#agent-status', /choose the call's outcome before your next call\. Then you will be Away\./);
    expect(await ada.getAttribute('#go-away', 'aria-pressed')).toBe('true');
    await ada.click('#go-available');
    await expectText(ada, '#agent-status', /Then you will be Available\./);
    expect(await ada.getAttribute('#go-available', 'aria-pressed')).toBe('true');

    await ada.selectOption('#wrap-up-code', 'refund-issued');
    await ada.fill('#wrap-up-note', 'Refunded order 42');
    await ada.click('#wrap-up-save');

    await expectText(ada, '#agent-status', /Incoming call from \+15550006666/);
    await answer(ada);
    await next.click('#phone-hangup');
    const history = await historyPage(callSid);
    await expectText(history, '#call-wrap-up', /Ada Lovelace: Refund issued — Refunded order 42/);
    const csv = await history.evaluate(async () => (await (globalThis as unknown as { fetch(url: string): Promise<{ text(): Promise<string> }> }).fetch('/history.csv')).text());
    expect(csv.split('\r\n').find((line) => line.startsWith(callSid))).toMatch(/,Refund issued,Refunded order 42,,,0$/);
  } finally {
    await admin.goto(`${e2e.running.url}/admin`);
    await admin.uncheck('#wrap-up-required');
    await admin.click('#wrap-up-settings button[type="submit"]');
  }
});

test('when Ada calls a number from her page, then the stand-in connects it in a conference she joined first, and she can transfer it to Grace', async () => {
  const ada = await e2e.openAgent(ADA, { available: true });
  const grace = await e2e.openAgent(GRACE);
  await goAvailable(grace);

  await ada.fill('#call-out-number', '+15550009999');
  await ada.click('#call-out-submit');

  await expectText(ada, '#agent-status', /In call with \+15550009999/, 15000);
  const call = await waitFor('the outbound call', async () => (await e2e.db.models.calls.find({ direction: 'outbound', status: 'in-progress', answeredAt: { $exists: true } }).lean().exec())[0]);
  const local = e2e.running.twilioLocal!.snapshot();
  const customerLeg = local.calls.find((c) => c.sid === call._id)!;
  expect(customerLeg).toMatchObject({ to: '+15550009999', status: 'in-progress' });
  expect(local.conferences.find((c) => c.friendlyName === call._id)!.participants.map((p) => p.label).sort()).toEqual(['agent:ada', 'customer']);
  await expectText(ada, '#call-summary', /Call to \+15550009999/);
  await screenshot(ada, 'softphone-outbound');

  await ada.click('#directory button.cold[data-agent="grace"]');
  await answer(grace);

  await waitFor('Grace with the customer', async () => {
    const conf = e2e.running.twilioLocal!.snapshot().conferences.find((c) => c.friendlyName === call._id);
    return conf && conf.participants.filter((p) => p.status === 'connected').map((p) => p.label).sort().join() === 'agent:grace,customer';
  });
  await grace.click('#hangup');
  const history = await historyPage(call._id);
  await expectText(history, '#call-direction', /Outbound/);
  await expectText(history, '#call-transfers', /Ada Lovelace\s*Grace Hopper\s*cold transfer/);
});

test('when Ada reopens her page moments after her browser died and presses Available there, then this tab takes the softphone and the next call rings here (it rang the dead tab, and she was set away for a call she never heard)', async () => {
  const first = await e2e.openAgent(ADA);
  await expectText(first, '#softphone', /Softphone connected/);
  // A customer is waiting, so an offer follows Available at once.
  const customer = await e2e.openPhone();
  await callSupport(customer);
  // The browser dies: its page cannot say goodbye (the closing page's last heartbeat never arrives).
  await first.route('**/api/me/heartbeat', (route) => route.abort());
  await first.context().close();

  // Reopened within OFFLINE_AFTER_SECONDS: the server still counts the dead tab as Ada's softphone.
  const ada = await e2e.openAgent(ADA);
  await expectText(ada, '#softphone', /another tab/);
  await ada.click('#go-available');
  await answer(ada);
  await expectText(ada, '#softphone', /Softphone connected/);
  await expectText(customer, '#phone-hears', /connected to an agent|Ada/i, 15000);
});

test('when Ada presses Away during a call, then the button says so, and once the call and its wrap-up are over she is away and the next caller does not ring her', async () => {
  const ada = await e2e.openAgent(ADA, { available: true });
  const first = await e2e.openPhone('+15550102001');
  await callSupport(first);
  await answer(ada);
  await ada.focus('#go-away');
  await ada.keyboard.press('Enter');
  await ada.waitForSelector('#go-away[aria-pressed="true"]');
  await expectText(ada, '#presence', /On a call/);

  const next = await e2e.openPhone('+15550102002');
  await callSupport(next);
  await ada.click('#hangup');
  await expectText(ada, '#presence', /Away/, 15000);
  // The next caller waits: Ada is not rung once her wrap-up is over.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  await expectText(ada, '#presence', /Away/);
  expect(await ada.textContent('#agent-status')).not.toMatch(/Incoming call/);
});

test('when Ada presses Hang up and the server takes seconds to answer, then the page says the request is under way, and the note goes once it is done', async () => {
  const ada = await e2e.openAgent(ADA, { available: true });
  const customer = await e2e.openPhone('+15550103001');
  await callSupport(customer);
  await answer(ada);
  // The server answers Hang up 2.5 s late (a database that stalls).
  await ada.route('**/api/me/hangup', async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await route.continue();
  });
  await ada.click('#hangup');
  await expectText(ada, '#agent-pending', /Hang up: waiting for the server…/, 2000);
  expect(await ada.isVisible('#agent-pending')).toBe(true);
  await ada.waitForSelector('#agent-pending', { state: 'hidden', timeout: 10000 });
  await expectText(ada, '#agent-status', /Call ended|Wrapping up|Ready/, 10000);
});
