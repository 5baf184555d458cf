// What the live pages call: the signed-in agent's state, presence and softphone heartbeat, the supervisor's board,
// and the server-sent event stream that tells pages when to refresh.
import express, { Router, type RequestHandler, type Response } from 'express';
import { requireJsonBody } from '../auth/middleware';
import { z } from 'zod';
import { CHOSEN_STATUSES, type Presence } from '../contact-center/presence';
import { TRANSFER_ACTIONS } from '../contact-center/transfer';
import { HttpError } from '../errors';
import type { PresenceStore } from '../models/presence';
import type { Agent, AgentDirectory } from '../services/agents';
import type { CallService, CallView } from '../services/calls';
import type { ChangeHub } from '../services/changes';
import type { Routing } from '../services/routing';

export interface ContactCenterApiDeps {
  calls: CallService;
  routing: Routing;
  presence: PresenceStore;
  agents: AgentDirectory;
  changes: ChangeHub;
  /** Admits a signed-in agent and puts them on res.locals.agent. */
  signedIn: RequestHandler[];
  /** Admits signed-in supervisors and admins only. */
  supervisorsOnly: RequestHandler[];
  /** Refuses cross-site state changes (same origin and the session's CSRF token). */
  csrfProtection: RequestHandler[];
  offlineAfterSeconds: number;
  /** Seconds between keep-alive comments on the event stream. */
  keepAliveSeconds?: number;
  /** The board's tiles (service metrics today and over the last 15 minutes), from what the board read. */
  tiles?: (inputs: { now: Date; agents: Array<{ presence: Presence }>; live: CallView[] }) => Promise<unknown>;
}

const Consult = z.object({ to: z.string().min(1, 'choose a colleague').max(64), note: z.string().max(500).optional() }).strict();
const Cold = z.object({ to: z.string().min(1, 'choose a colleague or the queue').max(64), note: z.string().max(500).optional() }).strict();
const TransferAction = z.enum(TRANSFER_ACTIONS);
const SetPresence = z.object({ status: z.enum(CHOSEN_STATUSES) }).strict();
const Heartbeat = z
  .object({
    tab: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'must be the tab id the page made'),
    takeOver: z.boolean().optional(),
    /** The page's softphone is registered: only then is the agent offered calls. */
    registered: z.boolean().optional(),
  })
  .strict();

function agentOf(res: Response): Agent {
  const agent = res.locals.agent as Agent | undefined;
  if (!agent) throw new HttpError(401, 'Sign in first.');
  return agent;
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (!result.success) throw new HttpError(400, `Invalid request: ${result.error.issues.map((i) => `${i.path.join('.') || 'body'} ${i.message}`).join('; ')}`);
  return result.data;
}

const seconds = (from: Date | string | undefined, now: Date): number | undefined => (from ? Math.max(0, Math.round((now.getTime() - new Date(from).getTime()) / 1000)) : undefined);

