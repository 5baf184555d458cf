// The contact center's calls, as orchestration: each operation reads the call, lets a transition of the domain
// (src/contact-center/call-life.ts) decide, stores its patch (compare-and-set), then carries out what it asked of the
// voice side in the background and tells the pages. No rule is decided here, no database path written, no TwiML
// built; errors are the domain's types. It never sees req/res.
import { createHash, randomUUID } from 'node:crypto';
import type { BackgroundTasks } from '../background';
import { mayCallOut } from '../contact-center/actions';
import { callOf, placeOf, type CallRecord, type ConferenceEvent } from '../contact-center/call';
import {
  agentJoined,
  agentJoinReported,
  agentLeft,
  backInLine,
  CALLBACK_AGENT_LEFT,
  callbackConferenceEnded,
  callbackDialling,
  callbackLegEnded,
  callbackNumberConfirmed,
  callbackNumberTyped,
  callbackRequested,
  conferenceLeftBehind,
  voicemailInstead,
  bringInStarted,
  callEnded,
  checkColleagueRing,
  coldTransferStarted,
  conferenceEvent,
  conferenceStarted,
  consultStarted,
  customerAnswered,
  customerGone,
  customerHoldRequested,
  dialFailed,
  hangUpRequested,
  holdReported,
  legReported,
  muteReported,
  outboundPlaced,
  transferDecided,
  type Departure,
  type LifeSettings,
  type ParticipantReport,
} from '../contact-center/call-life';
import { AgentUnavailableError, InvalidRequestError, NoCallError, NotFoundError, NotReadyError, VoiceFailedError } from '../contact-center/errors';
import { finishedCallOf, historyEndReason, type FinishedCall } from '../contact-center/history';
import type { CallerCall } from '../contact-center/wrap-up';
import { CUSTOMER_LABEL, legStatusOf, type ParticipantRole } from '../contact-center/participants';
import { positionInLine } from '../contact-center/routing';
import type { Transfer, TransferAction } from '../contact-center/transfer';
import { maskNumber, type Logger } from '../logger';
import type { CallStore, Change } from '../models/call-store';
import { isDuplicateKey, type ReservationStore } from '../models/reservation';
import type { FinishedCalls } from '../models/finished-calls';
import type { ToldSorry, ToldSorryAbout } from '../models/told-sorry';
import { describeRestError, type Voice } from '../twilio/voice';
import type { AgentDirectory } from './agents';
import { agentDialRequest } from './agent-dial';
import { createCallEffects } from './call-effects';
import { oldestFirst, view, type CallView } from './call-view';
import type { ChangeHub } from './changes';
import type { Routing } from './routing';
import type { WebhookUrls } from './webhook-urls';

/** Where finished calls go. */
export interface HistorySink {
  append(record: FinishedCall): Promise<void>;
}

/** Each caller's last calls, by number (who is calling, on the next ring). */
export interface CallerSink {
  append(number: string, call: CallerCall): Promise<void>;
}

export interface CallServiceDeps {
  store: CallStore;
  routing: Routing;
  reservations: ReservationStore;
  history: HistorySink;
  /** Where each caller's last calls are kept (optional: without it the ringing page knows nothing of earlier calls). */
  callers?: CallerSink;
  voice: Voice;
  agents: AgentDirectory;
  background: BackgroundTasks;
  changes: ChangeHub;
  logger: Logger;
  urls: WebhookUrls;
  /** Caller ID for calls to agents. */
  twilioNumber: string;
  /** Seconds a colleague's phone rings. */
  ringSeconds: number;
  /** Callers told sorry (their call was stored too late): recorded for every instance, whose routing never offers them. */
  retracted: Pick<ToldSorry, 'add'>;
  /** Calls that finished (a day): a replayed incoming-call webhook for one is not taken as a new caller. */
  finished?: Pick<FinishedCalls, 'remember' | 'has'>;
  /** Seconds an agent whose softphone dropped is offered their customer first. */
  reconnectGraceSeconds: number;
  /** How long a customer left alone by an agent's call ending waits for the conference to say why (see RoutingSettings). */
  leaveSettleMs: number;
  /** Hears of every agent leaving a call (a supervisor coaching them listens from then on). */
  onAgentLeft?: (callSid: string, agentId: string) => void;
  /** A callback nobody answers is tried this many times in all, `callbackRetrySeconds` apart. */
  callbackAttempts?: number;
  callbackRetrySeconds?: number;
}

export { LEFT_ALONE_MESSAGE } from './call-effects';
export type { CallView } from './call-view';

/** A conference status callback, as the service needs it. https://www.twilio.com/docs/voice/api/conference-resource#conference-status-callback */
export interface ConferenceEventInput {
  conferenceName: string;
  conferenceSid?: string;
  event: string;
  callSid?: string;
  participantLabel?: string;
  /** ReasonParticipantLeft on participant-leave; ReasonConferenceEnded on conference-end. */
  reason?: string;
  participantCallStatus?: string;
  /** conference-end: the label of the participant whose leaving ended it (ParticipantLabelEndingConference). */
  endedBy?: string;
}

/** How long the customer's phone rings for an agent's outbound call. */
const OUTBOUND_RING_SECONDS = 30;
/** How many times (2 s apart) a late call whose write's fate is unknown is looked for before leaving it to housekeeping. */
const LATE_WRITE_LOOKS = 8;
/** A live call this old is checked with Twilio (auditQuietCalls), and then at most this often. */
export const QUIET_CALL_MS = 60_000;
/** After Hang up, how long the agent's leg may stay in progress before Twilio is asked whether it is still up. */
const HANG_UP_CHECK_MS = 3000;
const LIVE_LEG_STATUSES: ReadonlySet<string> = new Set(['dialing', 'ringing', 'in-progress']);

