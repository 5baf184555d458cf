// The browser tests' shared setup: the real app in demo mode (the local Twilio stand-in plays the phone network) on
// the test database, Chromium, and what a person does on the pages — sign in, go available, call, answer.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { parseConfig } from '../../src/config';
import { freePort } from '../../src/db/ferretdb';
import { createLogger } from '../../src/logger';
import { startServer, type RunningServer } from '../../src/runtime';
import { webhookUrls } from '../../src/services/webhook-urls';
import { resetFloor } from '../helpers/app';
import { contractObserver, tapTwimlAnswers } from '../helpers/contract/observe';
import { openTestDatabase } from '../helpers/db';
import { ARTIFACTS, launchBrowser } from './browser';

/** What a function evaluated in the page sees (this file is compiled without the DOM library). */
type BrowserGlobals = { document: { querySelector(selector: string): { textContent: string | null } | null } };

export interface DemoAgent {
  id: string;
  name: string;
  /** Signs in with this password through the form; without one, with the demo page's one-click button. */
  password?: string;
}

export const ADA: DemoAgent = { id: 'ada', name: 'Ada Lovelace', password: 'ada-e2e-password-1815' };
export const GRACE: DemoAgent = { id: 'grace', name: 'Grace Hopper' };
export const ALAN: DemoAgent = { id: 'alan', name: 'Alan Turing' };
export const KATHERINE: DemoAgent = { id: 'katherine', name: 'Katherine Johnson' };
export const MARGARET: DemoAgent = { id: 'margaret', name: 'Margaret Hamilton' };

export interface E2e {
  db: Awaited<ReturnType<typeof openTestDatabase>>;
  running: RunningServer;
  browser: Browser;
  logs: string[];
  /** A fresh browser context (its own cookies), closed after the test. */
  newContext(): Promise<BrowserContext>;
  openPhone(from?: string): Promise<Page>;
  /** An agent's own browser, signed in through the sign-in page; `available` also presses Available. */
  openAgent(agent: DemoAgent, options?: { available?: boolean; context?: BrowserContext }): Promise<Page>;
}

/** Registers the hooks that start the app, the browser and per-test contexts; the object is filled before the first test. */
export function useE2e(options: { ringSeconds?: number; env?: Record<string, string>; localTimeScale?: number } = {}): E2e {
  // A browser story of several agents and callers on 2 cores: 60 s each (the app's own timers are seconds long).
  jest.setTimeout(60_000);
  const e2e = { logs: [] as string[] } as E2e;
  let dataDir = '';
  let contexts: BrowserContext[] = [];

  beforeAll(async () => {
    e2e.db = await openTestDatabase();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-e2e-'));
    const port = await freePort();
    const config = parseConfig({
      PORT: String(port),
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      LOG_LEVEL: 'info',
      DATA_DIR: dataDir,
      RING_SECONDS: String(options.ringSeconds ?? 5),
      WRAP_UP_SECONDS: '1',
      OFFLINE_AFTER_SECONDS: '6',
      ...options.env,
    });
    e2e.running = await startServer({ config, logger: createLogger('info', (line) => e2e.logs.push(line)), db: e2e.db, localTimeScale: options.localTimeScale ?? 0.05, twilioLocalObserver: contractObserver(), routing: { tickMs: 200 } });
    tapTwimlAnswers(e2e.running.server, { waitPaths: [new URL(webhookUrls(config.publicBaseUrl).wait('CA', 0)).pathname] });
    await e2e.running.agents.setPassword(ADA.id, ADA.password!);
    e2e.browser = await launchBrowser();
  });

  afterAll(async () => {
    // The app's and the stand-in's log of the whole run, to read when a step fails.
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(path.join(ARTIFACTS, `app-${path.basename(expect.getState().testPath ?? 'e2e')}.log`), `${e2e.logs.join('\n')}\n`);
    await e2e.browser?.close();
    await e2e.running?.stop();
    await e2e.db?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    // No ERROR line in the app's log, nor an uncaught error on a page, during the whole browser suite.
    expect(e2e.logs.filter((line) => / ERROR /.test(line) || / page error\] /.test(line))).toEqual([]);
  });

  afterEach(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    contexts = [];
    // Every agent away and every call gone: the next test starts on an empty floor.
    await resetFloor(e2e.running);
  });

  e2e.newContext = async () => {
    const context = await e2e.browser.newContext({ viewport: { width: 1000, height: 900 } });
    contexts.push(context);
    return context;
  };

  e2e.openPhone = async (from?: string) => {
    const page = await (await e2e.newContext()).newPage();
    await page.goto(`${e2e.running.url}/phone`);
    if (from) await page.fill('#phone-from', from);
    return page;
  };

  e2e.openAgent = async (agent, opts = {}) => {
    const context = opts.context ?? (await e2e.newContext());
    const page = await context.newPage();
    page.on('pageerror', (err) => e2e.logs.push(`[${agent.id} page error] ${err.message}`));
    await page.goto(`${e2e.running.url}/`);
    if (!page.url().endsWith('/')) {
      await page.waitForURL(/\/sign-in$/);
      if (agent.password) {
        await page.fill('#login', agent.id);
        await page.fill('#password', agent.password);
        await page.click('#sign-in-form button[type="submit"]');
      } else {
        await page.click(`.demo-sign-in button[data-agent="${agent.id}"]`);
      }
      await page.waitForURL(`${e2e.running.url}/`);
    }
    await expectText(page, '#softphone', /Softphone connected|another tab/);
    if (opts.available) await goAvailable(page);
    return page;
  };

  return e2e;
}

/** The agent presses Available: they are ready, or already ringing when a caller was waiting. */
export async function goAvailable(page: Page): Promise<void> {
  await page.click('#go-available');
  await expectText(page, '#presence', /Available|Ringing/);
  await expectText(page, '#agent-status', /Ready|Incoming call/);
}

export async function expectText(page: Page, selector: string, pattern: RegExp, timeout = 10000): Promise<void> {
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

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeout = 10000): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The customer presses Call support and hears the greeting or the music. */
export async function callSupport(customer: Page): Promise<void> {
  await customer.click('#phone-call');
  await expectText(customer, '#phone-hears', /Thank you for calling|line|music/);
}

/** The agent's page rings: they press Answer and are talking with the customer. */
export async function answer(agent: Page): Promise<void> {
  await expectText(agent, "#agent-status", /Incoming call|Consult from|Transfer from|asks you to join|dropped\. Answer/);
  await agent.waitForSelector('#answer:not([disabled])');
  await agent.click('#answer');
  await expectText(agent, '#agent-status', /In call with|Consult with/);
}
