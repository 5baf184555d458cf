// The local voice engine: calls, TwiML execution, conferences and devices. Routers call its methods; its state
// (state.ts) changes only here. Timers live in scheduler.ts, webhooks in callbacks.ts, media in media.ts.
import { newSid, maskNumber, rfc2822 } from './sid';
import { parseTwiml, type ConferenceNoun, type GatherVerb, type RecordVerb, type Verb } from './twiml';
import { wavOf } from './audio/codec';
import { TERMINAL, type CallStatus, type Hears, type LocalState, type ParticipantView } from './types';
import { Scheduler } from './scheduler';
import { Callbacks } from './callbacks';
import { MediaPlayer, type MediaPreparer } from './media';
import { takeSnapshot } from './snapshot';
import type { ActiveGather, ConferenceEndReason, EventSink, LeaveReason, LocalCall, LocalConference, LocalDevice, LocalRecording, ObservedWebhook, OutboundSpec, Participant } from './state';

/** How long a caller's call outlives the last page following it (simulated seconds, scaled by timeScale). */
const PHONE_GONE_SECONDS = 5;

export type { ConferenceEndReason, ObservedWebhook, EventSink, LeaveReason, LocalCall, LocalConference, OutboundSpec, Participant } from './state';

/** Engine settings (a subset of TwilioLocalOptions plus test knobs). */
export interface EngineOptions {
  accountSid: string;
  authToken: string;
  numbers: Record<string, { voiceUrl: string }>;
  ringTimeoutSeconds: number;
  timeScale: number;
  webhookTimeoutMs: number;
  log: (msg: string) => void;
  /** Sees every webhook before it is sent (contract tests). */
  observeWebhook?: (webhook: ObservedWebhook) => void;
  /** When set, the engine requests no URL outside it. */
  callbackBase?: string;
  /** Readies a verb's audio on legs that have audio (media.ts); without it every length is estimated. */
  prepareMedia?: MediaPreparer;
  /**
   * Demo only: a call to an E.164 number (not a client) rings this many simulated seconds and is answered, then runs
   * its Url or Twiml. Unset: such a call fails at once (there is no PSTN here).
   */
  pstnAnswerSeconds?: number;
  /** Where the REST API is reached (RecordingUrl is under it); default https://api.twilio.com. */
  restBaseUrl?: string;
  /** Keeps what a leg's page says during a <Record> (audio/index.ts); without it recordings are silence. */
  recorder?: { start(callSid: string): void; stop(callSid: string): Int16Array | undefined };
}

/** The longest recording kept as audio (longer ones are cut): demo recordings are messages, not calls. */
const MAX_RECORDING_SECONDS = 120;

// https://www.twilio.com/docs/voice/twiml/conference#attributes-waitUrl : Twilio's default hold music
const DEFAULT_MUSIC = 'https://twimlets.com/holdmusic?Bucket=com.twilio.music.classical';
const APP_ERROR_TEXT = 'We are sorry, an application error has occurred. Goodbye.';
const AUDIO_RE = /\.(mp3|wav|wave|ogg|aiff|aif|gsm|ulaw)(\?|$)/i;

/**
 * The human-readable `Reason` of a conference-end. Twilio documents the parameter, not its wording: the texts for
 * conference-ended-via-api and participant-with-end-conference-on-exit-left are as reported from real payloads
 * ("Conference ended via API", "Participant CA… with endConferenceOnExit left the conference"); the other three are
 * modelled on them (README, unverified behaviours).
 */
function conferenceEndText(reason: ConferenceEndReason, callSid: string | undefined): string {
  const who = callSid ?? 'unknown';
  switch (reason) {
    case 'conference-ended-via-api':
      return 'Conference ended via API';
    case 'participant-with-end-conference-on-exit-left':
      return `Participant ${who} with endConferenceOnExit left the conference`;
    case 'participant-with-end-conference-on-exit-kicked':
      return `Participant ${who} with endConferenceOnExit was kicked from the conference`;
    case 'last-participant-left':
      return `Last participant ${who} left the conference`;
    case 'last-participant-kicked':
      return `Last participant ${who} was kicked from the conference`;
  }
}

/** The engine. One per createTwilioLocal(). */
export class Engine {
  private readonly calls = new Map<string, LocalCall>();
  private readonly conferences = new Map<string, LocalConference>();
  private readonly devices = new Map<string, LocalDevice>();
  private readonly phoneSinks = new Map<string, Set<EventSink>>();
  private readonly recordings = new Map<string, LocalRecording>();
  private readonly scheduler: Scheduler;
  private readonly callbacks: Callbacks;
  private readonly media: MediaPlayer;

  constructor(readonly opts: EngineOptions) {
    this.scheduler = new Scheduler(opts.timeScale, opts.log);
    this.callbacks = new Callbacks(opts, this.scheduler);
    // Each verb or hold media the player starts is a new piece of audio for the leg (audio/players.ts restarts on it).
    this.media = new MediaPlayer(
      this.scheduler,
      (call, hears) => {
        call.mediaSeq++;
        this.setHears(call, hears);
      },
      opts.prepareMedia,
    );
  }

  // ---------- lifecycle ----------

  /** Ends everything without sending further webhooks; idempotent. */
  async stop(): Promise<void> {
    if (!this.scheduler.stopped) {
      this.scheduler.stop();
      for (const call of this.calls.values()) {
        if (!TERMINAL.has(call.status)) {
          call.status = call.status === 'in-progress' ? 'completed' : 'canceled';
          call.endTime = new Date();
        }
        this.scheduler.wake(call.sleeper);
      }
      for (const conf of this.conferences.values()) {
        for (const p of [...conf.participants.values(), ...conf.pending.values()]) {
          this.scheduler.wake(p.sleeper);
          p.resolveLeft();
        }
        if (conf.status !== 'completed') conf.status = 'completed';
      }
      for (const d of [...this.devices.values()]) d.close();
      this.devices.clear();
      this.phoneSinks.clear();
    }
    await this.scheduler.drain();
  }

  // ---------- reading state (for the routers) ----------

  /** A call by SID. */
  getCall(sid: string): LocalCall | undefined {
    return this.calls.get(sid);
  }

  /** All calls, newest first. */
  listCalls(): LocalCall[] {
    return [...this.calls.values()].reverse();
  }

  /** A conference by SID. */
  getConference(sid: string): LocalConference | undefined {
    return this.conferences.get(sid);
  }

  /** All conferences, newest first. */
  listConferences(): LocalConference[] {
    return [...this.conferences.values()].reverse();
  }

