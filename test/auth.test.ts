// Signing in and out, sessions in the database, who may call what, and requests from other sites refused.
import {
  addAgent,
  clientFor,
  csrfTokenOf,
  fakeSid,
  openSignInPage,
  sessionCookieOf,
  signedInAgent,
  signIn,
  TEST_ENV,
  TEST_PASSWORD,
  useAppSuite,
  type AgentClient,
} from './helpers/app';
import { SESSION_ENDED } from '../src/routes/auth';

// Small limits so the limiting tests stay short; the address limit is above the account limit.
const suite = useAppSuite({ env: { SIGN_IN_MAX_FAILURES_PER_ACCOUNT: '3', SIGN_IN_MAX_FAILURES_PER_ADDRESS: '6' } });
const https = { 'X-Forwarded-Proto': 'https' };
let ada: AgentClient;

beforeAll(async () => {
  ada = await signedInAgent(suite.app, 'ada', { name: 'Ada Lovelace' });
  await addAgent(suite.app, 'grace', { name: 'Grace Hopper' });
});

beforeEach(() => {
  suite.rest.requests.length = 0;
});

const sessions = () => suite.db.connection.collection('sessions');
const sessionsOf = (agentId: string) => sessions().countDocuments({ 'session.agentId': agentId });
/** The stored session's id in a `wt.sid=s:<id>.<signature>` cookie. */
const sessionIdOf = (cookie: string) => /^wt\.sid=s:([^.]+)\./.exec(decodeURIComponent(cookie))![1]!;
const sessionExists = async (cookie: string) => (await sessions().countDocuments({ _id: sessionIdOf(cookie) as never })) === 1;
const errorLines = () => suite.app.logs.filter((line) => / ERROR /.test(line));

/** Signs in with a form from `address` (X-Forwarded-For, trusted from loopback). */
async function attempt(login: string, password: string, address = '198.51.100.1') {
  const { cookie, csrfToken } = await openSignInPage(suite.app);
  return suite.app.http().post('/sign-in').set(https).set('X-Forwarded-For', address).set('Cookie', cookie).type('form').send({ login, password, _csrf: csrfToken });
}

