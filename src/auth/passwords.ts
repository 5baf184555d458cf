// Password hashing with scrypt from node:crypto: a random salt per password, parameters stored with the hash.
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { BusyError } from '../errors';
import { createConcurrencyGate } from './concurrency-gate';

const KEY_LENGTH = 64;
// OWASP's minimum for scrypt: N=2^17, r=8, p=1 (about 128 MiB of memory per hash).
const PARAMS = { N: 2 ** 17, r: 8, p: 1 } as const;
const MAX_MEMORY = 256 * 1024 * 1024;

/**
 * How many password checks run at once, and how many may wait. Each costs about half a second of a core and 128 MiB:
 * unbounded, a burst of sign-ins (guesses from many addresses) took every core and libuv's thread pool, and Twilio's
 * webhooks waited behind it (30 parallel guesses raised the incoming-call webhook's p50 from 11 to 72 ms). So half the
 * cores at most check passwords, a short line waits its turn, and beyond it sign-in answers 503 for a few seconds.
 * Per process, as the CPU is.
 */
export const PASSWORD_CHECKS = { concurrent: Math.max(1, Math.floor(availableParallelism() / 2)), waiting: 16 } as const;
const passwordChecks = createConcurrencyGate({
  ...PASSWORD_CHECKS,
  whenFull: () => new BusyError('Too many sign-ins at once: try again in a few seconds.', 5),
});

export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 200;

function scrypt(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(password.normalize('NFKC'), salt, keyLength, { ...options, maxmem: MAX_MEMORY }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Hashes a password into `scrypt$N$r$p$salt$hash` (base64url). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_LENGTH, PARAMS);
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/**
 * True when `password` matches `stored`. Without a stored hash it still spends the same time, then says no.
 * Rejects with a BusyError, checking nothing, when too many checks are running and waiting already.
 */
export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  return passwordChecks.run(() => checkPassword(password, stored));
}

async function checkPassword(password: string, stored: string | undefined): Promise<boolean> {
  const parts = stored?.split('$') ?? [];
  if (parts.length !== 6 || parts[0] !== 'scrypt') {
    await scrypt(password, randomBytes(16), KEY_LENGTH, PARAMS);
    return false;
  }
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64url');
  const key = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, { N: Number(n), r: Number(r), p: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A password for a person to copy once: 20 characters from an alphabet without look-alikes (~115 bits). */
export function generatePassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(20);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}
