// GET /metrics: the operations metrics in Prometheus's text format, for a scraper. With METRICS_TOKEN set, any client
// that presents it (`Authorization: Bearer <token>`); without it, only clients on this machine (loopback, addressing it
// as localhost or a loopback address) that did not come through a proxy. Everyone else: 401 / 403, and nothing read.
import { timingSafeEqual } from 'node:crypto';
import { Router, type Request } from 'express';
import type { Registry } from 'prom-client';

export interface MetricsRouterDeps {
  registry: Registry;
  /** The bearer token a scraper must present; undefined: loopback only. */
  token?: string;
  /** The app's own host names (PUBLIC_BASE_URL's, and demo mode's local ones): a loopback client may name them too. */
  isKnownHost?: (host: string | undefined) => boolean;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/;

/** A Host naming this machine: localhost or a loopback address, with any port. */
const LOOPBACK_HOST = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(:\d{1,5})?$/i;

/**
 * The peer is this machine, no proxy on it forwarded someone else's request, and the request names this machine (a
 * page of another site that a browser here was made to send to it, DNS rebinding, names its own host), or one of the
 * app's own host names.
 */
function fromLoopback(req: Request, isKnownHost: (host: string | undefined) => boolean): boolean {
  const peer = req.socket.remoteAddress ?? '';
  const host = req.get('host');
  return LOOPBACK.test(peer) && (LOOPBACK_HOST.test(host ?? '') || isKnownHost(host)) && req.get('x-forwarded-for') === undefined && req.get('forwarded') === undefined;
}

function presents(req: Request, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1]!);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The Prometheus endpoint. */
export function metricsRouter(deps: MetricsRouterDeps): Router {
  const router = Router();

  /**
   * Operations metrics for Prometheus (text format 0.0.4).
   * @route GET /metrics
   */
  router.get('/metrics', async (req, res) => {
    res.set('Cache-Control', 'no-store');
    if (deps.token !== undefined) {
      if (!presents(req, deps.token)) {
        res.set('WWW-Authenticate', 'Bearer realm="metrics"');
        return res.status(401).type('text/plain').send('A bearer token is required (METRICS_TOKEN).\n');
      }
    } else if (!fromLoopback(req, deps.isKnownHost ?? (() => false))) {
      return res.status(403).type('text/plain').send('Metrics are served to this machine only; set METRICS_TOKEN to scrape from elsewhere.\n');
    }
    res.type(deps.registry.contentType).send(await deps.registry.metrics());
  });

  return router;
}