describe('signing in', () => {
  test('when the password is right, then a new session id is issued in an HttpOnly, SameSite=Lax, Secure cookie and the session is stored in the database', async () => {
    await addAgent(suite.app, 'alan');
    const before = await openSignInPage(suite.app);

    const res = await suite.app.http().post('/sign-in').set(https).set('Cookie', before.cookie).type('form').send({ login: 'ALAN', password: TEST_PASSWORD, _csrf: before.csrfToken });

    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/');
    const setCookie = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('wt.sid='))!;
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; SameSite=Lax/);
    expect(setCookie).toMatch(/; Secure/);
    const after = sessionCookieOf(res)!;
    expect(after).not.toBe(before.cookie); // rotated: a session id planted before sign-in is worthless
    expect(await sessionsOf('alan')).toBe(1);
    const page = await suite.app.http().get('/').set(https).set('Cookie', after);
    expect(page.status).toBe(200);
    expect(page.text).toContain('data-agent-id="alan"');
    const planted = await suite.app.http().get('/agents/alan/call').set(https).set('Cookie', before.cookie);
    expect(planted.status).toBe(401);
  });

  test('when 1,000 anonymous visitors open the sign-in page, then no session is stored, and a form from any of those pages still signs in', async () => {
    await addAgent(suite.app, 'ruth');
    const before = await sessions().countDocuments();

    const pages: Array<{ cookie: string; csrfToken: string }> = [];
    for (let batch = 0; batch < 20; batch += 1) pages.push(...(await Promise.all(Array.from({ length: 50 }, () => openSignInPage(suite.app)))));

    expect(await sessions().countDocuments()).toBe(before);
    const page = pages[437]!;
    const res = await suite.app.http().post('/sign-in').set(https).set('Cookie', page.cookie).type('form').send({ login: 'ruth', password: TEST_PASSWORD, _csrf: page.csrfToken });
    expect(res.status).toBe(303);
    expect(await sessions().countDocuments()).toBe(before + 1);
    // Signed in, the sign-in cookie is cleared: the session's own token takes over.
    expect((res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('wt.signin='))).toMatch(/Expires=Thu, 01 Jan 1970/);
  }, 60_000);

  test("when a sign-in form's token does not match its cookie (another browser's, none, or altered), then it is refused with 403 and the page is served again with a fresh token", async () => {
    await addAgent(suite.app, 'emmy');
    const mine = await openSignInPage(suite.app);
    const theirs = await openSignInPage(suite.app);
    const [expires, mac] = mine.csrfToken.split('.');
    const post = (cookie: string | undefined, token: string) => {
      const req = suite.app.http().post('/sign-in').set(https).type('form');
      return (cookie ? req.set('Cookie', cookie) : req).send({ login: 'emmy', password: TEST_PASSWORD, _csrf: token });
    };

    const refused = [
      await post(theirs.cookie, mine.csrfToken),
      await post(undefined, mine.csrfToken),
      await post(mine.cookie, `${Number(expires) + 1}.${mac}`),
      await post(mine.cookie, `${expires}.${mac!.slice(0, -2)}AA`),
      await post(mine.cookie, ''),
    ];

    for (const res of refused) {
      expect(res.status).toBe(403);
      expect(res.text).toContain('reload the page and try again');
      expect(csrfTokenOf(res.text)).toBeTruthy();
      expect(sessionCookieOf(res)).toBeUndefined();
    }
    expect(await sessionsOf('emmy')).toBe(0);
    expect((await post(mine.cookie, mine.csrfToken)).status).toBe(303);
  });

  test('when the password is wrong, the sign-in name unknown or empty, then the page says so with 401 and nobody is signed in', async () => {
    const wrong = await attempt('grace', 'not the password', '198.51.100.10');
    const unknown = await attempt('nobody', TEST_PASSWORD, '198.51.100.10');
    const empty = await attempt('', '', '198.51.100.10');

    for (const res of [wrong, unknown, empty]) {
      expect(res.status).toBe(401);
      expect(res.text).toContain('Wrong sign-in name or password');
      expect(res.text).toContain('id="sign-in-form"');
      // The fields are marked and tied to the message, for a screen reader; the password takes focus to try again.
      expect(res.text).toMatch(/<input id="password"[^>]*aria-invalid="true" aria-describedby="sign-in-error" autofocus/);
      expect(res.text).toMatch(/<input id="login"[^>]*aria-invalid="true" aria-describedby="sign-in-error"/);
    }
    expect(await sessionsOf('grace')).toBe(0);
    expect(suite.app.logs.join('\n')).not.toContain('not the password');
  });

  test('when an account fails too often, then even the right password is refused with 429 and a clear message, while other accounts still sign in', async () => {
    await addAgent(suite.app, 'katherine');
    for (let i = 0; i < 3; i += 1) expect((await attempt('katherine', `guess ${i}`, `198.51.100.${20 + i}`)).status).toBe(401);

    const blocked = await attempt('katherine', TEST_PASSWORD, '198.51.100.30');
    const other = await attempt('grace', TEST_PASSWORD, '198.51.100.30');

    expect(blocked.status).toBe(429);
    expect(blocked.text).toMatch(/Too many failed sign-ins for this account\. Try again in \d+ minutes\./);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(sessionCookieOf(blocked) ?? '').not.toBe(sessionCookieOf(other));
    expect(other.status).toBe(303);
    expect(await sessionsOf('katherine')).toBe(0);
  });

  test('when one address fails too often across accounts, then it is refused with 429, while another address still signs in', async () => {
    await addAgent(suite.app, 'margaret');
    for (let i = 0; i < 6; i += 1) expect((await attempt(`someone${i}`, 'guess', '203.0.113.7')).status).toBe(401);

    const blocked = await attempt('margaret', TEST_PASSWORD, '203.0.113.7');
    const elsewhere = await attempt('margaret', TEST_PASSWORD, '203.0.113.8');

    expect(blocked.status).toBe(429);
    expect(blocked.text).toMatch(/Too many failed sign-ins for your address/);
    expect(elsewhere.status).toBe(303);
  });

  test('when 30 wrong passwords for one account arrive at once, then at most the limit (3) are checked and the rest are refused with 429', async () => {
    await addAgent(suite.app, 'rosalind');
    const pages = await Promise.all(Array.from({ length: 30 }, () => openSignInPage(suite.app)));

    const answers = await Promise.all(pages.map(({ cookie, csrfToken }, i) => suite.app.http().post('/sign-in').set(https).set('X-Forwarded-For', `198.51.101.${i + 1}`).set('Cookie', cookie).type('form').send({ login: 'rosalind', password: `guess ${i}`, _csrf: csrfToken })));

    const statuses = answers.map((res) => res.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(3);
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    expect((await attempt('rosalind', TEST_PASSWORD, '198.51.101.200')).status).toBe(429);
  });

  test('when 40 sign-in names are tried at once from one address, then at most the address limit (6) are checked and the rest are refused with 429', async () => {
    const pages = await Promise.all(Array.from({ length: 40 }, () => openSignInPage(suite.app)));

    const answers = await Promise.all(pages.map(({ cookie, csrfToken }, i) => suite.app.http().post('/sign-in').set(https).set('X-Forwarded-For', '203.0.114.9').set('Cookie', cookie).type('form').send({ login: `burst${i}`, password: 'guess', _csrf: csrfToken })));

    const statuses = answers.map((res) => res.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(6);
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    expect(answers.find((res) => res.status === 429)!.text).toMatch(/Too many failed sign-ins for your address/);
  });

  test('when a right password arrives among wrong ones, then it signs in and its slot is given back', async () => {
    await addAgent(suite.app, 'barbara');
    for (let i = 0; i < 2; i += 1) expect((await attempt('barbara', `guess ${i}`, `198.51.102.${i + 1}`)).status).toBe(401);

    expect((await attempt('barbara', TEST_PASSWORD, '198.51.102.10')).status).toBe(303);

    // The success cleared the account's count: three more failures are allowed before it is refused.
    for (let i = 0; i < 3; i += 1) expect((await attempt('barbara', `again ${i}`, `198.51.102.${20 + i}`)).status).toBe(401);
    expect((await attempt('barbara', TEST_PASSWORD, '198.51.102.30')).status).toBe(429);
  });

  test('when more sign-ins arrive at once than may be checked or wait, then the extra ones get 503 with Retry-After and a message, and none is counted as a failure', async () => {
    const { PASSWORD_CHECKS } = await import('../src/auth/passwords');
    const count = PASSWORD_CHECKS.concurrent + PASSWORD_CHECKS.waiting + 6;
    const pages = await Promise.all(Array.from({ length: count }, () => openSignInPage(suite.app)));
    const errorsBefore = errorLines().length;

    const answers = await Promise.all(pages.map(({ cookie, csrfToken }, i) => suite.app.http().post('/sign-in').set(https).set('X-Forwarded-For', `192.0.2.${i + 1}`).set('Cookie', cookie).type('form').send({ login: `crowd${i}`, password: 'guess', _csrf: csrfToken })));

    const busy = answers.filter((res) => res.status === 503);
    expect(busy.length).toBeGreaterThanOrEqual(3);
    expect(answers.filter((res) => res.status === 401).length).toBeGreaterThanOrEqual(PASSWORD_CHECKS.concurrent + PASSWORD_CHECKS.waiting - 1);
    expect(answers.filter((res) => res.status !== 401 && res.status !== 503)).toEqual([]);
    expect(busy[0]!.text).toContain('Too many sign-ins at once: try again in a few seconds.');
    expect(Number(busy[0]!.headers['retry-after'])).toBeGreaterThan(0);
    expect(errorLines().length).toBe(errorsBefore);
    // A refused attempt was not checked, so it is not a failure: the same name from the same address may try 3 times.
    const index = answers.indexOf(busy[0]!);
    for (let i = 0; i < 3; i += 1) expect((await attempt(`crowd${index}`, 'guess', `192.0.2.${index + 1}`)).status).toBe(401);
  }, 60_000);

  test('when a disabled agent signs in with the right password, then it is refused', async () => {
    await addAgent(suite.app, 'dorothy');
    await suite.app.running.agents.change('dorothy', { disabled: true });

    const res = await attempt('dorothy', TEST_PASSWORD, '198.51.100.40');

    expect(res.status).toBe(401);
    expect(await sessionsOf('dorothy')).toBe(0);
  });

  test('when a signed-in agent opens the sign-in page, then they go to where they were going', async () => {
    const res = await ada.get('/sign-in?next=%2Fadmin').set('Accept', 'text/html');

    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/admin');
  });

  test('when sign-in is asked to go elsewhere afterwards, then it only goes to paths on this site', async () => {
    await addAgent(suite.app, 'hedy');
    const { cookie, csrfToken } = await openSignInPage(suite.app);

    const res = await suite.app.http().post('/sign-in').set(https).set('Cookie', cookie).type('form').send({ login: 'hedy', password: TEST_PASSWORD, next: '//evil.example/', _csrf: csrfToken });

    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/');
  });
});

