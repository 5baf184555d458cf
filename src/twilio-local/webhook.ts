// Sends signed webhook requests the way Twilio does (form-encoded POST or GET, X-Twilio-Signature).
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks';

/** The outcome of one webhook request. */
export interface WebhookResult {
  status: number;
  contentType: string;
  body: string;
}

/** Options for one webhook request. */
export interface WebhookRequest {
  url: string;
  method: string;
  params: Record<string, string>;
  authToken: string;
  timeoutMs: number;
}

/**
 * Sends one webhook request signed with X-Twilio-Signature.
 * https://www.twilio.com/docs/usage/security#validating-requests : the signature is HMAC-SHA1 over the full URL
 * followed by the POST parameters sorted by name; for GET the parameters are in the URL and not appended.
 * Rejects on network failure or timeout; resolves with any HTTP status.
 */
export async function sendWebhook(req: WebhookRequest): Promise<WebhookResult> {
  const method = req.method.toUpperCase() === 'GET' ? 'GET' : 'POST';
  let url = req.url;
  let body: string | undefined;
  let signature: string;
  if (method === 'GET') {
    const u = new URL(req.url);
    for (const [k, v] of Object.entries(req.params)) u.searchParams.append(k, v);
    url = u.toString();
    signature = getExpectedTwilioSignature(req.authToken, url, {});
  } else {
    body = new URLSearchParams(req.params).toString();
    signature = getExpectedTwilioSignature(req.authToken, url, req.params);
  }
  const res = await fetch(url, {
    method,
    headers: {
      ...(body !== undefined ? { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' } : {}),
      'X-Twilio-Signature': signature,
      'User-Agent': 'TwilioProxy/1.1',
      Accept: '*/*',
    },
    body,
    // https://www.twilio.com/docs/api/errors/11205 : Twilio gives up on a webhook after 15 seconds
    signal: AbortSignal.timeout(req.timeoutMs),
  });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: await res.text() };
}
