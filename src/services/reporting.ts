// The service metrics' moving parts, assembled once: the report summaries, the board's tiles, the settling pass that
// stores each finished day's summary (and, on the first start after an upgrade, those of the stored history), and the
// live readings behind the Prometheus gauges.
import type { Connection } from 'mongoose';
import type { Config } from '../config';
import type { MetricSettings } from '../contact-center/metrics';
import type { Presence } from '../contact-center/presence';
import type { Logger } from '../logger';
import type { HistoryStore } from '../models/history';
import { createReportSummaries, type ReportSummaries } from '../models/report-summary';
import type { LiveReadings } from '../observability/prometheus';
import { createBoardTiles, type BoardTiles, type TileInputs } from './board-tiles';
import type { AgentDirectory } from './agents';
import type { CallService } from './calls';
import type { ChangeHub } from './changes';
import type { Routing } from './routing';

export interface Reporting {
  settings: MetricSettings & { timeZone: string };
  summaries: ReportSummaries;
  tiles: (inputs: TileInputs) => Promise<BoardTiles>;
  /** Starts the settling pass: soon after start, then every `everyMs`. */
  start(): void;
  stop(): Promise<void>;
}

export function createReporting(deps: { connection: Connection; history: HistoryStore; config: Config; changes: ChangeHub; logger: Logger; everyMs?: number }): Reporting {
  const { config, logger } = deps;
  const settings = { ...config.reports, wrapUpSeconds: config.contactCenter.wrapUpSeconds };
  const summaries = createReportSummaries(deps.connection, deps.history, settings, { timeoutMs: config.dbTimeoutMs });
  const tiles = createBoardTiles({ summaries, settings, changes: deps.changes });
  const everyMs = deps.everyMs ?? 60_000;
  let first: NodeJS.Timeout | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  function pass(): void {
    if (running || stopped) return;
    running = (async () => {
      try {
        // A few seconds a minute at most: the stored history is summarised over a few minutes, not at the cost of live calls.
        const { done, pending } = await summaries.settle(Math.min(5_000, everyMs / 4));
        if (pending > 0) logger.info(`report summaries: ${pending} past days still to summarise (the stored history), ${done} ready`);
      } catch (err) {
        logger.warn('report summaries: the settling pass failed; it runs again shortly', { error: err instanceof Error ? err.message : String(err) });
      } finally {
        running = undefined;
      }
    })();
  }

  return {
    settings,
    summaries,
    tiles,
    start() {
      first = setTimeout(pass, Math.min(5000, everyMs));
      first.unref();
      timer = setInterval(pass, everyMs);
      timer.unref();
    },
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}

/** What the Prometheus gauges read at scrape time. */
export function liveReadings(deps: { calls: CallService; agents: AgentDirectory; routing: Routing; readiness: () => Promise<{ ready: boolean }>; restarts: () => number }): LiveReadings {
  return {
    async callsWaiting() {
      return (await deps.calls.liveCalls()).filter((c) => c.status === 'waiting' || c.status === 'offered').length;
    },
    async agentsByPresence() {
      const all = (await deps.agents.all()).filter((a) => !a.disabled);
      const presence = await deps.routing.presenceOfAll(new Date(), all);
      const counts = new Map<Presence, number>();
      for (const agent of all) {
        const p = presence.get(agent.id)?.presence ?? 'offline';
        counts.set(p, (counts.get(p) ?? 0) + 1);
      }
      return counts;
    },
    databaseReady: async () => (await deps.readiness()).ready,
    databaseRestarts: deps.restarts,
  };
}
