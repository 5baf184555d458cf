// The REST checker against Twilio's OpenAPI spec: valid requests pass, and each kind of bad request or answer is
// reported with the operation and the parameter at fault.
import { checkRestAnswer, checkRestRequest } from '../helpers/contract/rest';

const ACCOUNT = `AC${'1a'.repeat(16)}`;
const CALLS = `/2010-04-01/Accounts/${ACCOUNT}/Calls.json`;
const CALL = `/2010-04-01/Accounts/${ACCOUNT}/Calls/CA${'2b'.repeat(16)}.json`;
const CONFERENCE_SID = `CF${'3c'.repeat(16)}`;
const PARTICIPANTS = `/2010-04-01/Accounts/${ACCOUNT}/Conferences/${CONFERENCE_SID}/Participants.json`;

/** The app's dial request, form-encoded as the twilio library sends it (StatusCallbackEvent repeated). */
const DIAL = {
  To: ['client:agent1'],
  From: ['+15557654321'],
  Url: ['https://warm-transfer.example.test/conference/CA1/connect/agent1'],
  Method: ['POST'],
  StatusCallback: ['https://warm-transfer.example.test/conference/CA1/agents/agent1/status'],
  StatusCallbackMethod: ['POST'],
  StatusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
  Timeout: ['20'],
};

function only(found: ReturnType<typeof checkRestRequest>) {
  expect(found).toHaveLength(1);
  return found[0]!;
}

test('when the app dials an agent with repeated StatusCallbackEvent keys, then the request matches CreateCall', () => {
  expect(checkRestRequest({ method: 'POST', path: CALLS, form: DIAL })).toEqual([]);
});

test('when the request goes through a mount point, then the operation is still found by its /2010-04-01 path', () => {
  expect(checkRestRequest({ method: 'POST', path: `/twilio-local${CALLS}`, form: DIAL })).toEqual([]);
});

test('when a parameter is unknown, then the violation names CreateCall and the parameter', () => {
  const v = only(checkRestRequest({ method: 'POST', path: CALLS, form: { ...DIAL, StatusCallbackEvents: ['completed'] } }));

  expect(v.where).toContain('CreateCall');
  expect(v.parameter).toBe('StatusCallbackEvents');
  expect(v.message).toMatch(/not defined by the spec/);
});

test('when StatusCallbackEvent has a misspelt value, then the violation names it and lists the documented values', () => {
  const v = only(checkRestRequest({ method: 'POST', path: CALLS, form: { ...DIAL, StatusCallbackEvent: ['initiated', 'answerd'] } }));

  expect(v.parameter).toBe('StatusCallbackEvent');
  expect(v.message).toContain('"answerd"');
  expect(v.message).toContain('"answered"');
});

test('when the required To is missing, then the violation names To', () => {
  const { To: _to, ...form } = DIAL;

  const v = only(checkRestRequest({ method: 'POST', path: CALLS, form }));

  expect(v.parameter).toBe('To');
  expect(v.message).toMatch(/required/);
});

test('when To is neither E.164, client: nor sip:, then the violation names To', () => {
  expect(only(checkRestRequest({ method: 'POST', path: CALLS, form: { ...DIAL, To: ['agent1'] } })).parameter).toBe('To');
});

test('when a single-valued parameter is repeated, then the violation says so', () => {
  const v = only(checkRestRequest({ method: 'POST', path: CALLS, form: { ...DIAL, Method: ['POST', 'GET'] } }));

  expect(v.parameter).toBe('Method');
  expect(v.message).toMatch(/repeated 2 times/);
});

test('when Timeout is not an integer or a callback URL is relative, then each is named', () => {
  const found = checkRestRequest({ method: 'POST', path: CALLS, form: { ...DIAL, Timeout: ['soon'], StatusCallback: ['/status'] } });

  expect(found.map((v) => v.parameter).sort()).toEqual(['StatusCallback', 'Timeout']);
});

test('when a call is updated with Status=completed or with a TwiML document, then UpdateCall accepts it', () => {
  expect(checkRestRequest({ method: 'POST', path: CALL, form: { Status: ['completed'] } })).toEqual([]);
  expect(checkRestRequest({ method: 'POST', path: CALL, form: { Twiml: ['<?xml version="1.0"?><Response><Say>Bye</Say><Hangup/></Response>'] } })).toEqual([]);
});

test('when UpdateCall gets Status=ended or Twiml that is not a <Response>, then both are named', () => {
  const found = checkRestRequest({ method: 'POST', path: CALL, form: { Status: ['ended'], Twiml: ['<Say>Bye</Say>'] } });

  expect(found.map((v) => v.parameter).sort()).toEqual(['Status', 'Twiml']);
  expect(found.find((v) => v.parameter === 'Status')!.message).toContain('["canceled","completed"]');
});

test('when the call SID in the path is not a CA SID, then the path parameter is named', () => {
  const found = checkRestRequest({ method: 'POST', path: CALL.replace(/CA\w+\.json$/, 'agent1.json'), form: { Status: ['completed'] } });

  expect(found.length).toBeGreaterThan(0);
  expect(new Set(found.map((v) => v.parameter))).toEqual(new Set(['Sid']));
});

test('when a participant is added with space-separated events, then each event is checked against the documented set', () => {
  const form = { From: ['+15557654321'], To: ['client:agent2'], StatusCallbackEvent: ['ringing answered'], ConferenceStatusCallbackEvent: ['start end join leave'], Beep: ['onEnter'] };
  expect(checkRestRequest({ method: 'POST', path: PARTICIPANTS, form })).toEqual([]);

  const found = checkRestRequest({ method: 'POST', path: PARTICIPANTS, form: { ...form, ConferenceStatusCallbackEvent: ['start finish'], Beep: ['loud'] } });

  expect(found.map((v) => v.parameter).sort()).toEqual(['Beep', 'ConferenceStatusCallbackEvent']);
});

