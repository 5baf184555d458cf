// Sessions in the database through express-session and connect-mongo, on MongoDB and on FerretDB 1.x alike.
// FerretDB 1.x has no TTL indexes, so expired sessions are swept on an interval instead of by the server.
import { randomBytes } from 'node:crypto';
import MongoStore from 'connect-mongo';
import type { SessionData, Store } from 'express-session';
import type { Connection } from 'mongoose';
import { isDuplicateKey } from '../errors';
import { deleteInBatches } from '../models/delete-in-batches';
import { batchedLookup } from '../models/shared-read';

declare module 'express-session' {
  interface SessionData {
    /** The signed-in agent. The only place the server learns who is asking. */
    agentId?: string;
    /** When they signed in (ms since the epoch): the absolute expiry counts from here. */
    signedInAt?: number;
  }
}

export const SESSIONS_COLLECTION = 'sessions';
const SETTINGS_COLLECTION = 'settings';
const SESSION_SECRET_ID = 'session-secret';
/** Batches of up to this many sessions are read by `_id`, one by one (see `lookup`). */
const SESSIONS_LOOKED_UP_ONE_BY_ONE = 16;
/** The most a session's stored expiry may lag behind its cookie's (see `touch`). */
const MAX_TOUCH_STEP_MS = 60_000;

/** When `session` expires (ms since the epoch), as express-session computed it for this answer. */
function expiryOf(session: { cookie?: { expires?: Date | string | null; maxAge?: number | null } }): number {
  return session.cookie?.expires ? new Date(session.cookie.expires).getTime() : Date.now() + (session.cookie?.maxAge ?? 0);
}

/** Sessions this process just ended: one by its id, or an agent's (all, or all but one). */
export type EndedSessions = { sessionId: string } | { agentId: string; exceptSessionId?: string };

export interface SessionStore {
  /** The express-session store. */
  store: Store;
  /**
   * Ends every session of `agentId` (they are disabled, or their password was reset), but `except` (the admin who
   * resets their own password stays signed in where they are). Returns how many ended.
   */
  endSessionsOf(agentId: string, options?: { except?: string }): Promise<number>;
  /** Deletes expired sessions. Returns how many. */
  sweep(): Promise<number>;
  /**
   * Calls `listener` whenever this process ends sessions (sign-out, an admin's Disable or password reset), so what
   * lives on a session here (event streams) can end with it at once. Returns the unsubscribe.
   */
  onEnded(listener: (ended: EndedSessions) => void): () => void;
}

/**
 * A session store in the app's own database, in `collectionName` (Twilio mode's `sessions`, or demo mode's own).
 * Sessions are stored as documents (not strings) so an agent's sessions can be found and ended; nothing in them is
 * secret (the agent's id and the CSRF token).
 */
