// Who hears whom, as a rule over the engine's state, and the mixer that applies it every 20 ms — without WebRTC: fake
// links that say a constant sample value, so each listener's frame shows exactly whose voices were added into it.
import { decodeUlaw, encodeUlaw, FRAME_SAMPLES, parseWav, resample } from '../../src/twilio-local/audio/codec';
import { hearingOf, Mixer, type AudioWorld, type LegLink, type LegState, type ParticipantState } from '../../src/twilio-local/audio/mixer';
import { MediaLibrary } from '../../src/twilio-local/audio/players';
import { Speech } from '../../src/twilio-local/audio/speech';
import type { Hears } from '../../src/twilio-local/types';

const inConference: Hears = { what: 'conference' };

/** A conference with the customer, Ada and Grace, all talking, and their calls in progress. */
function floor(): { world: AudioWorld; calls: Map<string, LegState>; people: Map<string, ParticipantState> } {
  const calls = new Map<string, LegState>();
  const people = new Map<string, ParticipantState>();
  for (const sid of ['customer', 'ada', 'grace']) {
    calls.set(sid, { status: 'in-progress', hears: inConference, mediaSeq: 0, deviceMuted: false, conferenceSid: 'CF1' });
    people.set(sid, { callSid: sid, hold: false, muted: false, coaching: false });
  }
  const world: AudioWorld = { call: (sid) => calls.get(sid), conference: (sid) => (sid === 'CF1' ? { participants: people } : undefined) };
  return { world, calls, people };
}

describe('who hears whom', () => {
  test('when three talk in a conference, then each hears the two others and not themselves', () => {
    const { world } = floor();
    expect(hearingOf(world, 'customer')).toEqual({ kind: 'conference', from: ['ada', 'grace'] });
    expect(hearingOf(world, 'ada')).toEqual({ kind: 'conference', from: ['customer', 'grace'] });
  });

  test('when the customer is held, then they hear their hold media and nobody hears them', () => {
    const { world, calls, people } = floor();
    people.get('customer')!.hold = true;
    calls.get('customer')!.hears = { what: 'play', url: 'http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3', loop: 0, held: true };
    calls.get('customer')!.mediaSeq = 3;
    expect(hearingOf(world, 'customer')).toEqual({ kind: 'media', seq: 3, hears: calls.get('customer')!.hears });
    expect(hearingOf(world, 'ada')).toEqual({ kind: 'conference', from: ['grace'] });
  });

  test('when Grace is muted (by the conference or her own call.mute()), then nobody hears her and she still hears both', () => {
    const { world, calls, people } = floor();
    people.get('grace')!.muted = true;
    expect(hearingOf(world, 'customer')).toEqual({ kind: 'conference', from: ['ada'] });
    expect(hearingOf(world, 'grace')).toEqual({ kind: 'conference', from: ['customer', 'ada'] });
    people.get('grace')!.muted = false;
    calls.get('grace')!.deviceMuted = true;
    expect(hearingOf(world, 'ada')).toEqual({ kind: 'conference', from: ['customer'] });
  });

  test('when a leg rings or has ended, then it hears nothing and is heard by nobody', () => {
    const { world, calls } = floor();
    calls.get('grace')!.status = 'ringing';
    calls.get('ada')!.status = 'completed';
    expect(hearingOf(world, 'grace')).toEqual({ kind: 'nothing' });
    expect(hearingOf(world, 'ada')).toEqual({ kind: 'nothing' });
    expect(hearingOf(world, 'customer')).toEqual({ kind: 'conference', from: [] });
  });

  test('when the customer waits for the conference to start, then they hear the wait media, not the conference', () => {
    const { world, calls } = floor();
    calls.get('customer')!.hears = { what: 'say', text: 'Thank you for calling.', loop: 1, conference: { name: 'CA1', started: false, participants: 1, held: 0 } };
    expect(hearingOf(world, 'customer')).toMatchObject({ kind: 'media', hears: { what: 'say', text: 'Thank you for calling.' } });
  });
});