/** The app's supervisor leg (#19), form-encoded as the twilio library sends it: Participants create with a label, Muted, Coaching. */
const SUPERVISOR = {
  From: ['+15557654321'],
  To: ['client:supervisor_sue'],
  Label: ['supervisor:sue'],
  Muted: ['false'],
  Coaching: ['true'],
  CallSidToCoach: [`CA${'4d'.repeat(16)}`],
  StartConferenceOnEnter: ['false'],
  EndConferenceOnExit: ['false'],
  StatusCallback: ['https://warm-transfer.example.test/conference/CA1/supervisors/sue/status'],
  StatusCallbackMethod: ['POST'],
  StatusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
  Timeout: ['20'],
};
const SUPERVISOR_PARTICIPANT = `${PARTICIPANTS.replace(/\.json$/, '')}/supervisor%3Asue.json`;

test('when the app adds a coaching supervisor, then CreateParticipant accepts Label, Muted, Coaching and CallSidToCoach', () => {
  expect(checkRestRequest({ method: 'POST', path: PARTICIPANTS, form: SUPERVISOR })).toEqual([]);
});

test('when the app switches a supervisor (by label) to listen, coach or barge, then UpdateParticipant accepts Muted, Coaching and CallSidToCoach', () => {
  expect(checkRestRequest({ method: 'POST', path: SUPERVISOR_PARTICIPANT, form: { Muted: ['true'], Coaching: ['false'] } })).toEqual([]);
  expect(checkRestRequest({ method: 'POST', path: SUPERVISOR_PARTICIPANT, form: { Muted: ['false'], Coaching: ['true'], CallSidToCoach: [`CA${'4d'.repeat(16)}`] } })).toEqual([]);
});

test('when Coaching is not a boolean or CallSidToCoach is misspelt, then each is named', () => {
  const found = checkRestRequest({ method: 'POST', path: PARTICIPANTS, form: { ...SUPERVISOR, Coaching: ['yes'], CallSidToCoach: undefined as never, CallSidToCoache: [`CA${'4d'.repeat(16)}`] } });

  expect(found.map((v) => v.parameter).sort()).toEqual(['CallSidToCoache', 'Coaching']);
});

test('when a path is no operation of the API, then the violation says so', () => {
  expect(only(checkRestRequest({ method: 'POST', path: `/2010-04-01/Accounts/${ACCOUNT}/Phones.json`, form: {} })).message).toMatch(/no operation/);
});

const CALL_JSON = {
  sid: `CA${'2b'.repeat(16)}`,
  account_sid: ACCOUNT,
  to: 'client:agent1',
  from: '+15557654321',
  status: 'queued',
  direction: 'outbound-api',
  api_version: '2010-04-01',
  date_created: 'Wed, 25 Nov 2026 21:00:00 +0000',
  uri: `/2010-04-01/Accounts/${ACCOUNT}/Calls/CA${'2b'.repeat(16)}.json`,
};

test('when a created call is answered 201 with Twilio call properties, then the answer matches', () => {
  expect(checkRestAnswer({ method: 'POST', path: CALLS, status: 201, body: CALL_JSON })).toEqual([]);
});

test('when an answer has an invented property, a status outside the enum or a non-RFC 2822 date, then each is named', () => {
  const body = { ...CALL_JSON, status: 'answered', date_created: new Date(0).toISOString(), agent: 'agent1' };

  const found = checkRestAnswer({ method: 'POST', path: CALLS, status: 201, body });

  expect(found.map((v) => v.parameter).sort()).toEqual(['agent', 'date_created', 'status']);
});

test('when an operation answers a status the spec does not list, then the violation names the listed ones', () => {
  expect(checkRestAnswer({ method: 'POST', path: CALLS, status: 200, body: CALL_JSON })[0]!.message).toMatch(/status 200 .* lists 201/);
});

test('when an error answer lacks more_info, then Twilio error format is cited', () => {
  const [v] = checkRestAnswer({ method: 'POST', path: CALLS, status: 400, body: { code: 21201, message: "No 'To' number is specified", status: 400 } });

  expect(v!.parameter).toBe('more_info');
  expect(v!.source).toContain('twilios-response');
});

const CONFERENCE_JSON = {
  account_sid: ACCOUNT,
  date_created: 'Wed, 25 Nov 2026 21:00:00 +0000',
  date_updated: 'Wed, 25 Nov 2026 21:00:00 +0000',
  api_version: '2010-04-01',
  friendly_name: 'CA1',
  region: 'us1',
  sid: CONFERENCE_SID,
  status: 'in-progress',
  uri: `/2010-04-01/Accounts/${ACCOUNT}/Conferences/${CONFERENCE_SID}.json`,
  subresource_uris: {},
  reason_conference_ended: null,
  call_sid_ending_conference: null,
};

test('when a conference in progress has reason_conference_ended null (as its spec description says), then the answer matches; a made-up reason does not', () => {
  const path = `/2010-04-01/Accounts/${ACCOUNT}/Conferences/${CONFERENCE_SID}.json`;
  expect(checkRestAnswer({ method: 'GET', path, status: 200, body: CONFERENCE_JSON })).toEqual([]);

  const found = checkRestAnswer({ method: 'GET', path, status: 200, body: { ...CONFERENCE_JSON, status: 'completed', reason_conference_ended: 'conference_ended' } });

  expect(found.map((v) => v.parameter)).toEqual(['reason_conference_ended']);
});
