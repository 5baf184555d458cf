// The live pages' event stream: server-sent `change` events from every app instance, for as long as the session that
// opened it is signed in, and only a few per session. A stream opened with ?state=1 (the agent page) carries, instead
// of `change`, a `state` event with the page's whole state (what GET /api/me answers) when it opens and after every
// change: a hundred open pages then cost one look at the floor and a hundred small writes per change, not a hundred
// requests each with its session to read. A stream ended because its session did (sign-out, Disable, a password reset,
// on any instance) says so last with a `signed-out` event.
import { Router, type Response } from 'express';
import type { Auth, SignedOutReason } from '../auth/middleware';
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
  /**
   * The page state of agent `agentId` as JSON (what GET /api/me answers); undefined when they are no longer an enabled
   * agent. Without it, no stream carries state.
   */
  stateOf?: (agentId: string) => Promise<string | undefined>;
}

/**
 * Streams one session may keep open. Each holds a connection (and browsers allow about six per host over HTTP/1.1),
 * a page needs one: a few tabs are fine, a thousand from a script are not.
 */
export const MAX_STREAMS_PER_SESSION = 5;

/**
 * A state stream asks again whether its session is still signed in before a push, at most this often: a page signed
 * out (or disabled) on another instance stops being given state within about a second, as a page reading its state
 * was refused at its next read. Pushes at the same moment share one read of the sessions.
 */
const STATE_SESSION_CHECK_MS = 1000;

interface OpenStream {
  sessionId: string;
  agentId: string;
  /** Ends the stream; its last event, `signed-out`, says why when `reason` is given (else the store is asked). */
  end(reason?: SignedOutReason): void;
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
   * Server-sent events: `change` with the topics that changed, from any app instance, within a second; with ?state=1,
   * `state` with the agent's page state instead. Ends when the session does.
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
    const agentId = res.locals.agent!.id;
    const stateOf = req.query.state === '1' ? deps.stateOf : undefined;
    // One state worked out at a time per stream; changes meanwhile make one more, after it (the newest wins).
    let pushing: Promise<void> | undefined;
    let again = false;
    let sessionCheckedAt = Date.now();
    const push = (): void => {
      if (!stateOf) return;
      if (pushing) {
        again = true;
        return;
      }
      pushing = (async () => {
        do {
          again = false;
          try {
            if (Date.now() - sessionCheckedAt >= STATE_SESSION_CHECK_MS) {
              sessionCheckedAt = Date.now();
              const reason = await deps.auth.whySignedOut(req, agentId);
              if (reason) return stream.end(reason);
            }
            const state = await stateOf(agentId);
            if (state === undefined) return stream.end();
            if (!open.has(stream)) return;
            res.write(`event: state\ndata: ${state}\n\n`);
          } catch {
            // The database could not say (an outage): the page hears of the next change, or reads its state itself.
            if (open.has(stream)) res.write(`event: change\ndata: ${JSON.stringify({ topics: [] })}\n\n`);
          }
        } while (again && open.has(stream));
      })().finally(() => (pushing = undefined));
    };
    const unsubscribe = deps.changes.subscribe((topics) => {
      if (stateOf) push();
      else res.write(`event: change\ndata: ${JSON.stringify({ topics })}\n\n`);
    });
    let checking = false;
    const tick = setInterval(() => {
      if (checking) return;
      checking = true;
      // A session ended elsewhere ends the stream here too; while the database cannot say, the stream stays.
      deps.auth
        .whySignedOut(req, agentId)
        .then((reason) => (reason ? stream.end(reason) : res.write(': keep-alive\n\n')), () => res.write(': keep-alive\n\n'))
        .finally(() => (checking = false));
    }, (deps.checkSeconds ?? 15) * 1000);
    const stop = (): void => {
      clearInterval(tick);
      unsubscribe();
      open.delete(stream);
    };
    const stream: OpenStream = {
      sessionId,
      agentId,
      end(reason) {
        if (!open.has(stream)) return;
        stop();
        // The page goes to sign-in at once and says why, instead of finding out at its next request. Ended by this
        // instance (sign-out, Disable, a password reset), the account says which; the store may not (an outage).
        const last = (why: SignedOutReason | undefined): void => void res.end(`event: signed-out\ndata: ${JSON.stringify(why ? { reason: why } : {})}\n\n`);
        if (reason) return last(reason);
        deps.auth.whySignedOut(req, agentId).then((why) => last(why ?? 'ended'), () => last(undefined));
      },
    };
    open.add(stream);
    req.on('close', stop);
    push();
  });

  return router;
}
