// A real HTTP server standing in for Twilio's REST API: records every request and answers like Twilio, slowly or with errors on demand.
// Every request, and every answer it gives, is checked against Twilio's OpenAPI spec (a violation fails the running test).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { recordViolations } from './contract/registry';
import { checkRestAnswer, checkRestRequest } from './contract/rest';
import { rfc2822 } from '../../src/twilio-local/sid';

export interface RecordedRequest {
  method: string;
  path: string;
  /** Form parameters, each name to its values (Twilio repeats StatusCallbackEvent). */
  form: Record<string, string[]>;
  authorization?: string;
  receivedAt: number;
}

export interface Behaviour {
  delayMs?: number;
  /** Answer with this Twilio error instead of success. */
  error?: { status: number; code: number; message: string };
  /** Close the socket without answering. */
  hangUp?: boolean;
  /** Keep each request waiting until release() is called. */
  hold?: boolean;
  /** The status a call fetch (GET …/Calls/<CallSid>.json) answers with ('queued' otherwise). */
  callStatus?: string;
  /** CallSids Twilio does not know: any request about one (fetch, update) answers 404, code 20404. */
  gone?: readonly string[];
}

export interface RestRecorder {
  baseUrl: string;
  requests: RecordedRequest[];
  behave(next: Behaviour): void;
  /** Answers every request held by `hold`. */
  release(): void;
  /** Resolves once at least `count` requests arrived (rejects after `timeoutMs`). */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

/** One form value (the first). */
export function formValue(request: RecordedRequest, name: string): string | undefined {
  return request.form[name]?.[0];
}

const PARTICIPANT_PATH = /\/Conferences\/([^/]+)\/Participants\/([^/]+)\.json$/;
const PARTICIPANTS_PATH = /\/Conferences\/([^/]+)\/Participants\.json$/;
const CALL_SID = /^CA[0-9a-fA-F]{32}$/;

/**
 * A participant resource as Twilio answers a fetch or update
 * (https://www.twilio.com/docs/voice/api/conference-participant-resource#participant-properties): the path names the
 * participant by CallSid or label; Hold, Muted and EndConferenceOnExit reflect what the update asked for.
 */
function participantAnswer(account: string, conferenceSid: string, callSidOrLabel: string, form: Record<string, string[]>, pathname: string): Record<string, unknown> {
  const byCallSid = CALL_SID.test(callSidOrLabel);
  const flag = (name: string, fallback: boolean): boolean => (form[name]?.[0] === undefined ? fallback : form[name]?.[0] === 'true');
  const now = rfc2822(new Date());
  return {
    account_sid: account,
    call_sid: byCallSid ? callSidOrLabel : `CA${randomBytes(16).toString('hex')}`,
    label: byCallSid ? null : callSidOrLabel,
    call_sid_to_coach: form.CallSidToCoach?.[0] ?? null,
    coaching: flag('Coaching', form.CallSidToCoach !== undefined),
    conference_sid: conferenceSid,
    date_created: now,
    date_updated: now,
    end_conference_on_exit: flag('EndConferenceOnExit', false),
    muted: flag('Muted', false),
    hold: flag('Hold', false),
    start_conference_on_enter: flag('StartConferenceOnEnter', true),
    status: 'connected',
    uri: pathname.replace(/^.*(?=\/2010-04-01\/)/, ''),
  };
}

/** Starts the recorder on a free loopback port. */
export async function startRestRecorder(): Promise<RestRecorder> {
  const requests: RecordedRequest[] = [];
  let behaviour: Behaviour = {};
  const waiters = new Set<() => void>();
  const held: Array<() => void> = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form: Record<string, string[]> = {};
      for (const [k, v] of new URLSearchParams(Buffer.concat(chunks).toString())) (form[k] ??= []).push(v);
      const url = new URL(req.url ?? '/', 'http://recorder');
      const query: Record<string, string[]> = {};
      for (const [k, v] of url.searchParams) (query[k] ??= []).push(v);
      requests.push({ method: req.method ?? '', path: url.pathname, form, authorization: req.headers.authorization, receivedAt: Date.now() });
      recordViolations(checkRestRequest({ method: req.method ?? '', path: url.pathname, form, query }));
      const send = (status: number, body?: Record<string, unknown>): void => {
        recordViolations(checkRestAnswer({ method: req.method ?? '', path: url.pathname, status, body }));
        if (body === undefined) return void res.writeHead(status).end();
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      for (const w of waiters) w();
      const current = behaviour;
      const answer = (): void => {
        if (current.hangUp) return void req.socket.destroy();
        const about = /\/Calls\/([^/.]+)\.json$/.exec(url.pathname)?.[1];
        const error = about && current.gone?.includes(about) ? { status: 404, code: 20404, message: `The requested resource ${url.pathname} was not found` } : current.error;
        if (error) {
          send(error.status, { code: error.code, message: error.message, more_info: `https://www.twilio.com/docs/errors/${error.code}`, status: error.status });
          return;
        }
        const sid = `CA${randomBytes(16).toString('hex')}`;
        const account = /Accounts\/([^/]+)/.exec(url.pathname)?.[1] ?? 'AC';
        // Every Delete operation in the spec answers 204 with no body.
        if (req.method === 'DELETE') return void send(204);
        const participant = PARTICIPANT_PATH.exec(url.pathname);
        if (participant) return void send(200, participantAnswer(account, participant[1] ?? '', participant[2] ?? '', form, url.pathname));
        // Participants create: the new participant, named by its new call's SID (https://www.twilio.com/docs/voice/api/conference-participant-resource#create-a-participant-resource).
        const created = req.method === 'POST' ? PARTICIPANTS_PATH.exec(url.pathname) : null;
        if (created) return void send(201, { ...participantAnswer(account, created[1] ?? '', sid, form, url.pathname.replace(/\.json$/, `/${sid}.json`)), label: form.Label?.[0] ?? null, status: 'queued' });
        // A call resource as Twilio answers it (https://www.twilio.com/docs/voice/api/call-resource#call-properties).
        send(req.method === 'POST' && url.pathname.endsWith('/Calls.json') ? 201 : 200, {
          sid: url.pathname.endsWith('/Calls.json') ? sid : (/Calls\/([^/.]+)/.exec(url.pathname)?.[1] ?? sid),
          account_sid: account,
          to: form.To?.[0] ?? null,
          from: form.From?.[0] ?? null,
          status: form.Status?.[0] ?? (req.method === 'GET' ? current.callStatus : undefined) ?? 'queued',
          direction: 'outbound-api',
          api_version: '2010-04-01',
          date_created: rfc2822(new Date()),
          uri: url.pathname.replace(/^.*(?=\/2010-04-01\/)/, ''),
        });
      };
      if (current.hold) held.push(answer);
      else if (current.delayMs) setTimeout(answer, current.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    behave(next) {
      behaviour = next;
    },
    release() {
      for (const answer of held.splice(0)) answer();
    },
    waitForRequests(count, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (requests.length >= count) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(requests.slice());
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${count} REST request(s), got ${requests.length}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
