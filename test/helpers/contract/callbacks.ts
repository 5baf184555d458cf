// What Twilio documents for each request it sends an application: voice requests (TwiML fetches), call status
// callbacks and conference status callbacks per event, with the documented value sets. Each row cites its doc page.
import type { Violation } from './registry';

const VOICE_REQUEST = 'https://www.twilio.com/docs/voice/twiml#request-parameters';
const CALL_STATUS_VALUES = 'https://www.twilio.com/docs/voice/twiml#callstatus-values';
const CALL_STATUS_CALLBACK = 'https://www.twilio.com/docs/voice/api/call-resource#statuscallback';
const CALL_PROGRESS_EVENTS = 'https://www.twilio.com/docs/voice/api/call-resource#statuscallbackevent';
const DIAL_ACTION = 'https://www.twilio.com/docs/voice/twiml/dial#action';
const GATHER_ACTION = 'https://www.twilio.com/docs/voice/twiml/gather#action';
const RECORD_ACTION = 'https://www.twilio.com/docs/voice/twiml/record#request-parameters';
const RECORDING_STATUS = 'https://www.twilio.com/docs/voice/twiml/record#recordingstatuscallback';
const CONFERENCE_CALLBACK = 'https://www.twilio.com/docs/voice/twiml/conference#attributes-status-callback-parameters';
const CONFERENCE_LEAVE_CHANGELOG = 'https://www.twilio.com/en-us/changelog/participantcallstatus-and-reasonparticipantleft-attributes-added';

/** How one parameter may look. */
export interface ParameterDoc {
  required: boolean;
  /** Required also when another parameter of the same request has one of these values ("if applicable"). */
  requiredWhen?: { parameter: string; values: readonly string[] };
  values?: readonly string[];
  pattern?: RegExp;
  source: string;
}

/** The parameters Twilio documents for one kind (and event) of request. */
export interface CallbackDoc {
  kind: 'voice' | 'call-status' | 'conference-status' | 'recording-status';
  /** The event the row is for (a CallStatus family or a StatusCallbackEvent value). */
  event: string;
  source: string;
  parameters: Record<string, ParameterDoc>;
}

const req = (source: string, extra: Omit<ParameterDoc, 'required' | 'source'> = {}): ParameterDoc => ({ required: true, source, ...extra });
const opt = (source: string, extra: Omit<ParameterDoc, 'required' | 'source'> = {}): ParameterDoc => ({ required: false, source, ...extra });

const CALL_SID = /^CA[0-9a-fA-F]{32}$/;
const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;
const CONFERENCE_SID = /^CF[0-9a-fA-F]{32}$/;
const BOOL = ['true', 'false'] as const;
const INTEGER = /^\d+$/;
/** "All dates and times in requests from Twilio are GMT in RFC 2822 format", e.g. `Fri, 20 Aug 2010 01:13:42 +0000`. */
const RFC2822 = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$/;

/** CallStatus values (https://www.twilio.com/docs/voice/twiml#request-parameters lists `initiated` too). */
export const CALL_STATUSES = ['queued', 'initiated', 'ringing', 'in-progress', 'completed', 'busy', 'failed', 'no-answer', 'canceled'] as const;
const TERMINAL = ['completed', 'busy', 'failed', 'no-answer', 'canceled'] as const;
const DIRECTIONS = ['inbound', 'outbound-api', 'outbound-dial'] as const;

