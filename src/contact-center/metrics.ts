// The service metrics a contact-center manager reads every day, defined once: what each finished call contributes
// (a tally that adds up across calls, hours and days) and the rates computed from a tally. Pure: no I/O.
// docs/metrics.md states the same definitions in words.
import { talkLessHold, type HistoryRecord, type Outcome, type TransferRecord } from './history';
import type { Presence } from './presence';

/** The knobs of the definitions (REPORT_* in the config). */
export interface MetricSettings {
  /** T: a call answered within this many seconds (inclusive) counts toward the service level. */
  answerTargetSeconds: number;
  /** S: a caller who hangs up before this many seconds (strictly less) is a short abandon, left out of SL and abandon rate. */
  shortAbandonSeconds: number;
  /** The service level the centre aims for, 0..1 (the target line on the charts). */
  serviceLevelGoal: number;
  /** The wrap-up after every handled call (the app imposes WRAP_UP_SECONDS; agents cannot extend it). */
  wrapUpSeconds: number;
}

export const DEFAULT_METRIC_SETTINGS: MetricSettings = { answerTargetSeconds: 20, shortAbandonSeconds: 5, serviceLevelGoal: 0.8, wrapUpSeconds: 5 };

/** Upper bounds (exclusive, seconds) of the wait-time distribution's bins; the last bin is "600 s or more". */
export const WAIT_BIN_EDGES = [5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600] as const;
export const WAIT_BIN_COUNT = WAIT_BIN_EDGES.length + 1;

/** The bin of a wait of `ms` milliseconds. */
export function waitBin(ms: number): number {
  const seconds = ms / 1000;
  const i = WAIT_BIN_EDGES.findIndex((edge) => seconds < edge);
  return i < 0 ? WAIT_BIN_EDGES.length : i;
}

/** "0–5 s", "5–10 s", … "600 s +". */
export function waitBinLabel(bin: number): string {
  const low = bin === 0 ? 0 : WAIT_BIN_EDGES[bin - 1]!;
  const high = WAIT_BIN_EDGES[bin];
  return high === undefined ? `${low} s +` : `${low}–${high} s`;
}

/** One agent's share of a finished call. */
export interface AgentShare {
  agentId: string;
  /** They talked with the customer on this call. */
  handled: boolean;
  /** They answered the call first (the offer that connected it). */
  answered: boolean;
  talkSeconds: number;
  holdSeconds: number;
  /** Transfers they made on this call (see isTransfer). */
  transfers: number;
}

/** What one finished call contributes to the metrics; derived from its history record (with or without the timeline). */
export interface CallFacts {
  id: string;
  endedAt: Date;
  outcome: Outcome;
  /** Offered: it reached the line (everything but a technical failure). */
  offered: boolean;
  answered: boolean;
  /** The caller left before an agent answered ('abandoned', or 'no-agent': nobody was ever rung). */
  abandoned: boolean;
  timedOut: boolean;
  failed: boolean;
  /** From arrival to the answer, or to the end when nobody answered; milliseconds where the record allows. */
  waitMs: number;
  /** Connected time less the customer's hold. */
  talkSeconds: number;
  holdSeconds: number;
  /** Handed to another agent or the line (a completed consult or a cold transfer). */
  transferred: boolean;
  agents: AgentShare[];
}

/**
 * A transfer in the transfer rate's sense: the call was handed on — a consult that completed, or a cold transfer
 * (the agent left at once, whatever happened next). A three-way call (bring-in, or a consult merged) is not one.
 */
export function isTransfer(t: Pick<TransferRecord, 'mode' | 'outcome'>): boolean {
  return t.mode === 'cold' || (t.mode === 'consult' && t.outcome === 'completed');
}

type FactsSource = Omit<HistoryRecord, 'timeline'> & { timeline?: HistoryRecord['timeline'] };

