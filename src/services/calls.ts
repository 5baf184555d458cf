// The warm-transfer domain: a customer call waits in a conference, agents are dialled in, and each leg's fate is recorded.
// It never sees req/res; routes translate its results and errors.
import type { BackgroundTasks } from '../background';
import { HttpError, StoreUnavailableError, withDeadline } from '../errors';
import { maskNumber, type Logger } from '../logger';
import { LIVE_LEG_STATUSES, PENDING_LEG_STATUSES, type CallModel, type CallRecord, type Leg, type LegStatus, type Role } from '../models/call';
import type { TwilioRest } from '../twilio/rest';
import { apologyTwiml } from '../twilio/twiml';
import { clientAddress, type AgentDirectory } from './agents';
import type { WebhookUrls } from './webhook-urls';

export interface CallServiceDeps {
  calls: CallModel;
  rest: TwilioRest;
  agents: AgentDirectory;
  background: BackgroundTasks;
  logger: Logger;
  urls: WebhookUrls;
  /** Caller ID for calls to agents. */
  twilioNumber: string;
  /** Longest a database operation may take before the request is answered with an apology. */
  dbTimeoutMs?: number;
  /** Seconds an agent's phone rings before Twilio reports no-answer (Twilio's default: 60). */
  agentRingSeconds?: number;
}

export interface CallView {
  callSid: string;
  conferenceName: string;
  status: CallRecord['status'];
  agentId?: string;
  dialError?: string;
  createdAt: Date;
  endedAt?: Date;
  legs: Array<Omit<Leg, 'legCallSid' | 'createdAt'>>;
}

/** Twilio's CallStatus values, as the leg status they mean. https://www.twilio.com/docs/voice/api/call-resource#call-status-values */
const CALL_STATUS_TO_LEG: Record<string, LegStatus | undefined> = {
  queued: 'dialing',
  initiated: 'dialing',
  ringing: 'ringing',
  'in-progress': 'in-progress',
  answered: 'in-progress',
  completed: 'completed',
  busy: 'busy',
  failed: 'failed',
  'no-answer': 'no-answer',
  canceled: 'canceled',
};
const STATUS_ORDER: Record<LegStatus, number> = { dialing: 0, ringing: 1, 'in-progress': 2, completed: 3, 'dial-failed': 3, 'no-answer': 3, busy: 3, failed: 3, canceled: 3 };
const MAX_WRITE_ATTEMPTS = 8;
export const LEFT_ALONE_MESSAGE = 'The agent has left the call. Thank you for calling, goodbye.';

/** A change to one call, decided from the call as read. */
interface Change<T> {
  set?: Record<string, unknown>;
  push?: Leg;
  result: T;
}

