// Signalling for the legs' audio, on the channels the pages already use: the phone page posts its WebRTC offer next to
// its call, the device double next to its call actions (with its Access Token). One offer, one answer: the offer
// carries the page's candidates and the answer the stand-in's, so there is no trickle and no STUN or TURN.
import express, { type Request, type Response, type Router } from 'express';
import { AccessTokenError, verifyAccessToken } from '../access-token';
import type { DeviceAuth } from '../device';
import type { Engine } from '../engine';
import { TERMINAL } from '../types';

/** What the routes need from the audio: a peer for a call's leg. */
export interface AudioConnector {
  /** Answers `offerSdp` with a peer attached to `callSid`'s leg. */
  connect(callSid: string, offerSdp: string): Promise<string>;
}

/** An SDP is a few kilobytes; anything much larger is not an offer. */
const MAX_SDP = 64 * 1024;

/** Builds the media routes (under /local/phone and /local/device, like the channels they extend). */
export function createSignallingRouter(engine: Engine, audio: AudioConnector, auth: DeviceAuth): Router {
  const router = express.Router();
  const json = express.json({ limit: '100kb' });

  const fail = (res: Response, status: number, code: number, message: string): void => {
    res.status(status).json({ code, message });
  };

  const answer = async (res: Response, callSid: string, sdp: unknown): Promise<void> => {
    if (typeof sdp !== 'string' || !sdp.startsWith('v=0') || sdp.length > MAX_SDP) return fail(res, 400, 400, 'Expected { sdp } with a WebRTC offer');
    try {
      res.json({ sdp: await audio.connect(callSid, sdp) });
    } catch (err) {
      fail(res, 409, 31009, `No audio for this call: ${(err as Error).message}`);
    }
  };

  /** @route POST /local/phone/calls/:callSid/media {sdp} — the phone page's offer; answers { sdp }. */
  router.post('/local/phone/calls/:callSid/media', json, async (req: Request, res: Response) => {
    const call = engine.getCall(String(req.params.callSid));
    if (!call || call.direction !== 'inbound') return fail(res, 404, 20404, 'No such call');
    if (TERMINAL.has(call.status)) return fail(res, 409, 31009, 'The call has ended');
    await answer(res, call.sid, (req.body as { sdp?: unknown } | undefined)?.sdp);
  });

  /** @route POST /local/device/calls/:callSid/media {deviceId, sdp} — the device double's offer for a call it answered. */
  router.post('/local/device/calls/:callSid/media', json, async (req: Request, res: Response) => {
    const m = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '');
    let identity: string;
    try {
      if (!m?.[1]) throw new AccessTokenError(20101, 'Invalid Access Token');
      identity = verifyAccessToken(m[1], auth).identity;
    } catch (err) {
      const e = err instanceof AccessTokenError ? err : new AccessTokenError(20101, 'Invalid Access Token');
      return fail(res, 401, e.code, e.message);
    }
    const call = engine.getCall(String(req.params.callSid));
    if (!call) return fail(res, 404, 20404, 'No such call');
    if (call.identity !== identity) return fail(res, 403, 20403, 'This call is not for this identity');
    const b = (req.body ?? {}) as { deviceId?: unknown; sdp?: unknown };
    if (call.status !== 'in-progress' || call.answeredDevice !== b.deviceId) return fail(res, 409, 31009, 'This device has not answered this call');
    await answer(res, call.sid, b.sdp);
  });

  return router;
}
