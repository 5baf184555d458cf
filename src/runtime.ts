// Assembles and runs the whole app: database, Twilio (real or the local stand-in), HTTP. Returns a handle with an idempotent stop.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app';
import { createBackgroundTasks, type BackgroundTasks } from './background';
import type { Config } from './config';
import { openAppDatabase, type Database } from './db/connect';
import type { Logger } from './logger';
import { createAgentDirectory } from './services/agents';
import { createCallService, type CallService } from './services/calls';
import { webhookUrls } from './services/webhook-urls';
import { createTwilioLocal, type TwilioLocal, type TwilioLocalObserver } from './twilio-local';
import { createTwilioRest, type TwilioRest } from './twilio/rest';

export interface RunningServer {
  url: string;
  port: number;
  server: http.Server;
  db: Database;
  calls: CallService;
  background: BackgroundTasks;
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
  /** Seconds agents' phones ring before no-answer. */
  agentRingSeconds?: number;
  /** Demo mode: how fast the stand-in plays Say/Play/Pause (1 = real time; tests go faster). */
  localTimeScale?: number;
  /** Demo mode: sees every REST exchange and webhook of the stand-in (contract tests). */
  twilioLocalObserver?: TwilioLocalObserver;
}

/** Starts the app described by `config` and listens on its port (0 = any free port). */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const { config, logger } = options;
  const cleanups: Array<{ name: string; run: () => Promise<void> }> = [];
  const db = options.db ?? (await openAppDatabase({ mongodbUri: config.mongodbUri, dataDir: config.dataDir, logger }));
  if (!options.db) cleanups.push({ name: 'database', run: () => db.close() });

  try {
    const urls = webhookUrls(config.publicBaseUrl);
    const agents = createAgentDirectory();
    const background = createBackgroundTasks(logger);
    const rest = options.rest ?? createTwilioRest(config.twilio);
    const calls = createCallService({
      calls: db.models.calls,
      rest,
      agents,
      background,
      logger,
      urls,
      twilioNumber: config.twilio.number,
      agentRingSeconds: options.agentRingSeconds,
    });
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
      });
      const local = twilioLocal;
      cleanups.unshift({ name: 'twilio stand-in', run: () => local.stop() });
    }
    cleanups.unshift({ name: 'background tasks', run: () => background.drain() });

    const app = createApp({ config, logger, calls, agents, urls, twilioLocal: twilioLocal?.router, accessLog: options.accessLog });
    const server = http.createServer(app);
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, '0.0.0.0', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as AddressInfo).port;

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
            logger.error(`shutdown: ${cleanup.name} failed`, { error: err instanceof Error ? err.message : String(err) });
          }
        }
      })();
      return stopping;
    };
    return { url: `http://127.0.0.1:${port}`, port, server, db, calls, background, twilioLocal, stop };
  } catch (err) {
    for (const cleanup of cleanups) await cleanup.run().catch(() => undefined);
    throw err;
  }
}

