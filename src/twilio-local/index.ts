// A faithful local stand-in for the parts of Twilio this app uses: REST, voice engine, devices, a demo phone.
import express, { type Router } from 'express';
import { Engine, type ObservedWebhook } from './engine';
import { createRestRouter } from './rest';
import { createDeviceRouter } from './device';
import { createPhoneRouter } from './phone';
import { createAudio, type StandInAudio } from './audio';
import type { LocalState } from './types';

export type { ObservedWebhook } from './engine';
export type { LocalState, CallView, ConferenceView, ParticipantView, Hears, CallStatus } from './types';

/** Settings of the local Twilio stand-in. */
export interface TwilioLocalOptions {
  accountSid: string; // 'AC' + 32 hex
  authToken: string; // signs webhooks (X-Twilio-Signature); REST Basic auth accountSid:authToken
  apiKeySid: string; // 'SK...'; REST Basic auth apiKeySid:apiKeySecret is also accepted
  apiKeySecret: string; // verifies device Access Tokens (HS256 JWT, iss=apiKeySid, sub=accountSid)
  numbers: Record<string, { voiceUrl: string }>; // E.164 number -> voice webhook URL (POST)
  /** Texts the app's TwiML says often, spoken ahead into the cache once a page first brings audio (not Twilio: it has no such thing). */
  phrases?: readonly string[];
  ringTimeoutSeconds?: number; // default 60: an unanswered outbound call to a client -> no-answer
  log?: (msg: string) => void; // one line per notable event; never tokens or full phone numbers
  /** Multiplies simulated media lengths (Say, Play, Pause); e.g. 0.01 in tests. Default 1. */
  timeScale?: number;
  /** How long a webhook may take before it counts as failed (Twilio: 15 s). Default 15000. */
  webhookTimeoutMs?: number;
  /**
   * When set (demo mode passes PUBLIC_BASE_URL), the stand-in accepts callback and TwiML URLs only under it: REST
   * answers Twilio's invalid-URL error for any other, and no URL outside it is ever requested.
   */
  callbackBase?: string;
  /** Sees every REST exchange and every webhook (contract tests validate them against Twilio's published definitions). */
  observe?: TwilioLocalObserver;
  /**
   * Demo only: a call to an E.164 phone number (not a client) rings this many simulated seconds, then is answered and
   * runs its Url or Twiml (README). Unset: such a call fails at once, as there is no PSTN here.
   */
  pstnAnswerSeconds?: number;
  /** Where the app reaches this REST API (a recording's RecordingUrl is under it); default https://api.twilio.com. */
  restBaseUrl?: string;
}

/** One REST request the stand-in answered, as it was parsed and as it was answered. */
export interface ObservedRestExchange {
  method: string;
  /** The request path, ending in /2010-04-01/Accounts/AC.../Calls.json (any mount point before it). */
  path: string;
  /** Form parameters as parsed (a repeated key is an array). */
  params: Record<string, string | string[]>;
  status: number;
  body: unknown;
}

/** Hooks for tests; the stand-in works the same without them. */
export interface TwilioLocalObserver {
  rest?(exchange: ObservedRestExchange): void;
  webhook?(webhook: ObservedWebhook): void;
}

/** A running stand-in. */
export interface TwilioLocal {
  router: Router; // mount it, e.g. app.use('/twilio-local', local.router)
  stop(): Promise<void>; // ends every call and timer, closes every SSE stream; idempotent
  snapshot(): LocalState; // read-only view of calls, conferences, participants, registered identities
  audio: Pick<StandInAudio, 'stats'>; // the mixer's clock (the benchmark reads it)
}

/**
 * Creates the stand-in. No I/O happens until requests arrive on the router.
 * The REST API lives at `<base>/2010-04-01/...`, the device channel at `<base>/local/device/...`,
 * the phone channel at `<base>/local/phone/...`; each leg's audio is offered at `.../calls/:callSid/media` on either.
 */
export function createTwilioLocal(opts: TwilioLocalOptions): TwilioLocal {
  // The audio needs the engine, and the engine asks the audio to ready each verb's sound: bound once both exist.
  const late: { audio?: StandInAudio } = {};
  const engine = new Engine({
    accountSid: opts.accountSid,
    authToken: opts.authToken,
    numbers: opts.numbers,
    ringTimeoutSeconds: opts.ringTimeoutSeconds ?? 60,
    timeScale: opts.timeScale ?? 1,
    webhookTimeoutMs: opts.webhookTimeoutMs ?? 15_000,
    log: opts.log ?? (() => undefined),
    observeWebhook: opts.observe?.webhook,
    callbackBase: opts.callbackBase,
    prepareMedia: (call, hears) => late.audio?.prepare(call.sid, hears) ?? Promise.resolve(undefined),
    pstnAnswerSeconds: opts.pstnAnswerSeconds,
    restBaseUrl: opts.restBaseUrl,
    recorder: { start: (sid) => late.audio?.startRecording(sid), stop: (sid) => late.audio?.stopRecording(sid) },
  });
  const router = express.Router();
  const observeRest = opts.observe?.rest;
  if (observeRest) router.use('/2010-04-01', observeRestExchanges(observeRest));
  const audio = createAudio(engine, { auth: opts, callbackBase: opts.callbackBase, log: opts.log ?? (() => undefined), ...(opts.phrases ? { phrases: opts.phrases } : {}) });
  late.audio = audio;
  const device = createDeviceRouter(engine, opts, audio);
  const phone = createPhoneRouter(engine, audio);
  router.use(createRestRouter(engine, opts));
  // Before the device router: its /local/device/calls/:callSid/:action would take .../media as an unknown action.
  router.use(audio.router);
  router.use(device.router);
  router.use(phone.router);
  let stopping: Promise<void> | undefined;
  return {
    router,
    stop() {
      stopping ??= (async () => {
        device.closeAll();
        phone.closeAll();
        await audio.stop();
        await engine.stop();
      })();
      return stopping;
    },
    snapshot: () => engine.snapshot(),
    audio: { stats: () => audio.stats() },
  };
}

/** Wraps res.json on REST paths so the observer sees each request (body parsed by then) with its answer. */
function observeRestExchanges(observe: NonNullable<TwilioLocalObserver['rest']>): express.RequestHandler {
  return (req, res, next) => {
    // A recording's media (WAV) is a file, not an operation of the API's spec: its answers are not contract exchanges.
    if (/\/Recordings\/RE[0-9a-f]{32}(\.wav|\.mp3)?$/.test(req.path)) return next();
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      const params = req.body && typeof req.body === 'object' ? ({ ...req.body } as Record<string, string | string[]>) : {};
      observe({ method: req.method, path: req.baseUrl + req.path, params, status: res.statusCode, body });
      return json(body);
    };
    next();
  };
}
