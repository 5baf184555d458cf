// The whole warm transfer in a real browser: a customer's phone page and two agents' softphone pages, in demo mode
// (the local Twilio stand-in plays the phone network), against the real app and database.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { parseConfig } from '../../src/config';
import { freePort } from '../../src/db/ferretdb';
import { createLogger } from '../../src/logger';
import { startServer, type RunningServer } from '../../src/runtime';
import { webhookUrls } from '../../src/services/webhook-urls';
import { contractObserver, tapTwimlAnswers } from '../helpers/contract/observe';
import { openTestDatabase } from '../helpers/db';
import { ARTIFACTS, launchBrowser, screenshot } from './browser';

/** What a function evaluated in the page sees (this file is compiled without the DOM library). */
type BrowserGlobals = { document: { querySelector(selector: string): { textContent: string | null } | null } };

const RING_SECONDS = 4;
let db: Awaited<ReturnType<typeof openTestDatabase>>;
let running: RunningServer;
let browser: Browser;
let context: BrowserContext;
const logs: string[] = [];

beforeAll(async () => {
  db = await openTestDatabase();
  const port = await freePort();
  const config = parseConfig({ PORT: String(port), PUBLIC_BASE_URL: `http://127.0.0.1:${port}`, LOG_LEVEL: 'info' });
  running = await startServer({ config, logger: createLogger('info', (line) => logs.push(line)), db, localTimeScale: 0.05, twilioLocalObserver: contractObserver() });
  tapTwimlAnswers(running.server, { waitPaths: [new URL(webhookUrls(config.publicBaseUrl).wait('CA', 0)).pathname] });
  browser = await launchBrowser();
});

afterAll(async () => {
  // The app's and the stand-in's log of the whole run, to read when a step fails.
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(path.join(ARTIFACTS, 'app.log'), `${logs.join('\n')}\n`);
  await browser?.close();
  await running?.stop();
  await db?.drop();
});

beforeEach(async () => {
  context = await browser.newContext({ viewport: { width: 900, height: 800 } });
});

afterEach(async () => {
  await context.close();
});

async function openAgent(agentId: 'agent1' | 'agent2'): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (err) => logs.push(`[${agentId} page error] ${err.message}`));
  await page.goto(`${running.url}/`);
  await page.click(`button.connect-as[data-agent="${agentId}"]`);
  await expectText(page, '#agent-status', /Ready/);
  return page;
}

