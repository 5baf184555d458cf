// Routing: offers waiting calls to available agents (longest idle first), handles offers that end unanswered, wrap-up,
// the waiting line's maximum wait, and recovery from reservations that outlived their call. Runs in every app instance:
// the reservations (unique inserts) make sure an agent is offered one call at a time and a call rings one agent at a time.
import type { BackgroundTasks } from '../background';
import { presenceOf, softphoneAlive } from '../contact-center/presence';
import { planOffers, someoneCouldTake, type Task, type Worker } from '../contact-center/routing';
import { wrapUpBlocks } from '../contact-center/wrap-up';
import { errorMessage } from '../errors';
import type { Logger } from '../logger';
import { lineSinceOf, placeOf } from '../contact-center/call';
import { callbackOfferStarted, dialFailed, dialled, leftWithTheCall, maxWaitReached, offered, offerEnded as offerEnded_, queueOverflowed } from '../contact-center/call-life';
import { overflowDue, queuesServedBy, type QueueSetup } from '../contact-center/queues';
import type { CallStore } from '../models/call-store';
import type { CallRecord } from '../models/call';
import type { OfferOutcome, PresenceRecord, PresenceStore } from '../models/presence';
import type { ReservationRecord, ReservationStore } from '../models/reservation';
import type { ToldSorry } from '../models/told-sorry';
import { describeRestError, type Voice } from '../twilio/voice';
import type { Agent, AgentDirectory } from './agents';
import { agentDialRequest } from './agent-dial';
import type { ChangeHub } from './changes';
import type { WebhookUrls } from './webhook-urls';

/** What an agent whose phone rang out is told (the note on their presence, shown on their own page). */
export const MISSED_CALL_NOTE = 'You missed a call, so you were set away. Press Available when you are back.';
/** The same, as their colleagues and the floor read it. */
export const MISSED_CALL_NOTE_FOR_OTHERS = 'Missed a call: set away by the app.';

export interface RoutingSettings {
  /** Seconds an agent's phone rings before the call goes to the next agent. */
  ringSeconds: number;
  /** Seconds after a call before an agent is offered the next one. */
  wrapUpSeconds: number;
  /** Longest a caller waits in line before a polite goodbye. */
  maxWaitSeconds: number;
  /** A softphone silent this long is offline. */
  offlineAfterSeconds: number;
  /** A call an agent declined or missed is offered to others first for this long. */
  passCooldownSeconds: number;
  /** How often each instance looks for expired wrap-ups, waits and stale reservations. */
  tickMs: number;
  /** An agent whose softphone dropped off a call is offered that customer first for this long. */
  reconnectGraceSeconds: number;
  /**
   * An agent's own call ended while the customer was left alone, and the conference has not said why yet: the
   * customer waits on hold this long (at most) before anyone is rung, in case the conference reports that the
   * customer left too (Twilio does not promise the order of callbacks).
   */
  leaveSettleMs: number;
  /** A waiting caller first hears the callback offer this long after calling (0: callbacks are not offered). */
  callbackOfferAfterSeconds: number;
  /** …and again this often while they wait. */
  callbackOfferEverySeconds: number;
}

export const DEFAULT_ROUTING: RoutingSettings = {
  ringSeconds: 20,
  wrapUpSeconds: 5,
  maxWaitSeconds: 600,
  offlineAfterSeconds: 30,
  passCooldownSeconds: 30,
  tickMs: 2000,
  reconnectGraceSeconds: 15,
  leaveSettleMs: 2000,
  callbackOfferAfterSeconds: 0,
  callbackOfferEverySeconds: 180,
};

/**
 * How long a caller away hearing the callback offer keeps an agent free for their turn (see awayHolds): the offer, the
 * number, its read-back twice and the typing take well under this.
 */
const AWAY_HOLD_MS = 90_000;
/** The shortest time between two routing passes of one instance. */
const PASS_GAP_MS = 50;
/**
 * After a pass found nobody free, new calls wait this long for the next pass instead of each starting one (a long line
 * arriving at 200/s would otherwise read the agents' collections on every call). An agent becoming free starts a pass
 * at once, whatever this says.
 */
const NOBODY_FREE_RECHECK_MS = 250;

export const MAX_WAIT_MESSAGE = 'We are sorry, no agent could take your call in time. Please call again later. Thank you for calling, goodbye.';

