// Synthetic finished calls for the history benchmarks (growth.ts, history.ts): deterministic, about ten timeline
// entries each, in the vocabulary the app's own finishedCallOf writes.
import { randomBytes } from 'node:crypto';
import type { HistoryRecord, Outcome } from '../src/models/history';

/** Deterministic pseudo-random numbers in [0, 1), so every run stores the same history. */
export function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface HistoryFill {
  /** The fill's random source, for the caller's own draws (when calls end, which to sample). */
  random: () => number;
  /** A finished call ending at `endedAtMs`. */
  record(endedAtMs: number): HistoryRecord;
}

/** Finished calls drawn from `seed`; `pickAgent` draws an agent id (each benchmark weighs its agents its own way). */
export function historyFill(seed: number, pickAgent: (random: () => number) => string): HistoryFill {
  const random = rng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  let serial = 0;

  function pickOutcome(): Outcome {
    const r = random();
    if (r < 0.85) return 'answered';
    if (r < 0.92) return 'abandoned';
    if (r < 0.95) return 'timed-out';
    if (r < 0.98) return 'no-agent';
    return 'failed';
  }

  function record(endedAtMs: number): HistoryRecord {
    serial += 1;
    const outcome = pickOutcome();
    const waitSeconds = Math.round(5 + random() * 120);
    const talkSeconds = outcome === 'answered' ? Math.round(30 + random() * 900) : 0;
    const endedAt = new Date(endedAtMs);
    const startedAt = new Date(endedAtMs - (waitSeconds + talkSeconds) * 1000);
    const at = (s: number) => new Date(startedAt.getTime() + s * 1000);
    const first = pickAgent(random);
    const offeredTo = outcome === 'no-agent' ? [] : random() < 0.15 ? [pickAgent(random), first] : [first];
    const agentIds = outcome === 'answered' ? [first] : [];
    const timeline: HistoryRecord['timeline'] = [{ at: startedAt, kind: 'waiting', detail: 'The customer called and waited in line.' }];
    for (const agentId of offeredTo) timeline.push({ at: at(1), kind: 'offered', agentId });
    const transfers: HistoryRecord['transfers'] = [];
    let holdSeconds = 0;
    if (outcome === 'answered') {
      timeline.push({ at: at(waitSeconds), kind: 'answered', agentId: first });
      if (random() < 0.25) {
        const to = pickAgent(random);
        const mode = pick(['consult', 'cold', 'three-way'] as const);
        agentIds.push(to);
        holdSeconds = 60;
        timeline.push(
          { at: at(waitSeconds + 60), kind: 'transfer', agentId: first, toAgentId: to, detail: `${mode}: completed` },
          { at: at(waitSeconds + 60), kind: 'customer-held' },
          { at: at(waitSeconds + 62), kind: 'brought-in', agentId: to, byAgentId: first },
          { at: at(waitSeconds + 120), kind: 'customer-unheld' },
          { at: at(waitSeconds + 121), kind: 'left', agentId: first, detail: 'pressed Hang up' },
        );
        transfers.push({ from: first, to, mode, outcome: 'completed', at: at(waitSeconds + 60) });
      }
    } else if (offeredTo.length) {
      timeline.push({ at: at(20), kind: pick(['no-answer', 'busy']), agentId: first });
    }
    timeline.push({ at: endedAt, kind: 'customer-left', detail: 'participant_hung_up' }, { at: endedAt, kind: 'ended', detail: 'customer-hung-up' });
    return {
      _id: `CA${serial.toString(16).padStart(8, '0')}${randomBytes(12).toString('hex')}`,
      startedAt,
      endedAt,
      from: `+1555${String(1_000_000 + Math.floor(random() * 8_999_999))}`,
      outcome,
      agentIds: [...new Set(agentIds)],
      offeredTo: [...new Set(offeredTo)],
      waitSeconds,
      talkSeconds,
      ...(holdSeconds ? { holdSeconds } : {}),
      hungUpBy: pick(['customer', `agent:${first}`, 'system']),
      endReason: pick(['customer-hung-up', 'abandoned', 'max-wait']),
      transfers,
      timeline,
    };
  }

  return { random, record };
}
