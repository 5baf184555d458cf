// The one media player: what a leg hears while Say, Play or Pause runs, and for how long (scaled by timeScale).
import type { Scheduler } from './scheduler';
import type { LocalCall, Sleeper } from './state';
import type { Hears } from './types';
import type { Verb } from './twiml';

/** A verb the player can play. */
export type MediaVerb = Extract<Verb, { verb: 'Say' | 'Play' | 'Pause' }>;

const PLAY_SECONDS = 10; // a stand-in length for audio files we never download

/** Plays media verbs to a leg by telling its listeners what it hears and sleeping for the media's length. */
export class MediaPlayer {
  constructor(
    private readonly scheduler: Scheduler,
    private readonly setHears: (call: LocalCall, hears: Hears) => void,
  ) {}

  /**
   * Plays one verb to `call`; resolves true if it played to its end, false if interrupted (woken into an invalid state).
   * `context` (conference, held) is attached to what the leg hears while it waits or is held in a conference.
   */
  play(call: LocalCall, verb: MediaVerb, sleeper: Sleeper, valid: () => boolean, context: Pick<Hears, 'conference' | 'held'> = {}): Promise<boolean> {
    const conf = context;
    switch (verb.verb) {
      case 'Say':
        this.setHears(call, { what: 'say', text: verb.text, loop: verb.loop, ...conf });
        // https://www.twilio.com/docs/voice/twiml/say#attributes-loop : loop="0" repeats until the call ends
        return this.scheduler.sleep(verb.loop === 0 ? Infinity : this.sayMs(verb.text) * verb.loop, sleeper, valid);
      case 'Play':
        this.setHears(call, { what: 'play', url: verb.url, loop: verb.loop, ...conf });
        // https://www.twilio.com/docs/voice/twiml/play#attributes-loop : loop="0" plays until the call ends
        return this.scheduler.sleep(verb.loop === 0 ? Infinity : this.scheduler.scaled(PLAY_SECONDS) * verb.loop, sleeper, valid);
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