export interface RoutingDeps {
  calls: CallStore;
  reservations: ReservationStore;
  presence: PresenceStore;
  agents: AgentDirectory;
  voice: Voice;
  urls: WebhookUrls;
  background: BackgroundTasks;
  changes: ChangeHub;
  logger: Logger;
  twilioNumber: string;
  settings: RoutingSettings;
  /** Callers told sorry by any instance (their call was stored too late): never offered. */
  retracted: Pick<ToldSorry, 'has' | 'told'>;
  /** The queues and agents' skills (none: one line, every agent serves every call). */
  queues?: () => Promise<QueueSetup>;
  /** Whether admins require a wrap-up code before the next offer, and how many codes there are to pick (none: nothing required). */
  wrapUpRules?: () => Promise<{ required: boolean; requiredSince?: Date; activeCodes: number }>;
}

const NO_QUEUES = async (): Promise<QueueSetup> => ({ queues: [], skills: new Map() });
const NO_WRAP_UP_RULES = async (): Promise<{ required: boolean; activeCodes: number }> => ({ required: false, activeCodes: 0 });

/** A leg's end (Twilio's CallStatus, or dial-failed) as the outcome an agent's page explains. */
function offerOutcomeOf(outcome: string): OfferOutcome {
  return outcome === 'busy' || outcome === 'no-answer' || outcome === 'dial-failed' || outcome === 'failed' ? outcome : 'canceled';
}

/** When an offer may ring its agent (`wait`), and how it says its ring is out (`done`, which may be called twice). */
interface DialTurn {
  wait: Promise<void>;
  done: () => void;
}
/** How many of a pass's offers are under way at once (see makeOffers). */
const OFFERS_UNDER_WAY = 4;