/** Sent with every voice request ("Twilio *always* sends the following parameters"), and with call status callbacks. */
const CALL_PARAMETERS: Record<string, ParameterDoc> = {
  CallSid: req(VOICE_REQUEST, { pattern: CALL_SID }),
  AccountSid: req(VOICE_REQUEST, { pattern: ACCOUNT_SID }),
  From: req(VOICE_REQUEST),
  To: req(VOICE_REQUEST),
  CallStatus: req(CALL_STATUS_VALUES, { values: CALL_STATUSES }),
  ApiVersion: req(VOICE_REQUEST, { values: ['2010-04-01'] }),
  Direction: req(VOICE_REQUEST, { values: DIRECTIONS }),
  ForwardedFrom: opt(VOICE_REQUEST),
  CallerName: opt(VOICE_REQUEST),
  ParentCallSid: opt(VOICE_REQUEST, { pattern: CALL_SID }),
  CallToken: opt(VOICE_REQUEST),
  // "same value as From / To" (listed with the status callback parameters; Twilio sends them with voice requests too)
  Caller: opt(CALL_STATUS_CALLBACK),
  Called: opt(CALL_STATUS_CALLBACK),
  ...Object.fromEntries(
    ['FromCity', 'FromState', 'FromZip', 'FromCountry', 'ToCity', 'ToState', 'ToZip', 'ToCountry'].map((name) => [name, opt(VOICE_REQUEST)]),
  ),
  ...Object.fromEntries(['CalledCity', 'CalledState', 'CalledZip', 'CalledCountry', 'CallerCity', 'CallerState', 'CallerZip', 'CallerCountry'].map((name) => [name, opt(CALL_STATUS_CALLBACK)])),
};

/** The extra parameters of a request to a <Dial action> URL. */
const DIAL_ACTION_PARAMETERS: Record<string, ParameterDoc> = {
  DialCallStatus: opt(DIAL_ACTION, { values: ['completed', 'answered', 'busy', 'no-answer', 'failed', 'canceled'] }),
  DialCallSid: opt(DIAL_ACTION, { pattern: CALL_SID }),
  DialCallDuration: opt(DIAL_ACTION, { pattern: INTEGER }),
  DialBridged: opt(DIAL_ACTION, { values: BOOL }),
};

