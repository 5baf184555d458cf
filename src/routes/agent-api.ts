// What the agent page calls for its softphone and its call: tokens, and the agent's current call.
// Who is asking comes from the session only; the agent id in the path must be theirs (supervisors may read anyone's call).
import express, { Router } from 'express';
import { requireJsonBody, type Auth } from '../auth/middleware';
import { HttpError } from '../errors';
import type { Agent, AgentDirectory } from '../services/agents';
import type { CallService } from '../services/calls';
import { createVoiceToken } from '../twilio/token';

export interface AgentApiDeps {
  calls: CallService;
  agents: AgentDirectory;
  auth: Auth;
  twilio: { accountSid: string; apiKey: string; apiSecret: string };
  tokenTtlSeconds?: number;
}


/** The signed-in agent, when `pathId` is them; 403 otherwise (whether or not that agent exists). */
function self(signedIn: Agent, pathId: string): Agent {
  if (pathId !== signedIn.id) throw new HttpError(403, `You are signed in as ${signedIn.id}, not ${pathId}.`);
  return signedIn;
}

/** Routes under the site root: /token/:agentId and /agents/:agentId/call. */
export function agentApiRouter(deps: AgentApiDeps): Router {
  const router = Router();
  const json = [requireJsonBody, express.json({ limit: '16kb' })];
  const { requireAgent, csrfProtection } = deps.auth;

  /**
   * A Voice SDK Access Token for the signed-in agent's softphone.
   * @route POST /token/:agentId
   */
  router.post('/token/:agentId', ...json, ...requireAgent, ...csrfProtection, (req, res) => {
    const agent = self(res.locals.agent!, String(req.params.agentId));
    const token = createVoiceToken({ ...deps.twilio, identity: agent.id, ttlSeconds: deps.tokenTtlSeconds });
    res.set('Cache-Control', 'no-store').json({ token, agentId: agent.id });
  });

  /**
   * The call this agent is on or being rung for, with every agent's leg; `call` is null when idle.
   * Agents read their own; supervisors and admins anyone's.
   * @route GET /agents/:agentId/call
   */
  router.get('/agents/:agentId/call', ...requireAgent, async (req, res) => {
    const signedIn = res.locals.agent!;
    const id = String(req.params.agentId);
    let agent = signedIn;
    if (id !== signedIn.id) {
      if (signedIn.role === 'agent') self(signedIn, id);
      const other = await deps.agents.find(id);
      if (!other) throw new HttpError(404, `Unknown agent: ${id}`);
      agent = other;
    }
    res.set('Cache-Control', 'no-store').json({ agentId: agent.id, call: await deps.calls.activeCallFor(agent.id) });
  });

  return router;
}
