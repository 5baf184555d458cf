// Routing: which waiting call rings which agent. In TaskRouter's words a waiting call is a task, an agent a worker, an
// offer a reservation; the vocabulary is kept so TaskRouter could serve this seam later. Pure: no I/O.

/** A waiting call. */
export interface Task {
  callSid: string;
  /** When the caller started waiting: first come, first served. */
  waitingSince: Date;
  /** Agents who declined or missed this call recently: offered to others first. */
  passedBy: ReadonlyArray<{ agentId: string; at: Date }>;
  /** Until `until`, only this agent (whose softphone dropped off the call) may be offered it. */
  returnTo?: { agentId: string; until: Date };
  /** The call's queue: only agents who serve it are offered the call. None: any agent. */
  queueId?: string;
  /** The queue's priority: higher first (default 0). */
  priority?: number;
  /**
   * The caller is out of the conference hearing the callback offer: not rung now, but their place holds. The agent
   * who would take them is kept free for them (offered nobody behind them) until they are back, or chose otherwise.
   */
  away?: boolean;
}

/** An agent who may take a call now. */
export interface Worker {
  agentId: string;
  /** Idle since: the longest idle agent is offered first. */
  idleSince: Date;
  /** The queues the agent serves; undefined: every call (no queues are set up). */
  queues?: ReadonlySet<string>;
  /**
   * Not taking calls (they chose Away), but their softphone is up: offered only a customer kept for them after it
   * dropped off that call (the task's returnTo), never anyone else.
   */
  reconnectOnly?: boolean;
}

export interface Offer {
  callSid: string;
  agentId: string;
}

export interface RoutingPolicy {
  /** A call an agent passed on is not offered to them again for this long, even when nobody else is free. */
  passCooldownMs: number;
}

/** The agents who passed on `task` within the cooldown: it is not offered to them again yet. */
function passedRecently(task: Pick<Task, 'passedBy'>, now: Date, policy: RoutingPolicy): Set<string> {
  return new Set(task.passedBy.filter((p) => now.getTime() - p.at.getTime() < policy.passCooldownMs).map((p) => p.agentId));
}

/**
 * Whether one of the free `workers` could be offered `task` now, were it routable: a worker who serves its queue, is
 * taking calls, and did not pass on it within the cooldown (a call kept for the agent who dropped off it aside).
 */
export function someoneCouldTake(task: Pick<Task, 'passedBy' | 'queueId'>, workers: readonly Worker[], now: Date, policy: RoutingPolicy): boolean {
  const recently = passedRecently(task, now, policy);
  return workers.some((worker) => !worker.reconnectOnly && !recently.has(worker.agentId) && servesTask(worker, task));
}

/** Whether `worker` may be offered `task` by queue. */
function servesTask(worker: Worker, task: Pick<Task, 'queueId'>): boolean {
  return task.queueId === undefined || worker.queues === undefined || worker.queues.has(task.queueId);
}

/**
 * Pairs waiting calls (higher queue priority first, then oldest first) with available workers who serve the call's
 * queue (longest idle first); a caller away hearing the callback offer keeps the worker who would take them free, so
 * nobody behind them takes their turn (they get no offer until they are back). A worker who passed on a call
 * recently is skipped for it until the cooldown runs out; a call whose agent's softphone dropped off it goes only to
 * that agent for a short grace, so a reloaded page gets its customer back. Each call and each worker appears at most once.
 */
export function planOffers(tasks: readonly Task[], workers: readonly Worker[], now: Date, policy: RoutingPolicy): Offer[] {
  const free = [...workers].sort((a, b) => a.idleSince.getTime() - b.idleSince.getTime() || a.agentId.localeCompare(b.agentId));
  const queue = [...tasks].sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0) || a.waitingSince.getTime() - b.waitingSince.getTime() || a.callSid.localeCompare(b.callSid));
  const offers: Offer[] = [];
  for (const task of queue) {
    if (free.length === 0) break;
    const recently = passedRecently(task, now, policy);
    const reserved = task.returnTo && now.getTime() < task.returnTo.until.getTime() ? task.returnTo.agentId : undefined;
    // The agent a call is kept for gets their customer back whatever queues they serve (a colleague who took it over in
    // a transfer may serve none of the call's).
    const index = free.findIndex((worker) => !recently.has(worker.agentId) && (reserved === undefined ? !worker.reconnectOnly && servesTask(worker, task) : worker.agentId === reserved));
    // Everyone free passed on this call a moment ago (or it is kept for the agent who dropped off it): it waits for
    // someone else, or for the cooldown to run out. Later callers may still go to those agents.
    if (index < 0) continue;
    const [worker] = free.splice(index, 1);
    // A caller hearing the offer keeps their turn: their agent waits for them (routing passes again once they are back).
    if (task.away) continue;
    offers.push({ callSid: task.callSid, agentId: worker!.agentId });
  }
  return offers;
}

/** A caller's place in the waiting line (1 = next), or undefined when they are not waiting. */
export function positionInLine(tasks: readonly Pick<Task, 'callSid' | 'waitingSince'>[], callSid: string): number | undefined {
  const mine = tasks.find((task) => task.callSid === callSid);
  if (!mine) return undefined;
  return 1 + tasks.filter((task) => task.waitingSince.getTime() < mine.waitingSince.getTime() || (task.waitingSince.getTime() === mine.waitingSince.getTime() && task.callSid < callSid)).length;
}