/** Builds the call service. */
export function createCallService(deps: CallServiceDeps) {
  const { store, routing, reservations, voice, agents, background, changes, logger, urls } = deps;
  const settings: LifeSettings = { reconnectGraceMs: deps.reconnectGraceSeconds * 1000, leaveSettleMs: deps.leaveSettleMs };

  /**
   * changeIfLive, and the call as its decision last saw it (before the change): what a follow-up (a callback called off)
   * needs of the call, without reading it again.
   */
  async function changeIfLiveSeen<T>(callSid: string, decide: (call: CallRecord) => Change<T>): Promise<{ result: T | undefined; seen: CallRecord | undefined }> {
    let seen: CallRecord | undefined;
    const result = await store.changeIfLive(callSid, (call) => {
      seen = call;
      return decide(call);
    });
    return { result, seen };
  }

  const effects = createCallEffects({ voice, background, urls, routing, logger, reconnectGraceSeconds: deps.reconnectGraceSeconds, leaveSettleMs: deps.leaveSettleMs });
  const { setHold, hangUpLater, afterLastAgentLeft, applyTransferEffects } = effects;

  /** What follows an agent's departure: wrap-up (or none, for a dropped softphone), then the customer's fate. */
  async function afterDeparture(callSid: string, departure: Departure, confirmed: boolean): Promise<void> {
    deps.onAgentLeft?.(callSid, departure.agentId);
    // An agent whose softphone dropped skips wrap-up: they may get their customer back in a moment.
    await (departure.alone && !departure.onPurpose ? routing.dropped(departure.agentId, callSid) : routing.wrapUp(departure.agentId, callSid));
    if (departure.alone) afterLastAgentLeft(callSid, departure, confirmed);
    else if (departure.transferEffects) applyTransferEffects({ _id: callSid, conferenceSid: departure.conferenceSid }, departure.transferEffects, { colleagueId: departure.colleagueId });
  }

  /**
   * The call is over: stop phones still ringing for it, free its agents, keep its history, drop the live record.
   * `conferenceSid`: the conference whose end (or the customer's leaving it) ended the call; agents who answered but
   * are not known to be in it are hung up (their leg may wait in a new, empty conference of the call's name).
   * `hangUpTalking`: every agent still in the conference is hung up too (an outbound call whose customer never
   * answered: no conference end removes them).
   */
  async function finish(callSid: string, reason: string, options: { lastEvent?: (call: CallRecord) => ConferenceEvent; conferenceSid?: string; hangUpTalking?: boolean } = {}): Promise<void> {
    const now = new Date();
    let talking: string[] = [];
    const ended = await store.changeIfLive(callSid, (call) => {
      talking = call.participants.filter((leg) => leg.status === 'in-progress' && leg.legCallSid).map((leg) => leg.legCallSid!);
      return callEnded(call, { reason, now, lastEvent: options.lastEvent?.(call), conferenceSid: options.conferenceSid });
    });
    if (!ended) return;
    for (const legCallSid of options.hangUpTalking ? talking : ended.stranded) hangUpLater(`agent leaves the ended call ${callSid}`, legCallSid);
    if (ended.stranded.length) logger.warn('agents answered a call that ended before the conference reported them in it: hanging up their legs', { callSid, legs: ended.stranded.length });
    for (const legCallSid of ended.ringing) hangUpLater(`cancel ringing leg ${legCallSid}`, legCallSid);
    await routing.callFinished(ended.call, ended.rang);
    const record = finishedCallOf(ended.call, now);
    await deps.history.append(record);
    const { callers } = deps;
    if (callers && record.from) {
      const entry: CallerCall = { callSid, startedAt: record.startedAt, endedAt: record.endedAt, outcome: record.outcome, ...(record.agentIds.length ? { agentId: record.agentIds.at(-1) } : {}), ...(record.direction ? { direction: record.direction } : {}) };
      background.run(`caller record of ${callSid}`, () => callers.append(record.from!, entry));
    }
    await store.remove(callSid);
    const { finished } = deps;
    if (finished) background.run(`remember that ${callSid} finished`, () => finished.remember(callSid, now));
    changes.publish('calls', 'history');
    logger.info('call finished', { callSid, reason: historyEndReason(ended.call.endReason), cancelled: ended.ringing.length });
  }

  /**
   * A call stored after its caller had been told sorry: delete it once the write has settled, whatever it did. When
   * the write's answer was lost (a stalled connection gave up), the server may still apply it after our delete: then
   * we look again, every 2 s, for a while (and housekeeping sweeps every instance's apologies after that).
   */
  function retractLate(callSid: string, landed: Promise<unknown>, about: ToldSorryAbout): void {
    deps.retracted.add(callSid, about);
    background.run(`retract ${callSid}`, async () => {
      const stored = await landed.then(
        () => true,
        () => false,
      );
      for (let attempt = 1; attempt <= 60; attempt += 1) {
        try {
          const removed = await store.retract(callSid);
          if (removed > 0 || stored || attempt >= LATE_WRITE_LOOKS) {
            logger.info('removed a call whose caller was told sorry', { callSid, found: removed > 0 });
            changes.publish('calls');
            return;
          }
        } catch {
          // The database is still away: try again.
        }
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
      logger.warn('could not remove a call whose caller was told sorry', { callSid });
    });
  }

  /** The enabled agent `agentId`, or NotFoundError. */
  async function colleague(agentId: string) {
    const target = await agents.find(agentId);
    if (!target || target.disabled) throw new NotFoundError(`Unknown agent: ${agentId}`);
    return target;
  }

  /**
   * A colleague to consult, bring in or hand the call to: refused when their softphone is not up (offline), as the
   * page's directory never offers them: the ring would reach nobody, and the customer would be held for nothing.
   */
  async function reachableColleague(agentId: string) {
    const target = await colleague(agentId);
    const presence = (await routing.presenceOfAll(new Date())).get(target.id)?.presence ?? 'offline';
    if (presence === 'offline') throw new AgentUnavailableError(`${target.name} is offline: their softphone is not connected.`);
    return target;
  }

  /** Rings `agentId` for the call; the dialled SID is kept at once. Undefined with the error when Twilio would not dial. */
  async function ring(callSid: string, agentId: string, legIndex: number): Promise<{ error?: string }> {
    try {
      const { sid } = await voice.dial(agentDialRequest(urls, { callSid, agentId, from: deps.twilioNumber, ringSeconds: deps.ringSeconds }));
      await routing.noteDialled(callSid, legIndex, sid);
      return {};
    } catch (err) {
      return { error: describeRestError(err) };
    }
  }

  // ---------- operations ----------

  /**
   * A customer called: store the call (one insert) and, once the caller's TwiML is on its way, route it.
   * A repeated webhook for the same CallSid hits the duplicate key and routes nothing. A store that answers too
   * late gets the caller an apology, and the late record is deleted so nobody is ever offered that caller.
   */
  async function receiveCustomerCall(input: { callSid: string; from?: string; queue?: { id: string; name: string }; placeSince?: Date }): Promise<{ duplicate: boolean; finished?: boolean }> {
    const queue = input.queue ? { queueId: input.queue.id, queueName: input.queue.name, queueSince: new Date() } : {};
    // Asked meanwhile, not before: the lookup costs the caller no time.
    // A lookup that fails is no reason to apologise to a caller whose call is stored: it is taken as not finished.
    const finishedBefore = deps.finished?.has(input.callSid).catch(() => false);
    // What the apology's record keeps (and the call's history record shows) when the caller is told sorry.
    const about: ToldSorryAbout = { from: input.from, queueId: input.queue?.id, queueName: input.queue?.name };
    let late = false;
    try {
      await store.insert({ _id: input.callSid, conferenceName: input.callSid, from: input.from, status: 'waiting', ...queue, ...(input.placeSince ? { placeSince: input.placeSince } : {}), participants: [], passedBy: [], transfers: [], rev: 0 }, (landed) => {
        late = true;
        retractLate(input.callSid, landed, about);
      });
    } catch (err) {
      if (!isDuplicateKey(err)) {
        // The caller hears sorry (the webhook's apology): every instance knows it, and the history keeps the call.
        if (!late) deps.retracted.add(input.callSid, about);
        throw err;
      }
      logger.warn('repeated incoming-call webhook; not routing again', { callSid: input.callSid });
      return { duplicate: true };
    }
    if (await finishedBefore) {
      // A finished call's first webhook again: a replay. Nobody is on that phone; nobody is rung for it.
      await store.remove(input.callSid);
      logger.warn('incoming-call webhook for a call that has finished (a replay?): not taken', { callSid: input.callSid });
      return { duplicate: true, finished: true };
    }
    logger.info('customer call waiting', { callSid: input.callSid, from: maskNumber(input.from), ...(input.queue ? { queue: input.queue.id } : {}) });
    changes.publish('calls');
    routing.callArrived();
    return { duplicate: false };
  }

  /**
   * The caller's place in their queue's line (1 = next; by entry time), and their queue; no place when an agent is on
   * the way or the call is unknown.
   */
  async function waitingInfo(callSid: string): Promise<{ live: boolean; position?: number; queueId?: string }> {
    const live = await store.live();
    const mine = live.find((call) => call._id === callSid);
    if (!mine) return { live: false };
    const waiting = live.filter((call) => call.status === 'waiting' && !call.endReason && call.queueId === mine?.queueId).map((call) => ({ callSid: call._id, waitingSince: placeOf(call) }));
    const position = positionInLine(waiting, callSid);
    return { live: true, ...(position ? { position } : {}), ...(mine.queueId ? { queueId: mine.queueId } : {}) };
  }

  /** The caller's place in line (1 = next), or undefined when an agent is on the way or the call is unknown. */
  async function callersPlace(callSid: string): Promise<number | undefined> {
    return (await waitingInfo(callSid)).position;
  }

  /**
   * An agent whose account was disabled while their phone rang answered: they are not joined (the webhook hangs their
   * leg up with an apology), and an offer of the call to them ends now, so the caller goes to the next agent at once.
   */
  async function refuseDisabledAnswer(input: { conferenceId: string; agentId: string }): Promise<void> {
    logger.warn('a disabled account answered a ring: not joined', { conference: input.conferenceId, agentId: input.agentId });
    await routing.offerEnded(input.conferenceId, input.agentId, 'declined');
  }

  /**
   * An agent answered: their leg joins the conference. The first agent's offer becomes their call; a colleague
   * brought in joins the same way. Nobody's leaving ends the conference: the server decides the customer's fate.
   */
  async function connectAgent(input: { conferenceId: string; agentId: string; legCallSid?: string }): Promise<{ role: ParticipantRole }> {
    const joined = await store.change(input.conferenceId, (call) => agentJoined(call, { agentId: input.agentId, legCallSid: input.legCallSid, now: new Date() }));
    logger.info('agent joining conference', { conference: input.conferenceId, agentId: input.agentId, role: joined.role });
    if (joined.unholdCustomer) setHold(input.conferenceId, joined.conferenceSid, CUSTOMER_LABEL, false);
    if (joined.role === 'offer') await routing.answered(input.agentId, input.conferenceId);
    else await reservations.moveAgent(input.agentId, input.conferenceId, 'on-call');
    // A callback: the agent waits in the conference while the customer's phone rings.
    if (joined.role === 'offer') background.run(`dial the callback of ${input.conferenceId}`, () => dialCallback(input.conferenceId));
    changes.publish('calls', 'agents');
    return { role: joined.role };
  }

  /** Rings the customer of a callback whose agent is in the conference (once: the transition says whether to). */
  async function dialCallback(callSid: string): Promise<void> {
    const dialling = await store.changeIfLive(callSid, (call) => callbackDialling(call));
    if (!dialling) return;
    try {
      const { sid } = await voice.dial({ to: dialling.number, from: deps.twilioNumber, url: urls.callbackAnswer(callSid), statusCallback: urls.callbackStatus(callSid), statusCallbackEvents: ['initiated', 'ringing', 'answered', 'completed'], timeoutSeconds: OUTBOUND_RING_SECONDS });
      const kept = await store.changeIfLive(callSid, (call) => ({ patch: { set: { customerLegSid: sid } }, result: !call.endReason }));
      // The agent left while the dial was on its way (the attempt was called off): nobody waits for this ring.
      if (!kept) hangUpLater(`stop ringing the customer of ${callSid}`, sid);
      logger.info('calling the customer back', { callSid, to: maskNumber(dialling.number), legCallSid: sid });
    } catch (err) {
      logger.warn('could not call the customer back', { callSid, error: describeRestError(err) });
      await callbackEnded(callSid, 'failed');
    }
    changes.publish('calls');
  }

  /**
   * The waiting caller heard the callback offer: `digits` '1' asks for it (the number comes next); anything else, or
   * nothing, takes them back to the line. Returns what they hear next.
   */
  async function callbackOfferAnswered(callSid: string, digits: string | undefined): Promise<'number' | 'back'> {
    if (digits === '1') {
      const call = await store.load(callSid);
      if (call && call.status === 'waiting' && !call.endReason) return 'number';
    }
    await store.changeIfLive(callSid, (call) => backInLine(call, new Date()));
    routing.dispatch();
    return 'back';
  }

  /**
   * The caller gave the number to call back (or confirmed theirs): the call keeps its place and the caller hangs up.
   * False when an agent is already on the way (the caller goes back into the conference instead).
   */
  async function requestCallback(callSid: string, number: string): Promise<boolean> {
    const kept = await store.changeIfLive(callSid, (call) => callbackRequested(call, { number, now: new Date() }));
    if (!kept) {
      await store.changeIfLive(callSid, (call) => backInLine(call, new Date()));
      routing.dispatch();
      return false;
    }
    logger.info('callback requested', { callSid, to: maskNumber(number) });
    changes.publish('calls');
    routing.dispatch();
    return true;
  }

  /**
   * The caller typed another number to be called back at: it is kept aside to be read back to them, and kept as the
   * callback's only once they confirm it (confirmTypedNumber). 'kept': a callback is kept already (a repeated request);
   * 'back': an agent is on the way (the caller goes back into the conference); 'gone': the call is over.
   */
  async function typedCallbackNumber(callSid: string, number: string): Promise<'typed' | 'kept' | 'back' | 'gone'> {
    const typed = await store.changeIfLive(callSid, (call) => callbackNumberTyped(call, number));
    if (typed === undefined) return 'gone';
    if (typed === 'back') {
      await store.changeIfLive(callSid, (call) => backInLine(call, new Date()));
      routing.dispatch();
    }
    return typed;
  }

  /** The number the caller typed and has not confirmed yet, while they are still away from the line for the offer. */
  async function numberToConfirm(callSid: string): Promise<string | undefined> {
    const call = await store.load(callSid);
    return call && call.status === 'waiting' && !call.endReason && call.awayFromLine && !call.callback ? call.callbackTyped : undefined;
  }

  /**
   * The caller confirmed the number read back to them: the call keeps its place as a callback to that number, and the
   * caller hangs up. A repeated confirmation finds it kept and changes nothing. 'back': an agent is on the way (or no
   * number waits for confirmation): the caller goes back into the conference; 'gone': the call is over.
   */
  async function confirmTypedNumber(callSid: string): Promise<'kept' | 'back' | 'gone'> {
    const confirmed = await store.changeIfLive(callSid, (call) => callbackNumberConfirmed(call, new Date()));
    if (confirmed === undefined) return 'gone';
    if (confirmed === 'back') await store.changeIfLive(callSid, (call) => backInLine(call, new Date()));
    else logger.info('callback requested at a typed number, confirmed', { callSid });
    changes.publish('calls');
    routing.dispatch();
    return confirmed;
  }

  /**
   * The caller pressed 2 at the callback offer: they leave a message instead of waiting. Their place ends here, the
   * call goes to the history (outcome 'voicemail'); the recording comes as any voicemail's. Returns what is needed to
   * record it for their queue; 'back' when an agent is already on the way (they go back in line instead); 'gone' when
   * the call is over already (Twilio repeating the request after a lost answer): the message is still taken.
   */
  async function leaveMessageInstead(callSid: string): Promise<{ queueId?: string; from?: string } | 'back' | 'gone'> {
    let about: { queueId?: string; from?: string } = {};
    const chosen = await store.changeIfLive(callSid, (call) => {
      about = { ...(call.queueId ? { queueId: call.queueId } : {}), ...(call.from ? { from: call.from } : {}) };
      return voicemailInstead(call);
    });
    if (chosen === undefined) return 'gone';
    if (!chosen) {
      await store.changeIfLive(callSid, (call) => backInLine(call, new Date()));
      routing.dispatch();
      return 'back';
    }
    await finish(callSid, 'voicemail');
    logger.info('the caller leaves a message instead of waiting', { callSid, queue: about.queueId });
    changes.publish('calls');
    return about;
  }

  /** The caller's own call ended while out of the conference: gone, unless a callback was what they asked for. */
  async function customerCallEnded(callSid: string): Promise<void> {
    const call = await store.load(callSid);
    if (!call || call.callback || !call.awayFromLine) return;
    await finish(callSid, 'customer-hung-up');
  }

  /** A callback's customer answered: the call is answered now (their leg joins the conference). */
  async function callbackAnswered(callSid: string, legCallSid: string): Promise<boolean> {
    const answered = await store.changeIfLive(callSid, (call) => {
      const step = customerAnswered(call, new Date());
      return { patch: { ...step.patch, set: { ...step.patch?.set, customerLegSid: legCallSid } }, result: step.result };
    });
    if (answered) changes.publish('calls');
    return answered ?? false;
  }

  /**
   * A callback's customer leg ended. One who never answered (busy, no answer, failed) ends this attempt (the history
   * keeps it as failed) and, while attempts remain, the callback goes back in line at its place, routable after
   * `callbackRetrySeconds`, under a new key (its conference is new too). A ring stopped because its agent had left
   * (Hang up, a dropped softphone) spends no attempt: the callback is back in line at once (callbackCalledOff).
   */
  async function callbackEnded(callSid: string, callStatus: string): Promise<void> {
    const { result: ended, seen } = await changeIfLiveSeen(callSid, (call) => callbackLegEnded(call, { callStatus }));
    if (!ended || !seen) return;
    if (ended === 'hung-up') return finish(callSid, 'customer-hung-up');
    // The ring ended after its agent left (their Hang up stopped it): called off, with no ring left to stop.
    if (ended === 'called-off') return callbackCalledOff(seen, { ringEnded: true });
    await nextCallbackAttempt(seen, { counted: true });
    await finish(callSid, `callback-${callStatus}`, { hangUpTalking: true });
  }

  /**
   * The agent of a callback left before its customer answered (the call is marked CALLBACK_AGENT_LEFT already): the
   * customer's ring is stopped, the callback goes back in line at its place under the same attempt, and this record
   * ends. Whichever of the agent's leg, the conference or the customer's leg reports first does this (once); when it is
   * the customer's leg (`ringEnded`), there is no ring left to stop.
   */
  async function callbackCalledOff(call: CallRecord, options: { ringEnded?: boolean } = {}): Promise<void> {
    logger.info('callback called off: its agent left before the customer answered', { callSid: call._id });
    if (call.customerLegSid && !options.ringEnded) hangUpLater(`stop ringing the customer of ${call._id}`, call.customerLegSid);
    await nextCallbackAttempt(call, { counted: false });
    await finish(call._id, CALLBACK_AGENT_LEFT, { hangUpTalking: true });
  }

  /**
   * The callback of `call` back in line at its place, under a new key (its conference is new too): the next attempt
   * after `callbackRetrySeconds` when this one `counted`, else the same attempt at once. The key is derived from the
   * call's, so the one who decides second (a repeated callback, another instance) inserts nothing.
   */
  async function nextCallbackAttempt(call: CallRecord, options: { counted: boolean }): Promise<void> {
    if (!call.callback) return;
    const attempts = deps.callbackAttempts ?? 3;
    const attempt = call.callback.attempt + (options.counted ? 1 : 0);
    if (attempt > attempts) {
      logger.info('callback not answered: no attempts left', { callSid: call._id, attempts });
      return;
    }
    const next = `CA${createHash('sha256').update(`${call._id}:next-attempt`).digest('hex').slice(0, 32)}`;
    const waitMs = options.counted ? (deps.callbackRetrySeconds ?? 120) * 1000 : 0;
    try {
      await store.insert({
        _id: next,
        conferenceName: next,
        ...(call.from ? { from: call.from } : {}),
        status: 'waiting',
        ...(call.queueId ? { queueId: call.queueId, queueName: call.queueName, queueSince: call.queueSince } : {}),
        placeSince: placeOf(call),
        callback: { number: call.callback.number, attempt, requestedAt: call.callback.requestedAt },
        ...(waitMs > 0 ? { routableFrom: new Date(Date.now() + waitMs) } : {}),
        participants: [],
        passedBy: [],
        transfers: [],
        rev: 0,
      });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      return;
    }
    routing.dispatchAfter(waitMs + 50);
    logger.info(options.counted ? 'callback not answered: trying again later' : 'callback back in line, the attempt not counted', { callSid: call._id, next, attempt, of: attempts });
  }

  /**
   * A warm transfer with consult: the customer goes on hold with music while `fromAgentId` rings `toAgentId` and
   * they talk privately; `note` is shown on the colleague's ringing page.
   */
  async function consult(input: { fromAgentId: string; toAgentId: string; note?: string }): Promise<{ conference: string; transferId: string }> {
    const target = await reachableColleague(input.toAgentId);
    const current = callOf(await store.live(), input.fromAgentId);
    checkColleagueRing(current, { fromAgentId: input.fromAgentId, toAgentId: target.id, kind: 'consult' });
    if (!current.conferenceSid) throw new NotReadyError('The call has not started yet: try again in a moment.');
    if (!(await reservations.claimAgent(target.id, current._id, 'offered'))) throw new AgentUnavailableError(`${target.name} is busy with another call.`);
    const transferId = randomUUID();
    let legIndex: number;
    try {
      legIndex = await store.change(current._id, (call) => consultStarted(call, { id: transferId, fromAgentId: input.fromAgentId, toAgentId: target.id, toName: target.name, note: input.note, now: new Date() }));
    } catch (err) {
      await reservations.releaseAgent(target.id, current._id);
      throw err;
    }
    setHold(current._id, current.conferenceSid, CUSTOMER_LABEL, true);
    const { error } = await ring(current._id, target.id, legIndex);
    if (error) {
      logger.warn('could not dial the colleague for a consult', { conference: current._id, agentId: target.id, error });
      await store.changeIfLive(current._id, (call) => dialFailed(call, { index: legIndex, agentId: target.id, error, transferId }));
      await reservations.releaseAgent(target.id, current._id);
      applyTransferEffects(current, { unholdCustomer: true }, {});
      changes.publish('calls', 'agents');
      throw new VoiceFailedError(`Twilio could not dial ${target.name}: ${error}`);
    }
    logger.info('consult started', { conference: current._id, from: input.fromAgentId, to: target.id });
    changes.publish('calls', 'agents');
    return { conference: current._id, transferId };
  }

  /**
   * A cold transfer: the customer waits on hold while the call is offered to `to` (an agent, or 'queue' for the
   * front of the waiting line), and the transferring agent leaves at once. If `to` does not answer, routing offers
   * the call to the next available agent.
   */
  async function coldTransfer(input: { fromAgentId: string; to: string; note?: string }): Promise<{ conference: string; to: string }> {
    const toQueue = input.to === 'queue';
    const target = toQueue ? undefined : await reachableColleague(input.to);
    const current = callOf(await store.live(), input.fromAgentId);
    checkColleagueRing(current, { fromAgentId: input.fromAgentId, toAgentId: target?.id ?? 'queue', kind: 'cold' });
    if (target && !(await reservations.claimOffer(target.id, current._id))) throw new AgentUnavailableError(`${target.name} is busy with another call.`);
    let started: { legCallSid?: string; conferenceSid?: string; targetIndex: number };
    try {
      started = await store.change(current._id, (call) => coldTransferStarted(call, { id: randomUUID(), fromAgentId: input.fromAgentId, to: target?.id ?? 'queue', note: input.note, now: new Date() }));
    } catch (err) {
      if (target) await Promise.all([reservations.releaseCall(current._id), reservations.releaseAgent(target.id, current._id)]);
      throw err;
    }
    setHold(current._id, started.conferenceSid, CUSTOMER_LABEL, true);
    // The transferring agent leaves now; the call is not in progress any more, so nobody says goodbye to the customer.
    if (started.legCallSid) hangUpLater(`transferring agent leaves ${current._id}`, started.legCallSid);
    if (target) {
      const { error } = await ring(current._id, target.id, started.targetIndex);
      if (error) {
        logger.warn('could not dial the cold transfer target: back to routing', { conference: current._id, agentId: target.id, error });
        await routing.offerEnded(current._id, target.id, 'dial-failed');
      }
    } else {
      routing.dispatch();
    }
    logger.info('cold transfer', { conference: current._id, from: input.fromAgentId, to: target?.id ?? 'queue' });
    changes.publish('calls', 'agents');
    return { conference: current._id, to: target?.id ?? 'queue' };
  }

  /**
   * The transferring agent completes (hands the customer over and leaves), merges (three-way), toggles (talks to
   * one side while the other holds) or cancels the consult.
   */
  async function transferAction(input: { agentId: string; action: TransferAction }): Promise<{ state: Transfer['state']; held?: Transfer['held'] }> {
    const current = callOf(await store.live(), input.agentId);
    if (!current) throw new NoCallError('You have no call.');
    const decision = await store.change(current._id, (call) => transferDecided(call, input));
    applyTransferEffects({ _id: current._id, conferenceSid: decision.conferenceSid }, decision.next.effects, { colleague: decision.colleague, colleagueId: decision.colleagueId, transferrer: decision.transferrer });
    logger.info('transfer decided', { conference: current._id, agentId: input.agentId, action: input.action, state: decision.next.state });
    changes.publish('calls', 'agents');
    return { state: decision.next.state, ...(decision.next.held ? { held: decision.next.held } : {}) };
  }

  /**
   * The agent presses Hang up: their leg is ended through Twilio, marked as on purpose (so a customer left alone
   * hears goodbye rather than being put back in line). Works after a page reload too, when the page has no call object.
   */
  async function hangUp(agentId: string): Promise<{ callSid: string }> {
    const call = callOf(await store.live(), agentId);
    if (!call) throw new NoCallError('You have no call to hang up.');
    const { legCallSid } = await store.change(call._id, (c) => hangUpRequested(c, agentId));
    // An outbound call whose customer's phone still rings is called off: the ringing stops (no goodbye to play).
    if (call.customerRinging) hangUpLater(`call off the outbound call ${call._id}`, call.customerLegSid ?? call._id);
    if (legCallSid) {
      try {
        await voice.hangUp(legCallSid);
      } catch (err) {
        logger.warn('Twilio did not hang up an agent\'s leg', { callSid: call._id, agentId, error: describeRestError(err) });
        throw new VoiceFailedError('Your call could not be hung up: Twilio did not take it. Try again in a moment.');
      }
      // Its end is reported by the leg's own callback. A leg that had ended already (or that Twilio does not know)
      // reports nothing more: asked about once, so the agent is not left "On a call" with nobody.
      background.run(`check ${agentId}'s leg after Hang up`, async () => {
        await new Promise((resolve) => setTimeout(resolve, HANG_UP_CHECK_MS));
        const leg = (await store.load(call._id))?.participants.find((l) => l.legCallSid === legCallSid);
        if (leg && LIVE_LEG_STATUSES.has(leg.status)) await endLegIfGone(call._id, agentId, legCallSid);
      });
    }
    logger.info('agent hung up', { callSid: call._id, agentId });
    return { callSid: call._id };
  }

  /** Reports a leg that is live here ended when Twilio says it is not (its callback was lost). */
  async function endLegIfGone(callSid: string, agentId: string, legCallSid: string): Promise<boolean> {
    if ((await voice.callEnded(legCallSid)) !== true) return false;
    logger.warn('an agent\'s leg is gone, Twilio says, but its end was never reported: it is ended here', { callSid, agentId });
    await recordAgentCallStatus({ conferenceId: callSid, agentId, legCallSid, callStatus: 'completed' });
    return true;
  }

  /** The customer's own leg of a live call, when they are on the phone (not a callback waiting to be made). */
  function customerLegOf(call: CallRecord): string | undefined {
    if (call.callback) return call.status === 'waiting' ? undefined : call.customerLegSid;
    return call.customerLegSid ?? call._id;
  }

  const audited = new Map<string, number>();
  /**
   * Live calls are checked with Twilio, each at most once a minute (QUIET_CALL_MS) once it is a minute old; with
   * `createdBefore` (an instance starting: callbacks may have been lost while it, or every instance, was down), each
   * call stored before then, now. Callbacks lost that way would otherwise leave a caller who hung up waiting in the
   * line, rung to agents who answer nobody, and agents "On a call" for ever. (The app's own changes, a ring for one, are no news of the caller.)
   * A customer Twilio says is gone ends the call as their hang-up would; an agent's leg it says is gone is reported
   * ended, as its own callback would have.
   */
  async function auditQuietCalls(now = new Date(), options: { createdBefore?: Date } = {}): Promise<{ checked: number; ended: number }> {
    const live = await store.live();
    const ids = new Set(live.map((call) => call._id));
    for (const id of audited.keys()) if (!ids.has(id)) audited.delete(id);
    let checked = 0;
    let ended = 0;
    for (const call of live) {
      const { createdBefore } = options;
      if (createdBefore ? new Date(call.createdAt).getTime() >= createdBefore.getTime() : now.getTime() - new Date(call.createdAt).getTime() < QUIET_CALL_MS) continue;
      if (!createdBefore && now.getTime() - (audited.get(call._id) ?? 0) < QUIET_CALL_MS) continue;
      audited.set(call._id, now.getTime());
      checked += 1;
      const customer = customerLegOf(call);
      if (customer && (await voice.callEnded(customer)) === true) {
        logger.warn('no news of a call for a while, and Twilio says its customer is gone: the call ends', { callSid: call._id });
        await finish(call._id, 'customer-hung-up', { hangUpTalking: true });
        ended += 1;
        continue;
      }
      for (const leg of call.participants) {
        if (leg.legCallSid && LIVE_LEG_STATUSES.has(leg.status) && (await endLegIfGone(call._id, leg.agentId, leg.legCallSid))) ended += 1;
      }
    }
    return { checked, ended };
  }

  /**
   * The agent presses Hold (the customer hears the line's music and hears nobody) or Resume. The conference reports
   * the hold back (participant-hold), which the history keeps and times.
   */
  async function holdCustomer(input: { agentId: string; on: boolean }): Promise<{ held: boolean }> {
    const current = callOf(await store.live(), input.agentId);
    if (!current) throw new NoCallError(input.on ? 'You have no call to put on hold.' : 'You have no call to resume.');
    const step = await store.change(current._id, (call) => customerHoldRequested(call, { agentId: input.agentId, on: input.on, now: new Date() }));
    if (step.changed) {
      setHold(current._id, step.conferenceSid, CUSTOMER_LABEL, input.on);
      logger.info(input.on ? 'customer put on hold' : 'customer taken off hold', { callSid: current._id, agentId: input.agentId });
    }
    changes.publish('calls');
    return { held: input.on };
  }

  /** The agent's page muted or unmuted their microphone (the SDK mutes it; the server only keeps it for the floor). */
  async function reportMute(input: { agentId: string; muted: boolean }): Promise<{ muted: boolean }> {
    const current = callOf(await store.live(), input.agentId);
    if (!current) throw new NoCallError('You have no call to mute.');
    await store.change(current._id, (call) => muteReported(call, input));
    changes.publish('calls');
    return { muted: input.muted };
  }

  /**
   * The agent calls `to` from their page. The customer's phone is dialled (caller ID: the support number) and the call
   * stored under the customer's CallSid, like an inbound call; the agent's own phone is rung at once and their page
   * answers it, so they wait in the conference (the customer answering joins them). From then on it is an ordinary
   * call: hold, transfers and the history work the same.
   */
  async function callOut(input: { agentId: string; to: string }): Promise<{ callSid: string }> {
    const now = new Date();
    const [presence, live] = await Promise.all([routing.presenceOfAll(now), store.live()]);
    const mine = presence.get(input.agentId)?.presence ?? 'offline';
    if (!mayCallOut({ presence: mine, hasCall: Boolean(callOf(live, input.agentId)) })) throw new AgentUnavailableError(mine === 'offline' ? 'Your softphone is not connected.' : 'Finish your current call (and its wrap-up) first.');
    // Checked before anything is dialled (the record's rule says the same once the CallSid is known).
    outboundPlaced({ callSid: 'check', to: input.to, agentId: input.agentId, supportNumber: deps.twilioNumber, now });
    const placeholder = `placing-${randomUUID()}`;
    if (!(await reservations.claimAgent(input.agentId, placeholder, 'offered'))) throw new AgentUnavailableError('You are being offered a call: answer it first.');
    let callSid: string;
    try {
      ({ sid: callSid } = await voice.dial({ to: input.to, from: deps.twilioNumber, url: urls.outboundAnswer(), statusCallback: urls.outboundStatus(), statusCallbackEvents: ['initiated', 'ringing', 'answered', 'completed'], timeoutSeconds: OUTBOUND_RING_SECONDS }));
    } catch (err) {
      await reservations.releaseAgent(input.agentId, placeholder);
      throw new VoiceFailedError(`Twilio could not call ${input.to}: ${describeRestError(err)}`);
    }
    await store.insert(outboundPlaced({ callSid, to: input.to, agentId: input.agentId, supportNumber: deps.twilioNumber, now: new Date() }));
    await reservations.renameCall(input.agentId, placeholder, callSid);
    logger.info('agent calling out', { callSid, agentId: input.agentId, to: maskNumber(input.to) });
    changes.publish('calls', 'agents');
    const { error } = await ring(callSid, input.agentId, 0);
    if (error) {
      logger.warn('could not ring the agent for their outbound call: calling it off', { callSid, agentId: input.agentId, error });
      await store.changeIfLive(callSid, (call) => dialFailed(call, { index: 0, agentId: input.agentId, error }));
      await reservations.releaseAgent(input.agentId, callSid);
      hangUpLater(`call off the outbound call ${callSid}`, callSid);
      throw new VoiceFailedError(`Twilio could not ring your softphone: ${error}`);
    }
    return { callSid };
  }

  /**
   * The customer of an outbound call answered (Twilio fetches their TwiML). The dial's answer and the record may still
   * be on their way when a fast phone answers: the record is looked for a little while. False when the call is gone
   * (the agent called it off meanwhile).
   */
  async function outboundAnswered(callSid: string): Promise<boolean> {
    for (let attempt = 0; ; attempt += 1) {
      const answered = await store.changeIfLive(callSid, (call) => customerAnswered(call, new Date()));
      if (answered !== undefined) {
        if (answered) changes.publish('calls');
        return answered;
      }
      if (attempt >= 20) return false;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /**
   * The customer's leg of an outbound call ended (busy, no answer, failed, cancelled, or hung up). One who never
   * answered ends the call here, and the agent waiting in the conference is hung up; one who talked ended it through
   * the conference already (this only makes sure).
   */
  async function outboundEnded(callSid: string, callStatus: string): Promise<void> {
    const call = await store.load(callSid);
    if (!call || call.status === 'completed') return;
    if (call.customerRinging) await finish(callSid, `customer-${callStatus}`, { hangUpTalking: true });
    else await finish(callSid, 'customer-hung-up');
  }

  /** `fromAgentId` brings `toAgentId` into the call they are on. */
  async function bringInAgent(input: { fromAgentId: string; toAgentId: string }): Promise<{ conference: string; agentId: string }> {
    const target = await reachableColleague(input.toAgentId);
    const current = callOf(await store.live(), input.fromAgentId);
    checkColleagueRing(current, { fromAgentId: input.fromAgentId, toAgentId: target.id, kind: 'bring-in' });
    if (!(await reservations.claimAgent(target.id, current._id, 'offered'))) throw new AgentUnavailableError(`${target.name} is busy with another call.`);
    let legIndex: number;
    try {
      legIndex = await store.change(current._id, (call) => bringInStarted(call, { fromAgentId: input.fromAgentId, toAgentId: target.id, toName: target.name, now: new Date() }));
    } catch (err) {
      await reservations.releaseAgent(target.id, current._id);
      throw err;
    }
    const { error } = await ring(current._id, target.id, legIndex);
    if (error) {
      logger.error('could not dial agent', { conference: current._id, agentId: target.id, error });
      await store.changeIfLive(current._id, (call) => dialFailed(call, { index: legIndex, agentId: target.id, error }));
      await reservations.releaseAgent(target.id, current._id);
      changes.publish('calls', 'agents');
      throw new VoiceFailedError(`Twilio could not dial ${target.name}: ${error}`);
    }
    logger.info('bringing in a colleague', { conference: current._id, from: input.fromAgentId, to: target.id });
    changes.publish('calls', 'agents');
    return { conference: current._id, agentId: target.id };
  }

  /** Twilio reports progress of an agent's call: initiated, ringing, answered, no-answer, busy, completed... */
  async function recordAgentCallStatus(input: { conferenceId: string; agentId: string; legCallSid: string; callStatus: string }): Promise<void> {
    const status = legStatusOf(input.callStatus);
    if (!status) throw new InvalidRequestError(`Unknown CallStatus: ${input.callStatus}`);
    const { result: outcome, seen } = await changeIfLiveSeen(input.conferenceId, (call) => legReported(call, { agentId: input.agentId, legCallSid: input.legCallSid, status, callStatus: input.callStatus, now: new Date() }, settings));
    if (!outcome) return; // the call is over and in the history already
    if (outcome.agentId) logger.info('agent call status', { conference: input.conferenceId, agentId: input.agentId, status });
    if (outcome.missedOffer) await routing.offerEnded(input.conferenceId, input.agentId, status);
    if (outcome.missedTransfer) await routing.colleagueMissed(input.agentId, input.conferenceId, status);
    if (outcome.callOffOutbound) {
      logger.info('the agent\'s leg of an outbound call did not connect: calling it off', { callSid: input.conferenceId, agentId: input.agentId, status });
      await routing.colleagueMissed(input.agentId, input.conferenceId, status);
      hangUpLater(`call off the outbound call ${input.conferenceId}`, outcome.customerCallSid ?? input.conferenceId);
    }
    if (outcome.left) {
      // Only the agent's own call said it ended: the conference is given a moment to say whether the customer left too.
      await afterDeparture(input.conferenceId, { agentId: input.agentId, alone: outcome.alone, onPurpose: outcome.onPurpose ?? false, conferenceSid: outcome.conferenceSid, customerCallSid: outcome.customerCallSid, transferEffects: outcome.transferEffects, colleagueId: outcome.colleagueId }, false);
    } else if (outcome.alone) {
      afterLastAgentLeft(input.conferenceId, { onPurpose: outcome.onPurpose ?? false, conferenceSid: outcome.conferenceSid, customerCallSid: outcome.customerCallSid }, false);
    } else if (outcome.transferEffects) {
      applyTransferEffects({ _id: input.conferenceId, conferenceSid: outcome.conferenceSid }, outcome.transferEffects, { colleagueId: outcome.colleagueId });
    }
    if (outcome.calledOffCallback && seen) await callbackCalledOff(seen);
    changes.publish('calls', 'agents');
  }

  /**
   * Twilio reports a conference event: start, end, a participant joining, leaving, held or taken off hold. Holds,
   * departures (with Twilio's reason) and the end are kept on the call for its history. The customer's fate follows
   * what the conference reports about the customer, whatever order the callbacks arrive in.
   */
  async function recordConferenceEvent(input: ConferenceEventInput): Promise<void> {
    const callSid = input.conferenceName;
    const report: ParticipantReport = { callSid: input.callSid, conferenceSid: input.conferenceSid, participantLabel: input.participantLabel, reason: input.reason, participantCallStatus: input.participantCallStatus, now: new Date() };
    // A callback's customer is on a leg of their own (customerLegSid): their leaving is the customer's too.
    let customerLegSid: string | undefined;
    let ringingCallback = false;
    if (input.event === 'participant-leave' || input.event === 'conference-end') {
      // The caller left the conference to hear the callback offer (or asked for a callback): its end is not the call's.
      const call = await store.load(callSid);
      ringingCallback = Boolean(call?.callback && call.customerRinging);
      if (call && conferenceLeftBehind(call, { event: input.event, reason: report.reason, conferenceSid: input.conferenceSid })) {
        logger.debug('conference event of a caller away from the line: ignored', { callSid, event: input.event });
        return;
      }
      customerLegSid = call?.customerLegSid;
    }
    switch (input.event) {
      case 'conference-start':
        await store.changeIfLive(callSid, (call) => conferenceStarted(call, input.conferenceSid));
        // Pages learn that the customer can now be held (Hold needs the conference).
        changes.publish('calls');
        return;
      case 'participant-hold':
      case 'participant-unhold':
        await store.changeIfLive(callSid, (call) => holdReported(call, { ...report, on: input.event === 'participant-hold' }));
        changes.publish('calls');
        return;
      case 'participant-leave': {
        // The customer left, or an agent was removed because the conference ended (only the customer's leaving ends it).
        if (customerGone({ _id: callSid, ...(customerLegSid ? { customerLegSid } : {}) }, report)) {
          const lastEvent = (call: CallRecord) => conferenceEvent(call, 'left', report, { ...(report.reason ? { reason: report.reason } : {}), ...(report.participantCallStatus ? { callStatus: report.participantCallStatus } : {}) });
          return finish(callSid, 'customer-hung-up', { lastEvent, conferenceSid: input.conferenceSid });
        }
        const { result: left, seen } = await changeIfLiveSeen(callSid, (call) => agentLeft(call, report, settings));
        if (!left) return;
        if ('agentId' in left) await afterDeparture(callSid, left, true);
        else routing.dispatch(); // the conference confirmed the customer is still there: they may be rung now
        if ('agentId' in left && left.calledOffCallback && seen) await callbackCalledOff(seen);
        changes.publish('calls', 'agents');
        return;
      }
      case 'participant-join': {
        // An agent's answer that lands after the customer left joins a new, empty conference of the same name (the
        // call's conference ended with the customer), where nobody would ever end their leg: it is ended here. Every
        // call is stored before any agent is rung for it, so a call not (or no longer) live has ended; and a call has
        // one conference for its whole life, so a join to another one while the call's end is still on its way is that
        // case too. Otherwise the leg's conference is kept: when the call ends, a leg that answered but is not in the
        // ending conference (its join not reported, or into another one) is hung up then (callEnded), so the leg never
        // outlives the call whatever order the callbacks arrive in.
        const legCallSid = input.callSid;
        if (!legCallSid || !input.participantLabel?.startsWith('agent:')) return;
        const stranded = await store.changeIfLive(callSid, (call) => agentJoinReported(call, { legCallSid, conferenceSid: input.conferenceSid }));
        if (stranded === false) return;
        // Which case it was (the call gone, or the leg in another conference of its name) is for whoever reads the log.
        const stored = stranded === true ? await store.load(callSid).catch(() => null) : null;
        logger.warn('an agent joined the conference of a call that had ended: hanging up their leg', {
          callSid,
          leg: legCallSid,
          ...(stranded === true ? { joinedConference: input.conferenceSid, callsConference: stored?.conferenceSid } : { callGone: true }),
        });
        hangUpLater(`agent joined ${callSid} after it ended`, legCallSid);
        return;
      }
      case 'conference-end': {
        // A callback's conference ends under its agent while the customer's phone still rings: the agent left.
        if (ringingCallback) {
          const { result: calledOff, seen } = await changeIfLiveSeen(callSid, (call) => callbackConferenceEnded(call, { conferenceSid: input.conferenceSid }));
          if (calledOff && seen) return callbackCalledOff(seen);
        }
        return finish(callSid, 'conference-ended', { lastEvent: (call) => conferenceEvent(call, 'conference-ended', report, { ...(input.reason ? { reason: input.reason } : {}), ...(input.endedBy ? { endedBy: input.endedBy } : {}) }), conferenceSid: input.conferenceSid });
      }
      default:
        return;
    }
  }

  return {
    receiveCustomerCall,
    callbackOfferAnswered,
    leaveMessageInstead,
    requestCallback,
    typedCallbackNumber,
    confirmTypedNumber,
    numberToConfirm,
    customerCallEnded,
    callbackAnswered,
    callbackEnded,
    positionInLine: callersPlace,
    waitingInfo,
    /** How many callers wait in the line of `queueId` (none: the calls without a queue). */
    async lineLength(queueId?: string): Promise<number> {
      return (await store.live()).filter((call) => call.status === 'waiting' && !call.endReason && call.queueId === queueId).length;
    },
    connectAgent,
    refuseDisabledAnswer,
    consult,
    coldTransfer,
    transferAction,
    hangUp,
    holdCustomer,
    reportMute,
    callOut,
    outboundAnswered,
    outboundEnded,
    bringInAgent,
    recordAgentCallStatus,
    recordConferenceEvent,
    auditQuietCalls,

    /** The call an agent is on (or else being rung for), with every leg; null when idle. */
    async activeCallFor(agentId: string): Promise<CallView | null> {
      const chosen = callOf(await store.live(), agentId);
      return chosen ? view(chosen) : null;
    },

    /** Every live call as pages see it, oldest first, and each agent's call among them: one read for a burst of pages. */
    async overview(): Promise<{ live: CallView[]; callOf(agentId: string): CallView | null }> {
      const live = await store.live();
      const ordered = oldestFirst(live);
      const views = new Map(ordered.map((call) => [call, view(call)]));
      return {
        live: [...views.values()],
        callOf(agentId) {
          const chosen = callOf(live, agentId);
          return (chosen && views.get(chosen)) ?? null;
        },
      };
    },

    /** Every live call, oldest first (the supervisor's board). */
    async liveCalls(): Promise<CallView[]> {
      return oldestFirst(await store.live()).map(view);
    },
  };
}

export type CallService = ReturnType<typeof createCallService>;
