// The server side of bench/audio.ts, in its own process so its CPU is its own:
//   standin — the local Twilio stand-in with a TwiML app that puts each pair of phone calls in a conference of its own
//             (startConferenceOnEnter on both: they hear each other through the mixer, as a customer and an agent do);
//   bare    — the baseline: the same WebRTC peers and the same 20 ms clock, each leg sent silence, with no engine and
//             no mixing of anyone's voice.
// It tells its parent its port, then answers each 'measure' message with its CPU time and the mixer's clock.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createTwilioLocal } from '../src/twilio-local';
import { Mixer, type AudioWorld } from '../src/twilio-local/audio/mixer';
import { LegPeer } from '../src/twilio-local/audio/peer';
import { MediaLibrary } from '../src/twilio-local/audio/players';
import { Speech } from '../src/twilio-local/audio/speech';

export const SUPPORT_NUMBER = '+15550001111';
const CREDS = { accountSid: `AC${'5e'.repeat(16)}`, authToken: 'bench-audio-auth-token', apiKeySid: `SK${'6f'.repeat(16)}`, apiKeySecret: 'bench-audio-api-secret' };

/** What a 'measure' message answers. */
export interface AudioServerSample {
  cpuMs: number;
  wallMs: number;
  ticks: number;
  late: number;
  skipped: number;
  /** CPU time the mixer's ticks took (the rule, mixing, µ-law, handing packets to werift), in ms. */
  busyCpuMs: number;
  legs: number;
}

async function main(): Promise<void> {
  const mode = process.argv[2];
  const app = express();
  let stats: () => { ticks: number; late: number; skipped: number; busyCpuMs: number; legs: number };
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  if (mode === 'standin') {
    // Each pair's calls come From the same number: the conference is named after it.
    app.post('/voice', express.urlencoded({ extended: false }), (req, res) => {
      const room = String((req.body as { From?: string }).From ?? 'room').replace(/\D/g, '');
      res.type('text/xml').send(`<Response><Dial><Conference startConferenceOnEnter="true" endConferenceOnExit="false">room-${room}</Conference></Dial></Response>`);
    });
    const local = createTwilioLocal({ ...CREDS, numbers: { [SUPPORT_NUMBER]: { voiceUrl: `${url}/voice` } }, log: () => undefined });
    app.use('/twilio-local', local.router);
    stats = () => local.audio.stats();
  } else {
    // Every leg hears silence: the rule and the players cost nothing, what is left is the transport and the clock.
    const world: AudioWorld = { call: () => ({ status: 'in-progress', hears: { what: 'silence' }, mediaSeq: 0, deviceMuted: false }), conference: () => undefined };
    const mixer = new Mixer(world, new MediaLibrary({ speech: new Speech(), log: () => undefined }));
    let next = 0;
    app.post('/offer', express.json(), async (req, res) => {
      const { peer, sdp } = await LegPeer.answer(String((req.body as { sdp?: string }).sdp));
      mixer.attach(`leg-${next++}`, peer);
      res.json({ sdp });
    });
    stats = () => ({ ...mixer.stats, legs: mixer.size });
  }

  const started = performance.now();
  process.on('message', (m) => {
    if (m !== 'measure') return;
    const cpu = process.cpuUsage();
    const s = stats();
    const sample: AudioServerSample = { cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - started, ticks: s.ticks, late: s.late, skipped: s.skipped, busyCpuMs: s.busyCpuMs, legs: s.legs };
    process.send?.(sample);
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ url });
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
