// The warm-transfer domain: a customer call waits in a conference, agents are dialled in, and each leg's fate is recorded.
// It never sees req/res; routes translate its results and errors.
import type { BackgroundTasks } from '../background';
import { HttpError, StoreUnavailableError, withDeadline } from '../errors';
import { maskNumber, type Logger } from '../logger';
import type { CallModel, CallRecord } from '../models/call';
import { LIVE_LEG_STATUSES, PENDING_LEG_STATUSES, type LegModel, type LegRecord, type LegStatus } from '../models/leg';
import type { TwilioRest } from '../twilio/rest';
import { clientAddress, type AgentDirectory } from './agents';
import type { WebhookUrls } from './webhook-urls';

export interface CallServiceDeps {
  calls: CallModel;
  legs: LegModel;
  rest: TwilioRest;
  agents: AgentDirectory;
  background: BackgroundTasks;
  logger: Logger;
  urls: WebhookUrls;
  /** Caller ID for calls to agents. */
  twilioNumber: string;
  /** Longest a database operation may take before the request is answered with an apology. */
  dbTimeoutMs?: number;
  /** Seconds an agent's phone rings before Twilio reports no-answer. */
  agentRingSeconds?: number;
}

export type Role = 'first' | 'transfer';

export interface CallView {
  callSid: string;
  conferenceName: string;
  status: CallRecord['status'];
  agentId?: string | null;
  dialError?: string | null;
  createdAt: Date;
  endedAt?: Date | null;
  legs: Array<{ agentId: string; role: Role; status: LegStatus; requestedBy?: string | null; error?: string | null; updatedAt: Date }>;
}

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

