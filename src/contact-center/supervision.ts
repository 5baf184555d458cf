// Supervisors on a call, and agents asking for help: a supervisor's leg (listen, coach or barge) is a participant the
// server owns and labels `supervisor:<id>`, kept apart from the agents' participants so that no rule about agents
// (who owns the call, the last agent leaving, the history's talk time) ever counts it. Pure: the call in, a patch and a
// decision out; src/services/supervision.ts runs them through the store and asks Twilio.
import { isOver, newestLeg, type CallPatch, type CallRecord, type ConferenceEvent } from './call';
import type { Step } from './call-life';
import { CallGoneError, InvalidRequestError, NoCallError, NotReadyError, SupervisionRefusedError } from './errors';
import { agentLabel } from './participants';

/**
 * listen: muted, heard by nobody; coach: heard by the coached agent only (Twilio's Coaching with CallSidToCoach);
 * barge: in the conversation, heard by everyone.
 * https://www.twilio.com/docs/voice/api/conference-participant-resource#create-a-participant-resource
 */
export const SUPERVISOR_MODES = ['listen', 'coach', 'barge'] as const;
export type SupervisorMode = (typeof SUPERVISOR_MODES)[number];

export const SUPERVISOR_LEG_STATUSES = ['dialing', 'ringing', 'in-progress', 'completed', 'failed'] as const;
export type SupervisorLegStatus = (typeof SUPERVISOR_LEG_STATUSES)[number];
const LIVE: readonly SupervisorLegStatus[] = ['dialing', 'ringing', 'in-progress'];

/** One supervisor's leg on the call: dialled once; a supervisor who joins again gets a new leg. */
export interface SupervisorLeg {
  supervisorId: string;
  mode: SupervisorMode;
  /** While coaching: the agent they coach. */
  coaching?: string;
  status: SupervisorLegStatus;
  /** The supervisor's own call (Twilio answers it to the Participants create). */
  legCallSid?: string;
  /** Something the supervisor must be told (the coached agent left, so they listen now). */
  notice?: string;
  createdAt: Date;
  updatedAt: Date;
}

/** An agent on the call asked for help; cleared when a supervisor joins or the agent lowers it. */
export interface HelpRequest {
  agentId: string;
  note?: string;
  at: Date;
}

/** The conference label of a supervisor's leg: `supervisor:<id>` (unique among the conference's active participants). */
export function supervisorLabel(supervisorId: string): string {
  return `supervisor:${supervisorId}`;
}

/** The supervisor id in a `supervisor:<id>` label, or undefined. */
export function supervisorOfLabel(label: string | undefined): string | undefined {
  return label?.startsWith('supervisor:') ? label.slice('supervisor:'.length) || undefined : undefined;
}

/** What a supervisor's mode asks of Twilio's participant: Muted, Coaching and CallSidToCoach. */
export interface ParticipantSettings {
  muted: boolean;
  coaching: boolean;
  callSidToCoach?: string;
}

/** A supervisor's leg on a call, as the service acts on it. */
export interface SupervisorRef {
  supervisorId: string;
  legCallSid?: string;
}

/** The participant settings of `mode` (`coachLeg`: the coached agent's CallSid, for coach). */
export function settingsOf(mode: SupervisorMode, coachLeg?: string): ParticipantSettings {
  if (mode === 'listen') return { muted: true, coaching: false };
  if (mode === 'coach') return { muted: false, coaching: true, callSidToCoach: coachLeg };
  return { muted: false, coaching: false };
}

/** The position of `supervisorId`'s live leg on the call, or -1. */
export function liveSupervisorLeg(call: Pick<CallRecord, 'supervisors'>, supervisorId: string): number {
  const legs = call.supervisors ?? [];
  for (let i = legs.length - 1; i >= 0; i -= 1) if (legs[i]!.supervisorId === supervisorId && LIVE.includes(legs[i]!.status)) return i;
  return -1;
}

/** The supervisors on the call now (ringing or in it). */
export function liveSupervisors(call: Pick<CallRecord, 'supervisors'>): SupervisorLeg[] {
  return (call.supervisors ?? []).filter((leg) => LIVE.includes(leg.status));
}

function leg(index: number, set: Partial<Omit<SupervisorLeg, 'updatedAt'>>): CallPatch {
  return { supervisors: [{ index, set }] };
}

function event(kind: ConferenceEvent['kind'], supervisorId: string, now: Date, fields: Partial<ConferenceEvent> = {}): ConferenceEvent {
  return { at: now, kind, label: supervisorLabel(supervisorId), ...fields };
}

