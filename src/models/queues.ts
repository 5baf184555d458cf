// Queues and agents' skills as admins set them on /admin: `queues` (one document per queue, `_id` = its id, so adding
// a queue twice is a duplicate key) and `agent_skills` (one per agent). A handful of small documents, read by every
// routing pass and incoming call through a one-second cache per instance.
import type { Collection, Db } from 'mongodb';
import type { Connection } from 'mongoose';
import type { Queue, QueueSetup } from '../contact-center/queues';
import { isDuplicateKey, StoreUnavailableError, withDeadline } from '../errors';
import { cachedSetting } from './cached-setting';

interface QueueDoc extends Omit<Queue, 'id'> {
  _id: string;
  createdAt: Date;
}

/** The queue store. */
export function createQueueStore(connection: Connection, options: { timeoutMs?: number; cacheMs?: number } = {}) {
  const timeoutMs = options.timeoutMs ?? 5000;
  const cacheMs = options.cacheMs ?? 1000;

  function db(): Db {
    if (!connection.db) throw new Error('the database connection is not open');
    return connection.db as unknown as Db;
  }
  const queues = (): Collection<QueueDoc> => db().collection<QueueDoc>('queues');
  const skills = (): Collection<{ _id: string; skills: string[] }> => db().collection('agent_skills');

  async function guarded<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await withDeadline(operation(), timeoutMs, () => new Error(`no answer within ${timeoutMs} ms`));
    } catch (err) {
      if (isDuplicateKey(err)) throw err;
      throw new StoreUnavailableError(err);
    }
  }

  async function read(): Promise<QueueSetup> {
    const [rows, skillRows] = await guarded(() => Promise.all([queues().find({}).toArray(), skills().find({}).toArray()]));
    const list: Queue[] = rows
      .sort((a, b) => new Date(a.createdAt).getTime() - new Date(b.createdAt).getTime() || a._id.localeCompare(b._id))
      .map((r) => ({
        id: r._id,
        name: r.name,
        ...(r.key ? { key: r.key } : {}),
        ...(r.greeting ? { greeting: r.greeting } : {}),
        agents: r.agents ?? [],
        skills: r.skills ?? [],
        priority: r.priority ?? 0,
        ...(r.isDefault ? { isDefault: true } : {}),
        ...(r.overflow ? { overflow: { to: r.overflow.to, afterSeconds: r.overflow.afterSeconds } } : {}),
      }));
    return { queues: list, skills: new Map(skillRows.map((r) => [r._id, r.skills ?? []])) };
  }
  const cache = cachedSetting(read, cacheMs);
  const forget = (): void => cache.forget();

  return {
    /** Every queue (in the order they were added) and every agent's skills; cached for a second (`staleOk`: the last value at once). */
    load: (options?: { staleOk?: boolean }): Promise<QueueSetup> => cache.get(options),

    /** Drops the cached setup: the next load reads the database. */
    forget,

    /** Adds a queue; false when one with its id exists. */
    async add(queue: Queue): Promise<boolean> {
      const { id, ...rest } = queue;
      try {
        await guarded(() => queues().insertOne({ _id: id, ...rest, createdAt: new Date() }));
      } catch (err) {
        if (isDuplicateKey(err)) return false;
        throw err;
      }
      forget();
      return true;
    },

    /** Replaces a queue's settings; false when it is unknown. */
    async change(queue: Queue): Promise<boolean> {
      const { id, ...rest } = queue;
      const unset = (['key', 'greeting', 'isDefault', 'overflow'] as const).filter((k) => rest[k] === undefined);
      // A field given as undefined is removed ($unset), never also set.
      const set = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined));
      const result = await guarded(() => queues().updateOne({ _id: id }, { $set: set, ...(unset.length ? { $unset: Object.fromEntries(unset.map((k) => [k, 1])) } : {}) }));
      forget();
      return result.matchedCount === 1;
    },

    async remove(id: string): Promise<boolean> {
      const result = await guarded(() => queues().deleteOne({ _id: id }));
      forget();
      return result.deletedCount === 1;
    },

    /** Sets an agent's skills (none: removes the record). */
    async setSkills(agentId: string, list: string[]): Promise<void> {
      if (list.length) await guarded(() => skills().updateOne({ _id: agentId }, { $set: { skills: list } }, { upsert: true }));
      else await guarded(() => skills().deleteOne({ _id: agentId }));
      forget();
    },
  };
}

export type QueueStore = ReturnType<typeof createQueueStore>;
