// The agent directory. Today a fixed roster behind an async interface; accounts in the database replace it without changing callers.

export type AgentRole = 'agent' | 'supervisor' | 'admin';

export interface Agent {
  id: string;
  name: string;
  role: AgentRole;
  disabled: boolean;
}

const ROSTER: readonly Agent[] = Object.freeze([
  { id: 'agent1', name: 'Agent 1', role: 'agent', disabled: false },
  { id: 'agent2', name: 'Agent 2', role: 'agent', disabled: false },
]);

export interface AgentDirectory {
  /** Every agent, enabled or not. */
  all(): Promise<Agent[]>;
  find(id: string): Promise<Agent | undefined>;
}

/** The directory over a roster (the built-in one unless given). */
export function createAgentDirectory(roster: readonly Agent[] = ROSTER): AgentDirectory {
  return {
    all: async () => [...roster],
    find: async (id) => roster.find((agent) => agent.id === id),
  };
}

/** Identities as Twilio knows them: `client:<agentId>`. */
export function clientAddress(agentId: string): string {
  return `client:${agentId}`;
}
