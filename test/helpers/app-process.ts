// The real app as its own process (src/server.ts, as `npm start` runs it) on its own embedded FerretDB, for tests that kill things.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { parseConfig, type Config } from '../../src/config';
import { freePort } from '../../src/db/ferretdb';
import { requestAs, TEST_ENV, twilioSignature } from './app';

const ROOT = path.resolve(__dirname, '..', '..');

export interface AppProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  config: Config;
  /** Everything the app wrote to stdout and stderr, line by line. */
  output: string[];
  /** Settles with the exit code (or signal) when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  http(): ReturnType<typeof request>;
  /** POSTs form `params` to `path`, signed as Twilio signs for PUBLIC_BASE_URL + path. */
  webhook(urlPath: string, params: Record<string, string>): request.Test;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts src/server.ts with DATA_DIR `dataDir` (so no MONGODB_URI: the embedded FerretDB) in Twilio mode against
 * `restBaseUrl`, and resolves once it listens. Rejects with its output if it exits first.
 */
export async function startAppProcess(options: { dataDir: string; restBaseUrl: string; cwd: string }): Promise<AppProcess> {
  const env: Record<string, string> = { ...TEST_ENV, TWILIO_API_BASE_URL: options.restBaseUrl, DATA_DIR: options.dataDir, LOG_LEVEL: 'info' };
  const config = parseConfig(env);
  const { MONGODB_URI: _ignored, TEST_MONGODB_URI: _ignoredToo, ...inherited } = process.env;
  const child = spawn(process.execPath, [path.join(ROOT, 'test', 'helpers', 'run-ts.js'), path.join(ROOT, 'src', 'server.ts')], {
    cwd: options.cwd,
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const collect = (chunk: Buffer): void => {
    output.push(...chunk.toString().split('\n').filter((line) => line.length > 0));
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  child.stdout!.on('error', () => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setInterval(() => {
      const line = output.find((l) => /listening on (?:port |\S*:)\d+/.test(l));
      if (line) {
        clearInterval(timer);
        resolve(Number(/listening on (?:port |\S*:)(\d+)/.exec(line)![1]));
      }
    }, 50);
    void exited.then(({ code, signal }) => {
      clearInterval(timer);
      reject(new Error(`the app exited (${code ?? signal}) before listening:\n${output.join('\n')}`));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const http = () => requestAs(url, new URL(config.publicBaseUrl).host);
  return {
    child,
    pid: child.pid!,
    url,
    config,
    output,
    exited,
    http,
    webhook(urlPath, params) {
      const signature = twilioSignature(config.twilio.authToken, `${config.publicBaseUrl}${urlPath}`, params);
      return http().post(urlPath).type('form').set('X-Twilio-Signature', signature).send(params);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Starts the app and expects it to refuse: resolves with its exit code and output. */
export async function runRefusedAppProcess(options: { dataDir: string; restBaseUrl: string; cwd: string }): Promise<{ code: number | null; output: string[] }> {
  try {
    const app = await startAppProcess(options);
    await app.stop();
    throw new Error('the app started although it should have refused');
  } catch (err) {
    const message = (err as Error).message;
    const match = /^the app exited \((\w+)\) before listening:\n([\s\S]*)$/.exec(message);
    if (!match) throw err;
    return { code: Number(match[1]), output: match[2]!.split('\n') };
  }
}

/** The FerretDB processes serving `ferretdbDir` (whatever SQLite settings follow it), read straight from /proc. */
export function ferretdbPidsOn(ferretdbDir: string): number[] {
  const wanted = `--sqlite-url=file:${ferretdbDir.endsWith('/') ? ferretdbDir : `${ferretdbDir}/`}`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const state = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.[0];
      if (path.basename(argv[0] ?? '').startsWith('ferretdb') && argv.some((a) => a === wanted || a.startsWith(`${wanted}?`)) && state !== 'Z') pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** Polls `check` until it returns a value other than undefined/false, or throws after `timeoutMs` naming `what`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Whether `pid` is still running (not a zombie). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/** A running app process sharing a database given by `env.MONGODB_URI` (several instances on one database). */
export interface SharedDbAppProcess {
  url: string;
  child: ChildProcess;
  output: string[];
  stop(): Promise<void>;
}

/** Starts src/server.ts with exactly `env` (plus PATH and HOME) on a free port, once it answers /healthz. */
export async function startAppOnDatabase(env: Record<string, string>, timeoutMs = 30000): Promise<SharedDbAppProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(ROOT, 'test', 'helpers', 'run-ts.js'), path.join(ROOT, 'src', 'server.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const collect = (chunk: Buffer): void => {
    output.push(...chunk.toString().split('\n').filter(Boolean));
    if (output.length > 5000) output.splice(0, output.length - 5000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const url = `http://127.0.0.1:${port}`;
  await waitFor('the app to answer /healthz', async () => {
    if (child.exitCode !== null) throw new Error(`the app exited with ${child.exitCode}:\n${output.join('\n')}`);
    return (await request(url).get('/healthz').then((res) => res.status === 200, () => false)) || undefined;
  }, timeoutMs).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    child,
    output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(force);
    },
  };
}

/** Writes an app's output to test-artifacts/processes/<name>.log (git-ignored), to read when a test fails. */
export function saveOutput(name: string, lines: string[]): void {
  const dir = path.join(ROOT, 'test-artifacts', 'processes');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${name}.log`), `${lines.join('\n')}\n`);
}
