// Operations metrics in Prometheus's text format (prom-client), for GET /metrics: Twilio webhooks by route and status
// with latency histograms, REST calls to Twilio by operation and outcome, calls waiting, agents by presence, the
// database's readiness and restarts, and the process's own (CPU, memory, event loop). One registry per app, so tests
// can run several apps in a process. Labels are route patterns, presences and outcomes only: never a CallSid, an
// agent id or a caller's number.
import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Presence } from '../contact-center/presence';
import type { TwilioRest } from '../twilio/rest';

export const PREFIX = 'warm_transfer_';

/** The webhook routes (under /conference), as patterns: a path's ids never become label values. */
const WEBHOOK_ROUTES: Array<[RegExp, string]> = [
  [/^\/connect\/client\/?$/, '/conference/connect/client'],
  [/^\/wait\/?$/, '/conference/wait'],
  [/^\/events\/?$/, '/conference/events'],
  [/^\/[^/]+\/connect\/[^/]+\/?$/, '/conference/:conferenceId/connect/:agentId'],
  [/^\/[^/]+\/agents\/[^/]+\/status\/?$/, '/conference/:conferenceId/agents/:agentId/status'],
  [/^\/[^/]+\/call\/?$/, '/conference/:agentId/call'],
];

/** The route pattern of a path under /conference (`other` for anything else). */
export function webhookRouteOf(pathUnderConference: string): string {
  for (const [pattern, route] of WEBHOOK_ROUTES) if (pattern.test(pathUnderConference)) return route;
  return 'other';
}

/** What a REST failure was, as a label: Twilio answered 4xx / 429 / 5xx, or never answered. */
export function restOutcomeOf(err: unknown): string {
  const status = (err as { status?: unknown } | undefined)?.status;
  if (typeof status !== 'number') return 'no_answer';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'server_error';
  return 'client_error';
}

export interface LiveReadings {
  /** Calls in the line (waiting or ringing an agent). */
  callsWaiting(): Promise<number>;
  /** Enabled agents by presence. */
  agentsByPresence(): Promise<Map<Presence, number>>;
  /** Whether the database answers now. */
  databaseReady(): Promise<boolean>;
  /** How many times the embedded database has been restarted (0 with MONGODB_URI). */
  databaseRestarts(): number;
}

export interface OpsMetrics {
  registry: Registry;
  /** Times every request under /conference (mount there): route pattern, method, status. */
  webhookTimer: RequestHandler;
  /** `rest`, counting and timing each call by operation and outcome. */
  countRest(rest: TwilioRest): TwilioRest;
  /** Gauges read at scrape time from the live state. */
  watch(readings: LiveReadings): void;
}

const PRESENCES: Presence[] = ['available', 'ringing', 'on-call', 'wrap-up', 'away', 'offline'];

/** A fresh registry with the app's metrics (and the process's default ones). */
export function createOpsMetrics(options: { defaultMetrics?: boolean } = {}): OpsMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: PREFIX });

  const webhooks = new Histogram({
    name: `${PREFIX}webhook_duration_seconds`,
    help: 'Requests under /conference (Twilio webhooks and the agent page’s bring-in), by route pattern, method and HTTP status: latency from arrival to the last byte.',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const restCalls = new Counter({
    name: `${PREFIX}twilio_rest_requests_total`,
    help: 'REST requests to Twilio by operation and outcome (success, client_error, rate_limited, server_error, no_answer).',
    labelNames: ['operation', 'outcome'] as const,
    registers: [registry],
  });
  const restLatency = new Histogram({
    name: `${PREFIX}twilio_rest_duration_seconds`,
    help: 'REST requests to Twilio by operation: latency until Twilio answered or the request failed.',
    labelNames: ['operation'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  let readings: LiveReadings | undefined;
  new Gauge({
    name: `${PREFIX}calls_waiting`,
    help: 'Calls in the waiting line now (waiting, or ringing an agent).',
    registers: [registry],
    async collect() {
      if (readings) this.set(await readings.callsWaiting().catch(() => NaN));
    },
  });
  new Gauge({
    name: `${PREFIX}agents`,
    help: 'Enabled agents by presence now.',
    labelNames: ['presence'] as const,
    registers: [registry],
    async collect() {
      if (!readings) return;
      const counts = await readings.agentsByPresence().catch(() => undefined);
      for (const presence of PRESENCES) this.set({ presence }, counts ? (counts.get(presence) ?? 0) : NaN);
    },
  });
  new Gauge({
    name: `${PREFIX}database_ready`,
    help: '1 when the database answers a ping within a second (as /readyz), else 0.',
    registers: [registry],
    async collect() {
      if (readings) this.set((await readings.databaseReady().catch(() => false)) ? 1 : 0);
    },
  });
  let restartsSeen = 0;
  new Counter({
    name: `${PREFIX}database_restarts_total`,
    help: 'Times the embedded FerretDB died and was started again (always 0 with MONGODB_URI).',
    registers: [registry],
    collect() {
      // The supervisor counts; the counter catches up with it at each scrape.
      const total = readings?.databaseRestarts() ?? 0;
      if (total > restartsSeen) this.inc(total - restartsSeen);
      restartsSeen = Math.max(restartsSeen, total);
    },
  });

  const webhookTimer: RequestHandler = (req, res, next) => {
    const end = webhooks.startTimer();
    res.once('finish', () => end({ route: webhookRouteOf(req.path), method: req.method, status: String(res.statusCode) }));
    next();
  };

  function countRest(rest: TwilioRest): TwilioRest {
    const timed =
      <A extends unknown[], R>(operation: string, call: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        const end = restLatency.startTimer({ operation });
        try {
          const result = await call(...args);
          restCalls.inc({ operation, outcome: 'success' });
          return result;
        } catch (err) {
          restCalls.inc({ operation, outcome: restOutcomeOf(err) });
          throw err;
        } finally {
          end();
        }
      };
    return {
      dial: timed('dial', (request) => rest.dial(request)),
      hangUp: timed('hang_up', (callSid) => rest.hangUp(callSid)),
      callStatus: timed('fetch_call', (callSid) => rest.callStatus(callSid)),
      redirect: timed('redirect', (callSid, twiml, statusCallback) => rest.redirect(callSid, twiml, statusCallback)),
      hold: timed('hold', (conferenceSid, callSid, hold, holdUrl) => rest.hold(conferenceSid, callSid, hold, holdUrl)),
      addParticipant: timed('add_participant', (conferenceSid, request) => rest.addParticipant(conferenceSid, request)),
      updateParticipant: timed('update_participant', (conferenceSid, callSidOrLabel, change) => rest.updateParticipant(conferenceSid, callSidOrLabel, change)),
    };
  }

  return {
    registry,
    webhookTimer,
    countRest,
    watch(live) {
      readings = live;
    },
  };
}
