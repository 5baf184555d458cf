// The admin page: add agents, rename, set roles, disable and enable, reset passwords — and what it refuses.
import { DOMParser } from '@xmldom/xmldom';
import { addAgent, openSignInPage, signedInAgent, signIn, TEST_PASSWORD, useAppSuite, type AgentClient } from './helpers/app';

const suite = useAppSuite();
let admin: AgentClient;

beforeAll(async () => {
  admin = await signedInAgent(suite.app, 'boss', { name: 'The Boss', role: 'admin' });
});

/** Posts an admin form with the admin's session and CSRF token. */
function submit(path: string, fields: Record<string, string> = {}) {
  return admin.postWithoutToken(path).type('form').set('Accept', 'text/html').send({ ...fields, _csrf: admin.csrfToken });
}

function shownPassword(html: string): string {
  const match = /Their password \(shown once\): ([A-Za-z0-9]+)</.exec(html);
  if (!match) throw new Error('no password shown');
  return match[1]!;
}

const stored = (id: string) => suite.app.running.agents.find(id);

test('when an admin opens the page, then every agent is listed with forms carrying the CSRF token', async () => {
  await addAgent(suite.app, 'ada', { name: 'Ada Lovelace' });

  const res = await admin.get('/admin').set('Accept', 'text/html');

  expect(res.status).toBe(200);
  const doc = new DOMParser().parseFromString(res.text, 'text/html');
  const rows = Array.from(doc.getElementsByTagName('tr')).map((tr) => tr.getAttribute('data-agent')).filter(Boolean);
  expect(rows).toEqual(expect.arrayContaining(['ada', 'boss']));
  const forms = Array.from(doc.getElementsByTagName('form')).filter((f) => f.getAttribute('method') === 'post');
  expect(forms.length).toBeGreaterThan(3);
  for (const form of forms) {
    const token = Array.from(form.getElementsByTagName('input')).find((i) => i.getAttribute('name') === '_csrf');
    expect(token?.getAttribute('value')).toBe(admin.csrfToken);
  }
  // Every button says what it does and to whom: a screen reader's list of buttons is not "Save, Save, Disable, …".
  const names = Array.from(doc.getElementsByTagName('button')).map((b) => b.getAttribute('aria-label') ?? b.textContent?.trim() ?? '');
  expect(names).toEqual(expect.arrayContaining(['Save the name and role of Ada Lovelace', 'Disable Ada Lovelace', 'Reset the password of Ada Lovelace']));
  expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([]);
});

test('when an admin adds an agent without a password, then one is generated, shown once, and signs them in', async () => {
  const res = await submit('/admin/agents', { name: 'Grace Hopper', login: 'Grace.Hopper', role: 'agent' });

  expect(res.status).toBe(201);
  expect(res.text).toContain('Added Grace Hopper (grace-hopper)');
  const password = shownPassword(res.text);
  expect(await stored('grace-hopper')).toEqual({ id: 'grace-hopper', name: 'Grace Hopper', role: 'agent', disabled: false });
  const grace = await signIn(suite.app, 'grace.hopper', password);
  expect((await grace.get('/agents/grace-hopper/call')).status).toBe(200);
  expect((await admin.get('/admin').set('Accept', 'text/html')).text).not.toContain(password);
  expect(suite.app.logs.join('\n')).not.toContain(password);
});

test('when an admin adds an agent with an id and a password, then that agent can sign in with it', async () => {
  const res = await submit('/admin/agents', { name: 'Alan', login: 'alan', id: 'agent_7', role: 'supervisor', password: 'a long enough password' });

  expect(res.status).toBe(201);
  expect(res.text).not.toContain('shown once');
  expect(await stored('agent_7')).toMatchObject({ role: 'supervisor' });
  await signIn(suite.app, 'alan', 'a long enough password');
});