/** Routes under /api. */
export function contactCenterApiRouter(deps: ContactCenterApiDeps): Router {
  const router = Router();
  const json = [requireJsonBody, express.json({ limit: '4kb' })];

  async function roster(now: Date) {
    const all = await deps.agents.all();
    const presence = await deps.routing.presenceOfAll(now, all);
    return all
      .filter((agent) => !agent.disabled)
      .map((agent) => {
        const p = presence.get(agent.id);
        return { id: agent.id, name: agent.name, role: agent.role, presence: p?.presence ?? 'offline', since: p?.since, inStateSeconds: seconds(p?.since, now), note: p?.note };
      });
  }

  function callContext(call: CallView | null, now: Date, names: Map<string, string>) {
    if (!call) return null;
    return {
      ...call,
      waitedSeconds: seconds(call.createdAt, call.answeredAt ? new Date(call.answeredAt) : now),
      talkSeconds: call.answeredAt ? seconds(call.answeredAt, now) : undefined,
      participants: call.participants.map((leg) => ({ ...leg, name: names.get(leg.agentId) ?? leg.agentId })),
    };
  }

  /**
   * The signed-in agent's page state: who they are, their presence, their call with the caller's context, colleagues.
   * @route GET /api/me
   */
  router.get('/me', ...deps.signedIn, async (_req, res) => {
    const me = agentOf(res);
    const now = new Date();
    const [agents, { call, live }] = await Promise.all([roster(now), deps.calls.overviewFor(me.id)]);
    const names = new Map(agents.map((a) => [a.id, a.name]));
    const mine = agents.find((a) => a.id === me.id);
    const waiting = live.filter((c) => c.status === 'waiting');
    res.set('Cache-Control', 'no-store').json({
      you: { id: me.id, name: me.name, role: me.role, presence: mine?.presence ?? 'offline', since: mine?.since, note: mine?.note },
      call: callContext(call, now, names),
      colleagues: agents.filter((a) => a.id !== me.id),
      line: { waiting: waiting.length, longestWaitSeconds: waiting.length ? seconds(waiting[0]!.createdAt, now) : 0 },
    });
  });

  /**
   * The agent sets themselves available or away.
   * @route POST /api/me/presence
   */
  router.post('/me/presence', ...json, ...deps.signedIn, ...deps.csrfProtection, async (req, res) => {
    const me = agentOf(res);
    const { status } = parse(SetPresence, req.body);
    await deps.presence.choose(me.id, status);
    deps.changes.publish('agents');
    if (status === 'available') deps.routing.dispatch();
    res.json({ status });
  });

  /**
   * The page's softphone is alive. One tab per agent owns the softphone; another tab is told so, unless it takes over.
   * @route POST /api/me/heartbeat
   */
  router.post('/me/heartbeat', ...json, ...deps.signedIn, ...deps.csrfProtection, async (req, res) => {
    const me = agentOf(res);
    const { tab, takeOver, registered } = parse(Heartbeat, req.body);
    const { owner, cameOnline, wentQuiet } = await deps.presence.heartbeat(me.id, tab, { takeOver: takeOver ?? false, staleMs: deps.offlineAfterSeconds * 1000, registered: registered ?? false });
    if (wentQuiet) deps.changes.publish('agents');
    if (cameOnline) {
      deps.changes.publish('agents');
      deps.routing.dispatch();
    }
    res.json({ owner, everySeconds: Math.max(2, Math.floor(deps.offlineAfterSeconds / 3)) });
  });

  /**
   * The agent hangs up their call (on purpose): through Twilio, so it works even from a reloaded page.
   * @route POST /api/me/hangup
   */
  router.post('/me/hangup', ...json, ...deps.signedIn, ...deps.csrfProtection, async (_req, res) => {
    const me = agentOf(res);
    const result = await deps.calls.hangUp(me.id);
    deps.changes.publish('calls', 'agents');
    res.json({ status: 'hanging-up', callSid: result.callSid });
  });

  /**
   * Warm transfer with consult: the customer goes on hold while the agent talks with `to`; `note` is shown to them.
   * @route POST /api/me/consult
   */
  router.post('/me/consult', ...json, ...deps.signedIn, ...deps.csrfProtection, async (req, res) => {
    const me = agentOf(res);
    const body = parse(Consult, req.body);
    const result = await deps.calls.consult({ fromAgentId: me.id, toAgentId: body.to, note: body.note });
    res.status(202).json({ status: 'dialing', ...result });
  });

  /**
   * Cold transfer to an agent (`to`: their id) or back to the waiting line (`to`: "queue"); the agent leaves at once.
   * @route POST /api/me/transfer-cold
   */
  router.post('/me/transfer-cold', ...json, ...deps.signedIn, ...deps.csrfProtection, async (req, res) => {
    const me = agentOf(res);
    const body = parse(Cold, req.body);
    res.status(202).json({ status: 'transferring', ...(await deps.calls.coldTransfer({ fromAgentId: me.id, to: body.to, note: body.note })) });
  });

  /**
   * The consult's outcome: complete (the colleague takes over), merge (three-way), toggle (talk to the customer while
   * the colleague holds, and back) or cancel.
   * @route POST /api/me/transfer/:action
   */
  router.post('/me/transfer/:action', ...json, ...deps.signedIn, ...deps.csrfProtection, async (req, res) => {
    const me = agentOf(res);
    const action = TransferAction.safeParse(req.params.action);
    if (!action.success) throw new HttpError(404, '`Unknown transfer action: ${TRANSFER_ACTIONS.join(', ')}.`');
    res.json(await deps.calls.transferAction({ agentId: me.id, action: action.data }));
  });

  /**
   * The floor: agents with presence and time in state, the waiting line, calls in progress.
   * @route GET /api/board
   */
  router.get('/board', ...deps.supervisorsOnly, async (_req, res) => {
    const now = new Date();
    const [agents, live] = await Promise.all([roster(now), deps.calls.liveCalls()]);
    const names = new Map(agents.map((a) => [a.id, a.name]));
    // The tiles' history part may fail on its own (the history database); the floor is still worth showing.
    const tiles = deps.tiles ? await deps.tiles({ now, agents, live }).catch(() => null) : undefined;
    res.set('Cache-Control', 'no-store').json({
      ...(tiles !== undefined ? { tiles } : {}),
      agents,
      line: live.filter((c) => c.status === 'waiting' || c.status === 'offered').map((c) => ({ callSid: c.callSid, status: c.status, from: c.from, offeredTo: c.offeredTo, waitedSeconds: seconds(c.createdAt, now) })),
      calls: live.filter((c) => c.status === 'in-progress').map((c) => callContext(c, now, names)),
    });
  });

  /**
   * Server-sent events: `change` with the topics that changed, from any app instance, within a second.
   * @route GET /api/events
   */
  router.get('/events', ...deps.signedIn, (req, res) => {
    res.set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
    res.write('retry: 2000\n\n');
    const send = (topics: string[]): void => {
      res.write(`event: change\ndata: ${JSON.stringify({ topics })}\n\n`);
    };
    const unsubscribe = deps.changes.subscribe(send);
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), (deps.keepAliveSeconds ?? 15) * 1000);
    req.on('close', () => {
      clearInterval(keepAlive);
      unsubscribe();
    });
  });

  return router;
}