/** A link whose page says `value` in every sample, and keeps what it is sent. */
function fakeLink(value: number): LegLink & { sent: Int32Array[] } {
  const closers: Array<() => void> = [];
  return {
    connected: true,
    sent: [],
    takeFrame(into) {
      into.fill(value);
      return true;
    },
    send(frame) {
      this.sent.push(Int32Array.from(frame));
    },
    close() {
      for (const fn of closers.splice(0)) fn();
    },
    onClose(fn) {
      closers.push(fn);
    },
  };
}

describe('speech', () => {
  test("when the stand-in warms its speech with the app's usual phrases, then each is spoken ahead, and a call's own <Say> meanwhile is not held back behind them all", async () => {
    const speech = new Speech();
    try {
      const phrases = ['Thank you for calling.', 'You are next in line.', 'You are number 2 in line.', 'The agent has left the call. Thank you for calling, goodbye.'];
      speech.warm(phrases);
      // A call asks for its own text while the phrases are being spoken: it is spoken before the last of them.
      await speech.speak('Your call is important to us.');
      const readyWhenOwnWas = await speech.isReady(phrases.at(-1)!);

      for (let i = 0; i < 200 && !(await Promise.all(phrases.map((p) => speech.isReady(p)))).every(Boolean); i++) await new Promise((resolve) => setTimeout(resolve, 50));

      expect(await Promise.all(phrases.map((p) => speech.isReady(p)))).toEqual([true, true, true, true]);
      expect(readyWhenOwnWas).toBe(false);
      expect((await speech.speak(phrases[1]!)).length).toBeGreaterThan(1000); // from the cache: real audio
    } finally {
      await speech.stop();
    }
  });
});

describe('the mixer', () => {
  const speech = new Speech();
  afterAll(() => speech.stop());

  test('when it ticks, then each leg gets the sum of the legs it hears, and a held leg gets its media instead', () => {
    const { world, people, calls } = floor();
    const mixer = new Mixer(world, new MediaLibrary({ speech, log: () => undefined }));
    const links = { customer: fakeLink(100), ada: fakeLink(20), grace: fakeLink(3) };
    for (const [sid, link] of Object.entries(links)) mixer.attach(sid, link);

    mixer.tick();
    expect([links.customer.sent[0]![0], links.ada.sent[0]![0], links.grace.sent[0]![0]]).toEqual([23, 103, 120]);

    people.get('customer')!.hold = true;
    calls.get('customer')!.hears = { what: 'silence', held: true };
    mixer.tick();
    expect([links.customer.sent[1]![0], links.ada.sent[1]![0], links.grace.sent[1]![0]]).toEqual([0, 3, 20]);
    expect(links.ada.sent[1]).toHaveLength(FRAME_SAMPLES);
    mixer.stop();
  });

  test('when the process stalls and the mixer skips slots, then every link is told how many, so its RTP clock keeps to the sampling clock (a stall reads as a gap, not as every later packet late)', async () => {
    const { world } = floor();
    const mixer = new Mixer(world, new MediaLibrary({ speech, log: () => undefined }));
    const links = { customer: Object.assign(fakeLink(1), { skipped: 0, skip(n: number) { this.skipped += n; } }), ada: Object.assign(fakeLink(2), { skipped: 0, skip(n: number) { this.skipped += n; } }) };
    for (const [sid, link] of Object.entries(links)) mixer.attach(sid, link);
    await new Promise((resolve) => setTimeout(resolve, 100));

    const stalled = performance.now();
    while (performance.now() - stalled < 400) {
      // the event loop is held, as werift's handshake or a busy machine holds it
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    mixer.stop();

    expect(mixer.stats.skipped).toBeGreaterThan(10);
    expect([links.customer.skipped, links.ada.skipped]).toEqual([mixer.stats.skipped, mixer.stats.skipped]);
  });

  test('when a leg\'s call ends, then its link is closed at the next tick and nobody hears it', () => {
    const { world, calls } = floor();
    const mixer = new Mixer(world, new MediaLibrary({ speech, log: () => undefined }));
    const ada = fakeLink(20);
    const customer = fakeLink(100);
    let closed = false;
    ada.onClose(() => (closed = true));
    mixer.attach('ada', ada);
    mixer.attach('customer', customer);
    calls.get('ada')!.status = 'completed';
    mixer.tick();
    expect({ closed, legs: mixer.size, customerHears: customer.sent[0]![0] }).toEqual({ closed: true, legs: 1, customerHears: 0 });
    mixer.stop();
  });
});

describe('G.711 and PCM', () => {
  test('when samples go through µ-law and back, then they stay within its quantisation step', () => {
    const samples = Int16Array.from({ length: 2000 }, (_, i) => Math.round(30000 * Math.sin(i / 7)));
    const back = decodeUlaw(encodeUlaw(samples));
    const worst = Math.max(...samples.map((s, i) => Math.abs(s - back[i]!) / Math.max(64, Math.abs(s))));
    expect(worst).toBeLessThan(0.07);
  });

  test('when a 22,050 Hz tone is resampled to 8 kHz, then its level is kept and a tone above 4 kHz is removed', () => {
    const tone = (hz: number): Float32Array => Float32Array.from({ length: 22050 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * hz * i) / 22050));
    const peak = (a: Float32Array): number => Math.max(...a.slice(100, -100).map(Math.abs));
    expect(peak(resample({ rate: 22050, samples: tone(1000) }, 8000).samples)).toBeCloseTo(0.5, 1);
    expect(peak(resample({ rate: 22050, samples: tone(6000) }, 8000).samples)).toBeLessThan(0.01);
  });

  test('when a µ-law WAV is read, then its samples come back as floats at its rate', () => {
    const data = encodeUlaw(Int16Array.from([0, 16000, -16000, 0]));
    const wav = Buffer.alloc(44 + data.length);
    wav.write('RIFF', 0);
    wav.writeUInt32LE(36 + data.length, 4);
    wav.write('WAVEfmt ', 8);
    wav.writeUInt32LE(16, 16);
    wav.writeUInt16LE(7, 20);
    wav.writeUInt16LE(1, 22);
    wav.writeUInt32LE(8000, 24);
    wav.writeUInt32LE(8000, 28);
    wav.writeUInt16LE(1, 32);
    wav.writeUInt16LE(8, 34);
    wav.write('data', 36);
    wav.writeUInt32LE(data.length, 40);
    data.copy(wav, 44);
    const pcm = parseWav(wav);
    expect(pcm.rate).toBe(8000);
    expect(Array.from(pcm.samples, (v) => Math.round(v * 100) / 100)).toEqual([0, 0.49, -0.49, 0]);
  });
});

