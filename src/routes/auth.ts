// Signing in and out: the sign-in page, password sign-in with failures limited, demo mode's one-click sign-in.
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { DEMO_AGENTS } from '../auth/demo';
import type { Auth } from '../auth/middleware';
import type { SignInLimiter } from '../auth/sign-in-limiter';
import { BusyError, errorMessage, HttpError } from '../errors';
import type { Logger } from '../logger';
import { normaliseLogin, type Agent, type AgentAccounts } from '../services/agents';

export interface AuthRouteDeps {
  auth: Auth;
  agents: AgentAccounts;
  limiter: SignInLimiter;
  logger: Logger;
  mode: 'twilio' | 'local';
  /** An agent signed out: they are offline at once (nobody should be offered a call on a page that is gone). */
  onSignOut?: (agentId: string) => Promise<void>;
  /** After a sign-in: the agent starts the shift away (a call must not ring a page they have not looked at yet). */
  onSignIn?: (agentId: string) => Promise<void>;
}

const SignIn = z.object({
  login: z.string().max(200).default(''),
  password: z.string().max(1000).default(''),
  next: z.string().max(2000).optional(),
  _csrf: z.string().optional(),
});
const DemoSignIn = z.object({ agentId: z.string().max(64), next: z.string().max(2000).optional(), _csrf: z.string().optional() });

/** Only our own paths: `/x`, never `//host` or `/\host`. */
function safeNext(next: string | undefined): string {
  return next && /^\/(?![/\\])/.test(next) ? next : '/';
}

function minutes(seconds: number): string {
  const m = Math.ceil(seconds / 60);
  return m <= 1 ? 'a minute' : `${m} minutes`;
}

/** What the sign-in page says to someone whose open page's session ended. */
/**
 * What sign-in says to an open page sent there because its session ended (`?ended=`, from the stream's `signed-out`
 * event, public/js/api.js): why, when the server could tell; `1` (or anything else) when it could not.
 */
export const SESSION_ENDED: Readonly<Record<'disabled' | 'expired' | 'ended' | 'unknown', string>> = {
  disabled: 'You were signed out: an admin disabled your account.',
  expired: 'You were signed out: a session ends a set number of hours after sign-in, however busy. Sign in again to go on.',
  ended: 'You were signed out: you signed out in another tab or window, or your password was changed. Sign in again to go on.',
  unknown: 'You were signed out: you signed out in another tab, your password was changed, or an admin disabled your account. Sign in again to go on.',
};

function sessionEndedNotice(ended: unknown): string | undefined {
  if (ended === undefined) return undefined;
  return ended === 'disabled' || ended === 'expired' || ended === 'ended' ? SESSION_ENDED[ended] : SESSION_ENDED.unknown;
}

