// Queues as admins, webhooks and routing need them: the setup (cached by the store), checked changes, agents' skills.
import { InvalidRequestError, NotFoundError } from '../contact-center/errors';
import type { Queue, QueueSetup } from '../contact-center/queues';
import type { Lease } from '../models/lock';
import type { QueueStore } from '../models/queues';
import { createTurns } from '../models/turns';

export interface QueueServiceDeps {
  store: QueueStore;
  /**
   * One change to the queues at a time, across instances: a change is checked against the others (keys, overflow
   * targets) and then written, and FerretDB 1.x has no transactions. Without it (tests of one process), changes are
   * serialised in this process only.
   */
  lease?: Lease;
  /** The ids of every account, to refuse a queue naming an agent who does not exist (a typo nobody would serve). */
  agentIds?: () => Promise<ReadonlySet<string>>;
}

/** Builds the queue service. */
export function createQueueService(deps: QueueServiceDeps) {
  const { store } = deps;
  const inTurn = createTurns();
  const oneAtATime = <T>(work: () => Promise<T>): Promise<T> => inTurn('queues', () => (deps.lease ? deps.lease.run(work) : work()));

  /** Refuses a queue whose key another queue has, whose overflow goes nowhere, or that names an unknown agent. */
  async function check(queue: Queue, others: readonly Queue[]): Promise<void> {
    const sameName = others.find((q) => q.name.trim().toLowerCase() === queue.name.trim().toLowerCase());
    if (sameName) throw new InvalidRequestError(`A queue named ${sameName.name} exists already: callers could not tell them apart in the menu.`);
    if (queue.key && others.some((q) => q.key === queue.key)) throw new InvalidRequestError(`Key ${queue.key} is taken by the queue ${others.find((q) => q.key === queue.key)!.name}.`);
    if (queue.overflow && queue.overflow.to === queue.id) throw new InvalidRequestError('A queue cannot overflow to itself.');
    if (queue.overflow && !others.some((q) => q.id === queue.overflow!.to)) throw new InvalidRequestError(`There is no queue ${queue.overflow.to} to overflow to.`);
    if (deps.agentIds && queue.agents.length > 0) {
      const known = await deps.agentIds();
      const unknown = queue.agents.filter((id) => !known.has(id));
      if (unknown.length > 0) throw new InvalidRequestError(`No agent has the sign-in name ${unknown.join(', ')}: nobody would answer that queue's callers.`);
    }
  }

  /** One default queue: the queue just saved as the default takes it from any other. */
  async function onlyDefault(queue: Queue, others: readonly Queue[]): Promise<void> {
    if (!queue.isDefault) return;
    for (const other of others.filter((q) => q.isDefault)) await store.change({ ...other, isDefault: undefined });
  }

  /** The queues as stored now (never the cache: a check must see the change made a moment ago, here or elsewhere). */
  const current = async (): Promise<Queue[]> => {
    store.forget();
    return (await store.load()).queues;
  };

  return {
    /** The setup (`staleOk`: the last read at once, refreshed in the background: the incoming call's hot path). */
    load: (options?: { staleOk?: boolean }): Promise<QueueSetup> => store.load(options),

    add(queue: Queue): Promise<void> {
      return oneAtATime(async () => {
        const queues = await current();
        if (queues.some((q) => q.id === queue.id)) throw new InvalidRequestError(`A queue with the id ${queue.id} exists already.`);
        await check(queue, queues);
        if (!(await store.add(queue))) throw new InvalidRequestError(`A queue with the id ${queue.id} exists already.`);
        await onlyDefault(queue, queues);
      });
    },

    change(queue: Queue): Promise<void> {
      return oneAtATime(async () => {
        const queues = await current();
        if (!queues.some((q) => q.id === queue.id)) throw new NotFoundError(`Unknown queue: ${queue.id}`);
        const others = queues.filter((q) => q.id !== queue.id);
        await check(queue, others);
        await store.change(queue);
        await onlyDefault(queue, others);
      });
    },

    /** Removes a queue; refused while another queue overflows to it (that overflow would silently stop). */
    remove(id: string): Promise<void> {
      return oneAtATime(async () => {
        const from = (await current()).filter((q) => q.overflow?.to === id);
        if (from.length > 0) throw new InvalidRequestError(`${from.map((q) => q.name).join(', ')} ${from.length === 1 ? 'overflows' : 'overflow'} to this queue: change ${from.length === 1 ? 'its' : 'their'} overflow first.`);
        if (!(await store.remove(id))) throw new NotFoundError(`Unknown queue: ${id}`);
      });
    },

    setSkills: (agentId: string, skills: string[]) => store.setSkills(agentId, skills),
  };
}

export type QueueService = ReturnType<typeof createQueueService>;
