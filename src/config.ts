// Configuration: the only reader of process.env. Parsed and validated once into a frozen, typed object.
import { z } from 'zod';
import { isTimeZone } from './contact-center/calendar';

export const DEFAULT_HOLD_MUSIC_URL = 'http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3';
export const DEFAULT_TWILIO_API_BASE_URL = 'https://api.twilio.com';
/** The caller ID the demo (local stand-in) mode answers on when TWILIO_NUMBER is not set. */
export const DEMO_TWILIO_NUMBER = '+15005550006';
/** Where demo mode mounts the local Twilio stand-in. */
export const TWILIO_LOCAL_PATH = '/twilio-local';


const TWILIO_KEYS = ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_API_KEY', 'TWILIO_API_SECRET', 'TWILIO_NUMBER'] as const;

const optionalString = z
  .string()
  .transform((value) => value.trim())
  .optional()
  .transform((value) => (value ? value : undefined));

const httpUrl = (what: string) =>
  z
    .string()
    .trim()
    .refine((value) => /^https?:\/\/[^\s]+$/i.test(value) && URL.canParse(value), `must be an http(s) URL (${what})`)
    .transform((value) => value.replace(/\/+$/, ''));

/** Minutes or hours; fractions allowed so tests can use seconds. */
const positiveNumber = z.coerce.number().positive().max(1e6);

const EnvSchema = z.object({
  NODE_ENV: optionalString,
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  PUBLIC_BASE_URL: httpUrl('the address Twilio reaches this app on').optional(),
  MONGODB_URI: optionalString.refine((v) => v === undefined || /^mongodb(\+srv)?:\/\//.test(v), 'must start with mongodb:// or mongodb+srv://'),
  TWILIO_ACCOUNT_SID: optionalString.refine((v) => v === undefined || /^AC[0-9a-f]{32}$/i.test(v), 'must look like AC followed by 32 hex digits'),
  TWILIO_AUTH_TOKEN: optionalString,
  TWILIO_API_KEY: optionalString.refine((v) => v === undefined || /^SK[0-9a-f]{32}$/i.test(v), 'must look like SK followed by 32 hex digits'),
  TWILIO_API_SECRET: optionalString,
  TWILIO_NUMBER: optionalString.refine((v) => v === undefined || /^\+[1-9]\d{6,14}$/.test(v), 'must be an E.164 number such as +15551234567'),
  HOLD_MUSIC_URL: httpUrl('an MP3 or WAV Twilio can fetch').default(DEFAULT_HOLD_MUSIC_URL),
  TWILIO_API_BASE_URL: httpUrl("the REST API's base").optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  DATA_DIR: optionalString,
  RING_SECONDS: z.coerce.number().int().min(5).max(120).default(20),
  WRAP_UP_SECONDS: z.coerce.number().int().min(0).max(600).default(5),
  MAX_WAIT_SECONDS: z.coerce.number().int().min(2).max(7200).default(600),
  OFFLINE_AFTER_SECONDS: z.coerce.number().int().min(5).max(600).default(30),
  RECONNECT_GRACE_SECONDS: z.coerce.number().int().min(0).max(120).default(15),
  DB_TIMEOUT_MS: z.coerce.number().int().min(100).max(60000).default(5000),
  HOST: optionalString,
  SESSION_SECRET: optionalString.refine((v) => v === undefined || v.length >= 32, 'must be at least 32 characters'),
  SESSION_IDLE_MINUTES: positiveNumber.default(60),
  SESSION_MAX_HOURS: positiveNumber.default(12),
  SIGN_IN_MAX_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).max(1000).default(5),
  SIGN_IN_MAX_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).max(10000).default(20),
  SIGN_IN_BLOCK_MINUTES: positiveNumber.default(15),
  REPORT_TIME_ZONE: z.string().trim().default('UTC').refine(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Paris'),
  CALLBACK_OFFER_AFTER_SECONDS: z.coerce.number().int().min(0).max(3600).default(0),
  CALLBACK_OFFER_EVERY_SECONDS: z.coerce.number().int().min(10).max(3600).default(180),
  CALLBACK_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  CALLBACK_RETRY_SECONDS: z.coerce.number().int().min(0).max(3600).default(120),
  VOICEMAIL_LINE_LENGTH: z.coerce.number().int().min(0).max(10000).default(0),
  VOICEMAIL_MAX_SECONDS: z.coerce.number().int().min(5).max(600).default(120),
  VOICEMAIL_TRANSCRIBE: z.enum(['true', 'false']).default('false'),
  MENU_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(60).default(5),
  OPENING_HOURS_TIME_ZONE: z.string().trim().optional().refine((v) => v === undefined || v === '' || isTimeZone(v), 'must be an IANA time zone such as UTC or Europe/Paris'),
  REPORT_ANSWER_TARGET_SECONDS: z.coerce.number().int().min(1).max(3600).default(20),
  REPORT_SHORT_ABANDON_SECONDS: z.coerce.number().int().min(0).max(600).default(5),
  REPORT_SERVICE_LEVEL_GOAL_PERCENT: z.coerce.number().min(1).max(100).default(80),
  METRICS_TOKEN: optionalString.refine((v) => v === undefined || v.length >= 16, 'must be at least 16 characters'),
});

