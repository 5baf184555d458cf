// Who is asking, and may they: the session, the signed-in agent, roles, and refusing cross-site requests.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import session, { type SessionData, type Store } from 'express-session';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { csrfSync } from 'csrf-sync';
import { HttpError, StoreUnavailableError } from '../errors';
import type { Agent, AgentDirectory, AgentRole } from '../services/agents';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      /** The signed-in agent, set by requireAgent. */
      agent?: Agent;
      /** The session's CSRF token, for the layout's meta tag and forms. */
      csrfToken?: string;
    }
  }
}

export const SESSION_COOKIE = 'wt.sid';
/** Before sign-in: the nonce the sign-in forms' token is signed over (no session is stored for anonymous visitors). */
export const SIGN_IN_COOKIE = 'wt.signin';
const SIGN_IN_COOKIE_PATH = '/sign-in';
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface AuthOptions {
  agents: AgentDirectory;
  store: Store;
  secret: string;
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  secureCookies: boolean;
  publicBaseUrl: string;
  /** Whether a host (name and port) is this app's: see auth/hosts.ts. */
  isAllowedHost: (host: string | undefined) => boolean;
}

/**
 * Why an open page's session ended: an admin disabled (or removed) the account; it reached its longest life
 * (SESSION_MAX_HOURS); or it is gone (signed out in another tab or window, or a password reset ended it).
 */
export type SignedOutReason = 'disabled' | 'expired' | 'ended';

export interface Auth {
  /** Loads the session (from its cookie) into req.session. Database trouble becomes a 503, never a 500. */
  session: RequestHandler;
  /** The session, then: a signed-in, enabled agent on res.locals.agent, or 401 (JSON) / a redirect to sign-in (pages). */
  requireAgent: RequestHandler[];
  /** requireAgent, then 403 unless the agent has one of `roles`. */
  requireRole(...roles: AgentRole[]): RequestHandler[];
  /** The signed-in agent, if any, without refusing anyone (the sign-in page). */
  currentAgent(req: Request): Promise<Agent | undefined>;
  /**
   * Why the request's session is no longer signed in, read again from the store (for a long-lived request, such as an
   * event stream, whose session another request, instance or the CLI may have ended since); undefined while it is.
   * `agentId` is whom the session was for (its record may be gone).
   */
  whySignedOut(req: Request, agentId: string): Promise<SignedOutReason | undefined>;
  /** For state-changing requests from pages: same origin, and the session's CSRF token in X-CSRF-Token or `_csrf`. */
  csrfProtection: RequestHandler[];
  /** Puts the session's CSRF token on res.locals.csrfToken for the page being rendered. */
  exposeCsrfToken: RequestHandler;
  /** Refuses a state-changing request that a browser says comes from another site (Sec-Fetch-Site, Origin). */
  sameOrigin: RequestHandler;
  /**
   * The sign-in forms' CSRF token, which needs no stored session (anonymous visitors store nothing): sets the sign-in
   * cookie (a random nonce, kept if the browser has one) and returns a token signed over it, for the form.
   */
  issueSignInToken(req: Request, res: Response): string;
  /** Whether a sign-in form carries a token signed over the sign-in cookie's nonce, not expired. */
  signInTokenIsValid(req: Request): boolean;
  /** Clears the sign-in cookie (once signed in, the session's token takes over). */
  clearSignInToken(res: Response): void;
  /** Starts a fresh session (new id) for `agent`: call at sign-in. */
  signIn(req: Request, agent: Agent): Promise<void>;
  /** Ends the session and clears its cookie. */
  signOut(req: Request, res: Response): Promise<void>;
}

