// Wrap-up codes (dispositions) and the caller's recent history, as rules: which code an agent may pick for which call,
// when a missing code holds the next offer back, and what the ringing page says about who is calling. Pure: no I/O.
import { createHash } from 'node:crypto';
import { InvalidRequestError, NotFoundError, WrapUpClosedError } from './errors';
import type { Outcome } from './history';

/** A wrap-up code admins define on /admin: agents pick an active one after a call. */
export interface WrapUpCode {
  /** A short stable id made from the name when it was added ("Refund issued" → "refund-issued"). */
  id: string;
  name: string;
  active: boolean;
}

/** The agent's last call, waiting for its wrap-up code (kept with their presence from the moment they left it). */
export interface PendingWrapUp {
  callSid: string;
  /** When the call began: the wrap-up is kept beside the history of that day. */
  startedAt: Date;
  /** The customer's number. */
  from?: string;
  direction?: 'inbound' | 'outbound';
  /** When the agent left the call. */
  since: Date;
}

/** One agent's wrap-up of one call, as the history shows it. */
export interface WrapUp {
  callSid: string;
  agentId: string;
  /** The code's id and its name when it was picked (a later rename does not rewrite the history). */
  code: string;
  codeName: string;
  note?: string;
  at: Date;
}

/** The id a new code gets from its name: lower-case letters and digits joined by '-'. */
export function codeIdOf(name: string): string {
  const id = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // accents: "Rückruf" → "ruckruf"
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48);
  if (id) return id;
  if (!/[\p{L}\p{N}]/u.test(name)) throw new InvalidRequestError('A wrap-up code needs a name with a letter or a digit.');
  // A name with no Latin letter or digit (تم الحل, 日本語) gets an id of its own from its text, as a queue's does.
  return `c-${createHash('sha256').update(name.trim()).digest('hex').slice(0, 10)}`;
}

/**
 * Whether the agent's missing wrap-up holds back their next offer: admins require one, there is a code to pick, and
 * the agent left that call after the rule was turned on (`requiredSince`; a call left before it is not held to it).
 */
export function wrapUpBlocks(input: { required: boolean; requiredSince?: Date; activeCodes: number; pending: PendingWrapUp | undefined }): boolean {
  if (!input.required || input.activeCodes === 0 || input.pending === undefined) return false;
  return input.requiredSince === undefined || new Date(input.pending.since).getTime() >= new Date(input.requiredSince).getTime();
}

/** Checks an agent's pick: it must be for the call waiting for their wrap-up, with an active code. Answers the code. */
export function checkWrapUp(input: { pending: PendingWrapUp | undefined; callSid: string; code: string; codes: readonly WrapUpCode[] }): WrapUpCode {
  if (!input.pending || input.pending.callSid !== input.callSid) throw new WrapUpClosedError('This call has no wrap-up waiting: it was saved already, or a later call took its place.');
  const code = input.codes.find((c) => c.id === input.code);
  if (!code) throw new NotFoundError(`Unknown wrap-up code: ${input.code}`);
  if (!code.active) throw new InvalidRequestError(`The wrap-up code "${code.name}" is no longer in use: pick another.`);
  return code;
}

/** One finished call in a caller's record (kept by number, newest last). */
export interface CallerCall {
  callSid: string;
  startedAt: Date;
  endedAt: Date;
  outcome: Outcome;
  /** The last agent who talked with them. */
  agentId?: string;
  direction?: 'inbound' | 'outbound';
}

/** The most calls a caller's record keeps (the oldest go first). */
export const CALLER_CALLS_KEPT = 50;
export const CALLER_WINDOW_DAYS = 30;

/** The caller's record after one more finished call: appended once (a repeat changes nothing), the newest kept. */
export function withCall(calls: readonly CallerCall[], call: CallerCall): CallerCall[] {
  if (calls.some((c) => c.callSid === call.callSid)) return [...calls];
  return [...calls, call].sort((a, b) => new Date(a.endedAt).getTime() - new Date(b.endedAt).getTime()).slice(-CALLER_CALLS_KEPT);
}

/** What the agent's page shows about a caller: calls in the last 30 days, and the last one (its wrap-up merged in by the caller). */
export function callerSummary(calls: readonly CallerCall[], now: Date, exceptCallSid?: string): { callsLast30Days: number; last?: CallerCall } {
  const since = now.getTime() - CALLER_WINDOW_DAYS * 86_400_000;
  const earlier = calls.filter((c) => c.callSid !== exceptCallSid);
  return { callsLast30Days: earlier.filter((c) => new Date(c.endedAt).getTime() >= since).length, ...(earlier.length ? { last: earlier[earlier.length - 1] } : {}) };
}
