// Builds the Express app from its dependencies: middleware, views, static files, routes, 404 and errors. No I/O, no listen.
import path from 'node:path';
import express, { type ErrorRequestHandler, type Express, type Router } from 'express';
import helmet from 'helmet';
import morgan from 'morgan';
import { allowedHosts, requireAllowedHost } from './auth/hosts';
import { createAuth } from './auth/middleware';
import type { SessionStore } from './auth/sessions';
import type { SignInLimiter } from './auth/sign-in-limiter';
import { TWILIO_LOCAL_PATH, type Config } from './config';
import type { Readiness } from './db/connect';
import { BusyError, errorMessage, HttpError, httpStatusOf } from './errors';
import { writesAt, type Logger } from './logger';
import { PROJECT_ROOT } from './paths';
import { adminRouter } from './routes/admin';
import { agentApiRouter } from './routes/agent-api';
import { callActionRouter } from './routes/call-actions';
import { contactCenterApiRouter, createAgentStateView } from './routes/contact-center-api';
import { eventStreamRouter } from './routes/events';
import { historyRouter } from './routes/history';
import type { HistoryStore } from './models/history';
import { authRouter } from './routes/auth';
import { pageRouter } from './routes/pages';
import { supervisorApiRouter } from './routes/supervisor-api';
import { twilioWebhookRouter } from './routes/twilio-webhooks';
import { metricsRouter } from './routes/metrics';
import { reportsRouter } from './routes/reports';
import type { OpsMetrics } from './observability/prometheus';
import type { Reporting } from './services/reporting';
import { wrapUpAdminRouter } from './routes/wrap-up-admin';
import { openingHoursAdminRouter } from './routes/opening-hours-admin';
import type { OpeningHoursService } from './services/opening-hours';
import { queuesAdminRouter } from './routes/queues-admin';
import type { QueueService } from './services/queues';
import { voicemailApiRouter } from './routes/voicemail-api';
import { voicemailHistoryRouter } from './routes/voicemail-history';
import type { VoicemailService } from './services/voicemails';
import type { WrapUpService } from './services/wrap-up';
import type { AgentAccounts } from './services/agents';
import type { PresenceStore } from './models/presence';
import type { CallService } from './services/calls';
import type { ChangeHub } from './services/changes';
import type { Routing } from './services/routing';
import type { Supervision } from './services/supervision';
import type { WebhookUrls } from './services/webhook-urls';

export interface AppDeps {
  config: Config;
  logger: Logger;
  calls: CallService;
  routing: Routing;
  presence: PresenceStore;
  changes: ChangeHub;
  history: HistoryStore;
  agents: AgentAccounts;
  urls: WebhookUrls;
  sessions: SessionStore;
  /** Signs session cookies. */
  sessionSecret: string;
  signInLimiter: SignInLimiter;
  /** Whether the database answers now (readiness, /readyz). */
  readiness: () => Promise<Readiness>;
  /** Demo mode: the local Twilio stand-in's router, mounted at /twilio-local. Absent with real credentials. */
  twilioLocal?: Router;
  /** Access log lines; off in tests. */
  accessLog?: boolean;
  /** How often an open event stream re-reads its session (default 15 s). */
  eventStreamCheckSeconds?: number;
  /** The service metrics: /reports and the board's tiles. */
  reporting?: Pick<Reporting, 'summaries' | 'tiles' | 'settings'>;
  /** Prometheus: GET /metrics and the webhook timer. */
  ops?: Pick<OpsMetrics, 'registry' | 'webhookTimer'>;
  /** Wrap-up codes and who is calling (the agent page, /admin, the history). */
  wrapUp?: WrapUpService;
  /** Queues, the menu and agents' skills: the incoming-call webhooks and /admin. Absent: one line. */
  queues?: QueueService;
  /** The estimated wait callers hear (seconds, or undefined when not meaningful). Absent: never said. */
  estimateWait?: (queueId: string | undefined, position: number) => Promise<number | undefined>;
  /** Voicemails: left when closed, tasks on the agent page. Absent: closed callers hear goodbye only. */
  voicemails?: VoicemailService;
  /** Opening hours: the incoming-call webhook and /admin. Absent: always open. */
  openingHours?: OpeningHoursService;
  /** The history as its pages read it (with wrap-up codes merged in); default: the store as it is. */
  historyView?: Pick<HistoryStore, 'newest' | 'find'>;
  /** Supervisors listening, coaching and barging; agents asking for help (docs/supervisors.md). */
  supervision?: Supervision;
}

