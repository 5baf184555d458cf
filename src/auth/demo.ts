// Demo mode's accounts and the local stand-in's credentials: made once per installation, never constants in the source.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AGENTS_COLLECTION } from '../models/agent';
import type { AgentAccounts, AgentRole } from '../services/agents';
import { SESSIONS_COLLECTION } from './sessions';

/** The demo's people. They have no password: in demo mode (and only there) the sign-in page signs in as each in one click. */
export const DEMO_AGENTS: ReadonlyArray<{ id: string; name: string; role: AgentRole }> = [
  { id: 'ada', name: 'Ada Lovelace', role: 'agent' },
  { id: 'grace', name: 'Grace Hopper', role: 'agent' },
  { id: 'alan', name: 'Alan Turing', role: 'agent' },
  { id: 'katherine', name: 'Katherine Johnson', role: 'agent' },
  { id: 'margaret', name: 'Margaret Hamilton', role: 'supervisor' },
  { id: 'demo-admin', name: 'Demo Admin', role: 'admin' },
];

/**
 * Where each mode keeps its accounts and their sessions. Demo mode's are apart from Twilio mode's: anyone who could
 * reach a demo could sign in as its password-less admin and make accounts, and none of that may carry over when the
 * same database (DATA_DIR, or MONGODB_URI) runs in Twilio mode next, as the README's next step does.
 */
export function accountCollections(mode: 'twilio' | 'local'): { agents: string; sessions: string } {
  return mode === 'local' ? { agents: 'demo_agents', sessions: 'demo_sessions' } : { agents: AGENTS_COLLECTION, sessions: SESSIONS_COLLECTION };
}

/**
 * Twilio mode, on a database where an earlier version kept demo mode's accounts with Twilio mode's: disables the
 * password-less demo agents left there (nobody can sign in as them in Twilio mode, and a password-less "Demo Admin"
 * would hide that there is no real admin yet). Returns their ids.
 */
export async function disableLeftoverDemoAgents(accounts: AgentAccounts): Promise<string[]> {
  const leftovers = (await accounts.withoutPassword()).filter((a) => !a.disabled && DEMO_AGENTS.some((d) => d.id === a.id));
  // Even a password-less "Demo Admin" that is the only admin: nobody can sign in as it here.
  for (const agent of leftovers) await accounts.change(agent.id, { disabled: true }, { evenTheLastAdmin: true });
  return leftovers.map((a) => a.id);
}

/** Adds the demo agents that are missing (an agent an admin changed or disabled stays as they left it). */
export async function seedDemoAgents(accounts: AgentAccounts): Promise<number> {
  let added = 0;
  for (const agent of DEMO_AGENTS) if (await accounts.addIfAbsent({ ...agent, login: agent.id })) added += 1;
  return added;
}

export interface LocalTwilioCredentials {
  accountSid: string;
  authToken: string;
  apiKey: string;
  apiSecret: string;
}

const CredentialsFile = z.object({
  accountSid: z.string().regex(/^AC[0-9a-f]{32}$/),
  authToken: z.string().min(32),
  apiKey: z.string().regex(/^SK[0-9a-f]{32}$/),
  apiSecret: z.string().min(32),
});

/**
 * The local stand-in's credentials, from `<dataDir>/twilio-local.json`, made on first use (readable by this user only).
 * A missing or damaged file is replaced: nothing outside this installation uses them.
 */
export function loadLocalTwilioCredentials(dataDir: string): LocalTwilioCredentials {
  const file = path.resolve(dataDir, 'twilio-local.json');
  try {
    return CredentialsFile.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    const credentials = {
      accountSid: `AC${randomBytes(16).toString('hex')}`,
      authToken: randomBytes(24).toString('hex'),
      apiKey: `SK${randomBytes(16).toString('hex')}`,
      apiSecret: randomBytes(24).toString('hex'),
    };
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
    return credentials;
  }
}
