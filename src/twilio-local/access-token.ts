// Verifies Twilio Access Tokens (HS256 JWTs) presented by the browser device double.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** A verified device identity. */
export interface VerifiedToken {
  identity: string;
  expiresAt: number; // epoch seconds
  incomingAllowed: boolean;
}

/** A token failure with Twilio's error code. */
export class AccessTokenError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'AccessTokenError';
  }
}

function b64json(part: string): Record<string, unknown> {
  const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  if (!value || typeof value !== 'object') throw new Error('not an object');
  return value as Record<string, unknown>;
}

/**
 * Verifies an Access Token the way Twilio's signalling service does and returns its identity.
 * https://www.twilio.com/docs/iam/access-tokens#anatomy-of-an-access-token : header cty "twilio-fpa;v=1",
 * iss = API Key SID, sub = Account SID, signed with the API Key secret (HS256).
 * Error codes: https://www.twilio.com/docs/api/errors/20101 (invalid), 20102 (bad header), 20103 (iss/sub),
 * 20104 (expired), 20106 (grants), 20107 (signature).
 */
export function verifyAccessToken(
  token: string,
  expect: { apiKeySid: string; apiKeySecret: string; accountSid: string },
  nowSeconds = Math.floor(Date.now() / 1000),
): VerifiedToken {
  const parts = token.split('.');
  if (parts.length !== 3) throw new AccessTokenError(20101, 'Invalid Access Token');
  const [h, p, s] = parts as [string, string, string];
  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  try {
    header = b64json(h);
    payload = b64json(p);
  } catch {
    throw new AccessTokenError(20101, 'Invalid Access Token');
  }
  if (header.alg !== 'HS256' || header.cty !== 'twilio-fpa;v=1') {
    throw new AccessTokenError(20102, 'Invalid Access Token header');
  }
  const expected = createHmac('sha256', expect.apiKeySecret).update(`${h}.${p}`).digest();
  const given = Buffer.from(s, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new AccessTokenError(20107, 'Invalid Access Token signature');
  }
  if (payload.iss !== expect.apiKeySid || payload.sub !== expect.accountSid) {
    throw new AccessTokenError(20103, 'Invalid Access Token issuer/subject');
  }
  const exp = payload.exp;
  if (typeof exp !== 'number' || exp <= nowSeconds) {
    throw new AccessTokenError(20104, 'Access Token expired or expiration date invalid');
  }
  if (typeof payload.nbf === 'number' && payload.nbf > nowSeconds) {
    throw new AccessTokenError(20105, 'Access Token not yet valid');
  }
  const grants = payload.grants as { identity?: unknown; voice?: { incoming?: { allow?: unknown } } } | undefined;
  if (!grants || typeof grants.identity !== 'string' || grants.identity === '' || !grants.voice) {
    throw new AccessTokenError(20106, 'Invalid Access Token grants');
  }
  return { identity: grants.identity, expiresAt: exp, incomingAllowed: grants.voice.incoming?.allow === true };
}
