// Operational errors that carry an HTTP status and a message fit to show people, scripts and Twilio.

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
