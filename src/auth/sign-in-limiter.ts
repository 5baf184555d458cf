// Limits failed sign-ins per sign-in name and per client address (rate-limiter-flexible). A slot is taken before the
// password is checked and given back when it was right, so parallel guesses cannot all pass a check made before any
// of them was counted.
// On real MongoDB the counters live in the database, so every app instance sharing it counts together (MongoDB's
// findOneAndUpdate with $inc is atomic). On FerretDB 1.x (embedded, or behind MONGODB_URI) they live in this process's
// memory instead: its updates are not atomic under concurrency (tried: 20 parallel failures counted as 2), it lacks
// the TTL index the database store wants, and the app runs one instance on it.
import type { Connection } from 'mongoose';
import { RateLimiterMemory, RateLimiterMongo, type RateLimiterAbstract, type RateLimiterRes, type RateLimiterStoreAbstract } from 'rate-limiter-flexible';

export interface SignInLimits {
  maxFailuresPerAccount: number;
  maxFailuresPerAddress: number;
  blockMs: number;
}

/** A reserved failure slot: the password may be checked now. Settle it once, with what the check found. */
export interface SignInAttempt {
  /** The password was right: the account's count is cleared and the address's slot given back. */
  succeeded(): Promise<void>;
  /** The password was wrong: the slots stay taken (they were counted before the check). */
  failed(): Promise<void>;
  /** The password was not checked after all (the server was too busy): both slots are given back. */
  notChecked(): Promise<void>;
}

export type SignInVerdict = { blocked: false; attempt: SignInAttempt } | { blocked: true; scope: 'account' | 'address'; retryAfterSeconds: number };

export interface SignInLimiter {
  /**
   * Takes a failure slot for this sign-in name and one for this address before the password is checked, so that
   * attempts in flight count too: of any number of parallel guesses, at most the limit are checked.
   */
  reserve(login: string, address: string): Promise<SignInVerdict>;
  /** Where the counters live. */
  readonly store: 'memory' | 'database';
}

type Limiter = RateLimiterAbstract | RateLimiterStoreAbstract;


/** Counters in memory (one instance), or in the database `connection` (shared by every instance; MongoDB only). */
export function createSignInLimiter(limits: SignInLimits, shared?: Connection): SignInLimiter {
  const duration = Math.max(1, Math.ceil(limits.blockMs / 1000));
  const make = (keyPrefix: string, points: number): Limiter =>
    shared
      ? new RateLimiterMongo({ storeClient: shared.getClient(), dbName: shared.name, tableName: 'sign_in_failures', keyPrefix, points, duration })
      : new RateLimiterMemory({ keyPrefix, points, duration });
  const byAccount = make('account', limits.maxFailuresPerAccount);
  const byAddress = make('address', limits.maxFailuresPerAddress);

  /** Takes one point; the seconds until the key may try again when it is over its limit. */
  async function take(limiter: Limiter, key: string): Promise<number | undefined> {
    try {
      await limiter.consume(key);
      return undefined;
    } catch (res) {
      // consume() rejects with the counter once it is over the limit: that is an answer, not an error.
      if (res instanceof Error) throw res;
      return Math.max(1, Math.ceil((res as RateLimiterRes).msBeforeNext / 1000));
    }
  }

  /** Gives a point back, unless the window it was taken in has ended meanwhile (no credit for the next one). */
  async function giveBack(limiter: Limiter, key: string): Promise<void> {
    const current = await limiter.get(key);
    if (current && current.consumedPoints > 0) await limiter.reward(key, 1);
  }

  return {
    store: shared ? 'database' : 'memory',
    async reserve(login, address) {
      const account = await take(byAccount, login);
      if (account !== undefined) return { blocked: true, scope: 'account', retryAfterSeconds: account };
      const byAddr = await take(byAddress, address);
      if (byAddr !== undefined) {
        await giveBack(byAccount, login);
        return { blocked: true, scope: 'address', retryAfterSeconds: byAddr };
      }
      let settled = false;
      const once = async (settle: () => Promise<unknown>): Promise<void> => {
        if (settled) return;
        settled = true;
        await settle();
      };
      return {
        blocked: false,
        attempt: {
          // A success clears the account's count, not the address's: one address guessing many accounts stays limited.
          succeeded: () => once(() => Promise.all([byAccount.delete(login), giveBack(byAddress, address)])),
          failed: () => once(async () => undefined),
          notChecked: () => once(() => Promise.all([giveBack(byAccount, login), giveBack(byAddress, address)])),
        },
      };
    },
  };
}
