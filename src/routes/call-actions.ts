// What an agent does on their call, in one place: hang up, hold and resume the customer, mute, bring a colleague in,
// consult, transfer cold (or back to the line), and decide an open consult. Who acts comes from the session only. The original tutorial's bring-in URL,
// POST /conference/:agentId/call, stays as a thin alias (a page or script written for it keeps working).
import express, { Router, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { requireJsonBody } from '../auth/middleware';
import { TRANSFER_ACTIONS } from '../contact-center/transfer';
import { HttpError } from '../errors';
import type { Agent } from '../services/agents';
import type { CallService } from '../services/calls';
import type { ChangeHub } from '../services/changes';
import type { WrapUpService } from '../services/wrap-up';

export interface CallActionDeps {
  calls: CallService;
  changes: ChangeHub;
  /** Admits a signed-in agent and puts them on res.locals.agent. */
  signedIn: RequestHandler[];
  /** Refuses cross-site state changes (same origin and the session's CSRF token). */
  csrfProtection: RequestHandler[];
  /** Wrap-up codes (optional: without it POST /api/me/wrap-up answers 404). */
  wrapUp?: WrapUpService;
}

const To = z.string().min(1, 'choose a colleague').max(64);
const BringIn = z.object({ to: To }).strict();
const Consult = z.object({ to: To, note: z.string().max(500).optional() }).strict();
const Cold = z.object({ to: z.string().min(1, 'choose a colleague or the queue').max(64), note: z.string().max(500).optional() }).strict();
const TransferAction = z.enum(TRANSFER_ACTIONS);
const Mute = z.object({ muted: z.boolean() }).strict();
const CallOut = z.object({ to: z.string().trim().regex(/^\+[1-9]\d{1,14}$/, 'The number to call must be in E.164 form: + and the country code, e.g. +15551234567.') }).strict();
const WrapUpPick = z.object({ callSid: z.string().regex(/^CA[0-9a-fA-F]{32}$/, 'must be the call\'s CallSid'), code: z.string().min(1, 'choose a wrap-up code').max(64), note: z.string().max(1000).optional() }).strict();

function agentOf(res: Response): Agent {
  const agent = res.locals.agent as Agent | undefined;
  if (!agent) throw new HttpError(401, 'Sign in first.');
  return agent;
}

/** Routes under the site root: /api/me/… and the tutorial's /conference/:agentId/call. */
export function callActionRouter(deps: CallActionDeps): Router {
  const router = Router();
  const json = [requireJsonBody, express.json({ limit: '4kb' })];
  const acting = [...json, ...deps.signedIn, ...deps.csrfProtection];

  /**
   * The agent hangs up their call (on purpose): through Twilio, so it works even from a reloaded page.
   * @route POST /api/me/hangup
   */
  router.post('/api/me/hangup', ...acting, async (_req, res) => {
    const result = await deps.calls.hangUp(agentOf(res).id);
    deps.changes.publish('calls', 'agents');
    res.json({ status: 'hanging-up', callSid: result.callSid });
  });

  /**
   * The agent brings a colleague (`to`) straight into the call they are on.
   * @route POST /api/me/bring-in
   */
  const bringIn: RequestHandler = async (req, res) => {
    const { to } = BringIn.parse(req.body ?? {});
    const result = await deps.calls.bringInAgent({ fromAgentId: agentOf(res).id, toAgentId: to });
    res.status(202).json({ status: 'dialing', conference: result.conference, agentId: result.agentId });
  };
  router.post('/api/me/bring-in', ...acting, bringIn);

  /**
   * The seed tutorial's bring-in URL: the path must name the signed-in agent.
   * @route POST /conference/:agentId/call
   */
  router.post(
    '/conference/:agentId/call',
    ...acting,
    (req, res, next) => {
      const me = agentOf(res);
      if (String(req.params.agentId) !== me.id) throw new HttpError(403, `You are signed in as ${me.id}, not ${String(req.params.agentId)}.`);
      next();
    },
    bringIn,
  );

  /**
   * Warm transfer with consult: the customer goes on hold while the agent talks with `to`; `note` is shown to them.
   * @route POST /api/me/consult
   */
  router.post('/api/me/consult', ...acting, async (req, res) => {
    const body = Consult.parse(req.body ?? {});
    const result = await deps.calls.consult({ fromAgentId: agentOf(res).id, toAgentId: body.to, note: body.note });
    res.status(202).json({ status: 'dialing', ...result });
  });

  /**
   * Cold transfer to an agent (`to`: their id) or back to the waiting line (`to`: "queue"); the agent leaves at once.
   * @route POST /api/me/transfer-cold
   */
  router.post('/api/me/transfer-cold', ...acting, async (req, res) => {
    const body = Cold.parse(req.body ?? {});
    res.status(202).json({ status: 'transferring', ...(await deps.calls.coldTransfer({ fromAgentId: agentOf(res).id, to: body.to, note: body.note })) });
  });

  /**
   * The consult's outcome: complete (the colleague takes over), merge (three-way), toggle (talk to the customer while
   * the colleague holds, and back) or cancel.
   * @route POST /api/me/transfer/:action
   */
  router.post('/api/me/transfer/:action', ...acting, async (req, res) => {
    const action = TransferAction.safeParse(req.params.action);
    if (!action.success) throw new HttpError(404, `Unknown transfer action: choose one of ${TRANSFER_ACTIONS.join(', ')}.`);
    res.json(await deps.calls.transferAction({ agentId: agentOf(res).id, action: action.data }));
  });

  /**
   * Hold: the customer hears the line's music and nobody hears them; Resume takes them off hold.
   * @route POST /api/me/hold
   * @route POST /api/me/resume
   */
  router.post('/api/me/hold', ...acting, async (_req, res) => {
    res.json(await deps.calls.holdCustomer({ agentId: agentOf(res).id, on: true }));
  });
  router.post('/api/me/resume', ...acting, async (_req, res) => {
    res.json(await deps.calls.holdCustomer({ agentId: agentOf(res).id, on: false }));
  });

  /**
   * The page muted or unmuted the agent's microphone (the SDK's call.mute()); kept so the floor shows it.
   * @route POST /api/me/mute
   */
  router.post('/api/me/mute', ...acting, async (req, res) => {
    const { muted } = Mute.parse(req.body ?? {});
    res.json(await deps.calls.reportMute({ agentId: agentOf(res).id, muted }));
  });

  /**
   * The agent calls a number (caller ID: the support number): their own phone rings first and the page answers it.
   * @route POST /api/me/call-out
   */
  router.post('/api/me/call-out', ...acting, async (req, res) => {
    const { to } = CallOut.parse(req.body ?? {});
    const result = await deps.calls.callOut({ agentId: agentOf(res).id, to });
    res.status(202).json({ status: 'dialing', callSid: result.callSid, to });
  });

  /**
   * The agent picks the wrap-up code (and may write a note) for their last call.
   * @route POST /api/me/wrap-up
   */
  router.post('/api/me/wrap-up', ...acting, async (req, res) => {
    if (!deps.wrapUp) throw new HttpError(404, 'Wrap-up codes are not enabled.');
    const body = WrapUpPick.parse(req.body ?? {});
    const pick = await deps.wrapUp.save(agentOf(res).id, body);
    res.status(201).json({ status: 'saved', callSid: pick.callSid, code: pick.code, codeName: pick.codeName });
  });

  return router;
}
