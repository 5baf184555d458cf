// Wires the contract checks into what the tests run: the stand-in's observer seam and the app's HTTP server.
import type http from 'node:http';
import type { TwilioLocalObserver } from '../../../src/twilio-local';
import { webhookChecker } from './callbacks';
import { recordViolations } from './registry';
import { checkRestAnswer, checkRestRequest } from './rest';
import { checkTwiml, type TwimlPurpose } from './twiml';

/**
 * An observer for createTwilioLocal({ observe }): every REST exchange and every webhook the stand-in sends is checked.
 * A request the stand-in refused (4xx) is not held against the spec: tests send bad requests on purpose to see the
 * refusal. A request it accepted must be valid, and every answer must match the spec.
 */
export function contractObserver(): TwilioLocalObserver {
  const checkWebhook = webhookChecker();
  return {
    rest(exchange) {
      if (exchange.status < 400) recordViolations(checkRestRequest({ method: exchange.method, path: exchange.path, form: exchange.params }));
      recordViolations(checkRestAnswer({ method: exchange.method, path: exchange.path, status: exchange.status, body: exchange.body }));
    },
    webhook(webhook) {
      recordViolations(checkWebhook(webhook));
    },
  };
}

/**
 * Checks every TwiML document `server` answers (any XML response), e.g. the app's webhooks, whoever asked for it:
 * a test's signed request or the stand-in. `waitPaths` are the paths whose documents are conference waitUrl documents.
 */
export function tapTwimlAnswers(server: http.Server, options: { waitPaths: readonly string[] }): void {
  server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    const isXml = (): boolean => /\bxml\b/i.test(String(res.getHeader('content-type') ?? ''));
    const keep = (chunk: unknown, encoding?: unknown): void => {
      if (chunk === undefined || chunk === null || typeof chunk === 'function' || !isXml()) return;
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk), typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'));
    };
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => http.ServerResponse;
    res.write = ((...args: unknown[]) => {
      keep(args[0], args[1]);
      return write(...args);
    }) as typeof res.write;
    res.end = ((...args: unknown[]) => {
      keep(args[0], args[1]);
      return end(...args);
    }) as typeof res.end;
    res.on('finish', () => {
      if (chunks.length === 0 || req.method === 'HEAD') return;
      const pathname = new URL(req.url ?? '/', 'http://app').pathname;
      const purpose: TwimlPurpose = options.waitPaths.includes(pathname) ? 'wait' : 'voice';
      recordViolations(checkTwiml(Buffer.concat(chunks).toString('utf8'), { purpose, label: `answered by the app to ${req.method} ${pathname} (${res.statusCode})` }));
    });
  });
}
