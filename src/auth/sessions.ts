// Sessions in the database through express-session and connect-mongo, on MongoDB and on FerretDB 1.x alike.
// FerretDB 1.x has no TTL indexes, so expired sessions are swept on an interval instead of by the server.
import { randomBytes } from 'node:crypto';
import MongoStore from 'connect-mongo';
import type { Store } from 'express-session';
import type { Connection } from 'mongoose';
import { isDuplicateKey } from '../errors';

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
  const sessions = () => connection.collection<{ _id: string; expires?: Date }>(collectionName);
  // express-session touches the session at the end of every request (rolling expiry). connect-mongo's touch fails
  // with "Unable to find the session to touch" when the session was deleted while the request was in flight (signed
  // out in another tab, disabled by an admin, swept): the session is over, which is not a database failure. This
  // touch moves the expiry of a session that exists and does nothing for one that is gone.
  store.touch = (sid, session, callback?: (err?: unknown) => void) => {
    const expires = session.cookie?.expires ? new Date(session.cookie.expires) : new Date(Date.now() + (session.cookie?.maxAge ?? 0));
    sessions()
      .updateOne({ _id: sid }, { $set: { expires } })
      .then(
        () => callback?.(),
        (err: unknown) => callback?.(err),
      );
  };
  const listeners = new Set<(ended: EndedSessions) => void>();
  const ended = (what: EndedSessions): void => {
    for (const listener of listeners) listener(what);
  };
  const destroy = store.destroy.bind(store);
  store.destroy = (sid, callback) => {
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
      return (await sessions().deleteMany({ expires: { $lt: new Date() } })).deletedCount;
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
