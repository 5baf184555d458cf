// Operational errors that carry an HTTP status and a message fit to show people, scripts and Twilio, and the one
// mapping from any error to its status (used by the pages' and the webhooks' error handlers alike).
import { z } from 'zod';
import { DomainError } from './contact-center/errors';

/** An expected failure with a status code; its message is safe to send to the client. */
export class HttpError extends Error {
  constructor(
    public readonly status: number,
    message: string,
    public readonly code?: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** A webhook without a valid X-Twilio-Signature (400 when missing, 403 when wrong). */
export class SignatureError extends HttpError {}

/** Too much of some work is under way: try again in `retryAfterSeconds` (sent as Retry-After). */
export class BusyError extends HttpError {
  constructor(
    message: string,
    public readonly retryAfterSeconds: number,
  ) {
    super(503, message);
    this.name = 'BusyError';
  }
}

/** The store could not be reached or did not answer in time. */
export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`The database is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}

/** MongoDB's (and FerretDB's) duplicate-key error: a unique insert that lost, or a repeated one. */
export function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: unknown } | undefined)?.code === 11000;
}

/** An error's message for a log line (anything thrown, Error or not). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Rejects with `onTimeout()` if `promise` has not settled within `ms`. */
export async function withDeadline<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A client's mistake reported by the framework rather than by our code: a malformed percent-escape in the path
 * (Express throws a URIError while decoding params) or a body the parser refused (too large, bad charset, bad encoding).
 * Returns the status and a message fit to show, or undefined for anything else.
 */
export function clientErrorOf(err: unknown): { status: number; message: string } | undefined {
  if (err instanceof URIError) return { status: 400, message: 'Malformed percent-escape in the request path.' };
  if (typeof err === 'object' && err !== null && 'expose' in err) {
    const { status, expose, message } = err as { status?: unknown; expose?: unknown; message?: unknown };
    if (typeof status === 'number' && status >= 400 && status < 500) return { status, message: expose && typeof message === 'string' ? message : 'Invalid request body.' };
  }
  return undefined;
}

const DOMAIN_STATUS: Record<DomainError['kind'], number> = { 'not-found': 404, conflict: 409, invalid: 400, upstream: 502 };

/**
 * A zod failure in plain words, one sentence per problem: "A wrap-up code needs a name.", "status must be one of:
 * available, away." People read it on a page and scripts in the JSON's `error`; the 400 already says the request was
 * refused, so no "Invalid request:" before it.
 */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => sentence(describeIssue(issue))).join(' ');
}

/** zod's own English messages ("Invalid option: expected one of …"), which ours never start like: said again plainly. */
const ZOD_DEFAULT = /^(Invalid (input|option|string|key|element|union|email|url|uuid|date|number|format)\b|Invalid [A-Za-z ]+$|Too (small|big)\b|Unrecognized keys?\b)/;

/** One issue: our own message (with its field's name, unless the message names the field itself), or zod's said plainly. */
function describeIssue(issue: z.core.$ZodIssue): string {
  const field = issue.path.at(-1);
  const name = issue.path.length > 0 ? issue.path.join('.') : undefined;
  if (ZOD_DEFAULT.test(issue.message)) return plainly(issue, name);
  if (field === undefined) return issue.message;
  const namesIt = typeof field === 'string' && new RegExp(`\\b${field.replace(/[^A-Za-z0-9]/g, '')}\\b`, 'i').test(issue.message) && /^[A-Z]/.test(issue.message);
  return namesIt ? issue.message : `${name} ${issue.message}`;
}

const KINDS: Record<string, string> = { string: 'text', number: 'a number', int: 'a whole number', boolean: 'true or false', object: 'an object', array: 'a list', date: 'a date' };

/** What zod found wrong with field `name` (none: the request itself), in words. */
function plainly(issue: z.core.$ZodIssue, name: string | undefined): string {
  const what = name ?? 'The request';
  switch (issue.code) {
    case 'unrecognized_keys':
      return `${name ? `${name} has ${issue.keys.length === 1 ? 'an unknown field' : 'unknown fields'}` : issue.keys.length === 1 ? 'An unknown field' : 'Unknown fields'}: ${issue.keys.join(', ')}`;
    case 'invalid_value':
      return issue.values.length === 1 ? `${what} must be ${String(issue.values[0])}` : `${what} must be one of: ${issue.values.map(String).join(', ')}`;
    case 'invalid_type':
      return / received undefined$/.test(issue.message) ? `${what} is missing` : `${what} must be ${KINDS[issue.expected] ?? issue.expected}`;
    case 'too_small':
      if (issue.origin === 'string') return Number(issue.minimum) <= 1 ? `${what} may not be empty` : `${what} needs at least ${issue.minimum} characters`;
      return issue.origin === 'array' || issue.origin === 'set' ? `${what} needs at least ${issue.minimum} items` : `${what} must be at least ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `${what} may have at most ${issue.maximum} characters`;
      return issue.origin === 'array' || issue.origin === 'set' ? `${what} may have at most ${issue.maximum} items` : `${what} must be at most ${issue.maximum}`;
    case 'invalid_format':
      return issue.format === 'email' ? `${what} must be an email address` : `${what} is not in the expected form`;
    default:
      return `${what} is not valid`;
  }
}

/** A message as a sentence: with its full stop. */
function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/**
 * The status and message any error is answered with: our own (HttpError, the domain's refusals, a bad request body,
 * the database away) with their message; anything else is 500 with a message that reveals nothing.
 */
export function httpStatusOf(err: unknown): { status: number; message: string; expected: boolean } {
  if (err instanceof HttpError) return { status: err.status, message: err.message, expected: true };
  if (err instanceof DomainError) return { status: DOMAIN_STATUS[err.kind], message: err.message, expected: true };
  if (err instanceof z.ZodError) return { status: 400, message: describeIssues(err), expected: true };
  if (err instanceof StoreUnavailableError) return { status: 503, message: 'The call database is unavailable. Try again in a moment.', expected: true };
  const clientError = clientErrorOf(err);
  if (clientError) return { ...clientError, expected: true };
  return { status: 500, message: 'Something went wrong on our side.', expected: false };
}
