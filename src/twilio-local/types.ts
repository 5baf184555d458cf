// Shared state types of the local Twilio stand-in.

/** Twilio call statuses (https://www.twilio.com/docs/voice/api/call-resource#call-status-values). */
export type CallStatus = 'queued' | 'ringing' | 'in-progress' | 'canceled' | 'completed' | 'failed' | 'busy' | 'no-answer';

/** What one call leg hears right now. */
export interface Hears {
  what: 'say' | 'play' | 'silence' | 'conference';
  text?: string;
  url?: string;
  loop?: number;
  /** True while this leg is on hold in its conference: it hears the hold media and nobody hears it. */
  held?: boolean;
  /** True while a <Record> records this leg (it hears silence). */
  recording?: boolean;
  /** `held`: how many of the participants are on hold (they neither hear nor are heard by the others). */
  conference?: { name: string; started: boolean; participants: number; held: number; muted?: number };
}

/** A read-only view of one call. */
export interface CallView {
  sid: string;
  from: string;
  to: string;
  direction: 'inbound' | 'outbound-api';
  status: CallStatus;
  identity?: string;
  conferenceSid?: string;
  hears: Hears;
  endReason?: string;
  /** The device muted its microphone (Call.mute()): nobody in the conference hears this leg. */
  deviceMuted?: boolean;
  /** DTMF digits the device sent on this call (Call.sendDigits()), in order. */
  digits?: string;
}

/** A read-only view of one conference participant. */
export interface ParticipantView {
  callSid: string;
  label?: string;
  status: 'queued' | 'connecting' | 'ringing' | 'connected' | 'complete' | 'failed';
  hold: boolean;
  muted: boolean;
  /** Coaching: heard only by the participant of `callSidToCoach`. */
  coaching: boolean;
  callSidToCoach?: string;
  startConferenceOnEnter: boolean;
  endConferenceOnExit: boolean;
}

/** A read-only view of one conference. */
export interface ConferenceView {
  sid: string;
  friendlyName: string;
  status: 'init' | 'in-progress' | 'completed';
  reasonConferenceEnded?: string;
  callSidEndingConference?: string;
  participants: ParticipantView[];
}

/** A recording made by <Record>. */
export interface RecordingView {
  sid: string;
  callSid: string;
  /** Seconds (simulated time). */
  duration: number;
  /** Whether it holds the page's audio (false: silence, the leg had no audio). */
  hasAudio: boolean;
}

/** A read-only snapshot of the whole stand-in, for tests. */
export interface LocalState {
  calls: CallView[];
  conferences: ConferenceView[];
  devices: Array<{ id: string; identity: string }>;
  registeredIdentities: string[];
  recordings: RecordingView[];
}

/** Terminal call statuses. */
export const TERMINAL: ReadonlySet<CallStatus> = new Set(['canceled', 'completed', 'failed', 'busy', 'no-answer']);
