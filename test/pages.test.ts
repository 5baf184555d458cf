// The agent page as served: buttons, scripts from our own origin, a CSP that admits only Twilio's hosts.
import { DOMParser } from '@xmldom/xmldom';
import { useAppSuite } from './helpers/app';

const suite = useAppSuite();

test('when an agent opens the page with Twilio configured, then it offers both agents and the call controls and loads the Voice SDK from this server', async () => {
  const res = await suite.app.http().get('/');

  expect(res.status).toBe(200);
  const doc = new DOMParser().parseFromString(res.text, 'text/html');
  const connect = Array.from(doc.getElementsByTagName('button')).filter((b) => b.getAttribute('class')?.includes('connect-as'));
  expect(connect.map((b) => b.getAttribute('data-agent'))).toEqual(['agent1', 'agent2']);
  for (const id of ['answer', 'bring-in', 'hangup', 'agent-status']) expect(doc.getElementById(id)).not.toBeNull();
  const scripts = Array.from(doc.getElementsByTagName('script'));
  expect(scripts.map((s) => s.getAttribute('src'))).toEqual(['/vendor/twilio/twilio.min.js', '/js/agent.js']);
  expect(scripts.every((s) => (s.textContent ?? '').trim() === '')).toBe(true);
  expect(res.text).not.toMatch(/\sonclick=/i);
  expect(doc.getElementsByTagName('meta').length).toBeGreaterThan(0);
  expect(res.text).not.toContain('twilio-local-base');
});

test('when the page is served, then its CSP allows scripts only from this origin and connections only to it and Twilio', async () => {
  const res = await suite.app.http().get('/');

  const csp = res.headers['content-security-policy'] as string;
  expect(csp).toMatch(/script-src 'self'(;|$)/);
  expect(csp).toMatch(/connect-src 'self' [^;]*wss:\/\/\*\.twilio\.com/);
  expect(csp).not.toMatch(/unsafe-inline[^;]*;?.*script/);
});

test('when the browser loads the Voice SDK and the page script, then both are served as JavaScript', async () => {
  const sdk = await suite.app.http().get('/vendor/twilio/twilio.min.js');
  const page = await suite.app.http().get('/js/agent.js');

  expect(sdk.status).toBe(200);
  expect(sdk.headers['content-type']).toMatch(/javascript/);
  expect(sdk.text).toContain('Twilio');
  expect(page.status).toBe(200);
  expect(page.text).toContain("'/token/'");
});

test('when Twilio credentials are set, then the demo phone page and the local stand-in do not exist', async () => {
  expect((await suite.app.http().get('/phone')).status).toBe(404);
  expect((await suite.app.http().get('/twilio-local/2010-04-01/Accounts.json')).status).toBe(404);
});
