// Recent answers per queue for the estimated wait: the history's summaries of the last two UTC hours and the live
// calls, read at most every few seconds per instance (every waiting caller asks once per announcement round).
import type { CallRecord } from '../contact-center/call';
import { estimatedWaitSeconds } from '../contact-center/wait-estimate';
import type { HistoryStore } from '../models/history';

const HOUR_MS = 3_600_000;

export interface WaitEstimatorDeps {
  history: Pick<HistoryStore, 'hourSummaries'>;
  live: () => Promise<CallRecord[]>;
  /** How far back answers count (default 30 minutes). */
  windowMs?: number;
  cacheMs?: number;
  now?: () => Date;
}

/** Builds the estimator: `estimate(queueId, position)` → seconds, or undefined when not meaningful. */
export function createWaitEstimator(deps: WaitEstimatorDeps) {
  const windowMs = deps.windowMs ?? 30 * 60_000;
  const cacheMs = deps.cacheMs ?? 5000;
  const now = deps.now ?? (() => new Date());
  let cached: { at: number; answers: Map<string, number> } | undefined;

  /** Answers in the window, per queue id ('' for calls without a queue). */
  async function answers(): Promise<Map<string, number>> {
    const at = now().getTime();
    if (cached && at - cached.at < cacheMs) return cached.answers;
    const since = at - windowMs;
    const hour = Math.floor(at / HOUR_MS) * HOUR_MS;
    const [finished, live] = await Promise.all([Promise.all([deps.history.hourSummaries(hour - HOUR_MS, new Date(since)), deps.history.hourSummaries(hour, new Date(since))]), deps.live()]);
    const counts = new Map<string, number>();
    const seen = new Set<string>();
    const count = (id: string, queueId: string | undefined, answeredAt: Date | undefined): void => {
      if (!answeredAt || seen.has(id) || new Date(answeredAt).getTime() < since) return;
      seen.add(id);
      counts.set(queueId ?? '', (counts.get(queueId ?? '') ?? 0) + 1);
    };
    for (const s of finished.flat()) count(s._id, s.queueId, s.answeredAt);
    for (const c of live) count(c._id, c.queueId, c.answeredAt);
    cached = { at, answers: counts };
    return counts;
  }

  return {
    async estimate(queueId: string | undefined, position: number): Promise<number | undefined> {
      const n = (await answers()).get(queueId ?? '') ?? 0;
      return estimatedWaitSeconds({ position, answers: n, windowMs });
    },
  };
}

export type WaitEstimator = ReturnType<typeof createWaitEstimator>;