/** The agent a coach whispers to: the call's owner, talking on it now; its leg's CallSid. */
function coachTarget(call: CallRecord, agentId?: string): { agentId: string; legCallSid: string } {
  const target = agentId ?? call.agentId;
  const i = target ? newestLeg(call, target, (l) => l.status === 'in-progress' && Boolean(l.legCallSid)) : -1;
  if (!target || i < 0) throw new SupervisionRefusedError(agentId ? `${agentId} is not talking on this call: there is nobody to coach.` : 'No agent is talking on this call: there is nobody to coach.');
  return { agentId: target, legCallSid: call.participants[i]!.legCallSid! };
}

/** A call a supervisor may join now: in progress, not ended, its conference started. */
function requireSupervisable(call: CallRecord | undefined): asserts call is CallRecord {
  if (!call || isOver(call)) throw new CallGoneError('This call has ended.');
  if (call.status !== 'in-progress') throw new SupervisionRefusedError('Only a call in progress can be supervised: this one is waiting for an agent.');
  if (!call.conferenceSid) throw new NotReadyError('The call has not started yet: try again in a moment.');
}

/** What a join or a switch decided, for the service to carry out. */
export interface SupervisorStep {
  /** 'dial': a new leg to ring; 'update': the live leg's participant changes; 'none': already so (or still ringing). */
  action: 'dial' | 'update' | 'none';
  index: number;
  mode: SupervisorMode;
  settings: ParticipantSettings;
  conferenceSid: string;
  /** The coached agent, for coach. */
  coaching?: string;
  legCallSid?: string;
}

/**
 * A supervisor (or admin) asks to listen, coach or barge. With no live leg, a new one is dialled in that mode (and a
 * raised hand on the call is lowered: help is on the way); with a live one, it switches. The same request repeated
 * (30 at once) finds the leg the first one added and dials nothing again. Coaching needs an agent talking on the call.
 */
export function supervisorRequested(call: CallRecord, input: { supervisorId: string; mode: SupervisorMode; agentId?: string; now: Date }): Step<SupervisorStep> {
  requireSupervisable(call);
  if (input.agentId && input.mode !== 'coach') throw new InvalidRequestError('Only coaching names an agent.');
  const target = input.mode === 'coach' ? coachTarget(call, input.agentId) : undefined;
  const settings = settingsOf(input.mode, target?.legCallSid);
  const conferenceSid = call.conferenceSid!;
  const i = liveSupervisorLeg(call, input.supervisorId);
  if (i < 0) {
    const index = (call.supervisors ?? []).length;
    return {
      patch: {
        addSupervisor: { supervisorId: input.supervisorId, mode: input.mode, ...(target ? { coaching: target.agentId } : {}), status: 'dialing', createdAt: input.now, updatedAt: input.now },
        addEvent: event('supervisor-joined', input.supervisorId, input.now, { mode: input.mode, ...(target ? { coached: target.agentId } : {}) }),
        ...(call.help ? { clear: ['help'] as const } : {}),
      },
      result: { action: 'dial', index, mode: input.mode, settings, conferenceSid, coaching: target?.agentId },
    };
  }
  const current = call.supervisors![i]!;
  if (current.mode === input.mode && current.coaching === target?.agentId) return { result: { action: 'none', index: i, mode: input.mode, settings, conferenceSid, coaching: target?.agentId, legCallSid: current.legCallSid } };
  if (current.status !== 'in-progress') throw new SupervisionRefusedError('Your phone is still ringing for this call: answer it first, then switch.');
  return {
    patch: {
      supervisors: [{ index: i, set: { mode: input.mode, ...(target ? { coaching: target.agentId } : {}) } }],
      // A switch answers the notice (the supervisor chose again); only coaching keeps a coached agent.
      unsetSupervisorFields: [{ index: i, keys: target ? ['notice'] : ['coaching', 'notice'] }],
      addEvent: event('supervisor-mode', input.supervisorId, input.now, { mode: input.mode, ...(target ? { coached: target.agentId } : {}) }),
    },
    result: { action: 'update', index: i, mode: input.mode, settings, conferenceSid, coaching: target?.agentId, legCallSid: current.legCallSid },
  };
}

/** Twilio answered the Participants create: the leg's CallSid is kept at once (a Leave can end it while it rings). */
export function supervisorDialled(call: CallRecord, input: { index: number; legCallSid: string }): Step<'kept' | 'stop'> {
  const current = call.supervisors?.[input.index];
  if (!current) return { result: 'stop' };
  return { patch: leg(input.index, { legCallSid: input.legCallSid }), result: LIVE.includes(current.status) && !isOver(call) ? 'kept' : 'stop' };
}

