// The phone channel: a customer's demo phone that calls one of the configured numbers.
import express, { type Router } from 'express';
import { openSse, type SseStream } from './sse';
import type { Engine } from './engine';
import { AUDIO_CONNECT_MS, type StandInAudio } from './audio';

/** A telephone number in E.164: + and up to 15 digits, not starting with 0. */
const E164 = /^\+[1-9][0-9]{1,14}$/;

/** How long a call placed with audio rings at most while the page's audio connects. */

/** Builds the phone router (paths under /local/phone). */
export function createPhoneRouter(engine: Engine, audio: Pick<StandInAudio, 'whenConnected'>): { router: Router; closeAll: () => void } {
  const router = express.Router();
  const streams = new Set<SseStream>();

  /**
   * @route POST /local/phone/calls {from, to, audio?} — dials `to` from `from` (E.164, not a configured number: 400
   * otherwise); 404 if `to` is not a configured number. With
   * `audio: true` the page is about to post its WebRTC offer (…/media): the call rings until that audio connects
   * (at most 3 s), so the greeting is heard from its start.
   */
  router.post('/local/phone/calls', express.json(), (req, res) => {
    const b = (req.body ?? {}) as { from?: unknown; to?: unknown; audio?: unknown };
    const to = typeof b.to === 'string' ? b.to.trim() : '';
    const from = typeof b.from === 'string' ? b.from.trim() : '';
    if (!engine.isConfiguredNumber(to)) {
      res.status(404).json({ code: 20404, message: 'That number is not configured in twilio-local' });
      return;
    }
    // A caller on the telephone network reaches Twilio with their own number in E.164 (the agent sees it, and calls
    // back on it). A blank one used to become the support line's own number, which the agent could not call back.
    if (!E164.test(from)) {
      res.status(400).json({ code: 400, message: 'Type your own number in E.164, such as +15557654321: the agent sees it and can call you back on it.' });
      return;
    }
    if (engine.isConfiguredNumber(from)) {
      res.status(400).json({ code: 400, message: `${from} is the support line's own number: type your own.` });
      return;
    }
    const call = engine.startInbound(from, to, b.audio === true ? (sid) => audio.whenConnected(sid, AUDIO_CONNECT_MS) : undefined);
    res.status(201).json({ callSid: call.sid });
  });

  /** @route GET /local/phone/calls/:callSid/events — SSE: `status` and `hears` of the caller. */
  router.get('/local/phone/calls/:callSid/events', (req, res) => {
    const call = engine.getCall(req.params.callSid);
    if (!call || call.direction !== 'inbound') {
      res.status(404).json({ code: 20404, message: 'No such call' });
      return;
    }
    const sse = openSse(res);
    streams.add(sse);
    const unsubscribe = engine.subscribePhone(call.sid, (event, data) => sse.send(event, data));
    sse.onClose(() => {
      unsubscribe();
      streams.delete(sse);
    });
  });

  /**
   * @route POST /local/phone/calls/:callSid/digits {digits} — the caller presses keys (1–32 of 0-9, * and #): they feed the
   * call's <Gather>, if one runs. 400 for other characters, 409 when the call is not answered.
   */
  router.post('/local/phone/calls/:callSid/digits', express.json(), (req, res) => {
    const call = engine.getCall(req.params.callSid);
    if (!call || call.direction !== 'inbound') {
      res.status(404).json({ code: 20404, message: 'No such call' });
      return;
    }
    const digits = (req.body as { digits?: unknown } | undefined)?.digits;
    if (typeof digits !== 'string' || !/^[0-9*#]{1,32}$/.test(digits)) {
      res.status(400).json({ code: 400, message: 'digits must be 1-32 of 0-9, * and #' });
      return;
    }
    const error = engine.pressDigits(call, digits);
    if (error) {
      res.status(409).json({ code: 409, message: error });
      return;
    }
    res.json({ callSid: call.sid, digits });
  });

  /** @route POST /local/phone/calls/:callSid/hangup — the caller hangs up. */
  router.post('/local/phone/calls/:callSid/hangup', (req, res) => {
    const call = engine.getCall(req.params.callSid);
    if (!call || call.direction !== 'inbound') {
      res.status(404).json({ code: 20404, message: 'No such call' });
      return;
    }
    engine.callerHangsUp(call);
    res.json({ callSid: call.sid, status: call.status });
  });

  const closeAll = (): void => {
    for (const s of [...streams]) s.close();
    streams.clear();
  };
  return { router, closeAll };
}
