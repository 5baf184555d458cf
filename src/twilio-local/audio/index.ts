// The stand-in's audio: a WebRTC peer per leg (peer.ts), signalled on the phone and device channels (signalling.ts),
// mixed every 20 ms from the engine's state (mixer.ts), with <Say> spoken (speech.ts) and <Play> played (players.ts).
// Nothing runs until a page brings audio: no peer, no clock, no speech worker.
import type { Router } from 'express';
import type { DeviceAuth } from '../device';
import type { Engine } from '../engine';
import { TERMINAL, type Hears } from '../types';
import { SAMPLE_RATE } from './codec';
import { Mixer, type AudioWorld, type MixerStats } from './mixer';
import { LegPeer } from './peer';
import { MediaLibrary } from './players';
import { createSignallingRouter } from './signalling';
import { Speech } from './speech';

export { hearingOf, isHeard, Mixer, type AudioWorld, type Hearing, type LegLink, type MixerStats } from './mixer';

export interface StandInAudioOptions {
  auth: DeviceAuth;
  callbackBase?: string;
  log: (msg: string) => void;
  /** Texts the app's TwiML says often (its greeting, a caller's place): spoken ahead once audio is first used. */
  phrases?: readonly string[];
}

/** The longest a call answered by a page bringing audio waits for that audio before its TwiML runs. */
export const AUDIO_CONNECT_MS = 3000;

/** The longest a verb waits for its audio (speech synthesis, a file fetch) before it starts without it. */
const PREPARE_MS = 3000;

/** The running audio of one stand-in. */
export interface StandInAudio {
  router: Router;
  /**
   * Resolves once `callSid` has connected audio and speech is ready to speak, or after `timeoutMs` (the call then goes
   * on without waiting).
   */
  whenConnected(callSid: string, timeoutMs: number): Promise<void>;
  /**
   * Readies the audio of a Say or Play for `callSid`: its length in seconds once ready, or undefined when the leg has
   * no audio connected (or the audio is not ready within 3 s; it then starts late and the engine keeps its estimate).
   */
  prepare(callSid: string, hears: Hears): Promise<number | undefined>;
  /** Keeps what `callSid`'s page says from now (a <Record>); `stopRecording` returns it, undefined without audio. */
  startRecording(callSid: string): void;
  stopRecording(callSid: string): Int16Array | undefined;
  /** The mixer's clock since start, and the legs with audio now. */
  stats(): MixerStats & { legs: number };
  /** Closes every peer and the speech worker; idempotent. */
  stop(): Promise<void>;
}

/** `promise`'s value, or `fallback` if it fails or takes longer than `ms`. */
function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    timer.unref();
    promise.then(resolve, () => resolve(fallback)).finally(() => clearTimeout(timer));
  });
}

/** Creates the audio of a stand-in around its engine. */
export function createAudio(engine: Engine, opts: StandInAudioOptions): StandInAudio {
  const world: AudioWorld = {
    call: (sid) => engine.getCall(sid),
    conference: (sid) => engine.getConference(sid),
  };
  const speech = new Speech();
  const library = new MediaLibrary({ speech, callbackBase: opts.callbackBase, log: opts.log });
  const mixer = new Mixer(world, library);
  const waiters = new Map<string, Set<() => void>>();
  let stopped = false;

  const connect = async (callSid: string, offerSdp: string): Promise<string> => {
    if (stopped) throw new Error('the stand-in is stopping');
    speech.warm(opts.phrases);
    library.holdMusic(); // synthesised now, not inside a 20 ms tick
    const { peer, sdp } = await LegPeer.answer(offerSdp);
    const call = engine.getCall(callSid);
    if (stopped || !call || TERMINAL.has(call.status)) {
      peer.close();
      throw new Error('the call has ended');
    }
    mixer.attach(callSid, peer);
    peer.onConnected(() => {
      opts.log(`twilio-local: call ${callSid} audio connected`);
      for (const fn of waiters.get(callSid) ?? []) fn();
    });
    peer.onClose(() => opts.log(`twilio-local: call ${callSid} audio closed`));
    return sdp;
  };

  return {
    router: createSignallingRouter(engine, { connect }, opts.auth),
    whenConnected(callSid, timeoutMs) {
      if (stopped) return Promise.resolve();
      let forget = (): void => undefined;
      const connected = mixer.isConnected(callSid)
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            let set = waiters.get(callSid);
            if (!set) waiters.set(callSid, (set = new Set()));
            const waiting = set;
            forget = () => {
              waiting.delete(resolved);
              if (waiting.size === 0 && waiters.get(callSid) === waiting) waiters.delete(callSid);
            };
            const resolved = (): void => resolve();
            waiting.add(resolved);
          });
      return within(Promise.all([connected, speech.ready()]).then(() => undefined), timeoutMs, undefined).finally(() => forget());
    },
    prepare(callSid, hears) {
      if (stopped || !mixer.isConnected(callSid) || (hears.what !== 'say' && hears.what !== 'play')) return Promise.resolve(undefined);
      const seconds = library.load(hears).then((audio) => (audio.length > 0 ? audio.length / SAMPLE_RATE : undefined));
      return within(seconds, PREPARE_MS, undefined);
    },
    startRecording: (callSid) => mixer.startTap(callSid),
    stopRecording: (callSid) => {
      const samples = mixer.stopTap(callSid);
      return samples && samples.length > 0 ? samples : undefined;
    },
    stats: () => ({ ...mixer.stats, legs: mixer.size }),
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const set of [...waiters.values()]) for (const fn of [...set]) fn();
      mixer.stop();
      await speech.stop();
    },
  };
}
