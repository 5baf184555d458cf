// However the app ends, no FerretDB outlives it; a FerretDB left from an earlier run is ended by the next start; one
// data directory has one owner; and a closed stdout takes nothing down.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FERRETDB_BINARY, freePort } from '../src/db/ferretdb';
import { ferretdbPidsOn, isRunning, runRefusedAppProcess, saveOutput, startAppProcess, waitFor, type AppProcess } from './helpers/app-process';
import { startRestRecorder, type RestRecorder } from './helpers/rest-recorder';

// Each test starts whole app processes (and FerretDBs); on a loaded 2-core machine that alone can take tens of seconds.
jest.setTimeout(120_000);

let tmp: string;
let rest: RestRecorder;
const started: AppProcess[] = [];

beforeAll(async () => {
  rest = await startRestRecorder();
});

beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-orphans-'));
});

afterEach(async () => {
  const apps = started.splice(0);
  for (const app of apps) await app.stop();
  // The apps' own logs, to read when a step fails.
  saveOutput(`orphans-${expect.getState().currentTestName?.slice(5, 60).replace(/\W+/g, '-')}`, apps.flatMap((app) => [`--- app pid ${app.pid}`, ...app.output]));
  rmSync(tmp, { recursive: true, force: true });
});

afterAll(async () => {
  await rest?.close();
});

async function startApp(): Promise<AppProcess> {
  const app = await startAppProcess({ dataDir: path.join(tmp, 'data'), restBaseUrl: rest.baseUrl, cwd: tmp });
  started.push(app);
  return app;
}

const ferretdbDir = (): string => path.join(tmp, 'data', 'ferretdb');

test('when the app is killed with SIGKILL, then its FerretDB goes too', async () => {
  const app = await startApp();
  const [ferretdb] = ferretdbPidsOn(ferretdbDir());
  expect(ferretdb).toBeDefined();

  app.child.kill('SIGKILL');
  await app.exited;

  await waitFor('no FerretDB left on the data directory', () => ferretdbPidsOn(ferretdbDir()).length === 0);
  expect(isRunning(ferretdb!)).toBe(false);
});

test('when a FerretDB from an earlier run still serves the data directory, then the next start ends it and runs its own', async () => {
  mkdirSync(ferretdbDir(), { recursive: true });
  const leftover = spawn(
    FERRETDB_BINARY,
    [`--listen-addr=127.0.0.1:${await freePort()}`, '--handler=sqlite', `--sqlite-url=file:${ferretdbDir()}/`, '--telemetry=disable', '--state-dir=-', '--debug-addr=-', '--log-level=error'],
    { stdio: 'ignore', detached: true },
  );
  const leftoverExited = new Promise((resolve) => leftover.once('exit', resolve));
  try {
    await waitFor('the leftover FerretDB to run', () => ferretdbPidsOn(ferretdbDir()).includes(leftover.pid!));

    const app = await startApp();

    await leftoverExited;
    const now = ferretdbPidsOn(ferretdbDir());
    expect(now).toHaveLength(1);
    expect(now).not.toContain(leftover.pid);
    expect((await app.http().get('/readyz')).status).toBe(200);
    expect(app.output.some((line) => line.includes(`ending a FerretDB left running on ${ferretdbDir()} by an earlier run (pid ${leftover.pid})`))).toBe(true);
  } finally {
    if (leftover.exitCode === null && leftover.signalCode === null) leftover.kill('SIGKILL');
  }
});

test('when a second app starts on a data directory a live app owns, then it refuses with a message naming the owner, and the first keeps serving alone', async () => {
  const first = await startApp();

  const second = await runRefusedAppProcess({ dataDir: path.join(tmp, 'data'), restBaseUrl: rest.baseUrl, cwd: tmp });

  expect(second.code).toBe(1);
  expect(second.output.join('\n')).toContain(`The embedded database directory ${ferretdbDir()} is in use by another warm-transfer process (pid ${first.pid})`);
  expect(ferretdbPidsOn(ferretdbDir())).toHaveLength(1);
  expect((await first.http().get('/readyz')).status).toBe(200);
});

test('when the app was killed, then the next start takes over its data directory', async () => {
  const first = await startApp();
  first.child.kill('SIGKILL');
  await first.exited;
  expect(existsSync(path.join(ferretdbDir(), 'warm-transfer.lock'))).toBe(true);

  const next = await startApp();

  expect((await next.http().get('/readyz')).status).toBe(200);
  expect(ferretdbPidsOn(ferretdbDir())).toHaveLength(1);
});

test('when the app stdout and stderr are closed, then it keeps serving (each request writes an access line) and its FerretDB stays single', async () => {
  const app = await startApp();

  app.child.stdout!.destroy();
  app.child.stderr!.destroy();
  for (let i = 0; i < 20; i += 1) expect((await app.http().get('/healthz')).status).toBe(200);

  expect((await app.http().get('/readyz')).status).toBe(200);
  expect(isRunning(app.pid)).toBe(true);
  expect(ferretdbPidsOn(ferretdbDir())).toHaveLength(1);
});
