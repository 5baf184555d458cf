// The whole warm transfer in a real browser: a customer's phone page and two agents' softphone pages, each agent in
// their own browser context signed in through the sign-in page, in demo mode (the local Twilio stand-in plays the
// phone network), against the real app and database.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { parseConfig } from '../../src/config';
import { freePort } from '../../src/db/ferretdb';
import { createLogger } from '../../src/logger';
import { startServer, type RunningServer } from '../../src/runtime';
import { openTestDatabase } from '../helpers/db';
import { ARTIFACTS, launchBrowser, screenshot } from './browser';

/** What a function evaluated in the page sees (this file is compiled without the DOM library). */
type BrowserGlobals = { document: { querySelector(selector: string): { textContent: string | null } | null } };

const RING_SECONDS = 4;
/** The demo agents used here: Ada takes calls first (first in sign-in-name order) and signs in with a password; Grace in one click. */
const ADA = { id: 'ada', name: 'Ada Lovelace', password: 'ada-e2e-password-1815' };
const GRACE = { id: 'grace', name: 'Grace Hopper' };
let db: Awaited<ReturnType<typeof openTestDatabase>>;
let dataDir: string;
let running: RunningServer;
let browser: Browser;
/** The customer's browser; each agent gets their own (a session cookie is per browser context). */
let context: BrowserContext;
let contexts: BrowserContext[] = [];
const logs: string[] = [];

beforeAll(async () => {
  db = await openTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-e2e-'));
  const port = await freePort();
  const config = parseConfig({ PORT: String(port), PUBLIC_BASE_URL: `http://127.0.0.1:${port}`, LOG_LEVEL: 'info', DATA_DIR: dataDir });
  running = await startServer({ config, logger: createLogger('info', (line) => logs.push(line)), db, agentRingSeconds: RING_SECONDS, localTimeScale: 0.05 });
  await running.agents.setPassword(ADA.id, ADA.password);
  browser = await launchBrowser();
});

