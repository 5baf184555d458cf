// The board's tiles: what a supervisor reads at a glance, today so far and over the last 15 minutes — calls waiting,
// the longest wait now, agents by presence, service level, ASA, abandons, AHT. The live part comes from the board's
// own read of calls and presences; the finished calls from the report summaries, read at most every few seconds.
import { addAnsweredInProgress, addTallies, countPresences, emptyTally, occupancyNow, ratesOf, type MetricSettings, type Tally } from '../contact-center/metrics';
import { localDayOf, localDayStart } from '../contact-center/calendar';
import type { Presence } from '../contact-center/presence';
import type { ReportSummaries } from '../models/report-summary';

export const TILE_WINDOW_MS = 15 * 60_000;

/** One period's tiles. */
export interface PeriodTiles {
  offered: number;
  answered: number;
  abandoned: number;
  /** 0..1, or null before any call counts. */
  serviceLevel: number | null;
  asaSeconds: number | null;
  abandonRate: number | null;
  ahtSeconds: number | null;
  longestWaitSeconds: number;
}

export interface BoardTiles {
  waiting: number;
  longestWaitNowSeconds: number;
  agents: ReturnType<typeof countPresences>;
  occupancy: number | null;
  today: PeriodTiles;
  last15Minutes: PeriodTiles;
  /** What the tiles are measured against. */
  definitions: { answerTargetSeconds: number; shortAbandonSeconds: number; serviceLevelGoal: number; timeZone: string };
}

export interface TileInputs {
  now: Date;
  agents: Array<{ presence: Presence }>;
  live: Array<{ status: string; createdAt: Date | string; placeSince?: Date | string; answeredAt?: Date | string }>;
}

export interface BoardTileOptions {
  summaries: Pick<ReportSummaries, 'recent'>;
  settings: MetricSettings & { timeZone: string };
  /** How long the finished calls' part is reused (every open board reads on every change). */
  cacheMs?: number;
  /** The change feed: a finished call ('history', from any instance) makes the next board read the summaries again. */
  changes?: { subscribe(listener: (topics: string[]) => void): () => void };
}

function period(tally: Tally, settings: MetricSettings): PeriodTiles {
  const r = ratesOf(tally, settings);
  return { offered: r.offered, answered: r.answered, abandoned: r.abandoned, serviceLevel: r.serviceLevel, asaSeconds: r.asaSeconds, abandonRate: r.abandonRate, ahtSeconds: r.ahtSeconds, longestWaitSeconds: r.longestWaitSeconds };
}

/** Builds the tile calculator; the finished-call part is shared by concurrent boards and reused for `cacheMs`. */
export function createBoardTiles(options: BoardTileOptions): (inputs: TileInputs) => Promise<BoardTiles> {
  const { settings } = options;
  const cacheMs = options.cacheMs ?? 2000;
  let cached: { at: number; value: Promise<{ today: Tally; window: Tally }> } | undefined;
  options.changes?.subscribe((topics) => {
    if (topics.includes('history')) cached = undefined;
  });

  function finished(): Promise<{ today: Tally; window: Tally }> {
    const at = Date.now();
    if (!cached || at - cached.at >= cacheMs) {
      const value = options.summaries.recent(TILE_WINDOW_MS);
      cached = { at, value };
      // A failed read is not kept: the next board asks again.
      value.catch(() => {
        if (cached?.value === value) cached = undefined;
      });
    }
    return cached.value;
  }

  return async ({ now, agents, live }) => {
    const { today, window } = await finished();
    const nowMs = now.getTime();
    const todayStart = localDayStart(localDayOf(now, settings.timeZone), settings.timeZone);
    const liveToday = emptyTally();
    const liveWindow = emptyTally();
    let waiting = 0;
    let longestWaitMs = 0;
    for (const call of live) {
      const created = new Date(call.createdAt).getTime();
      if (call.status === 'waiting' || call.status === 'offered') {
        waiting += 1;
        // The line's longest wait: from the caller's place (a callback's later attempt keeps its first call's).
        longestWaitMs = Math.max(longestWaitMs, nowMs - new Date(call.placeSince ?? call.createdAt).getTime());
      } else if (call.status === 'in-progress' && call.answeredAt) {
        const answered = new Date(call.answeredAt).getTime();
        if (answered >= todayStart) addAnsweredInProgress(liveToday, answered - created, settings);
        if (answered >= nowMs - TILE_WINDOW_MS) addAnsweredInProgress(liveWindow, answered - created, settings);
      }
    }
    const presences = countPresences(agents.map((a) => a.presence));
    return {
      waiting,
      longestWaitNowSeconds: Math.max(0, Math.round(longestWaitMs / 1000)),
      agents: presences,
      occupancy: occupancyNow(presences),
      today: period(addTallies(today, liveToday), settings),
      last15Minutes: period(addTallies(window, liveWindow), settings),
      definitions: { answerTargetSeconds: settings.answerTargetSeconds, shortAbandonSeconds: settings.shortAbandonSeconds, serviceLevelGoal: settings.serviceLevelGoal, timeZone: settings.timeZone },
    };
  };
}
