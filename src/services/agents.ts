// The agent directory and routing rules. Today a fixed roster; accounts and presence will replace it without changing callers.

export interface Agent {
  id: string;
  name: string;
}

const ROSTER: readonly Agent[] = Object.freeze([
  { id: 'agent1', name: 'Agent 1' },
  { id: 'agent2', name: 'Agent 2' },
]);

export interface AgentDirectory {
  all(): readonly Agent[];
  find(id: string): Agent | undefined;
  /** The agent a new customer call rings first. */
  firstFor(): Agent;
  /** Who `fromAgentId` brings in when they do not name anyone. */
  defaultTransferTarget(fromAgentId: string): Agent | undefined;
}

/** The directory over a roster (the built-in one unless given). */
export function createAgentDirectory(roster: readonly Agent[] = ROSTER): AgentDirectory {
  if (roster.length === 0) throw new Error('the agent roster is empty');
  return {
    all: () => roster,
    find: (id) => roster.find((agent) => agent.id === id),
    firstFor: () => roster[0]!,
    defaultTransferTarget: (fromAgentId) => roster.find((agent) => agent.id !== fromAgentId),
  };
}

/** Identities as Twilio knows them: `client:<agentId>`. */
export function clientAddress(agentId: string): string {
  return `client:${agentId}`;
}