describe('signing out', () => {
  test('when an agent signs out, then the session is deleted from the database and the old cookie opens nothing', async () => {
    const grace = await signIn(suite.app, 'grace');
    expect(await sessionExists(grace.cookie)).toBe(true);

    const res = await grace.postWithoutToken('/sign-out').type('form').send({ _csrf: grace.csrfToken });

    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/sign-in');
    expect(await sessionExists(grace.cookie)).toBe(false);
    expect((await grace.get('/agents/grace/call')).status).toBe(401);
  });

  test('when a sign-out form comes without the CSRF token, then it is refused with 403 and the agent stays signed in', async () => {
    const grace = await signIn(suite.app, 'grace');

    const res = await grace.postWithoutToken('/sign-out').type('form').send({});

    expect(res.status).toBe(403);
    expect(res.text).toMatch(/reload the page/);
    expect((await grace.get('/agents/grace/call')).status).toBe(200);
  });
});

describe('an open page sent to sign-in because its session ended', () => {
  test.each([
    ['disabled', SESSION_ENDED.disabled],
    ['expired', SESSION_ENDED.expired],
    ['ended', SESSION_ENDED.ended],
    ['1', SESSION_ENDED.unknown],
    ['<script>alert(1)</script>', SESSION_ENDED.unknown],
  ])('when sign-in is opened with ?ended=%s, then it says why in words of its own, nothing of the query', async (ended, notice) => {
    const page = await suite.app.http().get(`/sign-in?ended=${encodeURIComponent(ended)}&next=%2F`).set('Accept', 'text/html');

    expect(page.status).toBe(200);
    expect(page.text).toContain(`<p class="notice" id="sign-in-notice" role="status">${notice.replace(/'/g, '&#39;')}</p>`);
    expect(page.text).not.toContain('<script>alert');
  });

  test('when sign-in is opened without ?ended, then it shows no notice', async () => {
    const page = await suite.app.http().get('/sign-in').set('Accept', 'text/html');
    expect(page.text).not.toMatch(/id="sign-in-notice"/);
  });
});

