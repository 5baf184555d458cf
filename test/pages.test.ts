// The agent page as served: for the signed-in agent only, scripts from our own origin, a CSP that admits only Twilio's hosts.
import { DOMParser } from '@xmldom/xmldom';
import { addAgent, signedInAgent, useAppSuite, type AgentClient } from './helpers/app';

const suite = useAppSuite();
let ada: AgentClient;

beforeAll(async () => {
  ada = await signedInAgent(suite.app, 'ada', { name: 'Ada Lovelace' });
  await addAgent(suite.app, 'grace', { name: 'Grace Hopper' });
  await addAgent(suite.app, 'alan', { name: 'Alan Turing' });
  await suite.app.running.agents.change('alan', { disabled: true });
});

function parse(html: string) {
  return new DOMParser().parseFromString(html, 'text/html');
}

test('when a signed-in agent opens the page, then it is theirs: their identity on the body, a CSRF token, their presence, the call controls, the colleague directory, the Voice SDK from this server', async () => {
  const res = await ada.get('/').set('Accept', 'text/html');

  expect(res.status).toBe(200);
  const doc = parse(res.text);
  const body = doc.getElementsByTagName('body')[0]!;
  expect(body.getAttribute('data-agent-id')).toBe('ada');
  expect(body.getAttribute('data-agent-name')).toBe('Ada Lovelace');
  expect(body.getAttribute('data-role')).toBe('agent');
  // Its tab says whose calls it holds, among other tabs.
  expect(doc.getElementsByTagName('title')[0]?.textContent).toBe('Calls: Ada Lovelace · Warm transfer');
  const meta = Array.from(doc.getElementsByTagName('meta')).find((m) => m.getAttribute('name') === 'csrf-token');
  expect(meta?.getAttribute('content')).toBe(ada.csrfToken);
  expect(res.text).not.toMatch(/connect-as|Connect as/);
  for (const id of ['go-available', 'go-away', 'presence', 'answer', 'decline', 'hangup', 'agent-status', 'directory', 'directory-search', 'sign-out']) expect(doc.getElementById(id)).not.toBeNull();
  // The colleagues the directory lists come from the server's state, for this agent only.
  const state = await ada.get('/api/me').set('Accept', 'application/json');
  expect(state.status).toBe(200);
  expect(state.body.you).toMatchObject({ id: 'ada', name: 'Ada Lovelace', role: 'agent', presence: 'offline' });
  expect(state.body.colleagues.map((c: { id: string }) => c.id)).toEqual(['grace']);
  const scripts = Array.from(doc.getElementsByTagName('script'));
  expect(scripts.map((s) => s.getAttribute('src'))).toEqual(['/js/api.js', '/vendor/twilio/twilio.min.js', '/js/agent.js', '/js/agent-supervision.js', '/js/voicemails.js']);
  expect(scripts.every((s) => (s.textContent ?? '').trim() === '')).toBe(true);
  expect(res.text).not.toMatch(/\sonclick=/i);
  expect(res.text).not.toContain('twilio-local-base');
});

test('when nobody is signed in, then the agent page sends a browser to the sign-in page and a script gets 401', async () => {
  const html = await suite.app.http().get('/').set('Accept', 'text/html');
  const json = await suite.app.http().get('/').set('Accept', 'application/json');

  expect(html.status).toBe(303);
  expect(html.headers.location).toBe('/sign-in');
  expect(json.status).toBe(401);
  expect(json.body.error).toMatch(/Sign in/);
});

test('when the sign-in page is served in Twilio mode, then it has the form and its CSRF token but no one-click demo sign-in', async () => {
  const res = await suite.app.http().get('/sign-in').set('Accept', 'text/html');

  expect(res.status).toBe(200);
  const doc = parse(res.text);
  expect(doc.getElementById('sign-in-form')).not.toBeNull();
  expect(doc.getElementById('login')).not.toBeNull();
  expect(doc.getElementById('password')!.getAttribute('type')).toBe('password');
  expect(res.text).toMatch(/<meta name="csrf-token" content="[^"]+"/);
  expect(res.text).not.toContain('/sign-in/demo');
});

test('when the page is served, then its CSP allows scripts only from this origin and connections only to it and Twilio', async () => {
  const res = await ada.get('/');

  const csp = res.headers['content-security-policy'] as string;
  expect(csp).toMatch(/script-src 'self'(;|$)/);
  expect(csp).toMatch(/connect-src 'self' [^;]*wss:\/\/\*\.twilio\.com/);
  expect(csp).not.toMatch(/unsafe-inline[^;]*;?.*script/);
});

test('when the browser loads the Voice SDK and the page scripts, then each is served as JavaScript', async () => {
  const sdk = await suite.app.http().get('/vendor/twilio/twilio.min.js');
  const page = await suite.app.http().get('/js/agent.js');
  const api = await suite.app.http().get('/js/api.js');

  expect(sdk.status).toBe(200);
  expect(sdk.headers['content-type']).toMatch(/javascript/);
  expect(sdk.text).toContain('Twilio');
  expect(page.status).toBe(200);
  expect(page.text).toContain("'/token/'");
  expect(api.status).toBe(200);
  expect(api.text).toContain('X-CSRF-Token');
});

test('when Twilio credentials are set, then the demo phone page, the demo sign-in and the local stand-in do not exist', async () => {
  expect((await suite.app.http().get('/phone')).status).toBe(404);
  expect((await suite.app.http().get('/twilio-local/2010-04-01/Accounts.json')).status).toBe(404);
  expect((await suite.app.http().post('/sign-in/demo').type('form').send({ agentId: 'ada' })).status).toBe(404);
});
