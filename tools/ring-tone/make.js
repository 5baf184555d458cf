// Writes public/audio/ring.wav: the agent page's ring tone, made here so the page needs no external file. A double
// ring (two 0.4 s bursts of 440 + 480 Hz, the North American ringing pair, 0.2 s apart) and 2 s of quiet; the page
// loops it while the softphone rings. 8 kHz, 16-bit mono PCM. Run: node tools/ring-tone/make.js
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const RATE = 8000;
const parts = [[0.4, true], [0.2, false], [0.4, true], [2.0, false]];
const samples = [];
for (const [seconds, on] of parts) {
  const n = Math.round(seconds * RATE);
  for (let i = 0; i < n; i += 1) {
    const t = i / RATE;
    // A short fade in and out of each burst keeps it from clicking.
    const edge = Math.min(1, i / 80, (n - i) / 80);
    const v = on ? 0.35 * edge * (Math.sin(2 * Math.PI * 440 * t) + Math.sin(2 * Math.PI * 480 * t)) : 0;
    samples.push(Math.max(-1, Math.min(1, v)));
  }
}
const data = Buffer.alloc(samples.length * 2);
samples.forEach((v, i) => data.writeInt16LE(Math.round(v * 32767), i * 2));
const header = Buffer.alloc(44);
header.write('RIFF', 0);
header.writeUInt32LE(36 + data.length, 4);
header.write('WAVE', 8);
header.write('fmt ', 12);
header.writeUInt32LE(16, 16);
header.writeUInt16LE(1, 20); // PCM
header.writeUInt16LE(1, 22); // mono
header.writeUInt32LE(RATE, 24);
header.writeUInt32LE(RATE * 2, 28);
header.writeUInt16LE(2, 32);
header.writeUInt16LE(16, 34);
header.write('data', 36);
header.writeUInt32LE(data.length, 40);
const out = path.join(__dirname, '..', '..', 'public', 'audio', 'ring.wav');
fs.writeFileSync(out, Buffer.concat([header, data]));
process.stdout.write(`wrote ${out} (${samples.length / RATE} s)\n`);