  /** True when `to` is one of the configured numbers the phone page may call. */
  isConfiguredNumber(to: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.opts.numbers, to);
  }

  /** Connected participants, then those still being dialled. */
  participantsOf(conf: LocalConference): Participant[] {
    return [...conf.participants.values(), ...conf.pending.values()];
  }

  /** https://www.twilio.com/docs/voice/api/conference-participant-resource : a participant is addressed by CallSid or label. */
  findParticipant(conf: LocalConference, id: string): Participant | undefined {
    return conf.participants.get(id) ?? conf.pending.get(id) ?? this.participantsOf(conf).find((p) => p.label === id);
  }

  /** Whole seconds between answer and end (0 if never answered). */
  duration(call: LocalCall): number {
    if (!call.startTime) return 0;
    const end = call.endTime ?? new Date();
    return Math.max(0, Math.round((end.getTime() - call.startTime.getTime()) / 1000));
  }

  /** A deep, read-only copy of the state. */
  snapshot(): LocalState {
    return takeSnapshot(this.calls.values(), this.conferences.values(), this.devices.values(), this.recordings.values());
  }

  /** A recording by SID (REST media). */
  getRecording(sid: string): LocalRecording | undefined {
    return this.recordings.get(sid);
  }

  // ---------- events to devices and phones ----------

  /** Registers a device of `identity`; returns its id. */
  addDevice(identity: string, send: EventSink, close: () => void): string {
    const id = newSid('DV');
    this.devices.set(id, { id, identity, send, close });
    this.opts.log(`twilio-local: device ${id.slice(0, 8)} registered as ${identity}`);
    return id;
  }

  /** Unregisters a device; a call ringing only there stops ringing on it. */
  removeDevice(id: string): void {
    const device = this.devices.get(id);
    if (!device) return;
    this.devices.delete(id);
    this.opts.log(`twilio-local: device ${id.slice(0, 8)} (${device.identity}) unregistered`);
    for (const call of this.calls.values()) {
      call.ringingDevices.delete(id);
      // The real SDK hangs up its calls when its page goes away (reload, tab closed):
      // https://www.twilio.com/docs/voice/sdks/javascript/twiliodevice#devicedestroy — "disconnects all active calls".
      if (call.answeredDevice === id && call.status === 'in-progress') this.deviceHangsUp(call);
    }
  }

  /** Subscribes to what the caller of an inbound call hears; replays the current state. */
  subscribePhone(callSid: string, sink: EventSink): () => void {
    const call = this.calls.get(callSid);
    if (!call) return () => undefined;
    let set = this.phoneSinks.get(callSid);
    if (!set) {
      set = new Set();
      this.phoneSinks.set(callSid, set);
    }
    set.add(sink);
    sink('status', { callSid, status: this.phoneStatus(call), reason: call.endReason });
    sink('hears', { callSid, ...call.hears });
    return () => {
      set.delete(sink);
      // Nobody follows the call any more (the caller's page closed): like a caller putting the phone down, the call
      // ends unless a page takes it up again soon (a reload, a dropped connection coming back).
      if (set.size === 0) {
        this.scheduler.later(this.scheduler.scaled(PHONE_GONE_SECONDS), () => {
          if (set.size === 0 && !TERMINAL.has(call.status)) this.callerHangsUp(call);
        });
      }
    };
  }

  private phoneStatus(call: LocalCall): string {
    if (call.status === 'queued') return 'ringing';
    if (call.status === 'canceled' || call.status === 'busy' || call.status === 'no-answer') return 'failed';
    return call.status;
  }

  private toPhone(call: LocalCall, event: string, data: Record<string, unknown>): void {
    for (const sink of this.phoneSinks.get(call.sid) ?? []) sink(event, { callSid: call.sid, ...data });
  }

  private toDevices(call: LocalCall, event: string, data: Record<string, unknown>, only?: Iterable<string>): void {
    const ids = only ? [...only] : call.answeredDevice ? [call.answeredDevice] : [];
    for (const id of ids) this.devices.get(id)?.send(event, { callSid: call.sid, ...data });
  }

  private setHears(call: LocalCall, hears: Hears): void {
    call.hears = hears;
    this.toPhone(call, 'hears', { ...hears });
    this.toDevices(call, 'hears', { ...hears });
  }

  // ---------- callbacks ----------

  private callEvent(call: LocalCall, event: 'initiated' | 'ringing' | 'answered' | 'completed'): void {
    this.callbacks.callEvent(call, event, this.duration(call));
  }

  private confEvent(conf: LocalConference, event: string, extra: Record<string, string>, p?: Participant): void {
    this.callbacks.confEvent(conf, event, extra, p, p ? this.calls.get(p.callSid) : undefined);
  }

  // ---------- REST-facing operations ----------

  /** REST Calls update with Status (https://www.twilio.com/docs/voice/api/call-resource#update-a-call-resource). */
  updateCallStatus(call: LocalCall, status: 'canceled' | 'completed'): void {
    // "canceled" hangs up a queued or ringing call only; "completed" hangs up any call (a ringing one ends as canceled)
    const ringing = call.status === 'queued' || call.status === 'ringing';
    if (ringing) this.endCall(call, 'canceled', { reason: 'canceled via API' });
    else if (status === 'completed' && call.status === 'in-progress') {
      this.endCall(call, 'completed', { reason: 'completed via API', leave: 'participant_updated_via_api' });
    }
  }

  /** REST Calls update with only StatusCallback. */
  setStatusCallback(call: LocalCall, url: string): void {
    call.statusCallback = url;
  }

  /** The caller of an inbound call (phone page) hangs up. */
  callerHangsUp(call: LocalCall): void {
    this.endCall(call, 'completed', { reason: 'caller hung up', leave: 'participant_hung_up' });
  }

  /** The callee's device hangs up an answered call, or declines a ringing one. */
  deviceHangsUp(call: LocalCall): string | undefined {
    if (call.status === 'ringing') return this.reject(call);
    if (call.status === 'in-progress') this.endCall(call, 'completed', { reason: 'callee hung up', byDevice: true });
    return undefined;
  }

  /** Call.mute() in the SDK: only the local microphone (the conference participant's "muted" is not changed). */
  setDeviceMuted(call: LocalCall, muted: boolean): void {
    if (call.deviceMuted === muted) return;
    call.deviceMuted = muted;
    this.opts.log(`twilio-local: call ${call.sid} ${muted ? 'muted' : 'unmuted'} by its device`);
    // Nobody hears a muted leg: the others' view of the conference says how many are muted.
    const conf = call.conferenceSid ? this.conferences.get(call.conferenceSid) : undefined;
    if (conf) this.refreshHears(conf);
  }

  /**
   * Call.sendDigits() in the SDK: DTMF tones on an answered call. The stand-in keeps them on the call, in order
   * (snapshot `digits`), as the far end would hear them. https://www.twilio.com/docs/voice/sdks/javascript/twiliocall#callsenddigitsdigits
   */
  sendDigits(call: LocalCall, digits: string): string | undefined {
    return this.pressDigits(call, digits);
  }

  /**
   * Keys pressed on an answered call (the phone page's keypad, or a device's sendDigits). They are kept on the call
   * (snapshot `digits`) and feed the <Gather> running on it, if any; with none, the far end hears tones and nothing
   * happens (a conference waitUrl cannot gather: https://www.twilio.com/docs/voice/twiml/conference#attributes-waitUrl).
   * `w` is a half-second pause and is not a key.
   */
  pressDigits(call: LocalCall, digits: string): string | undefined {
    if (call.status !== 'in-progress') return 'call is not in progress';
    call.digits = (call.digits ?? '') + digits;
    this.opts.log(`twilio-local: call ${call.sid} sent ${digits.length} digit(s)${call.gather ? ' to its <Gather>' : ''}`);
    const r = call.recording;
    // https://www.twilio.com/docs/voice/twiml/record#finishonkey : one of these keys ends the recording
    const ending = r && !r.ended ? [...digits].find((key) => r.spec.finishOnKey.includes(key)) : undefined;
    if (r && ending) {
      r.ended = true;
      r.key = ending;
      this.scheduler.wake(call.sleeper);
    }
    const g = call.gather;
    if (!g) return undefined;
    for (const key of digits) {
      if (g.ended) break;
      if (key === 'w' || key === 'W') continue;
      // https://www.twilio.com/docs/voice/twiml/gather#finishonkey : the key submits what was pressed before it (and
      // is not part of Digits); numDigits submits as soon as that many were pressed
      if (g.spec.finishOnKey !== '' && key === g.spec.finishOnKey) g.ended = true;
      else {
        g.digits += key;
        if (g.spec.numDigits !== undefined && g.digits.length >= g.spec.numDigits) g.ended = true;
      }
    }
    this.scheduler.wake(call.sleeper);
    return undefined;
  }

  /**
   * REST Participants create: dials `spec.to` and joins it to `conf` when it answers.
   * The first participant's conference callback becomes the conference's.
   */
  addParticipant(conf: LocalConference, spec: OutboundSpec, noun: ConferenceNoun, coach: { coaching?: boolean; callSidToCoach?: string } = {}): Participant {
    this.chooseCallbacks(conf, noun);
    const call = this.createOutbound(spec, { conferenceSid: conf.sid, noun, label: noun.participantLabel });
    const p = this.newParticipant(call.sid, conf, noun);
    p.status = 'queued';
    p.coaching = coach.coaching ?? false;
    if (coach.callSidToCoach) p.callSidToCoach = coach.callSidToCoach;
    conf.pending.set(call.sid, p);
    return p;
  }

  /**
   * True when `label` names an active participant of `conf` other than `callSid`
   * (https://www.twilio.com/docs/api/errors/16026 and /16025 : labels are unique among active participants).
   */
  labelInUse(conf: LocalConference, label: string, callSid?: string): boolean {
    return this.participantsOf(conf).some((p) => p.label === label && p.callSid !== callSid);
  }

  /** REST Participants delete: a ringing participant's call is cancelled, a connected one is kicked. */
  kickParticipant(conf: LocalConference, p: Participant): void {
    const call = this.calls.get(p.callSid);
    if (!call) return;
    if (conf.pending.has(p.callSid)) this.endCall(call, 'canceled', { reason: 'participant removed', leave: 'participant_updated_via_api' });
    // https://www.twilio.com/docs/voice/api/conference-participant-resource#delete-a-participant-resource : the
    // participant is kicked; its call continues with the TwiML after <Dial>
    else this.leaveConference(call, 'participant_updated_via_api', true);
  }

  // ---------- creating calls ----------

  /**
   * Starts a call from the customer phone page to one of the configured numbers. With `ready`, the call rings until
   * that resolves (the page's audio connecting), so the caller hears the greeting from its first word.
   */
  startInbound(from: string, to: string, ready?: (callSid: string) => Promise<unknown>): LocalCall {
    const number = this.opts.numbers[to];
    if (!number) throw new Error('not a configured number');
    const call = this.newCall({ from, to, direction: 'inbound', status: 'ringing', url: number.voiceUrl, method: 'POST' });
    this.opts.log(`twilio-local: call ${call.sid} inbound ${maskNumber(from)} -> ${maskNumber(to)}`);
    const gen = call.gen;
    this.scheduler.track(async () => {
      if (ready) await ready(call.sid);
      await this.execute(call, { url: number.voiceUrl, method: 'POST' }, gen);
    });
    return call;
  }

  private newCall(init: Partial<LocalCall> & Pick<LocalCall, 'from' | 'to' | 'direction' | 'status'>): LocalCall {
    const now = new Date();
    const call: LocalCall = {
      sid: newSid('CA'),
      dateCreated: now,
      dateUpdated: now,
      method: 'POST',
      statusCallbackMethod: 'POST',
      statusCallbackEvents: new Set(),
      callbackSequence: 0,
      chain: Promise.resolve(),
      timeoutSeconds: this.opts.ringTimeoutSeconds,
      customParameters: {},
      ringingDevices: new Set(),
      deviceMuted: false,
      hears: { what: 'silence' },
      mediaSeq: 0,
      gen: 0,
      sleeper: { wakers: new Set() },
      ...init,
    };
    this.calls.set(call.sid, call);
    return call;
  }

  /** Creates an outbound-api call (REST Calls create, or a conference participant). */
  createOutbound(spec: OutboundSpec, joinOnAnswer?: LocalCall['joinOnAnswer']): LocalCall {
    const call = this.newCall({
      from: spec.from,
      to: spec.to,
      direction: 'outbound-api',
      status: 'queued',
      url: spec.url,
      method: (spec.method ?? 'POST').toUpperCase(),
      twiml: spec.twiml,
      statusCallback: spec.statusCallback,
      statusCallbackMethod: (spec.statusCallbackMethod ?? 'POST').toUpperCase(),
      statusCallbackEvents: new Set((spec.statusCallbackEvents ?? []).flatMap((e) => e.split(/\s+/)).filter(Boolean)),
      timeoutSeconds: spec.timeoutSeconds ?? this.opts.ringTimeoutSeconds,
      joinOnAnswer,
    });
    this.opts.log(`twilio-local: call ${call.sid} outbound to ${maskNumber(spec.to)}`);
    // The REST answer must go out before progress events: dial on the next tick.
    this.scheduler.later(0, () => this.dial(call));
    return call;
  }

  private dial(call: LocalCall): void {
    if (call.status !== 'queued') return;
    this.callEvent(call, 'initiated');
    const m = /^client:([^?]+)(?:\?(.*))?$/.exec(call.to);
    if (!m && this.opts.pstnAnswerSeconds !== undefined && /^\+[1-9]\d{1,14}$/.test(call.to)) {
      // Demo only (README): the number's phone rings, and is answered after pstnAnswerSeconds unless the call ends first.
      call.status = 'ringing';
      call.dateUpdated = new Date();
      this.callEvent(call, 'ringing');
      this.updatePendingParticipant(call, 'ringing');
      const answerAfter = this.scheduler.scaled(this.opts.pstnAnswerSeconds);
      call.ringTimer = this.scheduler.later(Math.min(answerAfter, call.timeoutSeconds * 1000), () => {
        if (call.status !== 'ringing') return;
        if (answerAfter > call.timeoutSeconds * 1000) this.endCall(call, 'no-answer', { reason: 'ring timeout' });
        else this.answered(call);
      });
      return;
    }
    if (!m) {
      // No PSTN here: a call to a phone number fails at once, as Twilio reports an unreachable destination.
      // https://www.twilio.com/docs/voice/api/call-resource#call-status-values : failed = "could not be completed as dialed"
      this.endCall(call, 'failed', { reason: 'no PSTN in twilio-local' });
      return;
    }
    call.identity = decodeURIComponent(m[1] ?? '');
    // https://www.twilio.com/docs/voice/sdks/javascript/twiliocall#callcustomparameters : client:alice?key=value passes custom parameters
    call.customParameters = Object.fromEntries(new URLSearchParams(m[2] ?? ''));
    call.status = 'ringing';
    call.dateUpdated = new Date();
    this.callEvent(call, 'ringing');
    this.updatePendingParticipant(call, 'ringing');
    const targets = [...this.devices.values()].filter((d) => d.identity === call.identity);
    if (targets.length === 0) {
      // An unregistered client is never reached: Twilio reports initiated -> ringing -> no-answer with 0 s duration
      // (twilio/voice-quickstart-server-node#16, #19 "Status: No Answer, Duration 0 sec").
      this.endCall(call, 'no-answer', { reason: 'client not registered' });
      return;
    }
    for (const d of targets) {
      call.ringingDevices.add(d.id);
      d.send('incoming', { callSid: call.sid, from: call.from, to: call.to, customParameters: call.customParameters });
    }
    // https://www.twilio.com/docs/voice/api/call-resource#create-a-call-resource : Timeout, default 60 s, then no-answer
    call.ringTimer = this.scheduler.later(call.timeoutSeconds * 1000, () => {
      if (call.status === 'ringing') this.endCall(call, 'no-answer', { reason: 'ring timeout' });
    });
  }

  /** A device accepts a ringing call. Returns an error message or undefined. */
  accept(call: LocalCall, deviceId: string | undefined, ready?: (callSid: string) => Promise<unknown>): string | undefined {
    if (call.status !== 'ringing' || call.direction !== 'outbound-api') return 'call is not ringing';
    const device = deviceId ? this.devices.get(deviceId) : undefined;
    const chosen = device && call.ringingDevices.has(device.id) ? device.id : [...call.ringingDevices][0];
    this.scheduler.cancel(call.ringTimer);
    call.answeredDevice = chosen;
    // https://www.twilio.com/docs/api/errors/31008 : the other devices of the identity see the invite cancelled
    this.toDevices(call, 'cancel', {}, [...call.ringingDevices].filter((id) => id !== chosen));
    call.ringingDevices.clear();
    this.answered(call, ready);
    return undefined;
  }

  /**
   * An outbound call is answered (by a device, or a demo phone number): in progress, then its TwiML or conference.
   * With `ready` (the answering page's audio connecting), the TwiML waits for it.
   */
  private answered(call: LocalCall, ready?: (callSid: string) => Promise<unknown>): void {
    call.status = 'in-progress';
    call.startTime = new Date();
    call.dateUpdated = call.startTime;
    this.toDevices(call, 'accepted', {});
    this.callEvent(call, 'answered');
    this.opts.log(`twilio-local: call ${call.sid} answered by ${call.identity ?? '?'}`);
    const gen = call.gen;
    const after = (work: () => Promise<void>) => async (): Promise<void> => {
      if (ready) await ready(call.sid);
      if (call.status !== 'in-progress' || call.gen !== gen) return;
      await work();
    };
    if (call.joinOnAnswer) {
      const { conferenceSid, noun, label } = call.joinOnAnswer;
      this.scheduler.track(after(() => this.runConferenceThenHangup(call, conferenceSid, noun, label)));
    } else if (call.url) {
      // https://www.twilio.com/docs/api/errors/32019 : "Twiml and Voice URL are both set. Using Voice URL."
      this.scheduler.track(after(() => this.execute(call, { url: call.url ?? '', method: call.method }, gen)));
    } else if (call.twiml !== undefined) {
      this.scheduler.track(after(() => this.execute(call, { twiml: call.twiml ?? '' }, gen)));
    }
  }

  /** A device rejects a ringing call: Twilio ends it as busy. */
  reject(call: LocalCall): string | undefined {
    if (call.status !== 'ringing') return 'call is not ringing';
    // https://www.twilio.com/docs/voice/sdks/javascript/twiliocall#callreject rejects the call; that it ends busy is not
    // in Twilio's docs (README, unverified behaviours)
    this.endCall(call, 'busy', { reason: 'rejected' });
    return undefined;
  }

  private async runConferenceThenHangup(call: LocalCall, conferenceSid: string, noun: ConferenceNoun, label?: string): Promise<void> {
    const gen = call.gen;
    const conf = this.conferences.get(conferenceSid);
    if (!conf || conf.status === 'completed') {
      this.endCall(call, 'completed', { reason: 'conference already ended' });
      return;
    }
    await this.joinConference(call, { ...noun, name: conf.friendlyName, participantLabel: label }, gen);
    if (call.gen === gen && !TERMINAL.has(call.status)) this.endCall(call, 'completed', { reason: 'left conference' });
  }

  // ---------- ending calls ----------

  /**
   * Ends a call with a terminal status: stops its TwiML, takes it out of its conference, tells its
   * phone/device and sends the completed status callback.
   */
  private endCall(
    call: LocalCall,
    status: CallStatus,
    opts: { reason?: string; leave?: LeaveReason; byDevice?: boolean } = {},
  ): void {
    if (TERMINAL.has(call.status)) return;
    const wasRinging = call.status === 'ringing' || call.status === 'queued';
    call.gen++;
    this.scheduler.wake(call.sleeper);
    this.scheduler.cancel(call.ringTimer);
    call.status = status;
    call.endReason = opts.reason;
    call.endTime = new Date();
    call.dateUpdated = call.endTime;
    if (wasRinging && call.ringingDevices.size > 0) {
      this.toDevices(call, 'cancel', {}, call.ringingDevices);
      call.ringingDevices.clear();
    }
    if (call.conferenceSid) this.leaveConference(call, opts.leave ?? 'participant_hung_up');
    this.dropPendingParticipant(call, opts.leave === 'participant_updated_via_api' ? opts.leave : 'participant_add_failed');
    this.setHears(call, { what: 'silence' });
    if (!wasRinging && !opts.byDevice) this.toDevices(call, 'disconnect', {});
    this.toPhone(call, 'status', { status: this.phoneStatus(call), reason: opts.reason });
    this.opts.log(`twilio-local: call ${call.sid} ${status}${opts.reason ? ` (${opts.reason})` : ''}`);
    this.callEvent(call, 'completed');
  }

  // ---------- TwiML execution ----------

  private applicationError(call: LocalCall, detail: string, gen: number): Promise<void> {
    this.opts.log(`twilio-local: call ${call.sid} application error: ${detail}`);
    if (call.status === 'ringing' && call.direction === 'inbound') this.answerInbound(call);
    // https://www.twilio.com/docs/api/errors/11200 : the caller hears "an application error has occurred" and the call ends
    this.setHears(call, { what: 'say', text: APP_ERROR_TEXT });
    return this.scheduler.sleep(this.scheduler.scaled(3), call.sleeper, () => call.gen === gen).then((ok) => {
      if (ok) this.endCall(call, 'completed', { reason: 'application-error' });
    });
  }

  private answerInbound(call: LocalCall): void {
    call.status = 'in-progress';
    call.startTime = new Date();
    call.dateUpdated = call.startTime;
    this.toPhone(call, 'status', { status: 'in-progress' });
  }

  /** Runs a TwiML document (from a URL or inline) and whatever it redirects to; hangs up at its end. */
  private async execute(call: LocalCall, source: { url: string; method: string; extra?: Record<string, string> } | { twiml: string }, gen: number): Promise<void> {
    let next: typeof source | undefined = source;
    const valid = (): boolean => call.gen === gen && !TERMINAL.has(call.status);
    while (next && valid()) {
      const current: typeof source = next;
      next = undefined;
      let verbs: Verb[];
      const base = 'url' in current ? current.url : (call.url ?? 'http://localhost/');
      try {
        verbs = 'url' in current ? await this.callbacks.fetchTwiml(call, current.url, current.method, current.extra) : parseTwiml(current.twiml);
      } catch (err) {
        if (!valid()) return;
        await this.applicationError(call, (err as Error).message, gen);
        return;
      }
      if (!valid()) return;
      // https://www.twilio.com/docs/voice/twiml/reject : "If the first verb in a TwiML document is <Reject>, Twilio will
      // not pick up the call"; any other answer picks it up
      if (call.status === 'ringing' && call.direction === 'inbound' && verbs[0]?.verb !== 'Reject') this.answerInbound(call);
      for (const verb of verbs) {
        if (!valid()) return;
        const outcome = await this.runVerb(call, verb, base, gen);
        if (outcome === 'stop') return;
        if (outcome && typeof outcome === 'object') {
          next = outcome;
          break;
        }
      }
    }
    // https://www.twilio.com/docs/voice/twiml#twiml-documents : when the document ends, Twilio hangs up
    if (valid()) this.endCall(call, 'completed', { reason: 'twiml ended' });
  }

  private async runVerb(
    call: LocalCall,
    verb: Verb,
    base: string,
    gen: number,
  ): Promise<void | 'stop' | { url: string; method: string; extra?: Record<string, string> }> {
    const valid = (): boolean => call.gen === gen && !TERMINAL.has(call.status);
    switch (verb.verb) {
      case 'Say':
      case 'Play':
      case 'Pause':
        await this.media.play(call, verb, call.sleeper, valid);
        return;
      case 'Redirect':
        // https://www.twilio.com/docs/voice/twiml/redirect : relative URLs resolve against the current document URL
        return { url: new URL(verb.url, base).toString(), method: verb.method };
      case 'Hangup':
        this.endCall(call, 'completed', { reason: 'hangup verb' });
        return 'stop';
      case 'Reject':
        // https://www.twilio.com/docs/voice/twiml/reject : a call rejected unanswered "ends with a status of busy or
        // no-answer, depending on the verb's reason attribute" (which goes with which is our reading: README); a call
        // already answered by an earlier verb simply ends
        if (call.status === 'in-progress') this.endCall(call, 'completed', { reason: 'rejected after answer' });
        else this.endCall(call, verb.reason === 'busy' ? 'busy' : 'no-answer', { reason: 'rejected' });
        return 'stop';
      case 'Dial': {
        let dialStatus = 'completed';
        if (verb.conference) {
          // Relative URLs in TwiML resolve against the document's URL, as Twilio does.
          const abs = (u: string | undefined): string | undefined => (u ? new URL(u, base).toString() : undefined);
          const noun = { ...verb.conference, waitUrl: abs(verb.conference.waitUrl), statusCallback: abs(verb.conference.statusCallback) };
          const joined = await this.joinConference(call, noun, gen);
          if (!valid()) return 'stop';
          // https://www.twilio.com/docs/voice/twiml/conference#attributes-participant-label : after 16025 the call
          // "continue[s] to the next TwiML verb"; DialCallStatus=failed for the action is not in Twilio's docs (README)
          if (!joined) dialStatus = 'failed';
        } else {
          this.opts.log(`twilio-local: <Dial><${verb.other ?? '?'}> is not simulated; treating it as failed`);
          dialStatus = 'failed';
        }
        // https://www.twilio.com/docs/voice/twiml/dial#action : after Dial, Twilio requests action with DialCallStatus
        if (verb.action) return { url: new URL(verb.action, base).toString(), method: verb.method, extra: { DialCallStatus: dialStatus } };
        return;
      }
      case 'Gather':
        return this.gather(call, verb, base, valid);
      case 'Record':
        return this.record(call, verb, base, gen);
      case 'Unsupported':
        this.opts.log(`twilio-local: <${verb.name}> is not simulated; skipped`);
        return;
    }
  }

  /**
   * <Gather>: the nested Say/Play/Pause play until the first key; then the call waits `timeout` seconds of silence,
   * restarted by each key. Keys (before the timeout, numDigits or finishOnKey) go to `action` as `Digits` and the
   * call continues with the TwiML that answers; no key (or only finishOnKey) falls through to the next verb.
   * https://www.twilio.com/docs/voice/twiml/gather
   */
  private async gather(call: LocalCall, verb: GatherVerb, base: string, valid: () => boolean): Promise<void | 'stop' | { url: string; method: string; extra: Record<string, string> }> {
    const g: ActiveGather = { spec: verb, digits: '', ended: false };
    call.gather = g;
    try {
      if (verb.input.split(/\s+/).includes('speech')) this.opts.log(`twilio-local: <Gather input="${verb.input}">: speech is not simulated, only keys`);
      // "After the first digit is received the audio will stop playing"
      const quiet = (): boolean => valid() && !g.ended && g.digits === '';
      for (const media of verb.nested) {
        if (!quiet()) break;
        await this.media.play(call, media, call.sleeper, quiet);
      }
      if (valid() && !g.ended) {
        call.mediaSeq++;
        this.setHears(call, { what: 'silence' });
      }
      // https://www.twilio.com/docs/voice/twiml/gather#timeout : the wait starts after the nested verbs, and again
      // after each key
      // (The call's sleeper is woken for other reasons too: only the clock decides that the time ran out.)
      let pressed = g.digits.length;
      let deadline = Date.now() + this.scheduler.scaled(verb.timeout);
      while (valid() && !g.ended) {
        if (g.digits.length !== pressed) {
          pressed = g.digits.length;
          deadline = Date.now() + this.scheduler.scaled(verb.timeout);
        }
        const left = deadline - Date.now();
        if (left <= 0) break;
        const keysSoFar = pressed;
        await this.scheduler.sleep(left, call.sleeper, () => valid() && !g.ended && g.digits.length === keysSoFar);
      }
    } finally {
      if (call.gather === g) call.gather = undefined;
    }
    if (!valid()) return 'stop';
    if (g.digits === '') return;
    // https://www.twilio.com/docs/voice/twiml/gather#action : default the current document's URL, relative URLs too
    return { url: new URL(verb.action ?? base, base).toString(), method: verb.method, extra: { Digits: g.digits } };
  }

  /**
   * <Record>: keeps what the caller says (the page's audio, or silence without audio) until a finishOnKey key,
   * maxLength, or the caller hanging up; then requests `action` with RecordingUrl, RecordingDuration, RecordingSid and
   * Digits (the key, or 'hangup') and the recording status callback. An empty (0 s) recording requests no action and
   * the next verb runs. https://www.twilio.com/docs/voice/twiml/record
   */
  private async record(call: LocalCall, verb: RecordVerb, base: string, gen: number): Promise<void | 'stop' | { url: string; method: string; extra: Record<string, string> }> {
    const valid = (): boolean => call.gen === gen && !TERMINAL.has(call.status);
    if (verb.transcribe) this.opts.log('twilio-local: <Record transcribe="true">: transcription is not simulated');
    const r = { spec: verb, ended: false } as NonNullable<LocalCall['recording']>;
    call.recording = r;
    // https://www.twilio.com/docs/voice/twiml/record#playbeep : a beep, then the recording
    if (verb.playBeep) await this.media.play(call, { verb: 'Pause', length: 1 }, call.sleeper, valid);
    const started = Date.now();
    this.opts.recorder?.start(call.sid);
    call.mediaSeq++;
    this.setHears(call, { what: 'silence', recording: true });
    const ranOut = await this.scheduler.sleep(this.scheduler.scaled(verb.maxLength), call.sleeper, () => valid() && !r.ended);
    if (call.recording === r) call.recording = undefined;
    const samples = this.opts.recorder?.stop(call.sid);
    const hungUp = TERMINAL.has(call.status);
    // Redirected elsewhere meanwhile (a Calls update): that document runs; the recording is dropped.
    if (call.gen !== gen && !hungUp) return 'stop';
    // Reaching maxLength is a recording of maxLength: the clock is only asked when a key or a hang-up ended it sooner (a
    // timer may fire a little before the clock says its time is up, which at a small timeScale is whole seconds).
    const seconds = ranOut ? verb.maxLength : Math.min(verb.maxLength, Math.round((Date.now() - started) / 1000 / this.opts.timeScale));
    if (seconds === 0 && !samples) return hungUp ? 'stop' : undefined;
    const rec = this.keepRecording(call, seconds, samples);
    const url = this.recordingUrl(rec.sid);
    if (verb.recordingStatusCallback && verb.recordingStatusCallbackEvents.has('completed')) {
      // https://www.twilio.com/docs/voice/twiml/record#recordingstatuscallback : the recording's status callback parameters
      this.callbacks.enqueue(call, new URL(verb.recordingStatusCallback, base).toString(), verb.recordingStatusCallbackMethod, {
        AccountSid: this.opts.accountSid,
        CallSid: call.sid,
        RecordingSid: rec.sid,
        RecordingUrl: url,
        RecordingStatus: 'completed',
        RecordingDuration: String(rec.duration),
        RecordingChannels: '1',
        RecordingStartTime: rfc2822(rec.dateCreated),
        RecordingSource: 'RecordVerb',
      }, `recording ${rec.sid}`, 'recording-status');
    }
    const extra = { RecordingUrl: url, RecordingDuration: String(rec.duration), RecordingSid: rec.sid, ...(r.key ? { Digits: r.key } : hungUp ? { Digits: 'hangup' } : {}) };
    const action = new URL(verb.action ?? base, base).toString();
    if (hungUp) {
      // The caller hung up: the action is still requested (its TwiML has no call to run on). README, unverified behaviours.
      this.scheduler.track(() => this.callbacks.fetchTwiml(call, action, verb.method, extra).then(() => undefined, (err: unknown) => this.opts.log(`twilio-local: <Record> action after hang-up failed: ${(err as Error).message}`)));
      return 'stop';
    }
    return { url: action, method: verb.method, extra };
  }

  private keepRecording(call: LocalCall, seconds: number, samples: Int16Array | undefined): LocalRecording {
    const pcm = samples ? samples.subarray(0, MAX_RECORDING_SECONDS * 8000) : new Int16Array(Math.min(seconds, MAX_RECORDING_SECONDS) * 8000);
    const rec: LocalRecording = { sid: newSid('RE'), callSid: call.sid, duration: seconds, dateCreated: new Date(), wav: wavOf(pcm), hasAudio: Boolean(samples) };
    this.recordings.set(rec.sid, rec);
    this.opts.log(`twilio-local: call ${call.sid} recorded ${rec.sid} (${seconds} s${rec.hasAudio ? ', with audio' : ', silence'})`);
    return rec;
  }

  /** https://www.twilio.com/docs/voice/api/recording#fetch-a-recording-media-file : the media URL (WAV without an extension). */
  recordingUrl(sid: string): string {
    return `${(this.opts.restBaseUrl ?? 'https://api.twilio.com').replace(/\/$/, '')}/2010-04-01/Accounts/${this.opts.accountSid}/Recordings/${sid}`;
  }

  // ---------- conferences ----------

  /** Finds the active conference of this name, or creates it. */
  conferenceByName(name: string, create: boolean): LocalConference | undefined {
    for (const c of this.conferences.values()) if (c.friendlyName === name && c.status !== 'completed') return c;
    if (!create) return undefined;
    const now = new Date();
    // https://www.twilio.com/docs/voice/twiml/conference : a conference is created when the first participant joins
    const conf: LocalConference = {
      sid: newSid('CF'),
      friendlyName: name,
      status: 'init',
      dateCreated: now,
      dateUpdated: now,
      participants: new Map(),
      pending: new Map(),
      statusCallbackMethod: 'POST',
      statusCallbackEvents: new Set(),
      callbacksChosen: false,
      sequence: 1,
      chain: Promise.resolve(),
    };
    this.conferences.set(conf.sid, conf);
    return conf;
  }

  private newParticipant(callSid: string, conf: LocalConference, noun: ConferenceNoun): Participant {
    let resolveLeft = (): void => undefined;
    const left = new Promise<void>((r) => (resolveLeft = r));
    const now = new Date();
    return {
      callSid,
      conferenceSid: conf.sid,
      label: noun.participantLabel,
      status: 'connected',
      hold: false,
      // https://www.twilio.com/docs/voice/api/conference-participant-resource#update-a-participant-resource : HoldMethod default GET
      holdMethod: 'GET',
      muted: noun.muted,
      startConferenceOnEnter: noun.startConferenceOnEnter,
      endConferenceOnExit: noun.endConferenceOnExit,
      waitUrl: noun.waitUrl,
      waitMethod: noun.waitMethod,
      coaching: false,
      dateCreated: now,
      dateUpdated: now,
      sleeper: { wakers: new Set() },
      bgGen: 0,
      left,
      resolveLeft,
    };
  }

  private updatePendingParticipant(call: LocalCall, status: ParticipantView['status']): void {
    const conf = call.joinOnAnswer ? this.conferences.get(call.joinOnAnswer.conferenceSid) : undefined;
    const p = conf?.pending.get(call.sid);
    if (p) p.status = status;
  }

  private dropPendingParticipant(call: LocalCall, reason: LeaveReason): void {
    const conf = call.joinOnAnswer ? this.conferences.get(call.joinOnAnswer.conferenceSid) : undefined;
    const p = conf?.pending.get(call.sid);
    if (!conf || !p) return;
    conf.pending.delete(call.sid);
    // https://www.twilio.com/changelog/participantcallstatus-and-reasonparticipantleft-attributes-added :
    // a participant added via the API that never answers is reported in participant-leave with its call status
    p.status = 'failed';
    this.confEvent(conf, 'participant-leave', { ReasonParticipantLeft: reason }, p);
    if (conf.participants.size === 0 && conf.pending.size === 0 && conf.status !== 'completed') {
      this.endConference(conf, 'last-participant-left', p);
    }
  }

  private shouldStart(conf: LocalConference): boolean {
    // https://www.twilio.com/docs/voice/twiml/conference#attributes-statusCallbackEvent : conference-start occurs
    // "when there is at least one participant in the conference and a participant with startConferenceOnEnter=true joins";
    // a lone participant keeps hearing the waitUrl until someone else is there.
    const ps = [...conf.participants.values()];
    return ps.length >= 2 && ps.some((p) => p.startConferenceOnEnter);
  }

  /** The first participant's statusCallback and events become the conference's; later ones are ignored. */
  private chooseCallbacks(conf: LocalConference, noun: ConferenceNoun): void {
    // https://www.twilio.com/docs/voice/twiml/conference#attributes-statusCallback : the conference's callback is set by
    // the first participant to join it; statusCallback on later participants is ignored
    if (conf.callbacksChosen) return;
    conf.callbacksChosen = true;
    if (!noun.statusCallback) return;
    conf.statusCallback = noun.statusCallback;
    conf.statusCallbackMethod = noun.statusCallbackMethod;
    conf.statusCallbackEvents = noun.statusCallbackEvents;
  }

  /** Puts a call into a conference and resolves when it leaves; false when it could not join. */
  private async joinConference(call: LocalCall, noun: ConferenceNoun, gen: number): Promise<boolean> {
    const existing = this.conferenceByName(noun.name, false);
    if (existing && noun.participantLabel && this.labelInUse(existing, noun.participantLabel, call.sid)) {
      // https://www.twilio.com/docs/api/errors/16025 : Dial->Conference: participant label is in use by another participant
      this.opts.log(`twilio-local: call ${call.sid} cannot join conference ${existing.sid}: error 16025 (label in use)`);
      return false;
    }
    const conf = existing ?? (this.conferenceByName(noun.name, true) as LocalConference);
    const pending = conf.pending.get(call.sid);
    conf.pending.delete(call.sid);
    const p = pending ?? this.newParticipant(call.sid, conf, noun);
    p.status = 'connected';
    conf.participants.set(call.sid, p);
    call.conferenceSid = conf.sid;
    this.chooseCallbacks(conf, noun);
    conf.dateUpdated = new Date();
    this.opts.log(`twilio-local: call ${call.sid} joined conference ${conf.sid} (${conf.participants.size} in it)`);
    this.confEvent(conf, 'participant-join', {}, p);
    if (conf.status === 'init' && this.shouldStart(conf)) this.startConference(conf);
    else if (conf.status === 'init' && !p.hold) this.scheduler.track(() => this.background(call, p, 'wait'));
    else this.refreshHears(conf);
    // A participant put on hold while it was still ringing joins on hold.
    if (p.hold) this.scheduler.track(() => this.background(call, p, 'hold'));
    if (call.gen !== gen) return true;
    await p.left;
    return true;
  }

  private startConference(conf: LocalConference): void {
    conf.status = 'in-progress';
    conf.dateUpdated = new Date();
    this.opts.log(`twilio-local: conference ${conf.sid} started`);
    this.confEvent(conf, 'conference-start', {});
    for (const p of conf.participants.values()) {
      if (!p.hold) {
        p.bgGen++;
        this.scheduler.wake(p.sleeper);
      }
    }
    this.refreshHears(conf);
  }

  private refreshHears(conf: LocalConference): void {
    if (conf.status !== 'in-progress') {
      // Waiting participants keep their wait music; only the participant count in the view changes.
      for (const p of conf.participants.values()) {
        const call = this.calls.get(p.callSid);
        if (call && !p.hold) this.setHears(call, { ...call.hears, held: undefined, conference: this.confInfo(conf) });
      }
      return;
    }
    for (const p of conf.participants.values()) {
      const call = this.calls.get(p.callSid);
      if (call && !p.hold) this.setHears(call, { what: 'conference', conference: this.confInfo(conf) });
    }
  }

  private confInfo(conf: LocalConference): NonNullable<Hears['conference']> {
    const held = [...conf.participants.values()].filter((p) => p.hold).length;
    const muted = [...conf.participants.values()].filter((p) => this.calls.get(p.callSid)?.deviceMuted).length;
    return { name: conf.friendlyName, started: conf.status === 'in-progress', participants: conf.participants.size, held, ...(muted ? { muted } : {}) };
  }

  /**
   * Plays the waitUrl (before start) or the holdUrl (on hold) until that phase ends. An audio URL loops; a TwiML
   * document plays once and then leaves silence, unless it ends in <Redirect>, which fetches the next document.
   */
  private async background(call: LocalCall, p: Participant, mode: 'wait' | 'hold'): Promise<void> {
    const bg = ++p.bgGen;
    const conf = this.conferences.get(p.conferenceSid);
    if (!conf) return;
    const valid = (): boolean =>
      p.bgGen === bg && conf.participants.get(call.sid) === p && !TERMINAL.has(call.status) && (mode === 'hold' ? p.hold : conf.status === 'init' && !p.hold);
    const url = mode === 'wait' ? p.waitUrl : p.holdUrl;
    const method = mode === 'wait' ? p.waitMethod : p.holdMethod;
    const info = (): Pick<Hears, 'conference' | 'held'> => ({ conference: this.confInfo(conf), ...(mode === 'hold' ? { held: true } : {}) });
    if (!url || AUDIO_RE.test(url)) {
      // https://www.twilio.com/docs/voice/twiml/conference#attributes-waitUrl : an audio URL is played directly;
      // without a waitUrl (or holdUrl) Twilio plays its default hold music.
      await this.media.hold(call, { what: 'play', url: url ?? DEFAULT_MUSIC, loop: 0, ...info() }, p.sleeper, valid);
      return;
    }
    let target: { url: string; method: string } | undefined = { url, method };
    while (target && valid()) {
      const started = Date.now();
      let verbs: Verb[];
      const current: { url: string; method: string } = target;
      target = undefined;
      try {
        // https://www.twilio.com/docs/voice/twiml#request-parameters : a waitUrl/holdUrl fetch is a plain voice
        // request; Twilio documents no conference parameters (ConferenceSid, FriendlyName) for it.
        verbs = await this.callbacks.fetchTwiml(call, current.url, current.method);
      } catch (err) {
        this.opts.log(`twilio-local: ${mode}Url for call ${call.sid} failed: ${(err as Error).message}`);
        if (valid()) await this.media.hold(call, { what: 'silence', ...info() }, p.sleeper, valid);
        return;
      }
      // https://www.twilio.com/docs/voice/twiml/conference#attributes-waitUrl : only Play, Say, Pause and Redirect run;
      // the document is not repeated (a queue-position announcement loops by redirecting to itself)
      for (const verb of verbs) {
        if (!valid()) return;
        if (verb.verb === 'Say' || verb.verb === 'Play' || verb.verb === 'Pause') {
          await this.media.play(call, verb, p.sleeper, valid, info());
        } else if (verb.verb === 'Redirect') {
          target = { url: new URL(verb.url, current.url).toString(), method: verb.method };
          break;
        }
      }
      if (!target) {
        if (valid()) await this.media.hold(call, { what: 'silence', ...info() }, p.sleeper, valid);
        return;
      }
      // A redirect loop never spins faster than every 50 ms.
      const elapsed = Date.now() - started;
      if (elapsed < 50) await this.scheduler.sleep(50 - elapsed, p.sleeper, valid);
    }
  }

  /** Takes a call out of its conference, applying Twilio's end rules. */
  private leaveConference(call: LocalCall, reason: LeaveReason, kicked = false): void {
    const conf = call.conferenceSid ? this.conferences.get(call.conferenceSid) : undefined;
    call.conferenceSid = undefined;
    const p = conf?.participants.get(call.sid);
    if (!conf || !p) return;
    conf.participants.delete(call.sid);
    conf.dateUpdated = new Date();
    p.status = 'complete';
    p.bgGen++;
    this.scheduler.wake(p.sleeper);
    this.opts.log(`twilio-local: call ${call.sid} left conference ${conf.sid} (${reason})`);
    this.confEvent(conf, 'participant-leave', { ReasonParticipantLeft: reason }, p);
    if (conf.status !== 'completed') {
      // https://www.twilio.com/docs/voice/twiml/conference#attributes-endConferenceOnExit : the conference ends when
      // such a participant leaves; it also ends when the last participant leaves.
      if (p.endConferenceOnExit) {
        this.endConference(conf, kicked ? 'participant-with-end-conference-on-exit-kicked' : 'participant-with-end-conference-on-exit-left', p);
      } else if (conf.participants.size === 0 && conf.pending.size === 0) {
        this.endConference(conf, kicked ? 'last-participant-kicked' : 'last-participant-left', p);
      } else {
        this.refreshHears(conf);
      }
    }
    p.resolveLeft();
  }

  /**
   * Ends a conference; its remaining participants leave and continue their TwiML after <Dial>. `ending` is the
   * participant whose leaving (or kick) ended it; none when the API ended it.
   */
  endConference(conf: LocalConference, reason: ConferenceEndReason, ending?: Participant): void {
    if (conf.status === 'completed') return;
    conf.status = 'completed';
    conf.reasonConferenceEnded = reason;
    conf.callSidEndingConference = ending?.callSid;
    conf.dateUpdated = new Date();
    this.opts.log(`twilio-local: conference ${conf.sid} ended (${reason})`);
    const leaveReason: LeaveReason = reason === 'conference-ended-via-api' ? 'conference_ended_via_api' : 'moderator_ended_conference';
    for (const p of [...conf.participants.values()]) {
      const call = this.calls.get(p.callSid);
      if (call) this.leaveConference(call, leaveReason);
    }
    for (const p of [...conf.pending.values()]) {
      conf.pending.delete(p.callSid);
      const call = this.calls.get(p.callSid);
      if (call) this.endCall(call, 'canceled', { reason: 'conference ended' });
    }
    // https://www.twilio.com/docs/voice/twiml/conference#attributes-status-callback-parameters : conference-end carries
    // ReasonConferenceEnded, Reason ("a message indicating why the conference ended") and, when a participant ended
    // it, CallSidEndingConference and ParticipantLabelEndingConference ("if applicable": when it had a label)
    this.confEvent(conf, 'conference-end', {
      ReasonConferenceEnded: reason,
      Reason: conferenceEndText(reason, ending?.callSid),
      ...(ending ? { CallSidEndingConference: ending.callSid } : {}),
      ...(ending?.label ? { ParticipantLabelEndingConference: ending.label } : {}),
    });
  }

  /** Participant update: hold, mute, endConferenceOnExit (REST Participants update). */
  updateParticipant(
    conf: LocalConference,
    p: Participant,
    u: { hold?: boolean; holdUrl?: string; holdMethod?: string; muted?: boolean; endConferenceOnExit?: boolean; beepOnExit?: boolean; coaching?: boolean; callSidToCoach?: string },
  ): void {
    const call = this.calls.get(p.callSid);
    const wasHeld = p.hold;
    p.dateUpdated = new Date();
    if (u.holdUrl !== undefined) p.holdUrl = u.holdUrl;
    if (u.holdMethod !== undefined) p.holdMethod = u.holdMethod.toUpperCase();
    if (u.endConferenceOnExit !== undefined && wasHeld) {
      // Twilio answers 200 but keeps the old value for a participant on hold (the transfer trap issue 9 names; Twilio's
      // pages do not document it): change endConferenceOnExit before holding, or after unholding.
      this.opts.log(`twilio-local: endConferenceOnExit change ignored for held participant ${p.callSid}`);
    } else if (u.endConferenceOnExit !== undefined) {
      p.endConferenceOnExit = u.endConferenceOnExit;
    }
    // https://www.twilio.com/docs/voice/api/conference-participant-resource#update-a-participant-resource : Coaching,
    // CallSidToCoach (checked by the REST handler); the mixer reads them at its next 20 ms tick
    if (u.coaching !== undefined) p.coaching = u.coaching;
    if (u.callSidToCoach !== undefined) p.callSidToCoach = u.callSidToCoach;
    if (u.muted !== undefined && u.muted !== p.muted) {
      p.muted = u.muted;
      this.confEvent(conf, u.muted ? 'participant-mute' : 'participant-unmute', {}, p);
    }
    if (u.hold !== undefined && u.hold !== p.hold) {
      p.hold = u.hold;
      // https://www.twilio.com/docs/voice/api/conference-participant-resource#update-a-participant-resource :
      // a held participant hears the HoldUrl (default: Twilio hold music) and is not heard by the conference
      this.confEvent(conf, u.hold ? 'participant-hold' : 'participant-unhold', {}, p);
      p.bgGen++;
      this.scheduler.wake(p.sleeper);
      if (call && u.hold) this.scheduler.track(() => this.background(call, p, 'hold'));
      else if (call && conf.status === 'init') this.scheduler.track(() => this.background(call, p, 'wait'));
      this.refreshHears(conf);
    }
  }

  /** Redirects a live call to new TwiML (REST Calls update with Url or Twiml). */
  redirect(call: LocalCall, source: { url: string; method: string } | { twiml: string }): void {
    // https://www.twilio.com/docs/voice/api/call-resource#update-a-call-resource : the call leaves its current
    // TwiML (and conference) and runs the new document
    if (call.conferenceSid) this.leaveConference(call, 'participant_updated_via_api');
    call.gen++;
    this.scheduler.wake(call.sleeper);
    if ('url' in source) {
      call.url = source.url;
      call.method = source.method;
    }
    const gen = call.gen;
    this.scheduler.track(() => this.execute(call, source, gen));
  }

}
