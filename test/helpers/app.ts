// Starts the real app (HTTP on a free port) against a test database and a REST stand-in, with helpers to sign webhooks like Twilio.
import request from 'supertest';
import { openTestDatabase } from './db';
import { startRestRecorder, type RestRecorder } from './rest-recorder';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks';
import { parseConfig, type Config } from '../../src/config';
import type { Database } from '../../src/db/connect';
import { createLogger } from '../../src/logger';
import { startServer, type RunningServer } from '../../src/runtime';
import { webhookUrls } from '../../src/services/webhook-urls';
import { tapTwimlAnswers } from './contract/observe';

export const TEST_ENV = {
  TWILIO_ACCOUNT_SID: `AC${'1a'.repeat(16)}`,
  TWILIO_AUTH_TOKEN: 'test-auth-token-0123456789abcdef',
  TWILIO_API_KEY: `SK${'2b'.repeat(16)}`,
  TWILIO_API_SECRET: 'test-api-secret-0123456789abcdef',
  TWILIO_NUMBER: '+15557654321',
  PUBLIC_BASE_URL: 'https://warm-transfer.example.test',
  HOLD_MUSIC_URL: 'https://music.example.test/hold.mp3',
  PORT: '0',
  LOG_LEVEL: 'debug',
} as const;

export interface TestApp {
  config: Config;
  running: RunningServer;
  logs: string[];
  /** A supertest client for the running server. */
  http(): ReturnType<typeof request>;
  /** POSTs form `params` to `path`, signed exactly as Twilio signs for PUBLIC_BASE_URL + path. */
  webhook(path: string, params: Record<string, string>): request.Test;
  stop(): Promise<void>;
}

/** Twilio's signature of a POST to `url` with `params`, made with `authToken`. */
export function twilioSignature(authToken: string, url: string, params: Record<string, string>): string {
  return getExpectedTwilioSignature(authToken, url, params);
}

/** Starts the app in Twilio mode with its REST calls going to `restBaseUrl`. */
export async function startTestApp(options: { db: Database; restBaseUrl: string; env?: Record<string, string>; agentRingSeconds?: number }): Promise<TestApp> {
  const config = parseConfig({ ...TEST_ENV, TWILIO_API_BASE_URL: options.restBaseUrl, ...options.env });
  const logs: string[] = [];
  const logger = createLogger(config.logLevel, (line) => logs.push(line));
  const running = await startServer({ config, logger, db: options.db, accessLog: true, agentRingSeconds: options.agentRingSeconds });
  tapTwimlAnswers(running.server, { waitPaths: [new URL(webhookUrls(config.publicBaseUrl).wait()).pathname] });
  const http = () => request(running.url);
  return {
    config,
    running,
    logs,
    http,
    webhook(path, params) {
      const signature = twilioSignature(config.twilio.authToken, `${config.publicBaseUrl}${path}`, params);
      return http().post(path).type('form').set('X-Twilio-Signature', signature).send(params);
    },
    stop: () => running.stop(),
  };
}

let sidCounter = 0;
/** A unique, well-formed Twilio SID with the given prefix (CA for calls, CF for conferences). */
export function fakeSid(prefix: 'CA' | 'CF' = 'CA'): string {
  sidCounter += 1;
  const unique = `${process.pid.toString(16)}${Date.now().toString(16)}${sidCounter.toString(16)}`.padStart(32, '0').slice(-32);
  return `${prefix}${unique}`;
}

export interface AppSuite {
  db: Awaited<ReturnType<typeof openTestDatabase>>;
  rest: RestRecorder;
  app: TestApp;
}

/**
 * Registers beforeAll/afterAll that give this test file its own database, REST recorder and running app.
 * The returned object is filled in before the first test runs.
 */
export function useAppSuite(options: { env?: Record<string, string> } = {}): AppSuite {
  const suite = {} as AppSuite;
  beforeAll(async () => {
    suite.db = await openTestDatabase();
    suite.rest = await startRestRecorder();
    suite.app = await startTestApp({ db: suite.db, restBaseUrl: suite.rest.baseUrl, env: options.env });
  });
  afterAll(async () => {
    await suite.app?.stop();
    await suite.rest?.close();
    await suite.db?.drop();
  });
  return suite;
}
