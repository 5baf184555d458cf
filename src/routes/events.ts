// The live pages' event stream: server-sent `change` events from every app instance, for as long as the session that
// opened it is signed in, and only a few per session.
import { Router, type Response } from 'express';
import type { Auth } from '../auth/middleware';
import type { SessionStore } from '../auth/sessions';
import { HttpError } from '../errors';
import type { ChangeHub } from '../services/changes';

export interface EventStreamDeps {
  auth: Auth;
  sessions: SessionStore;
  changes: ChangeHub;
  /** Seconds between keep-alive comments, and between re-reads of the session (ended elsewhere: another instance, the CLI, the sweep). */
  checkSeconds?: number;
  /** Open streams one session may have in this instance. */
  maxPerSession?: number;
}

/**
 * Streams one session may keep open. Each holds a connection (and browsers allow about six per host over HTTP/1.1),
 * a page needs one: a few tabs are fine, a thousand from a script are not.
 */
export const MAX_STREAMS_PER_SESSION = 5;

interface OpenStream {
  sessionId: string;
  agentId: string;
  end(): void;
}

/** GET /api/events. */
export function eventStreamRouter(deps: EventStreamDeps): Router {
  const router = Router();
  const open = new Set<OpenStream>();
  const max = deps.maxPerSession ?? MAX_STREAMS_PER_SESSION;

  // Sessions this instance ends (sign-out, Disable, a password reset) end their streams at once.
  deps.sessions.onEnded((ended) => {
    for (const stream of [...open]) {
      const gone = 'sessionId' in ended ? stream.sessionId === ended.sessionId : stream.agentId === ended.agentId && stream.sessionId !== ended.exceptSessionId;
      if (gone) stream.end();
    }
  });

  /**
   * Server-sent events: `change` with the topics that changed, from any app instance, within a second. Ends when the
   * session does.
   * @route GET /api/events
   */
  router.get('/api/events', ...deps.auth.requireAgent, (req, res: Response) => {
    const sessionId = req.sessionID;
    if ([...open].filter((s) => s.sessionId === sessionId).length >= max) {
      throw new HttpError(429, `This session already has ${max} pages with live updates open: close some of them.`);
    }
    res.set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
    res.write('retry: 2000\n\n');
    const unsubscribe = deps.changes.subscribe((topics) => {
      res.write(`event: change\ndata: ${JSON.stringify({ topics })}\n\n`);
    });
    let checking = false;
    const tick = setInterval(() => {
      if (checking) return;
      checking = true;
      // A session ended elsewhere ends the stream here too; while the database cannot say, the stream stays.
      deps.auth
        .stillSignedIn(req)
        .then((signedIn) => (signedIn ? res.write(': keep-alive\n\n') : stream.end()), () => res.write(': keep-alive\n\n'))
        .finally(() => (checking = false));
    }, (deps.checkSeconds ?? 15) * 1000);
    const stop = (): void => {
      clearInterval(tick);
      unsubscribe();
      open.delete(stream);
    };
    const stream: OpenStream = {
      sessionId,
      agentId: res.locals.agent!.id,
      end() {
        stop();
        res.end();
      },
    };
    open.add(stream);
    req.on('close', stop);
  });

  return router;
}