test.each([
  ['a sign-in name with spaces', { name: 'X', login: 'two words' }, 400, /sign-in name/],
  ['an id Twilio cannot use as an identity', { name: 'X', login: 'xid', id: 'a:b' }, 400, /agent id/],
  ['an empty display name', { name: ' ', login: 'noname' }, 400, /display name/],
  ['an unknown role', { name: 'X', login: 'rolex', role: 'owner' }, 400, /role must be one of: agent, supervisor, admin\./],
  ['a short password', { name: 'X', login: 'shortpw', password: 'short' }, 400, /at least 10/],
  ['a sign-in name that is taken', { name: 'X', login: 'BOSS', id: 'other' }, 409, /taken/],
  ['an id that is taken', { name: 'X', login: 'fresh', id: 'boss' }, 409, /already an agent with the id boss/],
  ['the id queue (the cold-transfer word for the waiting line)', { name: 'X', login: 'queue' }, 400, /The agent id queue is reserved/],
  ['the id Queue given in another case', { name: 'X', login: 'lineup', id: 'Queue' }, 400, /The agent id Queue is reserved/],
])('when an admin adds an agent with %s, then it is refused (400 or 409) with a message and nothing is stored', async (_what, fields, status, message) => {
  const before = (await suite.app.running.agents.all()).length;

  const res = await submit('/admin/agents', fields as Record<string, string>);

  expect(res.status).toBe(status);
  expect(res.text).toMatch(message);
  expect(res.text).not.toContain('Invalid request');
  expect((await suite.app.running.agents.all()).length).toBe(before);
});

test('when an admin renames an agent and sets their role, then the directory says so', async () => {
  await addAgent(suite.app, 'katherine', { name: 'K' });

  const res = await submit('/admin/agents/katherine', { name: 'Katherine Johnson', role: 'supervisor' });

  expect(res.status).toBe(200);
  expect(await stored('katherine')).toEqual({ id: 'katherine', name: 'Katherine Johnson', role: 'supervisor', disabled: false });
});

test('when an admin resets a password, then the old one stops working, the new one works, and the agent is signed out everywhere', async () => {
  await addAgent(suite.app, 'hedy');
  const hedy = await signIn(suite.app, 'hedy');

  const res = await submit('/admin/agents/hedy/password', {});

  expect(res.status).toBe(200);
  const password = shownPassword(res.text);
  expect((await hedy.get('/agents/hedy/call')).status).toBe(401);
  const { cookie, csrfToken } = await openSignInPage(suite.app);
  const old = await suite.app.http().post('/sign-in').set('X-Forwarded-Proto', 'https').set('Cookie', cookie).type('form').send({ login: 'hedy', password: TEST_PASSWORD, _csrf: csrfToken });
  expect(old.status).toBe(401);
  await signIn(suite.app, 'hedy', password);
});

test('when an admin disables and enables an agent, then they cannot and then can sign in again', async () => {
  await addAgent(suite.app, 'ida');

  const disabled = await submit('/admin/agents/ida/disable');
  expect(disabled.status).toBe(200);
  expect(await stored('ida')).toMatchObject({ disabled: true });
  await expect(signIn(suite.app, 'ida')).rejects.toThrow(/answered 401/);

  const enabled = await submit('/admin/agents/ida/enable');
  expect(enabled.status).toBe(200);
  expect(await stored('ida')).toMatchObject({ disabled: false });
  await signIn(suite.app, 'ida');
});

test('when the last enabled admin would lose the role or be disabled, then 409 and nothing changes', async () => {
  const demote = await submit('/admin/agents/boss', { name: 'The Boss', role: 'agent' });
  const disableSelf = await submit('/admin/agents/boss/disable');

  expect(demote.status).toBe(409);
  expect(demote.text).toMatch(/last enabled admin/);
  expect(disableSelf.status).toBe(409);
  expect(await stored('boss')).toMatchObject({ role: 'admin', disabled: false });
});

test('when an admin gives up their own role while another admin remains, then they are sent to the page of their new role, not shown the admin page again', async () => {
  const second = await signedInAgent(suite.app, 'second-admin', { name: 'Second Admin', role: 'admin' });
  const res = await second.postWithoutToken('/admin/agents/second-admin').type('form').set('Accept', 'text/html').send({ name: 'Second Admin', role: 'supervisor', _csrf: second.csrfToken });

  expect(res.status).toBe(303);
  expect(res.headers.location).toBe('/board');
  expect(res.text).not.toContain('csrf');
  expect((await second.get('/admin').set('Accept', 'text/html')).status).toBe(403);
});

test('when an admin changes an agent that does not exist or names one badly, then 404 or 400, never 500', async () => {
  expect((await submit('/admin/agents/nobody/disable')).status).toBe(404);
  expect((await submit('/admin/agents/nobody', { name: 'X' })).status).toBe(404);
  expect((await submit('/admin/agents/%E0%A4%A/password')).status).toBe(400);
  expect((await submit('/admin/agents/boss', { role: 'owner' })).status).toBe(400);
  expect(suite.app.logs.filter((line) => / ERROR /.test(line))).toEqual([]);
});

