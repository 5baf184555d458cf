// Finished calls, as routing hands them over. A stop-gap sink until the bucketed history store is wired in.
import type { Connection } from 'mongoose';
import type { FinishedCall } from '../contact-center/history';
import { isDuplicateKey } from './reservation';

export function createFinishedCallStore(connection: Connection, run: <T>(op: () => Promise<T>) => Promise<T>) {
  const collection = () => connection.db!.collection<FinishedCall>('call_history');
  return {
    async append(record: FinishedCall): Promise<void> {
      try {
        await run(() => collection().insertOne(record));
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
    },
  };
}
