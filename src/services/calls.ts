// The contact center's call lifecycle: a customer waits in a conference, routing offers the call to agents, agents
// answer, bring colleagues in and leave, and the finished call moves to the history. It never sees req/res; routes
// translate its results and errors.
import type { BackgroundTasks } from '../background';
import { finishedCallOf, type FinishedCall } from '../contact-center/history';
import { positionInLine } from '../contact-center/routing';
import { agentLabel, CUSTOMER_LABEL, leftAlone, legStatusOf, LIVE_LEG_STATUSES, MISSED_LEG_STATUSES, movesForward, PENDING_LEG_STATUSES, type LegStatus } from '../contact-center/participants';
import { colleagueLegChanged, decide, openTransfer, startCold, startConsult, transferrerLeft, TransferRuleError, type Transfer, type TransferAction, type TransferEffects } from '../contact-center/transfer';
import { randomUUID } from 'node:crypto';
import { HttpError } from '../errors';
import { maskNumber, type Logger } from '../logger';
import type { CallStore, Change } from '../models/call-store';
import type { CallRecord, ConferenceEvent, Participant, ParticipantRole } from '../models/call';
import { isDuplicateKey, type ReservationStore } from '../models/reservation';
import type { TwilioRest } from '../twilio/rest';
import { apologyTwiml } from '../twilio/twiml';
import type { AgentDirectory } from './agents';
import type { ChangeHub } from './changes';
import { agentDialRequest } from './agent-dial';
import { callAlreadyEnded, describeRestError, unlessCallEnded, type Routing } from './routing';
import type { WebhookUrls } from './webhook-urls';

/** Where finished calls go. */
export interface HistorySink {
  append(record: FinishedCall): Promise<void>;
}

export interface CallServiceDeps {
  store: CallStore;
  routing: Routing;
  reservations: ReservationStore;
  history: HistorySink;
  rest: TwilioRest;
  agents: AgentDirectory;
  background: BackgroundTasks;
  changes: ChangeHub;
  logger: Logger;
  urls: WebhookUrls;
  /** Caller ID for calls to agents. */
  twilioNumber: string;
  /** Seconds a colleague's phone rings. */
  ringSeconds: number;
  /** Calls this instance told sorry: shared with routing, which never offers them. */
  retracted: Set<string>;
  /** Seconds an agent whose softphone dropped is offered their customer first. */
  reconnectGraceSeconds: number;
  /** How long a customer left alone by an agent's call ending waits for the conference to say why (see RoutingSettings). */
  leaveSettleMs: number;
}

export interface CallView {
  callSid: string;
  conferenceName: string;
  status: CallRecord['status'];
  /** The caller's number as Twilio gave it (shown to agents only). */
  from?: string;
  agentId?: string;
  offeredTo?: string;
  dialError?: string;
  createdAt: Date;
  answeredAt?: Date;
  endedAt?: Date;
  participants: Array<Omit<Participant, 'legCallSid' | 'createdAt'> & { label: string }>;
  transfers: Transfer[];
  /** The agent whose softphone dropped off the call, offered it first until `until`. */
  returnTo?: { agentId: string; until: Date };
}

const HOLD_ATTEMPTS = 3;

/** Twilio's answer for a participant no longer in the conference: 404, https://www.twilio.com/docs/api/errors/20404 */
function participantGone(err: unknown): boolean {
  const e = err as { status?: unknown; code?: unknown } | undefined;
  return e?.status === 404 || e?.code === 20404;
}

/** A failure that may pass if tried again: Twilio's 5xx and 429, or no answer at all. */
function mayPass(err: unknown): boolean {
  const status = (err as { status?: unknown } | undefined)?.status;
  return typeof status !== 'number' || status >= 500 || status === 429;
}

/**
 * ReasonParticipantLeft values that mean the conference ended under the participant, not that they hung up.
 * https://www.twilio.com/en-us/changelog/participantcallstatus-and-reasonparticipantleft-attributes-added
 */
const CONFERENCE_ENDED_LEAVES: readonly string[] = ['moderator_ended_conference', 'conference_ended_via_api'];

export const LEFT_ALONE_MESSAGE = 'The agent has left the call. Thank you for calling, goodbye.';

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
}

