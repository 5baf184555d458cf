// A page's audio without a browser (the stand-in's tests, bench/audio.ts): a werift peer that offers PCMU as
// public/js/twilio-local-audio.js does, speaks a steady tone (or silence) every 20 ms and keeps the last 10 s it heard.
import { RTCPeerConnection, RTCRtpCodecParameters, MediaStreamTrack, RtpHeader, RtpPacket } from 'werift';
import { decodeUlaw, encodeUlaw, FRAME_SAMPLES, SAMPLE_RATE } from '../../src/twilio-local/audio/codec';

/** Level of `hz` in `samples` (Goertzel), in dB relative to a full-scale sine. */
export function toneDb(samples: Int16Array, hz: number): number {
  const w = (2 * Math.PI * hz) / SAMPLE_RATE;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (const x of samples) {
    const s0 = x / 32768 + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  const amplitude = (2 * Math.sqrt(Math.max(power, 0))) / samples.length;
  return 20 * Math.log10(amplitude || 1e-12);
}

/** Overall level of `samples` in dBFS (RMS). */
export function rmsDb(samples: Int16Array): number {
  let sum = 0;
  for (const x of samples) sum += (x / 32768) ** 2;
  return 10 * Math.log10(sum / Math.max(1, samples.length) || 1e-24);
}

/** One page's audio connection. */
export interface AudioClient {
  /** What it heard from `fromMs` ago until now. */
  heard(lastMs: number): Int16Array;
  /** Speak this tone from now on (0: silence). */
  speak(hz: number): void;
  connected: Promise<void>;
  close(): Promise<void>;
}

/** Offers audio to `url` (a stand-in media route) and speaks `hz` (0: silence). */
export async function connectAudio(url: string, hz: number, body: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<AudioClient> {
  const pc = new RTCPeerConnection({
    codecs: { audio: [new RTCRtpCodecParameters({ mimeType: 'audio/PCMU', clockRate: 8000, channels: 1, payloadType: 0 })], video: [] },
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
  });
  const track = new MediaStreamTrack({ kind: 'audio' });
  pc.addTransceiver(track, { direction: 'sendrecv' });
  const received: Int16Array[] = [];
  pc.onTrack.subscribe((t) =>
    t.onReceiveRtp.subscribe((rtp) => {
      received.push(decodeUlaw(rtp.payload));
      if (received.length > 600) received.splice(0, 100);
    }),
  );
  let resolveConnected = (): void => undefined;
  const connected = new Promise<void>((r) => (resolveConnected = r));
  pc.connectionStateChange.subscribe((s) => s === 'connected' && resolveConnected());
  await pc.setLocalDescription(await pc.createOffer());
  while (pc.iceGatheringState !== 'complete') await new Promise((r) => setTimeout(r, 5));
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify({ ...body, sdp: pc.localDescription!.sdp }) });
  const answer = (await res.json()) as { sdp?: string; message?: string };
  if (!res.ok || !answer.sdp) throw new Error(`media offer refused: ${res.status} ${answer.message ?? ''}`);
  await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });

  let tone = hz;
  let phase = 0;
  let seq = 0;
  let ts = 0;
  const frame = new Int32Array(FRAME_SAMPLES);
  const timer = setInterval(() => {
    for (let i = 0; i < FRAME_SAMPLES; i++) {
      frame[i] = tone ? Math.round(0.3 * 32767 * Math.sin(phase)) : 0;
      phase += (2 * Math.PI * tone) / SAMPLE_RATE;
    }
    seq = (seq + 1) & 0xffff;
    ts = (ts + FRAME_SAMPLES) >>> 0;
    track.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 0, sequenceNumber: seq, timestamp: ts, ssrc: 4242, marker: false }), encodeUlaw(frame)));
  }, 20);

  return {
    connected,
    speak(next) {
      tone = next;
    },
    heard(lastMs) {
      const frames = Math.ceil(lastMs / 20);
      const recent = received.slice(-frames);
      const out = new Int16Array(recent.reduce((n, f) => n + f.length, 0));
      let at = 0;
      for (const f of recent) {
        out.set(f, at);
        at += f.length;
      }
      return out;
    },
    async close() {
      clearInterval(timer);
      await pc.close();
    },
  };
}
