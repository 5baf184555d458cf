// One leg's WebRTC peer in the stand-in (werift, pure TypeScript): answers the page's offer with PCMU only, keeps what
// the page says in a small jitter buffer, and sends what the leg hears as 20 ms RTP packets.
import { randomInt } from 'node:crypto';
import type { MediaStreamTrack as WeriftTrack, RTCPeerConnection as WeriftPeer, RtpPacket as WeriftRtpPacket } from 'werift';
import { decodeUlaw, encodeUlaw, FRAME_SAMPLES } from './codec';

type Werift = typeof import('werift');
let werift: Promise<Werift> | undefined;
/** werift is loaded on the first call that brings audio, not when the stand-in is imported. */
function loadWerift(): Promise<Werift> {
  werift ??= import('werift');
  return werift;
}

/** Frames buffered before playing out (and again after running dry): 40 ms absorbs a late packet. */
const JITTER_TARGET = 2 * FRAME_SAMPLES;
/** More than this buffered (the page's clock runs fast, or packets came in a burst): drop back to the target. */
const JITTER_MAX = 6 * FRAME_SAMPLES;
/** How long the answer waits for werift to gather its host candidates (loopback: a few ms). */
const GATHER_TIMEOUT_MS = 2000;

/** A leg's peer. */
export class LegPeer {
  private readonly buffer = new Int16Array(16 * FRAME_SAMPLES);
  private buffered = 0;
  private filling = true;
  private sequence = randomInt(0, 0x10000);
  private timestamp = randomInt(0, 0x100000000);
  private readonly ssrc = randomInt(1, 0x100000000);
  private readonly payload = Buffer.alloc(FRAME_SAMPLES);
  private closed = false;
  private readonly closeHandlers: Array<() => void> = [];
  private readonly connectHandlers: Array<() => void> = [];
  /** True once DTLS is up and media flows. */
  connected = false;
  /** RTP packets received and sent (the benchmark reads them). */
  received = 0;
  sent = 0;

  private constructor(
    private readonly werift: Werift,
    private readonly pc: WeriftPeer,
    private readonly track: WeriftTrack,
  ) {}

  /**
   * Answers a page's SDP offer (one audio m-line, non-trickle: its candidates are in the offer). The answer lists
   * PCMU only, so the page sends and receives G.711 µ-law at 8 kHz; no other codec is modelled.
   */
  static async answer(offerSdp: string): Promise<{ peer: LegPeer; sdp: string }> {
    const w = await loadWerift();
    const pc = new w.RTCPeerConnection({
      codecs: { audio: [new w.RTCRtpCodecParameters({ mimeType: 'audio/PCMU', clockRate: 8000, channels: 1, payloadType: 0 })], video: [] },
      iceUseIpv6: false,
      // The pages run on this machine (demo mode listens on 127.0.0.1): loopback always works, with no STUN or TURN.
      iceAdditionalHostAddresses: ['127.0.0.1'],
    });
    const track = new w.MediaStreamTrack({ kind: 'audio' });
    const peer = new LegPeer(w, pc, track);
    try {
      pc.onTrack.subscribe((remote) => remote.onReceiveRtp.subscribe((rtp) => peer.receive(rtp)));
      pc.connectionStateChange.subscribe((state) => {
        if (state === 'connected' && !peer.closed) {
          peer.connected = true;
          for (const fn of peer.connectHandlers.splice(0)) fn();
        }
        if (state === 'failed' || state === 'closed') peer.close();
      });
      await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
      const audio = pc.getTransceivers().find((t) => t.kind === 'audio');
      if (!audio) throw new Error('the offer has no audio');
      audio.sender.replaceTrack(track);
      audio.setDirection('sendrecv');
      await pc.setLocalDescription(await pc.createAnswer());
      const deadline = Date.now() + GATHER_TIMEOUT_MS;
      while (pc.iceGatheringState !== 'complete' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      const sdp = pc.localDescription?.sdp;
      if (!sdp) throw new Error('no local description');
      return { peer, sdp };
    } catch (err) {
      peer.close();
      throw err;
    }
  }

  /** Runs `fn` once when media starts to flow. */
  onConnected(fn: () => void): void {
    if (this.connected) fn();
    else if (!this.closed) this.connectHandlers.push(fn);
  }

  /** Runs `fn` once when the peer closes (the page left, ICE failed, or close()). */
  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.closeHandlers.push(fn);
  }

  /** The next 20 ms of what the page said, or undefined while the jitter buffer fills. */
  takeFrame(into: Int16Array): boolean {
    if (this.filling) {
      if (this.buffered < JITTER_TARGET) return false;
      this.filling = false;
    }
    if (this.buffered < FRAME_SAMPLES) {
      this.filling = true;
      return false;
    }
    into.set(this.buffer.subarray(0, FRAME_SAMPLES));
    this.buffer.copyWithin(0, FRAME_SAMPLES, this.buffered);
    this.buffered -= FRAME_SAMPLES;
    return true;
  }

  /** Sends 20 ms of what the leg hears. */
  send(frame: Int32Array): void {
    if (!this.connected || this.closed) return;
    encodeUlaw(frame, this.payload);
    this.sequence = (this.sequence + 1) & 0xffff;
    this.timestamp = (this.timestamp + FRAME_SAMPLES) >>> 0;
    const header = new this.werift.RtpHeader({ payloadType: 0, sequenceNumber: this.sequence, timestamp: this.timestamp, ssrc: this.ssrc, marker: this.sent === 0 });
    this.track.writeRtp(new this.werift.RtpPacket(header, Buffer.from(this.payload)));
    this.sent++;
  }

  /** Slots the mixer skipped: RTP timestamps follow the sampling clock, sent or not (RFC 3550, 5.1). */
  skip(frames: number): void {
    this.sequence = (this.sequence + frames) & 0xffff;
    this.timestamp = (this.timestamp + frames * FRAME_SAMPLES) >>> 0;
  }

  /** Closes the connection; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connected = false;
    this.track.stop();
    this.pc.close().catch(() => undefined);
    this.connectHandlers.length = 0;
    for (const fn of this.closeHandlers.splice(0)) fn();
  }

  private receive(rtp: WeriftRtpPacket): void {
    this.received++;
    // Chromium sends 20 ms packets; other sizes are accepted too, sample by sample.
    const samples = decodeUlaw(rtp.payload);
    if (this.buffered + samples.length > JITTER_MAX) {
      const drop = Math.min(this.buffered, this.buffered + samples.length - JITTER_TARGET);
      this.buffer.copyWithin(0, drop, this.buffered);
      this.buffered -= drop;
    }
    const n = Math.min(samples.length, this.buffer.length - this.buffered);
    this.buffer.set(samples.subarray(0, n), this.buffered);
    this.buffered += n;
  }
}
