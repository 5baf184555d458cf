// A supervisor heard — or not: each person in their own Chromium whose fake microphone plays a tone of its own
// (customer 1100 Hz, Ada 1450 Hz, Margaret the supervisor 1850 Hz), demo mode at real-time media, every assertion
// measured with an AnalyserNode on what the page plays. Coaching: Ada hears Margaret, the customer does not. Listening:
// nobody hears her. Barging: everyone does. Margaret hears the conversation throughout.
import { screenshot } from './browser';
import { ADA, answer, expectText, MARGARET, useE2e } from './harness';
import { expectDoesNotHear, expectHears } from './listen';
import { useToneBrowsers } from './tone-browsers';

const CUSTOMER_HZ = 1100;
const ADA_HZ = 1450;
const MARGARET_HZ = 1850;
const ALL = [CUSTOMER_HZ, ADA_HZ, MARGARET_HZ];
const NAMES: Record<number, string> = { [CUSTOMER_HZ]: 'customer', [ADA_HZ]: 'Ada', [MARGARET_HZ]: 'Margaret' };
// Declared before useE2e so that it runs first: the pages close (their calls end) before the floor is reset.
const { browsers, contextOf, hearing } = useToneBrowsers({ customer: CUSTOMER_HZ, ada: ADA_HZ, margaret: MARGARET_HZ }, { freqs: ALL, names: NAMES, log: 'supervisors' });
const e2e = useE2e({ ringSeconds: 10, localTimeScale: 1 });

test('when Margaret coaches Ada, then Ada hears her and the customer does not; listening, nobody hears her; barging, both do; she hears both throughout', async () => {
  const ada = await e2e.openAgent(ADA, { available: true, context: await contextOf(browsers.ada) });
  const customer = await (await contextOf(browsers.customer)).newPage();
  customer.on('pageerror', (err) => e2e.logs.push(`[customer page error] ${err.message}`));
  await customer.goto(`${e2e.running.url}/phone`);
  await customer.click('#phone-call');
  await expectText(customer, '#demo-audio-note', /Sound on/);
  await answer(ada);
  await expectText(customer, '#phone-hears', /conference with 2 participants/);
  await expectText(ada, '#demo-audio-note', /Sound on/);
  const board = await e2e.openAgent(MARGARET, { context: await contextOf(browsers.margaret) });
  await board.goto(`${e2e.running.url}/board`);
  await expectText(board, '#supervise-softphone', /Supervisor softphone connected/);
  const row = '#board-calls tbody tr';

  await board.click(`${row} button.supervise[data-mode="coach"]`);
  await expectText(board, '#supervise-status', /Coaching: only the agent hears you/);
  await expectText(board, '#demo-audio-note', /Sound on/);
  await hearing('Margaret coaches Ada', { customer, ada, margaret: board }, (h) => {
    expectHears(h.ada!, 'Ada', 'Margaret coaching her', MARGARET_HZ);
    expectDoesNotHear(h.customer!, 'the customer', 'Margaret coaching Ada', MARGARET_HZ);
    expectHears(h.customer!, 'the customer', 'Ada', ADA_HZ);
    expectHears(h.ada!, 'Ada', 'the customer', CUSTOMER_HZ);
    expectHears(h.margaret!, 'Margaret', 'the customer', CUSTOMER_HZ);
    expectHears(h.margaret!, 'Margaret', 'Ada', ADA_HZ);
  });
  await screenshot(board, 'supervisor-audio-coaching');

  await board.click(`${row} button.supervise[data-mode="listen"]`);
  await expectText(board, '#supervise-status', /Listening: nobody hears you/);
  await hearing('Margaret listens', { customer, ada, margaret: board }, (h) => {
    expectDoesNotHear(h.ada!, 'Ada', 'Margaret listening', MARGARET_HZ);
    expectDoesNotHear(h.customer!, 'the customer', 'Margaret listening', MARGARET_HZ);
    expectHears(h.margaret!, 'Margaret', 'the customer', CUSTOMER_HZ);
    expectHears(h.margaret!, 'Margaret', 'Ada', ADA_HZ);
  });

  await board.click(`${row} button.supervise[data-mode="barge"]`);
  await expectText(board, '#supervise-status', /In the call: everyone hears you/);
  await hearing('Margaret barges', { customer, ada, margaret: board }, (h) => {
    expectHears(h.ada!, 'Ada', 'Margaret barging', MARGARET_HZ);
    expectHears(h.customer!, 'the customer', 'Margaret barging', MARGARET_HZ);
    expectHears(h.customer!, 'the customer', 'Ada', ADA_HZ);
  });

  await board.click(`${row} button.supervise[data-mode="leave"]`);
  await expectText(board, '#supervise-status', /You are not on a call/);
  await hearing('Margaret left', { customer, ada }, (h) => {
    expectDoesNotHear(h.customer!, 'the customer', 'Margaret after she left', MARGARET_HZ);
    expectDoesNotHear(h.ada!, 'Ada', 'Margaret after she left', MARGARET_HZ);
    expectHears(h.customer!, 'the customer', 'Ada', ADA_HZ);
  });
});
