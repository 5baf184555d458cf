// What the live pages read: the signed-in agent's state (and what they may do now), presence and softphone heartbeat,
// the supervisor's board. What an agent does on their call is in call-actions.ts; the server-sent event stream that
// tells pages when to refresh is events.ts.
import express, { Router, type RequestHandler, type Response } from 'express';
import { requireJsonBody } from '../auth/middleware';
import { z } from 'zod';
import { actionsFor, mayCallOut, takesTransfers } from '../contact-center/actions';
import { CHOSEN_STATUSES, type Presence } from '../contact-center/presence';
import { helpActionsFor } from '../contact-center/supervision';
import { describeIssues, HttpError } from '../errors';
import type { PresenceStore } from '../models/presence';
import { sharedMoment } from '../models/shared-read';
import type { Agent, AgentDirectory } from '../services/agents';
import type { CallService, CallView } from '../services/calls';
import type { ChangeHub } from '../services/changes';
import { MISSED_CALL_NOTE, MISSED_CALL_NOTE_FOR_OTHERS, type Routing } from '../services/routing';
import type { WrapUpService } from '../services/wrap-up';

export interface ContactCenterApiDeps {
  calls: CallService;
  routing: Routing;
  presence: PresenceStore;
  agents: AgentDirectory;
  changes: ChangeHub;
  /** Admits a signed-in agent and puts them on res.locals.agent. */
  signedIn: RequestHandler[];
  /** Admits signed-in supervisors and admins only. */
  supervisorsOnly: RequestHandler[];
  /** Refuses cross-site state changes (same origin and the session's CSRF token). */
  csrfProtection: RequestHandler[];
  offlineAfterSeconds: number;
  /** The board's tiles (service metrics today and over the last 15 minutes), from what the board read. */
  tiles?: (inputs: { now: Date; agents: Array<{ presence: Presence }>; live: CallView[] }) => Promise<unknown>;
  /** Wrap-up codes and who is calling (optional: without it the page shows neither). */
  wrapUp?: WrapUpService;
}

const SetPresence = z.object({ status: z.enum(CHOSEN_STATUSES) }).strict();
const Heartbeat = z
  .object({
    tab: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'must be the tab id the page made'),
    takeOver: z.boolean().optional(),
    /** The page's softphone is registered: only then is the agent offered calls. */
    registered: z.boolean().optional(),
  })
  .strict();

function agentOf(res: Response): Agent {
  const agent = res.locals.agent as Agent | undefined;
  if (!agent) throw new HttpError(401, 'Sign in first.');
  return agent;
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (!result.success) throw new HttpError(400, describeIssues(result.error));
  return result.data;
}

const seconds = (from: Date | string | undefined, now: Date): number | undefined => (from ? Math.max(0, Math.round((now.getTime() - new Date(from).getTime()) / 1000)) : undefined);

/**
 * An agent's presence note as others read it (the floor, the directory): only while they are away (the note says why),
 * and in the third person (it is written to the agent).
 */
function noteForOthers(note: string | undefined, presence: string): { note?: string } {
  if (!note || presence !== 'away') return {};
  return { note: note === MISSED_CALL_NOTE ? MISSED_CALL_NOTE_FOR_OTHERS : note };
}

/** What an agent page shows (GET /api/me, and the event stream's `state` events), from one look at the floor per moment. */
export type AgentStateView = ReturnType<typeof createAgentStateView>;

