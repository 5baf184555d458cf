// Which host names the app answers for: a defence against DNS rebinding, where a page on another site re-points its
// own name at this server and then talks to it "same-origin" (Host: rebind.example:3000, Origin to match).
import type { RequestHandler } from 'express';
import { HttpError } from '../errors';

/** What a browser reaching this server on the loopback interface calls it (demo mode): any port. */
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);
/** A host name or IP literal, and an optional port: nothing a URL parser could read as more (user info, a path). */
const HOST_HEADER = /^(?:\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::\d{1,5})?$/i;

/**
 * Whether a Host header (name and optional port) names this app: PUBLIC_BASE_URL's host (its default port written or
 * not), and in demo mode also localhost, 127.0.0.1 and [::1] on any port. A rebinding page cannot send any of those:
 * its requests carry its own name.
 */
export function allowedHosts(options: { publicBaseUrl: string; mode: 'twilio' | 'local' }): (host: string | undefined) => boolean {
  const publicUrl = new URL(options.publicBaseUrl);
  return (host) => {
    if (!host || !HOST_HEADER.test(host)) return false;
    // Parsed with the public URL's scheme, so its default port may be written or not (URL drops it), and names compare
    // lower-case.
    let asked: URL;
    try {
      asked = new URL(`${publicUrl.protocol}//${host}`);
    } catch {
      return false; // e.g. a port above 65535
    }
    if (asked.hostname === publicUrl.hostname && asked.port === publicUrl.port) return true;
    return options.mode === 'local' && LOOPBACK_NAMES.has(asked.hostname);
  };
}

/**
 * Refuses a request whose host (Host, or X-Forwarded-Host from a trusted proxy) is not this app's with 421, before
 * anything else reads or writes. `publicBaseUrl` is named in the message so a person who typed another name can go on.
 */
export function requireAllowedHost(isAllowed: (host: string | undefined) => boolean, publicBaseUrl: string): RequestHandler {
  return (req, _res, next) => {
    if (isAllowed(req.host)) return next();
    next(new HttpError(421, `This server does not answer for that host name: open ${publicBaseUrl} instead.`));
  };
}
