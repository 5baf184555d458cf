// Who hears whom, and the 20 ms mixer that makes it audible. The rule reads the engine's own state — the same `hears`
// that the text captions show, and the conference's participants with their hold and muted flags — so what a page
// hears and what its caption says cannot disagree.
import { performance } from 'node:perf_hooks';
import { FRAME_MS, FRAME_SAMPLES } from './codec';
import { LegPlayer, type MediaLibrary } from './players';
import type { CallStatus, Hears } from '../types';

/** The parts of a call the rule reads (a LocalCall has them). */
export interface LegState {
  status: CallStatus;
  hears: Hears;
  /** Bumped by the engine each time a Say, Play, Pause or hold media starts on this leg. */
  mediaSeq: number;
  /** The Voice SDK's call.mute(): the page's microphone is off. */
  deviceMuted: boolean;
  conferenceSid?: string;
}

/** The parts of a conference participant the rule reads. */
export interface ParticipantState {
  callSid: string;
  hold: boolean;
  muted: boolean;
  coaching: boolean;
  /** While coaching: the one participant who hears this one. */
  callSidToCoach?: string;
}

/** Read access to the engine's calls and conferences. */
export interface AudioWorld {
  call(sid: string): LegState | undefined;
  conference(sid: string): { participants: ReadonlyMap<string, ParticipantState> } | undefined;
}

/** What one leg hears: nothing, its own media (a verb or hold music), or the other participants it can hear. */
export type Hearing = { kind: 'nothing' } | { kind: 'media'; seq: number; hears: Hears } | { kind: 'conference'; from: string[] };

const NOTHING: Hearing = { kind: 'nothing' };

/**
 * What the leg of `callSid` hears now:
 * - a call that is not in progress (queued, ringing, ended) hears nothing;
 * - in a conference's talk (`hears.what === 'conference'`), every other participant who can be heard;
 * - otherwise its media: a <Say>, <Play> or <Pause> of its TwiML, the waitUrl while its conference waits
 *   (https://www.twilio.com/docs/voice/twiml/conference#attributes-waitUrl), or the holdUrl while it is held.
 */
export function hearingOf(world: AudioWorld, callSid: string): Hearing {
  const call = world.call(callSid);
  if (!call || call.status !== 'in-progress') return NOTHING;
  if (call.hears.what !== 'conference') return { kind: 'media', seq: call.mediaSeq, hears: call.hears };
  const conf = call.conferenceSid ? world.conference(call.conferenceSid) : undefined;
  if (!conf) return NOTHING;
  const from: string[] = [];
  for (const p of conf.participants.values()) if (p.callSid !== callSid && (isHeard(world, p) || coaches(world, p, callSid))) from.push(p.callSid);
  return { kind: 'conference', from };
}

/**
 * Whether the conference hears `p` (Twilio's pages, paraphrased):
 * - not while held: hold "redirects the participant's media stream" to the HoldUrl, so the participant hears that and
 *   the conference no longer hears them (https://www.twilio.com/docs/voice/api/conference-participant-resource#update-a-participant-resource,
 *   Hold and HoldUrl; https://www.twilio.com/en-us/blog/introducing-conference-hold-html);
 * - not while muted: a muted participant still listens, but cannot speak to the conference
 *   (same page, Muted; https://www.twilio.com/docs/voice/twiml/conference#attributes-muted);
 * - not while its SDK call is muted: call.mute() turns the page's microphone off
 *   (https://www.twilio.com/docs/voice/sdks/javascript/twiliocall#callmuteshouldmute; the page stops sending it too);
 * - a coach is heard by the conference at large by nobody: only the participant it coaches hears it (coaches()).
 */
export function isHeard(world: AudioWorld, p: ParticipantState): boolean {
  if (p.hold || p.muted || p.coaching) return false;
  return speaks(world, p);
}

/** The participant's own call is up and its page's microphone on. */
function speaks(world: AudioWorld, p: ParticipantState): boolean {
  const call = world.call(p.callSid);
  return call !== undefined && call.status === 'in-progress' && !call.deviceMuted;
}

/**
 * Whether `p` is a coach whom the leg of `listener` hears: "the participant being coached is the only participant who
 * can hear the participant who is coaching" (https://www.twilio.com/docs/voice/api/conference-participant-resource,
 * call_sid_to_coach), unless the coach is held or muted. A coach whose agent left is heard by nobody.
 */
export function coaches(world: AudioWorld, p: ParticipantState, listener: string): boolean {
  return p.coaching && p.callSidToCoach === listener && !p.hold && !p.muted && speaks(world, p);
}

/** A leg's media connection, as the mixer uses it (LegPeer, or a fake in tests). */
export interface LegLink {
  readonly connected: boolean;
  takeFrame(into: Int16Array): boolean;
  send(frame: Int32Array): void;
  /**
   * `frames` slots of 20 ms went by unsent (the mixer fell behind and skipped them): the link's RTP clock moves on by
   * as much, so the page hears a gap it conceals once, not every later packet arriving that much late (its jitter
   * buffer would grow by the stall and take minutes to shrink: a lasting delay of up to 0.7 s was measured).
   */
  skip?(frames: number): void;
  close(): void;
  onClose(fn: () => void): void;
}

interface Leg {
  link: LegLink;
  player: LegPlayer;
  heard: Int16Array;
  hasFrame: boolean;
  mix: Int32Array;
}

