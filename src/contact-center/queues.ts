// Queues and the keypad menu: which queue a caller's key picks, which agents serve a queue (named, or by skill), when a
// call overflows to another queue. Pure: no I/O. With no queues (or one) there is no menu and the line is as before.
import { createHash } from 'node:crypto';

/** A queue admins define on /admin. */
export interface Queue {
  /** Stable id: lowercase letters, digits and dashes. */
  id: string;
  name: string;
  /** The key a caller presses for it in the menu ('1'–'9'); none: reachable only as the default or by overflow. */
  key?: string;
  /** What its callers hear first while they wait (default: the usual greeting). */
  greeting?: string;
  /** Agents who serve it, by id. */
  agents: string[];
  /** Agents with any of these skills serve it too. With neither agents nor skills, every agent serves it. */
  skills: string[];
  /** Calls of a higher priority are offered first; within one priority, the oldest call first. */
  priority: number;
  /** Where the menu sends a caller who pressed nothing (the first queue by key when none is marked). */
  isDefault?: boolean;
  /** When every agent who serves it is offline, a call waiting this long moves to `to` (keeping its place by entry time). */
  overflow?: { to: string; afterSeconds: number };
}

/** The queues and each agent's skills. */
export interface QueueSetup {
  queues: Queue[];
  skills: ReadonlyMap<string, readonly string[]>;
}

/** An id made from a name: 'Billing & Payments' → 'billing-payments'. */
export function queueIdOf(name: string): string {
  const slug = name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
  // A name with no Latin letter or digit (日本語サポート, Русский) gets an id of its own from its text ('queue' alone
  // would make every such name the same queue, and means the whole line in the history).
  return slug || `q-${createHash('sha256').update(name.trim()).digest('hex').slice(0, 10)}`;
}

/** Whether callers hear a menu: two queues or more, and a key to press (without one, callers go to the default queue). */
export function hasMenu(queues: readonly Queue[]): boolean {
  return queues.length >= 2 && queues.some((q) => q.key);
}

/** The queues a caller can pick with a key, by key. */
export function menuChoices(queues: readonly Queue[]): Queue[] {
  return queues.filter((q) => q.key).sort((a, b) => a.key!.localeCompare(b.key!));
}

/** What the menu says: 'For Sales, press 1. For Support, press 2.' */
export function menuPrompt(queues: readonly Queue[]): string {
  return menuChoices(queues)
    .map((q) => `For ${q.name}, press ${q.key}.`)
    .join(' ');
}

/** The queue a caller who pressed nothing goes to: the one marked default, or the first by key, or the first. */
export function defaultQueue(queues: readonly Queue[]): Queue | undefined {
  return queues.find((q) => q.isDefault) ?? menuChoices(queues)[0] ?? queues[0];
}

/** The queue of a key, or undefined when no queue has it. */
export function queueOfKey(queues: readonly Queue[], digits: string): Queue | undefined {
  return queues.find((q) => q.key !== undefined && q.key === digits);
}

/** Whether `agentId` (with `skills`) serves `queue`. */
export function serves(queue: Pick<Queue, 'agents' | 'skills'>, agentId: string, skills: readonly string[] = []): boolean {
  if (queue.agents.length === 0 && queue.skills.length === 0) return true;
  return queue.agents.includes(agentId) || queue.skills.some((s) => skills.includes(s));
}

/** The ids of the queues `agentId` serves. */
export function queuesServedBy(setup: QueueSetup, agentId: string): Set<string> {
  const skills = setup.skills.get(agentId) ?? [];
  return new Set(setup.queues.filter((q) => serves(q, agentId, skills)).map((q) => q.id));
}

/**
 * Whether a call waiting in `queue` since `since` overflows now: the queue names an overflow, the call has waited its
 * time there, and none of the agents who serve the queue is online (`online`: agents whose softphone is up).
 */
export function overflowDue(queue: Queue | undefined, since: Date, now: Date, online: readonly string[], skills: QueueSetup['skills']): string | undefined {
  if (!queue?.overflow || queue.overflow.to === queue.id) return undefined;
  if (now.getTime() - since.getTime() < queue.overflow.afterSeconds * 1000) return undefined;
  if (online.some((agentId) => serves(queue, agentId, skills.get(agentId) ?? []))) return undefined;
  return queue.overflow.to;
}

/** Skills as the admin page writes them: 'billing, french' → ['billing', 'french'] (lowercase, deduplicated). */
export function parseList(text: string): string[] {
  return [...new Set(text.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean))].map((s) => s.slice(0, 40));
}
