// The only entry point: config → logger → database → Twilio → app → listen, and a graceful shutdown on SIGTERM/SIGINT.
import dotenv from 'dotenv';
import { ConfigError, parseConfig } from './config';
import { createLogger, maskNumber } from './logger';
import { startServer } from './runtime';

async function main(): Promise<void> {
  dotenv.config({ quiet: true });
  let config;
  try {
    config = parseConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nSee .env.example for every setting.\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const running = await startServer({ config, logger });
  logger.info(`warm-transfer listening on ${config.host}:${running.port}`, { publicBaseUrl: config.publicBaseUrl, mode: config.twilio.mode });
  if (config.twilio.mode === 'local') {
    logger.info('DEMO MODE: no Twilio credentials set, a local Twilio stand-in plays the phone network.');
    logger.info(`  Agents:   open ${config.publicBaseUrl}/sign-in in two browsers (or a normal and a private window) and sign in as two different demo agents, one click each`);
    logger.info(`  Customer: open ${config.publicBaseUrl}/phone and press "Call support"`);
  } else {
    logger.info(`Twilio mode: point the voice webhook of ${maskNumber(config.twilio.number)} at ${config.publicBaseUrl}/conference/connect/client (POST)`);
  }

  let signals = 0;
  const shutdown = (signal: string): void => {
    signals += 1;
    if (signals > 1) {
      logger.warn(`second ${signal}: exiting now`);
      process.exit(1);
    }
    logger.info(`${signal} received: shutting down`);
    const force = setTimeout(() => {
      logger.error('shutdown took longer than 10 s: exiting');
      process.exit(1);
    }, 10000);
    force.unref();
    running.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error('shutdown failed', { error: err instanceof Error ? err.message : String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`warm-transfer could not start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
