// Express middleware that admits only requests signed by Twilio with our auth token.
import type { RequestHandler } from 'express';
import twilio from 'twilio';
import { SignatureError } from '../errors';

/**
 * Checks X-Twilio-Signature against the public URL (publicBaseUrl + path) and the form parameters.
 * Missing → 400, forged → 403, before any handler runs.
 * https://www.twilio.com/docs/usage/security#validating-requests
 */
export function requireTwilioSignature(options: { authToken: string; publicBaseUrl: string }): RequestHandler {
  return (req, _res, next) => {
    const signature = req.header('x-twilio-signature');
    if (!signature) return next(new SignatureError(400, 'Missing X-Twilio-Signature header'));
    const url = `${options.publicBaseUrl}${req.originalUrl}`;
    const params = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
    if (!twilio.validateRequest(options.authToken, signature, url, params)) {
      return next(new SignatureError(403, 'Invalid X-Twilio-Signature'));
    }
    next();
  };
}
