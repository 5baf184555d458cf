// The callback table against Twilio's documentation: documented requests pass; a missing parameter, a value outside a
// documented set, or a parameter Twilio does not send for that event is reported by name.
import { CALLBACK_DOCS, checkWebhook, webhookChecker, type SentWebhook } from '../helpers/contract/callbacks';

const ACCOUNT = `AC${'1a'.repeat(16)}`;
const CALL = `CA${'2b'.repeat(16)}`;
const CONFERENCE = `CF${'3c'.repeat(16)}`;
const NOW = 'Wed, 25 Nov 2026 21:00:00 +0000';

const voice: SentWebhook = {
  kind: 'voice',
  url: 'https://app.test/conference/connect/client',
  method: 'POST',
  params: { CallSid: CALL, AccountSid: ACCOUNT, From: '+15551230000', To: '+15557654321', Caller: '+15551230000', Called: '+15557654321', CallStatus: 'ringing', ApiVersion: '2010-04-01', Direction: 'inbound' },
};
const completed: SentWebhook = {
  kind: 'call-status',
  url: 'https://app.test/conference/CA1/agents/agent1/status',
  method: 'POST',
  params: { ...voice.params, Direction: 'outbound-api', CallStatus: 'no-answer', Timestamp: NOW, CallbackSource: 'call-progress-events', SequenceNumber: '2', CallDuration: '0', Duration: '0' },
};
const participant = { CallSid: CALL, Muted: 'false', Hold: 'false', Coaching: 'false', EndConferenceOnExit: 'true', StartConferenceOnEnter: 'false' };
/** A conference-end as Twilio sends it when the customer (endConferenceOnExit) hangs up. */
const ENDED_BY_CUSTOMER = {
  ReasonConferenceEnded: 'participant-with-end-conference-on-exit-left',
  Reason: `Participant ${CALL} with endConferenceOnExit left the conference`,
  CallSidEndingConference: CALL,
};
const conference = (params: Record<string, string>): SentWebhook => ({
  kind: 'conference-status',
  url: 'https://app.test/conference/events',
  method: 'POST',
  params: { ConferenceSid: CONFERENCE, FriendlyName: CALL, AccountSid: ACCOUNT, SequenceNumber: '3', Timestamp: NOW, ...params },
});

