// The CallSids of calls that have finished, kept a day: Twilio never sends a finished call's incoming-call webhook
// again, so one that comes is a replay (a request captured and sent again: a signature has no timestamp), and must not
// bring the call back to life, ring an agent and leave them talking to nobody. Appending one small document per call
// is cheap; each incoming call looks its CallSid up by _id.
import type { Collection } from 'mongodb';
import type { Connection } from 'mongoose';
import { isDuplicateKey } from '../errors';
import { deleteInBatches } from './delete-in-batches';

export interface FinishedCallRecord {
  /** The customer's CallSid. */
  _id: string;
  at: Date;
}

/** How long a finished call is remembered. */
export const FINISHED_KEEP_MS = 24 * 60 * 60_000;

export function finishedCallCollection(connection: Connection): Collection<FinishedCallRecord> {
  return connection.collection('finished_calls') as unknown as Collection<FinishedCallRecord>;
}

export function createFinishedCalls(collection: Collection<FinishedCallRecord>, run: <T>(op: () => Promise<T>) => Promise<T>) {
  return {
    /** Remembers that `callSid` finished (again is no error). */
    async remember(callSid: string, at: Date): Promise<void> {
      try {
        await run(() => collection.insertOne({ _id: callSid, at }));
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
    },
    /** Whether `callSid` finished within the last day. */
    async has(callSid: string): Promise<boolean> {
      return (await run(() => collection.findOne({ _id: callSid }, { projection: { _id: 1 } }))) !== null;
    },
    /** Housekeeping: forgets calls finished more than a day ago. */
    sweep(now = Date.now()): Promise<number> {
      return deleteInBatches(collection, { at: { $lt: new Date(now - FINISHED_KEEP_MS) } }, { run });
    },
  };
}

export type FinishedCalls = ReturnType<typeof createFinishedCalls>;