/** The agents' page state, worked out from one shared look at the floor per moment (see `floor`). */
export function createAgentStateView(deps: Pick<ContactCenterApiDeps, 'calls' | 'routing' | 'agents' | 'wrapUp'>) {
  /** Every enabled agent with their presence, and each agent's stored presence record (by id). */
  async function rosterWithRecords(now: Date) {
    const all = await deps.agents.all();
    const presences = await deps.routing.presenceOfAll(now, all);
    const agents = all
      .filter((agent) => !agent.disabled)
      .map((agent) => {
        const p = presences.get(agent.id);
        const presence = p?.presence ?? 'offline';
        return { id: agent.id, name: agent.name, role: agent.role, presence, since: p?.since, inStateSeconds: seconds(p?.since, now), ...noteForOthers(p?.note, presence), takesTransfers: takesTransfers({ role: agent.role, presence }), lastOffer: p?.record?.lastOffer };
      });
    return { agents, recordOf: (agentId: string) => presences.get(agentId)?.record ?? null };
  }

  // A change makes every open page ask at once (GET /api/me, or the event stream's state for each page): the pages
  // asking at the same moment share one look at the floor, the roster with everyone's presence and the live calls,
  // read and worked out once (not once a page); each page then takes its own part. A page never gets a look taken
  // before it asked (sharedMoment).
  const floor = sharedMoment(async () => {
    const now = new Date();
    const [{ agents, recordOf }, { live, callOf }] = await Promise.all([rosterWithRecords(now), deps.calls.overview()]);
    const waiting = live.filter((c) => c.status === 'waiting');
    const line = { waiting: waiting.length, longestWaitSeconds: waiting.length ? seconds(waiting[0]!.placeSince, now) : 0 };
    // Each colleague as JSON, once a moment: every page's list is all of them but itself (a hundred pages would
    // otherwise each write out the same ninety-nine).
    const colleagueJson = agents.map(({ lastOffer: _private, ...colleague }) => ({ id: colleague.id, json: JSON.stringify(colleague) }));
    return { now, agents, recordOf, callOf, line, colleagueJson, names: new Map(agents.map((a) => [a.id, a.name])) };
  });

  /** The page state of `me` as JSON: what GET /api/me answers and the event stream pushes. */
  async function stateJson(me: Agent): Promise<string> {
    const moment = await floor();
    const colleagues = moment.colleagueJson.filter((c) => c.id !== me.id).map((c) => c.json);
    return `${JSON.stringify(await stateButColleagues(me, moment)).slice(0, -1)},"colleagues":[${colleagues.join(',')}]}`;
  }

  /** All of `me`'s page state but the colleagues (which stateJson writes from the moment's JSON of each). */
  async function stateButColleagues(me: Agent, moment: Awaited<ReturnType<typeof floor>>) {
    const { now, agents, recordOf, callOf, line, names } = moment;
    const call = callOf(me.id);
    const record = recordOf(me.id);
    const mine = agents.find((a) => a.id === me.id);
    const context = callContext(call, now, names);
    const [wrapUp, caller] = await Promise.all([
      deps.wrapUp ? deps.wrapUp.viewFor(record?.wrapUp) : null,
      deps.wrapUp && call?.from ? deps.wrapUp.callerCard(call.from, now, call.callSid) : undefined,
    ]);
    const callerCard = caller && { ...caller, ...(caller.last ? { last: { ...caller.last, agentName: caller.last.agentId ? (names.get(caller.last.agentId) ?? caller.last.agentId) : undefined } } : {}) };
    return {
      /** When the floor was read (ms since the epoch): a page keeps the newest state it was given. */
      at: now.getTime(),
      // `chosen`: Available or Away as the agent last chose it (what they go back to once a required wrap-up is saved).
      you: { id: me.id, name: me.name, role: me.role, presence: mine?.presence ?? 'offline', chosen: recordOf(me.id)?.chosen, since: mine?.since, note: recordOf(me.id)?.note, lastOffer: mine?.lastOffer },
      // A dropped agent's page rings for the customer it lost: it says so.
      call: context ? { ...context, returning: call?.returnTo?.agentId === me.id && call.status === 'offered' && call.offeredTo === me.id, ...(callerCard ? { caller: callerCard } : {}) } : null,
      can: { ...actionsFor(call ?? undefined, me.id), callOut: mayCallOut({ presence: mine?.presence ?? 'offline', hasCall: Boolean(call) }), ...helpActionsFor(call ?? undefined, me.id) },
      wrapUp,
      line,
    };
  }

  return {
    stateJson,
    roster: async (now: Date) => (await rosterWithRecords(now)).agents,
  };
}