afterAll(async () => {
  // The app's and the stand-in's log of the whole run, to read when a step fails.
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(path.join(ARTIFACTS, 'app.log'), `${logs.join('\n')}\n`);
  await browser?.close();
  await running?.stop();
  await db?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(async () => {
  context = await browser.newContext({ viewport: { width: 900, height: 800 } });
  contexts = [context];
});

afterEach(async () => {
  for (const c of contexts) await c.close();
});

/** A new browser for an agent, signed in through the sign-in page: Ada with her password, Grace in one click. */
async function openAgent(agent: typeof ADA | typeof GRACE): Promise<Page> {
  const own = await browser.newContext({ viewport: { width: 900, height: 800 } });
  contexts.push(own);
  const page = await own.newPage();
  page.on('pageerror', (err) => logs.push(`[${agent.id} page error] ${err.message}`));
  await page.goto(`${running.url}/`);
  await page.waitForURL(/\/sign-in$/);
  if ('password' in agent) {
    await page.fill('#login', agent.id);
    await page.fill('#password', agent.password);
    await page.click('#sign-in-form button[type="submit"]');
  } else {
    await page.click(`.demo-sign-in button[data-agent="${agent.id}"]`);
  }
  await page.waitForURL(`${running.url}/`);
  await expectText(page, '#agent-identity', new RegExp(`You are ${agent.name}`));
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

/** The customer calls, hears the greeting, and Ada (who takes calls first) answers. */
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

/** Arrange: three browsers; the customer talks with Ada, who has chosen Grace and pressed "Dial Grace Hopper in"; Grace's page rings. */
async function agent2Ringing(): Promise<{ customer: Page; agent1: Page; agent2: Page; callSid: string }> {
  const customer = await openPhone();
  const agent1 = await openAgent(ADA);
  const agent2 = await openAgent(GRACE);
  const callSid = await customerReachesAgent1(customer, agent1);
  await expectText(agent1, '#call-summary', /in progress/);
  await agent1.selectOption('#colleague', GRACE.id);
  await expectText(agent1, '#bring-in', /Dial Grace Hopper in/);
  await agent1.waitForSelector('#bring-in:not([disabled])');
  await agent1.click('#bring-in');
  await expectText(agent2, '#agent-status', /Incoming call/);
  return { customer, agent1, agent2, callSid };
}

test('when Ada brings Grace in and hangs up, then the customer and Grace stay connected until the customer hangs up', async () => {
  const { customer, agent1, agent2, callSid } = await agent2Ringing();
  await screenshot(customer, '1-customer-connected-to-agent1');
  await screenshot(agent2, '2-agent2-ringing');
  await agent2.click('#answer');
  await expectText(agent2, '#agent-status', /In call/);
  await expectText(agent1, '#agent-status', /Grace Hopper joined/);
  await expectText(customer, '#phone-hears', /conference with 3 participants/);
  await screenshot(agent1, '3-agent1-colleague-joined');

  await agent1.click('#hangup');
  await expectText(agent1, '#agent-status', /Call ended/);
  await expectText(customer, '#phone-hears', /conference with 2 participants/);
  await expectText(agent2, '#agent-hears', /the conference \(2 on the line\)/);
  await expectText(agent2, '#call-legs', /Ada Lovelace: left the call/);
  await screenshot(agent2, '4-agent2-with-customer');

  // The customer is still connected, now with agent2 alone.
  expect(await customer.textContent('#phone-status')).toMatch(/in-progress/);
  const conference = running.twilioLocal!.snapshot().conferences.find((c) => c.friendlyName === callSid)!;
  expect(conference.status).toBe('in-progress');
  const afterTransfer = await waitFor('agent1 leg to be completed', async () => {
    const call = await db.models.calls.findById(callSid).lean().exec();
    return call?.legs.find((l) => l.agentId === ADA.id)?.status === 'completed' && call;
  });
  expect(afterTransfer).toMatchObject({ status: 'in-progress', agentId: GRACE.id });
  expect(afterTransfer.legs.find((l) => l.agentId === GRACE.id)!.status).toBe('in-progress');

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
    [ADA.id, 'completed'],
    [GRACE.id, 'completed'],
  ]);
  expect(running.twilioLocal!.snapshot().conferences.find((c) => c.friendlyName === callSid)!.status).toBe('completed');
  expect(logs.filter((line) => line.includes('page error'))).toEqual([]);
});

test('when Grace never answers, then Ada and the customer stay connected and Ada\'s page says so', async () => {
  const { customer, agent1, agent2, callSid } = await agent2Ringing();

  await expectText(agent1, '#agent-status', /Grace Hopper did not answer/, (RING_SECONDS + 8) * 1000);
  await expectText(agent2, '#agent-status', /withdrawn/);
  await screenshot(agent1, '6-agent2-did-not-answer');
  expect(await customer.textContent('#phone-status')).toMatch(/in-progress/);
  await expectText(customer, '#phone-hears', /conference with 2 participants/);
  const call = (await db.models.calls.findById(callSid).lean().exec())!;
  expect(call.status).toBe('in-progress');
  expect(call.legs.map((l) => [l.agentId, l.status])).toEqual([
    [ADA.id, 'in-progress'],
    [GRACE.id, 'no-answer'],
  ]);

  await customer.click('#phone-hangup');
  await expectText(agent1, '#agent-status', /Call ended/);
});

test('when the customer hangs up while Grace is ringing, then her phone stops ringing and the call ends', async () => {
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
  expect(ended.legs.find((l) => l.agentId === GRACE.id)!.status).toMatch(/canceled|no-answer/);
});

test('when a second customer calls while Ada is on a call, then it waits on her page without disturbing the first, and rings once that ends', async () => {
  const first = await openPhone();
  const second = await openPhone();
  const agent1 = await openAgent(ADA);
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
  expect(secondCall.legs[0]).toMatchObject({ agentId: ADA.id, status: 'in-progress' });

  await second.click('#phone-hangup');
  await expectText(agent1, '#agent-status', /Call ended/);
});

test('when an admin disables Grace on the admin page while her page is open, then her page goes to sign-in and she cannot sign in again', async () => {
  const grace = await openAgent(GRACE);
  const admin = await (async () => {
    const own = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    contexts.push(own);
    const page = await own.newPage();
    await page.goto(`${running.url}/sign-in`);
    await page.click('.demo-sign-in button[data-agent="demo-admin"]');
    await page.waitForURL(`${running.url}/`);
    await page.click('a[href="/admin"]');
    await page.waitForURL(`${running.url}/admin`);
    return page;
  })();

  await admin.click(`tr[data-agent="${GRACE.id}"] form[action$="/disable"] button`);
  // Her sessions from earlier tests in this file count too: every one of them ends.
  await expectText(admin, '#admin-notice', /Disabled Grace Hopper; [1-9]\d* session\(s\) ended/);
  expect(await db.connection.collection('sessions').countDocuments({ 'session.agentId': GRACE.id })).toBe(0);
  await screenshot(admin, '9-admin-disabled-grace');

  await grace.waitForURL(/\/sign-in$/, { timeout: 10000 });
  expect(await grace.locator(`.demo-sign-in button[data-agent="${GRACE.id}"]`).count()).toBe(0);
  expect(await running.agents.find(GRACE.id)).toMatchObject({ disabled: true });
  await running.agents.change(GRACE.id, { disabled: false });
});