/** The metrics' view of a finished call. */
export function callFactsOf(record: FactsSource): CallFacts {
  const answered = record.outcome === 'answered';
  const abandoned = record.outcome === 'abandoned' || record.outcome === 'no-agent';
  const endMs = record.endedAt.getTime();
  const startMs = record.startedAt.getTime();
  // Exact where the record has the instants (answeredAt since issue 21; the end for unanswered calls); else whole seconds.
  const waitMs = answered
    ? record.answeredAt
      ? Math.max(0, record.answeredAt.getTime() - startMs)
      : record.waitSeconds * 1000
    : Math.max(0, endMs - startMs);
  const holdSeconds = record.holdSeconds ?? 0;
  const talkSeconds = talkLessHold(record);
  const transfers = record.transfers.filter(isTransfer);
  return {
    id: record._id,
    endedAt: record.endedAt,
    outcome: record.outcome,
    // A caller who chose to leave a message while waiting was not lost: not offered (so neither in the service level
    // nor the abandonment rate), like a technical failure. See docs/metrics.md.
    offered: record.outcome !== 'failed' && record.outcome !== 'voicemail',
    answered,
    abandoned,
    timedOut: record.outcome === 'timed-out',
    failed: record.outcome === 'failed',
    waitMs,
    talkSeconds,
    holdSeconds,
    transferred: answered && transfers.length > 0,
    agents: agentShares(record, talkSeconds, holdSeconds, transfers),
  };
}

/**
 * Each agent's share: connected time from the record's per-agent times (records since issue 21), otherwise the
 * call's talk split evenly among those who talked; the customer's hold goes to the agent who started the first
 * transfer (a consult holds the customer), else to the first agent.
 */
function agentShares(record: FactsSource, talkSeconds: number, holdSeconds: number, transfers: TransferRecord[]): AgentShare[] {
  const ids = [...new Set([...record.agentIds, ...transfers.map((t) => t.from)])];
  if (ids.length === 0) return [];
  const holder = record.transfers[0]?.from && ids.includes(record.transfers[0].from) ? record.transfers[0].from : record.agentIds[0];
  const firstAnswer = record.outcome === 'answered' ? (record.answeredBy ?? record.agentIds[0]) : undefined;
  const connected = new Map((record.agentTalk ?? []).map((a) => [a.agentId, a.seconds]));
  return ids.map((agentId) => {
    const handled = record.agentIds.includes(agentId);
    const hold = agentId === holder ? holdSeconds : 0;
    const talk = !handled ? 0 : connected.size > 0 ? Math.max(0, (connected.get(agentId) ?? 0) - hold) : talkSeconds / record.agentIds.length;
    return { agentId, handled, answered: agentId === firstAnswer, talkSeconds: talk, holdSeconds: hold, transfers: transfers.filter((t) => t.from === agentId).length };
  });
}

/** Counts and sums that add up across calls, hours and days (what the summaries store). */
export interface Tally {
  offered: number;
  answered: number;
  answeredWithinTarget: number;
  /** Every abandon, short ones included. */
  abandoned: number;
  shortAbandoned: number;
  timedOut: number;
  failed: number;
  /** Sum of the answered calls' waits, in ms. */
  answerWaitMs: number;
  /** The longest wait of any offered call, in ms (answered or not). */
  longestWaitMs: number;
  talkSeconds: number;
  holdSeconds: number;
  transferred: number;
  /** Offered calls by wait (WAIT_BIN_EDGES): the answered by their wait to answer… */
  answeredWaits: number[];
  /** …and the abandoned by their wait to hanging up. */
  abandonedWaits: number[];
}

/** An agent's row of the per-agent table. */
export interface AgentTally {
  /** Calls they talked on (a call transferred between two agents counts once for each). */
  calls: number;
  /** Calls they answered first. */
  answered: number;
  talkSeconds: number;
  holdSeconds: number;
  transfers: number;
}

export function emptyTally(): Tally {
  return {
    offered: 0,
    answered: 0,
    answeredWithinTarget: 0,
    abandoned: 0,
    shortAbandoned: 0,
    timedOut: 0,
    failed: 0,
    answerWaitMs: 0,
    longestWaitMs: 0,
    talkSeconds: 0,
    holdSeconds: 0,
    transferred: 0,
    answeredWaits: new Array<number>(WAIT_BIN_COUNT).fill(0),
    abandonedWaits: new Array<number>(WAIT_BIN_COUNT).fill(0),
  };
}

export function emptyAgentTally(): AgentTally {
  return { calls: 0, answered: 0, talkSeconds: 0, holdSeconds: 0, transfers: 0 };
}