/** How the mixer kept time (the benchmark and the log read it). */
export interface MixerStats {
  /** 20 ms slots mixed. */
  ticks: number;
  /** Slots whose packets went out more than 20 ms after they were due (or were skipped). */
  late: number;
  /** Slots skipped because the loop fell more than MAX_CATCH_UP behind. */
  skipped: number;
  /** Wall time spent mixing and sending, in ms (includes time the process waited for a core). */
  busyMs: number;
  /** CPU time of the process during those ticks, in ms. */
  busyCpuMs: number;
}

/** At most this many overdue slots are mixed back to back; beyond that the mixer skips ahead. */
const MAX_CATCH_UP = 5;

/** Mixes every connected leg every 20 ms while there is at least one. */
export class Mixer {
  private readonly legs = new Map<string, Leg>();
  private timer?: NodeJS.Timeout;
  private origin = 0;
  private slot = 0;
  private stopped = false;
  readonly stats: MixerStats = { ticks: 0, late: 0, skipped: 0, busyMs: 0, busyCpuMs: 0 };
  /** Legs being recorded (<Record>): what their page says, 20 ms at a time (silence while nothing arrives). */
  private readonly taps = new Map<string, Int16Array[]>();

  constructor(
    private readonly world: AudioWorld,
    private readonly library: MediaLibrary,
  ) {}

  /** The number of legs with a link. */
  get size(): number {
    return this.legs.size;
  }

  /** Gives `callSid` its media link; an older link of the same call (a reloaded page) is closed. */
  attach(callSid: string, link: LegLink): void {
    if (this.stopped) {
      link.close();
      return;
    }
    this.legs.get(callSid)?.link.close();
    const leg: Leg = { link, player: new LegPlayer(this.library), heard: new Int16Array(FRAME_SAMPLES), hasFrame: false, mix: new Int32Array(FRAME_SAMPLES) };
    this.legs.set(callSid, leg);
    link.onClose(() => {
      if (this.legs.get(callSid) === leg) this.legs.delete(callSid);
    });
    this.schedule();
  }

  /** Starts keeping what `callSid`'s page says. */
  startTap(callSid: string): void {
    this.taps.set(callSid, []);
  }

  /** Stops keeping it and returns it (undefined when it was not kept). */
  stopTap(callSid: string): Int16Array | undefined {
    const frames = this.taps.get(callSid);
    this.taps.delete(callSid);
    if (!frames) return undefined;
    const out = new Int16Array(frames.length * FRAME_SAMPLES);
    frames.forEach((f, i) => out.set(f, i * FRAME_SAMPLES));
    return out;
  }

  /** True while `callSid` has a connected link. */
  isConnected(callSid: string): boolean {
    return this.legs.get(callSid)?.link.connected === true;
  }

  /** Closes every link and stops the clock; idempotent. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const leg of [...this.legs.values()]) leg.link.close();
    this.legs.clear();
  }

  /** Mixes one 20 ms slot: each connected leg gets what it hears. */
  tick(): void {
    for (const [sid, leg] of this.legs) {
      const call = this.world.call(sid);
      // A leg whose call has ended loses its link (the page sees the connection close).
      if (!call || (call.status !== 'in-progress' && call.status !== 'ringing' && call.status !== 'queued')) {
        leg.link.close();
        continue;
      }
      leg.hasFrame = leg.link.connected && leg.link.takeFrame(leg.heard);
      const tap = this.taps.get(sid);
      if (tap && leg.link.connected) tap.push(leg.hasFrame ? leg.heard.slice() : new Int16Array(FRAME_SAMPLES));
    }
    for (const [sid, leg] of this.legs) {
      if (!leg.link.connected) continue; // media starts when the page can hear it
      const mix = leg.mix;
      mix.fill(0);
      const hearing = hearingOf(this.world, sid);
      if (hearing.kind === 'media') {
        leg.player.sync(hearing.seq, hearing.hears);
        leg.player.addFrame(mix);
      } else if (hearing.kind === 'conference') {
        for (const from of hearing.from) {
          const source = this.legs.get(from);
          if (!source?.hasFrame) continue;
          const heard = source.heard;
          for (let i = 0; i < FRAME_SAMPLES; i++) mix[i] = (mix[i] as number) + (heard[i] as number);
        }
      }
      leg.link.send(mix);
    }
    this.stats.ticks++;
  }

  private schedule(): void {
    if (this.timer || this.stopped || this.legs.size === 0) return;
    this.origin = performance.now();
    this.slot = 0;
    const loop = (): void => {
      this.timer = undefined;
      if (this.stopped) return;
      let due = this.origin + this.slot * FRAME_MS;
      for (let run = 0; run < MAX_CATCH_UP && due <= performance.now(); run++) {
        const started = performance.now();
        const cpu = process.cpuUsage();
        this.tick();
        const used = process.cpuUsage(cpu);
        const done = performance.now();
        this.stats.busyMs += done - started;
        this.stats.busyCpuMs += (used.user + used.system) / 1000;
        if (done - due > FRAME_MS) this.stats.late++;
        this.slot++;
        due += FRAME_MS;
      }
      const behind = performance.now() - due;
      if (behind > 0) {
        // Too far behind to catch up: skip those slots (the pages' jitter buffers hear a gap).
        const skip = Math.floor(behind / FRAME_MS) + 1;
        this.stats.skipped += skip;
        this.stats.late += skip;
        this.slot += skip;
        due += skip * FRAME_MS;
        for (const leg of this.legs.values()) leg.link.skip?.(skip);
      }
      if (this.legs.size === 0) return; // idle: the next attach starts a new clock
      this.timer = setTimeout(loop, Math.max(0, due - performance.now()));
      this.timer.unref();
    };
    this.timer = setTimeout(loop, 0);
    this.timer.unref();
  }
}