export interface Config {
  env: string;
  port: number;
  /** The interface to listen on: 127.0.0.1 in demo mode, every interface with real Twilio (Twilio must reach it). */
  host: string;
  publicBaseUrl: string;
  /** Undefined: start the embedded FerretDB. */
  mongodbUri?: string;
  dataDir: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  holdMusicUrl: string;
  /** The longest a database operation may take before a request is answered with an apology or a 503. */
  dbTimeoutMs: number;
  /** Product settings of the contact center. */
  contactCenter: {
    /** Seconds an agent's phone rings before the call goes to the next agent. */
    ringSeconds: number;
    /** Seconds after a call before an agent is offered the next one. */
    wrapUpSeconds: number;
    /** Longest a caller waits in line before a polite goodbye. */
    maxWaitSeconds: number;
    /** An agent whose softphone dropped off a call is offered that customer first for this long. */
    reconnectGraceSeconds: number;
    /** A softphone silent this long means the agent is offline. */
    offlineAfterSeconds: number;
    /** A waiting caller first hears the callback offer this long after calling (0: never), then every callbackOfferEverySeconds. */
    callbackOfferAfterSeconds: number;
    callbackOfferEverySeconds: number;
    /** A callback nobody answers is tried this many times in all, callbackRetrySeconds apart, then recorded as failed. */
    callbackAttempts: number;
    callbackRetrySeconds: number;
    /** With this many callers waiting in their queue (0: never), a new caller is offered to leave a message instead. */
    voicemailLineLength: number;
    /** The longest voicemail a caller may leave, in seconds. */
    voicemailMaxSeconds: number;
    /** Ask Twilio to transcribe voicemails (<Record transcribe>, a paid feature, messages up to two minutes). */
    voicemailTranscribe: boolean;
    /** Seconds the keypad menu waits for a key before the default queue. */
    menuTimeoutSeconds: number;
    /** IANA zone the opening hours (set by admins on /admin) are written in; default REPORT_TIME_ZONE. */
    openingHoursTimeZone: string;
  };
  auth: {
    /** Signs the session cookie. Undefined: one is generated per installation and kept in the database. */
    sessionSecret?: string;
    /** A session unused this long ends. */
    idleTimeoutMs: number;
    /** A session ends this long after sign-in, however busy. */
    absoluteTimeoutMs: number;
    /** Cookies only over https: true when PUBLIC_BASE_URL is https. */
    secureCookies: boolean;
    /** Failed sign-ins allowed per sign-in name, and per client address, within `blockMs`, before they are refused for `blockMs`. */
    maxFailuresPerAccount: number;
    maxFailuresPerAddress: number;
    blockMs: number;
  };
  /** The service metrics' definitions (reports, the board's tiles). */
  reports: {
    /** IANA zone of the reports' days and hours. */
    timeZone: string;
    /** T: answered within this many seconds counts toward the service level. */
    answerTargetSeconds: number;
    /** S: callers hanging up before this many seconds are short abandons, left out of SL and abandon rate. */
    shortAbandonSeconds: number;
    /** The service level aimed for, 0..1. */
    serviceLevelGoal: number;
  };
  /** GET /metrics (Prometheus): with a token, any client presenting it as a bearer token; without, loopback only. */
  metrics: {
    token?: string;
  };
  twilio: {
    /**
     * 'twilio': real credentials; 'local': no credentials set, the built-in stand-in plays Twilio. In 'local' mode the
     * credentials below are empty here: the runtime generates them once per installation and keeps them in DATA_DIR.
     */
    mode: 'twilio' | 'local';
    accountSid: string;
    authToken: string;
    apiKey: string;
    apiSecret: string;
    number: string;
    /** Where REST requests go instead of https://api.twilio.com (local stand-in, tests). */
    apiBaseUrl: string;
  };
}