/** Builds the call service over its store and the REST caller. */
export function createCallService(deps: CallServiceDeps) {
  const { calls, rest, agents, background, logger, urls } = deps;
  const dbTimeoutMs = deps.dbTimeoutMs ?? 5000;

  /** Runs a database operation with a deadline; a failure other than a duplicate key becomes StoreUnavailableError. */
  async function store<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await withDeadline(operation(), dbTimeoutMs, () => new Error(`no answer within ${dbTimeoutMs} ms`));
    } catch (err) {
      if (isDuplicateKey(err)) throw err;
      throw new StoreUnavailableError(err);
    }
  }

  const load = (callSid: string): Promise<CallRecord | null> => store(() => calls.findById(callSid).lean<CallRecord>().exec());

  /**
   * Reads a call, lets `decide` choose a change, and writes it only if nobody changed the call meanwhile
   * (compare-and-set on `rev`); otherwise reads again. Safe with several app instances on one database.
   */
  async function change<T>(callSid: string, decide: (call: CallRecord) => Change<T>): Promise<T> {
    return oneAtATime(callSid, () => compareAndSet(callSid, decide));
  }

  // FerretDB 1.x applies an update by finding the document and then writing it back by _id, so two concurrent
  // compare-and-set updates can both "match" and one is lost. Changes to one call are therefore also serialised
  // inside this process; across processes the revision check is atomic on MongoDB.
  const queues = new Map<string, Promise<unknown>>();
  async function oneAtATime<T>(key: string, task: () => Promise<T>): Promise<T> {
    const run = (queues.get(key) ?? Promise.resolve()).then(task, task);
    const tail = run.catch(() => undefined);
    queues.set(key, tail);
    try {
      return await run;
    } finally {
      if (queues.get(key) === tail) queues.delete(key);
    }
  }

  async function compareAndSet<T>(callSid: string, decide: (call: CallRecord) => Change<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      const call = await load(callSid);
      if (!call) throw new HttpError(404, 'This call does not exist.');
      const { set, push, result } = decide(call);
      if (!set && !push) return result;
      const update: Record<string, unknown> = { $set: { ...set, updatedAt: new Date() }, $inc: { rev: 1 } };
      if (push) update.$push = { legs: push };
      const written = await store(() => calls.updateOne({ _id: callSid, rev: call.rev }, update, { timestamps: false }).exec());
      if (written.matchedCount === 1) return result;
      if (attempt >= MAX_WRITE_ATTEMPTS) throw new StoreUnavailableError(new Error(`call ${callSid} kept changing under us`));
    }
  }

  function newLeg(agentId: string, role: Role, requestedBy?: string): Leg {
    const now = new Date();
    return { agentId, role, status: 'dialing', createdAt: now, updatedAt: now, ...(requestedBy ? { requestedBy } : {}) };
  }

  /** The index of the newest leg of `agentId` that matches `where`, or -1. */
  function newestLeg(call: CallRecord, agentId: string, where: (leg: Leg) => boolean): number {
    for (let i = call.legs.length - 1; i >= 0; i -= 1) if (call.legs[i]!.agentId === agentId && where(call.legs[i]!)) return i;
    return -1;
  }

  function legUpdate(index: number, fields: Partial<Leg>): Record<string, unknown> {
    const set: Record<string, unknown> = { [`legs.${index}.updatedAt`]: new Date() };
    for (const [key, value] of Object.entries(fields)) set[`legs.${index}.${key}`] = value;
    return set;
  }

  /**
   * Asks Twilio to ring `agentId` into the conference. Success writes nothing: Twilio's status callbacks
   * (initiated, ringing, answered...) tell us the leg's CallSid and progress. A failure is stored on the leg and the call.
   */
  async function dialLeg(callSid: string, legIndex: number, agentId: string): Promise<{ ok: true } | { ok: false; error: string }> {
    try {
      const { sid } = await rest.dial({
        to: clientAddress(agentId),
        from: deps.twilioNumber,
        url: urls.connectAgent(callSid, agentId),
        statusCallback: urls.agentCallStatus(callSid, agentId),
        statusCallbackEvents: ['initiated', 'ringing', 'answered', 'completed'],
        ...(deps.agentRingSeconds ? { timeoutSeconds: deps.agentRingSeconds } : {}),
      });
      logger.debug('dialled agent', { conference: callSid, agentId, legCallSid: sid });
      return { ok: true };
    } catch (err) {
      const error = describeRestError(err);
      logger.error('could not dial agent', { conference: callSid, agentId, error });
      await change(callSid, () => ({
        set: { ...legUpdate(legIndex, { status: 'dial-failed', error }), dialError: `Could not dial ${agentId}: ${error}` },
        result: undefined,
      }));
      return { ok: false, error };
    }
  }

  /**
   * Unfinished calls with a leg of `agentId`, newest change first. (The leg's status is checked by the caller:
   * FerretDB 1.x has no $elemMatch on sub-document fields.)
   */
  function callsOf(agentId: string): Promise<CallRecord[]> {
    return store(() => calls.find({ status: { $ne: 'completed' }, 'legs.agentId': agentId }).sort({ updatedAt: -1 }).limit(50).lean<CallRecord[]>().exec());
  }

  /**
   * Once leg `index` moves to `status`: was the customer talking with agents who have now all gone, with nobody on
   * the way? (The first agent leaves with endConferenceOnExit=false so a colleague can take over; without one the
   * customer would sit alone in the conference.) Then, once per call, the customer is told and the call ends.
   */
  function leftAloneAfter(call: CallRecord, index: number, status: LegStatus): boolean {
    const legs = call.legs.map((leg, j) => (j === index ? status : leg.status));
    return (
      call.status !== 'completed' &&
      !call.abandonedAt &&
      legs.includes('completed') &&
      !legs.some((legStatus) => LIVE_LEG_STATUSES.includes(legStatus))
    );
  }

  function sayGoodbye(callSid: string): void {
    logger.info('every agent left: ending the customer call', { conference: callSid });
    background.run(`goodbye to ${callSid}`, () => rest.redirect(callSid, apologyTwiml(LEFT_ALONE_MESSAGE)));
  }

  function view(call: CallRecord): CallView {
    return {
      callSid: call._id,
      conferenceName: call.conferenceName,
      status: call.status,
      agentId: call.agentId,
      dialError: call.dialError,
      createdAt: call.createdAt,
      endedAt: call.endedAt,
      legs: call.legs.map(({ agentId, role, status, requestedBy, error, updatedAt }) => ({ agentId, role, status, requestedBy, error, updatedAt })),
    };
  }

  return {
    /**
     * A customer called: store the call (one insert) and, once the caller's TwiML is on its way, dial the first agent.
     * A repeated webhook for the same CallSid hits the duplicate key and dials nobody.
     */
    async receiveCustomerCall(input: { callSid: string; from?: string }): Promise<{ duplicate: boolean }> {
      const agent = agents.firstFor();
      try {
        await store(() =>
          calls.create({ _id: input.callSid, conferenceName: input.callSid, from: input.from, status: 'waiting', agentId: agent.id, legs: [newLeg(agent.id, 'first')], rev: 0 }),
        );
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        logger.warn('repeated incoming-call webhook; not dialling again', { callSid: input.callSid });
        return { duplicate: true };
      }
      logger.info('customer call waiting', { callSid: input.callSid, from: maskNumber(input.from), agentId: agent.id });
      background.run(`dial ${agent.id} for ${input.callSid}`, async () => {
        await dialLeg(input.callSid, 0, agent.id);
      });
      return { duplicate: false };
    },

    /**
     * An agent answered: decide how their leg joins the conference. The first agent may leave without ending it;
     * an agent brought in ends it when they leave (the customer is theirs now).
     */
    async connectAgent(input: { conferenceId: string; agentId: string; legCallSid?: string }): Promise<{ role: Role }> {
      return change(input.conferenceId, (call) => {
        if (call.status === 'completed') throw new HttpError(404, 'This call has already ended.');
        const i = newestLeg(call, input.agentId, (leg) => LIVE_LEG_STATUSES.includes(leg.status));
        if (i < 0) throw new HttpError(404, 'This agent was not called into this conference.');
        const leg = call.legs[i]!;
        logger.info('agent joining conference', { conference: call._id, agentId: input.agentId, role: leg.role });
        return {
          set: {
            ...legUpdate(i, { status: 'in-progress', ...(input.legCallSid ? { legCallSid: input.legCallSid } : {}) }),
            status: 'in-progress',
            ...(leg.role === 'transfer' ? { agentId: input.agentId } : {}),
          },
          result: { role: leg.role },
        };
      });
    },

    /** `fromAgentId` brings `toAgentId` (or the default colleague) into the call they are on. */
    async bringInAgent(input: { fromAgentId: string; toAgentId?: string }): Promise<{ conference: string; agentId: string }> {
      if (!agents.find(input.fromAgentId)) throw new HttpError(404, `Unknown agent: ${input.fromAgentId}`);
      const target = input.toAgentId ? agents.find(input.toAgentId) : agents.defaultTransferTarget(input.fromAgentId);
      if (!target) throw new HttpError(404, input.toAgentId ? `Unknown agent: ${input.toAgentId}` : 'There is no colleague to bring in.');
      if (target.id === input.fromAgentId) throw new HttpError(400, 'An agent cannot bring themselves into their own call.');
      const current = (await callsOf(input.fromAgentId)).find((call) => call.legs.some((leg) => leg.agentId === input.fromAgentId && leg.status === 'in-progress'));
      if (!current) throw new HttpError(404, `${input.fromAgentId} has no active call.`);
      const legIndex = await change(current._id, (call) => {
        if (call.status === 'completed') throw new HttpError(404, `${input.fromAgentId} has no active call.`);
        const live = newestLeg(call, target.id, (leg) => LIVE_LEG_STATUSES.includes(leg.status));
        if (live >= 0) throw new HttpError(409, `${target.name} is already ${call.legs[live]!.status === 'in-progress' ? 'on' : 'being dialled into'} this call.`);
        return { push: newLeg(target.id, 'transfer', input.fromAgentId), result: call.legs.length };
      });
      const outcome = await dialLeg(current._id, legIndex, target.id);
      if (!outcome.ok) throw new HttpError(502, `Twilio could not dial ${target.name}: ${outcome.error}`);
      logger.info('bringing in a colleague', { conference: current._id, from: input.fromAgentId, to: target.id });
      return { conference: current._id, agentId: target.id };
    },

    /** Twilio reports progress of an agent's call: initiated, ringing, answered, no-answer, busy, completed... */
    async recordAgentCallStatus(input: { conferenceId: string; agentId: string; legCallSid: string; callStatus: string }): Promise<void> {
      // An own-property lookup: '__proto__' or 'constructor' must not find Object.prototype's members.
      const status = Object.hasOwn(CALL_STATUS_TO_LEG, input.callStatus) ? CALL_STATUS_TO_LEG[input.callStatus] : undefined;
      if (!status) throw new HttpError(400, `Unknown CallStatus: ${input.callStatus}`);
      const alone = await change(input.conferenceId, (call): Change<boolean> => {
        let i = call.legs.findIndex((leg) => leg.agentId === input.agentId && leg.legCallSid === input.legCallSid);
        if (i < 0) i = newestLeg(call, input.agentId, (leg) => !leg.legCallSid && PENDING_LEG_STATUSES.includes(leg.status));
        if (i < 0) throw new HttpError(404, 'No such agent leg on this call.');
        const leg = call.legs[i]!;
        // Callbacks may arrive late or out of order: a leg only moves forward.
        const forward = STATUS_ORDER[status] > STATUS_ORDER[leg.status] && STATUS_ORDER[leg.status] < 3;
        if (!forward) return leg.legCallSid ? { result: false } : { set: legUpdate(i, { legCallSid: input.legCallSid }), result: false };
        const missed = status === 'no-answer' || status === 'busy' || status === 'failed' || status === 'canceled';
        const alone = leftAloneAfter(call, i, status);
        logger.info('agent call status', { conference: call._id, agentId: input.agentId, status });
        return {
          set: {
            ...legUpdate(i, { status, legCallSid: input.legCallSid }),
            ...(missed ? { dialError: `${input.agentId} did not answer (${input.callStatus}).` } : {}),
            ...(alone ? { abandonedAt: new Date() } : {}),
          },
          result: alone,
        };
      });
      if (alone) sayGoodbye(input.conferenceId);
    },

    /** Twilio reports a conference event: start, end, a participant joining or leaving. */
    async recordConferenceEvent(input: { conferenceName: string; conferenceSid?: string; event: string; callSid?: string }): Promise<void> {
      const { toCancel, alone } = await change(input.conferenceName, (call): Change<{ toCancel: string[]; alone?: boolean }> => {
        const nothing = { result: { toCancel: [] } };
        switch (input.event) {
          case 'conference-start':
            return call.status === 'completed' ? nothing : { set: { status: 'in-progress', ...(input.conferenceSid ? { conferenceSid: input.conferenceSid } : {}) }, result: { toCancel: [] } };
          case 'participant-leave': {
            const i = call.legs.findIndex((leg) => input.callSid !== undefined && leg.legCallSid === input.callSid && LIVE_LEG_STATUSES.includes(leg.status));
            if (i < 0) return nothing;
            const alone = leftAloneAfter(call, i, 'completed');
            return { set: { ...legUpdate(i, { status: 'completed' }), ...(alone ? { abandonedAt: new Date() } : {}) }, result: { toCancel: [], alone } };
          }
          case 'conference-end': {
            if (call.status === 'completed') return nothing;
            const set: Record<string, unknown> = { status: 'completed', endedAt: new Date() };
            const ringing: string[] = [];
            call.legs.forEach((leg, i) => {
              if (!LIVE_LEG_STATUSES.includes(leg.status)) return;
              // Anyone still being rung for this call would answer into nothing: stop their phones.
              if (leg.status !== 'in-progress' && leg.legCallSid) ringing.push(leg.legCallSid);
              Object.assign(set, legUpdate(i, { status: leg.status === 'in-progress' ? 'completed' : 'canceled' }));
            });
            return { set, result: { toCancel: ringing } };
          }
          default:
            return nothing;
        }
      });
      if (alone) sayGoodbye(input.conferenceName);
      for (const legCallSid of toCancel) background.run(`cancel ringing leg ${legCallSid}`, () => rest.hangUp(legCallSid));
      if (input.event === 'conference-end') logger.info('conference ended', { conference: input.conferenceName, cancelled: toCancel.length });
    },

    /** The call an agent is on (or else being rung for), with every leg; null when idle. */
    async activeCallFor(agentId: string): Promise<CallView | null> {
      if (!agents.find(agentId)) throw new HttpError(404, `Unknown agent: ${agentId}`);
      const candidates = (await callsOf(agentId)).filter((call) => call.legs.some((leg) => leg.agentId === agentId && LIVE_LEG_STATUSES.includes(leg.status)));
      const talking = candidates.find((call) => call.legs.some((leg) => leg.agentId === agentId && leg.status === 'in-progress'));
      const chosen = talking ?? candidates[0];
      return chosen ? view(chosen) : null;
    },

    /** One stored call with its legs, or null. */
    async findCall(callSid: string): Promise<CallView | null> {
      const call = await load(callSid);
      return call ? view(call) : null;
    },
  };
}

export type CallService = ReturnType<typeof createCallService>;

function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: unknown } | undefined)?.code === 11000;
}

function describeRestError(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { status?: number; code?: number; message?: string };
    if (e.code || e.status) return `${e.message ?? 'Twilio error'} (status ${e.status ?? '?'}, code ${e.code ?? '?'})`;
    if (e.message) return e.message;
  }
  return String(err);
}