describe('requests from other sites are refused', () => {
  test('when another site posts text/plain to bring in a colleague (a "simple" cross-site request), then it gets 415 and nobody is dialled', async () => {
    const res = await ada.post('/conference/ada/call').set('Content-Type', 'text/plain').send('{"to":"grace"}');

    expect(res.status).toBe(415);
    expect(res.body.error).toMatch(/Send JSON/);
    expect(suite.rest.requests).toHaveLength(0);
  });

  test('when another site posts a form to a JSON route, then it gets 415', async () => {
    const token = await ada.postWithoutToken('/token/ada').type('form').send({ _csrf: ada.csrfToken });
    const call = await ada.postWithoutToken('/conference/ada/call').type('form').send({ to: 'grace' });

    expect(token.status).toBe(415);
    expect(token.body.token).toBeUndefined();
    expect(call.status).toBe(415);
    expect(suite.rest.requests).toHaveLength(0);
  });

  test('when a JSON request comes with the session cookie but without the CSRF token, then it is refused with 403', async () => {
    const res = await ada.postWithoutToken('/token/ada').send({});

    expect(res.status).toBe(403);
    expect(res.body.token).toBeUndefined();
  });

  test('when a form is posted without a CSRF token, then it is refused with 403 (sign-in, sign-out, admin)', async () => {
    const { cookie } = await openSignInPage(suite.app);

    const signInRes = await suite.app.http().post('/sign-in').set(https).set('Cookie', cookie).type('form').send({ login: 'grace', password: TEST_PASSWORD });
    const admin = await ada.postWithoutToken('/admin/agents').type('form').send({ name: 'X', login: 'x' });

    expect(signInRes.status).toBe(403);
    expect(sessionCookieOf(signInRes) ?? cookie).toBe(cookie); // no new (signed-in) session
    expect((await suite.app.http().get('/agents/grace/call').set(https).set('Cookie', cookie)).status).toBe(401);
    expect([403, 401]).toContain(admin.status);
  });

  test('when a request carries a valid token but a foreign Origin, then it is refused with 403', async () => {
    const token = await ada.post('/token/ada').set('Origin', 'https://evil.example').send({});
    const signOut = await ada.postWithoutToken('/sign-out').set('Origin', 'https://evil.example').type('form').send({ _csrf: ada.csrfToken });

    expect(token.status).toBe(403);
    expect(token.body.error).toMatch(/Cross-site request refused/);
    expect(signOut.status).toBe(403);
    expect((await ada.get('/agents/ada/call')).status).toBe(200);
  });

  test('when a form comes with Origin: null (an opaque or sandboxed origin), then it is refused; pages ask browsers to keep the referrer same-origin', async () => {
    const res = await ada.postWithoutToken('/sign-out').set('Origin', 'null').type('form').send({ _csrf: ada.csrfToken });
    const page = await ada.get('/');

    expect(res.status).toBe(403);
    expect(page.headers['referrer-policy']).toBe('same-origin');
  });

  test('when the browser marks a request cross-site, then it is refused with 403; same-origin and own-Origin requests pass', async () => {
    const cross = await ada.post('/token/ada').set('Sec-Fetch-Site', 'cross-site').send({});
    const sameSite = await ada.post('/token/ada').set('Sec-Fetch-Site', 'same-site').send({});
    const sameOrigin = await ada.post('/token/ada').set('Sec-Fetch-Site', 'same-origin').set('Origin', TEST_ENV.PUBLIC_BASE_URL).send({});

    expect(cross.status).toBe(403);
    expect(sameSite.status).toBe(403);
    expect(sameOrigin.status).toBe(200);
  });
});

