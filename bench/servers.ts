// What the benchmarks share: the app started as `npm start` starts it (its own process, embedded FerretDB, Twilio mode
// with a REST stand-in), a server process stopped again, and percentiles.
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { PROJECT_ROOT } from '../src/paths';

/** The app's entry point, built by `npm run build`. */
export const SERVER_SCRIPT = path.join(PROJECT_ROOT, 'dist', 'src', 'server.js');
/** The agents CLI, built by `npm run build`. */
export const AGENTS_CLI = path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'agents.js');

/** The environment of an app in Twilio mode on its own embedded database under `dataDir`, its REST calls going to `restBaseUrl`. */
export function appEnv(options: { port: number; dataDir: string; restBaseUrl: string; publicBaseUrl: string; authToken: string; extra?: NodeJS.ProcessEnv }): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PORT: String(options.port),
    HOST: '127.0.0.1',
    PUBLIC_BASE_URL: options.publicBaseUrl,
    TWILIO_ACCOUNT_SID: `AC${'1a'.repeat(16)}`,
    TWILIO_AUTH_TOKEN: options.authToken,
    TWILIO_API_KEY: `SK${'2b'.repeat(16)}`,
    TWILIO_API_SECRET: 'bench-api-secret',
    TWILIO_NUMBER: '+15557654321',
    TWILIO_API_BASE_URL: options.restBaseUrl,
    MONGODB_URI: '',
    DATA_DIR: options.dataDir,
    LOG_LEVEL: 'warn',
    ...options.extra,
  };
}

/** Runs `node script args` with `env` and waits until GET /healthz (or, for the bare server, any answer) succeeds. */
export async function spawnServer(script: string, args: string[], env: NodeJS.ProcessEnv, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean), script, ...args], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + 180_000; // the first run may build FerretDB
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${script} exited with code ${child.exitCode}`);
    const up = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      () => true,
      () => false,
    );
    if (up) return child;
    if (Date.now() > deadline) throw new Error(`${script} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** SIGTERM, then resolves when the process has exited. */
export function stopServer(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** The `p`th percentile of ascending `sorted` samples (nearest rank). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The CPU time (user + system) process `pid` has used so far, in ms; undefined without Linux's /proc, or once it has gone. */
export function cpuTimeMs(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime (the 14th and 15th fields of stat) count USER_HZ ticks, 1/100 s on Linux.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** The password of the accounts the benchmarks add. */
export const PASSWORD = 'bench password, not a secret 0123';

/** Signs in through the sign-in form as a browser does; returns the session cookie. */
export async function signIn(baseUrl: string, login: string, publicBaseUrl: string): Promise<string> {
  // As the TLS proxy PUBLIC_BASE_URL implies would send them: the app answers only for its public host.
  const https = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': new URL(publicBaseUrl).host };
  const page = await fetch(`${baseUrl}/sign-in`, { headers: { ...https, Accept: 'text/html' } });
  const cookie = page.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith('wt.signin='));
  const csrf = /<meta name="csrf-token" content="([^"]+)"/.exec(await page.text())?.[1];
  if (!cookie || !csrf) throw new Error(`GET /sign-in answered ${page.status} without a sign-in cookie or CSRF token`);
  const res = await fetch(`${baseUrl}/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { ...https, Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ login, password: PASSWORD, _csrf: csrf }).toString(),
  });
  const session = res.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith('wt.sid='));
  if (res.status !== 303 || !session) throw new Error(`sign-in as ${login} answered ${res.status}`);
  return session;
}

/** Adds an account with the agents CLI, on the embedded database under `dataDir` (before the app starts). */
export function addAccount(dataDir: string, login: string, role: 'agent' | 'supervisor'): void {
  execFileSync(process.execPath, [AGENTS_CLI, 'add', '--role', role, '--id', login, '--name', `Bench ${role}`, '--password-stdin', login], {
    env: { ...process.env, MONGODB_URI: '', DATA_DIR: dataDir },
    input: `${PASSWORD}\n`,
    stdio: ['pipe', 'ignore', 'inherit'],
  });
}

/** Runs a benchmark's main: exits 0 when it is done (whatever handles are left open), 1 with the error's stack if it fails. */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
