// The engine's internal state: calls, conferences, participants, devices (mutated only by the engine).
import type { ConferenceNoun, GatherVerb, RecordVerb } from './twiml';
import type { CallStatus, Hears, ParticipantView } from './types';

/** What the stand-in sends Twilio-style: a voice request (TwiML fetch) or a call/conference status callback. */
export interface ObservedWebhook {
  kind: 'voice' | 'call-status' | 'conference-status' | 'recording-status';
  url: string;
  method: string;
  params: Record<string, string>;
}

/** Something that receives SSE-style events. */
export type EventSink = (event: string, data: Record<string, unknown>) => void;

/** Wakes the sleeps of one leg (or one participant) when its state changes. */
export interface Sleeper {
  wakers: Set<() => void>;
}

/** A registered browser device. */
export interface LocalDevice {
  id: string;
  identity: string;
  send: EventSink;
  close: () => void;
}

/** One call's place in a conference. */
export interface Participant {
  callSid: string;
  conferenceSid: string;
  label?: string;
  status: ParticipantView['status'];
  hold: boolean;
  holdUrl?: string;
  holdMethod: string;
  muted: boolean;
  startConferenceOnEnter: boolean;
  endConferenceOnExit: boolean;
  waitUrl?: string;
  waitMethod: string;
  coaching: boolean;
  /** While coaching: the participant who alone hears this one. */
  callSidToCoach?: string;
  dateCreated: Date;
  dateUpdated: Date;
  sleeper: Sleeper;
  bgGen: number;
  left: Promise<void>;
  resolveLeft: () => void;
}

/** An ordered chain of callbacks: each waits for the one before it. */
export interface CallbackChain {
  chain: Promise<void>;
}

/** A conference held by the engine. */
export interface LocalConference extends CallbackChain {
  sid: string;
  friendlyName: string;
  status: 'init' | 'in-progress' | 'completed';
  dateCreated: Date;
  dateUpdated: Date;
  reasonConferenceEnded?: ConferenceEndReason;
  callSidEndingConference?: string;
  participants: Map<string, Participant>;
  pending: Map<string, Participant>;
  /** Set once, by the first participant (https://www.twilio.com/docs/voice/twiml/conference#attributes-statusCallback). */
  callbacksChosen: boolean;
  statusCallback?: string;
  statusCallbackMethod: string;
  statusCallbackEvents: Set<string>;
  sequence: number;
}

/** A call held by the engine. */
export interface LocalCall extends CallbackChain {
  sid: string;
  parentCallSid?: string;
  from: string;
  to: string;
  direction: 'inbound' | 'outbound-api';
  status: CallStatus;
  dateCreated: Date;
  dateUpdated: Date;
  startTime?: Date;
  endTime?: Date;
  url?: string;
  method: string;
  twiml?: string;
  statusCallback?: string;
  statusCallbackMethod: string;
  statusCallbackEvents: Set<string>;
  callbackSequence: number;
  timeoutSeconds: number;
  identity?: string;
  customParameters: Record<string, string>;
  ringingDevices: Set<string>;
  answeredDevice?: string;
  deviceMuted: boolean;
  /** DTMF digits the device sent (Call.sendDigits()) or the caller pressed on the phone page, in order. */
  digits?: string;
  /** The <Gather> running on this call now, with what was pressed so far. */
  gather?: ActiveGather;
  /** The <Record> running on this call now. */
  recording?: { spec: RecordVerb; ended: boolean; key?: string };
  hears: Hears;
  /** Bumped each time a Say, Play, Pause or hold media starts on this leg (the audio player restarts on it). */
  mediaSeq: number;
  gen: number;
  sleeper: Sleeper;
  ringTimer?: NodeJS.Timeout;
  conferenceSid?: string;
  joinOnAnswer?: { conferenceSid: string; noun: ConferenceNoun; label?: string };
  endReason?: string;
}

/** A finished recording: its audio as a WAV file. */
export interface LocalRecording {
  sid: string;
  callSid: string;
  duration: number;
  dateCreated: Date;
  wav: Buffer;
  hasAudio: boolean;
}

/** A <Gather> collecting keys: ended by numDigits, finishOnKey or the timeout. */
export interface ActiveGather {
  spec: GatherVerb;
  digits: string;
  ended: boolean;
}

/** Parameters of a new outbound call (REST Calls create or Participants create). */
export interface OutboundSpec {
  from: string;
  to: string;
  url?: string;
  method?: string;
  twiml?: string;
  statusCallback?: string;
  statusCallbackMethod?: string;
  statusCallbackEvents?: string[];
  timeoutSeconds?: number;
}

/**
 * Why a participant left, as Twilio reports it in ReasonParticipantLeft on participant-leave
 * (https://www.twilio.com/docs/voice/twiml/conference#attributes-status-callback-parameters lists these values);
 * which case gets which is not in Twilio's docs (README, unverified behaviours).
 */
export type LeaveReason =
  | 'participant_hung_up'
  | 'participant_updated_via_api'
  | 'participant_add_failed'
  | 'conference_ended_via_api'
  | 'moderator_ended_conference';

/**
 * Why a conference ended: ReasonConferenceEnded on conference-end and reason_conference_ended on the resource
 * (https://www.twilio.com/docs/voice/api/conference-resource#conference-properties).
 */
export type ConferenceEndReason =
  | 'conference-ended-via-api'
  | 'participant-with-end-conference-on-exit-left'
  | 'participant-with-end-conference-on-exit-kicked'
  | 'last-participant-kicked'
  | 'last-participant-left';