describe('who may call what', () => {
  test.each([
    ['GET', '/agents/ada/call', 401],
    ['POST', '/token/ada', 401],
    ['POST', '/conference/ada/call', 401],
    ['GET', '/admin', 401],
    ['POST', '/admin/agents', 401],
    ['POST', '/admin/agents/ada', 401],
    ['POST', '/admin/agents/ada/disable', 401],
    ['POST', '/admin/agents/ada/enable', 401],
    ['POST', '/admin/agents/ada/password', 401],
    ['POST', '/sign-out', 403],
  ])('when nobody is signed in, then %s %s answers %i JSON', async (method, path, status) => {
    const res = await (method === 'GET' ? suite.app.http().get(path) : suite.app.http().post(path).send({})).set('Accept', 'application/json');

    expect(res.status).toBe(status);
    expect(res.body.error).toBeTruthy();
  });

  test('when nobody is signed in, then the pages send a browser to sign in, and sign-in itself is open', async () => {
    const agent = await suite.app.http().get('/').set('Accept', 'text/html');
    const admin = await suite.app.http().get('/admin').set('Accept', 'text/html');
    const signInPage = await suite.app.http().get('/sign-in').set('Accept', 'text/html');

    expect(agent.status).toBe(303);
    expect(agent.headers.location).toBe('/sign-in');
    expect(admin.status).toBe(303);
    expect(admin.headers.location).toBe('/sign-in?next=%2Fadmin');
    expect(signInPage.status).toBe(200);
  });

  test("when an agent asks for a colleague's call, then 403; a supervisor sees anyone's; an unknown agent is 404 for them", async () => {
    const supervisor = await signedInAgent(suite.app, 'sup', { role: 'supervisor' });

    const own = await ada.get('/agents/ada/call');
    const colleague = await ada.get('/agents/grace/call');
    const seen = await supervisor.get('/agents/ada/call');
    const unknown = await supervisor.get('/agents/nobody/call');

    expect(own.status).toBe(200);
    expect(own.body).toEqual({ agentId: 'ada', call: null });
    expect(colleague.status).toBe(403);
    expect(seen.status).toBe(200);
    expect(seen.body.agentId).toBe('ada');
    expect(unknown.status).toBe(404);
  });

  test('when an agent or a supervisor opens the admin page, then 403', async () => {
    const supervisor = await signedInAgent(suite.app, 'sup2', { role: 'supervisor' });

    expect((await ada.get('/admin').set('Accept', 'text/html')).status).toBe(403);
    expect((await supervisor.get('/admin').set('Accept', 'text/html')).status).toBe(403);
  });

  test('when an agent brings in a colleague without naming one, then 400 says what to send', async () => {
    const res = await ada.post('/conference/ada/call').send({});

    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/to/);
  });
});