describe('coaching, heard', () => {
  test('when a supervisor coaches Ada, then only Ada hears the supervisor: the customer and Grace do not; the supervisor hears everyone', () => {
    const { world, calls, people } = floor();
    calls.set('sue', { status: 'in-progress', hears: inConference, mediaSeq: 0, deviceMuted: false, conferenceSid: 'CF1' });
    people.set('sue', { callSid: 'sue', hold: false, muted: false, coaching: true, callSidToCoach: 'ada' });

    expect(hearingOf(world, 'ada')).toEqual({ kind: 'conference', from: ['customer', 'grace', 'sue'] });
    expect(hearingOf(world, 'customer')).toEqual({ kind: 'conference', from: ['ada', 'grace'] });
    expect(hearingOf(world, 'grace')).toEqual({ kind: 'conference', from: ['customer', 'ada'] });
    expect(hearingOf(world, 'sue')).toEqual({ kind: 'conference', from: ['customer', 'ada', 'grace'] });
  });

  test('when the supervisor listens (muted), then nobody hears them; when the coached agent leaves or the coach mutes their page, Ada no longer hears them', () => {
    const { world, calls, people } = floor();
    calls.set('sue', { status: 'in-progress', hears: inConference, mediaSeq: 0, deviceMuted: false, conferenceSid: 'CF1' });
    people.set('sue', { callSid: 'sue', hold: false, muted: true, coaching: false });
    for (const who of ['customer', 'ada', 'grace']) expect((hearingOf(world, who) as { from: string[] }).from).not.toContain('sue');

    people.set('sue', { callSid: 'sue', hold: false, muted: false, coaching: true, callSidToCoach: 'ada' });
    calls.get('sue')!.deviceMuted = true;
    expect((hearingOf(world, 'ada') as { from: string[] }).from).not.toContain('sue');
    calls.get('sue')!.deviceMuted = false;
    people.delete('ada');
    calls.get('ada')!.status = 'completed';
    expect(hearingOf(world, 'customer')).toEqual({ kind: 'conference', from: ['grace'] });
  });
});
