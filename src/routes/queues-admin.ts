// Queues and agents' skills on /admin: add a queue (name, key, greeting, agents, skills, priority, default, overflow),
// change or remove it, and set each agent's skills. A section of the admin page (views/admin-queues.pug) whose data
// this router puts on res.locals before the page renders; its forms post here and come back to the page.
import express, { Router } from 'express';
import { z } from 'zod';
import type { Auth } from '../auth/middleware';
import { refuseUnfit } from '../contact-center/plain-text';
import { menuPrompt, parseList, queueIdOf, type Queue } from '../contact-center/queues';
import { errorMessage, HttpError } from '../errors';
import type { Logger } from '../logger';
import type { AgentDirectory } from '../services/agents';
import type { QueueService } from '../services/queues';

export interface QueuesAdminDeps {
  auth: Auth;
  queues: QueueService;
  agents: Pick<AgentDirectory, 'all'>;
  logger: Logger;
}

/** What a priority or an overflow's wait may be, said as the admin page's error. */
const PRIORITY_RANGE = 'The priority is a whole number from 0 to 100 (or blank).';
const OVERFLOW_RANGE = 'The overflow waits a whole number of seconds, 5 to 3600 (or blank).';
const QueueForm = z.object({
  name: z.string().trim().min(1, 'A queue needs a name.').max(60, 'A queue name is at most 60 characters.').superRefine(refuseUnfit('A queue name')),
  key: z.union([z.literal(''), z.string().regex(/^[1-9]$/, 'The key is one digit, 1 to 9 (or blank).')]).optional(),
  greeting: z.string().trim().max(300, 'A greeting is at most 300 characters.').superRefine(refuseUnfit('A greeting')).optional(),
  agents: z.string().max(2000).optional(),
  skills: z.string().max(2000).optional(),
  priority: z.union([z.literal(''), z.coerce.number().int(PRIORITY_RANGE).min(0, PRIORITY_RANGE).max(100, PRIORITY_RANGE)], { error: PRIORITY_RANGE }).optional(),
  isDefault: z.enum(['true']).optional(),
  overflowTo: z.string().max(40).optional(),
  overflowAfterSeconds: z.union([z.literal(''), z.coerce.number().int(OVERFLOW_RANGE).min(5, OVERFLOW_RANGE).max(3600, OVERFLOW_RANGE)], { error: OVERFLOW_RANGE }).optional(),
  _csrf: z.string().optional(),
});
const QueueId = z.string().regex(/^[a-z0-9-]{1,40}$/, 'Unknown queue.');
const AgentId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'Unknown agent.');
const RemoveForm = z.object({ confirm: z.string().optional(), _csrf: z.string().optional() });
const SkillsForm = z.object({ skills: z.string().max(2000).optional(), _csrf: z.string().optional() });

/** What the page says after each form of this section; `name` is the queue's name, or the agent's id. */
const DONE = {
  added: (name: string) => `Added the queue ${name}.`,
  saved: (name: string) => `Saved the queue ${name}.`,
  removed: (name: string) => `Removed the queue ${name}.`,
  skills: (name: string) => `Saved the skills of ${name}.`,
};

/**
 * The sentence for `?done=…&name=…`, or undefined for anything else. A link from elsewhere cannot make the page say
 * what is not so: an added or saved queue must exist by that name, a removed one must not, and skills are an agent's.
 */
function doneNotice(query: Record<string, unknown>, queueNames: readonly string[], agentIds: readonly string[]): string | undefined {
  const what = query.done;
  const name = typeof query.name === 'string' ? query.name : '';
  if (typeof what !== 'string' || !Object.hasOwn(DONE, what) || !name) return undefined;
  const so = what === 'skills' ? agentIds.includes(name) : what === 'removed' ? !queueNames.includes(name) && name.length <= 60 : queueNames.includes(name);
  return so ? DONE[what as keyof typeof DONE](name) : undefined;
}

/** A queue from its form; `id` keeps an existing queue's id. */
function queueOf(input: z.infer<typeof QueueForm>, id: string): Queue {
  const overflowTo = input.overflowTo?.trim();
  return {
    id,
    name: input.name,
    ...(input.key ? { key: input.key } : {}),
    ...(input.greeting ? { greeting: input.greeting } : {}),
    agents: [...new Set((input.agents ?? '').split(',').map((s) => s.trim()).filter(Boolean))],
    skills: parseList(input.skills ?? ''),
    priority: typeof input.priority === 'number' ? input.priority : 0,
    ...(input.isDefault ? { isDefault: true } : {}),
    ...(overflowTo ? { overflow: { to: overflowTo, afterSeconds: typeof input.overflowAfterSeconds === 'number' ? input.overflowAfterSeconds : 60 } } : {}),
  };
}