/** Twilio would not add the supervisor's leg: it failed, and the history says why. */
export function supervisorDialFailed(call: CallRecord, input: { index: number; error: string; now: Date }): Step<void> {
  const current = call.supervisors?.[input.index];
  if (!current) return { result: undefined };
  return { patch: { ...leg(input.index, { status: 'failed', notice: `Could not ring your phone: ${input.error}` }), addEvent: event('supervisor-left', current.supervisorId, input.now, { reason: 'could not be dialled' }) }, result: undefined };
}

/** The supervisor presses Leave: their leg ends (through Twilio); the call itself is untouched. */
export function supervisorLeaveRequested(call: CallRecord | undefined, input: { supervisorId: string; now: Date }): Step<{ legCallSid?: string }> {
  if (!call || isOver(call)) throw new CallGoneError('This call has ended.');
  const i = liveSupervisorLeg(call, input.supervisorId);
  if (i < 0) throw new NoCallError('You are not on this call.');
  return { patch: { ...leg(i, { status: 'completed' }), addEvent: event('supervisor-left', input.supervisorId, input.now, { reason: 'pressed Leave' }) }, result: { legCallSid: call.supervisors![i]!.legCallSid } };
}

const CALL_STATUS_TO_SUPERVISOR: Readonly<Record<string, SupervisorLegStatus>> = {
  queued: 'dialing',
  initiated: 'dialing',
  ringing: 'ringing',
  'in-progress': 'in-progress',
  answered: 'in-progress',
  completed: 'completed',
  busy: 'failed',
  'no-answer': 'failed',
  failed: 'failed',
  canceled: 'failed',
};
const ORDER: Record<SupervisorLegStatus, number> = { dialing: 0, ringing: 1, 'in-progress': 2, completed: 3, failed: 3 };

/** The supervisor leg status a Twilio CallStatus means, or undefined for one Twilio does not send. */
export function supervisorStatusOf(callStatus: string): SupervisorLegStatus | undefined {
  return CALL_STATUS_TO_SUPERVISOR[callStatus];
}

/**
 * Twilio reports the supervisor's own call (its status callback) or their participant leaving the conference. A leg
 * only moves forward; its end is written once in the history (a Leave pressed already wrote it). `answered`: the leg
 * just joined, and a switch asked while it rang may need applying.
 */
export function supervisorLegReported(call: CallRecord, input: { supervisorId: string; legCallSid?: string; status: SupervisorLegStatus; reason?: string; now: Date }): Step<{ answered: boolean; ended: boolean }> {
  const legs = call.supervisors ?? [];
  let i = legs.findIndex((l) => l.supervisorId === input.supervisorId && input.legCallSid !== undefined && l.legCallSid === input.legCallSid);
  if (i < 0 && !input.legCallSid) i = liveSupervisorLeg(call, input.supervisorId);
  if (i < 0) return { result: { answered: false, ended: false } };
  const current = legs[i]!;
  if (ORDER[input.status] <= ORDER[current.status] || ORDER[current.status] >= 3) return { result: { answered: false, ended: false } };
  const ended = ORDER[input.status] >= 3;
  return {
    patch: { ...leg(i, { status: input.status }), ...(ended ? { addEvent: event('supervisor-left', input.supervisorId, input.now, input.reason ? { reason: input.reason } : {}) } : {}) },
    result: { answered: input.status === 'in-progress', ended },
  };
}

/**
 * An agent left the call (a completed transfer, a hang-up, a dropped softphone). Twilio lets a coach whisper only to a
 * participant in the conference (error 16028), so each supervisor coaching them is switched to listening and told;
 * a hand the agent raised is lowered (nobody is there to help).
 */
