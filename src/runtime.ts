// Assembles and runs the whole app: database, Twilio (real or the local stand-in), HTTP. Returns a handle with an idempotent stop.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app';
import { createBackgroundTasks, type BackgroundTasks } from './background';
import type { Config } from './config';
import { openAppDatabase, type Database } from './db/connect';
import type { Logger } from './logger';
import { callLeaseCollection, createCallLeases, DEFAULT_LEASE } from './models/call-lease';
import { createCallStore, storeRunner } from './models/call-store';
import { changeModel, createChangeStore } from './models/event';
import { createHistoryStore, type HistoryStore } from './models/history';
import { toldSorryCallOf } from './contact-center/history';
import { createPresenceStore, presenceModel, type PresenceStore } from './models/presence';
import { createReservationStore, reservationModel } from './models/reservation';
import { createToldSorry, DEFAULT_TOLD_SORRY, toldSorryCollection } from './models/told-sorry';
import { accountCollections, disableLeftoverDemoAgents, loadLocalTwilioCredentials, seedDemoAgents } from './auth/demo';
import { createSessionStore, loadSessionSecret } from './auth/sessions';
import { createSignInLimiter } from './auth/sign-in-limiter';
import { agentModel } from './models/agent';
import { createAgentAccounts, type AgentAccounts } from './services/agents';
import { createCallService, type CallService } from './services/calls';
import { createFinishedCalls, finishedCallCollection } from './models/finished-calls';
import { createSupervision } from './services/supervision';
import { createChangeHub, type ChangeHub } from './services/changes';
import { createRouting, DEFAULT_ROUTING, MAX_WAIT_MESSAGE, type Routing, type RoutingSettings } from './services/routing';
import { LEFT_ALONE_MESSAGE } from './services/call-effects';
import { GREETING, GREETING_AFTER_MENU } from './twilio/twiml';
import { placeInLine } from './routes/twilio-webhooks';
import { webhookUrls } from './services/webhook-urls';
import { createTwilioLocal, type TwilioLocal, type TwilioLocalObserver } from './twilio-local';
import { createVoice } from './twilio/voice';
import { createTwilioRest, type TwilioRest } from './twilio/rest';
import { BusyError, errorMessage } from './errors';
import { createLease } from './models/lock';
import { createOpsMetrics } from './observability/prometheus';
import { createReporting, liveReadings } from './services/reporting';
import { createWrapUpStore } from './models/wrap-up';
import { createOpeningHoursStore } from './models/opening-hours';
import { createQueueStore } from './models/queues';
import { createQueueService, type QueueService } from './services/queues';
import { createVoicemailStore } from './models/voicemails';
import { createWaitEstimator } from './services/wait-estimate';
import { createVoicemailService, type VoicemailService } from './services/voicemails';
import { createOpeningHoursService, type OpeningHoursService } from './services/opening-hours';
import { createCallerStore } from './models/callers';
import { createWrapUpService, historyWithWrapUps, type WrapUpService } from './services/wrap-up';

export interface RunningServer {
  /** The configuration in force: in demo mode, with the stand-in's credentials filled in from DATA_DIR. */
  config: Config;
  url: string;
  port: number;
  server: http.Server;
  db: Database;
  calls: CallService;
  routing: Routing;
  presence: PresenceStore;
  changes: ChangeHub;
  history: HistoryStore;
  agents: AgentAccounts;
  background: BackgroundTasks;
  wrapUp: WrapUpService;
  openingHours: OpeningHoursService;
  queues: QueueService;
  voicemails: VoicemailService;
  twilioLocal?: TwilioLocal;
  /** Stops accepting, drains requests and background work, then closes the stand-in and the database. Idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  logger: Logger;
  /** An already open database (tests share one server); otherwise one is opened from the config. */
  db?: Database;
  /** Replace the REST caller (tests point it elsewhere by config instead; kept for the benchmark's baseline). */
  rest?: TwilioRest;
  accessLog?: boolean;
  /** Routing knobs tests turn (how often the periodic pass runs, the decline cooldown); product settings come from config. */
  routing?: Partial<Pick<RoutingSettings, 'tickMs' | 'passCooldownSeconds' | 'leaveSettleMs'>>;
  /** How often this instance reads the shared change feed. */
  changePollMs?: number;
  /** How often this instance looks for quiet live calls to check with Twilio (default 15 s). */
  auditEveryMs?: number;
  /** How often an open event stream re-reads its session, ended perhaps elsewhere (default 15 s). */
  eventStreamCheckSeconds?: number;
  /** Demo mode: how fast the stand-in plays Say/Play/Pause (1 = real time; tests go faster). */
  localTimeScale?: number;
  /** Demo mode: sees every REST exchange and webhook of the stand-in (contract tests). */
  twilioLocalObserver?: TwilioLocalObserver;
  /** The clock of the opening hours (tests pass a fake one). */
  now?: () => Date;
}