/** Builds the call service. */
export function createCallService(deps: CallServiceDeps) {
  const { store, routing, reservations, rest, agents, background, changes, logger, urls } = deps;

  function legUpdate(index: number, fields: Partial<Participant>): Record<string, unknown> {
    const set: Record<string, unknown> = { [`participants.${index}.updatedAt`]: new Date() };
    for (const [key, value] of Object.entries(fields)) set[`participants.${index}.${key}`] = value;
    return set;
  }

  /** The index of the newest leg of `agentId` that matches `where`, or -1. */
  function newestLeg(call: CallRecord, agentId: string, where: (leg: Participant) => boolean): number {
    for (let i = call.participants.length - 1; i >= 0; i -= 1) if (call.participants[i]!.agentId === agentId && where(call.participants[i]!)) return i;
    return -1;
  }

  /**
   * Once leg `index` moves to `status`: was the customer talking with agents who have now all gone, with nobody on
   * the way? Then, once per call, the customer is told and the call ends. (No agent's leaving ends the conference by
   * itself: every agent joins with endConferenceOnExit=false, and the server decides.)
   */
  function leftAloneAfter(call: CallRecord, index: number, status: LegStatus): boolean {
    return leftAlone(call.status === 'in-progress' && !call.abandonedAt, call.participants.map((leg, j) => (j === index ? status : leg.status)));
  }

  /**
   * Participant `index` moves to `status`: what becomes of a transfer it belongs to (the colleague's leg answered, missed or
   * left), or of an open consult its agent started (the transferring agent is gone: nobody stays on hold for them).
   */
  function transferAfterLeg(call: CallRecord, index: number, status: LegStatus): { set: Record<string, unknown>; effects?: TransferEffects; colleagueId?: string; missed: boolean } {
    const leg = call.participants[index]!;
    const own = transferOf(call, leg);
    if (own) {
      const transferrerThere = call.participants.some((other, j) => j !== index && other.agentId === own.from && other.status === 'in-progress');
      const next = colleagueLegChanged(own, status, transferrerThere);
      return { set: next ? transferUpdate(call, own.id, next.state) : {}, effects: next?.effects, colleagueId: own.to, missed: Boolean(next && MISSED_LEG_STATUSES.includes(status)) };
    }
    const open = openTransfer(call.transfers ?? []);
    const next = open && open.from === leg.agentId && leg.status === 'in-progress' && status !== 'in-progress' ? transferrerLeft(open) : undefined;
    return { set: open && next ? transferUpdate(call, open.id, next.state) : {}, effects: next?.effects, colleagueId: open?.to, missed: false };
  }

  /**
   * The last agent left a customer who is still there. An agent who pressed Hang up meant it: the customer hears
   * goodbye. A softphone that dropped (tab closed, network lost) is not the customer's fault: they go back to the
   * front of the line on hold with music, and routing offers them to the next free agent.
   */
  function afterLastAgent(call: CallRecord, hungUpOnPurpose: boolean, droppedAgentId?: string, confirmed = true): Record<string, unknown> {
    if (hungUpOnPurpose) return { abandonedAt: new Date(), endReason: 'abandoned' };
    const now = new Date();
    return {
      status: 'waiting',
      // Only the agent's own call said it ended: nobody is rung until the conference confirms the customer is still
      // there (their leave or the conference's end may be on its way), or a moment has passed.
      routableFrom: confirmed ? now : new Date(now.getTime() + deps.leaveSettleMs),
      customerHeld: Boolean(call.conferenceSid),
      requeued: (call.requeued ?? 0) + 1,
      // Back in line: the longest wait counts from now, not from the start of a call the customer has talked on.
      lineSince: now,
      // The agent who dropped (a reload, a crashed tab) is offered the customer first for a moment.
      ...(droppedAgentId && deps.reconnectGraceSeconds > 0 ? { returnTo: { agentId: droppedAgentId, until: new Date(now.getTime() + deps.reconnectGraceSeconds * 1000) } } : {}),
    };
  }

  function afterLastAgentLeft(call: { _id: string; conferenceSid?: string }, hungUpOnPurpose: boolean, confirmed = true): void {
    if (hungUpOnPurpose) return sayGoodbye(call._id);
    logger.warn('the last agent dropped off a live customer: back to the line', { callSid: call._id, confirmed });
    setHold(call._id, call.conferenceSid, CUSTOMER_LABEL, true);
    if (confirmed) routing.dispatch();
    else routing.dispatchAfter(deps.leaveSettleMs);
    // Once the grace for the agent who dropped is over, anyone free may take the customer.
    if (deps.reconnectGraceSeconds > 0) routing.dispatchAfter(deps.reconnectGraceSeconds * 1000 + (confirmed ? 0 : deps.leaveSettleMs));
  }

  /**
   * Holds (with the line's music) or unholds a participant, addressed by its label. A call's holds reach Twilio one at
   * a time in the order they were decided, however slowly Twilio answers; a call that ended meanwhile is no error.
   * https://www.twilio.com/docs/voice/api/conference-participant-resource#update-a-participant-resource
   */
  function setHold(callSid: string, conferenceSid: string | undefined, label: string, on: boolean): void {
    if (!conferenceSid) return;
    background.runInOrder(`hold ${callSid}`, `${on ? 'hold' : 'unhold'} ${label} in ${callSid}`, async () => {
      // A customer left on hold by a passing Twilio error would hear music for nobody: a failure that may pass is tried again.
      for (let attempt = 1; ; attempt += 1) {
        try {
          await rest.hold(conferenceSid, label, on, on ? urls.wait(callSid, 1) : undefined);
          return;
        } catch (err) {
          // The participant (or the whole call) is gone meanwhile: nothing left to hold.
          if (callAlreadyEnded(err) || participantGone(err)) return;
          if (attempt >= HOLD_ATTEMPTS || !mayPass(err)) throw err;
          logger.warn('Twilio did not take a hold change; trying again', { conference: callSid, label, on, error: describeRestError(err) });
          await new Promise((resolve) => setTimeout(resolve, 400 * attempt));
        }
      }
    });
  }

  function sayGoodbye(callSid: string): void {
    logger.info('every agent left: ending the customer call', { conference: callSid });
    // The customer may have hung up meanwhile: then there is nothing to say goodbye to.
    background.run(`goodbye to ${callSid}`, () => unlessCallEnded(() => rest.redirect(callSid, apologyTwiml(LEFT_ALONE_MESSAGE))));
  }

  /** The call is over: stop phones still ringing for it, free its agents, keep its history, drop the live record. */
  async function finish(callSid: string, reason: string, lastEvent?: (call: CallRecord) => ConferenceEvent): Promise<void> {
    const endedAt = new Date();
    const finished = await store.changeIfLive(callSid, (call): Change<{ call: CallRecord; ringing: string[]; rang: string[] } | null> => {
      if (call.status === 'completed') return { result: null };
      // The customer's departure is the call's end: one instant, so the timeline ends with it.
      const last = lastEvent ? { ...lastEvent(call), at: endedAt } : undefined;
      const set: Record<string, unknown> = { status: 'completed', endedAt, ...(call.endReason ? {} : { endReason: reason }) };
      const ringing: string[] = [];
      const rang: string[] = [];
      const participants = call.participants.map((leg, i) => {
        if (!LIVE_LEG_STATUSES.includes(leg.status)) return leg;
        // Anyone still being rung for this call would answer into nothing: stop their phones.
        if (leg.status !== 'in-progress') rang.push(leg.agentId);
        if (leg.status !== 'in-progress' && leg.legCallSid) ringing.push(leg.legCallSid);
        const status: LegStatus = leg.status === 'in-progress' ? 'completed' : 'canceled';
        Object.assign(set, legUpdate(i, { status }));
        return { ...leg, status, updatedAt: endedAt };
      });
      const events = [...(call.events ?? []), ...(last ? [last] : [])];
      return { set, ...(last ? { push: { events: last } } : {}), result: { call: { ...call, participants, events, status: 'completed', endReason: call.endReason ?? reason }, ringing, rang } };
    });
    if (!finished) return;
    for (const legCallSid of finished.ringing) background.run(`cancel ringing leg ${legCallSid}`, () => rest.hangUp(legCallSid));
    await routing.callFinished(finished.call, finished.rang);
    await deps.history.append(finishedCallOf(finished.call, endedAt));
    await store.remove(callSid);
    changes.publish('calls', 'history');
    logger.info('call finished', { callSid, reason: finished.call.endReason, cancelled: finished.ringing.length });
  }

  /** A call stored after its caller had been told sorry: delete it once the write has settled, whatever it did. */
  function retractLate(callSid: string, landed: Promise<unknown>): void {
    deps.retracted.add(callSid);
    background.run(`retract ${callSid}`, async () => {
      await landed.catch(() => undefined);
      for (let attempt = 0; attempt < 60; attempt += 1) {
        try {
          await store.retract(callSid);
          logger.info('removed a call whose caller was told sorry', { callSid });
          changes.publish('calls');
          return;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 2000));
        }
      }
      logger.warn('could not remove a call whose caller was told sorry', { callSid });
    });
  }

  /** The transfer a leg was dialled for, if any. */
  function transferOf(call: CallRecord, leg: Participant): Transfer | undefined {
    return leg.transferId ? (call.transfers ?? []).find((t) => t.id === leg.transferId) : undefined;
  }

  /** The transfer's new state written into `set` (by index), from a transition's result. */
  function transferUpdate(call: CallRecord, transferId: string, state: Transfer['state'], held?: Transfer['held']): Record<string, unknown> {
    const i = (call.transfers ?? []).findIndex((t) => t.id === transferId);
    return i < 0 ? {} : { [`transfers.${i}.state`]: state, ...(held ? { [`transfers.${i}.held`]: held } : {}), [`transfers.${i}.updatedAt`]: new Date() };
  }

  /** Carries out what a transfer transition asks of the voice side, in the background (Twilio's answers are slow). */
  function applyTransferEffects(call: { _id: string; conferenceSid?: string }, effects: TransferEffects, who: { colleague?: string; colleagueId?: string; transferrer?: string }): void {
    const { conferenceSid } = call;
    // Participants are addressed by label ('customer', 'agent:<id>'): https://www.twilio.com/docs/voice/api/conference-participant-resource#path-parameters
    const hold = (label: string, on: boolean): void => setHold(call._id, conferenceSid, label, on);
    // Holds before unholds: when the agent switches sides, the customer never overhears the colleague, nor the reverse.
    if (effects.holdCustomer) hold(CUSTOMER_LABEL, true);
    if (who.colleagueId && effects.holdColleague) hold(agentLabel(who.colleagueId), true);
    if (effects.unholdCustomer) hold(CUSTOMER_LABEL, false);
    if (who.colleagueId && effects.unholdColleague) hold(agentLabel(who.colleagueId), false);
    const colleague = who.colleague;
    if (effects.hangUpColleague && colleague) background.run(`end consult leg ${colleague}`, () => unlessCallEnded(() => rest.hangUp(colleague)));
    const transferrer = who.transferrer;
    if (effects.hangUpTransferrer && transferrer) background.run(`transferring agent leaves ${call._id}`, () => unlessCallEnded(() => rest.hangUp(transferrer)));
  }

  function view(call: CallRecord): CallView {
    return {
      callSid: call._id,
      conferenceName: call.conferenceName,
      status: call.status,
      from: call.from,
      agentId: call.agentId,
      offeredTo: call.offeredTo,
      dialError: call.dialError,
      createdAt: call.createdAt,
      answeredAt: call.answeredAt,
      endedAt: call.endedAt,
      participants: call.participants.map(({ agentId, role, status, requestedBy, error, updatedAt, transferId, held }) => ({ agentId, label: agentLabel(agentId), role, status, ...(held ? { held } : {}), requestedBy, error, updatedAt, ...(transferId ? { transferId } : {}) })),
      transfers: call.transfers ?? [],
      ...(call.returnTo ? { returnTo: call.returnTo } : {}),
    };
  }

  /** The live call `agentId` is on (or else being rung for), or undefined. */
  function callOf(live: CallRecord[], agentId: string): CallRecord | undefined {
    const mine = live.filter((call) => call.status !== 'completed' && call.participants.some((leg) => leg.agentId === agentId && LIVE_LEG_STATUSES.includes(leg.status)));
    return mine.find((call) => call.participants.some((leg) => leg.agentId === agentId && leg.status === 'in-progress')) ?? mine[0];
  }

  return {
    /**
     * A customer called: store the call (one insert) and, once the caller's TwiML is on its way, route it.
     * A repeated webhook for the same CallSid hits the duplicate key and routes nothing. A store that answers too
     * late gets the caller an apology, and the late record is deleted so nobody is ever offered that caller.
     */
    async receiveCustomerCall(input: { callSid: string; from?: string }): Promise<{ duplicate: boolean }> {
      try {
        await store.insert({ _id: input.callSid, conferenceName: input.callSid, from: input.from, status: 'waiting', participants: [], passedBy: [], transfers: [], rev: 0 }, (landed) =>
          retractLate(input.callSid, landed),
        );
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        logger.warn('repeated incoming-call webhook; not routing again', { callSid: input.callSid });
        return { duplicate: true };
      }
      logger.info('customer call waiting', { callSid: input.callSid, from: maskNumber(input.from) });
      changes.publish('calls');
      routing.callArrived();
      return { duplicate: false };
    },

    /** The caller's place in line (1 = next), or undefined when an agent is on the way or the call is unknown. */
    async positionInLine(callSid: string): Promise<number | undefined> {
      const live = await store.live();
      const waiting = live.filter((call) => call.status === 'waiting' && !call.endReason).map((call) => ({ callSid: call._id, waitingSince: new Date(call.createdAt) }));
      return positionInLine(waiting, callSid);
    },

    /**
     * An agent answered: their leg joins the conference. The first agent's offer becomes their call; a colleague
     * brought in joins the same way. Nobody's leaving ends the conference: the server decides the customer's fate.
     */
    async connectAgent(input: { conferenceId: string; agentId: string; legCallSid?: string }): Promise<{ role: ParticipantRole }> {
      const result: { role: ParticipantRole; unhold?: string } = await store.change(input.conferenceId, (call) => {
        if (call.status === 'completed' || call.endReason) throw new HttpError(404, 'This call has already ended.');
        const i = newestLeg(call, input.agentId, (leg) => LIVE_LEG_STATUSES.includes(leg.status));
        if (i < 0) throw new HttpError(404, 'This agent was not called into this conference.');
        const leg = call.participants[i]!;
        const offer = leg.role === 'offer';
        if (offer && (call.status !== 'offered' || call.offeredTo !== input.agentId) && leg.status !== 'in-progress') throw new HttpError(404, 'This call was offered to someone else meanwhile.');
        logger.info('agent joining conference', { conference: call._id, agentId: input.agentId, role: leg.role });
        const transfer = transferAfterLeg(call, i, 'in-progress');
        return {
          set: {
            ...legUpdate(i, { status: 'in-progress', ...(input.legCallSid ? { legCallSid: input.legCallSid } : {}) }),
            ...transfer.set,
            status: 'in-progress',
            // The owner is whoever joined last: the first agent, then the colleague they bring in.
            agentId: input.agentId,
            ...(offer && !call.answeredAt ? { answeredAt: new Date() } : {}),
          },
          unset: offer ? ['offeredTo', ...(call.customerHeld ? ['customerHeld'] : [])] : [],
          result: { role: leg.role, unhold: (offer && call.customerHeld) || transfer.effects?.unholdCustomer ? call.conferenceSid : undefined },
        };
      });
      // The customer was held while they waited for someone new (or a consult): they hear their agent once that agent is in.
      if (result.unhold) setHold(input.conferenceId, result.unhold, CUSTOMER_LABEL, false);
      if (result.role === 'offer') await routing.answered(input.agentId, input.conferenceId);
      else await reservations.moveAgent(input.agentId, input.conferenceId, 'on-call');
      changes.publish('calls', 'agents');
      return { role: result.role };
    },

    /**
     * A warm transfer with consult: the customer goes on hold with music while `fromAgentId` rings `toAgentId` and
     * they talk privately; `note` is shown on the colleague's ringing page.
     */
    async consult(input: { fromAgentId: string; toAgentId: string; note?: string }): Promise<{ conference: string; transferId: string }> {
      const target = await agents.find(input.toAgentId);
      if (!target || target.disabled) throw new HttpError(404, `Unknown agent: ${input.toAgentId}`);
      const current = callOf(await store.live(), input.fromAgentId);
      if (!current || !current.participants.some((leg) => leg.agentId === input.fromAgentId && leg.status === 'in-progress')) throw new HttpError(404, 'You have no call to transfer.');
      if (!current.conferenceSid) throw new HttpError(409, 'The call has not started yet: try again in a moment.');
      if (!(await reservations.claimAgent(target.id, current._id, 'offered'))) throw new HttpError(409, `${target.name} is busy with another call.`);
      const transferId = randomUUID();
      let legIndex: number;
      try {
        legIndex = await store.change(current._id, (call) => {
          if (call.status === 'completed' || call.endReason) throw new HttpError(404, 'You have no call to transfer.');
          let transfer: Transfer;
          try {
            transfer = startConsult(call.transfers ?? [], { id: transferId, from: input.fromAgentId, to: target.id, note: input.note, now: new Date() });
          } catch (err) {
            if (err instanceof TransferRuleError) throw new HttpError(409, err.message);
            throw err;
          }
          if (newestLeg(call, target.id, (leg) => LIVE_LEG_STATUSES.includes(leg.status)) >= 0) throw new HttpError(409, `${target.name} is already on this call.`);
          const now = new Date();
          return {
            push: { participants: { agentId: target.id, role: 'colleague', status: 'dialing', requestedBy: input.fromAgentId, transferId, createdAt: now, updatedAt: now }, transfers: transfer },
            result: call.participants.length,
          };
        });
      } catch (err) {
        await reservations.releaseAgent(target.id, current._id);
        throw err;
      }
      setHold(current._id, current.conferenceSid, CUSTOMER_LABEL, true);
      try {
        const { sid } = await rest.dial(agentDialRequest(urls, { callSid: current._id, agentId: target.id, from: deps.twilioNumber, ringSeconds: deps.ringSeconds }));
        await routing.noteDialled(current._id, legIndex, sid);
      } catch (err) {
        const error = describeRestError(err);
        logger.warn('could not dial the colleague for a consult', { conference: current._id, agentId: target.id, error });
        await store.changeIfLive(current._id, (call) => ({ set: { ...legUpdate(legIndex, { status: 'dial-failed', error }), ...transferUpdate(call, transferId, 'failed') }, result: undefined }));
        await reservations.releaseAgent(target.id, current._id);
        applyTransferEffects(current, { unholdCustomer: true }, {});
        changes.publish('calls', 'agents');
        throw new HttpError(502, `Twilio could not dial ${target.name}: ${error}`);
      }
      logger.info('consult started', { conference: current._id, from: input.fromAgentId, to: target.id });
      changes.publish('calls', 'agents');
      return { conference: current._id, transferId };
    },

    /**
     * A cold transfer: the customer waits on hold while the call is offered to `to` (an agent, or 'queue' for the
     * front of the waiting line), and the transferring agent leaves at once. If `to` does not answer, routing offers
     * the call to the next available agent.
     */
    async coldTransfer(input: { fromAgentId: string; to: string; note?: string }): Promise<{ conference: string; to: string }> {
      const toQueue = input.to === 'queue';
      const target = toQueue ? undefined : await agents.find(input.to);
      if (!toQueue && (!target || target.disabled)) throw new HttpError(404, `Unknown agent: ${input.to}`);
      const current = callOf(await store.live(), input.fromAgentId);
      if (!current || !current.participants.some((leg) => leg.agentId === input.fromAgentId && leg.status === 'in-progress')) throw new HttpError(404, 'You have no call to transfer.');
      if (target && target.id === input.fromAgentId) throw new HttpError(409, 'You cannot transfer a call to yourself.');
      if (target && !(await reservations.claimOffer(target.id, current._id))) throw new HttpError(409, `${target.name} is busy with another call.`);
      const transferId = randomUUID();
      let mine: { legCallSid?: string; conferenceSid?: string; targetIndex: number };
      try {
        mine = await store.change(current._id, (call) => {
          if (call.status !== 'in-progress' || call.endReason) throw new HttpError(404, 'You have no call to transfer.');
          let transfer: Transfer;
          try {
            transfer = startCold(call.transfers ?? [], { id: transferId, from: input.fromAgentId, to: target?.id ?? 'queue', note: input.note, now: new Date() });
          } catch (err) {
            if (err instanceof TransferRuleError) throw new HttpError(409, err.message);
            throw err;
          }
          const i = newestLeg(call, input.fromAgentId, (leg) => leg.status === 'in-progress');
          const now = new Date();
          return {
            set: { status: toQueue ? 'waiting' : 'offered', ...(target ? { offeredTo: target.id } : {}), customerHeld: Boolean(call.conferenceSid), lineSince: now },
            push: {
              transfers: transfer,
              // Routing does not hand the call straight back to the agent who just transferred it.
              passedBy: { agentId: input.fromAgentId, at: now, outcome: 'transferred' },
              ...(target ? { participants: { agentId: target.id, role: 'offer', status: 'dialing', requestedBy: input.fromAgentId, transferId, createdAt: now, updatedAt: now } } : {}),
            },
            result: { legCallSid: call.participants[i]?.legCallSid, conferenceSid: call.conferenceSid, targetIndex: call.participants.length },
          };
        });
      } catch (err) {
        if (target) await Promise.all([reservations.releaseCall(current._id), reservations.releaseAgent(target.id, current._id)]);
        throw err;
      }
      setHold(current._id, mine.conferenceSid, CUSTOMER_LABEL, true);
      const myLeg = mine.legCallSid;
      // The transferring agent leaves now; the call is not in progress any more, so nobody says goodbye to the customer.
      if (myLeg) background.run(`transferring agent leaves ${current._id}`, () => unlessCallEnded(() => rest.hangUp(myLeg)));
      if (target) {
        try {
          const { sid } = await rest.dial(agentDialRequest(urls, { callSid: current._id, agentId: target.id, from: deps.twilioNumber, ringSeconds: deps.ringSeconds }));
          await routing.noteDialled(current._id, mine.targetIndex, sid);
        } catch (err) {
          logger.warn('could not dial the cold transfer target: back to routing', { conference: current._id, agentId: target.id, error: describeRestError(err) });
          await routing.offerEnded(current._id, target.id, 'dial-failed');
        }
      } else {
        routing.dispatch();
      }
      logger.info('cold transfer', { conference: current._id, from: input.fromAgentId, to: target?.id ?? 'queue' });
      changes.publish('calls', 'agents');
      return { conference: current._id, to: target?.id ?? 'queue' };
    },

    /**
     * The transferring agent completes (hands the customer over and leaves), merges (three-way), toggles (talks to
     * one side while the other holds) or cancels the consult.
     */
    async transferAction(input: { agentId: string; action: TransferAction }): Promise<{ state: Transfer['state']; held?: Transfer['held'] }> {
      const current = callOf(await store.live(), input.agentId);
      if (!current) throw new HttpError(404, 'You have no call.');
      const result = await store.change(current._id, (call) => {
        const transfer = openTransfer(call.transfers ?? []);
        if (!transfer) throw new HttpError(409, 'There is no transfer under way on your call.');
        let next: ReturnType<typeof decide>;
        try {
          next = decide(transfer, input.action, input.agentId);
        } catch (err) {
          if (err instanceof TransferRuleError) throw new HttpError(409, err.message);
          throw err;
        }
        const colleague = call.participants.find((leg) => leg.transferId === transfer.id);
        const mine = newestLeg(call, input.agentId, (leg) => leg.status === 'in-progress');
        return {
          set: {
            ...transferUpdate(call, transfer.id, next.state, next.held),
            ...(next.effects.hangUpTransferrer && mine >= 0 ? legUpdate(mine, { hungUp: true }) : {}),
          },
          result: { next, colleague: colleague?.legCallSid, colleagueId: transfer.to, transferrer: mine >= 0 ? call.participants[mine]!.legCallSid : undefined, conferenceSid: call.conferenceSid },
        };
      });
      applyTransferEffects({ _id: current._id, conferenceSid: result.conferenceSid }, result.next.effects, { colleague: result.colleague, colleagueId: result.colleagueId, transferrer: result.transferrer });
      logger.info('transfer decided', { conference: current._id, agentId: input.agentId, action: input.action, state: result.next.state });
      changes.publish('calls', 'agents');
      return { state: result.next.state, ...(result.next.held ? { held: result.next.held } : {}) };
    },

    /**
     * The agent presses Hang up: their leg is ended through Twilio, marked as on purpose (so a customer left alone
     * hears goodbye rather than being put back in line). Works after a page reload too, when the page has no call object.
     */
    async hangUp(agentId: string): Promise<{ callSid: string }> {
      const live = await store.live();
      const call = callOf(live, agentId);
      if (!call) throw new HttpError(404, 'You have no call to hang up.');
      const { legCallSid } = await store.change(call._id, (c) => {
        const i = newestLeg(c, agentId, (leg) => LIVE_LEG_STATUSES.includes(leg.status));
        if (i < 0) throw new HttpError(404, 'You have no call to hang up.');
        return { set: legUpdate(i, { hungUp: true }), result: { legCallSid: c.participants[i]!.legCallSid } };
      });
      if (legCallSid) {
        try {
          await rest.hangUp(legCallSid);
        } catch (err) {
          if (!callAlreadyEnded(err)) throw new HttpError(502, `Twilio could not hang up your call: ${describeRestError(err)}`);
        }
      }
      logger.info('agent hung up', { callSid: call._id, agentId });
      return { callSid: call._id };
    },

    /** `fromAgentId` brings `toAgentId` into the call they are on. */
    async bringInAgent(input: { fromAgentId: string; toAgentId: string }): Promise<{ conference: string; agentId: string }> {
      const target = await agents.find(input.toAgentId);
      if (!target || target.disabled) throw new HttpError(404, `Unknown agent: ${input.toAgentId}`);
      if (target.id === input.fromAgentId) throw new HttpError(400, 'An agent cannot bring themselves into their own call.');
      const current = callOf(await store.live(), input.fromAgentId);
      if (!current || !current.participants.some((leg) => leg.agentId === input.fromAgentId && leg.status === 'in-progress')) throw new HttpError(404, `${input.fromAgentId} has no active call.`);
      if (!(await reservations.claimAgent(target.id, current._id, 'offered'))) throw new HttpError(409, `${target.name} is busy with another call.`);
      let legIndex: number;
      try {
        legIndex = await store.change(current._id, (call) => {
          if (call.status === 'completed' || call.endReason) throw new HttpError(404, `${input.fromAgentId} has no active call.`);
          const live = newestLeg(call, target.id, (leg) => LIVE_LEG_STATUSES.includes(leg.status));
          if (live >= 0) throw new HttpError(409, `${target.name} is already ${call.participants[live]!.status === 'in-progress' ? 'on' : 'being dialled into'} this call.`);
          const now = new Date();
          return { push: { participants: { agentId: target.id, role: 'colleague', status: 'dialing', requestedBy: input.fromAgentId, createdAt: now, updatedAt: now } }, result: call.participants.length };
        });
      } catch (err) {
        await reservations.releaseAgent(target.id, current._id);
        throw err;
      }
      let dialled: string;
      try {
        dialled = (await rest.dial(agentDialRequest(urls, { callSid: current._id, agentId: target.id, from: deps.twilioNumber, ringSeconds: deps.ringSeconds }))).sid;
      } catch (err) {
        const error = describeRestError(err);
        logger.error('could not dial agent', { conference: current._id, agentId: target.id, error });
        await store.changeIfLive(current._id, () => ({ set: { ...legUpdate(legIndex, { status: 'dial-failed', error }), dialError: `Could not dial ${target.id}: ${error}` }, result: undefined }));
        await reservations.releaseAgent(target.id, current._id);
        changes.publish('calls', 'agents');
        throw new HttpError(502, `Twilio could not dial ${target.name}: ${error}`);
      }
      await routing.noteDialled(current._id, legIndex, dialled);
      logger.info('bringing in a colleague', { conference: current._id, from: input.fromAgentId, to: target.id });
      changes.publish('calls', 'agents');
      return { conference: current._id, agentId: target.id };
    },

    /** Twilio reports progress of an agent's call: initiated, ringing, answered, no-answer, busy, completed... */
    async recordAgentCallStatus(input: { conferenceId: string; agentId: string; legCallSid: string; callStatus: string }): Promise<void> {
      const status = legStatusOf(input.callStatus);
      if (!status) throw new HttpError(400, `Unknown CallStatus: ${input.callStatus}`);
      const outcome = await store.changeIfLive(input.conferenceId, (call): Change<{ alone: boolean; onPurpose?: boolean; conferenceSid?: string; transferEffects?: TransferEffects; colleagueId?: string; missedOffer?: boolean; missedTransfer?: boolean; left?: boolean }> => {
        const nothing = { result: { alone: false } };
        let i = call.participants.findIndex((leg) => leg.agentId === input.agentId && leg.legCallSid === input.legCallSid);
        // Twilio's callbacks carry the SID the dial was answered with; a leg whose SID no callback has named yet takes
        // the first callback's (the dial's answer may still be on its way).
        if (i < 0) i = newestLeg(call, input.agentId, (leg) => (!leg.legCallSid || leg.legCallSid === leg.dialledSid) && PENDING_LEG_STATUSES.includes(leg.status));
        if (i < 0) return nothing; // a leg of an offer that ended already: nothing to record
        const leg = call.participants[i]!;
        // Callbacks may arrive late or out of order: a leg only moves forward.
        if (!movesForward(leg.status, status)) return leg.legCallSid ? nothing : { set: legUpdate(i, { legCallSid: input.legCallSid }), result: { alone: false } };
        const missed = MISSED_LEG_STATUSES.includes(status);
        const transfer = transferAfterLeg(call, i, status);
        const alone = leftAloneAfter(call, i, status);
        // A colleague who never answered a transfer is nobody's decision to end the call: the customer goes back in line.
        const onPurpose = !transfer.missed && (Boolean(leg.hungUp) || call.participants.some((other) => other.hungUp && other.status === 'completed'));
        logger.info('agent call status', { conference: call._id, agentId: input.agentId, status });
        return {
          set: {
            ...legUpdate(i, { status, legCallSid: input.legCallSid }),
            ...(missed ? { dialError: `${input.agentId} did not answer (${input.callStatus}).` } : {}),
            ...(alone ? afterLastAgent(call, onPurpose, input.agentId, false) : {}),
            ...transfer.set,
          },
          result: {
            alone,
            transferEffects: transfer.effects,
            colleagueId: transfer.colleagueId,
            onPurpose,
            conferenceSid: call.conferenceSid,
            missedOffer: missed && leg.role === 'offer' && call.status === 'offered' && call.offeredTo === input.agentId,
            missedTransfer: missed && leg.role === 'colleague',
            left: status === 'completed' && leg.status === 'in-progress',
          },
        };
      });
      if (!outcome) return; // the call is over and in the history already
      if (outcome.missedOffer) await routing.offerEnded(input.conferenceId, input.agentId, status);
      if (outcome.missedTransfer) await routing.colleagueMissed(input.agentId, input.conferenceId, status);
      // An agent whose softphone dropped skips wrap-up: they may get their customer back in a moment.
      if (outcome.left) await (outcome.alone && !outcome.onPurpose ? routing.dropped(input.agentId, input.conferenceId) : routing.wrapUp(input.agentId, input.conferenceId));
      if (outcome.alone) afterLastAgentLeft({ _id: input.conferenceId, conferenceSid: outcome.conferenceSid }, outcome.onPurpose ?? false, false);
      else if (outcome.transferEffects) applyTransferEffects({ _id: input.conferenceId, conferenceSid: outcome.conferenceSid }, outcome.transferEffects, { colleagueId: outcome.colleagueId });
      changes.publish('calls', 'agents');
    },

    /**
     * Twilio reports a conference event: start, end, a participant joining, leaving, held or taken off hold. Holds,
     * departures (with Twilio's reason) and the end are kept on the call for its history.
     */
    async recordConferenceEvent(input: ConferenceEventInput): Promise<void> {
      const customerCall = input.conferenceName;
      const event = (call: CallRecord, kind: ConferenceEvent['kind'], fields: Omit<ConferenceEvent, 'at' | 'kind'> = {}): ConferenceEvent => {
        const leg = input.callSid && input.callSid !== customerCall ? call.participants.find((l) => l.legCallSid === input.callSid) : undefined;
        const label = input.callSid === customerCall ? CUSTOMER_LABEL : leg ? agentLabel(leg.agentId) : input.participantLabel;
        return { at: new Date(), kind, ...(label ? { label } : {}), ...(input.callSid ? { callSid: input.callSid } : {}), ...fields };
      };
      switch (input.event) {
        case 'conference-start':
          await store.changeIfLive(customerCall, (call) => (call.status === 'completed' || call.conferenceSid ? { result: undefined } : { set: input.conferenceSid ? { conferenceSid: input.conferenceSid } : {}, result: undefined }));
          return;
        case 'participant-hold':
        case 'participant-unhold': {
          const on = input.event === 'participant-hold';
          await store.changeIfLive(customerCall, (call) => {
            const i = call.participants.findIndex((p) => input.callSid !== undefined && p.legCallSid === input.callSid);
            return { push: { events: event(call, on ? 'hold' : 'unhold') }, ...(i >= 0 ? { set: { [`participants.${i}.held`]: on } } : {}), result: undefined };
          });
          changes.publish('calls');
          return;
        }
        case 'participant-leave': {
          const why = { ...(input.reason ? { reason: input.reason } : {}), ...(input.participantCallStatus ? { callStatus: input.participantCallStatus } : {}) };
          if (input.callSid === customerCall) return finish(customerCall, 'customer-hung-up', (call) => event(call, 'left', why));
          // An agent removed because the conference ended: only the customer's leaving ends it (they alone join with
          // endConferenceOnExit), so the customer is gone, whatever order their own callbacks arrive in.
          if (input.reason && CONFERENCE_ENDED_LEAVES.includes(input.reason)) return finish(customerCall, 'customer-hung-up', (call) => event(call, 'left', why));
          type Left = { agentId: string; alone: boolean; onPurpose: boolean; conferenceSid?: string; transferEffects?: TransferEffects; colleagueId?: string; confirmed?: boolean };
          const left = await store.changeIfLive(customerCall, (call): Change<Left | undefined> => {
            const i = call.participants.findIndex((leg) => input.callSid !== undefined && leg.legCallSid === input.callSid && LIVE_LEG_STATUSES.includes(leg.status));
            if (i < 0) {
              if (!call.participants.some((leg) => leg.legCallSid === input.callSid)) return { result: undefined };
              // The agent's own call reported its end first and the customer is waiting on hold for the conference to
              // say why: an agent leaving a conference that goes on means the customer is still there.
              const confirms = call.status === 'waiting' && call.routableFrom !== undefined && new Date(call.routableFrom).getTime() > Date.now();
              return { push: { events: event(call, 'left', why) }, ...(confirms ? { set: { routableFrom: new Date() } } : {}), result: confirms ? { agentId: '', alone: false, onPurpose: false, confirmed: true } : undefined };
            }
            const alone = leftAloneAfter(call, i, 'completed');
            const transfer = transferAfterLeg(call, i, 'completed');
            const onPurpose = Boolean(call.participants[i]!.hungUp);
            const agentId = call.participants[i]!.agentId;
            return {
              set: { ...legUpdate(i, { status: 'completed' }), ...(alone ? afterLastAgent(call, onPurpose, agentId) : {}), ...transfer.set },
              push: { events: event(call, 'left', why) },
              result: { agentId, alone, onPurpose, conferenceSid: call.conferenceSid, transferEffects: alone ? undefined : transfer.effects, colleagueId: transfer.colleagueId },
            };
          });
          if (!left) return;
          if (left.confirmed) {
            routing.dispatch();
            changes.publish('calls');
            return;
          }
          await (left.alone && !left.onPurpose ? routing.dropped(left.agentId, customerCall) : routing.wrapUp(left.agentId, customerCall));
          if (left.alone) afterLastAgentLeft({ _id: customerCall, conferenceSid: left.conferenceSid }, left.onPurpose);
          else if (left.transferEffects) applyTransferEffects({ _id: customerCall, conferenceSid: left.conferenceSid }, left.transferEffects, { colleagueId: left.colleagueId });
          changes.publish('calls', 'agents');
          return;
        }
        case 'conference-end':
          return finish(customerCall, 'conference-ended', (call) => event(call, 'conference-ended', input.reason ? { reason: input.reason } : {}));
        default:
          return;
      }
    },

    /** The call an agent is on (or else being rung for), with every leg; null when idle. */
    async activeCallFor(agentId: string): Promise<CallView | null> {
      const chosen = callOf(await store.live(), agentId);
      return chosen ? view(chosen) : null;
    },

    /** One read of the live calls for an agent's page: their call (as activeCallFor), and every live call. */
    async overviewFor(agentId: string): Promise<{ call: CallView | null; live: CallView[] }> {
      const live = await store.live();
      const chosen = callOf(live, agentId);
      return { call: chosen ? view(chosen) : null, live: oldestFirst(live).map(view) };
    },

    /** Every live call, oldest first (the supervisor's board). */
    async liveCalls(): Promise<CallView[]> {
      return oldestFirst(await store.live()).map(view);
    },
  };
}

export type CallService = ReturnType<typeof createCallService>;

function oldestFirst(calls: CallRecord[]): CallRecord[] {
  return [...calls].sort((a, b) => new Date(a.createdAt).getTime() - new Date(b.createdAt).getTime());
}