export function createSessionStore(connection: Connection, collectionName: string = SESSIONS_COLLECTION): SessionStore {
  const store = MongoStore.create({
    client: connection.getClient(),
    dbName: connection.name,
    collectionName,
    stringify: false,
    // 'native' would create a TTL index, which FerretDB 1.x lacks; the runtime calls sweep() on an interval instead
    // (connect-mongo's own 'interval' timer could not be stopped without closing the shared client).
    autoRemove: 'disabled',
  });
  type StoredSession = { _id: string; expires?: Date; session?: unknown };
  const sessions = () => connection.collection<StoredSession>(collectionName);
  // express-session touches the session at the end of every request (rolling expiry): one write per request, a
  // quarter of what a page's poll costs the database. The stored expiry only needs to move now and then: this touch
  // writes when the expiry would move by more than a tenth of the idle time (at most a minute), so a session idle
  // for the whole idle time still expires within that much of it. Each instance remembers what it last stored.
  // connect-mongo's own touch fails with "Unable to find the session to touch" when the session was deleted while
  // the request was in flight (signed out in another tab, disabled by an admin, swept): the session is over, which
  // is not a database failure. This one moves the expiry of a session that exists and does nothing for one that is gone.
  const storedExpiry = new Map<string, number>();
  // Every request reads its session, and a change makes every open page ask at once: the sessions asked for while a
  // read is under way are read together in the next one. Each request still reads its session after it came.
  // On FerretDB 1.x a filter of `_id` alone is a primary-key lookup (0.3–0.7 ms of its CPU) and any other filter,
  // connect-mongo's own findOne included, decodes every stored session (about 0.09 ms each): a few sessions are looked
  // up one by one and the expiry checked here; a large batch is one read with the expiry in the filter.
  const lookup = batchedLookup(async (sids: string[]) => {
    const now = new Date();
    const live = (doc: StoredSession | null): doc is StoredSession => doc !== null && (!('expires' in doc) || (doc.expires instanceof Date && doc.expires > now));
    const docs =
      sids.length <= SESSIONS_LOOKED_UP_ONE_BY_ONE
        ? (await Promise.all(sids.map((sid) => sessions().findOne({ _id: sid })))).filter(live)
        : await sessions().find({ _id: { $in: sids }, $or: [{ expires: { $exists: false } }, { expires: { $gt: now } }] }).toArray();
    return new Map(docs.map((doc) => [doc._id, doc]));
  });
  store.get = (sid, callback) => {
    lookup(sid).then(
      (doc) => callback(null, (doc?.session as SessionData | undefined) ?? null),
      (err: unknown) => callback(err),
    );
  };
  const set = store.set.bind(store);
  store.set = (sid, session, callback) => {
    set(sid, session, (err?: unknown) => {
      if (!err) storedExpiry.set(sid, expiryOf(session));
      callback?.(err);
    });
  };
  store.touch = (sid, session, callback?: (err?: unknown) => void) => {
    const expires = expiryOf(session);
    const step = Math.min(MAX_TOUCH_STEP_MS, (session.cookie?.originalMaxAge ?? 0) / 10);
    if (expires - (storedExpiry.get(sid) ?? 0) < step) {
      callback?.();
      return;
    }
    sessions()
      .updateOne({ _id: sid }, { $set: { expires: new Date(expires) } })
      .then(
        () => {
          storedExpiry.set(sid, expires);
          callback?.();
        },
        (err: unknown) => callback?.(err),
      );
  };
  const listeners = new Set<(ended: EndedSessions) => void>();
  const ended = (what: EndedSessions): void => {
    for (const listener of listeners) listener(what);
  };
  const destroy = store.destroy.bind(store);
  store.destroy = (sid, callback) => {
    storedExpiry.delete(sid);
    destroy(sid, (err?: unknown) => {
      if (!err) ended({ sessionId: sid });
      callback?.(err);
    });
  };
  return {
    store,
    async endSessionsOf(agentId, options = {}) {
      const filter = options.except === undefined ? { 'session.agentId': agentId } : { 'session.agentId': agentId, _id: { $ne: options.except } };
      const count = (await sessions().deleteMany(filter)).deletedCount;
      ended({ agentId, exceptSessionId: options.except });
      return count;
    },
    onEnded(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async sweep() {
      const now = Date.now();
      for (const [sid, expires] of storedExpiry) if (expires < now) storedExpiry.delete(sid);
      return deleteInBatches(sessions(), { expires: { $lt: new Date(now) } });
    },
  };
}

/**
 * The secret that signs session cookies: the configured one, or one generated on first start and kept in the database,
 * so every app instance sharing the database signs alike. The unique _id insert lets exactly one first start win.
 */
export async function loadSessionSecret(connection: Connection, configured?: string): Promise<string> {
  if (configured) return configured;
  const settings = connection.collection<{ _id: string; value: string }>(SETTINGS_COLLECTION);
  try {
    await settings.insertOne({ _id: SESSION_SECRET_ID, value: randomBytes(32).toString('base64url') });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
  const stored = await settings.findOne({ _id: SESSION_SECRET_ID });
  if (!stored?.value) throw new Error('the session secret could not be stored in the database');
  return stored.value;
}
