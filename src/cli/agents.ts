// `npm run agents -- <command>`: manage agent accounts from a shell, e.g. the first admin on a fresh install.
// Uses the app's own database: MONGODB_URI, or the embedded FerretDB under DATA_DIR (started here, and stopped again).
import { parseArgs } from 'node:util';
import dotenv from 'dotenv';
import { generatePassword } from '../auth/passwords';
import { accountCollections } from '../auth/demo';
import { createSessionStore } from '../auth/sessions';
import { ConfigError, parseConfig } from '../config';
import { openAppDatabase } from '../db/connect';
import { errorMessage, HttpError } from '../errors';
import { createLogger } from '../logger';
import { agentModel } from '../models/agent';
import { AGENT_ROLES, createAgentAccounts, type AgentAccounts, type AgentRole } from '../services/agents';

const USAGE = `Usage: npm run agents -- <command>

  add [--admin | --role agent|supervisor|admin] [--name "Display Name"] [--id ID] [--password-stdin] SIGN_IN_NAME
      Adds an account. Prints a generated password once, unless --password-stdin reads one from standard input.
  list
      Lists every account: id, sign-in name, role, enabled or disabled.
  reset-password [--password-stdin] SIGN_IN_NAME_OR_ID
      Sets a new password (generated and printed once, or read from standard input) and ends the agent's sessions.
  disable SIGN_IN_NAME_OR_ID    Disables an account and ends its sessions at once.
  enable SIGN_IN_NAME_OR_ID     Enables it again.

The database is the app's: MONGODB_URI, or the embedded FerretDB under DATA_DIR (default .data), as in .env.
The accounts are those of the mode the configuration runs: Twilio mode's when the TWILIO_* credentials are set,
otherwise demo mode's (kept apart: Twilio mode never sees them).`;

class UsageError extends Error {}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

async function idOf(accounts: AgentAccounts, nameOrId: string): Promise<string> {
  if (await accounts.find(nameOrId)) return nameOrId;
  const logins = await accounts.logins();
  const id = [...logins].find(([, login]) => login === nameOrId.trim().toLowerCase())?.[0];
  if (!id) throw new HttpError(404, `No agent has the id or sign-in name ${nameOrId}.`);
  return id;
}

function parseOptions(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        admin: { type: 'boolean' },
        role: { type: 'string' },
        name: { type: 'string' },
        id: { type: 'string' },
        'password-stdin': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
}

async function run(argv: string[]): Promise<void> {
  const { values, positionals } = parseOptions(argv);
  const [command, subject, ...extra] = positionals;
  if (values.help || !command) throw new UsageError('');
  if (!['add', 'list', 'reset-password', 'disable', 'enable'].includes(command)) throw new UsageError(`Unknown command: ${command}`);
  if (command !== 'list' && (!subject || extra.length > 0)) throw new UsageError(`${command}: give exactly one sign-in name or id.`);
  const role = (values.admin ? 'admin' : (values.role ?? 'agent')) as AgentRole;
  if (!AGENT_ROLES.includes(role)) throw new UsageError(`--role must be one of ${AGENT_ROLES.join(', ')}.`);
  const suppliedPassword = values['password-stdin'] ? await readStdin() : undefined;

  dotenv.config({ quiet: true });
  const config = parseConfig(process.env);
  const logger = createLogger('warn', (line) => process.stderr.write(`${line}\n`));
  const db = await openAppDatabase({ mongodbUri: config.mongodbUri, dataDir: config.dataDir, logger });
  try {
    // The accounts of the mode this configuration runs: demo mode keeps its own, apart from Twilio mode's.
    const collections = accountCollections(config.twilio.mode);
    const model = agentModel(db.connection, collections.agents);
    await model.createIndexes();
    const accounts = createAgentAccounts(model);
    const sessions = createSessionStore(db.connection, collections.sessions);
    const out = (line: string): void => {
      process.stdout.write(`${line}\n`);
    };
    if (config.twilio.mode === 'local') out("No TWILIO_* credentials are set: these are demo mode's accounts, which Twilio mode never sees. Set the credentials (e.g. in .env) to manage Twilio mode's.");

    if (command === 'list') {
      const [agents, logins] = await Promise.all([accounts.all(), accounts.logins()]);
      if (agents.length === 0) out('No agents yet. Add the first admin: npm run agents -- add --admin <sign-in name>');
      for (const a of agents) out(`${a.id}\t${logins.get(a.id)}\t${a.role}\t${a.disabled ? 'disabled' : 'enabled'}\t${a.name}`);
    } else if (command === 'add') {
      const password = suppliedPassword ?? generatePassword();
      const agent = await accounts.add({ id: values.id, login: subject!, name: values.name ?? subject!, role, password });
      out(`Added ${agent.role} ${agent.name} (id ${agent.id}, sign-in name ${subject!.trim().toLowerCase()}).`);
      if (!suppliedPassword) out(`Password (shown once, store it safely): ${password}`);
    } else if (command === 'reset-password') {
      const id = await idOf(accounts, subject!);
      const password = suppliedPassword ?? generatePassword();
      await accounts.setPassword(id, password);
      const ended = await sessions.endSessionsOf(id);
      out(`New password set for ${id}; ${ended} session(s) ended.`);
      if (!suppliedPassword) out(`Password (shown once, store it safely): ${password}`);
    } else {
      const id = await idOf(accounts, subject!);
      const disabled = command === 'disable';
      await accounts.change(id, { disabled });
      const ended = disabled ? await sessions.endSessionsOf(id) : 0;
      out(disabled ? `Disabled ${id}; ${ended} session(s) ended.` : `Enabled ${id}.`);
    }
  } finally {
    await db.close();
  }
}

run(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message ? `${err.message}\n\n` : ''}${USAGE}\n`);
      process.exit(2);
    }
    if (err instanceof ConfigError) process.stderr.write(`${err.message}\nSee .env.example for every setting.\n`);
    else if (err instanceof HttpError) process.stderr.write(`${err.message}\n`);
    else process.stderr.write(`agents: ${errorMessage(err)}\n`);
    process.exit(1);
  },
);
