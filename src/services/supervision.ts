// Supervisors listening, coaching and barging, and agents asking for help, as orchestration: each operation lets a
// transition of src/contact-center/supervision.ts decide, stores its patch through the call store (compare-and-set,
// under the call's lease), then asks Twilio's Participants API and tells the pages. The supervisor's leg never ends the
// conference (EndConferenceOnExit=false) and never starts it: whatever happens to it, the customer's call goes on.
import type { BackgroundTasks } from '../background';
import { callOf, type CallRecord } from '../contact-center/call';
import { AgentUnavailableError, NoCallError, VoiceFailedError } from '../contact-center/errors';
import { SUPERVISOR_LEG_ENDED } from '../contact-center/history';
import {
  coachedAgentLeft,
  helpLowered,
  helpRaised,
  liveSupervisorLeg,
  settingsOf,
  supervisorDialFailed,
  supervisorDialled,
  supervisorLabel,
  supervisorLeaveRequested,
  supervisorLegReported,
  supervisorRequested,
  supervisorStatusOf,
  type SupervisorMode,
} from '../contact-center/supervision';
import type { Logger } from '../logger';
import type { CallStore } from '../models/call-store';
import { describeRestError, type Voice } from '../twilio/voice';
import type { ChangeHub } from './changes';
import type { WebhookUrls } from './webhook-urls';

/** The Voice SDK identity of a supervisor's board softphone: apart from their agent page's, so neither rings the other. */
export function supervisorIdentity(supervisorId: string): string {
  return `supervisor_${supervisorId}`;
}

export interface SupervisionDeps {
  store: CallStore;
  voice: Voice;
  background: BackgroundTasks;
  changes: ChangeHub;
  logger: Logger;
  urls: WebhookUrls;
  /** Caller ID of the supervisor's leg (the support number). */
  twilioNumber: string;
  /** Seconds the supervisor's softphone rings. */
  ringSeconds: number;
}

