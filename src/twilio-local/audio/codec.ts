// G.711 µ-law (PCMU, RTP payload type 0) and the small PCM helpers the stand-in's audio needs: WAV parsing, resampling.

/** The stand-in's one media format: 8 kHz mono, 20 ms frames of 160 samples (https://www.rfc-editor.org/rfc/rfc3551#section-4.5.14). */
export const SAMPLE_RATE = 8000;
export const FRAME_SAMPLES = 160;
export const FRAME_MS = 20;

const BIAS = 0x84;
const CLIP = 32635;

/** µ-law byte → 16-bit linear sample (ITU-T G.711). */
export const ULAW_TO_LINEAR: Int16Array = (() => {
  const table = new Int16Array(256);
  for (let i = 0; i < 256; i++) {
    const u = ~i & 0xff;
    const exponent = (u >> 4) & 0x07;
    const magnitude = (((u & 0x0f) << 3) + BIAS) << exponent;
    table[i] = u & 0x80 ? BIAS - magnitude : magnitude - BIAS;
  }
  return table;
})();

/** 14-bit magnitude → µ-law byte without the sign, precomputed so encoding is one lookup per sample. */
const LINEAR_TO_ULAW: Uint8Array = (() => {
  const table = new Uint8Array(65536);
  for (let i = 0; i < 65536; i++) {
    let s = i - 32768;
    const sign = s < 0 ? 0x80 : 0;
    if (s < 0) s = -s;
    if (s > CLIP) s = CLIP;
    s += BIAS;
    let exponent = 7;
    for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; exponent--, mask >>= 1);
    const mantissa = (s >> (exponent + 3)) & 0x0f;
    table[i] = ~(sign | (exponent << 4) | mantissa) & 0xff;
  }
  return table;
})();

/** Encodes linear samples (clamped to 16 bits) as µ-law bytes. */
export function encodeUlaw(samples: Int32Array | Int16Array, out: Buffer = Buffer.alloc(samples.length)): Buffer {
  for (let i = 0; i < samples.length; i++) {
    let s = samples[i] as number;
    if (s > 32767) s = 32767;
    else if (s < -32768) s = -32768;
    out[i] = LINEAR_TO_ULAW[s + 32768] as number;
  }
  return out;
}

/** Decodes µ-law bytes into linear samples. */
export function decodeUlaw(bytes: Uint8Array, out: Int16Array = new Int16Array(bytes.length)): Int16Array {
  for (let i = 0; i < bytes.length; i++) out[i] = ULAW_TO_LINEAR[bytes[i] as number] as number;
  return out;
}

/** Mono samples in [-1, 1] at `rate`. */
export interface Pcm {
  rate: number;
  samples: Float32Array;
}

/**
 * Reads a WAV file: PCM 8/16/24/32-bit integer, 32-bit float, µ-law; any rate; channels are averaged.
 * Throws on anything else (compressed formats other than µ-law).
 */
export function parseWav(file: Uint8Array): Pcm {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not a WAV file');
  let format = 0;
  let channels = 0;
  let rate = 0;
  let bits = 0;
  let data: Buffer | undefined;
  for (let at = 12; at + 8 <= buf.length; ) {
    const id = buf.toString('ascii', at, at + 4);
    // espeak-ng writes 0x7fffffff sizes when it streams; the data then runs to the end of the file
    const size = Math.min(buf.readUInt32LE(at + 4), buf.length - at - 8);
    if (id === 'fmt ') {
      format = buf.readUInt16LE(at + 8);
      channels = buf.readUInt16LE(at + 10);
      rate = buf.readUInt32LE(at + 12);
      bits = buf.readUInt16LE(at + 22);
      if (format === 0xfffe && size >= 26) format = buf.readUInt16LE(at + 32); // WAVE_FORMAT_EXTENSIBLE: the sub-format
    } else if (id === 'data') {
      data = buf.subarray(at + 8, at + 8 + size);
    }
    at += 8 + size + (size & 1);
  }
  if (!data || !channels || !rate) throw new Error('WAV file without fmt or data');
  const bytesPerSample = format === 7 ? 1 : bits / 8;
  const frames = Math.floor(data.length / (bytesPerSample * channels));
  const samples = new Float32Array(frames);
  const read = sampleReader(format, bits, data);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += read((f * channels + c) * bytesPerSample);
    samples[f] = sum / channels;
  }
  return { rate, samples };
}

function sampleReader(format: number, bits: number, data: Buffer): (offset: number) => number {
  if (format === 7) return (o) => (ULAW_TO_LINEAR[data[o] as number] as number) / 32768;
  if (format === 3 && bits === 32) return (o) => data.readFloatLE(o);
  if (format === 1 && bits === 8) return (o) => ((data[o] as number) - 128) / 128;
  if (format === 1 && bits === 16) return (o) => data.readInt16LE(o) / 32768;
  if (format === 1 && bits === 24) return (o) => data.readIntLE(o, 3) / 8388608;
  if (format === 1 && bits === 32) return (o) => data.readInt32LE(o) / 2147483648;
  throw new Error(`unsupported WAV format ${format} with ${bits} bits`);
}

/** Fractional positions between input samples, for the resampler's precomputed filter. */
const PHASES = 256;

/**
 * Resamples to `rate` with a windowed-sinc low-pass at 0.45 of the lower rate, so speech synthesised at 22,050 Hz
 * does not fold its upper band back into the telephone band. The filter is tabulated once per call for 256 fractional
 * positions: no trigonometry per sample (which is slow where Math is another realm's, as in jest's VM).
 */
export function resample(pcm: Pcm, rate: number): Pcm {
  if (pcm.rate === rate) return pcm;
  const ratio = pcm.rate / rate;
  const cutoff = 0.45 * Math.min(1, 1 / ratio); // cycles per input sample
  const half = 16 * Math.max(1, Math.ceil(ratio));
  const taps = 2 * half;
  const table = new Float32Array(PHASES * taps);
  for (let phase = 0; phase < PHASES; phase++) {
    const frac = phase / PHASES;
    for (let k = 0; k < taps; k++) {
      const x = k - half + 1 - frac; // distance from the output position to input sample (first + k)
      const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
      const window = Math.abs(x) >= half ? 0 : 0.5 + 0.5 * Math.cos((Math.PI * x) / half); // Hann
      table[phase * taps + k] = sinc * window;
    }
  }
  const input = pcm.samples;
  const out = new Float32Array(Math.floor(input.length / ratio));
  for (let i = 0; i < out.length; i++) {
    const centre = i * ratio;
    const base = Math.floor(centre);
    const phase = Math.min(PHASES - 1, Math.round((centre - base) * PHASES));
    const first = base - half + 1;
    const row = phase * taps;
    let sum = 0;
    for (let k = 0; k < taps; k++) {
      const j = first + k;
      if (j >= 0 && j < input.length) sum += (input[j] as number) * (table[row + k] as number);
    }
    out[i] = sum;
  }
  return { rate, samples: out };
}

/** [-1, 1] floats → 16-bit samples at the stand-in's rate. */
export function toTelephone(pcm: Pcm, gain = 1): Int16Array {
  const at8k = resample(pcm, SAMPLE_RATE).samples;
  const out = new Int16Array(at8k.length);
  for (let i = 0; i < at8k.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round((at8k[i] as number) * gain * 32767)));
  return out;
}

/** A mono 16-bit PCM WAV file of `samples` at `rate` (what a recording's media URL serves). */
export function wavOf(samples: Int16Array, rate = SAMPLE_RATE): Buffer {
  const data = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) data.writeInt16LE(samples[i] as number, i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}
