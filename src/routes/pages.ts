// The pages people open: the agent softphone, and in demo mode the customer's phone.
import { Router } from 'express';
import type { AgentDirectory } from '../services/agents';

export interface PageDeps {
  agents: AgentDirectory;
  mode: 'twilio' | 'local';
  supportNumber: string;
  twilioLocalBase?: string;
}

/** The HTML pages. */
export function pageRouter(deps: PageDeps): Router {
  const router = Router();

  /**
   * The agent page: pick who you are, answer, bring a colleague in, hang up.
   * @route GET /
   */
  router.get('/', (_req, res) => {
    res.render('agent', { agents: deps.agents.all(), mode: deps.mode, twilioLocalBase: deps.twilioLocalBase, supportNumber: deps.supportNumber });
  });

  if (deps.mode === 'local') {
    /**
     * Demo mode only: a phone to call the support line from the browser.
     * @route GET /phone
     */
    router.get('/phone', (_req, res) => {
      res.render('phone', { mode: deps.mode, supportNumber: deps.supportNumber, twilioLocalBase: deps.twilioLocalBase });
    });
  }
  return router;
}
