// Drives Chromium through playwright-core: a system Chromium when there is one, otherwise the one @sparticuz/chromium ships in npm.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const ARTIFACTS = path.join(PROJECT_ROOT, 'test-artifacts', 'e2e');
const SYSTEM_CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

interface ChromiumBinary {
  executablePath: string;
  env?: Record<string, string>;
}

/**
 * @sparticuz/chromium unpacks its brotli archives into os.tmpdir() and trusts whatever it finds there, so a half-written
 * /tmp/chromium from a concurrent run would be taken as complete. Each unpack goes into its own directory (TMPDIR) and is
 * renamed into place when finished; the package is ESM-only, so a plain node process does the unpacking, not jest.
 */
function packagedChromium(): ChromiumBinary {
  const version = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'node_modules', '@sparticuz', 'chromium', 'package.json'), 'utf8')) as { version: string }).version;
  const dir = path.join(os.tmpdir(), `warm-transfer-chromium-${version}`);
  if (!existsSync(path.join(dir, 'chromium'))) {
    process.stderr.write(`Unpacking Chromium ${version} from @sparticuz/chromium into ${dir} (first run only, about 15 s)...\n`);
    const staging = mkdtempSync(`${dir}.unpacking-`);
    try {
      execFileSync(process.execPath, ['--input-type=module', '-e', "const { default: c } = await import('@sparticuz/chromium'); await c.executablePath();"], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, TMPDIR: staging },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      try {
        renameSync(staging, dir);
      } catch (err) {
        // Another run finished first: use its copy.
        if (!existsSync(path.join(dir, 'chromium'))) throw err;
      }
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  // The package's fonts.conf looks for its fonts in /tmp/fonts, where they are not (they were unpacked under `dir`);
  // without a usable font Chromium aborts on the first page with text. Our own config points at the unpacked fonts.
  const fontsConf = path.join(dir, 'warm-transfer-fonts.conf');
  const conf = `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>${path.join(dir, 'fonts', 'fonts')}</dir>\n  <cachedir>${path.join(dir, 'fonts-cache')}</cachedir>\n</fontconfig>\n`;
  if (!existsSync(fontsConf) || readFileSync(fontsConf, 'utf8') !== conf) writeFileSync(fontsConf, conf);
  return { executablePath: path.join(dir, 'chromium'), env: { FONTCONFIG_FILE: fontsConf } };
}

/** CHROMIUM_PATH, else Debian's /usr/bin/chromium, else the npm-packaged Chromium. */
export function findChromium(): ChromiumBinary {
  if (process.env.CHROMIUM_PATH) {
    if (!existsSync(process.env.CHROMIUM_PATH)) throw new Error(`CHROMIUM_PATH points at ${process.env.CHROMIUM_PATH}, which does not exist.`);
    return { executablePath: process.env.CHROMIUM_PATH };
  }
  if (existsSync(SYSTEM_CHROMIUM)) return { executablePath: SYSTEM_CHROMIUM };
  return packagedChromium();
}

/**
 * Launches headless Chromium. With `fakeMicrophone` (a WAV file), pages get the microphone without asking and hear
 * that file, looped, as its input; autoplay needs no gesture. Without it there is no microphone at all (the pages then
 * work on text).
 */
export async function launchBrowser(options: { fakeMicrophone?: string } = {}): Promise<Browser> {
  const binary = findChromium();
  mkdirSync(ARTIFACTS, { recursive: true });
  const media = options.fakeMicrophone
    ? [
        '--use-fake-ui-for-media-stream',
        '--use-fake-device-for-media-stream',
        `--use-file-for-fake-audio-capture=${options.fakeMicrophone}`,
        '--autoplay-policy=no-user-gesture-required',
        // WebRTC to the stand-in on this machine works even where loopback is the only interface.
        '--allow-loopback-in-peer-connection',
      ]
    : [];
  return chromium.launch({
    executablePath: binary.executablePath,
    headless: true,
    args: [...ARGS, ...media],
    ...(binary.env ? { env: { ...process.env, ...binary.env } } : {}),
  });
}

/** Saves a screenshot of `page` under test-artifacts/e2e (git-ignored). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}
