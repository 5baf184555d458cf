// The pages people open: the signed-in agent's softphone, and in demo mode the customer's phone.
import { Router } from 'express';
import type { Auth } from '../auth/middleware';
import type { AgentDirectory } from '../services/agents';

export interface PageDeps {
  agents: AgentDirectory;
  auth: Auth;
  mode: 'twilio' | 'local';
  supportNumber: string;
  twilioLocalBase?: string;
}

/** The HTML pages. */
export function pageRouter(deps: PageDeps): Router {
  const router = Router();

  /**
   * The agent page for the signed-in agent: answer, bring a colleague in, hang up. Anonymous visitors go to sign-in.
   * @route GET /
   */
  router.get('/', ...deps.auth.requireAgent, deps.auth.exposeCsrfToken, async (_req, res) => {
    const me = res.locals.agent!;
    const colleagues = (await deps.agents.all()).filter((agent) => agent.id !== me.id && !agent.disabled);
    res.render('agent', { title: `Calls: ${me.name}`, colleagues, mode: deps.mode, twilioLocalBase: deps.twilioLocalBase, supportNumber: deps.supportNumber });
  });

  /**
   * The supervisor's board: who is free, who waits, calls in progress — live.
   * @route GET /board
   */
  router.get('/board', ...deps.auth.requireRole('supervisor', 'admin'), deps.auth.exposeCsrfToken, (_req, res) => {
    res.render('board', { title: 'The floor', mode: deps.mode, twilioLocalBase: deps.twilioLocalBase });
  });

  if (deps.mode === 'local') {
    /**
     * Demo mode only: a phone to call the support line from the browser.
     * @route GET /phone
     */
    router.get('/phone', (_req, res) => {
      res.render('phone', { title: 'Demo phone', mode: deps.mode, supportNumber: deps.supportNumber, twilioLocalBase: deps.twilioLocalBase });
    });
  }
  return router;
}
