// The service metrics in a real browser: the supervisor's board reads its tiles change as a caller arrives, is
// answered and hangs up, then follows the link to the reports page and finds its charts — in demo mode, against the
// real app and database.
import { screenshot } from './browser';
import { ADA, answer, callSupport, expectText, goAvailable, MARGARET, useE2e } from './harness';

const e2e = useE2e({ ringSeconds: 5 });

test('when a caller arrives, is answered and hangs up, then the board’s tiles follow, and the reports page shows the call in its charts', async () => {
  const supervisor = await e2e.openAgent(MARGARET);
  await supervisor.goto(`${e2e.running.url}/board`);
  await expectText(supervisor, '#tile-waiting', /^0$/);
  await expectText(supervisor, '#tile-today-answered', /^0 \/ 0$/);
  await expectText(supervisor, '#tile-today-sl', /^—$/);

  const ada = await e2e.openAgent(ADA);
  await goAvailable(ada);
  await expectText(supervisor, '#tile-available', /^1$/);

  // A caller arrives: the line has them while Ada's phone rings.
  const customer = await e2e.openPhone();
  await callSupport(customer);
  await expectText(supervisor, '#tile-waiting', /^1$/);
  await expectText(supervisor, '#tile-longest-wait', /\d+ s/);
  await screenshot(supervisor, 'metrics-1-board-caller-waiting');

  // Ada answers: the line is empty, she is on a call, and the answer counts at once, within the 20 s target.
  await answer(ada);
  await expectText(supervisor, '#tile-waiting', /^0$/);
  await expectText(supervisor, '#tile-on-call', /^1$/);
  await expectText(supervisor, '#tile-available', /^0$/);
  await expectText(supervisor, '#tile-occupancy', /^100 %$/);
  await expectText(supervisor, '#tile-today-answered', /^1 \/ 1$/);
  await expectText(supervisor, '#tile-15-answered', /^1 \/ 1$/);
  await expectText(supervisor, '#tile-today-sl', /^100 %$/);
  await expectText(supervisor, '#tile-today-asa', /^\d+ s$/);
  await screenshot(supervisor, 'metrics-2-board-answered');

  // The customer hangs up: the finished call is counted once, now with its handle time.
  await customer.click('#phone-hangup');
  await expectText(customer, '#phone-status', /completed/);
  await expectText(supervisor, '#tile-on-call', /^0$/);
  await expectText(supervisor, '#tile-today-aht', /\d+ s/);
  await expectText(supervisor, '#tile-today-answered', /^1 \/ 1$/);
  await expectText(supervisor, '#tile-today-abandoned', /^0/);
  await expectText(supervisor, '#metric-abandoned-label', /^Abandoned \(the rate leaves out callers who hung up within 5 s\)$/);
  await screenshot(supervisor, 'metrics-3-board-finished');

  // The reports page, from the board's link: today, per hour, with the call in its totals and its three charts.
  await supervisor.click('#board-reports');
  await supervisor.waitForURL(/\/reports$/);
  await expectText(supervisor, '#total-offered', /^1$/);
  await expectText(supervisor, '#total-answered', /^1$/);
  await expectText(supervisor, '#total-service-level', /^100\.0 %$/);
  expect(await supervisor.locator('figure.chart svg').count()).toBe(3);
  expect(await supervisor.locator('#chart-volume rect.bar-answered').count()).toBe(1);
  expect(await supervisor.locator('#chart-service-level circle.dot-met').count()).toBe(1);
  expect(await supervisor.locator('#report-agents tr[data-agent="ada"] td').nth(1).textContent()).toBe('1');
  await screenshot(supervisor, 'metrics-4-reports');

  // A preset and the per-day view work from the page's own links.
  await supervisor.click('nav.presets a:has-text("Last 7 days")');
  await expectText(supervisor, '#report-range-text', /to .*, per day/);
  await expectText(supervisor, '#total-offered', /^1$/);
});
