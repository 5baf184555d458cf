// `npm run agents`: the CLI run as a child process against the test database, and against the embedded database.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { accountCollections } from '../src/auth/demo';
import { parseConfig } from '../src/config';
import { agentModel } from '../src/models/agent';
import { createAgentAccounts } from '../src/services/agents';
import { createLogger } from '../src/logger';
import { PROJECT_ROOT } from '../src/paths';
import { startServer } from '../src/runtime';
import { openSignInPage, requestAs, signedInAgent, signIn, TEST_ENV, TEST_PASSWORD, useAppSuite, type AppLike } from './helpers/app';

const CLI = path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'agents.js');
const suite = useAppSuite();
let cwd: string;

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env: Record<string, string>, stdin?: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    // A clean environment and an empty working directory: no developer's .env is read.
    const child = spawn(command, args, { cwd, env: { PATH: process.env.PATH ?? '', HOME: os.homedir(), ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

/** Twilio mode's configuration: the CLI then manages Twilio mode's accounts (without it, demo mode's). */
const TWILIO_CREDENTIALS = {
  TWILIO_ACCOUNT_SID: TEST_ENV.TWILIO_ACCOUNT_SID,
  TWILIO_AUTH_TOKEN: TEST_ENV.TWILIO_AUTH_TOKEN,
  TWILIO_API_KEY: TEST_ENV.TWILIO_API_KEY,
  TWILIO_API_SECRET: TEST_ENV.TWILIO_API_SECRET,
  TWILIO_NUMBER: TEST_ENV.TWILIO_NUMBER,
};

/** The CLI against this file's test database. */
function agentsCli(args: string[], stdin?: string): Promise<Outcome> {
  return run(process.execPath, [CLI, ...args], { ...TWILIO_CREDENTIALS, MONGODB_URI: `${process.env.TEST_MONGODB_URI}${suite.db.connection.name}` }, stdin);
}

function printedPassword(stdout: string): string {
  const match = /Password \(shown once, store it safely\): (\S+)/.exec(stdout);
  if (!match) throw new Error(`no password in: ${stdout}`);
  return match[1]!;
}

beforeAll(async () => {
  cwd = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-cli-'));
  // The same build `npm run agents` makes.
  const build = await run('npm', ['run', 'build', '--silent', '--prefix', PROJECT_ROOT], {});
  if (build.code !== 0) throw new Error(`npm run build failed: ${build.stderr}${build.stdout}`);
}, 180_000);

afterAll(() => {
  rmSync(cwd, { recursive: true, force: true });
});

test('when the first admin is added with the CLI, then it prints a generated password once and that admin can sign in and open the admin page', async () => {
  const res = await agentsCli(['add', '--admin', 'Root', '--name', 'Root Admin']);

  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  expect(res.stdout).toContain('Added admin Root Admin (id root, sign-in name root).');
  const password = printedPassword(res.stdout);
  expect(password.length).toBeGreaterThanOrEqual(16);
  expect(await suite.app.running.agents.find('root')).toEqual({ id: 'root', name: 'Root Admin', role: 'admin', disabled: false });
  const root = await signIn(suite.app, 'root', password);
  expect((await root.get('/admin').set('Accept', 'text/html')).status).toBe(200);
});

test('when a password comes on standard input, then it is used and not printed', async () => {
  const res = await agentsCli(['add', '--role', 'supervisor', '--password-stdin', 'sally'], 'a password from stdin\n');

  expect(res.code).toBe(0);
  expect(res.stdout).not.toContain('a password from stdin');
  expect(res.stdout).not.toContain('Password (shown once');
  await signIn(suite.app, 'sally', 'a password from stdin');
});

test('when the CLI disables a signed-in agent, then their session ends at once', async () => {
  const nina = await signedInAgent(suite.app, 'nina');
  expect((await nina.get('/agents/nina/call')).status).toBe(200);

  const res = await agentsCli(['disable', 'nina']);

  expect(res.code).toBe(0);
  expect(res.stdout).toContain('Disabled nina; 1 session(s) ended.');
  expect((await nina.get('/agents/nina/call')).status).toBe(401);
  expect((await agentsCli(['enable', 'nina'])).code).toBe(0);
  expect(await suite.app.running.agents.find('nina')).toMatchObject({ disabled: false });
});

test('when the CLI resets a password, then the old one fails and the printed one works', async () => {
  await signedInAgent(suite.app, 'omar');

  const res = await agentsCli(['reset-password', 'OMAR']);

  expect(res.code).toBe(0);
  const password = printedPassword(res.stdout);
  const { cookie, csrfToken } = await openSignInPage(suite.app);
  const old = await suite.app.http().post('/sign-in').set('X-Forwarded-Proto', 'https').set('Cookie', cookie).type('form').send({ login: 'omar', password: TEST_PASSWORD, _csrf: csrfToken });
  expect(old.status).toBe(401);
  await signIn(suite.app, 'omar', password);
});

test('when the CLI lists agents, then each is one line with id, sign-in name, role and state', async () => {
  const res = await agentsCli(['list']);

  expect(res.code).toBe(0);
  expect(res.stdout).toMatch(/^root\troot\tadmin\tenabled\tRoot Admin$/m);
});

test.each([
  [['add', 'root'], 1, /sign-in name root is taken/],
  [['add', 'bad name'], 1, /sign-in name may use/],
  [['add', '--role', 'owner', 'x'], 2, /--role must be one of/],
  [['add'], 2, /give exactly one sign-in name/],
  [['frob', 'x'], 2, /Unknown command: frob/],
  [['add', '--bogus', 'x'], 2, /Unknown option '--bogus'/],
  [['disable', 'nobody'], 1, /No agent has the id or sign-in name nobody/],
  [['add', '--password-stdin', 'shorty'], 1, /at least 10 characters/],
  [['add', 'queue'], 1, /The agent id queue is reserved/],
])('when the CLI is given %j, then it exits %i with a message', async (args, code, message) => {
  const res = await agentsCli(args, 'short\n');

  expect(res.code).toBe(code);
  expect(res.stderr).toMatch(message);
});

test("when no Twilio credentials are set, then the CLI manages demo mode's accounts and says so, and Twilio mode's stay untouched", async () => {
  const res = await run(process.execPath, [CLI, 'add', '--admin', '--name', 'Made In Demo', 'demomade'], { MONGODB_URI: `${process.env.TEST_MONGODB_URI}${suite.db.connection.name}` });

  expect(res.code).toBe(0);
  expect(res.stdout).toContain("No TWILIO_* credentials are set: these are demo mode's accounts, which Twilio mode never sees.");
  expect(await suite.app.running.agents.find('demomade')).toBeUndefined();
  expect(await createAgentAccounts(agentModel(suite.db.connection, accountCollections('local').agents)).find('demomade')).toMatchObject({ role: 'admin' });
});

describe('on the embedded database', () => {
  let dataDir: string;

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-cli-embedded-'));
  });

  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function startTwilioModeApp(logs: string[]) {
    const { TWILIO_API_BASE_URL: _unused, ...env } = { ...TEST_ENV, TWILIO_API_BASE_URL: undefined };
    const config = parseConfig({ ...env, DATA_DIR: dataDir, LOG_LEVEL: 'info' });
    return startServer({ config, logger: createLogger('info', (line) => logs.push(line)), accessLog: false });
  }

  test('when Twilio mode starts with no admin, then the log says how to make one; the CLI makes one on the same embedded database; then they sign in', async () => {
    const firstLogs: string[] = [];
    const first = await startTwilioModeApp(firstLogs);
    await first.stop();
    expect(firstLogs.join('\n')).toContain('No admin account yet: create the first one with `npm run agents -- add --admin <sign-in name>`');

    const res = await run(process.execPath, [CLI, 'add', '--admin', 'chief'], { ...TWILIO_CREDENTIALS, DATA_DIR: dataDir });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const password = printedPassword(res.stdout);

    const logs: string[] = [];
    const running = await startTwilioModeApp(logs);
    try {
      expect(logs.join('\n')).not.toContain('No admin account yet');
      const app: AppLike = { http: () => requestAs(running.url, new URL(running.config.publicBaseUrl).host), running };
      const chief = await signIn(app, 'chief', password);
      expect((await chief.get('/admin').set('Accept', 'text/html')).status).toBe(200);
    } finally {
      await running.stop();
    }
  }, 60_000);
});
