// The device channel: SSE registration and call control for the browser Voice SDK double.
import express, { type Request, type Response, type Router } from 'express';
import { AccessTokenError, verifyAccessToken, type VerifiedToken } from './access-token';
import { openSse } from './sse';
import type { Engine } from './engine';
import { AUDIO_CONNECT_MS, type StandInAudio } from './audio';

/** What the device channel needs to check tokens. */
export interface DeviceAuth {
  accountSid: string;
  apiKeySid: string;
  apiKeySecret: string;
}

interface Registration {
  identity: string;
  expiresAt: number;
  timers: NodeJS.Timeout[];
  send: (event: string, data: Record<string, unknown>) => void;
  close: () => void;
}

/** Builds the device router (paths under /local/device). */
export function createDeviceRouter(engine: Engine, auth: DeviceAuth, audio?: Pick<StandInAudio, 'whenConnected'>): { router: Router; closeAll: () => void } {
  const router = express.Router();
  const registrations = new Map<string, Registration>();

  const verify = (token: string | undefined): VerifiedToken => {
    if (!token) throw new AccessTokenError(20101, 'Invalid Access Token');
    return verifyAccessToken(token, auth);
  };

  const schedule = (deviceId: string, reg: Registration): void => {
    for (const t of reg.timers) clearTimeout(t);
    const msLeft = reg.expiresAt * 1000 - Date.now();
    // https://www.twilio.com/docs/voice/sdks/javascript/twiliodevice#tokenwillexpire-event : emitted 10 s before expiry
    const warn = setTimeout(() => reg.send('tokenWillExpire', { deviceId }), Math.max(0, msLeft - 10_000));
    // https://www.twilio.com/docs/api/errors/20104 : an expired token ends the registration
    const expire = setTimeout(() => {
      reg.send('error', { code: 20104, message: 'Access Token expired or expiration date invalid' });
      reg.close();
    }, Math.max(0, msLeft));
    warn.unref();
    expire.unref();
    reg.timers = [warn, expire];
  };

  /** @route GET /local/device/events?token=<JWT> — SSE stream; the device is registered while it is open. */
  router.get('/local/device/events', (req: Request, res: Response) => {
    let verified: VerifiedToken;
    const sse = openSse(res);
    try {
      verified = verify(typeof req.query.token === 'string' ? req.query.token : undefined);
      // https://www.twilio.com/docs/voice/sdks/javascript/twiliodevice#deviceregister : registering needs an incoming grant
      if (!verified.incomingAllowed) throw new AccessTokenError(20106, 'Invalid Access Token grants: incoming not allowed');
    } catch (err) {
      const e = err instanceof AccessTokenError ? err : new AccessTokenError(20101, 'Invalid Access Token');
      sse.send('error', { code: e.code, message: e.message });
      sse.close();
      return;
    }
    const reg: Registration = {
      identity: verified.identity,
      expiresAt: verified.expiresAt,
      timers: [],
      send: (event, data) => sse.send(event, data),
      close: () => sse.close(),
    };
    const deviceId = engine.addDevice(verified.identity, reg.send, reg.close);
    registrations.set(deviceId, reg);
    schedule(deviceId, reg);
    sse.onClose(() => {
      for (const t of reg.timers) clearTimeout(t);
      registrations.delete(deviceId);
      engine.removeDevice(deviceId);
    });
    sse.send('registered', { deviceId, identity: verified.identity });
  });

  const bearer = (req: Request): string | undefined => {
    const m = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '');
    const fromBody = (req.body as { token?: unknown } | undefined)?.token;
    return m?.[1] ?? (typeof fromBody === 'string' ? fromBody : undefined);
  };

  const fail = (res: Response, status: number, code: number, message: string): void => {
    res.status(status).json({ code, message });
  };

  /** @route POST /local/device/token {deviceId, token} — Device.updateToken: extends the registration. */
  router.post('/local/device/token', express.json(), (req, res) => {
    const b = (req.body ?? {}) as { deviceId?: string; token?: string };
    let verified: VerifiedToken;
    try {
      verified = verify(b.token);
    } catch (err) {
      const e = err as AccessTokenError;
      return fail(res, 401, e.code ?? 20101, e.message);
    }
    const reg = b.deviceId ? registrations.get(b.deviceId) : undefined;
    if (!reg || !b.deviceId) return fail(res, 404, 20404, 'No such device registration');
    if (reg.identity !== verified.identity) return fail(res, 403, 20403, 'Token identity does not match the device');
    reg.expiresAt = verified.expiresAt;
    schedule(b.deviceId, reg);
    res.json({ deviceId: b.deviceId, identity: reg.identity, expiresAt: reg.expiresAt });
  });

  /** @route POST /local/device/calls/:callSid/:action — accept | reject | disconnect | mute | digits, by the callee only. */
  router.post('/local/device/calls/:callSid/:action', express.json(), (req, res) => {
    let verified: VerifiedToken;
    try {
      verified = verify(bearer(req));
    } catch (err) {
      const e = err as AccessTokenError;
      return fail(res, 401, e.code ?? 20101, e.message);
    }
    const call = engine.getCall(String(req.params.callSid));
    if (!call) return fail(res, 404, 20404, 'No such call');
    if (call.identity !== verified.identity) return fail(res, 403, 20403, 'This call is not for this identity');
    const b = (req.body ?? {}) as { deviceId?: string; muted?: unknown; digits?: unknown; audio?: unknown };
    let error: string | undefined;
    switch (req.params.action) {
      case 'accept':
        // A page bringing audio (not Twilio's API: its SDK sets up the media within accept) gets its TwiML once the
        // audio has connected, as the phone page's call does: what the leg hears first is heard.
        error = engine.accept(call, b.deviceId, audio && b.audio === true ? (sid) => audio.whenConnected(sid, AUDIO_CONNECT_MS) : undefined);
        break;
      case 'reject':
        error = engine.reject(call);
        break;
      case 'disconnect':
        error = engine.deviceHangsUp(call);
        break;
      case 'mute':
        // https://www.twilio.com/docs/voice/sdks/javascript/twiliocall#callmuteshouldmute : muting in the SDK only stops
        // the local microphone; the conference participant's "muted" flag is not changed
        engine.setDeviceMuted(call, b.muted !== false);
        break;
      case 'digits':
        // https://www.twilio.com/docs/voice/sdks/javascript/twiliocall#callsenddigitsdigits : 0-9, *, #, and w (a half-second pause)
        if (typeof b.digits !== 'string' || !/^[0-9*#wW]{1,64}$/.test(b.digits)) return fail(res, 400, 31000, 'digits must be 1-64 of 0-9, *, # and w');
        error = engine.sendDigits(call, b.digits);
        break;
      default:
        return fail(res, 404, 20404, 'Unknown action');
    }
    if (error) return fail(res, 409, 31008, error);
    res.json({ callSid: call.sid, status: call.status, muted: call.deviceMuted });
  });

  const closeAll = (): void => {
    for (const reg of [...registrations.values()]) {
      for (const t of reg.timers) clearTimeout(t);
      reg.close();
    }
    registrations.clear();
  };
  return { router, closeAll };
}
