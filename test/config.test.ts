// Start-up configuration: every bad key named at once; demo mode without credentials.
import { ConfigError, DEFAULT_HOLD_MUSIC_URL, DEMO_TWILIO_NUMBER, parseConfig } from '../src/config';
import { TEST_ENV } from './helpers/app';

test('when nothing is set, then the app runs in demo mode on port 3000 with the embedded database and the local stand-in', () => {
  const config = parseConfig({});

  expect(config.port).toBe(3000);
  expect(config.publicBaseUrl).toBe('http://localhost:3000');
  expect(config.mongodbUri).toBeUndefined();
  expect(config.holdMusicUrl).toBe(DEFAULT_HOLD_MUSIC_URL);
  expect(config.twilio).toMatchObject({ mode: 'local', number: DEMO_TWILIO_NUMBER, apiBaseUrl: 'http://localhost:3000/twilio-local' });
  expect(Object.isFrozen(config.twilio)).toBe(true);
});

test('when every Twilio credential is set, then the app talks to Twilio itself', () => {
  const { TWILIO_API_BASE_URL: _unused, ...env } = { ...TEST_ENV, TWILIO_API_BASE_URL: undefined };

  const config = parseConfig({ ...env, PUBLIC_BASE_URL: 'https://support.example.com/' });

  expect(config.twilio).toMatchObject({ mode: 'twilio', accountSid: TEST_ENV.TWILIO_ACCOUNT_SID, apiBaseUrl: 'https://api.twilio.com' });
  expect(config.publicBaseUrl).toBe('https://support.example.com');
});

test('when some credentials are missing and others are malformed, then one error names every bad key', () => {
  let error: unknown;
  try {
    parseConfig({ TWILIO_ACCOUNT_SID: TEST_ENV.TWILIO_ACCOUNT_SID, TWILIO_API_KEY: TEST_ENV.TWILIO_API_KEY });
  } catch (err) {
    error = err;
  }

  expect(error).toBeInstanceOf(ConfigError);
  const message = (error as ConfigError).message;
  for (const key of ['TWILIO_AUTH_TOKEN', 'TWILIO_API_SECRET', 'TWILIO_NUMBER']) expect(message).toContain(key);
  expect(message).not.toContain('TWILIO_API_KEY:');
});

test('when values are malformed, then each is named with what is expected', () => {
  expect(() => parseConfig({ PORT: 'eighty', PUBLIC_BASE_URL: 'not a url', MONGODB_URI: 'postgres://x', TWILIO_ACCOUNT_SID: 'XX1' })).toThrow(
    /PORT[\s\S]*PUBLIC_BASE_URL[\s\S]*MONGODB_URI[\s\S]*TWILIO_ACCOUNT_SID/,
  );
});

test('when HOST is not set, then demo mode listens on 127.0.0.1 and Twilio mode on every interface; HOST wins in both', () => {
  const { TWILIO_API_BASE_URL: _unused, HOST: _host, ...twilio } = { ...TEST_ENV, TWILIO_API_BASE_URL: undefined };

  expect(parseConfig({}).host).toBe('127.0.0.1');
  expect(parseConfig(twilio).host).toBe('0.0.0.0');
  expect(parseConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
  expect(parseConfig({ ...twilio, HOST: '10.1.2.3' }).host).toBe('10.1.2.3');
});

test('when nothing about sessions is set, then sessions idle out after an hour and end after 12 hours, with Secure cookies only on https', () => {
  const demo = parseConfig({});
  const https = parseConfig({ PUBLIC_BASE_URL: 'https://support.example.com', SESSION_IDLE_MINUTES: '15', SESSION_MAX_HOURS: '8' });

  expect(demo.auth).toMatchObject({ idleTimeoutMs: 3_600_000, absoluteTimeoutMs: 43_200_000, secureCookies: false, maxFailuresPerAccount: 5, maxFailuresPerAddress: 20, blockMs: 900_000 });
  expect(demo.auth.sessionSecret).toBeUndefined();
  expect(https.auth).toMatchObject({ idleTimeoutMs: 900_000, absoluteTimeoutMs: 28_800_000, secureCookies: true });
});

test('when session and sign-in settings are malformed, then each is named', () => {
  let message = '';
  try {
    parseConfig({ SESSION_IDLE_MINUTES: '-1', SESSION_MAX_HOURS: 'long', SESSION_SECRET: 'short', SIGN_IN_MAX_FAILURES_PER_ACCOUNT: '0' });
  } catch (err) {
    message = (err as ConfigError).message;
  }

  for (const key of ['SESSION_IDLE_MINUTES', 'SESSION_MAX_HOURS', 'SESSION_SECRET', 'SIGN_IN_MAX_FAILURES_PER_ACCOUNT']) expect(message).toContain(`${key}:`);
});

test('when demo mode is configured, then no stand-in credentials come from the source: the runtime makes them per installation', () => {
  const config = parseConfig({});

  expect(config.twilio).toMatchObject({ accountSid: '', authToken: '', apiKey: '', apiSecret: '' });
});
