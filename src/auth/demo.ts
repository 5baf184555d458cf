// Demo mode's accounts and the local stand-in's credentials: made once per installation, never constants in the source.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { AgentAccounts, AgentRole } from '../services/agents';

/** The demo's people. They have no password: in demo mode (and only there) the sign-in page signs in as each in one click. */
export const DEMO_AGENTS: ReadonlyArray<{ id: string; name: string; role: AgentRole }> = [
  { id: 'ada', name: 'Ada Lovelace', role: 'agent' },
  { id: 'grace', name: 'Grace Hopper', role: 'agent' },
  { id: 'alan', name: 'Alan Turing', role: 'agent' },
  { id: 'katherine', name: 'Katherine Johnson', role: 'agent' },
  { id: 'margaret', name: 'Margaret Hamilton', role: 'supervisor' },
  { id: 'demo-admin', name: 'Demo Admin', role: 'admin' },
];

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