/** Starts the app described by `config` and listens on its port (0 = any free port). */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const { logger } = options;
  let { config } = options;
  const cleanups: Array<{ name: string; run: () => Promise<void> }> = [];
  const db = options.db ?? (await openAppDatabase({ mongodbUri: config.mongodbUri, dataDir: config.dataDir, logger }));
  if (!options.db) cleanups.push({ name: 'database', run: () => db.close() });

  try {
    if (config.twilio.mode === 'local') {
      // Per installation, kept in DATA_DIR: nobody else knows the stand-in's credentials.
      config = { ...config, twilio: { ...config.twilio, ...loadLocalTwilioCredentials(config.dataDir) } };
      if (config.env === 'production') {
        logger.warn('!!! DEMO MODE WITH NODE_ENV=production: no Twilio credentials are set, a local stand-in plays the phone network and anyone who can open the sign-in page can sign in as the demo agents in one click. Set the TWILIO_* variables for production. !!!');
      }
    }
    const urls = webhookUrls(config.publicBaseUrl);
    // Demo mode's accounts and sessions are kept apart from Twilio mode's (see auth/demo.ts).
    const collections = accountCollections(config.twilio.mode);
    const agentRecords = agentModel(db.connection, collections.agents);
    await agentRecords.createIndexes();
    const agents = createAgentAccounts(agentRecords);
    if (config.twilio.mode === 'local') {
      const added = await seedDemoAgents(agents);
      if (added > 0) logger.info(`demo mode: added ${added} demo agents`);
      logger.info(`demo mode: accounts and sessions are demo mode's own (${collections.agents}, ${collections.sessions}); Twilio mode on this database never sees them, so nothing made here (nor the demo admin) carries over`);
    } else {
      const leftovers = await disableLeftoverDemoAgents(agents);
      if (leftovers.length > 0) {
        logger.warn(`Twilio mode: disabled ${leftovers.length} password-less demo accounts an earlier version left among Twilio mode's (${leftovers.join(', ')}). Accounts made in demo mode back then may be among the others: review them with \`npm run agents -- list\` and disable any you do not know.`);
      }
      logger.info(`Twilio mode: accounts and sessions in ${collections.agents} and ${collections.sessions}; demo mode's are kept apart and never used here`);
      if ((await agents.countEnabledAdmins()) === 0) {
        logger.warn('No admin account yet: create the first one with `npm run agents -- add --admin <sign-in name>` (it prints a generated password), then sign in at /sign-in and add agents on /admin.');
      }
    }
    const sessions = createSessionStore(db.connection, collections.sessions);
    const sessionSecret = await loadSessionSecret(db.connection, config.auth.sessionSecret);
    // FerretDB 1.x has no TTL indexes: expired sessions are deleted here instead.
    const sweepMs = Math.max(1000, Math.min(5 * 60_000, config.auth.idleTimeoutMs));
    const sweeper = setInterval(() => {
      sessions.sweep().catch((err: unknown) => logger.warn('could not delete expired sessions', { error: errorMessage(err) }));
    }, sweepMs);
    sweeper.unref();
    cleanups.unshift({ name: 'session sweeper', run: async () => clearInterval(sweeper) });
    const onFerretDb = db.ferretDb;
    const signInLimiter = createSignInLimiter(config.auth, onFerretDb ? undefined : db.connection);
    const background = createBackgroundTasks(logger);
    const ops = createOpsMetrics();
    const rest = ops.countRest(options.rest ?? createTwilioRest(config.twilio));
    const voice = createVoice(rest, (retry) => logger.warn('Twilio did not take a change; trying again', { ...retry }));
    const run = storeRunner(config.dbTimeoutMs);
    // FerretDB 1.x's updates are not atomic under concurrency: each change to a call there claims the revision it read.
    const leases = onFerretDb ? createCallLeases(callLeaseCollection(db.connection), run, { ...DEFAULT_LEASE, waitMs: config.dbTimeoutMs }) : undefined;
    const store = createCallStore(db.models.calls, run, { leases });
    const reservations = createReservationStore(reservationModel(db.connection), run);
    const presence = createPresenceStore(presenceModel(db.connection), run);
    const changes = createChangeHub(createChangeStore(changeModel(db.connection), run), logger, { pollMs: options.changePollMs ?? 250, keepMs: 15_000, batchMs: 50 });
    const history = createHistoryStore(db.connection, { timeoutMs: config.dbTimeoutMs });
    // A caller told sorry is kept in the history too (a failed call), once their apology is recorded.
    const retracted = createToldSorry(toldSorryCollection(db.connection), run, logger, DEFAULT_TOLD_SORRY, (told) =>
      history.append(toldSorryCallOf({ callSid: told._id, at: told.at, from: told.from, queueId: told.queueId, queueName: told.queueName })),
    );
    const finishedCalls = createFinishedCalls(finishedCallCollection(db.connection), run);
    // The finished calls pile up all day and a sweep reads them all (FerretDB scans): it runs once an hour.
    let finishedSweptAt = Date.now();
    const sweepFinished = (): Promise<number> => {
      if (Date.now() - finishedSweptAt < 60 * 60_000) return Promise.resolve(0);
      finishedSweptAt = Date.now();
      return finishedCalls.sweep();
    };
    // Housekeeping for several instances: late records of callers told sorry by any instance, old claims on calls.
    const housekeeping = setInterval(() => {
      void Promise.all([retracted.sweep((callSids) => store.retractAll(callSids)), leases?.sweep(), sweepFinished()]).catch((err: unknown) => logger.warn('call housekeeping failed', { error: err instanceof Error ? err.message : String(err) }));
    }, 10_000);
    housekeeping.unref();
    cleanups.unshift({ name: 'call housekeeping', run: async () => clearInterval(housekeeping) });
    const routingSettings: RoutingSettings = { ...DEFAULT_ROUTING, ...config.contactCenter, ...options.routing };
    const wrapUpStore = createWrapUpStore(db.connection, { timeoutMs: config.dbTimeoutMs });
    const callers = createCallerStore(db.connection, { timeoutMs: config.dbTimeoutMs });
    const queues = createQueueService({
      store: createQueueStore(db.connection, { timeoutMs: config.dbTimeoutMs }),
      lease: createLease(db.connection, 'queues', { ttlMs: Math.max(30_000, 6 * config.dbTimeoutMs), waitMs: 10_000, whenBusy: () => new BusyError('Other changes to the queues are under way: try again in a moment.', 2) }),
      agentIds: async () => new Set((await agents.all()).map((a) => a.id)),
    });
    const twilioAuth = `Basic ${Buffer.from(`${config.twilio.apiKey}:${config.twilio.apiSecret}`).toString('base64')}`;
    const apiBase = config.twilio.apiBaseUrl.replace(/\/$/, '');
    const voicemails = createVoicemailService({
      store: createVoicemailStore(db.connection, { timeoutMs: config.dbTimeoutMs }),
      queues: () => queues.load(),
      logger,
      onChange: () => changes.publish('calls'),
      nameOf: async (agentId) => (await agents.find(agentId))?.name,
      // Only Twilio's own API (or the stand-in) is ever asked: a RecordingUrl elsewhere is not fetched.
      fetchRecording: async (url) => {
        if (!url.startsWith(`${apiBase}/`)) return { status: 404, type: '', body: Buffer.alloc(0) };
        const answer = await fetch(url, { headers: { Authorization: twilioAuth }, signal: AbortSignal.timeout(10_000) });
        return { status: answer.status, type: answer.headers.get('content-type') ?? 'audio/wav', body: Buffer.from(await answer.arrayBuffer()) };
      },
    });
    const openingHours = createOpeningHoursService({ store: createOpeningHoursStore(db.connection, { timeoutMs: config.dbTimeoutMs }), timeZone: config.contactCenter.openingHoursTimeZone, ...(options.now ? { now: options.now } : {}) });
    // Routing is built next and needs the rules; the service needs routing's dispatch: the late binding closes the loop.
    let dispatch = (): void => undefined;
    const wrapUp = createWrapUpService({ store: wrapUpStore, callers, presence, changes, logger, dispatch: () => dispatch() });
    const routing = createRouting({
      calls: store,
      reservations,
      presence,
      agents,
      voice,
      urls,
      background,
      changes,
      logger,
      twilioNumber: config.twilio.number,
      retracted,
      settings: routingSettings,
      wrapUpRules: () => wrapUp.rules(),
      queues: () => queues.load(),
    });
    dispatch = () => routing.dispatch();
    const supervision = createSupervision({ store, voice, background, changes, logger, urls, twilioNumber: config.twilio.number, ringSeconds: config.contactCenter.ringSeconds });
    const calls = createCallService({
      store,
      routing,
      reservations,
      history,
      callers,
      voice,
      agents,
      background,
      changes,
      logger,
      urls,
      twilioNumber: config.twilio.number,
      ringSeconds: config.contactCenter.ringSeconds,
      reconnectGraceSeconds: routingSettings.reconnectGraceSeconds,
      leaveSettleMs: routingSettings.leaveSettleMs,
      retracted,
      finished: finishedCalls,
      onAgentLeft: (callSid, agentId) => supervision.agentLeft(callSid, agentId),
      callbackAttempts: config.contactCenter.callbackAttempts,
      callbackRetrySeconds: config.contactCenter.callbackRetrySeconds,
    });
    // Live calls are checked with Twilio (callbacks lost while the app was down: see auditQuietCalls).
    let auditing = false;
    const startedAt = new Date();
    const runAudit = (first: boolean): void => {
      if (auditing) return;
      auditing = true;
      calls
        .auditQuietCalls(new Date(), first ? { createdBefore: startedAt } : {})
        .catch((err: unknown) => logger.warn('could not check the live calls with Twilio', { error: errorMessage(err) }))
        .finally(() => (auditing = false));
    };
    // At start, every call stored before it, at once: what happened while this instance (or every one) was down is not known.
    const firstAudit = setTimeout(() => runAudit(true), 1000);
    firstAudit.unref();
    const audit = setInterval(() => runAudit(false), options.auditEveryMs ?? 15_000);
    audit.unref();
    cleanups.unshift({ name: 'first call audit', run: async () => clearTimeout(firstAudit) });
    cleanups.unshift({ name: 'quiet-call audit', run: async () => clearInterval(audit) });
    let twilioLocal: TwilioLocal | undefined;
    if (config.twilio.mode === 'local') {
      twilioLocal = createTwilioLocal({
        accountSid: config.twilio.accountSid,
        authToken: config.twilio.authToken,
        apiKeySid: config.twilio.apiKey,
        apiKeySecret: config.twilio.apiSecret,
        numbers: { [config.twilio.number]: { voiceUrl: urls.incomingCall() } },
        log: (line) => logger.info(`[twilio-local] ${line}`),
        timeScale: options.localTimeScale,
        observe: options.twilioLocalObserver,
        // The stand-in calls back only this app: nobody on the network can make the server fetch other URLs.
        callbackBase: config.publicBaseUrl,
        // An agent's outbound call to a number is answered by the stand-in's pretend phone after two (simulated) seconds.
        pstnAnswerSeconds: 2,
        // Recordings' URLs point where the app reaches the stand-in's REST API.
        restBaseUrl: config.twilio.apiBaseUrl,
        // Spoken ahead once a page brings audio, in the order a caller hears them: no dead air the first time.
        phrases: [GREETING, placeInLine(1), GREETING_AFTER_MENU, placeInLine(2), placeInLine(3), LEFT_ALONE_MESSAGE, MAX_WAIT_MESSAGE],
      });
      const local = twilioLocal;
      cleanups.unshift({ name: 'twilio stand-in', run: () => local.stop() });
    }
    cleanups.unshift({ name: 'callers told sorry', run: () => retracted.drain() });
    cleanups.unshift({ name: 'call changes', run: () => store.settle() });
    cleanups.unshift({ name: 'background tasks', run: () => background.drain() });
    cleanups.unshift({ name: 'change feed', run: () => changes.stop() });
    cleanups.unshift({ name: 'routing', run: () => routing.stop() });

    // The incoming call reads these from memory (refreshed in the background): read them once now.
    void Promise.all([openingHours.load(), queues.load()]).catch((err: unknown) => logger.warn('could not read the opening hours or queues at start', { error: err instanceof Error ? err.message : String(err) }));
    const waitEstimator = createWaitEstimator({ history, live: () => store.live() });
    const reporting = createReporting({ connection: db.connection, history, config, changes, logger });
    ops.watch(liveReadings({ calls, agents, routing, readiness: () => db.readiness(), restarts: () => db.embedded?.restarts() ?? 0 }));
    cleanups.unshift({ name: 'report summaries', run: () => reporting.stop() });
    const app = createApp({ config, logger, calls, routing, presence, changes, history, agents, urls, sessions, sessionSecret, signInLimiter, readiness: () => db.readiness(), twilioLocal: twilioLocal?.router, accessLog: options.accessLog, eventStreamCheckSeconds: options.eventStreamCheckSeconds, reporting, ops, wrapUp, openingHours, queues, voicemails, estimateWait: (queueId, position) => waitEstimator.estimate(queueId, position), historyView: historyWithWrapUps(history, wrapUpStore), supervision });
    const server = http.createServer(app);
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as AddressInfo).port;
    changes.start();
    routing.start();
    reporting.start();

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        // HTTP first: no new requests; open streams (SSE, keep-alive) are cut so close() can finish.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (twilioLocal) await twilioLocal.stop().catch(() => undefined);
        const force = setTimeout(() => server.closeAllConnections(), 3000);
        await closed;
        clearTimeout(force);
        for (const cleanup of cleanups) {
          try {
            await cleanup.run();
          } catch (err) {
            logger.error(`shutdown: ${cleanup.name} failed`, { error: errorMessage(err) });
          }
        }
      })();
      return stopping;
    };
    const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
    return { config, url: `http://${host}:${port}`, port, server, db, calls, routing, presence, changes, history, agents, background, wrapUp, openingHours, queues, voicemails, twilioLocal, stop };
  } catch (err) {
    for (const cleanup of cleanups) await cleanup.run().catch(() => undefined);
    throw err;
  }
}

