// Queues as admins, webhooks and routing need them: the setup (cached by the store), checked changes, agents' skills.
import { InvalidRequestError, NotFoundError } from '../contact-center/errors';
import type { Queue, QueueSetup } from '../contact-center/queues';
import type { QueueStore } from '../models/queues';

/** Builds the queue service. */
export function createQueueService(deps: { store: QueueStore }) {
  const { store } = deps;

  /** Refuses a queue whose key another queue has, or whose overflow goes nowhere. */
  function check(queue: Queue, others: readonly Queue[]): void {
    if (queue.key && others.some((q) => q.key === queue.key)) throw new InvalidRequestError(`Key ${queue.key} is taken by the queue ${others.find((q) => q.key === queue.key)!.name}.`);
    if (queue.overflow && queue.overflow.to === queue.id) throw new InvalidRequestError('A queue cannot overflow to itself.');
    if (queue.overflow && !others.some((q) => q.id === queue.overflow!.to)) throw new InvalidRequestError(`There is no queue ${queue.overflow.to} to overflow to.`);
  }

  return {
    /** The setup (`staleOk`: the last read at once, refreshed in the background: the incoming call's hot path). */
    load: (options?: { staleOk?: boolean }): Promise<QueueSetup> => store.load(options),

    async add(queue: Queue): Promise<void> {
      const { queues } = await store.load();
      check(queue, queues);
      if (!(await store.add(queue))) throw new InvalidRequestError(`A queue with the id ${queue.id} exists already.`);
    },

    async change(queue: Queue): Promise<void> {
      const { queues } = await store.load();
      if (!queues.some((q) => q.id === queue.id)) throw new NotFoundError(`Unknown queue: ${queue.id}`);
      check(queue, queues.filter((q) => q.id !== queue.id));
      await store.change(queue);
    },

    async remove(id: string): Promise<void> {
      if (!(await store.remove(id))) throw new NotFoundError(`Unknown queue: ${id}`);
    },

    setSkills: (agentId: string, skills: string[]) => store.setSkills(agentId, skills),
  };
}

export type QueueService = ReturnType<typeof createQueueService>;
