// The stand-in's own hold music, synthesised at start-up: demo mode plays it wherever Twilio would play its hold music,
// so nothing is downloaded and no recording ships in the repo.
import { SAMPLE_RATE } from './codec';

/** Loop length: the engine's stand-in length of a <Play> (media.ts), so one round of music is one pass of the loop. */
export const HOLD_MUSIC_SECONDS = 10;

/** Middle C, held through every chord: what a listener's spectrum shows while the music plays. */
export const HOLD_MUSIC_PEDAL_HZ = 261.63;

const NOTE: Record<string, number> = { F2: 87.31, A2: 110, C3: 130.81, F3: 174.61, A3: 220, C4: 261.63, E4: 329.63, G4: 392, C5: 523.25, D5: 587.33, E5: 659.26, G5: 783.99 };

// C – Am – F – C, each 2.5 s; every chord keeps C4 (the pedal). The melody stays below 800 Hz.
const CHORDS: Array<{ bass: string; pad: string[]; tune: string[] }> = [
  { bass: 'C3', pad: ['C4', 'E4', 'G4'], tune: ['E5', 'G5', 'E5', 'D5', 'C5'] },
  { bass: 'A2', pad: ['A3', 'C4', 'E4'], tune: ['C5', 'E5', 'C5', 'D5', 'E5'] },
  { bass: 'F2', pad: ['F3', 'A3', 'C4'], tune: ['C5', 'D5', 'C5', 'G5', 'E5'] },
  { bass: 'C3', pad: ['C4', 'E4', 'G4'], tune: ['G5', 'E5', 'D5', 'C5', 'D5'] },
];

/**
 * The music's level under the voices. At full scale it played at about -15 dBFS, above the spoken prompts (a greeting
 * measured -22 dBFS over its voiced part), so a listener who set the volume for the music strained to hear the greeting
 * and the agent. At 0.3 (-10.5 dB) it plays at about -26 dBFS, a few dB under <Say> (test/twilio-local/audio.test.ts).
 */
const MUSIC_GAIN = 0.3;

/** 10 s of soft music at 8 kHz, 16-bit, that loops without a click (every chord fades in and out). */
export function synthesizeHoldMusic(): Int16Array {
  const chordSamples = (HOLD_MUSIC_SECONDS / CHORDS.length) * SAMPLE_RATE;
  const out = new Int16Array(HOLD_MUSIC_SECONDS * SAMPLE_RATE);
  const noteSamples = chordSamples / 5;
  CHORDS.forEach((chord, c) => {
    for (let i = 0; i < chordSamples; i++) {
      const t = i / SAMPLE_RATE;
      const fade = Math.min(1, i / 800, (chordSamples - i) / 800); // 0.1 s in and out
      let v = 0.16 * Math.sin(2 * Math.PI * (NOTE[chord.bass] as number) * t);
      for (const n of chord.pad) v += 0.1 * Math.sin(2 * Math.PI * (NOTE[n] as number) * t);
      const k = Math.floor(i / noteSamples);
      const inNote = (i - k * noteSamples) / SAMPLE_RATE;
      const pluck = Math.exp(-inNote * 5) * Math.min(1, inNote * 200);
      v += 0.12 * pluck * Math.sin(2 * Math.PI * (NOTE[chord.tune[k] as string] as number) * t);
      out[c * chordSamples + i] = Math.round(v * fade * MUSIC_GAIN * 32767);
    }
  });
  return out;
}