/** Whether a call counts as a short abandon under `settings` (an abandon exactly at S is not short). */
export function isShortAbandon(facts: Pick<CallFacts, 'abandoned' | 'waitMs'>, settings: Pick<MetricSettings, 'shortAbandonSeconds'>): boolean {
  return facts.abandoned && facts.waitMs < settings.shortAbandonSeconds * 1000;
}

/** Adds one call to `tally` and `agents` (in place). */
export function addCall(tally: Tally, agents: Map<string, AgentTally>, facts: CallFacts, settings: Pick<MetricSettings, 'answerTargetSeconds' | 'shortAbandonSeconds'>): void {
  if (facts.failed) {
    tally.failed += 1;
    return;
  }
  // A message left instead of waiting is not offered: it counts in none of the rates (docs/metrics.md).
  if (!facts.offered) return;
  tally.offered += 1;
  tally.longestWaitMs = Math.max(tally.longestWaitMs, facts.waitMs);
  if (facts.answered) {
    tally.answered += 1;
    tally.answerWaitMs += facts.waitMs;
    if (facts.waitMs <= settings.answerTargetSeconds * 1000) tally.answeredWithinTarget += 1;
    tally.talkSeconds += facts.talkSeconds;
    tally.holdSeconds += facts.holdSeconds;
    if (facts.transferred) tally.transferred += 1;
    tally.answeredWaits[waitBin(facts.waitMs)]! += 1;
  } else if (facts.abandoned) {
    tally.abandoned += 1;
    if (isShortAbandon(facts, settings)) tally.shortAbandoned += 1;
    tally.abandonedWaits[waitBin(facts.waitMs)]! += 1;
  } else if (facts.timedOut) {
    tally.timedOut += 1;
  }
  for (const share of facts.agents) {
    const row = agents.get(share.agentId) ?? emptyAgentTally();
    if (share.handled) row.calls += 1;
    if (share.answered) row.answered += 1;
    row.talkSeconds += share.talkSeconds;
    row.holdSeconds += share.holdSeconds;
    row.transfers += share.transfers;
    agents.set(share.agentId, row);
  }
}

/**
 * Adds a call answered and still in progress (the live tiles count a call as soon as its answer is known; reports
 * count it when it ends): offered, answered, its wait. Its handle time is counted when it ends.
 */
export function addAnsweredInProgress(tally: Tally, waitMs: number, settings: Pick<MetricSettings, 'answerTargetSeconds'>): void {
  tally.offered += 1;
  tally.answered += 1;
  tally.answerWaitMs += waitMs;
  tally.longestWaitMs = Math.max(tally.longestWaitMs, waitMs);
  if (waitMs <= settings.answerTargetSeconds * 1000) tally.answeredWithinTarget += 1;
  tally.answeredWaits[waitBin(waitMs)]! += 1;
}

/** `a` + `b` (a new tally). */
export function addTallies(a: Tally, b: Tally): Tally {
  return {
    offered: a.offered + b.offered,
    answered: a.answered + b.answered,
    answeredWithinTarget: a.answeredWithinTarget + b.answeredWithinTarget,
    abandoned: a.abandoned + b.abandoned,
    shortAbandoned: a.shortAbandoned + b.shortAbandoned,
    timedOut: a.timedOut + b.timedOut,
    failed: a.failed + b.failed,
    answerWaitMs: a.answerWaitMs + b.answerWaitMs,
    longestWaitMs: Math.max(a.longestWaitMs, b.longestWaitMs),
    talkSeconds: a.talkSeconds + b.talkSeconds,
    holdSeconds: a.holdSeconds + b.holdSeconds,
    transferred: a.transferred + b.transferred,
    answeredWaits: a.answeredWaits.map((n, i) => n + (b.answeredWaits[i] ?? 0)),
    abandonedWaits: a.abandonedWaits.map((n, i) => n + (b.abandonedWaits[i] ?? 0)),
  };
}

/** `into` += `from`, per agent (in place). */
export function addAgentTallies(into: Map<string, AgentTally>, from: Iterable<[string, AgentTally]>): void {
  for (const [agentId, t] of from) {
    const row = into.get(agentId) ?? emptyAgentTally();
    row.calls += t.calls;
    row.answered += t.answered;
    row.talkSeconds += t.talkSeconds;
    row.holdSeconds += t.holdSeconds;
    row.transfers += t.transfers;
    into.set(agentId, row);
  }
}