/** Builds the auth middleware over a session store. No I/O until a request comes. */
export function createAuth(options: AuthOptions): Auth {
  const sessionMiddleware = session({
    name: SESSION_COOKIE,
    secret: options.secret,
    store: options.store,
    resave: false,
    saveUninitialized: false,
    // Every answer pushes the idle expiry (the cookie's and the stored session's) forward.
    rolling: true,
    unset: 'destroy',
    cookie: { httpOnly: true, sameSite: 'lax', secure: options.secureCookies, maxAge: options.idleTimeoutMs, path: '/' },
  });
  const loadSession: RequestHandler = (req, res, next) => {
    sessionMiddleware(req, res, (err?: unknown) => next(err ? new StoreUnavailableError(err) : undefined));
  };

  const csrf = csrfSync({
    getTokenFromRequest: csrfTokenFrom,
    errorConfig: { statusCode: 403, message: 'This page has expired or the request did not come from it: reload the page and try again.', code: 'EBADCSRFTOKEN' },
  });

  async function destroy(req: Request): Promise<void> {
    await new Promise<void>((resolve, reject) => req.session.destroy((err: unknown) => (err ? reject(new StoreUnavailableError(err)) : resolve())));
  }

  /**
   * The agent `id`, from the directory's shared read of every agent: as fresh as a read of one (it starts after the
   * request came), and when a change makes every page ask at once, one read serves them all instead of one each.
   */
  async function agentById(id: string): Promise<Agent | undefined> {
    return (await options.agents.all()).find((agent) => agent.id === id);
  }

  async function currentAgent(req: Request): Promise<Agent | undefined> {
    const data = req.session;
    if (!data?.agentId) return undefined;
    if (!data.signedInAt || Date.now() - data.signedInAt > options.absoluteTimeoutMs) {
      await destroy(req);
      return undefined;
    }
    // Read on every request: a disabled agent (or a changed role) takes effect at once, in every app instance.
    const agent = await agentById(data.agentId);
    if (!agent || agent.disabled) {
      await destroy(req);
      return undefined;
    }
    return agent;
  }

  const identify: RequestHandler = async (req, res, next) => {
    const agent = await currentAgent(req);
    if (agent) {
      res.locals.agent = agent;
      return next();
    }
    // A browser opening a page (it asks for HTML) is sent to sign in; scripts get 401.
    if (req.method === 'GET' && /text\/html/.test(req.get('accept') ?? '')) {
      const next = req.originalUrl === '/' ? '' : `?next=${encodeURIComponent(req.originalUrl)}`;
      return res.redirect(303, `/sign-in${next}`);
    }
    throw new HttpError(401, 'Sign in first.');
  };

  const requireAgent = [loadSession, identify];

  const publicOrigin = new URL(options.publicBaseUrl).origin;
  const sameOrigin: RequestHandler = (req, _res, next: NextFunction) => {
    if (SAFE_METHODS.has(req.method)) return next();
    // Browsers say where a request comes from; scripts that send neither header still need the CSRF token.
    const site = req.get('sec-fetch-site');
    if (site && site !== 'same-origin' && site !== 'none') throw new HttpError(403, 'Cross-site request refused.');
    // The Origin must be this app's: PUBLIC_BASE_URL's, or (demo mode on loopback) the request's own, and only when
    // that names a host of this app. Matching the request's own Host alone would admit a rebinding page, whose Host
    // and Origin are both its own name.
    const origin = req.get('origin');
    if (origin !== undefined && origin !== publicOrigin && !(origin === `${req.protocol}://${req.host}` && options.isAllowedHost(req.host))) {
      throw new HttpError(403, 'Cross-site request refused.');
    }
    next();
  };

  const signInTokens = signedDoubleSubmit({ secret: options.secret, secureCookies: options.secureCookies, tokenFrom: csrfTokenFrom });

  return {
    session: loadSession,
    requireAgent,
    requireRole(...roles) {
      const allowed: RequestHandler = (_req, res, next) => {
        if (!res.locals.agent || !roles.includes(res.locals.agent.role)) throw new HttpError(403, `Only ${roles.join(' or ')} accounts may do this.`);
        next();
      };
      return [...requireAgent, allowed];
    },
    currentAgent,
    async whySignedOut(req, agentId) {
      const data = await new Promise<SessionData | null | undefined>((resolve, reject) => options.store.get(req.sessionID, (err: unknown, stored) => (err ? reject(new StoreUnavailableError(err)) : resolve(stored))));
      const agent = await agentById(data?.agentId ?? agentId);
      if (agent === undefined || agent.disabled) return 'disabled';
      if (!data?.agentId) return 'ended';
      if (!data.signedInAt || Date.now() - data.signedInAt > options.absoluteTimeoutMs) return 'expired';
      return undefined;
    },
    csrfProtection: [sameOrigin, csrf.csrfSynchronisedProtection],
    exposeCsrfToken(req, res, next) {
      res.locals.csrfToken = csrf.generateToken(req);
      next();
    },
    sameOrigin,
    ...signInTokens,
    async signIn(req, agent) {
      await new Promise<void>((resolve, reject) => req.session.regenerate((err: unknown) => (err ? reject(new StoreUnavailableError(err)) : resolve())));
      req.session.agentId = agent.id;
      req.session.signedInAt = Date.now();
      csrf.generateToken(req, true);
      await new Promise<void>((resolve, reject) => req.session.save((err: unknown) => (err ? reject(new StoreUnavailableError(err)) : resolve())));
    },
    async signOut(req, res) {
      if (req.session) await destroy(req);
      res.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax', secure: options.secureCookies });
    },
  };
}

