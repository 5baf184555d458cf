// The only entry point: config → logger → database → Twilio → app → listen, and a graceful shutdown on SIGTERM/SIGINT.
import dotenv from 'dotenv';
import { ConfigError, parseConfig } from './config';
import { consoleSink, createLogger, maskNumber } from './logger';
import { startServer } from './runtime';
import { errorMessage } from './errors';

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
  // Logging survives a closed stdout/stderr (EPIPE) instead of crashing the app on its next line.
  const logger = createLogger(config.logLevel, consoleSink());
  const running = await startServer({ config, logger });
  logger.info(`warm-transfer listening on ${config.host}:${running.port}`, { publicBaseUrl: config.publicBaseUrl, mode: config.twilio.mode });
  if (config.twilio.mode === 'local') {
    logger.info('DEMO MODE: no Twilio credentials set, a local Twilio stand-in plays the phone network.');
    logger.info(`  Agents:   open ${config.publicBaseUrl}/sign-in in two browsers (or a normal and a private window), sign in as two different demo agents (one click each) and press Available`);
    logger.info(`  Customer: open ${config.publicBaseUrl}/phone and press "Call support"`);
  } else {
    logger.info(`Twilio mode: point the voice webhook of ${maskNumber(config.twilio.number)} at ${config.publicBaseUrl}/conference/connect/client (POST)`);
  }

  let signals = 0;
  let firstSignalAt = 0;
  const shutdown = (signal: string, why = `${signal} received`): void => {
    // Ctrl-C under `npm start` reaches the app twice at once (from the terminal, and forwarded by npm): not a second request.
    if (signals > 0 && Date.now() - firstSignalAt < 1000) return;
    signals += 1;
    if (signals === 1) firstSignalAt = Date.now();
    if (signals > 1) {
      logger.warn(`second ${signal}: exiting now`);
      process.exit(1);
    }
    logger.info(`${why}: shutting down`);
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
        logger.error('shutdown failed', { error: errorMessage(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  // Under `npm start` the app is npm's foreground child: if npm goes (even by SIGKILL), so does the app, cleanly.
  if (process.env.npm_lifecycle_event) {
    const parent = process.ppid;
    const watch = setInterval(() => {
      if (process.ppid === parent) return;
      clearInterval(watch);
      shutdown('npm exit', 'npm, which started the app, has exited');
    }, 1000);
    watch.unref();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`warm-transfer could not start: ${errorMessage(err)}\n`);
  process.exit(1);
});
