// The admin page: add agents, rename them, set roles, disable and enable them, reset passwords. Admins only.
import express, { Router, type Response } from 'express';
import { z } from 'zod';
import type { Auth } from '../auth/middleware';
import { generatePassword } from '../auth/passwords';
import type { SessionStore } from '../auth/sessions';
import { HttpError } from '../errors';
import type { Logger } from '../logger';
import { AGENT_ROLES, type Agent, type AgentAccounts } from '../services/agents';

export interface AdminDeps {
  auth: Auth;
  agents: AgentAccounts;
  sessions: SessionStore;
  logger: Logger;
  mode: 'twilio' | 'local';
}

const field = (max: number) => z.string().max(max).transform((v) => v.trim());
// A name's own limit (1–100 characters) is the accounts' rule, said in words (src/services/agents.ts); the form's bound
// here only keeps the body small.
const AddAgent = z.object({
  name: field(8000),
  login: field(200),
  id: field(200).optional().transform((v) => v || undefined),
  role: z.enum(AGENT_ROLES).default('agent'),
  password: z.string().max(1000).optional().transform((v) => v || undefined),
  _csrf: z.string().optional(),
});
const ChangeAgent = z.object({ name: field(8000).optional(), role: z.enum(AGENT_ROLES).optional(), _csrf: z.string().optional() });
const ResetPassword = z.object({ password: z.string().max(1000).optional().transform((v) => v || undefined), _csrf: z.string().optional() });

/** GET /admin and the POST /admin/agents… forms it sends. */
export function adminRouter(deps: AdminDeps): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '8kb' });
  const admin = deps.auth.requireRole('admin');
  const protect = [form, ...admin, ...deps.auth.csrfProtection, deps.auth.exposeCsrfToken];

  async function render(res: Response, status: number, view: { notice?: string; secret?: string; error?: string } = {}): Promise<void> {
    const [agents, logins] = await Promise.all([deps.agents.all(), deps.agents.logins()]);
    res.status(status).render('admin', { title: 'Agents', mode: deps.mode, agents: agents.map((a) => ({ ...a, login: logins.get(a.id) })), roles: AGENT_ROLES, ...view });
  }

  /** An existing agent from the path, or 404. */
  async function target(id: string): Promise<Agent> {
    const agent = await deps.agents.find(id);
    if (!agent) throw new HttpError(404, `Unknown agent: ${id}`);
    return agent;
  }

  /**
   * The list of agents with forms to change them.
   * @route GET /admin
   */
  router.get('/admin', ...admin, deps.auth.exposeCsrfToken, async (_req, res) => {
    await render(res, 200);
  });

  /**
   * Adds an agent; with no password given, one is generated and shown once.
   * @route POST /admin/agents
   */
  router.post('/admin/agents', ...protect, async (req, res) => {
    const input = AddAgent.parse(req.body ?? {});
    const password = input.password ?? generatePassword();
    const agent = await deps.agents.add({ id: input.id, name: input.name, login: input.login, role: input.role, password });
    deps.logger.info('agent added', { agentId: agent.id, role: agent.role, by: res.locals.agent!.id });
    await render(res, 201, { notice: `Added ${agent.name} (${agent.id}).`, ...(input.password ? {} : { secret: `Their password (shown once): ${password}` }) });
  });

  /**
   * Renames an agent and/or sets their role.
   * @route POST /admin/agents/:agentId
   */
  router.post('/admin/agents/:agentId', ...protect, async (req, res) => {
    const agent = await target(String(req.params.agentId));
    const input = ChangeAgent.parse(req.body ?? {});
    // Refused (409) when it would leave no enabled admin, however many such changes arrive at once.
    // A name sent blank is refused (the accounts' rule), not taken for "unchanged".
    const changed = await deps.agents.change(agent.id, { name: input.name, role: input.role }, { by: res.locals.agent!.id });
    deps.logger.info('agent changed', { agentId: agent.id, role: changed.role, by: res.locals.agent!.id });
    // An admin who gave up their own role may no longer see this page: they go to the one their new role has.
    if (agent.id === res.locals.agent!.id && changed.role !== 'admin') return res.redirect(303, changed.role === 'supervisor' ? '/board' : '/');
    await render(res, 200, { notice: `Saved ${changed.name}.` });
  });

  /**
   * Disables an agent: they cannot sign in, and every session they have ends now.
   * @route POST /admin/agents/:agentId/disable
   */
  router.post('/admin/agents/:agentId/disable', ...protect, async (req, res) => {
    const agent = await target(String(req.params.agentId));
    if (agent.id === res.locals.agent!.id) throw new HttpError(409, 'You cannot disable yourself.');
    await deps.agents.change(agent.id, { disabled: true }, { by: res.locals.agent!.id });
    const ended = await deps.sessions.endSessionsOf(agent.id);
    deps.logger.info('agent disabled', { agentId: agent.id, sessionsEnded: ended, by: res.locals.agent!.id });
    await render(res, 200, { notice: `Disabled ${agent.name}; ${ended} session(s) ended.` });
  });

  /**
   * Enables a disabled agent again.
   * @route POST /admin/agents/:agentId/enable
   */
  router.post('/admin/agents/:agentId/enable', ...protect, async (req, res) => {
    const agent = await target(String(req.params.agentId));
    await deps.agents.change(agent.id, { disabled: false }, { by: res.locals.agent!.id });
    deps.logger.info('agent enabled', { agentId: agent.id, by: res.locals.agent!.id });
    await render(res, 200, { notice: `Enabled ${agent.name}.` });
  });

  /**
   * Sets a new password (generated and shown once when none is given) and ends the agent's sessions (their own
   * reset: every session but this one).
   * @route POST /admin/agents/:agentId/password
   */
  router.post('/admin/agents/:agentId/password', ...protect, async (req, res) => {
    const agent = await target(String(req.params.agentId));
    const input = ResetPassword.parse(req.body ?? {});
    const password = input.password ?? generatePassword();
    await deps.agents.setPassword(agent.id, password);
    // An admin resetting their own password stays signed in here, and only here: a session elsewhere (a forgotten
    // browser, someone who knew the old password) ends like anyone else's.
    const ended = await deps.sessions.endSessionsOf(agent.id, agent.id === res.locals.agent!.id ? { except: req.sessionID } : {});
    deps.logger.info('password reset', { agentId: agent.id, sessionsEnded: ended, by: res.locals.agent!.id });
    await render(res, 200, { notice: `New password set for ${agent.name}.`, ...(input.password ? {} : { secret: `Their password (shown once): ${password}` }) });
  });

  return router;
}
