// An open page whose session ends, in a real browser in demo mode: an admin's Disable, or signing out in another tab,
// takes the agent's page and the supervisor's board to sign-in at once (not at their next request, seconds later),
// and sign-in says why.
import type { Page } from 'playwright-core';
import { SESSION_ENDED } from '../../src/routes/auth';
import { expectText, GRACE, MARGARET, useE2e, type DemoAgent } from './harness';

const e2e = useE2e();

const ADMIN: DemoAgent = { id: 'demo-admin', name: 'Demo Admin' };

/** Milliseconds from now until `page` shows sign-in with the notice saying why (or a timeout). */
async function untilSignIn(page: Page, since: number, why: keyof typeof SESSION_ENDED): Promise<number> {
  await page.waitForURL((url) => url.pathname === '/sign-in', { timeout: 5000 });
  const took = Date.now() - since;
  await expectText(page, '#sign-in-notice', new RegExp(`^${SESSION_ENDED[why].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
  return took;
}

test("when an admin disables Grace while her page is open and Available, then her page goes to sign-in within a second or two and says why; she cannot sign in again", async () => {
  const grace = await e2e.openAgent(GRACE, { available: true });
  const admin = await e2e.openAgent(ADMIN);
  await admin.goto(`${e2e.running.url}/admin`);

  const pressed = Date.now();
  await admin.click(`tr[data-agent="${GRACE.id}"] form[action$="/disable"] button`);

  // The heartbeat (every few seconds) would find out too, later: the stream's last event says it now.
  expect(await untilSignIn(grace, pressed, 'disabled')).toBeLessThan(2500);
  expect(new URL(grace.url()).searchParams.get('next')).toBe('/');
  expect(await grace.$(`.demo-sign-in button[data-agent="${GRACE.id}"]`)).toBeNull();
  await e2e.running.agents.change(GRACE.id, { disabled: false });
});

test('when Margaret signs out in one tab, then her board in another tab goes to sign-in at once, and back to the board after signing in', async () => {
  const first = await e2e.openAgent(MARGARET);
  const board = await first.context().newPage();
  await board.goto(`${e2e.running.url}/board`);
  await board.waitForSelector('#board-updated');

  const pressed = Date.now();
  await first.click('#sign-out');

  expect(await untilSignIn(board, pressed, 'ended')).toBeLessThan(2500);
  // Both tabs opened sign-in at once, and a browser keeps one sign-in cookie: the tab that got the other one's asks for
  // a reload when its form is sent. Once the first tab is there, the board's tab is loaded again.
  await first.waitForURL((url) => url.pathname === '/sign-in');
  await board.reload();
  await board.click(`.demo-sign-in button[data-agent="${MARGARET.id}"]`);
  await board.waitForURL(`${e2e.running.url}/board`);
});
