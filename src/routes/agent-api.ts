// What the agent page calls: softphone tokens, the agent's current call, and bringing a colleague in.
import express, { Router } from 'express';
import { z } from 'zod';
import { HttpError } from '../errors';
import type { AgentDirectory } from '../services/agents';
import type { CallService } from '../services/calls';
import { createVoiceToken } from '../twilio/token';

export interface AgentApiDeps {
  calls: CallService;
  agents: AgentDirectory;
  twilio: { accountSid: string; apiKey: string; apiSecret: string };
  tokenTtlSeconds?: number;
}

const BringIn = z.object({ to: z.string().min(1, 'choose a colleague').max(64) }).strict();

/** Routes under the site root: /token/:agentId, /agents/:agentId/call, /conference/:agentId/call. */
export function agentApiRouter(deps: AgentApiDeps): Router {
  const router = Router();
  router.use(express.json({ limit: '16kb' }));

  async function knownAgent(id: string) {
    const agent = await deps.agents.find(id);
    if (!agent) throw new HttpError(404, `Unknown agent: ${id}`);
    return agent;
  }

  /**
   * A Voice SDK Access Token for the agent's softphone.
   * @route POST /token/:agentId
   */
  router.post('/token/:agentId', async (req, res) => {
    const agent = await knownAgent(String(req.params.agentId));
    const token = createVoiceToken({ ...deps.twilio, identity: agent.id, ttlSeconds: deps.tokenTtlSeconds });
    res.set('Cache-Control', 'no-store').json({ token, agentId: agent.id });
  });

  /**
   * The call this agent is on or being rung for, with every agent's leg; `call` is null when idle.
   * @route GET /agents/:agentId/call
   */
  router.get('/agents/:agentId/call', async (req, res) => {
    const agent = await knownAgent(String(req.params.agentId));
    res.set('Cache-Control', 'no-store').json({ agentId: agent.id, call: await deps.calls.activeCallFor(agent.id) });
  });

  /**
   * Brings a colleague (body `to`: their agent id) into the call `agentId` is on.
   * @route POST /conference/:agentId/call
   */
  router.post('/conference/:agentId/call', async (req, res) => {
    const from = await knownAgent(String(req.params.agentId));
    const body = BringIn.safeParse(req.body ?? {});
    if (!body.success) throw new HttpError(400, `Invalid request: ${body.error.issues.map((i) => `${i.path.join('.') || 'body'} ${i.message}`).join('; ')}`);
    const result = await deps.calls.bringInAgent({ fromAgentId: from.id, toAgentId: body.data.to });
    res.status(202).json({ status: 'dialing', conference: result.conference, agentId: result.agentId });
  });

  return router;
}
