// Who is calling: each caller's last calls, kept by number (`callers`, `_id` = the number as Twilio gave it, in the
// history's database), appended when a call finishes. The agent's page reads one document by _id — a lookup FerretDB
// pushes down to SQLite — so it costs the same however long the history is. A record is rewritten whole (replace by
// _id, the newest CALLER_CALLS_KEPT calls); two calls from one number finishing at the same instant on two app
// instances could lose one of the two entries (FerretDB 1.x updates are not atomic under concurrency), which only
// makes "calls in the last 30 days" one short — the history itself has every call.
import type { Collection } from 'mongodb';
import type { Connection } from 'mongoose';
import { StoreUnavailableError, withDeadline } from '../errors';
import { withCall, type CallerCall } from '../contact-center/wrap-up';
import { historyDatabaseName } from './history';
import { createTurns } from './turns';

interface CallerRecord {
  _id: string;
  calls: CallerCall[];
}

export function createCallerStore(connection: Connection, options: { timeoutMs?: number } = {}) {
  const timeoutMs = options.timeoutMs ?? 5000;
  const collection = (): Collection<CallerRecord> => connection.getClient().db(historyDatabaseName(connection.name)).collection<CallerRecord>('callers');
  const inTurn = createTurns();

  async function guarded<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await withDeadline(operation(), timeoutMs, () => new Error(`no answer within ${timeoutMs} ms`));
    } catch (err) {
      throw new StoreUnavailableError(err);
    }
  }

  return {
    /** One more finished call from `number` (serialised per number in this process; a repeat changes nothing). */
    append(number: string, call: CallerCall): Promise<void> {
      return inTurn(number, async () => {
        const current = await guarded(() => collection().findOne({ _id: number }));
        const calls = withCall(current?.calls ?? [], call);
        await guarded(() => collection().replaceOne({ _id: number }, { calls }, { upsert: true }));
      });
    },

    /** The caller's kept calls, oldest first (empty for a number never seen). */
    async calls(number: string): Promise<CallerCall[]> {
      const record = await guarded(() => collection().findOne({ _id: number }));
      return record?.calls ?? [];
    },
  };
}

export type CallerStore = ReturnType<typeof createCallerStore>;