/** A request's CSRF token: the X-CSRF-Token header (the pages' scripts), or a form's `_csrf` field. */
function csrfTokenFrom(req: Request): string | undefined {
  const header = req.get(CSRF_HEADER);
  if (header) return header;
  const body = req.body as Record<string, unknown> | undefined;
  return typeof body?._csrf === 'string' ? body._csrf : undefined;
}

/** How long a sign-in page's form may be sent after it was served. */
const SIGN_IN_TOKEN_MS = 2 * 3_600_000;

/**
 * The sign-in forms' defence against cross-site posts without a stored session: a signed double-submit token (OWASP's
 * "signed double-submit cookie"). The cookie holds a random nonce; the form holds `<expiry>.<HMAC(nonce.expiry)>`.
 * A post is accepted only with both, matching, unexpired: another site can neither read the form's token nor set the
 * cookie, and the HMAC means a token cannot be made up. Before this, every anonymous GET /sign-in stored a session
 * to hold its token (8,000 of them made /api/me 5.8 times slower).
 */
function signedDoubleSubmit(options: { secret: string; secureCookies: boolean; tokenFrom: (req: Request) => string | undefined }) {
  const key = createHmac('sha256', options.secret).update('warm-transfer sign-in form token').digest();
  const mac = (nonce: string, expires: number) => createHmac('sha256', key).update(`${nonce}.${expires}`).digest('base64url');
  const cookieOptions = { httpOnly: true, sameSite: 'strict', secure: options.secureCookies, path: SIGN_IN_COOKIE_PATH } as const;

  function nonceOf(req: Request): string | undefined {
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const [name, value] = part.trim().split('=', 2);
      if (name === SIGN_IN_COOKIE && value && /^[A-Za-z0-9_-]{22,64}$/.test(value)) return value;
    }
    return undefined;
  }

  return {
    issueSignInToken(req: Request, res: Response): string {
      const nonce = nonceOf(req) ?? randomBytes(18).toString('base64url');
      const expires = Date.now() + SIGN_IN_TOKEN_MS;
      res.cookie(SIGN_IN_COOKIE, nonce, { ...cookieOptions, maxAge: SIGN_IN_TOKEN_MS });
      return `${expires}.${mac(nonce, expires)}`;
    },
    signInTokenIsValid(req: Request): boolean {
      const nonce = nonceOf(req);
      const [expiresText, given, ...rest] = (options.tokenFrom(req) ?? '').split('.');
      const expires = Number(expiresText);
      if (!nonce || !given || rest.length > 0 || !Number.isSafeInteger(expires) || expires < Date.now()) return false;
      const expected = Buffer.from(mac(nonce, expires));
      const actual = Buffer.from(given);
      return actual.length === expected.length && timingSafeEqual(actual, expected);
    },
    clearSignInToken(res: Response): void {
      res.clearCookie(SIGN_IN_COOKIE, cookieOptions);
    },
  };
}

/**
 * JSON routes take JSON only: a body of any other type (text/plain and forms, which any web page can send across
 * sites without asking) is refused with 415 before anything else happens.
 */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  if (SAFE_METHODS.has(req.method)) return next();
  const type = req.headers['content-type'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (type !== undefined ? !/^application\/json\s*(;|$)/i.test(type) : hasBody) throw new HttpError(415, 'Send JSON (Content-Type: application/json).');
  next();
};