/** Thrown when the environment is invalid; the message names every bad key. */
export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates the environment into a Config, or throws a ConfigError naming every bad key. */
export function parseConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = EnvSchema.safeParse(env);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  const credentialKeys = TWILIO_KEYS.filter((key) => key !== 'TWILIO_NUMBER');
  const anyCredential = credentialKeys.some((key) => e[key] !== undefined);
  if (anyCredential) {
    for (const key of TWILIO_KEYS) if (e[key] === undefined) problems.push(`${key}: required when Twilio credentials are set (set all of ${TWILIO_KEYS.join(', ')}, or none for demo mode)`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const port = e.PORT;
  const publicBaseUrl = e.PUBLIC_BASE_URL ?? `http://localhost:${port}`;
  const mode = anyCredential ? 'twilio' : 'local';
  const twilio =
    mode === 'twilio'
      ? {
          mode,
          accountSid: e.TWILIO_ACCOUNT_SID!,
          authToken: e.TWILIO_AUTH_TOKEN!,
          apiKey: e.TWILIO_API_KEY!,
          apiSecret: e.TWILIO_API_SECRET!,
          number: e.TWILIO_NUMBER!,
          apiBaseUrl: e.TWILIO_API_BASE_URL ?? DEFAULT_TWILIO_API_BASE_URL,
        }
      : {
          mode,
          accountSid: '',
          authToken: '',
          apiKey: '',
          apiSecret: '',
          number: e.TWILIO_NUMBER ?? DEMO_TWILIO_NUMBER,
          apiBaseUrl: e.TWILIO_API_BASE_URL ?? `${publicBaseUrl}${TWILIO_LOCAL_PATH}`,
        };
  return deepFreeze({
    env: e.NODE_ENV ?? 'development',
    port,
    host: e.HOST ?? (mode === 'local' ? '127.0.0.1' : '0.0.0.0'),
    publicBaseUrl,
    mongodbUri: e.MONGODB_URI,
    dataDir: e.DATA_DIR ?? '.data',
    logLevel: e.LOG_LEVEL,
    holdMusicUrl: e.HOLD_MUSIC_URL,
    dbTimeoutMs: e.DB_TIMEOUT_MS,
    contactCenter: {
      ringSeconds: e.RING_SECONDS,
      wrapUpSeconds: e.WRAP_UP_SECONDS,
      maxWaitSeconds: e.MAX_WAIT_SECONDS,
      reconnectGraceSeconds: e.RECONNECT_GRACE_SECONDS,
      offlineAfterSeconds: e.OFFLINE_AFTER_SECONDS,
      openingHoursTimeZone: e.OPENING_HOURS_TIME_ZONE || e.REPORT_TIME_ZONE,
      menuTimeoutSeconds: e.MENU_TIMEOUT_SECONDS,
      voicemailMaxSeconds: e.VOICEMAIL_MAX_SECONDS,
      voicemailTranscribe: e.VOICEMAIL_TRANSCRIBE === 'true',
      voicemailLineLength: e.VOICEMAIL_LINE_LENGTH,
      callbackOfferAfterSeconds: e.CALLBACK_OFFER_AFTER_SECONDS,
      callbackOfferEverySeconds: e.CALLBACK_OFFER_EVERY_SECONDS,
      callbackAttempts: e.CALLBACK_ATTEMPTS,
      callbackRetrySeconds: e.CALLBACK_RETRY_SECONDS,
    },
    auth: {
      sessionSecret: e.SESSION_SECRET,
      idleTimeoutMs: Math.round(e.SESSION_IDLE_MINUTES * 60_000),
      absoluteTimeoutMs: Math.round(e.SESSION_MAX_HOURS * 3_600_000),
      secureCookies: publicBaseUrl.startsWith('https://'),
      maxFailuresPerAccount: e.SIGN_IN_MAX_FAILURES_PER_ACCOUNT,
      maxFailuresPerAddress: e.SIGN_IN_MAX_FAILURES_PER_ADDRESS,
      blockMs: Math.round(e.SIGN_IN_BLOCK_MINUTES * 60_000),
    },
    reports: {
      timeZone: e.REPORT_TIME_ZONE,
      answerTargetSeconds: e.REPORT_ANSWER_TARGET_SECONDS,
      shortAbandonSeconds: e.REPORT_SHORT_ABANDON_SECONDS,
      serviceLevelGoal: e.REPORT_SERVICE_LEVEL_GOAL_PERCENT / 100,
    },
    metrics: { token: e.METRICS_TOKEN },
    twilio: twilio as Config['twilio'],
  });
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) if (child && typeof child === 'object') deepFreeze(child as object);
  return Object.freeze(value);
}