/** GET/POST /sign-in, POST /sign-in/demo (demo mode only), POST /sign-out. */
export function authRouter(deps: AuthRouteDeps): Router {
  const router = Router();
  const { auth } = deps;
  const form = express.urlencoded({ extended: false, limit: '8kb' });
  const demo = deps.mode === 'local';

  async function renderSignIn(req: Request, res: Response, status: number, view: { error?: string; notice?: string; login?: string; next?: string }): Promise<void> {
    // The forms' CSRF token is signed over a cookie, not kept in a session: an anonymous visitor stores nothing.
    res.locals.csrfToken = auth.issueSignInToken(req, res);
    const demoAgents = demo ? (await deps.agents.all()).filter((a) => !a.disabled && DEMO_AGENTS.some((d) => d.id === a.id)) : [];
    res.status(status).render('sign-in', { title: 'Sign in', mode: deps.mode, demoAgents, ...view, next: view.next && safeNext(view.next) !== '/' ? view.next : undefined });
  }

  /** A sign-in form must carry the token of a sign-in page this browser was served; otherwise it is served again. */
  const signInForm: RequestHandler = async (req, res, next) => {
    if (auth.signInTokenIsValid(req)) return next();
    deps.logger.info('sign-in form refused: its token is missing, expired or not for this browser');
    const body = (req.body ?? {}) as Record<string, unknown>;
    const text = (value: unknown) => (typeof value === 'string' ? value.slice(0, 2000) : undefined);
    await renderSignIn(req, res, 403, { error: 'This page has expired or the request did not come from it: reload the page and try again.', login: text(body.login), next: text(body.next) });
  };

  /**
   * The sign-in page (signed-in agents go straight to their page).
   * @route GET /sign-in
   */
  router.get('/sign-in', auth.session, async (req, res) => {
    const nextPath = typeof req.query.next === 'string' ? req.query.next : undefined;
    if (await auth.currentAgent(req)) return res.redirect(303, safeNext(nextPath));
    // An open page whose session ended comes here with ?ended=<why> (public/js/api.js): it says why they must sign in again.
    const notice = sessionEndedNotice(req.query.ended);
    await renderSignIn(req, res, 200, { next: nextPath, ...(notice ? { notice } : {}) });
  });

  /**
   * Signs in with a sign-in name and password. Failures count per sign-in name and per address.
   * @route POST /sign-in
   */
  router.post('/sign-in', form, auth.sameOrigin, signInForm, auth.session, async (req, res) => {
    const input = SignIn.parse(req.body ?? {});
    const login = normaliseLogin(input.login);
    const address = req.ip ?? 'unknown';
    // The failure is counted before the password is checked (and given back when it was right): parallel guesses
    // cannot all pass a limit that none of them has reached yet.
    const verdict = await deps.limiter.reserve(login, address);
    if (verdict.blocked) {
      deps.logger.warn('sign-in refused: too many failures', { scope: verdict.scope });
      res.set('Retry-After', String(verdict.retryAfterSeconds));
      const who = verdict.scope === 'account' ? 'this account' : 'your address';
      return renderSignIn(req, res, 429, { error: `Too many failed sign-ins for ${who}. Try again in ${minutes(verdict.retryAfterSeconds)}.`, login: input.login, next: input.next });
    }
    let agent: Agent | undefined;
    try {
      agent = input.login && input.password ? await deps.agents.authenticate(login, input.password) : undefined;
    } catch (err) {
      await verdict.attempt.notChecked();
      if (!(err instanceof BusyError)) throw err;
      deps.logger.warn('sign-in refused: too many password checks at once');
      res.set('Retry-After', String(err.retryAfterSeconds));
      return renderSignIn(req, res, 503, { error: err.message, login: input.login, next: input.next });
    }
    if (!agent) {
      await verdict.attempt.failed();
      deps.logger.info('sign-in failed');
      return renderSignIn(req, res, 401, { error: 'Wrong sign-in name or password (or the account is disabled).', login: input.login, next: input.next });
    }
    await verdict.attempt.succeeded();
    await auth.signIn(req, agent);
    auth.clearSignInToken(res);
    await deps.onSignIn?.(agent.id);
    deps.logger.info('agent signed in', { agentId: agent.id });
    res.redirect(303, safeNext(input.next));
  });

  if (demo) {
    /**
     * Demo mode only: sign in as one of the demo agents in one click.
     * @route POST /sign-in/demo
     */
    router.post('/sign-in/demo', form, auth.sameOrigin, signInForm, auth.session, async (req, res) => {
      const input = DemoSignIn.parse(req.body ?? {});
      const agent = DEMO_AGENTS.some((d) => d.id === input.agentId) ? await deps.agents.find(input.agentId) : undefined;
      if (!agent || agent.disabled) throw new HttpError(404, 'There is no such demo agent.');
      await auth.signIn(req, agent);
      auth.clearSignInToken(res);
      await deps.onSignIn?.(agent.id);
      deps.logger.info('demo agent signed in', { agentId: agent.id });
      res.redirect(303, safeNext(input.next));
    });
  }

  /**
   * Signs out: the session is deleted from the database and its cookie cleared.
   * @route POST /sign-out
   */
  router.post('/sign-out', form, auth.session, ...auth.csrfProtection, async (req, res) => {
    const agentId = req.session?.agentId;
    await auth.signOut(req, res);
    if (agentId && deps.onSignOut) await deps.onSignOut(agentId).catch((err: unknown) => deps.logger.warn('could not set a signed-out agent offline', { error: errorMessage(err) }));
    res.redirect(303, '/sign-in');
  });

  return router;
}
