// The one media player: what a leg hears while Say, Play or Pause runs, and for how long (scaled by timeScale).
import type { Scheduler } from './scheduler';
import type { LocalCall, Sleeper } from './state';
import type { Hears } from './types';
import type { Verb } from './twiml';

/** A verb the player can play. */
export type MediaVerb = Extract<Verb, { verb: 'Say' | 'Play' | 'Pause' }>;

const PLAY_SECONDS = 10; // a stand-in length for audio files we never download

/**
 * Prepares the audio of `hears` for a leg that has audio (audio/index.ts): resolves with its length in seconds once it
 * is ready, or undefined when the leg has no audio (then the verb's length is estimated, as before audio existed).
 */
export type MediaPreparer = (call: LocalCall, hears: Hears) => Promise<number | undefined>;

/** Plays media verbs to a leg by telling its listeners what it hears and sleeping for the media's length. */
export class MediaPlayer {
  constructor(
    private readonly scheduler: Scheduler,
    private readonly setHears: (call: LocalCall, hears: Hears) => void,
    private readonly prepare: MediaPreparer = () => Promise.resolve(undefined),
  ) {}

  /**
   * Plays one verb to `call`; resolves true if it played to its end, false if interrupted (woken into an invalid state).
   * `context` (conference, held) is attached to what the leg hears while it waits or is held in a conference.
   * On a leg with audio, a Say or Play starts once its audio is ready (the caption and the sound start together) and
   * lasts as long as that audio, as on Twilio; without audio its length is estimated.
   */
  async play(call: LocalCall, verb: MediaVerb, sleeper: Sleeper, valid: () => boolean, context: Pick<Hears, 'conference' | 'held'> = {}): Promise<boolean> {
    const conf = context;
    switch (verb.verb) {
      case 'Say': {
        const hears: Hears = { what: 'say', text: verb.text, loop: verb.loop, ...conf };
        const seconds = await this.prepare(call, hears);
        if (!valid()) return false;
        this.setHears(call, hears);
        const length = seconds !== undefined ? this.scheduler.scaled(seconds) : this.sayMs(verb.text);
        // https://www.twilio.com/docs/voice/twiml/say#attributes-loop : loop="0" repeats until the call ends
        return this.scheduler.sleep(verb.loop === 0 ? Infinity : length * verb.loop, sleeper, valid);
      }
      case 'Play': {
        const hears: Hears = { what: 'play', url: verb.url, loop: verb.loop, ...conf };
        const seconds = verb.loop === 0 ? undefined : await this.prepare(call, hears);
        if (!valid()) return false;
        this.setHears(call, hears);
        const length = this.scheduler.scaled(seconds ?? PLAY_SECONDS);
        // https://www.twilio.com/docs/voice/twiml/play#attributes-loop : loop="0" plays until the call ends
        return this.scheduler.sleep(verb.loop === 0 ? Infinity : length * verb.loop, sleeper, valid);
      }
      case 'Pause':
        this.setHears(call, { what: 'silence', ...conf });
        return this.scheduler.sleep(this.scheduler.scaled(verb.length), sleeper, valid);
    }
  }

  /** Plays `hears` until woken into an invalid state (hold music, silence). */
  hold(call: LocalCall, hears: Hears, sleeper: Sleeper, valid: () => boolean): Promise<boolean> {
    this.setHears(call, hears);
    return this.scheduler.sleep(Infinity, sleeper, valid);
  }

  /** About 15 characters a second of speech, at least one second. */
  private sayMs(text: string): number {
    return this.scheduler.scaled(Math.max(1, text.length / 15));
  }
}