/** The tally of `calls` (and each agent's). */
export function tallyCalls(calls: Iterable<CallFacts>, settings: Pick<MetricSettings, 'answerTargetSeconds' | 'shortAbandonSeconds'>): { tally: Tally; agents: Map<string, AgentTally> } {
  const tally = emptyTally();
  const agents = new Map<string, AgentTally>();
  for (const facts of calls) addCall(tally, agents, facts, settings);
  return { tally, agents };
}

/** The rates a manager reads; null where the denominator is zero ("—" on the page). */
export interface Rates {
  offered: number;
  answered: number;
  abandoned: number;
  shortAbandoned: number;
  timedOut: number;
  /** Calls that never reached the line, not counted as offered: callers told sorry (the app could not take the call) and agents' calls out that did not connect. */
  failed: number;
  /** Answered within T / (offered − short abandons). */
  serviceLevel: number | null;
  /** Average speed of answer: total wait of answered calls / answered, seconds. */
  asaSeconds: number | null;
  /** (Abandoned − short abandons) / (offered − short abandons). */
  abandonRate: number | null;
  /** Average handle time: (talk + hold + wrap-up) / handled, seconds. */
  ahtSeconds: number | null;
  /** Transferred / handled. */
  transferRate: number | null;
  longestWaitSeconds: number;
  talkSeconds: number;
  holdSeconds: number;
  wrapUpSeconds: number;
}

const ratio = (num: number, den: number): number | null => (den > 0 ? num / den : null);

export function ratesOf(tally: Tally, settings: Pick<MetricSettings, 'wrapUpSeconds'>): Rates {
  const counted = tally.offered - tally.shortAbandoned;
  const wrap = tally.answered * settings.wrapUpSeconds;
  return {
    offered: tally.offered,
    answered: tally.answered,
    abandoned: tally.abandoned,
    failed: tally.failed,
    shortAbandoned: tally.shortAbandoned,
    timedOut: tally.timedOut,
    serviceLevel: ratio(tally.answeredWithinTarget, counted),
    asaSeconds: ratio(tally.answerWaitMs / 1000, tally.answered),
    abandonRate: ratio(tally.abandoned - tally.shortAbandoned, counted),
    ahtSeconds: ratio(tally.talkSeconds + tally.holdSeconds + wrap, tally.answered),
    transferRate: ratio(tally.transferred, tally.answered),
    longestWaitSeconds: tally.longestWaitMs / 1000,
    talkSeconds: tally.talkSeconds,
    holdSeconds: tally.holdSeconds,
    wrapUpSeconds: wrap,
  };
}

/** An agent row's average handle time: (talk + hold + wrap-up × calls) / calls. */
export function agentAhtSeconds(t: AgentTally, settings: Pick<MetricSettings, 'wrapUpSeconds'>): number | null {
  return ratio(t.talkSeconds + t.holdSeconds + t.calls * settings.wrapUpSeconds, t.calls);
}

/** Presences as the board counts them. */
export interface PresenceCounts {
  available: number;
  ringing: number;
  onCall: number;
  wrapUp: number;
  away: number;
  offline: number;
}

/**
 * Occupancy now: agents busy with calls (on a call or in wrap-up) over agents staffed (available, ringing, on a call,
 * in wrap-up). Away and offline agents are not staffed. The history keeps no staffed time, so reports cannot show
 * occupancy over a past interval; the board shows it live.
 */
export function occupancyNow(p: PresenceCounts): number | null {
  return ratio(p.onCall + p.wrapUp, p.available + p.ringing + p.onCall + p.wrapUp);
}

/** The agents' presences counted into the board's groups. */
export function countPresences(presences: Iterable<Presence>): PresenceCounts {
  const counts: PresenceCounts = { available: 0, ringing: 0, onCall: 0, wrapUp: 0, away: 0, offline: 0 };
  const key: Record<Presence, keyof PresenceCounts> = { available: 'available', ringing: 'ringing', 'on-call': 'onCall', 'wrap-up': 'wrapUp', away: 'away', offline: 'offline' };
  for (const p of presences) counts[key[p]] += 1;
  return counts;
}