/** Builds the call service over its stores and the REST caller. */
export function createCallService(deps: CallServiceDeps) {
  const { calls, legs, rest, agents, background, logger, urls } = deps;
  const dbTimeoutMs = deps.dbTimeoutMs ?? 5000;

  /** Runs a database operation with a deadline; any failure becomes StoreUnavailableError. */
  async function store<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await withDeadline(operation(), dbTimeoutMs, () => new Error(`no answer within ${dbTimeoutMs} ms`));
    } catch (err) {
      throw new StoreUnavailableError(err);
    }
  }

  /** Dials `agentId` into the conference for an existing leg; records the outcome on the leg and the call. */
  async function dialLeg(conference: string, legId: unknown, agentId: string): Promise<{ ok: true } | { ok: false; error: string }> {
    try {
      const { sid } = await rest.dial({
        to: clientAddress(agentId),
        from: deps.twilioNumber,
        url: urls.connectAgent(conference, agentId),
        statusCallback: urls.agentCallStatus(conference, agentId),
        statusCallbackEvents: ['initiated', 'ringing', 'answered', 'completed'],
        ...(deps.agentRingSeconds ? { timeoutSeconds: deps.agentRingSeconds } : {}),
      });
      // Only a leg still dialling moves to ringing: a status callback may already have moved it further.
      await store(() => legs.updateOne({ _id: legId, status: 'dialing' }, { $set: { status: 'ringing' } }).exec());
      await store(() => legs.updateOne({ _id: legId }, { $set: { legCallSid: sid } }).exec());
      logger.info('dialled agent', { conference, agentId, legCallSid: sid });
      return { ok: true };
    } catch (err) {
      const error = describeRestError(err);
      logger.error('could not dial agent', { conference, agentId, error });
      await store(() => legs.updateOne({ _id: legId }, { $set: { status: 'dial-failed', error } }).exec());
      await store(() => calls.updateOne({ callSid: conference }, { $set: { dialError: `Could not dial ${agentId}: ${error}` } }).exec());
      return { ok: false, error };
    }
  }

  async function callView(call: CallRecord): Promise<CallView> {
    const callLegs = await store(() => legs.find({ conference: call.callSid }).sort({ createdAt: 1 }).lean<LegRecord[]>().exec());
    return {
      callSid: call.callSid,
      conferenceName: call.conferenceName,
      status: call.status,
      agentId: call.agentId,
      dialError: call.dialError,
      createdAt: call.createdAt,
      endedAt: call.endedAt,
      legs: callLegs.map((leg) => ({
        agentId: leg.agentId,
        role: leg.role,
        status: leg.status,
        requestedBy: leg.requestedBy,
        error: leg.error,
        updatedAt: leg.updatedAt,
      })),
    };
  }

  return {
    /**
     * A customer called: store the call and, after the caller's TwiML is on its way, dial the first agent.
     * A repeated webhook for the same CallSid finds the call already stored and dials nobody.
     */
    async receiveCustomerCall(input: { callSid: string; from?: string }): Promise<{ duplicate: boolean }> {
      const agent = agents.firstFor();
      try {
        await store(() => calls.create({ callSid: input.callSid, conferenceName: input.callSid, from: input.from, status: 'waiting', agentId: agent.id }));
      } catch (err) {
        if (isDuplicateKey(err)) {
          logger.warn('repeated incoming-call webhook; not dialling again', { callSid: input.callSid });
          return { duplicate: true };
        }
        throw err;
      }
      const leg = await store(() => legs.create({ conference: input.callSid, agentId: agent.id, role: 'first', status: 'dialing' }));
      logger.info('customer call waiting', { callSid: input.callSid, from: maskNumber(input.from), agentId: agent.id });
      background.run(`dial ${agent.id} for ${input.callSid}`, async () => {
        await dialLeg(input.callSid, leg._id, agent.id);
      });
      return { duplicate: false };
    },

    /**
     * An agent answered: decide how their leg joins the conference. The first agent may leave without ending it;
     * an agent brought in ends it when they leave (the customer is theirs now).
     */
    async connectAgent(input: { conferenceId: string; agentId: string; legCallSid?: string }): Promise<{ role: Role }> {
      const call = await store(() => calls.findOne({ callSid: input.conferenceId }).lean<CallRecord>().exec());
      if (!call || call.status === 'completed') throw new HttpError(404, 'This call has already ended or does not exist.');
      const leg = await store(() =>
        legs
          .findOne({ conference: input.conferenceId, agentId: input.agentId, status: { $in: LIVE_LEG_STATUSES } })
          .sort({ createdAt: -1 })
          .lean<LegRecord & { _id: unknown }>()
          .exec(),
      );
      if (!leg) throw new HttpError(404, 'This agent was not called into this conference.');
      await store(() =>
        legs.updateOne({ _id: leg._id }, { $set: { status: 'in-progress', ...(input.legCallSid ? { legCallSid: input.legCallSid } : {}) } }).exec(),
      );
      await store(() =>
        calls.updateOne({ callSid: input.conferenceId }, { $set: { status: 'in-progress', ...(leg.role === 'transfer' ? { agentId: input.agentId } : {}) } }).exec(),
      );
      logger.info('agent joining conference', { conference: input.conferenceId, agentId: input.agentId, role: leg.role });
      return { role: leg.role };
    },

    /** `fromAgentId` brings `toAgentId` (or the default colleague) into the call they are on. */
    async bringInAgent(input: { fromAgentId: string; toAgentId?: string }): Promise<{ conference: string; agentId: string }> {
      if (!agents.find(input.fromAgentId)) throw new HttpError(404, `Unknown agent: ${input.fromAgentId}`);
      const target = input.toAgentId ? agents.find(input.toAgentId) : agents.defaultTransferTarget(input.fromAgentId);
      if (!target) throw new HttpError(404, input.toAgentId ? `Unknown agent: ${input.toAgentId}` : 'There is no colleague to bring in.');
      if (target.id === input.fromAgentId) throw new HttpError(400, 'An agent cannot bring themselves into their own call.');
      const own = await store(() =>
        legs.findOne({ agentId: input.fromAgentId, status: 'in-progress' }).sort({ updatedAt: -1 }).lean<LegRecord>().exec(),
      );
      const call = own ? await store(() => calls.findOne({ callSid: own.conference, status: { $ne: 'completed' } }).lean<CallRecord>().exec()) : null;
      if (!own || !call) throw new HttpError(404, `${input.fromAgentId} has no active call.`);
      const already = await store(() =>
        legs.findOne({ conference: call.callSid, agentId: target.id, status: { $in: LIVE_LEG_STATUSES } }).lean<LegRecord>().exec(),
      );
      if (already) throw new HttpError(409, `${target.name} is already ${already.status === 'in-progress' ? 'on' : 'being dialled into'} this call.`);
      const leg = await store(() => legs.create({ conference: call.callSid, agentId: target.id, role: 'transfer', requestedBy: input.fromAgentId, status: 'dialing' }));
      const outcome = await dialLeg(call.callSid, leg._id, target.id);
      if (!outcome.ok) throw new HttpError(502, `Twilio could not dial ${target.name}: ${outcome.error}`);
      return { conference: call.callSid, agentId: target.id };
    },

    /** Twilio reports progress of an agent's call (ringing, answered, no-answer, completed...). */
    async recordAgentCallStatus(input: { conferenceId: string; agentId: string; legCallSid: string; callStatus: string }): Promise<void> {
      const status = CALL_STATUS_TO_LEG[input.callStatus];
      if (!status) throw new HttpError(400, `Unknown CallStatus: ${input.callStatus}`);
      const leg =
        (await store(() => legs.findOne({ legCallSid: input.legCallSid }).lean<LegRecord & { _id: unknown }>().exec())) ??
        (await store(() =>
          legs
            .findOne({ conference: input.conferenceId, agentId: input.agentId, status: { $in: PENDING_LEG_STATUSES } })
            .sort({ createdAt: -1 })
            .lean<LegRecord & { _id: unknown }>()
            .exec(),
        ));
      if (!leg) throw new HttpError(404, 'No such agent leg.');
      if (isFinal(leg.status) || (status === 'dialing' && leg.status !== 'dialing') || (status === 'ringing' && leg.status === 'in-progress')) {
        return; // Callbacks may arrive out of order; a leg never moves backwards.
      }
      await store(() => legs.updateOne({ _id: leg._id }, { $set: { status, legCallSid: input.legCallSid } }).exec());
      if (status === 'no-answer' || status === 'busy' || status === 'failed') {
        const message = `${input.agentId} did not answer (${input.callStatus}).`;
        await store(() => calls.updateOne({ callSid: leg.conference }, { $set: { dialError: message } }).exec());
      }
      logger.info('agent call status', { conference: leg.conference, agentId: leg.agentId, status });
    },

    /** Twilio reports a conference event: start, end, a participant joining or leaving. */
    async recordConferenceEvent(input: { conferenceName: string; conferenceSid?: string; event: string; callSid?: string }): Promise<void> {
      const call = await store(() => calls.findOne({ conferenceName: input.conferenceName }).lean<CallRecord>().exec());
      if (!call) throw new HttpError(404, 'Unknown conference.');
      switch (input.event) {
        case 'conference-start':
          await store(() =>
            calls.updateOne({ callSid: call.callSid, status: { $ne: 'completed' } }, { $set: { status: 'in-progress', conferenceSid: input.conferenceSid } }).exec(),
          );
          break;
        case 'participant-leave':
          if (input.callSid && input.callSid !== call.callSid) {
            await store(() => legs.updateOne({ legCallSid: input.callSid, status: { $in: LIVE_LEG_STATUSES } }, { $set: { status: 'completed' } }).exec());
          }
          break;
        case 'conference-end': {
          await store(() => calls.updateOne({ callSid: call.callSid }, { $set: { status: 'completed', endedAt: new Date() } }).exec());
          // Anyone still being rung for this call would answer into nothing: stop their phones.
          const pending = await store(() => legs.find({ conference: call.callSid, status: { $in: LIVE_LEG_STATUSES } }).lean<LegRecord[]>().exec());
          for (const leg of pending) {
            if (leg.legCallSid && leg.status !== 'in-progress') {
              const legCallSid = leg.legCallSid;
              background.run(`cancel ${leg.agentId}'s ringing call`, () => rest.hangUp(legCallSid));
            }
          }
          await store(() =>
            legs.updateMany({ conference: call.callSid, status: { $in: LIVE_LEG_STATUSES } }, { $set: { status: 'completed' } }).exec(),
          );
          logger.info('conference ended', { conference: call.callSid });
          break;
        }
        default:
          break;
      }
    },

    /** The call an agent is on or being rung for, with every leg, or null. */
    async activeCallFor(agentId: string): Promise<CallView | null> {
      if (!agents.find(agentId)) throw new HttpError(404, `Unknown agent: ${agentId}`);
      const recent = await store(() =>
        legs.find({ agentId, status: { $in: LIVE_LEG_STATUSES } }).sort({ updatedAt: -1 }).limit(10).lean<LegRecord[]>().exec(),
      );
      // The call the agent is talking on comes before calls still ringing for them.
      recent.sort((a, b) => Number(b.status === 'in-progress') - Number(a.status === 'in-progress'));
      for (const leg of recent) {
        const call = await store(() => calls.findOne({ callSid: leg.conference, status: { $ne: 'completed' } }).lean<CallRecord>().exec());
        if (call) return callView(call);
      }
      return null;
    },

    /** One stored call with its legs, or null. */
    async findCall(callSid: string): Promise<CallView | null> {
      const call = await store(() => calls.findOne({ callSid }).lean<CallRecord>().exec());
      return call ? callView(call) : null;
    },
  };
}

export type CallService = ReturnType<typeof createCallService>;

function isFinal(status: LegStatus): boolean {
  return !LIVE_LEG_STATUSES.includes(status);
}

function isDuplicateKey(err: unknown): boolean {
  const cause = err instanceof StoreUnavailableError ? (err as { cause?: unknown }).cause : err;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return code === 11000;
}

function describeRestError(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { status?: number; code?: number; message?: string };
    if (e.code || e.status) return `${e.message ?? 'Twilio error'} (status ${e.status ?? '?'}, code ${e.code ?? '?'})`;
    if (e.message) return e.message;
  }
  return String(err);
}
