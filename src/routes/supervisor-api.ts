// Supervisors on a call, from the board: listen, coach, barge, leave, and their board softphone's token; agents
// asking for help from their page. Who acts comes from the session only; every supervisor route admits supervisors
// and admins, and answers an agent 403 with a message.
import express, { Router, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { requireJsonBody } from '../auth/middleware';
import { SUPERVISOR_MODES } from '../contact-center/supervision';
import { describeIssues, HttpError } from '../errors';
import type { Agent } from '../services/agents';
import { supervisorIdentity, type Supervision } from '../services/supervision';
import { createVoiceToken } from '../twilio/token';

export interface SupervisorApiDeps {
  supervision: Supervision;
  /** Admits a signed-in agent and puts them on res.locals.agent. */
  signedIn: RequestHandler[];
  /** Admits signed-in supervisors and admins only (403 with a message for agents). */
  supervisorsOnly: RequestHandler[];
  /** Refuses cross-site state changes (same origin and the session's CSRF token). */
  csrfProtection: RequestHandler[];
  twilio: { accountSid: string; apiKey: string; apiSecret: string };
  tokenTtlSeconds?: number;
}

const CallSid = z.string().regex(/^CA[0-9a-fA-F]{32}$/, 'must be the call\'s CallSid (CA and 32 hexadecimal digits)');
const Supervise = z.object({ mode: z.enum(SUPERVISOR_MODES, { message: 'must be listen, coach or barge' }), agentId: z.string().min(1).max(64).optional() }).strict();
const Empty = z.object({}).strict();
const Help = z.object({ note: z.string().max(200, 'keep the note to one line (200 characters)').optional() }).strict();

function agentOf(res: Response): Agent {
  const agent = res.locals.agent as Agent | undefined;
  if (!agent) throw new HttpError(401, 'Sign in first.');
  return agent;
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what = 'The request'): T {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw new HttpError(400, `${what}: ${describeIssues(result.error)}`);
  return result.data;
}

/** Routes under /api. */
export function supervisorApiRouter(deps: SupervisorApiDeps): Router {
  const router = Router();
  const json = [requireJsonBody, express.json({ limit: '4kb' })];
  const supervising = [...json, ...deps.supervisorsOnly, ...deps.csrfProtection];
  const acting = [...json, ...deps.signedIn, ...deps.csrfProtection];

  /**
   * Listen (muted), coach (heard by the agent only; `agentId` chooses the agent, default the call's owner) or barge
   * (heard by all): the first request rings the supervisor's board softphone into the call, later ones switch.
   * @route POST /api/calls/:callSid/supervise
   */
  router.post('/calls/:callSid/supervise', ...supervising, async (req, res) => {
    const callSid = parse(CallSid, req.params.callSid, 'The call');
    const { mode, agentId } = parse(Supervise, req.body);
    const result = await deps.supervision.supervise({ supervisorId: agentOf(res).id, callSid, mode, ...(agentId ? { agentId } : {}) });
    res.status(result.status === 'dialing' ? 202 : 200).json(result);
  });

  /**
   * The supervisor leaves the call (their leg ends; the call is untouched).
   * @route POST /api/calls/:callSid/leave
   */
  router.post('/calls/:callSid/leave', ...supervising, async (req, res) => {
    const callSid = parse(CallSid, req.params.callSid, 'The call');
    parse(Empty, req.body);
    await deps.supervision.leave({ supervisorId: agentOf(res).id, callSid });
    res.json({ status: 'left' });
  });

  /**
   * A Voice SDK Access Token for the supervisor's board softphone (its own identity: their agent page's softphone
   * never rings for a call they supervise).
   * @route POST /api/supervisor/token
   */
  router.post('/supervisor/token', ...supervising, (_req, res) => {
    const identity = supervisorIdentity(agentOf(res).id);
    const token = createVoiceToken({ ...deps.twilio, identity, ttlSeconds: deps.tokenTtlSeconds });
    res.set('Cache-Control', 'no-store').json({ token, identity });
  });

  /**
   * The agent on a call asks for help (`note`: one optional line); asking again changes the note.
   * @route POST /api/me/help
   */
  router.post('/me/help', ...acting, async (req, res) => {
    const { note } = parse(Help, req.body);
    const result = await deps.supervision.raiseHand({ agentId: agentOf(res).id, ...(note ? { note } : {}) });
    res.json({ status: 'raised', callSid: result.callSid });
  });

  /**
   * The agent lowers their hand.
   * @route POST /api/me/help/lower
   */
  router.post('/me/help/lower', ...acting, async (req, res) => {
    parse(Empty, req.body);
    const { lowered } = await deps.supervision.lowerHand({ agentId: agentOf(res).id });
    res.json({ status: lowered ? 'lowered' : 'not-raised' });
  });

  return router;
}