describe('bad input gets a 4xx, never a 500 or an ERROR line', () => {
  test.each([
    ['a garbage cookie', 'wt.sid=garbage'],
    ['a forged signed cookie', 'wt.sid=s%3Aabc.def'],
    ['a malformed escape', 'wt.sid=%E0%A4%A'],
    ['an empty cookie', 'wt.sid='],
    ['a cookie of a session that does not exist', `wt.sid=s%3A${'x'.repeat(32)}.${'y'.repeat(43)}`],
  ])('when the session cookie is %s, then the agent API answers 401 and the page redirects to sign-in', async (_what, cookie) => {
    const errorsBefore = errorLines().length;

    const api = await suite.app.http().get('/agents/ada/call').set(https).set('Cookie', cookie).set('Accept', 'application/json');
    const page = await suite.app.http().get('/').set(https).set('Cookie', cookie).set('Accept', 'text/html');
    const signInPage = await suite.app.http().get('/sign-in').set(https).set('Cookie', cookie).set('Accept', 'text/html');

    expect(api.status).toBe(401);
    expect(page.status).toBe(303);
    expect(signInPage.status).toBe(200);
    expect(errorLines().length).toBe(errorsBefore);
  });

  test('when a path has a malformed percent-escape, then 400 with a message', async () => {
    const errorsBefore = errorLines().length;

    const api = await ada.get('/agents/%E0%A4%A/call').set('Accept', 'application/json');
    const token = await ada.post('/token/%E0%A4%A').send({});
    const webhook = await suite.app.webhook(`/conference/${fakeSid()}/connect/%E0%A4%A`, { CallSid: fakeSid() });

    expect(api.status).toBe(400);
    expect(api.body.error).toMatch(/Malformed percent-escape/);
    expect(token.status).toBe(400);
    expect(webhook.status).toBe(400);
    expect(errorLines().length).toBe(errorsBefore);
  });

  test.each([
    ['an unknown charset', { 'Content-Type': 'application/x-www-form-urlencoded; charset=klingon' }, 'CallSid=x'],
    ['a garbled gzip body', { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Encoding': 'gzip' }, 'not gzip at all'],
    ['an unknown content encoding', { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Encoding': 'br2' }, 'CallSid=x'],
    ['an oversized body', { 'Content-Type': 'application/x-www-form-urlencoded' }, `CallSid=${'x'.repeat(70_000)}`],
  ])('when an unsigned webhook body has %s, then it gets a 4xx and no ERROR line', async (_what, headers, body) => {
    const errorsBefore = errorLines().length;

    const res = await suite.app.http().post('/conference/connect/client').set(headers).send(body);

    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(errorLines().length).toBe(errorsBefore);
  });

  test.each([
    ['a garbled gzip body', { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, 'not gzip'],
    ['an oversized body', { 'Content-Type': 'application/json' }, JSON.stringify({ to: 'x'.repeat(20_000) })],
    ['an unknown charset', { 'Content-Type': 'application/json; charset=klingon' }, '{}'],
  ])('when a JSON body has %s, then it gets a 4xx and no ERROR line', async (_what, headers, body) => {
    const errorsBefore = errorLines().length;

    const res = await ada.post('/conference/ada/call').set(headers).send(body);

    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(errorLines().length).toBe(errorsBefore);
  });

  test('when sign-in fields are repeated or oversized, then 400 or 401, never 500', async () => {
    const { cookie, csrfToken } = await openSignInPage(suite.app);

    const repeated = await suite.app.http().post('/sign-in').set(https).set('Cookie', cookie).type('form').send(`login=a&login=b&password=x&_csrf=${encodeURIComponent(csrfToken)}`);
    const long = await suite.app.http().post('/sign-in').set(https).set('Cookie', cookie).type('form').send({ login: 'a'.repeat(150), password: 'x', _csrf: csrfToken });

    expect(repeated.status).toBe(400);
    expect(long.status).toBe(401);
  });
});

describe('disabling an agent mid-session', () => {
  test('when an admin disables an agent, then every session of theirs is deleted and their next request is refused', async () => {
    const admin = await signedInAgent(suite.app, 'boss', { role: 'admin' });
    await addAgent(suite.app, 'ida');
    const ida = await signIn(suite.app, 'ida');
    const idaElsewhere = await signIn(suite.app, 'ida');
    expect((await ida.get('/agents/ida/call')).status).toBe(200);
    expect(await sessionsOf('ida')).toBe(2);

    const res = await admin.postWithoutToken('/admin/agents/ida/disable').type('form').send({ _csrf: admin.csrfToken });

    expect(res.status).toBe(200);
    expect(res.text).toMatch(/Disabled Agent ida; 2 session\(s\) ended/);
    expect(await sessionsOf('ida')).toBe(0);
    expect((await ida.get('/agents/ida/call')).status).toBe(401);
    expect((await idaElsewhere.post('/token/ida').send({})).status).toBe(401);
  });

  test('when an agent is disabled in the database by someone else (the CLI, another instance), then their very next request is refused', async () => {
    await addAgent(suite.app, 'joan');
    const joan = await signIn(suite.app, 'joan');
    expect((await joan.post('/token/joan').send({})).status).toBe(200);

    await suite.app.running.agents.change('joan', { disabled: true });

    expect((await joan.post('/token/joan').send({})).status).toBe(401);
    expect((await joan.get('/').set('Accept', 'text/html')).status).toBe(303);
    expect(await sessionsOf('joan')).toBe(0);
  });

  test('when an agent changes role mid-session, then the next request sees the new role', async () => {
    await addAgent(suite.app, 'lise');
    const lise = await signIn(suite.app, 'lise');
    expect((await lise.get('/agents/ada/call')).status).toBe(403);

    await suite.app.running.agents.change('lise', { role: 'supervisor' });

    expect((await lise.get('/agents/ada/call')).status).toBe(200);
  });
});

test('when a client signs in again later, then it reads a fresh CSRF token from the page (tokens are per session)', async () => {
  const first = await signIn(suite.app, 'grace');
  const second = await signIn(suite.app, 'grace');

  expect(first.csrfToken).not.toBe(second.csrfToken);
  expect((await clientFor(suite.app, 'grace', second.cookie)).csrfToken).toBe(second.csrfToken);
  expect(csrfTokenOf((await first.get('/').set('Accept', 'text/html')).text)).toBe(first.csrfToken);
});

test('when the test database is FerretDB, then the app recognises it by its buildInfo (and so keeps sign-in counters in memory)', async () => {
  const { servedByFerretDb } = await import('../src/db/connect');

  const ferret = await servedByFerretDb(suite.db.connection);

  expect(ferret).toBe(!process.env.MONGODB_URI);
});
