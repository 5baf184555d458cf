// A client's mistakes get a clear 4xx with a message: never a 500 or 503, never an ERROR log line, never database work.
import { addAgent, fakeSid, signIn, TEST_ENV, twilioSignature, useAppSuite, type AppSuite, type TestApp } from './helpers/app';

const suite = useAppSuite();
let db: AppSuite['db'];
let app: TestApp;
const BASE = TEST_ENV.PUBLIC_BASE_URL;

beforeAll(async () => {
  ({ db, app } = suite);
  await addAgent(app, 'agent1');
});

beforeEach(async () => {
  await app.running.background.drain();
  app.logs.length = 0;
});

function errorLines(): string[] {
  return app.logs.filter((line) => / ERROR /.test(line));
}

describe('an API given a form', () => {
  test('when a page API is sent a form body, then the answer is JSON 415 like any other wrong type, not an HTML page', async () => {
    const agent1 = await signIn(app, 'agent1');

    const res = await agent1.post('/api/me/presence').type('form').set('Accept', 'text/html,application/json').send({ status: 'away' });

    expect(res.status).toBe(415);
    expect(res.type).toBe('application/json');
    expect(res.body.error).toBe('Send JSON (Content-Type: application/json).');
  });
});

describe('bodies that fail validation', () => {
  test.each([
    ['an unknown presence', '/api/me/presence', { status: 'on-holiday' }, 'status must be one of: available, away.'],
    ['no number to call', '/api/me/call-out', {}, 'to is missing.'],
    ['a field the API does not take', '/api/me/presence', { status: 'away', colour: 'red' }, 'An unknown field: colour.'],
    ['a number that is not E.164', '/api/me/call-out', { to: '555-1234' }, 'The number to call must be in E.164 form: + and the country code, e.g. +15551234567.'],
  ])('when a script sends %s, then the JSON 400 says what to fix in plain words, without "Invalid request:"', async (_what, path, body, message) => {
    const agent1 = await signIn(app, 'agent1');

    const res = await agent1.post(path).send(body);

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ status: 400, error: typeof message === 'string' ? message : expect.stringMatching(message) });
    expect(errorLines()).toEqual([]);
  });
});

describe('malformed percent-escapes in the path', () => {
  test('when a page path has a malformed percent-escape, then a script gets 400 and a JSON message', async () => {
    const res = await app.http().get('/agents/%E0%A4%A/call').set('Accept', 'application/json');

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ status: 400, error: expect.stringMatching(/percent-escape/i) });
    expect(errorLines()).toEqual([]);
  });

  test('when a page path has a malformed percent-escape, then a browser gets a 400 page that says so', async () => {
    const res = await app.http().get('/agents/%E0%A4%A/call').set('Accept', 'text/html');

    expect(res.status).toBe(400);
    expect(res.type).toBe('text/html');
    expect(res.text).toMatch(/percent-escape/i);
    expect(errorLines()).toEqual([]);
  });

  test('when a signed webhook path has a malformed percent-escape, then it answers 400 with a message and stores nothing', async () => {
    const customer = fakeSid();
    const res = await app.webhook('/conference/%E0%A4%A/connect/agent1', { CallSid: customer });
    const status = await app.webhook('/conference/CA%ZZ/agents/agent1/status', { CallSid: customer, CallStatus: 'ringing' });

    expect(res.status).toBe(400);
    expect(res.text).toMatch(/percent-escape/i);
    expect(status.status).toBe(400);
    expect(status.text).toMatch(/percent-escape/i);
    expect(await db.models.calls.countDocuments({ _id: customer })).toBe(0);
    expect(errorLines()).toEqual([]);
  });
});

describe('garbage bodies on webhooks', () => {
  const path = '/conference/connect/client';

  test('when an unsigned webhook body is binary garbage, then it answers 400 without an ERROR line', async () => {
    const garbage = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 131 + 7) % 256));
    const res = await app.http().post(path).set('Content-Type', 'application/x-www-form-urlencoded').send(garbage);

    expect(res.status).toBe(400);
    expect(res.text).toMatch(/signature/i);
    expect(errorLines()).toEqual([]);
  });

  test.each([
    ['a charset the parser does not read', { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-16' }, Buffer.from('CallSid=CA1')],
    ['a gzip encoding that is not gzip', { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Encoding': 'gzip' }, Buffer.from('not gzip at all')],
    ['an encoding nobody knows', { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Encoding': 'x-unknown' }, Buffer.from('CallSid=CA1')],
    ['a body over the size limit', { 'Content-Type': 'application/x-www-form-urlencoded' }, Buffer.from(`CallSid=${'A'.repeat(70 * 1024)}`)],
  ])('when an unsigned webhook has %s, then it answers a 4xx with a message and no ERROR line', async (_what, headers, body) => {
    const res = await app.http().post(path).set(headers).send(body);

    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.text.length).toBeGreaterThan(0);
    expect(errorLines()).toEqual([]);
  });

  test('when a webhook body is JSON, then it is refused with 415 before any database work, even with a signature valid for no parameters', async () => {
    const customer = fakeSid();
    // The signature the form check would accept for a body it could not read: only the JSON refusal stops this request.
    const signature = twilioSignature(TEST_ENV.TWILIO_AUTH_TOKEN, `${BASE}${path}`, {});
    const res = await app.http().post(path).set('X-Twilio-Signature', signature).set('Content-Type', 'application/json').send(JSON.stringify({ CallSid: customer, From: '+15551112222' }));

    expect(res.status).toBe(415);
    expect(res.text).toMatch(/x-www-form-urlencoded/);
    expect(await db.models.calls.countDocuments({ _id: customer })).toBe(0);
    expect(errorLines()).toEqual([]);
  });
});

describe('CallStatus values that name Object.prototype members', () => {
  test.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('when a signed status callback says CallStatus=%s, then it answers 400 and names the unknown status', async (callStatus) => {
    const customer = fakeSid();
    await app.webhook('/conference/connect/client', { CallSid: customer, From: '+15551112222', To: TEST_ENV.TWILIO_NUMBER }).expect(200);
    await app.running.background.drain();

    const res = await app.webhook(`/conference/${customer}/agents/agent1/status`, { CallSid: fakeSid(), CallStatus: callStatus });

    expect(res.status).toBe(400);
    expect(res.text).toContain(`Unknown CallStatus: ${callStatus}`);
    expect(errorLines()).toEqual([]);
  });
});
