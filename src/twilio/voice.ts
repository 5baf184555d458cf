// What the contact center asks of Twilio's voice side, with Twilio's answers handled once: a call that already ended
// is no failure for a hang-up or a goodbye, a participant already gone is none for a hold, and a passing failure
// (429, 5xx, no answer) of a hold is tried again. Built on the REST caller (src/twilio/rest.ts).
import { apologyTwiml, redirectTwiml } from './twiml';
import type { AddParticipantRequest, DialRequest, ParticipantChange, TwilioRest } from './rest';

/** The voice operations the domain's effects need. */
export interface Voice {
  /** Rings a phone; resolves with Twilio's CallSid. */
  dial(request: DialRequest): Promise<{ sid: string }>;
  /** Ends a call; one that already ended, or that Twilio does not know, is no error. */
  hangUp(callSid: string): Promise<void>;
  /** Whether a call has ended, as Twilio says now (one it does not know has); undefined when Twilio could not say (no answer, an error). */
  callEnded(callSid: string): Promise<boolean | undefined>;
  /**
   * Moves a live call to the TwiML at `url` (out of its conference, if it is in one), reporting its end to
   * `statusCallback`; one that already ended is no error.
   */
  redirectTo(callSid: string, url: string, statusCallback?: string): Promise<void>;
  /** The caller hears `message`, then the call ends; one that already ended is no error. */
  sayAndHangUp(callSid: string, message: string): Promise<void>;
  /** Holds (hearing `holdUrl`) or unholds a conference participant by label; a participant already gone is no error. */
  hold(conferenceSid: string, label: string, on: boolean, holdUrl?: string): Promise<void>;
  /** Adds a participant to a live conference; resolves with its call's SID. */
  addParticipant(conferenceSid: string, request: AddParticipantRequest): Promise<{ callSid: string }>;
  /** Changes a participant's Muted and Coaching, by label; a participant already gone is no error (false). */
  updateParticipant(conferenceSid: string, label: string, change: ParticipantChange): Promise<boolean>;
}

const HOLD_ATTEMPTS = 3;
/** Twilio's call statuses that end a call (a call's final ones): https://www.twilio.com/docs/voice/api/call-resource#call-status-values */
export const ENDED_CALL_STATUSES: ReadonlySet<string> = new Set(['completed', 'busy', 'no-answer', 'failed', 'canceled']);
/** Tries of a participant whose label a leaving leg still holds (0.4 + 0.8 + 1.2 s of waiting at most). */
const LABEL_ATTEMPTS = 4;

/** A Twilio REST error's short description. */
export function describeRestError(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { status?: number; code?: number; message?: string };
    if (e.code || e.status) return `${e.message ?? 'Twilio error'} (status ${e.status ?? '?'}, code ${e.code ?? '?'})`;
    if (e.message) return e.message;
  }
  return String(err);
}

/** Twilio's answer when a call is no longer in progress: https://www.twilio.com/docs/api/errors/21220 */
export function callAlreadyEnded(err: unknown): boolean {
  return (err as { code?: unknown } | undefined)?.code === 21220;
}

/** Twilio's answer for a participant no longer in the conference: 404, https://www.twilio.com/docs/api/errors/20404 */
function participantGone(err: unknown): boolean {
  const e = err as { status?: unknown; code?: unknown } | undefined;
  return e?.status === 404 || e?.code === 20404;
}

/** A failure that may pass if tried again: Twilio's 5xx and 429, or no answer at all. */
function mayPass(err: unknown): boolean {
  const status = (err as { status?: unknown } | undefined)?.status;
  return typeof status !== 'number' || status >= 500 || status === 429;
}

/**
 * Runs a REST change to a call that may have ended meanwhile (the caller hung up), or that Twilio no longer knows (404:
 * a CallSid it never had, or one it has dropped): neither is a failure, there is nothing left to change.
 */
async function unlessCallEnded(work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    if (!callAlreadyEnded(err) && !participantGone(err)) throw err;
  }
}

/** What is tried again: a hold or unhold, or adding a participant whose label is still held. */
export interface VoiceRetry {
  change: 'hold' | 'unhold' | 'add participant';
  label: string;
  error: string;
}

/** The voice side over `rest`; `onRetry` hears of a request tried again. */
export function createVoice(rest: TwilioRest, onRetry: (retry: VoiceRetry) => void = () => undefined): Voice {
  return {
    dial: (request) => rest.dial(request),
    hangUp: (callSid) => unlessCallEnded(() => rest.hangUp(callSid)),
    // A call Twilio does not know (404) is not up: ended, as far as anyone on it is concerned.
    callEnded: (callSid) => rest.callStatus(callSid).then((status) => ENDED_CALL_STATUSES.has(status), (err: unknown) => (participantGone(err) ? true : undefined)),
    // https://www.twilio.com/docs/voice/api/call-resource#update-a-call-resource (Twiml: new instructions for a live call)
    redirectTo: (callSid, url, statusCallback) => unlessCallEnded(() => rest.redirect(callSid, redirectTwiml(url), statusCallback)),
    sayAndHangUp: (callSid, message) => unlessCallEnded(() => rest.redirect(callSid, apologyTwiml(message))),
    // https://www.twilio.com/docs/api/errors/16026 : a label is unique among active participants, and a leg that just
    // ended (a supervisor pressing Leave, then Listen again) holds its label until Twilio has removed it; tried again.
    async addParticipant(conferenceSid, request) {
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await rest.addParticipant(conferenceSid, request);
        } catch (err) {
          if (attempt >= LABEL_ATTEMPTS || (err as { code?: unknown } | undefined)?.code !== 16026) throw err;
          onRetry({ change: 'add participant', label: request.label, error: describeRestError(err) });
          await new Promise((resolve) => setTimeout(resolve, 400 * attempt));
        }
      }
    },
    async updateParticipant(conferenceSid, label, change) {
      try {
        await rest.updateParticipant(conferenceSid, label, change);
        return true;
      } catch (err) {
        if (callAlreadyEnded(err) || participantGone(err)) return false;
        throw err;
      }
    },
    // https://www.twilio.com/docs/voice/api/conference-participant-resource#update-a-participant-resource
    async hold(conferenceSid, label, on, holdUrl) {
      // A customer left on hold by a passing Twilio error would hear music for nobody: a failure that may pass is tried again.
      for (let attempt = 1; ; attempt += 1) {
        try {
          await rest.hold(conferenceSid, label, on, on ? holdUrl : undefined);
          return;
        } catch (err) {
          // The participant (or the whole call) is gone meanwhile: nothing left to hold.
          if (callAlreadyEnded(err) || participantGone(err)) return;
          if (attempt >= HOLD_ATTEMPTS || !mayPass(err)) throw err;
          onRetry({ change: on ? 'hold' : 'unhold', label, error: describeRestError(err) });
          await new Promise((resolve) => setTimeout(resolve, 400 * attempt));
        }
      }
    },
  };
}
