// The listening tests' browsers: one Chromium per person, whose fake microphone plays that person's own tone, and a
// log of every level measured (test-artifacts/audio-levels.log). Call useToneBrowsers before useE2e: its afterEach
// closes the pages (their calls end) before the harness resets the floor.
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ARTIFACTS, launchBrowser } from './browser';
import { describeHeard, listen, writeToneWav, type Heard } from './listen';

export interface ToneBrowsers<Who extends string> {
  /** Each person's browser (launched in beforeAll). */
  browsers: Record<Who, Browser>;
  /** A new context in `browser`, closed after the test. */
  contextOf(browser: Browser): Promise<BrowserContext>;
  /** Listens on each page at the same time for `freqs` and logs every level measured, under `step`. */
  listenAll(step: string, pages: Record<string, Page>): Promise<Record<string, Heard>>;
  /**
   * Listens as listenAll and runs `check` on what was heard; when it fails, listens again, up to `attempts` windows in
   * all, and fails with the last window's error. A change reaches the mix a moment after the page says so, and on a
   * loaded 2-core machine a page's audio can underrun for a window; a rule that is wrong fails every window.
   */
  hearing(step: string, pages: Record<string, Page>, check: (heard: Record<string, Heard>) => void, attempts?: number): Promise<void>;
}

/** `tones`: each person's tone in Hz; `names`: what each measured frequency is called in the log. */
export function useToneBrowsers<Who extends string>(tones: Record<Who, number>, options: { freqs: number[]; names: Record<number, string>; log: string }): ToneBrowsers<Who> {
  const levelsLog = path.join(ARTIFACTS, 'audio-levels.log');
  const browsers = {} as Record<Who, Browser>;
  let contexts: BrowserContext[] = [];
  let toneDir = '';

  beforeAll(async () => {
    toneDir = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-tones-'));
    for (const [who, hz] of Object.entries(tones) as Array<[Who, number]>) {
      const file = path.join(toneDir, `${who}-${hz}.wav`);
      writeToneWav(file, hz);
      browsers[who] = await launchBrowser({ fakeMicrophone: file });
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    appendFileSync(levelsLog, `--- ${new Date().toISOString()} (${options.log})\n`);
  });

  afterEach(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    contexts = [];
  });

  afterAll(async () => {
    for (const b of Object.values(browsers) as Browser[]) await b?.close();
    if (toneDir) rmSync(toneDir, { recursive: true, force: true });
  });

  async function listenAll(step: string, pages: Record<string, Page>): Promise<Record<string, Heard>> {
    const entries = await Promise.all(Object.entries(pages).map(async ([who, page]) => [who, await listen(page, options.freqs)] as const));
    appendFileSync(levelsLog, `${expect.getState().currentTestName}\n  ${step}\n${entries.map(([who, h]) => `    ${describeHeard(who, h, options.names)}`).join('\n')}\n`);
    return Object.fromEntries(entries);
  }

  return {
    browsers,
    async contextOf(browser) {
      const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
      contexts.push(context);
      return context;
    },
    listenAll,
    async hearing(step, pages, check, attempts = 3) {
      for (let attempt = 1; ; attempt += 1) {
        const heard = await listenAll(attempt === 1 ? step : `${step} (window ${attempt})`, pages);
        try {
          check(heard);
          return;
        } catch (err) {
          if (attempt >= attempts) throw err;
          appendFileSync(levelsLog, `    not yet: ${err instanceof Error ? err.message : String(err)}\n`);
        }
      }
    },
  };
}
