// What a leg hears when it is not in a conference's talk: <Say> spoken, <Play> played, <Pause> silent, one player per
// leg that follows the engine's media (each new verb or hold restarts it) and hands the mixer 20 ms at a time.
import { FRAME_SAMPLES, parseWav, toTelephone } from './codec';
import { synthesizeHoldMusic } from './hold-music';
import type { Speech } from './speech';
import type { Hears } from '../types';

/** Largest audio file the stand-in fetches for a <Play> (a few minutes of telephone audio). */
const MAX_PLAY_BYTES = 16 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 5000;

/**
 * Twilio's own hold music (https://www.twilio.com/docs/voice/twiml/conference#attributes-waitUrl : the default waitUrl
 * is a twimlet over the com.twilio.music.* buckets): demo mode plays its local music instead of downloading it.
 */
export function isTwilioHoldMusic(url: string): boolean {
  try {
    const u = new URL(url);
    return /(^|\.)com\.twilio\.music\./.test(u.hostname) || (u.hostname === 'twimlets.com' && u.pathname.startsWith('/holdmusic'));
  } catch {
    return false;
  }
}

export interface MediaLibraryOptions {
  speech: Speech;
  /** When set, <Play> fetches only URLs under it (the engine requests no URL outside it either). */
  callbackBase?: string;
  log: (msg: string) => void;
}

/** The audio of each <Say> text and <Play> URL, prepared once and shared by every leg. */
export class MediaLibrary {
  private music?: Int16Array;
  private readonly files = new Map<string, Promise<Int16Array>>();
  private readonly substituted = new Set<string>();

  constructor(private readonly opts: MediaLibraryOptions) {}

  /** The local hold music (synthesised on first use). */
  holdMusic(): Int16Array {
    this.music ??= synthesizeHoldMusic();
    return this.music;
  }

  /** The audio for `hears` (say or play); resolves when it is ready. */
  load(hears: Hears): Promise<Int16Array> {
    if (hears.what === 'say') {
      const text = hears.text ?? '';
      return this.opts.speech.speak(text).catch((err: unknown) => {
        this.opts.log(`twilio-local: cannot speak "${text.slice(0, 40)}" (${(err as Error).message}); the caption alone says it`);
        throw err;
      });
    }
    if (hears.what === 'play') return this.file(hears.url ?? '');
    return Promise.resolve(new Int16Array(0));
  }

  /**
   * A <Play> URL: Twilio's hold music → the local music; a WAV file the stand-in may fetch → its audio; anything else
   * (an MP3, a URL outside callbackBase, a fetch that fails) → the local music, said once in the log.
   */
  private file(url: string): Promise<Int16Array> {
    if (isTwilioHoldMusic(url)) return Promise.resolve(this.holdMusic());
    let pcm = this.files.get(url);
    if (!pcm) {
      pcm = this.fetchWav(url).catch((err: unknown) => {
        if (!this.substituted.has(url)) {
          this.substituted.add(url);
          this.opts.log(`twilio-local: cannot play ${url} (${(err as Error).message}); playing the local hold music instead`);
        }
        return this.holdMusic();
      });
      this.files.set(url, pcm);
    }
    return pcm;
  }

  private async fetchWav(url: string): Promise<Int16Array> {
    if (this.opts.callbackBase && !url.startsWith(this.opts.callbackBase)) throw new Error('outside the callback base');
    if (!/^https?:/i.test(url)) throw new Error('not an http URL');
    const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = new Uint8Array(await res.arrayBuffer());
    if (body.length > MAX_PLAY_BYTES) throw new Error('file too large');
    // Only WAV is decoded here (no MP3 decoder is shipped): README, what the stand-in does not model.
    return toTelephone(parseWav(body));
  }
}

/**
 * Plays one leg's current media. `sync(seq, hears)` restarts it when the engine starts a new verb (or hold); frames
 * are silence until the audio is ready, and the audio starts from its beginning once it is.
 */
export class LegPlayer {
  private seq = -1;
  private hears?: Hears;
  private audio?: Int16Array;
  private position = 0;
  private playsLeft = 0;

  constructor(private readonly library: MediaLibrary) {}

  /** Follows the engine's media: a new `seq` means a new verb started. */
  sync(seq: number, hears: Hears): void {
    if (seq === this.seq) return;
    this.seq = seq;
    this.hears = hears;
    this.audio = undefined;
    this.position = 0;
    // https://www.twilio.com/docs/voice/twiml/play#attributes-loop and /say#attributes-loop : 0 repeats until the verb ends
    this.playsLeft = hears.loop === 0 ? Infinity : Math.max(1, hears.loop ?? 1);
    if (hears.what !== 'say' && hears.what !== 'play') return;
    const wanted = seq;
    this.library.load(hears).then(
      (audio) => {
        if (this.seq === wanted) this.audio = audio;
      },
      () => undefined,
    );
  }

  /** Adds the next 20 ms of this leg's media to `mix`. */
  addFrame(mix: Int32Array): void {
    const audio = this.audio;
    if (!audio || audio.length === 0 || this.playsLeft <= 0 || this.hears === undefined) return;
    for (let i = 0; i < FRAME_SAMPLES; i++) {
      if (this.position >= audio.length) {
        this.position = 0;
        if (--this.playsLeft <= 0) return;
      }
      mix[i] = (mix[i] as number) + (audio[this.position++] as number);
    }
  }
}