function callContext(call: CallView | null, now: Date, names: ReadonlyMap<string, string>) {
  if (!call) return null;
  return {
    ...call,
    // From their place in line: a callback put back in line (its agent left while the customer's phone rang) has waited
    // since the customer first called, not since its new record.
    waitedSeconds: seconds(call.placeSince, call.answeredAt ? new Date(call.answeredAt) : now),
    talkSeconds: call.answeredAt ? seconds(call.answeredAt, now) : undefined,
    // A caller an agent had answered who is back in line: how long since they went back (the ring says so).
    backInLineSeconds: call.answeredAt && call.lineSince && (call.status === 'waiting' || call.status === 'offered') ? seconds(call.lineSince, now) : undefined,
    // Each leg's own talk so far: an agent who took the call over (after a drop, a transfer) sees their own minutes.
    participants: call.participants.map((leg) => ({ ...leg, name: names.get(leg.agentId) ?? leg.agentId, ...(leg.answeredAt ? { talkSeconds: seconds(leg.answeredAt, now) } : {}) })),
    supervisors: call.supervisors.map((leg) => ({ ...leg, name: names.get(leg.supervisorId) ?? leg.supervisorId, ...(leg.coaching ? { coachingName: names.get(leg.coaching) ?? leg.coaching } : {}) })),
    ...(call.help ? { help: { ...call.help, name: names.get(call.help.agentId) ?? call.help.agentId } } : {}),
  };
}

/** Routes under /api. */
export function contactCenterApiRouter(deps: ContactCenterApiDeps & { state?: AgentStateView }): Router {
  const router = Router();
  const json = [requireJsonBody, express.json({ limit: '4kb' })];
  const view = deps.state ?? createAgentStateView(deps);

  /**
   * The signed-in agent's page state: who they are, their presence, their call with the caller's context, colleagues.
   * @route GET /api/me
   */
  router.get('/me', ...deps.signedIn, async (_req, res) => {
    res.set('Cache-Control', 'no-store').type('json').send(await view.stateJson(agentOf(res)));
  });

  /**
   * The agent sets themselves available or away.
   * @route POST /api/me/presence
   */
  router.post('/me/presence', ...json, ...deps.signedIn, ...deps.csrfProtection, async (req, res) => {
    const me = agentOf(res);
    const { status } = parse(SetPresence, req.body);
    await deps.presence.choose(me.id, status);
    deps.changes.publish('agents');
    if (status === 'available') deps.routing.dispatch();
    res.json({ status });
  });

  /**
   * The page's softphone is alive. One tab per agent owns the softphone; another tab is told so, unless it takes over.
   * @route POST /api/me/heartbeat
   */
  router.post('/me/heartbeat', ...json, ...deps.signedIn, ...deps.csrfProtection, async (req, res) => {
    const me = agentOf(res);
    const { tab, takeOver, registered } = parse(Heartbeat, req.body);
    const { owner, cameOnline, wentQuiet } = await deps.presence.heartbeat(me.id, tab, { takeOver: takeOver ?? false, staleMs: deps.offlineAfterSeconds * 1000, registered: registered ?? false });
    if (wentQuiet) {
      deps.changes.publish('agents');
      deps.routing.softphoneGone(me.id);
    }
    if (cameOnline) {
      deps.changes.publish('agents');
      deps.routing.dispatch();
    }
    res.json({ owner, everySeconds: Math.max(2, Math.floor(deps.offlineAfterSeconds / 3)) });
  });

  /**
   * The floor: agents with presence and time in state, the waiting line, calls in progress.
   * @route GET /api/board
   */
  router.get('/board', ...deps.supervisorsOnly, async (_req, res) => {
    const now = new Date();
    const [agents, live] = await Promise.all([view.roster(now), deps.calls.liveCalls()]);
    const names = new Map(agents.map((a) => [a.id, a.name]));
    // The tiles' history part may fail on its own (the history database); the floor is still worth showing.
    const tiles = deps.tiles ? await deps.tiles({ now, agents, live }).catch(() => null) : undefined;
    res.set('Cache-Control', 'no-store').json({
      ...(tiles !== undefined ? { tiles } : {}),
      agents,
      // A callback waiting its turn says so: the number the app will call and which attempt this is.
      line: live
        .filter((c) => c.status === 'waiting' || c.status === 'offered')
        .map((c) => ({ callSid: c.callSid, status: c.status, from: c.from, ...(c.callback ? { callback: { number: c.callback.number, attempt: c.callback.attempt } } : {}), offeredTo: c.offeredTo, waitedSeconds: seconds(c.placeSince, now) })),
      calls: live.filter((c) => c.status === 'in-progress').map((c) => callContext(c, now, names)),
    });
  });

  return router;
}