export function coachedAgentLeft(call: CallRecord, input: { agentId: string; now: Date }): Step<{ switched: SupervisorRef[]; ended: SupervisorRef[] }> {
  if (call.status === 'waiting' && !isOver(call)) {
    const off = supervisorsOffTheLine(call, input);
    return { ...off, result: { switched: [], ended: off.result } };
  }
  const legs = call.supervisors ?? [];
  const switched: SupervisorRef[] = [];
  const sets: Array<{ index: number; set: Partial<Omit<SupervisorLeg, 'updatedAt'>> }> = [];
  const events: ConferenceEvent[] = [];
  legs.forEach((l, index) => {
    if (!LIVE.includes(l.status) || l.mode !== 'coach' || l.coaching !== input.agentId) return;
    sets.push({ index, set: { mode: 'listen', notice: `${input.agentId} left the call: you are listening now.` } });
    switched.push({ supervisorId: l.supervisorId, legCallSid: l.legCallSid });
    events.push(event('supervisor-mode', l.supervisorId, input.now, { mode: 'listen', reason: `the coached agent ${input.agentId} left` }));
  });
  const lowered = call.help?.agentId === input.agentId && !isOver(call);
  if (lowered) events.push({ at: input.now, kind: 'help-lowered', label: agentLabel(input.agentId), reason: 'they left the call' });
  if (events.length === 0) return { result: { switched: [], ended: [] } };
  return {
    patch: {
      ...(sets.length ? { supervisors: sets, unsetSupervisorFields: sets.map(({ index }) => ({ index, keys: ['coaching'] as const })) } : {}),
      ...(lowered ? { clear: ['help'] as const } : {}),
      addEvents: events,
    },
    result: { switched, ended: [] },
  };
}

/**
 * The last agent left and the customer is back in the line: there is no call to supervise until someone answers, and
 * the next agent must not find a supervisor on their call who never chose to join it. Every supervisor still on the
 * call leaves it (the service ends their legs) and is told why; a raised hand is lowered.
 */
function supervisorsOffTheLine(call: CallRecord, input: { agentId: string; now: Date }): Step<SupervisorRef[]> {
  const reason = 'the call went back to the line';
  const ended: SupervisorRef[] = [];
  const sets: Array<{ index: number; set: Partial<Omit<SupervisorLeg, 'updatedAt'>> }> = [];
  const events: ConferenceEvent[] = [];
  (call.supervisors ?? []).forEach((l, index) => {
    if (!LIVE.includes(l.status)) return;
    sets.push({ index, set: { status: 'completed', notice: `${input.agentId} left and the caller went back to the line: you left the call.` } });
    ended.push({ supervisorId: l.supervisorId, ...(l.legCallSid ? { legCallSid: l.legCallSid } : {}) });
    events.push(event('supervisor-left', l.supervisorId, input.now, { reason }));
  });
  if (call.help) events.push({ at: input.now, kind: 'help-lowered', label: agentLabel(call.help.agentId), reason });
  if (events.length === 0) return { result: [] };
  return { patch: { ...(sets.length ? { supervisors: sets } : {}), ...(call.help ? { clear: ['help'] as const } : {}), addEvents: events }, result: ended };
}

/** An agent talking on the call presses "Ask for help" (again: the note changes). */
export function helpRaised(call: CallRecord | undefined, input: { agentId: string; note?: string; now: Date }): Step<void> {
  if (!call || isOver(call) || newestLeg(call, input.agentId, (l) => l.status === 'in-progress') < 0) throw new NoCallError('You have no call to ask for help with.');
  // One hand per call: a colleague's raised hand is theirs to lower, never silently replaced (their note with it).
  if (call.help && call.help.agentId !== input.agentId) throw new SupervisionRefusedError(`${call.help.agentId} has already asked for help on this call: the supervisors see it.`);
  const note = input.note?.trim();
  return { patch: { set: { help: { agentId: input.agentId, ...(note ? { note } : {}), at: input.now } }, addEvent: { at: input.now, kind: 'help-raised', label: agentLabel(input.agentId), ...(note ? { reason: note } : {}) } }, result: undefined };
}

/** The agent lowers their hand. False when it was not raised (nothing changes). */
export function helpLowered(call: CallRecord | undefined, input: { agentId: string; now: Date }): Step<boolean> {
  if (!call || isOver(call)) throw new NoCallError('You have no call.');
  if (!call.help) return { result: false };
  if (call.help.agentId !== input.agentId) throw new SupervisionRefusedError('Only the agent who asked for help can lower the hand.');
  return { patch: { clear: ['help'], addEvent: { at: input.now, kind: 'help-lowered', label: agentLabel(input.agentId) } }, result: true };
}

/** What the agent's page may do about help now. */
export function helpActionsFor(call: { status: CallRecord['status']; endReason?: string; help?: HelpRequest; participants: ReadonlyArray<{ agentId: string; status: string }> } | undefined, agentId: string): { askHelp: boolean; lowerHelp: boolean } {
  const talking = Boolean(call && !isOver(call) && call.participants.some((l) => l.agentId === agentId && l.status === 'in-progress'));
  return { askHelp: talking && !call?.help, lowerHelp: talking && call?.help?.agentId === agentId };
}
