// The stand-in's audio: a WebRTC peer per leg (peer.ts), signalled on the phone and device channels (signalling.ts),
// mixed every 20 ms from the engine's state (mixer.ts), with <Say> spoken (speech.ts) and <Play> played (players.ts).
// Nothing runs until a page brings audio: no peer, no clock, no speech worker.
import type { Router } from 'express';
import type { DeviceAuth } from '../device';
import type { Engine } from '../engine';
import { TERMINAL } from '../types';
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
}

/** The running audio of one stand-in. */
export interface StandInAudio {
  router: Router;
  /** Resolves once `callSid` has connected audio, or after `timeoutMs` (the call then goes on without waiting). */
  whenConnected(callSid: string, timeoutMs: number): Promise<void>;
  /** The mixer's clock since start, and the legs with audio now. */
  stats(): MixerStats & { legs: number };
  /** Closes every peer and the speech worker; idempotent. */
  stop(): Promise<void>;
}

/** Creates the audio of a stand-in around its engine. */
export function createAudio(engine: Engine, opts: StandInAudioOptions): StandInAudio {
  const world: AudioWorld = {
    call: (sid) => engine.getCall(sid),
    conference: (sid) => engine.getConference(sid),
  };
  const speech = new Speech();
  const mixer = new Mixer(world, new MediaLibrary({ speech, callbackBase: opts.callbackBase, log: opts.log }));
  const waiters = new Map<string, Set<() => void>>();
  let stopped = false;

  const connect = async (callSid: string, offerSdp: string): Promise<string> => {
    if (stopped) throw new Error('the stand-in is stopping');
    speech.warm();
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
      if (mixer.isConnected(callSid) || stopped) return Promise.resolve();
      return new Promise((resolve) => {
        let set = waiters.get(callSid);
        if (!set) waiters.set(callSid, (set = new Set()));
        const done = (): void => {
          clearTimeout(timer);
          set.delete(done);
          if (set.size === 0) waiters.delete(callSid);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        timer.unref();
        set.add(done);
      });
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