// Twilio's Voice SDK talks to these hosts: https://www.twilio.com/docs/voice/sdks/network-connectivity-requirements
const TWILIO_CONNECT = ['https://*.twilio.com', 'wss://*.twilio.com', 'https://sdk.twilio.com', 'https://eventgw.twilio.com', 'wss://voice-js.roaming.twilio.com'];
const TWILIO_MEDIA = ['https://*.twilio.com', 'https://media.twiliocdn.com', 'https://sdk.twilio.com'];

/** Creates the app; the caller decides where it listens. */
export function createApp(deps: AppDeps): Express {
  const { config, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.set('views', path.join(PROJECT_ROOT, 'views'));
  app.set('view engine', 'pug');
  // Templates are compiled once, whatever NODE_ENV says (Express caches them only in production): compiling the
  // agent page took about 20 ms of the event loop on every load, holding back Twilio's webhooks meanwhile.
  app.enable('view cache');

  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          connectSrc: ["'self'", ...TWILIO_CONNECT],
          mediaSrc: ["'self'", 'blob:', ...TWILIO_MEDIA],
          imgSrc: ["'self'", 'data:'],
          // Local development over http: helmet's default would force https for every asset.
          upgradeInsecureRequests: null,
        },
      },
      strictTransportSecurity: config.publicBaseUrl.startsWith('https://'),
      // helmet's default, no-referrer, makes browsers send `Origin: null` on same-origin form posts, which the
      // same-origin check must refuse; same-origin keeps the referrer (and Origin) inside this site only.
      referrerPolicy: { policy: 'same-origin' },
    }),
  );
  // Access lines are logged at info: below that level (LOG_LEVEL=warn) morgan would build each line only to drop it.
  if (deps.accessLog !== false && writesAt(config.logLevel, 'info')) {
    // The demo device stream carries its Access Token in the query (EventSource cannot send headers): never log it.
    morgan.token('safe-url', (req: express.Request) => req.originalUrl.replace(/([?&]token=)[^&]*/gi, '$1[redacted]'));
    app.use(morgan(':method :safe-url :status :res[content-length] - :response-time ms', { stream: { write: (line) => logger.info(line.trim()) } }));
  }

  // Prometheus scrapes address the instance by its own IP, like the health probes: /metrics comes before the host
  // check, guarded by its own rule (loopback or a bearer METRICS_TOKEN). Webhooks are timed from here on.
  const isAllowedHost = allowedHosts({ publicBaseUrl: config.publicBaseUrl, mode: config.twilio.mode });
  if (deps.ops) {
    app.use(metricsRouter({ registry: deps.ops.registry, token: config.metrics.token, isKnownHost: isAllowedHost }));
    app.use('/conference', deps.ops.webhookTimer);
  }

  // Twilio's signed webhooks come before the host check: their signature binds them to PUBLIC_BASE_URL + path, whatever
  // Host they arrive with (a proxy or tunnel may rewrite it). Only requests that carry a signature go this way; the
  // router refuses a forged one (403), so the header opens nothing. Unsigned ones meet the host check like the rest.
  const webhooks = twilioWebhookRouter({
    calls: deps.calls,
    agents: deps.agents,
    urls: deps.urls,
    logger,
    authToken: config.twilio.authToken,
    publicBaseUrl: config.publicBaseUrl,
    holdMusicUrl: config.holdMusicUrl,
    supervision: deps.supervision,
    openingHours: deps.openingHours,
    queues: deps.queues,
    menuTimeoutSeconds: config.contactCenter.menuTimeoutSeconds,
    voicemails: deps.voicemails,
    voicemailMaxSeconds: config.contactCenter.voicemailMaxSeconds,
    voicemailTranscribe: config.contactCenter.voicemailTranscribe,
    voicemailLineLength: config.contactCenter.voicemailLineLength,
    estimateWait: deps.estimateWait,
  });
  app.use('/conference', (req, res, next) => (req.get('x-twilio-signature') === undefined ? next() : webhooks(req, res, next)));

  // Liveness: the process serves HTTP. Readiness: it can also reach its database (503 with the reason while it cannot).
  // Before the host check too: probes (a load balancer, Kubernetes) address the instance by its own IP, and these
  // answers tell a rebinding page nothing.
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, mode: config.twilio.mode });
  });
  app.get('/readyz', async (_req, res) => {
    const readiness = await deps.readiness();
    res.status(readiness.ready ? 200 : 503).json(readiness);
  });

  // DNS rebinding: a foreign Host is refused before any session is read, any page served or anything written.
  app.use(requireAllowedHost(isAllowedHost, config.publicBaseUrl));

  app.use('/vendor/twilio', express.static(path.join(PROJECT_ROOT, 'node_modules', '@twilio', 'voice-sdk', 'dist'), { index: false, maxAge: '1h' }));
  const publicFiles = express.static(path.join(PROJECT_ROOT, 'public'), { index: false, maxAge: '10m' });
  // No file lives under /api/: the API's requests (every open page's, on every change) skip the look on disk.
  app.use((req, res, next) => (req.path.startsWith('/api/') ? next() : publicFiles(req, res, next)));

  // Everything past the static files is the app's own answer, and none may be kept by a browser or a proxy: pages and
  // exports carry callers' numbers (the history, its CSV), a password shown once (the admin page), CSRF tokens.
  app.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });
  if (deps.twilioLocal) app.use(TWILIO_LOCAL_PATH, deps.twilioLocal);

  const auth = createAuth({
    agents: deps.agents,
    store: deps.sessions.store,
    secret: deps.sessionSecret,
    idleTimeoutMs: config.auth.idleTimeoutMs,
    absoluteTimeoutMs: config.auth.absoluteTimeoutMs,
    secureCookies: config.auth.secureCookies,
    publicBaseUrl: config.publicBaseUrl,
    isAllowedHost,
  });
  const mode = config.twilio.mode;
  app.use(
    authRouter({
      auth,
      agents: deps.agents,
      limiter: deps.signInLimiter,
      logger,
      mode,
      onSignIn: async (agentId) => {
        await deps.presence.signedIn(agentId);
        deps.changes.publish('agents');
      },
      onSignOut: async (agentId) => {
        await deps.presence.signedOut(agentId);
        deps.changes.publish('agents');
      },
    }),
  );
  if (deps.wrapUp) app.use(wrapUpAdminRouter({ auth, wrapUp: deps.wrapUp, logger }));
  if (deps.openingHours) app.use(openingHoursAdminRouter({ auth, openingHours: deps.openingHours, logger, nameOf: async (agentId) => (await deps.agents.find(agentId))?.name }));
  if (deps.queues) app.use(queuesAdminRouter({ auth, queues: deps.queues, agents: deps.agents, logger }));
  app.use(adminRouter({ auth, agents: deps.agents, sessions: deps.sessions, logger, mode }));
  app.use(pageRouter({ agents: deps.agents, auth, mode, supportNumber: config.twilio.number, twilioLocalBase: deps.twilioLocal ? TWILIO_LOCAL_PATH : undefined }));
  app.use(agentApiRouter({ calls: deps.calls, agents: deps.agents, auth, twilio: config.twilio }));
  // One view of the agents' page state for GET /api/me and the event stream's state events: they share its looks at the floor.
  const agentState = createAgentStateView(deps);
  app.use(
    eventStreamRouter({
      auth,
      sessions: deps.sessions,
      changes: deps.changes,
      checkSeconds: deps.eventStreamCheckSeconds,
      stateOf: async (agentId) => {
        const agent = await deps.agents.find(agentId);
        return agent && !agent.disabled ? agentState.stateJson(agent) : undefined;
      },
    }),
  );
  if (deps.reporting) app.use(reportsRouter({ summaries: deps.reporting.summaries, agents: deps.agents, settings: deps.reporting.settings, guard: [...auth.requireRole('supervisor', 'admin'), auth.exposeCsrfToken] }));
  if (deps.voicemails) app.use(voicemailApiRouter({ auth, voicemails: deps.voicemails }));
  app.use(callActionRouter({ calls: deps.calls, changes: deps.changes, signedIn: auth.requireAgent, csrfProtection: auth.csrfProtection, wrapUp: deps.wrapUp }));
  if (deps.voicemails) app.use(voicemailHistoryRouter({ voicemails: deps.voicemails, guard: [...auth.requireAgent, auth.exposeCsrfToken] }));
  // Their pages carry the session's CSRF token, so their Sign out button works.
  app.use(historyRouter({ history: deps.historyView ?? deps.history, agents: deps.agents, guard: [...auth.requireAgent, auth.exposeCsrfToken], ...(deps.wrapUp ? { wrapUpCodes: async () => (await deps.wrapUp!.load()).codes } : {}) }));
  app.use(
    '/api',
    contactCenterApiRouter({
      calls: deps.calls,
      routing: deps.routing,
      presence: deps.presence,
      agents: deps.agents,
      changes: deps.changes,
      signedIn: auth.requireAgent,
      supervisorsOnly: auth.requireRole('supervisor', 'admin'),
      csrfProtection: auth.csrfProtection,
      offlineAfterSeconds: config.contactCenter.offlineAfterSeconds,
      tiles: deps.reporting?.tiles,
      wrapUp: deps.wrapUp,
      state: agentState,
    }),
  );
  if (deps.supervision) {
    app.use('/api', supervisorApiRouter({ supervision: deps.supervision, signedIn: auth.requireAgent, supervisorsOnly: auth.requireRole('supervisor', 'admin'), csrfProtection: auth.csrfProtection, twilio: config.twilio }));
  }
  // Unsigned requests to the webhooks: refused there (400).
  app.use('/conference', webhooks);

  app.use((req, _res, next) => next(new HttpError(404, `Not found: ${req.method} ${req.path}`)));
  app.use(errorHandler(logger, config));
  return app;
}

