// Access Tokens for the browser softphone (Voice SDK v2): an API key signs a JWT carrying a VoiceGrant.
import twilio from 'twilio';

const { AccessToken } = twilio.jwt;
export const TOKEN_TTL_SECONDS = 3600;

/**
 * Mints a token that lets `identity` register and receive calls.
 * https://www.twilio.com/docs/iam/access-tokens#create-an-access-token-for-voice
 */
export function createVoiceToken(options: { accountSid: string; apiKey: string; apiSecret: string; identity: string; ttlSeconds?: number }): string {
  const token = new AccessToken(options.accountSid, options.apiKey, options.apiSecret, {
    identity: options.identity,
    ttl: options.ttlSeconds ?? TOKEN_TTL_SECONDS,
  });
  token.addGrant(new AccessToken.VoiceGrant({ incomingAllow: true }));
  return token.toJwt();
}