/** The extra parameter of a request to a <Gather action> URL: the keys pressed ("Digits"), never empty. */
const GATHER_ACTION_PARAMETERS: Record<string, ParameterDoc> = {
  Digits: opt(GATHER_ACTION, { pattern: /^([0-9*#]+|hangup)$/ }),
};

/** A request to a <Record action> URL adds the recording; Digits (above) is the key that ended it, or 'hangup'. */
const RECORD_ACTION_PARAMETERS: Record<string, ParameterDoc> = {
  RecordingUrl: opt(RECORD_ACTION, { pattern: /^https?:\/\// }),
  RecordingDuration: opt(RECORD_ACTION, { pattern: INTEGER }),
  RecordingSid: opt(RECORD_ACTION, { pattern: /^RE[0-9a-fA-F]{32}$/ }),
};

/** A call status callback adds these to the call parameters (Caller and Called are listed among "all" of them). */
function callStatusRow(event: string, statuses: readonly string[], terminal: boolean): CallbackDoc {
  return {
    kind: 'call-status',
    event,
    source: CALL_PROGRESS_EVENTS,
    parameters: {
      ...CALL_PARAMETERS,
      Caller: req(CALL_STATUS_CALLBACK),
      Called: req(CALL_STATUS_CALLBACK),
      CallStatus: req(CALL_PROGRESS_EVENTS, { values: statuses }),
      Timestamp: req(CALL_PROGRESS_EVENTS, { pattern: RFC2822 }),
      CallbackSource: req(CALL_PROGRESS_EVENTS, { values: ['call-progress-events'] }),
      SequenceNumber: req(CALL_PROGRESS_EVENTS, { pattern: INTEGER }),
      StirStatus: opt(CALL_PROGRESS_EVENTS),
      ...(terminal
        ? {
            // "Only present in terminal events" (CallDuration, SipResponseCode); "only present in the completed event"
            CallDuration: req(CALL_PROGRESS_EVENTS, { pattern: INTEGER }),
            Duration: opt(CALL_PROGRESS_EVENTS, { pattern: INTEGER }),
            SipResponseCode: opt(CALL_PROGRESS_EVENTS, { pattern: INTEGER }),
            RecordingUrl: opt(CALL_PROGRESS_EVENTS),
            RecordingSid: opt(CALL_PROGRESS_EVENTS),
            RecordingDuration: opt(CALL_PROGRESS_EVENTS, { pattern: INTEGER }),
          }
        : {}),
    },
  };
}

/** Every conference status callback; participant events add the participant's state. */
const CONFERENCE_COMMON: Record<string, ParameterDoc> = {
  ConferenceSid: req(CONFERENCE_CALLBACK, { pattern: CONFERENCE_SID }),
  FriendlyName: req(CONFERENCE_CALLBACK),
  AccountSid: req(CONFERENCE_CALLBACK, { pattern: ACCOUNT_SID }),
  SequenceNumber: req(CONFERENCE_CALLBACK, { pattern: INTEGER }),
  Timestamp: req(CONFERENCE_CALLBACK, { pattern: RFC2822 }),
  StatusCallbackEvent: req(CONFERENCE_CALLBACK),
};
const PARTICIPANT: Record<string, ParameterDoc> = {
  CallSid: req(CONFERENCE_CALLBACK, { pattern: CALL_SID }),
  Muted: req(CONFERENCE_CALLBACK, { values: BOOL }),
  Hold: req(CONFERENCE_CALLBACK, { values: BOOL }),
  Coaching: req(CONFERENCE_CALLBACK, { values: BOOL }),
  EndConferenceOnExit: req(CONFERENCE_CALLBACK, { values: BOOL }),
  StartConferenceOnEnter: req(CONFERENCE_CALLBACK, { values: BOOL }),
  // https://www.twilio.com/docs/voice/twiml/conference#attributes-participant-label : at most 128 characters
  ParticipantLabel: opt(CONFERENCE_CALLBACK, { pattern: /^.{1,128}$/s }),
};

/** ReasonConferenceEnded values; all but the first name a participant whose leaving or kick ended the conference. */
const CONFERENCE_END_REASONS = ['conference-ended-via-api', 'last-participant-kicked', 'last-participant-left', 'participant-with-end-conference-on-exit-kicked', 'participant-with-end-conference-on-exit-left'] as const;
const ENDED_BY_A_PARTICIPANT = CONFERENCE_END_REASONS.filter((r) => r !== 'conference-ended-via-api');

function conferenceRow(event: string, parameters: Record<string, ParameterDoc>): CallbackDoc {
  return {
    kind: 'conference-status',
    event,
    source: CONFERENCE_CALLBACK,
    parameters: { ...CONFERENCE_COMMON, StatusCallbackEvent: req(CONFERENCE_CALLBACK, { values: [event] }), ...parameters },
  };
}

/** The table: one row per kind and event. */
export const CALLBACK_DOCS: readonly CallbackDoc[] = [
  { kind: 'voice', event: 'voice request', source: VOICE_REQUEST, parameters: { ...CALL_PARAMETERS, ...DIAL_ACTION_PARAMETERS, ...GATHER_ACTION_PARAMETERS, ...RECORD_ACTION_PARAMETERS } },
  {
    kind: 'recording-status',
    event: 'completed',
    source: RECORDING_STATUS,
    parameters: {
      AccountSid: req(RECORDING_STATUS, { pattern: ACCOUNT_SID }),
      CallSid: req(RECORDING_STATUS, { pattern: CALL_SID }),
      RecordingSid: req(RECORDING_STATUS, { pattern: /^RE[0-9a-fA-F]{32}$/ }),
      RecordingUrl: req(RECORDING_STATUS, { pattern: /^https?:\/\// }),
      RecordingStatus: req(RECORDING_STATUS, { values: ['in-progress', 'completed', 'absent'] }),
      RecordingDuration: req(RECORDING_STATUS, { pattern: INTEGER }),
      RecordingChannels: req(RECORDING_STATUS, { values: ['1', '2'] }),
      RecordingStartTime: req(RECORDING_STATUS, { pattern: RFC2822 }),
      RecordingSource: req(RECORDING_STATUS, { values: ['RecordVerb', 'DialVerb', 'Conference', 'OutboundAPI', 'Trunking', 'StartCallRecordingAPI', 'StartConferenceRecordingAPI'] }),
      ErrorCode: opt(RECORDING_STATUS),
    },
  },
  callStatusRow('initiated', ['initiated', 'queued'], false),
  callStatusRow('ringing', ['ringing'], false),
  // "answered: … Twilio will send an in-progress status"
  callStatusRow('answered', ['in-progress'], false),
  // "completed: … regardless of the termination status (which can be busy, canceled, completed, failed, or no-answer)"
  callStatusRow('completed', TERMINAL, true),
  conferenceRow('conference-start', {}),
  conferenceRow('conference-end', {
    // "Sent on: end", all four; the two about the participant "(if applicable)": when a participant's leaving or kick
    // ended the conference, as the four participant reasons say. Whether that participant had a label only the
    // stream of events shows (webhookChecker).
    ReasonConferenceEnded: req(CONFERENCE_CALLBACK, { values: CONFERENCE_END_REASONS }),
    Reason: req(CONFERENCE_CALLBACK, { pattern: /\S/ }),
    CallSidEndingConference: opt(CONFERENCE_CALLBACK, { pattern: CALL_SID, requiredWhen: { parameter: 'ReasonConferenceEnded', values: ENDED_BY_A_PARTICIPANT } }),
    ParticipantLabelEndingConference: opt(CONFERENCE_CALLBACK, { pattern: /^.{1,128}$/s }),
  }),
  conferenceRow('participant-join', PARTICIPANT),
  conferenceRow('participant-leave', {
    ...PARTICIPANT,
    // sent on participant-leave since 2023-10-25 (changelog), with these values (conference page)
    ParticipantCallStatus: req(CONFERENCE_LEAVE_CHANGELOG, { values: ['no-answer', 'busy', 'in-progress', 'failed', 'canceled', 'completed'] }),
    ReasonParticipantLeft: req(CONFERENCE_LEAVE_CHANGELOG, {
      values: ['conference_ended_via_api', 'moderator_ended_conference', 'participant_updated_via_api', 'participant_hung_up', 'participant_add_failed'],
    }),
  }),
  ...['participant-mute', 'participant-unmute', 'participant-hold', 'participant-unhold', 'participant-modify', 'participant-speech-start', 'participant-speech-stop'].map((e) =>
    conferenceRow(e, PARTICIPANT),
  ),
  ...['announcement-end', 'announcement-fail'].map((e) =>
    conferenceRow(e, {
      ...Object.fromEntries(Object.entries(PARTICIPANT).map(([k, v]) => [k, { ...v, required: false }])),
      ReasonAnnouncementFailed: opt(CONFERENCE_CALLBACK),
      AnnounceUrl: opt(CONFERENCE_CALLBACK),
    }),
  ),
];

/** What the stand-in sends: the same shape as its ObservedWebhook. */
export interface SentWebhook {
  kind: 'voice' | 'call-status' | 'conference-status' | 'recording-status';
  url: string;
  method: string;
  params: Record<string, string>;
}

/** The table row for a request, chosen by its kind and its event parameter. */
export function rowFor(webhook: SentWebhook): CallbackDoc | { error: Violation } {
  const where = `${webhook.kind} request to ${webhook.url}`;
  if (webhook.kind === 'voice') return CALLBACK_DOCS[0] as CallbackDoc;
  if (webhook.kind === 'recording-status') return CALLBACK_DOCS.find((r) => r.kind === 'recording-status') as CallbackDoc;
  if (webhook.kind === 'call-status') {
    const status = webhook.params.CallStatus;
    const row = CALLBACK_DOCS.find((r) => r.kind === 'call-status' && r.parameters.CallStatus?.values?.includes(status ?? ''));
    return row ?? { error: { where, parameter: 'CallStatus', message: `is ${JSON.stringify(status)}, which is no call progress event's status`, source: CALL_PROGRESS_EVENTS } };
  }
  const event = webhook.params.StatusCallbackEvent;
  const row = CALLBACK_DOCS.find((r) => r.kind === 'conference-status' && r.event === event);
  const documented = CALLBACK_DOCS.filter((r) => r.kind === 'conference-status').map((r) => r.event);
  return row ?? { error: { where, parameter: 'StatusCallbackEvent', message: `must be one of ${JSON.stringify(documented)} (got ${JSON.stringify(event)})`, source: CONFERENCE_CALLBACK } };
}

/** Every way a request Twilio (or the stand-in) sends leaves the documented parameters of its kind and event. */
export function checkWebhook(webhook: SentWebhook): Violation[] {
  const row = rowFor(webhook);
  if ('error' in row) return [row.error];
  const where = `${webhook.kind} request (${row.event}) to ${webhook.url}`;
  const out: Violation[] = [];
  if (!['GET', 'POST'].includes(webhook.method.toUpperCase())) {
    out.push({ where, message: `is sent with method ${webhook.method}; Twilio requests use GET or POST`, source: VOICE_REQUEST });
  }
  for (const [name, doc] of Object.entries(row.parameters)) {
    const value = webhook.params[name];
    if (value === undefined) {
      const when = doc.requiredWhen;
      const given = when ? webhook.params[when.parameter] : undefined;
      if (doc.required) out.push({ where, parameter: name, message: 'is required but missing', source: doc.source });
      else if (when && given !== undefined && when.values.includes(given)) {
        out.push({ where, parameter: name, message: `is required when ${when.parameter} is ${JSON.stringify(given)}, but missing`, source: doc.source });
      }
      continue;
    }
    if (doc.values && !doc.values.includes(value)) out.push({ where, parameter: name, message: `must be one of ${JSON.stringify(doc.values)} (got ${JSON.stringify(value)})`, source: doc.source });
    else if (doc.pattern && !doc.pattern.test(value)) out.push({ where, parameter: name, message: `does not have the documented form (got ${JSON.stringify(value)})`, source: doc.source });
  }
  for (const name of Object.keys(webhook.params)) {
    if (!(name in row.parameters)) {
      out.push({ where, parameter: name, message: `is not a parameter Twilio documents for ${row.event}`, source: row.source });
    }
  }
  return out;
}

/**
 * A checker for a stream of requests, as the stand-in sends them: each is checked as checkWebhook does, and a
 * conference-end whose CallSidEndingConference names a participant seen earlier with a ParticipantLabel must carry
 * that label as ParticipantLabelEndingConference ("Label of the participant who ended the conference (if applicable)").
 */
export function webhookChecker(): (webhook: SentWebhook) => Violation[] {
  /** `${ConferenceSid} ${CallSid}` → the participant's label, until its conference ends. */
  const labels = new Map<string, string>();
  return (webhook) => {
    const out = checkWebhook(webhook);
    const p = webhook.params;
    if (webhook.kind !== 'conference-status' || !p.ConferenceSid) return out;
    if (p.CallSid && p.ParticipantLabel) labels.set(`${p.ConferenceSid} ${p.CallSid}`, p.ParticipantLabel);
    if (p.StatusCallbackEvent !== 'conference-end') return out;
    const label = p.CallSidEndingConference ? labels.get(`${p.ConferenceSid} ${p.CallSidEndingConference}`) : undefined;
    if (label !== undefined && p.ParticipantLabelEndingConference !== label) {
      out.push({
        where: `conference-status request (conference-end) to ${webhook.url}`,
        parameter: 'ParticipantLabelEndingConference',
        message: `must be ${JSON.stringify(label)}, the label of ${p.CallSidEndingConference} who ended the conference (got ${JSON.stringify(p.ParticipantLabelEndingConference)})`,
        source: CONFERENCE_CALLBACK,
      });
    }
    for (const key of [...labels.keys()]) if (key.startsWith(`${p.ConferenceSid} `)) labels.delete(key);
    return out;
  };
}