export function createRouting(deps: RoutingDeps) {
  const { calls, reservations, presence, agents, voice, urls, background, changes, logger, settings } = deps;
  const wrapUpRules = deps.wrapUpRules ?? NO_WRAP_UP_RULES;
  const queueSetup = deps.queues ?? NO_QUEUES;
  let dispatching: Promise<void> | undefined;
  let again = false;
  /** When the last pass found no agent free (undefined: it found some). */
  let nobodyFreeSince: number | undefined;
  let recheck: NodeJS.Timeout | undefined;
  let passes = 0;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;

  /**
   * Enabled agents with an open softphone who hold no reservation, longest idle first: those who chose "available", and
   * (reconnectOnly) those who did not, for a customer kept for them after their softphone dropped off the call.
   */
  async function freeWorkers(now: Date, held: ReservationRecord[], setup: QueueSetup): Promise<Worker[]> {
    const [all, present, rules] = await Promise.all([agents.all(), presence.all(), wrapUpRules()]);
    const byId = new Map(present.map((p) => [p._id, p]));
    const busy = new Set(held.filter((r) => r._id.startsWith('agent:')).map((r) => r.agentId));
    const workers: Worker[] = [];
    for (const agent of all) {
      const p = byId.get(agent.id);
      // Only a registered softphone can ring: a page still connecting its device is offered nothing yet.
      if (agent.disabled || !p || busy.has(agent.id) || !p.softphoneReady) continue;
      // Away: offered nothing, but a customer kept for them after their softphone dropped off the call (a reload).
      const reconnectOnly = p.chosen !== 'available';
      // Admins require a wrap-up code before the next call: an agent whose last call has none yet is skipped.
      if (wrapUpBlocks({ ...rules, pending: p.wrapUp })) continue;
      if (!softphoneAlive({ lastSeenAt: p.lastSeenAt, now, offlineAfterMs: settings.offlineAfterSeconds * 1000 })) continue;
      workers.push({ agentId: agent.id, idleSince: p.idleSince, ...(setup.queues.length > 0 ? { queues: queuesServedBy(setup, agent.id) } : {}), ...(reconnectOnly ? { reconnectOnly } : {}) });
    }
    return workers;
  }

  function waitingTasks(live: CallRecord[], now = new Date(), setup?: QueueSetup): Task[] {
    const queueOf = new Map((setup?.queues ?? []).map((q) => [q.id, q]));
    return live
      // A caller hearing the callback offer (out of the conference) is not rung until they are back; their place stays,
      // and holds an agent for them while the offer may still be under way (awayHolds).
      .filter((call) => call.status === 'waiting' && !call.endReason && (!call.awayFromLine || awayHolds(call, now)) && !deps.retracted.has(call._id))
      .filter((call) => !call.routableFrom || new Date(call.routableFrom).getTime() <= now.getTime())
      .map((call) => ({
        callSid: call._id,
        // The place in line is the first call's time: a callback (and its retries) keeps it.
        waitingSince: placeOf(call),
        passedBy: call.passedBy ?? [],
        ...(call.returnTo ? { returnTo: { agentId: call.returnTo.agentId, until: new Date(call.returnTo.until) } } : {}),
        // A call of a queue that no longer exists goes to anyone.
        ...(call.queueId && queueOf.has(call.queueId) ? { queueId: call.queueId, priority: queueOf.get(call.queueId)!.priority } : {}),
        ...(call.awayFromLine ? { away: true } : {}),
      }));
  }

  /**
   * Whether a caller away for the callback offer still holds their turn: for AWAY_HOLD_MS from the offer, longer than
   * the offer and the number's steps take. Every way back (a key, silence, hanging up, a callback or a message kept)
   * routes at once; a caller whose answer Twilio never sent holds nobody for ever: after this they are only skipped.
   */
  function awayHolds(call: CallRecord, now: Date): boolean {
    return Boolean(call.callbackOfferedAt) && now.getTime() - new Date(call.callbackOfferedAt!).getTime() < AWAY_HOLD_MS;
  }

  // A customer taken back to the line after their last agent's call ended (a dropped softphone, by all the app heard)
  // may in fact have hung up: when only the agent's call said so, the conference's report of the customer leaving can
  // come seconds later (Twilio does not promise the order of callbacks, and a busy instance answers late). Before
  // anyone is rung for them, Twilio is asked once whether the customer's call is still up: a call that ended is not
  // offered (its own callbacks end it). When Twilio cannot say, the customer is offered as before: never stranded.
  const customerChecks = new Map<string, 'asking' | 'there' | 'gone'>();
  const checkKey = (call: CallRecord): string => `${call._id}:${call.requeued ?? 0}`;
  function customerCheck(call: CallRecord): 'asking' | 'there' | 'gone' {
    const key = checkKey(call);
    const known = customerChecks.get(key);
    if (known) return known;
    customerChecks.set(key, 'asking');
    // Asked in the background: a slow answer from Twilio holds back this customer only, not the rest of the line.
    void voice.callEnded(call.customerLegSid ?? call._id).then((ended) => {
      if (!customerChecks.has(key)) return;
      customerChecks.set(key, ended === true ? 'gone' : 'there');
      if (ended) logger.warn('a customer taken back to the line had hung up, Twilio says: nobody is rung for them', { callSid: call._id });
      else dispatch();
    });
    return 'asking';
  }

  /** The live calls but those taken back to the line whose customer Twilio has not yet said is still up (customerCheck). */
  function stillThere(live: CallRecord[]): CallRecord[] {
    const requeued = live.filter((call) => call.status === 'waiting' && (call.requeued ?? 0) > 0);
    const current = new Set(requeued.map(checkKey));
    for (const key of customerChecks.keys()) if (!current.has(key)) customerChecks.delete(key);
    return live.filter((call) => !current.has(checkKey(call)) || customerCheck(call) === 'there');
  }

  async function dispatchOnce(): Promise<void> {
    // Free agents first: their collections are small, the live calls may not be (a long line), so with nobody free
    // the calls are not read at all.
    const now = new Date();
    passes += 1;
    const [held, setup] = await Promise.all([reservations.all(), queueSetup()]);
    const found = await freeWorkers(now, held, setup);
    const free = found.filter((w) => !w.reconnectOnly);
    nobodyFreeSince = free.length === 0 ? Date.now() : undefined;
    if (found.length === 0) return;
    const tasks = waitingTasks(stillThere(await calls.live()), now, setup);
    if (tasks.length === 0) return;
    // An agent who chose Away takes part only when a waiting customer is kept for them.
    const keptFor = new Set(tasks.filter((t) => t.returnTo && now.getTime() < t.returnTo.until.getTime()).map((t) => t.returnTo!.agentId));
    const workers = found.filter((w) => !w.reconnectOnly || keptFor.has(w.agentId));
    if (workers.length === 0) return;
    const offers = planOffers(tasks, workers, now, { passCooldownMs: settings.passCooldownSeconds * 1000 });
    await makeOffers(offers);
  }

  /**
   * Makes a pass's offers, a few at a time: each offer's database work (the claim, marking the call offered) takes
   * several round trips, and one after the other a pass under load made fewer offers a second than calls came in.
   * The rings still go out in the pass's order, each once the one before has been dialled; and only a few offers are
   * under way at once, because all of a pass's offers at once crowded the webhooks out of the database (measured:
   * every webhook's p99 from 1.6 s to 9 s).
   */
  async function makeOffers(offers: ReadonlyArray<{ callSid: string; agentId: string }>): Promise<void> {
    const underWay = new Set<Promise<void>>();
    const failures: unknown[] = [];
    let previous: Promise<void> = Promise.resolve();
    for (const offer of offers) {
      let done!: () => void;
      const turn: DialTurn = { wait: previous, done: () => done() };
      previous = new Promise<void>((resolve) => (done = resolve));
      const offering: Promise<void> = offerCall(offer.callSid, offer.agentId, turn)
        .catch((err: unknown) => void failures.push(err))
        .finally(() => {
          turn.done();
          underWay.delete(offering);
        });
      underWay.add(offering);
      if (underWay.size >= OFFERS_UNDER_WAY) await Promise.race(underWay);
    }
    await Promise.all(underWay);
    // The pass fails as it did when its offers went one by one (and the dispatcher tries again); the others were made.
    if (failures.length > 0) throw failures[0];
  }

  /**
   * Reserves the agent and the call, marks the call offered, and rings the agent: in its `turn` (once the pass's
   * previous offer has rung), which it ends once its own ring is out (or it makes none).
   */
  async function offerCall(callSid: string, agentId: string, turn: DialTurn): Promise<void> {
    // Another instance may have told this caller sorry while its late record was landing: asked now, several round
    // trips after that instance sent the apology's record (and alongside the claim, which does not depend on it).
    const [claimed, toldSorry] = await Promise.all([reservations.claimOffer(agentId, callSid), deps.retracted.told(callSid)]);
    if (!claimed) return;
    const legIndex = toldSorry ? undefined : await calls.changeIfLive(callSid, (call) => offered(call, { agentId, now: new Date() }));
    if (legIndex === undefined) {
      await Promise.all([reservations.releaseCall(callSid), reservations.releaseAgent(agentId, callSid)]);
      return;
    }
    logger.info('offering call', { callSid, agentId });
    changes.publish('calls', 'agents');
    let sid: string;
    try {
      await turn.wait;
      ({ sid } = await voice.dial(agentDialRequest(urls, { callSid, agentId, from: deps.twilioNumber, ringSeconds: settings.ringSeconds })).finally(turn.done));
      logger.debug('dialled agent', { callSid, agentId, legCallSid: sid });
    } catch (err) {
      const error = describeRestError(err);
      logger.warn('could not dial agent: offering the call to someone else', { callSid, agentId, error });
      await calls.changeIfLive(callSid, (call) => dialFailed(call, { index: legIndex, agentId, error }));
      await offerEnded(callSid, agentId, 'dial-failed');
      return;
    }
    // The ring is out: keeping its SID need not hold back the pass's next offer (the call's changes still take turns).
    background.run(`keep the dialled leg of ${callSid}`, () =>
      noteDialled(callSid, legIndex, sid).catch((err: unknown) => logger.warn('could not keep the dialled leg: its callbacks will tell', { callSid, agentId, error: errorMessage(err) })),
    );
  }

  /**
   * The dial of participant `index` returned `sid`: it is kept at once (not only from a later status callback), so a
   * call that ends while this phone rings can stop it. A call that ended before the dial returned gets the ring
   * stopped here.
   */
  async function noteDialled(callSid: string, index: number, sid: string): Promise<void> {
    const outcome = await calls.changeIfLive(callSid, (call) => dialled(call, { index, sid }));
    if (outcome === 'kept') return;
    logger.info('stopping a ring for a call that has ended', { callSid, legCallSid: sid });
    await voice.hangUp(sid);
  }


  /**
   * An offer ended without an answer (declined, not answered, could not be dialled): the call goes back to the line,
   * the agent is freed — set away when they did not answer, since they are probably not at their desk — and the
   * call is offered again.
   */
  async function offerEnded(callSid: string, agentId: string, outcome: string): Promise<void> {
    const backInLine = await calls.changeIfLive(callSid, (call) => offerEnded_(call, { agentId, outcome, now: new Date() }));
    await Promise.all([reservations.releaseCall(callSid), reservations.releaseAgent(agentId, callSid), presence.offerEnded(agentId, callSid, offerOutcomeOf(outcome))]);
    if (outcome === 'no-answer') await presence.choose(agentId, 'away', MISSED_CALL_NOTE);
    logger.info('offer ended without an answer', { callSid, agentId, outcome, backInLine: backInLine ?? false });
    changes.publish('calls', 'agents');
    dispatch();
  }

  /**
   * An agent's softphone dropped off a call they were alone on with the customer: no wrap-up, so their page, once
   * its softphone is back, is offered the customer first (the call's returnTo).
   */
  async function dropped(agentId: string, callSid: string): Promise<void> {
    await reservations.releaseAgent(agentId, callSid);
    changes.publish('agents');
  }

  /**
   * Agents who leave a call wrap up before their next offer: WRAP_UP_SECONDS at least, and the call waits for their
   * wrap-up code (which holds the next offer back when admins require one).
   */
  async function wrapUp(agentId: string, callSid: string, about?: Pick<CallRecord, 'createdAt' | 'from' | 'direction'>): Promise<void> {
    await presence.callEnded(agentId);
    const call = about ?? (await calls.load(callSid)) ?? undefined;
    if (call) await presence.awaitWrapUp(agentId, { callSid, startedAt: new Date(call.createdAt), ...(call.from ? { from: call.from } : {}), ...(call.direction ? { direction: call.direction } : {}), since: new Date() });
    if (settings.wrapUpSeconds > 0) await reservations.moveAgent(agentId, callSid, 'wrap-up', new Date(Date.now() + settings.wrapUpSeconds * 1000));
    else await reservations.releaseAgent(agentId, callSid);
    changes.publish('agents');
  }

  /** Ends a caller's wait politely once they have waited the longest we allow. */
  async function endLongWaits(live: CallRecord[], now: Date): Promise<void> {
    for (const call of live) {
      if (call.status !== 'waiting') continue; // one ringing an agent now waits for that ring's outcome
      if (call.callback && !call.customerLegSid) continue; // nobody waits on the phone: the callback keeps its place
      if (call.endReason || now.getTime() - lineSinceOf(call).getTime() < settings.maxWaitSeconds * 1000) continue;
      const mine = await calls.changeIfLive(call._id, (c) => maxWaitReached(c));
      if (!mine) continue;
      logger.info('caller waited the longest allowed: saying goodbye', { callSid: call._id, waitedSeconds: Math.round((now.getTime() - lineSinceOf(call).getTime()) / 1000) });
      background.run(`goodbye after max wait to ${call._id}`, () => voice.sayAndHangUp(call.customerLegSid ?? call._id, MAX_WAIT_MESSAGE));
    }
  }

  /**
   * Moves waiting calls of a queue whose agents are all offline to its overflow queue once they have waited its time
   * there (each move is one compare-and-set: another instance's move of the same call changes nothing).
   */
  async function overflowQueues(live: CallRecord[], now: Date): Promise<boolean> {
    const setup = await queueSetup();
    const byId = new Map(setup.queues.map((q) => [q.id, q]));
    const candidates = live.filter((c) => c.status === 'waiting' && !c.endReason && c.queueId && byId.get(c.queueId)?.overflow);
    if (candidates.length === 0) return false;
    const online = [...(await presenceOfAll(now))].filter(([, p]) => p.presence !== 'offline').map(([agentId]) => agentId);
    let moved = false;
    for (const call of candidates) {
      const to = overflowDue(byId.get(call.queueId!), new Date(call.queueSince ?? call.createdAt), now, online, setup.skills);
      const target = to ? byId.get(to) : undefined;
      if (!target) continue;
      const mine = await calls.changeIfLive(call._id, (c) => queueOverflowed(c, { from: call.queueId!, to: target.id, toName: target.name, now }));
      if (!mine) continue;
      logger.info('queue overflow: nobody who serves it is online', { callSid: call._id, from: call.queueId, to: target.id });
      moved = true;
    }
    if (moved) changes.publish('calls');
    return moved;
  }

  /**
   * Moves waiting callers out of their conference to hear the callback offer: first `callbackOfferAfterSeconds` after
   * they called, then every `callbackOfferEverySeconds`. The mark (one compare-and-set) comes before the move, so the
   * conference's end that the move causes is not taken for the caller hanging up; the caller's own end is reported to
   * the customer status callback.
   */
  async function offerCallbacks(live: CallRecord[], now: Date): Promise<void> {
    if (settings.callbackOfferAfterSeconds <= 0) return;
    let free: Worker[] | undefined;
    for (const call of live) {
      if (call.status !== 'waiting' || call.endReason || call.awayFromLine || call.callback || call.direction === 'outbound' || deps.retracted.has(call._id)) continue;
      const due = call.callbackOfferedAt ? new Date(call.callbackOfferedAt).getTime() + settings.callbackOfferEverySeconds * 1000 : new Date(call.createdAt).getTime() + settings.callbackOfferAfterSeconds * 1000;
      if (due > now.getTime()) continue;
      // An agent who could take this caller is free right now (the pass that rings them may be a moment away): the
      // offer would take the caller out of the line for its whole length just as their turn comes. The next look
      // offers it if they are still waiting.
      free ??= await freeWorkers(now, await reservations.all(), await queueSetup());
      const task = { passedBy: (call.passedBy ?? []).map((p) => ({ agentId: p.agentId, at: new Date(p.at) })), ...(call.queueId ? { queueId: call.queueId } : {}) };
      if (someoneCouldTake(task, free, now, { passCooldownMs: settings.passCooldownSeconds * 1000 })) continue;
      if (!(await calls.changeIfLive(call._id, (c) => callbackOfferStarted(c, now)))) continue;
      logger.info('offering the caller a callback', { callSid: call._id });
      background.run(`callback offer to ${call._id}`, () => voice.redirectTo(call._id, urls.callbackOffer(call._id), urls.customerStatus(call._id)));
    }
  }

  /**
   * Frees agents whose wrap-up is over, and reservations whose call is gone (a crash, a lost callback). Reads only the
   * reservations (a handful) and their calls by key, never the whole line.
   */
  async function sweepReservations(now: Date): Promise<boolean> {
    let freed = false;
    const calls_ = new Map<string, CallRecord | null>();
    for (const r of await reservations.all()) {
      const age = now.getTime() - new Date(r.since).getTime();
      const isAgent = r._id.startsWith('agent:');
      if (isAgent && r.state === 'wrap-up' && r.until && new Date(r.until).getTime() <= now.getTime()) {
        await reservations.releaseAgent(r.agentId, r.callSid);
        freed = true;
        continue;
      }
      // A little grace: a call being stored or an offer being written may not be visible yet.
      if (age <= 10_000) continue;
      if (!calls_.has(r.callSid)) calls_.set(r.callSid, await calls.load(r.callSid));
      const call = calls_.get(r.callSid) ?? undefined;
      const gone = !call;
      // An agent's phone rings for the call: its offer from the line, or a colleague's ring (a consult, a bring-in, a cold
      // transfer) while the call goes on with someone else.
      const stillRinging = call && ((call.status === 'offered' && call.offeredTo === r.agentId) || call.participants.some((leg) => leg.agentId === r.agentId && (leg.status === 'dialing' || leg.status === 'ringing')));
      const offerLost = r.state === 'offered' && call && !stillRinging;
      const ringingTooLong = r.state === 'offered' && age > (settings.ringSeconds + 60) * 1000;
      if (gone || offerLost || ringingTooLong) {
        logger.warn('releasing a reservation that outlived its call', { agentId: r.agentId, callSid: r.callSid, state: r.state });
        if (isAgent) await reservations.releaseAgent(r.agentId, r.callSid);
        else await reservations.releaseCall(r.callSid);
        if (ringingTooLong && call?.status === 'offered' && call.offeredTo === r.agentId) await offerEnded(r.callSid, r.agentId, 'no-answer');
        freed = true;
      }
    }
    return freed;
  }

  /** Each agent's presence, as routing sees it (`all`: the agents, when the caller has read them already); pages read it too. */
  async function presenceOfAll(now = new Date(), all?: Agent[]): Promise<Map<string, { presence: ReturnType<typeof presenceOf>['presence']; since?: Date; note?: string; record?: PresenceRecord; reservation?: ReservationRecord }>> {
    const [everyone, present, held, rules] = await Promise.all([all ?? agents.all(), presence.all(), reservations.all(), wrapUpRules()]);
    const byId = new Map(present.map((p) => [p._id, p]));
    const reservationOf = new Map(held.filter((r) => r._id.startsWith('agent:')).map((r) => [r.agentId, r]));
    const result = new Map<string, { presence: ReturnType<typeof presenceOf>['presence']; since?: Date; note?: string; record?: PresenceRecord; reservation?: ReservationRecord }>();
    for (const agent of everyone) {
      const p = byId.get(agent.id);
      const r = reservationOf.get(agent.id);
      const state = presenceOf({
        chosen: p?.chosen ?? 'away',
        chosenAt: p?.chosenAt ?? new Date(0),
        lastSeenAt: p?.lastSeenAt,
        softphoneReady: p?.softphoneReady,
        reservation: r ? { state: r.state, since: new Date(r.since) } : undefined,
        wrapUpBlockedSince: p?.wrapUp && wrapUpBlocks({ ...rules, pending: p.wrapUp }) ? new Date(p.wrapUp.since) : undefined,
        now,
        offlineAfterMs: settings.offlineAfterSeconds * 1000,
      });
      // Never seen (no presence record, no reservation): offline, with no meaningful "since".
      result.set(agent.id, { ...state, since: p || r ? state.since : undefined, note: p?.note, record: p ?? undefined, reservation: r });
    }
    return result;
  }

  let lastLineScan = 0;
  async function tick(): Promise<void> {
    const now = new Date();
    if (await sweepReservations(now)) {
      changes.publish('agents');
      dispatch();
    }
    // The whole line is read only every so often (a quarter of the longest wait or of the shortest overflow wait, at
    // most every 10 s): it may be long.
    const overflowAfter = (await queueSetup()).queues.flatMap((q) => (q.overflow ? [q.overflow.afterSeconds] : []));
    const offerAfter = settings.callbackOfferAfterSeconds > 0 ? [settings.callbackOfferAfterSeconds, settings.callbackOfferEverySeconds] : [];
    if (now.getTime() - lastLineScan >= Math.min(10_000, settings.maxWaitSeconds * 250, ...overflowAfter.map((s) => s * 250), ...offerAfter.map((s) => s * 250))) {
      lastLineScan = now.getTime();
      const live = await calls.live();
      await endLongWaits(live, now);
      await overflowQueues(live, now);
      await offerCallbacks(live, now);
      if (waitingTasks(live).length > 0) dispatch();
    }
  }

  /**
   * A new call joined the line: route it now, unless a pass has just found nobody free; then one pass a moment later
   * serves every call that came meanwhile (nobody could have taken them sooner: an agent becoming free routes at once).
   */
  function callArrived(): void {
    const since = nobodyFreeSince;
    if (since === undefined || Date.now() - since >= NOBODY_FREE_RECHECK_MS) return dispatch();
    if (recheck) return;
    recheck = setTimeout(() => {
      recheck = undefined;
      dispatch();
    }, NOBODY_FREE_RECHECK_MS - (Date.now() - since));
  }

  function dispatch(): void {
    if (dispatching) {
      again = true;
      return;
    }
    dispatching = (async () => {
      do {
        again = false;
        const started = Date.now();
        try {
          await dispatchOnce();
        } catch (err) {
          logger.warn('routing pass failed; trying again shortly', { error: errorMessage(err) });
        }
        // A burst of calls or changes is served by one pass per short window, not one per event.
        if (again) await new Promise((resolve) => setTimeout(resolve, Math.max(0, PASS_GAP_MS - (Date.now() - started))));
      } while (again);
    })().finally(() => {
      dispatching = undefined;
    });
    // Tracked with the other background work, so shutdown (and a test) can wait for it.
    const current = dispatching;
    background.run('route waiting calls', () => current);
  }

  return {
    dispatch,
    callArrived,
    /** How many routing passes this instance has run (each reads the agents' collections). */
    get passes(): number {
      return passes;
    },
    offerEnded,
    /** A colleague's ring (a consult or bring-in) ended unanswered: they are free again, and their page can say why. */
    async colleagueMissed(agentId: string, callSid: string, outcome: string): Promise<void> {
      await Promise.all([reservations.releaseAgent(agentId, callSid), presence.offerEnded(agentId, callSid, offerOutcomeOf(outcome))]);
    },
    wrapUp,
    dropped,
    noteDialled,
    /**
     * The agent's softphone went quiet (their page closed or reloaded: it says so as it goes). A ring for them now
     * rings nowhere: it is called off at once, so the caller goes to the next agent now (or, kept for this agent after
     * a drop, when their page is back) instead of after the ring's timeout, and the agent is not set Away for a ring
     * nobody could hear; a colleague's ring (a consult: the customer waits on hold for it) ends as a ring called off,
     * and the customer is back with their agent. The leg's own callback ('canceled') ends either as any ring called off
     * does. Runs in the background.
     */
    softphoneGone(agentId: string): void {
      background.run(`call off rings for ${agentId}`, async () => {
        const ringing = (await calls.live()).flatMap((call) =>
          call.participants.filter((leg) => leg.agentId === agentId && (leg.status === 'dialing' || leg.status === 'ringing') && leg.legCallSid).map((leg) => ({ callSid: call._id, legCallSid: leg.legCallSid! })),
        );
        for (const { callSid, legCallSid } of ringing) {
          logger.info("calling off a ring: the agent's softphone went away", { callSid, agentId, legCallSid });
          await voice.hangUp(legCallSid);
        }
      });
    },
    /** One pass after `ms` (a call that becomes routable then). */
    dispatchAfter(ms: number): void {
      const wait = setTimeout(dispatch, ms);
      wait.unref();
    },
    /** The agent answered their offer: the call is theirs, the call's reservation ends. */
    async answered(agentId: string, callSid: string): Promise<void> {
      await reservations.releaseCall(callSid);
      await reservations.moveAgent(agentId, callSid, 'on-call');
    },
    /** The call is over: free everyone still reserved for it (agents who talked wrap up); `rang`: agents whose phones were ringing for it. */
    async callFinished(call: CallRecord, rang: readonly string[] = []): Promise<void> {
      await reservations.releaseCall(call._id);
      const outcome: OfferOutcome = call.endReason === 'customer-hung-up' || call.endReason === 'conference-ended' ? 'caller-hung-up' : 'canceled';
      for (const agentId of rang) await presence.offerEnded(agentId, call._id, outcome);
      const talked = new Set(call.participants.filter((leg) => leg.status === 'in-progress' || leg.status === 'completed').map((leg) => leg.agentId));
      const held = (await reservations.all()).filter((r) => r.callSid === call._id && r._id.startsWith('agent:'));
      for (const r of held) {
        if (talked.has(r.agentId) && r.state !== 'wrap-up') await wrapUp(r.agentId, call._id, call);
        else if (r.state !== 'wrap-up') await reservations.releaseAgent(r.agentId, call._id);
      }
      // An agent freed as a dropped softphone who really left with the call wraps up too (unless already on another one).
      const withTheCall = leftWithTheCall(call);
      if (withTheCall && !held.some((r) => r.agentId === withTheCall) && (await reservations.claimAgent(withTheCall, call._id, 'wrap-up'))) await wrapUp(withTheCall, call._id, call);
      dispatch();
    },
    /** Starts the periodic pass (wrap-ups, maximum waits, stale reservations). */
    start(): void {
      if (timer) return;
      const loop = (): void => {
        timer = setTimeout(() => {
          ticking = tick()
            .catch((err: unknown) => logger.warn('routing tick failed', { error: errorMessage(err) }))
            .finally(() => {
              ticking = undefined;
              if (timer) loop();
            });
        }, settings.tickMs);
      };
      loop();
      dispatch();
    },
    async stop(): Promise<void> {
      clearTimeout(timer);
      timer = undefined;
      clearTimeout(recheck);
      recheck = undefined;
      await ticking;
      while (dispatching) await dispatching;
    },
    presenceOfAll,
  };
}

export type Routing = ReturnType<typeof createRouting>;