export function createSupervision(deps: SupervisionDeps) {
  const { store, voice, background, changes, logger, urls } = deps;

  /**
   * A supervisor listens, coaches or barges on `callSid`: the first request dials their softphone into the conference
   * as a participant labelled `supervisor:<id>` (muted for listen; Coaching with the agent's CallSid for coach); later
   * ones switch the live leg. The same request repeated at once dials once.
   */
  async function supervise(input: { supervisorId: string; callSid: string; mode: SupervisorMode; agentId?: string }): Promise<{ mode: SupervisorMode; status: string }> {
    const elsewhere = (await store.live()).find((call) => call._id !== input.callSid && liveSupervisorLeg(call, input.supervisorId) >= 0);
    if (elsewhere) throw new AgentUnavailableError('You are supervising another call: leave it first.');
    const step = await store.change(input.callSid, (call) => {
      if (call.participants.some((leg) => leg.agentId === input.supervisorId && leg.status === 'in-progress')) throw new AgentUnavailableError('You are on this call as an agent.');
      return supervisorRequested(call, { ...input, now: new Date() });
    });
    const label = supervisorLabel(input.supervisorId);
    if (step.action === 'dial') {
      let legCallSid: string;
      try {
        ({ callSid: legCallSid } = await voice.addParticipant(step.conferenceSid, {
          to: `client:${supervisorIdentity(input.supervisorId)}`,
          from: deps.twilioNumber,
          label,
          ...step.settings,
          // The supervisor neither starts nor ends the conference: the customer's call is never theirs to end.
          startConferenceOnEnter: false,
          endConferenceOnExit: false,
          statusCallback: urls.supervisorStatus(input.callSid, input.supervisorId),
          statusCallbackEvents: ['initiated', 'ringing', 'answered', 'completed'],
          timeoutSeconds: deps.ringSeconds,
        }));
      } catch (err) {
        const error = describeRestError(err);
        logger.warn('could not add the supervisor to the conference', { callSid: input.callSid, supervisorId: input.supervisorId, error });
        await store.changeIfLive(input.callSid, (call) => supervisorDialFailed(call, { index: step.index, error, now: new Date() }));
        changes.publish('calls');
        throw new VoiceFailedError(`Twilio could not ring your softphone into the call: ${error}`);
      }
      const kept = await store.changeIfLive(input.callSid, (call) => supervisorDialled(call, { index: step.index, legCallSid }));
      // The call ended (or the supervisor pressed Leave) before Twilio answered: the ring stops.
      if (kept !== 'kept') background.run(`stop supervisor leg ${legCallSid}`, () => voice.hangUp(legCallSid));
      logger.info('supervisor joining', { callSid: input.callSid, supervisorId: input.supervisorId, mode: input.mode });
    } else if (step.action === 'update') {
      try {
        const present = await voice.updateParticipant(step.conferenceSid, label, step.settings);
        if (!present) logger.warn('the supervisor\'s participant was gone when switching', { callSid: input.callSid, supervisorId: input.supervisorId });
      } catch (err) {
        throw new VoiceFailedError(`Twilio did not switch you to ${input.mode}: ${describeRestError(err)}`);
      }
      logger.info('supervisor switched', { callSid: input.callSid, supervisorId: input.supervisorId, mode: input.mode });
    }
    changes.publish('calls');
    return { mode: input.mode, status: step.action === 'dial' ? 'dialing' : 'ok' };
  }

  /** The supervisor presses Leave: their leg ends; the call goes on untouched. */
  async function leave(input: { supervisorId: string; callSid: string }): Promise<void> {
    const { legCallSid } = await store.change(input.callSid, (call) => supervisorLeaveRequested(call, { supervisorId: input.supervisorId, now: new Date() }));
    if (legCallSid) {
      try {
        await voice.hangUp(legCallSid);
      } catch (err) {
        throw new VoiceFailedError(`Twilio could not end your leg: ${describeRestError(err)}`);
      }
    }
    logger.info('supervisor left', { callSid: input.callSid, supervisorId: input.supervisorId });
    changes.publish('calls');
  }

  /** Twilio's status callback of a supervisor's own call (ringing, answered, completed, no-answer…). */
  async function legStatus(input: { callSid: string; supervisorId: string; legCallSid: string; callStatus: string }): Promise<void> {
    const status = supervisorStatusOf(input.callStatus);
    if (!status) return;
    const reason = status === 'failed' ? `their softphone did not answer (${input.callStatus})` : status === 'completed' ? SUPERVISOR_LEG_ENDED : undefined;
    const outcome = await store.changeIfLive(input.callSid, (call) => supervisorLegReported(call, { supervisorId: input.supervisorId, legCallSid: input.legCallSid, status, ...(reason ? { reason } : {}), now: new Date() }));
    if (outcome?.answered || outcome?.ended) changes.publish('calls');
  }

  /** The conference reports a supervisor's participant leaving (their tab closed, Leave, Twilio removing them). */
  async function participantLeft(input: { callSid: string; supervisorId: string; legCallSid?: string; reason?: string; callStatus?: string }): Promise<void> {
    // A leg that never answered is reported here too, with its call's status (no-answer, busy, failed): it did not join.
    const failed = input.callStatus !== undefined && supervisorStatusOf(input.callStatus) === 'failed';
    const reason = failed ? `their softphone did not answer (${input.callStatus})` : (input.reason ?? 'left the conference');
    const outcome = await store.changeIfLive(input.callSid, (call) => supervisorLegReported(call, { supervisorId: input.supervisorId, legCallSid: input.legCallSid, status: failed ? 'failed' : 'completed', reason, now: new Date() }));
    if (outcome?.ended) changes.publish('calls');
  }

  /** An agent left the call: a supervisor coaching them listens from now on (Twilio coaches only a present participant). */
  function agentLeft(callSid: string, agentId: string): void {
    background.run(`coaches of ${agentId} on ${callSid}`, async () => {
      let conferenceSid: string | undefined;
      const outcome = await store.changeIfLive(callSid, (call: CallRecord) => {
        conferenceSid = call.conferenceSid;
        return coachedAgentLeft(call, { agentId, now: new Date() });
      });
      if (!outcome) return;
      changes.publish('calls');
      // The caller went back to the line: the supervisors' legs end (the next agent's call starts unsupervised).
      for (const s of outcome.ended) {
        logger.info('the agent left and the caller went back to the line: the supervisor leaves', { callSid, supervisorId: s.supervisorId, agentId });
        if (s.legCallSid) background.run(`supervisor ${s.supervisorId} off ${callSid}`, () => voice.hangUp(s.legCallSid!));
      }
      if (!conferenceSid) return;
      for (const s of outcome.switched) {
        logger.info('the coached agent left: the supervisor listens now', { callSid, supervisorId: s.supervisorId, agentId });
        await voice.updateParticipant(conferenceSid, supervisorLabel(s.supervisorId), settingsOf('listen'));
      }
    });
  }

  /** The agent asks for help on their call (an optional line of text for the supervisors). */
  async function raiseHand(input: { agentId: string; note?: string }): Promise<{ callSid: string }> {
    const call = callOf(await store.live(), input.agentId);
    if (!call) throw new NoCallError('You have no call to ask for help with.');
    await store.change(call._id, (c) => helpRaised(c, { ...input, now: new Date() }));
    logger.info('agent asks for help', { callSid: call._id, agentId: input.agentId });
    changes.publish('calls');
    return { callSid: call._id };
  }

  /** The agent lowers their hand. */
  async function lowerHand(input: { agentId: string }): Promise<{ lowered: boolean }> {
    const call = callOf(await store.live(), input.agentId);
    if (!call) throw new NoCallError('You have no call.');
    const lowered = await store.change(call._id, (c) => helpLowered(c, { ...input, now: new Date() }));
    if (lowered) changes.publish('calls');
    return { lowered };
  }

  return { supervise, leave, legStatus, participantLeft, agentLeft, raiseHand, lowerHand };
}

export type Supervision = ReturnType<typeof createSupervision>;