test('when an admin renames an agent to blank or to 5,000 characters, or names a queue id badly, then the refusal says why in words and the name stays', async () => {
  await addAgent(suite.app, 'rena', { name: 'Rena Renamed' });
  const blank = await submit('/admin/agents/rena', { name: '   ' });
  expect(blank.status).toBe(400);
  expect(blank.text).toContain('The display name must have 1 to 100 characters.');
  expect(blank.text).toMatch(/<a href="\/admin">Back to the admin page/);
  const long = await submit('/admin/agents/rena', { name: 'x'.repeat(5000) });
  expect(long.status).toBe(400);
  expect(long.text).toContain('The display name must have 1 to 100 characters.');
  expect((await suite.app.running.agents.find('rena'))?.name).toBe('Rena Renamed');
  const reversed = await submit('/admin/agents/rena', { name: 'Eve \u202Eevil (admin)' });
  expect(reversed.status).toBe(400);
  expect(reversed.text).toContain('text-direction control characters');
  expect((await submit('/admin/agents', { name: 'Eve \u2067x', login: 'eve' })).status).toBe(400);
  expect((await suite.app.running.agents.find('rena'))?.name).toBe('Rena Renamed');
  const badQueue = await submit('/admin/queues/BAD_ID/delete');
  expect(badQueue.status).toBe(400);
  expect(badQueue.text).toContain('<p class="error-message" role="alert">Unknown queue.</p>');
});

test('when the admin signs out in another tab while their password reset is in flight, then the reset completes, the session stays gone and no ERROR is logged', async () => {
  await addAgent(suite.app, 'mary');
  const other = await signIn(suite.app, 'boss');
  const errorsBefore = suite.app.logs.filter((line) => / ERROR /.test(line)).length;

  // The reset hashes a password (about half a second); the sign-out lands while it runs.
  const reset = other.postWithoutToken('/admin/agents/mary/password').type('form').set('Accept', 'text/html').send({ _csrf: other.csrfToken }).then((res) => res);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const signOut = await other.postWithoutToken('/sign-out').type('form').send({ _csrf: other.csrfToken });
  const res = await reset;

  expect(signOut.status).toBe(303);
  expect(res.status).toBe(200);
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(suite.app.logs.filter((line) => / ERROR /.test(line)).slice(errorsBefore)).toEqual([]);
  expect((await other.get('/agents/boss/call')).status).toBe(401);
});

test("when pages and exports that carry callers' numbers, shown-once passwords or CSRF tokens are served, then they say Cache-Control: no-store; static files stay cacheable", async () => {
  const paths = ['/history', '/history.csv', `/history/2026-01-01/CA${'0'.repeat(32)}`, '/admin', '/', '/board'];
  const answers = await Promise.all([...paths.map((path) => admin.get(path).set('Accept', 'text/html')), suite.app.http().get('/sign-in').set('Accept', 'text/html')]);

  expect(answers.map((res) => res.headers['cache-control'])).toEqual(answers.map(() => 'no-store'));
  expect(answers[1]!.status).toBe(200);
  expect((await suite.app.http().get('/js/api.js')).headers['cache-control']).toMatch(/max-age=\d+/);
});

test('when an agent id differs from a taken one only by case, or 30 adds of one sign-in name or of one id in different cases arrive at once, then exactly one agent is added and the rest get 409', async () => {
  await submit('/admin/agents', { name: 'Kay One', login: 'kay1', id: 'kay' }).expect(201);
  const again = await submit('/admin/agents', { name: 'Kay Two', login: 'kay2', id: 'KAY' });
  expect(again.status).toBe(409);
  expect(again.text).toContain('There is already an agent with the id kay');

  const sameLogin = await Promise.all(Array.from({ length: 30 }, (_, i) => submit('/admin/agents', { name: `Lee ${i}`, login: 'lee', id: `lee-${i}` })));
  expect(sameLogin.map((r) => r.status).sort()).toEqual([201, ...Array<number>(29).fill(409)]);
  expect((await suite.app.running.agents.all()).filter((a) => a.id.startsWith('lee-'))).toHaveLength(1);

  const cases = ['Mo', 'mo', 'MO', 'mO'];
  const sameId = await Promise.all(Array.from({ length: 30 }, (_, i) => submit('/admin/agents', { name: `Mo ${i}`, login: `mo${i}`, id: cases[i % 4]! })));
  expect(sameId.map((r) => r.status).sort()).toEqual([201, ...Array<number>(29).fill(409)]);
  expect((await suite.app.running.agents.all()).filter((a) => a.id.toLowerCase() === 'mo')).toHaveLength(1);
  // 61 new passwords are hashed on 2 cores.
}, 90_000);
