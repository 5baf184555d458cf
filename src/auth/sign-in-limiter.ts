// Limits failed sign-ins per sign-in name and per client address (rate-limiter-flexible).
// On real MongoDB the counters live in the database, so every app instance sharing it counts together (MongoDB's
// findOneAndUpdate with $inc is atomic). On FerretDB 1.x (embedded, or behind MONGODB_URI) they live in this process's
// memory instead: its updates are not atomic under concurrency (tried: 20 parallel failures counted as 2), it lacks
// the TTL index the database store wants, and the app runs one instance on it.
import type { Connection } from 'mongoose';
import { RateLimiterMemory, RateLimiterMongo, type RateLimiterAbstract, type RateLimiterStoreAbstract } from 'rate-limiter-flexible';

export interface SignInLimits {
  maxFailuresPerAccount: number;
  maxFailuresPerAddress: number;
  blockMs: number;
}

export type SignInVerdict = { blocked: false } | { blocked: true; scope: 'account' | 'address'; retryAfterSeconds: number };

export interface SignInLimiter {
  /** Whether this sign-in name or address has failed too often lately. Ask before checking the password. */
  check(login: string, address: string): Promise<SignInVerdict>;
  /** Counts a failed attempt against both. */
  failed(login: string, address: string): Promise<void>;
  /** A success clears the account's count (not the address's: one address guessing many accounts stays limited). */
  succeeded(login: string): Promise<void>;
  /** Where the counters live. */
  readonly store: 'memory' | 'database';
}

type Limiter = RateLimiterAbstract | RateLimiterStoreAbstract;

/** True when the server is FerretDB (its buildInfo says so), or cannot tell: then counters stay in memory. */
export async function servedByFerretDb(connection: Connection): Promise<boolean> {
  try {
    const info = await connection.db!.admin().command({ buildInfo: 1 });
    return 'ferretdbVersion' in info;
  } catch {
    return true;
  }
}

/** Counters in memory (one instance), or in the database `connection` (shared by every instance; MongoDB only). */
export function createSignInLimiter(limits: SignInLimits, shared?: Connection): SignInLimiter {
  const duration = Math.max(1, Math.ceil(limits.blockMs / 1000));
  const make = (keyPrefix: string, points: number): Limiter =>
    shared
      ? new RateLimiterMongo({ storeClient: shared.getClient(), dbName: shared.name, tableName: 'sign_in_failures', keyPrefix, points, duration })
      : new RateLimiterMemory({ keyPrefix, points, duration });
  const byAccount = make('account', limits.maxFailuresPerAccount);
  const byAddress = make('address', limits.maxFailuresPerAddress);

  async function exhausted(limiter: Limiter, points: number, key: string): Promise<number | undefined> {
    const res = await limiter.get(key);
    return res && res.consumedPoints >= points ? Math.max(1, Math.ceil(res.msBeforeNext / 1000)) : undefined;
  }

  async function count(limiter: Limiter, key: string): Promise<void> {
    // consume() rejects with the counter once it is over the limit: that is an answer, not an error.
    await limiter.consume(key).catch((res: unknown) => {
      if (res instanceof Error) throw res;
    });
  }

  return {
    store: shared ? 'database' : 'memory',
    async check(login, address) {
      const account = await exhausted(byAccount, limits.maxFailuresPerAccount, login);
      if (account !== undefined) return { blocked: true, scope: 'account', retryAfterSeconds: account };
      const byAddr = await exhausted(byAddress, limits.maxFailuresPerAddress, address);
      if (byAddr !== undefined) return { blocked: true, scope: 'address', retryAfterSeconds: byAddr };
      return { blocked: false };
    },
    async failed(login, address) {
      await Promise.all([count(byAccount, login), count(byAddress, address)]);
    },
    async succeeded(login) {
      await byAccount.delete(login);
    },
  };
}
