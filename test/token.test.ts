// The softphone's Access Token, decoded and verified as Twilio would.
import { createHmac } from 'node:crypto';
import { TEST_ENV, useAppSuite } from './helpers/app';

const suite = useAppSuite();

function decode(jwt: string) {
  const [header, payload, signature] = jwt.split('.');
  const expected = createHmac('sha256', TEST_ENV.TWILIO_API_SECRET).update(`${header}.${payload}`).digest('base64url');
  return {
    header: JSON.parse(Buffer.from(header!, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(payload!, 'base64url').toString()),
    signatureValid: signature === expected,
  };
}

test('when agent1 asks for a token, then it is an API-key-signed Access Token for identity agent1 that may receive calls, for one hour', async () => {
  const res = await suite.app.http().post('/token/agent1');

  expect(res.status).toBe(200);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.body.agentId).toBe('agent1');
  const { header, payload, signatureValid } = decode(res.body.token);
  expect(signatureValid).toBe(true);
  expect(header).toMatchObject({ alg: 'HS256', typ: 'JWT', cty: 'twilio-fpa;v=1' });
  expect(payload.iss).toBe(TEST_ENV.TWILIO_API_KEY);
  expect(payload.sub).toBe(TEST_ENV.TWILIO_ACCOUNT_SID);
  expect(payload.grants.identity).toBe('agent1');
  expect(payload.grants.voice).toEqual({ incoming: { allow: true } });
  expect(payload.exp - Math.floor(Date.now() / 1000)).toBeGreaterThan(3500);
  expect(payload.exp - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(3600);
});

test('when agent2 asks for a token, then its identity is agent2 and no capability-token scope is present', async () => {
  const res = await suite.app.http().post('/token/agent2');

  const { payload } = decode(res.body.token);
  expect(payload.grants.identity).toBe('agent2');
  expect(payload.scope).toBeUndefined();
});

test('when a token is asked for with GET, then the route is not found', async () => {
  const res = await suite.app.http().get('/token/agent1').set('Accept', 'application/json');

  expect(res.status).toBe(404);
});
