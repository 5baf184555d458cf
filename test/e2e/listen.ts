// Listening in the browser tests: test tones as fake-microphone WAV files, and what a page really plays, measured with
// an AnalyserNode on the stream its <audio> element plays — never from what the stand-in says about itself.
import { writeFileSync } from 'node:fs';
import type { Page } from 'playwright-core';

/** A mono 16-bit 48 kHz WAV of a steady sine (Chromium loops a fake-microphone file). */
export function writeToneWav(file: string, hz: number, seconds = 4, amplitude = 0.3): void {
  const rate = 48000;
  const n = rate * seconds;
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + n * 2, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(n * 2, 40);
  // A whole number of cycles in the file, so the loop joins without a click.
  const cycles = Math.round(hz * seconds);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * cycles * i) / n)), 44 + i * 2);
  writeFileSync(file, b);
}

/** What one page played during a measurement: per frequency, and overall. */
export interface Heard {
  /** False when the page had no call audio at all (no <audio class="twilio-local-audio"> with a stream). */
  playing: boolean;
  /** Per frequency asked: the median and the loudest of the 100 ms snapshots, in dB (AnalyserNode's scale; -200 = silence). */
  tones: Record<number, { median: number; max: number }>;
  /** Overall level (RMS of the waveform) in dBFS: median and loudest snapshot. */
  rms: { median: number; max: number };
}

type PageGlobals = {
  document: { querySelector(s: string): { srcObject: unknown } | null };
  AudioContext: new () => {
    sampleRate: number;
    createMediaStreamSource(s: unknown): { connect(n: unknown): void };
    createAnalyser(): {
      fftSize: number;
      smoothingTimeConstant: number;
      frequencyBinCount: number;
      getFloatFrequencyData(a: Float32Array): void;
      getFloatTimeDomainData(a: Float32Array): void;
    };
    close(): Promise<void>;
  };
};

/**
 * Listens to what `page` plays for `ms` (after `settleMs` for the change to reach it through the jitter buffers), with
 * an AnalyserNode of its own on the <audio> element's stream: the level at each of `freqs` (±2 bins of 5.9 Hz) and
 * the overall RMS, every 100 ms.
 */
export async function listen(page: Page, freqs: number[], ms = 1000, settleMs = 500): Promise<Heard> {
  return page.evaluate(
    async ({ freqs, ms, settleMs }) => {
      const g = globalThis as unknown as PageGlobals;
      const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));
      const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? -200;
      const silent = { playing: false, tones: Object.fromEntries(freqs.map((f) => [f, { median: -200, max: -200 }])), rms: { median: -200, max: -200 } };
      await sleep(settleMs);
      const el = g.document.querySelector('audio.twilio-local-audio');
      if (!el || !el.srcObject) return silent;
      const ctx = new g.AudioContext();
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 8192;
      analyser.smoothingTimeConstant = 0;
      ctx.createMediaStreamSource(el.srcObject).connect(analyser);
      const spectrum = new Float32Array(analyser.frequencyBinCount);
      const wave = new Float32Array(analyser.fftSize);
      const binHz = ctx.sampleRate / analyser.fftSize;
      const tones: number[][] = freqs.map(() => []);
      const rms: number[] = [];
      await sleep(200); // a full FFT window of this stream
      for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) {
        analyser.getFloatFrequencyData(spectrum);
        freqs.forEach((f, i) => {
          const bin = Math.round(f / binHz);
          let peak = -200;
          for (let b = bin - 2; b <= bin + 2; b++) peak = Math.max(peak, spectrum[b] ?? -200);
          tones[i]!.push(peak);
        });
        analyser.getFloatTimeDomainData(wave);
        let sum = 0;
        for (const v of wave) sum += v * v;
        rms.push(Math.max(-200, 20 * Math.log10(Math.sqrt(sum / wave.length))));
      }
      await ctx.close();
      return {
        playing: true,
        tones: Object.fromEntries(freqs.map((f, i) => [f, { median: median(tones[i]!), max: Math.max(...tones[i]!) }])),
        rms: { median: median(rms), max: Math.max(...rms) },
      };
    },
    { freqs, ms, settleMs },
  );
}

/**
 * A tone counts as heard at this median level or above (a test tone arrives at about -25 dB on this scale), and as
 * not heard at this median or below (G.711's quantisation noise under a loud tone sits at -80 to -90 dB; on a loaded
 * 2-core machine, underruns of the other voices in the mix raised it to -69 dB once, so the line is drawn at -60,
 * still 35 dB under a tone that is heard). Medians, not peaks: a jitter-buffer underrun is a click, which lights every
 * frequency for one snapshot.
 */
export const HEARD_DB = -50;
export const NOT_HEARD_DB = -60;

const fmt = (n: number): string => (n <= -200 ? 'silence' : `${n.toFixed(1)} dB`);

/** Asserts `who` hears `what` (a tone) in `heard`, with the levels in the message. */
export function expectHears(heard: Heard, who: string, what: string, hz: number): void {
  const level = heard.tones[hz]!;
  if (!heard.playing || level.median < HEARD_DB) {
    throw new Error(`${who} should hear ${what} (${hz} Hz) but it measured median ${fmt(level.median)}, loudest ${fmt(level.max)} (heard needs median ≥ ${HEARD_DB} dB)${heard.playing ? '' : '; the page plays no call audio'}`);
  }
}

/** Asserts `who` does not hear `what` in `heard`, with the levels in the message. */
export function expectDoesNotHear(heard: Heard, who: string, what: string, hz: number): void {
  const level = heard.tones[hz]!;
  if (level.median > NOT_HEARD_DB) {
    throw new Error(`${who} must not hear ${what} (${hz} Hz) but it measured median ${fmt(level.median)}, loudest ${fmt(level.max)} (not heard needs median ≤ ${NOT_HEARD_DB} dB)`);
  }
}

/** One line for the test's log: every level measured. */
export function describeHeard(who: string, heard: Heard, names: Record<number, string>): string {
  const parts = Object.entries(heard.tones).map(([hz, l]) => `${names[Number(hz)] ?? hz} ${fmt(l.median)} (max ${fmt(l.max)})`);
  return `${who} hears: ${heard.playing ? parts.join(', ') + `; overall ${fmt(heard.rms.median)}` : 'no call audio'}`;
}

/** A voice counts as heard when the overall level's median reaches this (espeak-ng's greeting measures about -20). */
export const SPEECH_DB = -40;

/** Asserts `who` hears speech (`what`): the overall level, with the levels in the message. */
export function expectSpeech(heard: Heard, who: string, what: string): void {
  if (!heard.playing || heard.rms.median < SPEECH_DB) {
    throw new Error(`${who} should hear ${what} but the overall level measured median ${fmt(heard.rms.median)}, loudest ${fmt(heard.rms.max)} (needs median ≥ ${SPEECH_DB} dBFS)${heard.playing ? '' : '; the page plays no call audio'}`);
  }
}
