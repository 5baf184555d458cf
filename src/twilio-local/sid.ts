// Generates Twilio-shaped resource identifiers (two-letter prefix + 32 hex digits).
import { randomBytes } from 'node:crypto';

/** Returns a new SID such as `CA0123…` for the given two-letter resource prefix. */
export function newSid(prefix: 'CA' | 'CF' | 'PA' | 'DV' | 'RE'): string {
  return prefix + randomBytes(16).toString('hex');
}

/** Formats a date the way Twilio's 2010-04-01 API does: RFC 2822, GMT. */
export function rfc2822(date: Date): string {
  // https://www.twilio.com/docs/voice/api/call-resource#call-properties : date_created "specified in RFC 2822 format"
  return date.toUTCString().replace('GMT', '+0000');
}

/** Masks a phone number for logs: keeps the last two digits only. */
export function maskNumber(value: string): string {
  if (value.startsWith('client:')) return value;
  return value.length <= 4 ? '***' : `${value.slice(0, 2)}***${value.slice(-2)}`;
}