/** The error page's heading (and title) by status: what happened, in words, above the message that says why. */
const ERROR_HEADINGS: Readonly<Record<number, string>> = {
  400: 'Please check what you entered',
  401: 'Please sign in',
  403: 'Not allowed',
  404: 'Not found',
  409: 'That clashes with what is already there',
  413: 'Too much at once',
  429: 'Too many requests',
  503: 'Not available right now',
};

/** Errors for people and scripts: JSON or an HTML page, by Accept. Unexpected errors are logged and told apart. */
function errorHandler(logger: Logger, config: Config): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const { status, message } = httpStatusOf(err);
    if (err instanceof BusyError) logger.warn('request refused: busy', { method: req.method, path: req.path });
    else if (status >= 500) logger.error('request failed', { method: req.method, path: req.path, error: errorMessage(err) });
    if (res.headersSent) return;
    res.status(status);
    if (err instanceof BusyError) res.set('Retry-After', String(err.retryAfterSeconds));
    // Pages and their forms get a page; scripts (and the agent page's JSON calls) get JSON.
    const page = req.method === 'GET' || (req.is('application/x-www-form-urlencoded') && !req.path.startsWith('/conference/') && !req.path.startsWith('/api/'));
    // A refused /admin form leads back there (the browser's Back keeps what was typed).
    const back = req.method === 'POST' && req.path.startsWith('/admin') ? { href: '/admin', text: 'Back to the admin page (your browser’s Back keeps what you typed)' } : undefined;
    if (page && req.accepts(['html', 'json']) === 'html') res.render('error', { title: ERROR_HEADINGS[status] ?? (status >= 500 ? 'Something went wrong' : 'That could not be done'), status, message, mode: config.twilio.mode, agent: res.locals.agent, back });
    else res.json({ error: message, status });
  };
}