async function openPhone(): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${running.url}/phone`);
  return page;
}

async function expectText(page: Page, selector: string, pattern: RegExp, timeout = 10000): Promise<void> {
  try {
    await page.waitForFunction(
      ({ selector, source, flags }) => new RegExp(source, flags).test((globalThis as unknown as BrowserGlobals).document.querySelector(selector)?.textContent ?? ''),
      { selector, source: pattern.source, flags: pattern.flags },
      { timeout },
    );
  } catch (err) {
    const actual = await page.textContent(selector).catch(() => '(missing)');
    throw new Error(`${selector} never matched ${pattern} on ${page.url()}; it says: ${actual}\n${(err as Error).message}`);
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeout = 10000): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The customer calls, hears the greeting, and agent1 answers. */
async function customerReachesAgent1(customer: Page, agent1: Page): Promise<string> {
  await customer.click('#phone-call');
  await expectText(customer, '#phone-hears', /Thank you for calling|hold music/);
  await expectText(agent1, '#agent-status', /Incoming call/);
  await agent1.click('#answer');
  await expectText(agent1, '#agent-status', /In call with the customer/);
  await expectText(customer, '#phone-hears', /connected to an agent \(conference with 2 participants\)/);
  const call = await waitFor('the call to be stored as in progress', async () => {
    const calls = await db.models.calls.find({ status: 'in-progress' }).lean().exec();
    return calls[0];
  });
  return call._id;
}

/** Arrange: three pages; the customer talks with agent1, who has pressed "Dial Agent 2 in"; agent2's page rings. */
async function agent2Ringing(): Promise<{ customer: Page; agent1: Page; agent2: Page; callSid: string }> {
  const customer = await openPhone();
  const agent1 = await openAgent('agent1');
  const agent2 = await openAgent('agent2');
  const callSid = await customerReachesAgent1(customer, agent1);
  await expectText(agent1, '#call-summary', /in progress/);
  await agent1.waitForSelector('#bring-in:not([disabled])');
  await agent1.click('#bring-in');
  await expectText(agent2, '#agent-status', /Incoming call/);
  return { customer, agent1, agent2, callSid };
}

test('when agent1 brings agent2 in and hangs up, then the customer and agent2 stay connected until the customer hangs up', async () => {
  const { customer, agent1, agent2, callSid } = await agent2Ringing();
  await screenshot(customer, '1-customer-connected-to-agent1');
  await screenshot(agent2, '2-agent2-ringing');
  await agent2.click('#answer');
  await expectText(agent2, '#agent-status', /In call/);
  await expectText(agent1, '#agent-status', /Agent 2 joined/);
  await expectText(customer, '#phone-hears', /conference with 3 participants/);
  await screenshot(agent1, '3-agent1-colleague-joined');

  await agent1.click('#hangup');
  await expectText(agent1, '#agent-status', /Call ended/);
  await expectText(customer, '#phone-hears', /conference with 2 participants/);
  await expectText(agent2, '#agent-hears', /the conference \(2 on the line\)/);
  await expectText(agent2, '#call-legs', /Agent 1: left the call/);
  await screenshot(agent2, '4-agent2-with-customer');

  // The customer is still connected, now with agent2 alone.
  expect(await customer.textContent('#phone-status')).toMatch(/in-progress/);
  const conference = running.twilioLocal!.snapshot().conferences.find((c) => c.friendlyName === callSid)!;
  expect(conference.status).toBe('in-progress');
  const afterTransfer = await waitFor('agent1 leg to be completed', async () => {
    const call = await db.models.calls.findById(callSid).lean().exec();
    return call?.legs.find((l) => l.agentId === 'agent1')?.status === 'completed' && call;
  });
  expect(afterTransfer).toMatchObject({ status: 'in-progress', agentId: 'agent2' });
  expect(afterTransfer.legs.find((l) => l.agentId === 'agent2')!.status).toBe('in-progress');

  await customer.click('#phone-hangup');
  await expectText(customer, '#phone-status', /completed/);
  await expectText(agent2, '#agent-status', /Call ended/);
  await screenshot(customer, '5-customer-hung-up');
  const ended = await waitFor('the stored call to end', async () => {
    const call = await db.models.calls.findById(callSid).lean().exec();
    return call?.status === 'completed' && call;
  });
  expect(ended.endedAt).toBeInstanceOf(Date);
  expect(ended.legs.map((l) => [l.agentId, l.status])).toEqual([
    ['agent1', 'completed'],
    ['agent2', 'completed'],
  ]);
  expect(running.twilioLocal!.snapshot().conferences.find((c) => c.friendlyName === callSid)!.status).toBe('completed');
  expect(logs.filter((line) => line.includes('page error'))).toEqual([]);
});

test('when agent2 never answers, then agent1 and the customer stay connected and agent1 page says so', async () => {
  const { customer, agent1, agent2, callSid } = await agent2Ringing();

  await expectText(agent1, '#agent-status', /Agent 2 did not answer/, (RING_SECONDS + 8) * 1000);
  await expectText(agent2, '#agent-status', /withdrawn/);
  await screenshot(agent1, '6-agent2-did-not-answer');
  expect(await customer.textContent('#phone-status')).toMatch(/in-progress/);
  await expectText(customer, '#phone-hears', /conference with 2 participants/);
  const call = (await db.models.calls.findById(callSid).lean().exec())!;
  expect(call.status).toBe('in-progress');
  expect(call.legs.map((l) => [l.agentId, l.status])).toEqual([
    ['agent1', 'in-progress'],
    ['agent2', 'no-answer'],
  ]);

  await customer.click('#phone-hangup');
  await expectText(agent1, '#agent-status', /Call ended/);
});

test('when the customer hangs up while agent2 is ringing, then agent2 phone stops ringing and the call ends', async () => {
  const { customer, agent1, agent2, callSid } = await agent2Ringing();
  await customer.click('#phone-hangup');

  await expectText(agent2, '#agent-status', /withdrawn/);
  await expectText(agent1, '#agent-status', /Call ended/);
  expect(await agent2.isDisabled('#answer')).toBe(true);
  await screenshot(agent2, '7-agent2-ringing-withdrawn');
  const ended = await waitFor('the stored call to end', async () => {
    const call = await db.models.calls.findById(callSid).lean().exec();
    return call?.status === 'completed' && call;
  });
  expect(ended.legs.find((l) => l.agentId === 'agent2')!.status).toMatch(/canceled|no-answer/);
});

test('when a second customer calls while agent1 is on a call, then it waits on agent1 page without disturbing the first, and rings once that ends', async () => {
  const first = await openPhone();
  const second = await openPhone();
  const agent1 = await openAgent('agent1');
  const firstCall = await customerReachesAgent1(first, agent1);

  await second.click('#phone-call');
  await expectText(second, '#phone-hears', /Thank you for calling|hold music/);
  await expectText(agent1, '#agent-error', /Another call .* is waiting/);
  await screenshot(agent1, '8-agent1-second-call-waiting');
  expect(await agent1.isEnabled('#hangup')).toBe(true);
  expect(await agent1.isDisabled('#answer')).toBe(true);

  await agent1.click('#hangup'); // leaves the first customer: nobody else is on that call, so it ends
  await expectText(agent1, '#agent-status', /Incoming call/);
  await expectText(first, '#phone-status', /completed/);
  await agent1.click('#answer');
  await expectText(agent1, '#agent-status', /In call with the customer/);
  await expectText(second, '#phone-hears', /connected to an agent \(conference with 2 participants\)/);
  const secondCall = await waitFor('the second call to be in progress', async () =>
    (await db.models.calls.find({ status: 'in-progress' }).lean().exec()).find((c) => c._id !== firstCall),
  );
  expect(secondCall.legs[0]).toMatchObject({ agentId: 'agent1', status: 'in-progress' });

  await second.click('#phone-hangup');
  await expectText(agent1, '#agent-status', /Call ended/);
});
