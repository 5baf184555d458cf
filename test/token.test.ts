// The softphone's Access Token, decoded and verified as Twilio would: issued only to the signed-in agent, for themselves.
import { createHmac } from 'node:crypto';
import { signedInAgent, TEST_ENV, useAppSuite, type AgentClient } from './helpers/app';

const suite = useAppSuite();
let ada: AgentClient;
let grace: AgentClient;

beforeAll(async () => {
  ada = await signedInAgent(suite.app, 'ada');
  grace = await signedInAgent(suite.app, 'grace');
});

function decode(jwt: string) {
  const [header, payload, signature] = jwt.split('.');
  const expected = createHmac('sha256', TEST_ENV.TWILIO_API_SECRET).update(`${header}.${payload}`).digest('base64url');
  return {
    header: JSON.parse(Buffer.from(header!, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(payload!, 'base64url').toString()),
    signatureValid: signature === expected,
  };
}

test('when a signed-in agent asks for their token, then it is an API-key-signed Access Token for their identity that may receive calls, for one hour', async () => {
  const res = await ada.post('/token/ada');

  expect(res.status).toBe(200);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.body.agentId).toBe('ada');
  const { header, payload, signatureValid } = decode(res.body.token);
  expect(signatureValid).toBe(true);
  expect(header).toMatchObject({ alg: 'HS256', typ: 'JWT', cty: 'twilio-fpa;v=1' });
  expect(payload.iss).toBe(TEST_ENV.TWILIO_API_KEY);
  expect(payload.sub).toBe(TEST_ENV.TWILIO_ACCOUNT_SID);
  expect(payload.grants.identity).toBe('ada');
  expect(payload.grants.voice).toEqual({ incoming: { allow: true } });
  expect(payload.exp - Math.floor(Date.now() / 1000)).toBeGreaterThan(3500);
  expect(payload.exp - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(3600);
});

test('when another agent asks for theirs, then its identity is theirs and no capability-token scope is present', async () => {
  const res = await grace.post('/token/grace');

  const { payload } = decode(res.body.token);
  expect(payload.grants.identity).toBe('grace');
  expect(payload.scope).toBeUndefined();
});

test("when a signed-in agent asks for a colleague's token, then the answer is 403 and no token", async () => {
  const res = await ada.post('/token/grace');

  expect(res.status).toBe(403);
  expect(res.body.error).toMatch(/signed in as ada/);
  expect(res.body.token).toBeUndefined();
});

test('when nobody is signed in, then a token is refused with 401 and no token', async () => {
  const res = await suite.app.http().post('/token/ada').set('Accept', 'application/json');

  expect(res.status).toBe(401);
  expect(res.body.error).toMatch(/Sign in/);
  expect(res.body.token).toBeUndefined();
});

test('when a token is asked for with GET, then the route is not found', async () => {
  const res = await ada.get('/token/ada').set('Accept', 'application/json');

  expect(res.status).toBe(404);
});