test('when every row of the table is read, then each cites a twilio.com documentation page', () => {
  for (const row of CALLBACK_DOCS) {
    expect(row.source).toMatch(/^https:\/\/www\.twilio\.com\//);
    for (const doc of Object.values(row.parameters)) expect(doc.source).toMatch(/^https:\/\/www\.twilio\.com\//);
  }
});

test('when a voice request, a completed call callback and conference events carry what Twilio documents, then they pass', () => {
  expect(checkWebhook(voice)).toEqual([]);
  expect(checkWebhook(completed)).toEqual([]);
  expect(checkWebhook(conference({ StatusCallbackEvent: 'conference-start' }))).toEqual([]);
  expect(checkWebhook(conference({ StatusCallbackEvent: 'participant-join', ...participant, ParticipantLabel: 'agent1' }))).toEqual([]);
  expect(checkWebhook(conference({ StatusCallbackEvent: 'participant-leave', ...participant, ParticipantCallStatus: 'completed', ReasonParticipantLeft: 'participant_hung_up' }))).toEqual([]);
  expect(checkWebhook(conference({ StatusCallbackEvent: 'conference-end', ...ENDED_BY_CUSTOMER, ParticipantLabelEndingConference: 'customer' }))).toEqual([]);
  expect(checkWebhook(conference({ StatusCallbackEvent: 'conference-end', ReasonConferenceEnded: 'conference-ended-via-api', Reason: 'Conference ended via API' }))).toEqual([]);
});

test('when a voice request lacks CallSid, then the violation names CallSid and the request-parameters page', () => {
  const { CallSid: _sid, ...params } = voice.params;

  const [v, ...rest] = checkWebhook({ ...voice, params });

  expect(rest).toEqual([]);
  expect(v!.parameter).toBe('CallSid');
  expect(v!.source).toBe('https://www.twilio.com/docs/voice/twiml#request-parameters');
});

test('when CallStatus is "answered" (an event name, not a status), then it is outside the documented values', () => {
  const [v] = checkWebhook({ ...voice, params: { ...voice.params, CallStatus: 'answered' } });

  expect(v!.parameter).toBe('CallStatus');
  expect(v!.message).toContain('"in-progress"');
});

test('when a terminal call callback lacks CallDuration or a ringing one carries it, then CallDuration is named', () => {
  const { CallDuration: _d, ...params } = completed.params;
  expect(checkWebhook({ ...completed, params }).map((v) => v.parameter)).toEqual(['CallDuration']);

  const ringing = { ...completed.params, CallStatus: 'ringing' };
  expect(checkWebhook({ ...completed, params: ringing }).map((v) => v.parameter).sort()).toEqual(['CallDuration', 'Duration']);
});

test('when a call callback has another CallbackSource, then it is named', () => {
  expect(checkWebhook({ ...completed, params: { ...completed.params, CallbackSource: 'conference-events' } }).map((v) => v.parameter)).toEqual(['CallbackSource']);
});

test('when a participant leaves with an undocumented reason, then ReasonParticipantLeft is named with the documented set', () => {
  const [v] = checkWebhook(conference({ StatusCallbackEvent: 'participant-leave', ...participant, ParticipantCallStatus: 'completed', ReasonParticipantLeft: 'participant_kicked' }));

  expect(v!.parameter).toBe('ReasonParticipantLeft');
  expect(v!.message).toContain('participant_updated_via_api');
});

test('when a participant-join carries ParticipantCallStatus (documented for participant-leave only), then it is named', () => {
  const [v] = checkWebhook(conference({ StatusCallbackEvent: 'participant-join', ...participant, ParticipantCallStatus: 'in-progress' }));

  expect(v!.parameter).toBe('ParticipantCallStatus');
  expect(v!.message).toMatch(/not a parameter Twilio documents for participant-join/);
});

test('when conference-end lacks ReasonConferenceEnded and Reason (both "Sent on: end"), or an event is unknown, then each is named', () => {
  expect(checkWebhook(conference({ StatusCallbackEvent: 'conference-end' })).map((v) => v.parameter).sort()).toEqual(['Reason', 'ReasonConferenceEnded']);
  expect(checkWebhook(conference({ StatusCallbackEvent: 'participant-kick', ...participant })).map((v) => v.parameter)).toEqual(['StatusCallbackEvent']);
});

test('when Muted is not true/false or Timestamp is ISO 8601, then each is named', () => {
  const found = checkWebhook(conference({ StatusCallbackEvent: 'participant-mute', ...participant, Muted: 'yes', Timestamp: '2026-11-25T21:00:00Z' }));

  expect(found.map((v) => v.parameter).sort()).toEqual(['Muted', 'Timestamp']);
});

test('when a participant ended the conference but conference-end lacks CallSidEndingConference, then it is named; ended via the API, it is not needed', () => {
  const { CallSidEndingConference: _sid, ...withoutSid } = ENDED_BY_CUSTOMER;

  const [v, ...rest] = checkWebhook(conference({ StatusCallbackEvent: 'conference-end', ...withoutSid }));

  expect(rest).toEqual([]);
  expect(v!.parameter).toBe('CallSidEndingConference');
  expect(v!.message).toContain('participant-with-end-conference-on-exit-left');
  expect(checkWebhook(conference({ StatusCallbackEvent: 'conference-end', ReasonConferenceEnded: 'conference-ended-via-api', Reason: 'Conference ended via API' }))).toEqual([]);
});

test('when the participant who ended the conference had a label and conference-end does not carry it, then the stream checker names ParticipantLabelEndingConference', () => {
  const check = webhookChecker();
  const end = conference({ StatusCallbackEvent: 'conference-end', ...ENDED_BY_CUSTOMER });
  expect(check(conference({ StatusCallbackEvent: 'participant-join', ...participant, ParticipantLabel: 'customer' }))).toEqual([]);

  const [v, ...rest] = check(end);

  expect(rest).toEqual([]);
  expect(v!.parameter).toBe('ParticipantLabelEndingConference');
  expect(v!.message).toContain('"customer"');
  // without a label seen for that call, nothing is required
  expect(webhookChecker()(end)).toEqual([]);
});
