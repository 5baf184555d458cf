// The Twilio REST caller: the app's only way to place and change calls, pointed at Twilio or at a local stand-in.
import twilio from 'twilio';
import RequestClient from 'twilio/lib/base/RequestClient';

const TWILIO_API_ORIGIN = 'https://api.twilio.com';

export interface DialRequest {
  /** 'client:<identity>' or an E.164 number. */
  to: string;
  from: string;
  /** TwiML URL fetched when the callee answers. */
  url: string;
  statusCallback?: string;
  statusCallbackEvents?: Array<'initiated' | 'ringing' | 'answered' | 'completed'>;
  /** Seconds to ring before giving up with no-answer (Twilio's default is 60). */
  timeoutSeconds?: number;
}

/**
 * A participant the app adds to a live conference (a supervisor's leg): Participants create.
 * https://www.twilio.com/docs/voice/api/conference-participant-resource#create-a-participant-resource
 */
export interface AddParticipantRequest {
  /** 'client:<identity>' or an E.164 number. */
  to: string;
  from: string;
  label: string;
  muted: boolean;
  coaching: boolean;
  /** Required with coaching: the CallSid of the participant coached (who alone hears the coach). */
  callSidToCoach?: string;
  startConferenceOnEnter: boolean;
  endConferenceOnExit: boolean;
  /** Status callback of the participant's own call. */
  statusCallback?: string;
  statusCallbackEvents?: Array<'initiated' | 'ringing' | 'answered' | 'completed'>;
  timeoutSeconds?: number;
}

/** A participant's Muted, Coaching and CallSidToCoach, changed: Participants update. */
export interface ParticipantChange {
  muted: boolean;
  coaching: boolean;
  callSidToCoach?: string;
}

/** What the domain asks of Twilio's REST API. */
export interface TwilioRest {
  /** Places an outbound call; resolves with Twilio's call SID. */
  dial(request: DialRequest): Promise<{ sid: string }>;
  /** Ends a call that is queued, ringing or in progress. */
  hangUp(callSid: string): Promise<void>;
  /** A call's status as Twilio knows it now ('queued', 'ringing', 'in-progress', 'completed', 'busy', …). */
  callStatus(callSid: string): Promise<string>;
  /** Takes a live call out of whatever it is doing and plays it `twiml` instead (and reports its end to `statusCallback`). */
  redirect(callSid: string, twiml: string, statusCallback?: string): Promise<void>;
  /** Puts a conference participant on hold (hearing `holdUrl`) or takes them off it. */
  hold(conferenceSid: string, callSid: string, hold: boolean, holdUrl?: string): Promise<void>;
  /** Adds a participant to a live conference (dialling it); resolves with its call's SID. */
  addParticipant(conferenceSid: string, request: AddParticipantRequest): Promise<{ callSid: string }>;
  /** Changes a participant's Muted, Coaching and CallSidToCoach (addressed by CallSid or label). */
  updateParticipant(conferenceSid: string, callSidOrLabel: string, change: ParticipantChange): Promise<void>;
}

export interface TwilioRestOptions {
  accountSid: string;
  apiKey: string;
  apiSecret: string;
  /** Base of every REST request instead of https://api.twilio.com (a local stand-in, a test recorder). */
  apiBaseUrl: string;
  /** Per-request timeout. */
  timeoutMs?: number;
}

/** A RequestClient that sends every request to `base` instead of api.twilio.com, keeping the path. */
class RebasedRequestClient extends RequestClient {
  constructor(
    private readonly base: string,
    options: RequestClient.RequestClientOptions,
  ) {
    super(options);
  }

  override request<TData>(opts: RequestClient.RequestOptions<TData>) {
    const uri = new URL(opts.uri);
    const rebased = new URL(this.base);
    const basePath = rebased.pathname.replace(/\/+$/, '');
    return super.request<TData>({ ...opts, uri: `${rebased.origin}${basePath}${uri.pathname}${uri.search}` });
  }
}

/** Builds the REST caller. Authenticates with an API key, as Twilio recommends for production. */
export function createTwilioRest(options: TwilioRestOptions): TwilioRest {
  const timeout = options.timeoutMs ?? 10000;
  const rebased = options.apiBaseUrl.replace(/\/+$/, '') !== TWILIO_API_ORIGIN;
  const client = twilio(options.apiKey, options.apiSecret, {
    accountSid: options.accountSid,
    httpClient: rebased ? new RebasedRequestClient(options.apiBaseUrl, { timeout }) : new RequestClient({ timeout }),
  });
  return {
    async dial(request) {
      const call = await client.calls.create({
        to: request.to,
        from: request.from,
        url: request.url,
        method: 'POST',
        ...(request.statusCallback
          ? { statusCallback: request.statusCallback, statusCallbackMethod: 'POST', statusCallbackEvent: request.statusCallbackEvents ?? ['completed'] }
          : {}),
        ...(request.timeoutSeconds ? { timeout: request.timeoutSeconds } : {}),
      });
      return { sid: call.sid };
    },
    async hangUp(callSid) {
      await client.calls(callSid).update({ status: 'completed' });
    },
    // https://www.twilio.com/docs/voice/api/call-resource#fetch-a-call-resource
    async callStatus(callSid) {
      return (await client.calls(callSid).fetch()).status;
    },
    // https://www.twilio.com/docs/voice/api/call-resource#update-a-call-resource (Twiml: new instructions for a live call)
    async redirect(callSid, twiml, statusCallback) {
      await client.calls(callSid).update({ twiml, ...(statusCallback ? { statusCallback } : {}) });
    },
    // https://www.twilio.com/docs/voice/api/conference-participant-resource#update-a-participant-resource
    async hold(conferenceSid, callSid, hold, holdUrl) {
      await client.conferences(conferenceSid).participants(callSid).update({ hold, ...(hold && holdUrl ? { holdUrl, holdMethod: 'POST' } : {}) });
    },
    // https://www.twilio.com/docs/voice/api/conference-participant-resource#create-a-participant-resource
    async addParticipant(conferenceSid, request) {
      const participant = await client.conferences(conferenceSid).participants.create({
        from: request.from,
        to: request.to,
        label: request.label,
        muted: request.muted,
        coaching: request.coaching,
        ...(request.coaching && request.callSidToCoach ? { callSidToCoach: request.callSidToCoach } : {}),
        startConferenceOnEnter: request.startConferenceOnEnter,
        endConferenceOnExit: request.endConferenceOnExit,
        ...(request.statusCallback ? { statusCallback: request.statusCallback, statusCallbackMethod: 'POST', statusCallbackEvent: request.statusCallbackEvents ?? ['completed'] } : {}),
        ...(request.timeoutSeconds ? { timeout: request.timeoutSeconds } : {}),
      });
      return { callSid: participant.callSid };
    },
    // https://www.twilio.com/docs/voice/api/conference-participant-resource#update-a-participant-resource
    async updateParticipant(conferenceSid, callSidOrLabel, change) {
      await client.conferences(conferenceSid).participants(callSidOrLabel).update({
        muted: change.muted,
        coaching: change.coaching,
        ...(change.coaching && change.callSidToCoach ? { callSidToCoach: change.callSidToCoach } : {}),
      });
    },
  };
}
