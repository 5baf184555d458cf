// Signed requests to the application: TwiML fetches and the ordered call/conference status callback chains.
import { rfc2822 } from './sid';
import { parseTwiml, TwimlError, type Verb } from './twiml';
import { sendWebhook, type WebhookResult } from './webhook';
import type { Scheduler } from './scheduler';
import type { CallbackChain, LocalCall, LocalConference, ObservedWebhook, Participant } from './state';

/** What the callback sender needs. */
export interface CallbackOptions {
  accountSid: string;
  authToken: string;
  webhookTimeoutMs: number;
  log: (msg: string) => void;
  observeWebhook?: (webhook: ObservedWebhook) => void;
  /** When set, only URLs under it are ever requested. */
  callbackBase?: string;
}

/** True when `url` is an absolute http(s) URL and, if `base` is set, lies under it. */
export function urlAllowed(url: string, base: string | undefined): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
  if (!base) return true;
  const b = new URL(base);
  const basePath = b.pathname.endsWith('/') ? b.pathname : `${b.pathname}/`;
  return u.origin === b.origin && (u.pathname === b.pathname || u.pathname.startsWith(basePath) || basePath === '/');
}

/** Sends the engine's webhooks, signed, in Twilio's order. */
export class Callbacks {
  constructor(
    private readonly opts: CallbackOptions,
    private readonly scheduler: Scheduler,
  ) {}

  /** https://www.twilio.com/docs/voice/twiml#request-parameters : parameters Twilio sends with every voice request. */
  callParams(call: LocalCall): Record<string, string> {
    return {
      CallSid: call.sid,
      AccountSid: this.opts.accountSid,
      From: call.from,
      To: call.to,
      Caller: call.from,
      Called: call.to,
      CallStatus: call.status,
      ApiVersion: '2010-04-01',
      Direction: call.direction,
      ...(call.parentCallSid ? { ParentCallSid: call.parentCallSid } : {}),
    };
  }

  private post(url: string, method: string, params: Record<string, string>, kind: ObservedWebhook['kind']): Promise<WebhookResult> {
    if (!urlAllowed(url, this.opts.callbackBase)) {
      // Never requested: the REST API refuses such URLs; one that arrives in TwiML fails like an unreachable URL.
      return Promise.reject(new Error(`URL outside the allowed callback base: ${url.slice(0, 80)}`));
    }
    this.opts.observeWebhook?.({ kind, url, method, params: { ...params } });
    return sendWebhook({ url, method, params, authToken: this.opts.authToken, timeoutMs: this.opts.webhookTimeoutMs });
  }

  /** Requests TwiML for `call`; throws TwimlError on an HTTP error or a bad document. */
  async fetchTwiml(call: LocalCall, url: string, method: string, extra: Record<string, string> = {}): Promise<Verb[]> {
    const res = await this.post(url, method, { ...this.callParams(call), ...extra }, 'voice');
    if (res.status < 200 || res.status >= 300) {
      throw new TwimlError(`HTTP ${res.status} from webhook (https://www.twilio.com/docs/api/errors/11200)`);
    }
    // https://www.twilio.com/docs/voice/twiml#twilios-request-to-your-application : an audio response is played
    if (/^audio\//i.test(res.contentType)) return [{ verb: 'Play', url, loop: 1 }];
    return parseTwiml(res.body);
  }

  /** Sends a fire-and-forget callback in order after the previous one of the same chain. */
  enqueue(owner: CallbackChain, url: string, method: string, params: Record<string, string>, what: string, kind: ObservedWebhook['kind']): void {
    if (this.scheduler.stopped) return;
    const run = owner.chain.then(async () => {
      if (this.scheduler.stopped) return;
      try {
        const res = await this.post(url, method, params, kind);
        if (res.status < 200 || res.status >= 300) this.opts.log(`twilio-local: ${what} callback answered HTTP ${res.status}`);
      } catch (err) {
        // https://www.twilio.com/docs/api/errors/15003 : a failing status callback is only logged by Twilio
        this.opts.log(`twilio-local: ${what} callback failed: ${(err as Error).message}`);
      }
    });
    owner.chain = run;
    this.scheduler.track(() => run);
  }

  /** A call progress event (https://www.twilio.com/docs/voice/api/call-resource#statuscallbackevent : default completed only). */
  callEvent(call: LocalCall, event: 'initiated' | 'ringing' | 'answered' | 'completed', durationSeconds: number): void {
    if (!call.statusCallback) return;
    if (event !== 'completed' && !call.statusCallbackEvents.has(event)) return;
    if (event === 'completed' && call.statusCallbackEvents.size > 0 && !call.statusCallbackEvents.has('completed')) return;
    const params: Record<string, string> = {
      ...this.callParams(call),
      CallStatus: event === 'initiated' ? 'initiated' : call.status,
      Timestamp: rfc2822(new Date()),
      CallbackSource: 'call-progress-events',
      SequenceNumber: String(call.callbackSequence++),
    };
    if (event === 'completed') {
      params.CallDuration = String(durationSeconds);
      params.Duration = String(Math.ceil(durationSeconds / 60));
    }
    this.enqueue(call, call.statusCallback, call.statusCallbackMethod, params, `call ${event}`, 'call-status');
  }

  /**
   * A conference event, sent only when the conference subscribed to it
   * (https://www.twilio.com/docs/voice/twiml/conference#attributes-statusCallbackEvent : start end join leave mute hold ...).
   */
  confEvent(conf: LocalConference, event: string, extra: Record<string, string>, p?: Participant, call?: LocalCall): void {
    const key = event.replace(/^conference-|^participant-/, '').replace(/^un(?=mute|hold)/, '');
    if (!conf.statusCallback || !conf.statusCallbackEvents.has(key)) return;
    const params: Record<string, string> = {
      AccountSid: this.opts.accountSid,
      ConferenceSid: conf.sid,
      FriendlyName: conf.friendlyName,
      StatusCallbackEvent: event,
      SequenceNumber: String(conf.sequence++),
      Timestamp: rfc2822(new Date()),
      ...extra,
    };
    if (p) {
      Object.assign(params, {
        CallSid: p.callSid,
        Muted: String(p.muted),
        Hold: String(p.hold),
        Coaching: String(p.coaching),
        EndConferenceOnExit: String(p.endConferenceOnExit),
        StartConferenceOnEnter: String(p.startConferenceOnEnter),
        ...(p.label ? { ParticipantLabel: p.label } : {}),
        // https://www.twilio.com/en-us/changelog/participantcallstatus-and-reasonparticipantleft-attributes-added :
        // ParticipantCallStatus comes with participant-leave
        ...(call && event === 'participant-leave' ? { ParticipantCallStatus: call.status } : {}),
      });
    }
    this.enqueue(conf, conf.statusCallback, conf.statusCallbackMethod, params, `conference ${event}`, 'conference-status');
  }
}