/** GET /admin's queues section data, and the POSTs under /admin/queues and /admin/agent-skills. Mount before adminRouter. */
export function queuesAdminRouter(deps: QueuesAdminDeps): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '16kb' });
  const protect = [form, ...deps.auth.requireRole('admin'), ...deps.auth.csrfProtection];
  const back = '/admin#queues';
  /** Back to the page, which says what was done (a fixed sentence around the name: see DONE). */
  const done = (what: keyof typeof DONE, name: string): string => `/admin?done=${what}&name=${encodeURIComponent(name)}#queues`;

  router.use('/admin', async (req, res, next) => {
    // A database that fails here leaves the section out (the admin router answers for the database itself).
    const found = await Promise.all([deps.queues.load(), deps.agents.all()]).catch((err: unknown) => {
      deps.logger.warn('could not read the queues for /admin', { error: errorMessage(err) });
      return undefined;
    });
    if (found) {
      const [setup, agents] = found;
      res.locals.queues = {
        list: setup.queues.map((q) => ({ ...q, agentsText: q.agents.join(', '), skillsText: q.skills.join(', ') })),
        menu: setup.queues.length >= 2 ? menuPrompt(setup.queues) : undefined,
        agents: agents.filter((a) => !a.disabled).map((a) => ({ id: a.id, name: a.name, skills: (setup.skills.get(a.id) ?? []).join(', ') })),
        notice: doneNotice(req.query, setup.queues.map((q) => q.name), agents.map((a) => a.id)),
      };
    }
    next();
  });

  /**
   * Adds a queue (its id is made from its name).
   * @route POST /admin/queues
   */
  router.post('/admin/queues', ...protect, async (req, res) => {
    const input = QueueForm.parse(req.body ?? {});
    const queue = queueOf(input, queueIdOf(input.name));
    await deps.queues.add(queue);
    deps.logger.info('queue added', { queue: queue.id, by: res.locals.agent!.id });
    res.redirect(303, done('added', queue.name));
  });

  /**
   * Changes a queue: every field of the form replaces the one stored.
   * @route POST /admin/queues/:queueId
   */
  router.post('/admin/queues/:queueId', ...protect, async (req, res) => {
    const id = QueueId.parse(req.params.queueId);
    const queue = queueOf(QueueForm.parse(req.body ?? {}), id);
    await deps.queues.change(queue);
    deps.logger.info('queue changed', { queue: id, by: res.locals.agent!.id });
    res.redirect(303, done('saved', queue.name));
  });

  /**
   * Removes a queue (calls waiting in it go to any agent). It cannot be undone, so the Remove button's first post
   * answers a page that asks once more; that page's form posts again with confirm=yes.
   * @route POST /admin/queues/:queueId/delete
   */
  router.post('/admin/queues/:queueId/delete', ...protect, deps.auth.exposeCsrfToken, async (req, res) => {
    const id = QueueId.parse(req.params.queueId);
    const queue = (await deps.queues.load()).queues.find((q) => q.id === id);
    if (!queue) throw new HttpError(404, `There is no queue ${id} (it may have been removed already).`);
    if (RemoveForm.parse(req.body ?? {}).confirm !== 'yes') {
      return res.render('admin-confirm', {
        title: `Remove ${queue.name}?`,
        heading: `Remove the queue ${queue.name}?`,
        question: `Callers waiting in ${queue.name} will wait for any agent${queue.key ? `, and key ${queue.key} leaves the menu` : ''}. This cannot be undone.`,
        action: `/admin/queues/${id}/delete`,
        yes: `Remove ${queue.name}`,
        no: 'Keep it',
        back,
      });
    }
    await deps.queues.remove(id);
    deps.logger.info('queue removed', { queue: id, by: res.locals.agent!.id });
    res.redirect(303, done('removed', queue.name));
  });

  /**
   * Sets an agent's skills ('billing, french'; blank: none).
   * @route POST /admin/agent-skills/:agentId
   */
  router.post('/admin/agent-skills/:agentId', ...protect, async (req, res) => {
    const agentId = AgentId.parse(req.params.agentId);
    if (!(await deps.agents.all()).some((a) => a.id === agentId)) throw new HttpError(404, `There is no agent ${agentId}.`);
    const { skills } = SkillsForm.parse(req.body ?? {});
    await deps.queues.setSkills(agentId, parseList(skills ?? ''));
    deps.logger.info('agent skills set', { agentId, by: res.locals.agent!.id });
    res.redirect(303, done('skills', agentId));
  });

  return router;
}
