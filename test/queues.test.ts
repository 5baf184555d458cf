// Queues, the keypad menu and routing by queue over real HTTP, a real database and signed webhooks: admins set queues
// and skills on /admin; the caller hears the menu (<Gather>), their key picks the queue, only its agents ring, a
// higher-priority queue goes first, and a queue whose agents are all offline overflows. The REST recorder is Twilio.
import { addAgent, fakeSid, resetFloor, signedInAgent, TEST_ENV, useAppSuite, type AgentClient } from './helpers/app';
import { formValue, type RecordedRequest } from './helpers/rest-recorder';
import { find, parseTwiml } from './helpers/twiml';

const suite = useAppSuite({ env: { RING_SECONDS: '5', WRAP_UP_SECONDS: '1', MENU_TIMEOUT_SECONDS: '4' } });
const BASE = TEST_ENV.PUBLIC_BASE_URL;
const CALLS_PATH = `/2010-04-01/Accounts/${TEST_ENV.TWILIO_ACCOUNT_SID}/Calls.json`;
let admin: AgentClient;

beforeAll(async () => {
  admin = await signedInAgent(suite.app, 'boss', { name: 'The Boss', role: 'admin' });
  for (const id of ['sam', 'sue', 'sid', 'nora']) await addAgent(suite.app, id, { name: id.toUpperCase() });
});

beforeEach(async () => {
  await resetFloor(suite.app.running);
  suite.rest.requests.length = 0;
});

function submit(path: string, fields: Record<string, string>) {
  return admin.postWithoutToken(path).type('form').set('Accept', 'text/html').send({ ...fields, _csrf: admin.csrfToken });
}

async function available(agentId: string, idleForMs = 0): Promise<void> {
  await suite.app.running.presence.heartbeat(agentId, `tab-${agentId}-0001`, { takeOver: true, staleMs: 30000, registered: true });
  await suite.app.running.presence.choose(agentId, 'available');
  if (idleForMs) await suite.db.connection.collection('presence').updateOne({ _id: agentId as never }, { $set: { idleSince: new Date(Date.now() - idleForMs) } });
}

const dials = (): RecordedRequest[] => suite.rest.requests.filter((r) => r.path === CALLS_PATH);
const dialled = (): string[] => dials().map((r) => formValue(r, 'To')!.replace(/^client:/, ''));

async function until<T>(what: string, probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A caller rings and picks `digits` (undefined: presses nothing, the <Gather> falls through to its Redirect). */
async function callAndPick(digits: string | undefined, callSid = fakeSid()): Promise<{ callSid: string; twiml: ReturnType<typeof parseTwiml> }> {
  const menu = parseTwiml((await suite.app.webhook('/conference/connect/client', { CallSid: callSid, From: '+15551112222' }).expect(200)).text);
  const action = find(menu, 'Gather')!.attrs.action!;
  const res = await suite.app.webhook(new URL(action).pathname + new URL(action).search, { CallSid: callSid, From: '+15551112222', ...(digits ? { Digits: digits } : {}) }).expect(200);
  return { callSid, twiml: parseTwiml(res.text) };
}

describe('with no queues', () => {
  test('when a customer calls, then there is no menu: they wait in the one line as before', async () => {
    const res = await suite.app.webhook('/conference/connect/client', { CallSid: fakeSid(), From: '+15551112222' }).expect(200);

    expect(parseTwiml(res.text).children.map((c) => c.name)).toEqual(['Dial']);
  });
});

describe('with Sales (key 1, agent sam) and Support (key 2, skill support: sue)', () => {
  beforeAll(async () => {
    await submit('/admin/queues', { name: 'Sales', key: '1', agents: 'sam', priority: '0' }).expect(303);
    await submit('/admin/queues', { name: 'Support', key: '2', skills: 'support', priority: '0', greeting: 'Thanks for calling support. A specialist will be with you shortly.' }).expect(303);
    await submit('/admin/agent-skills/sue', { skills: 'Support, French' }).expect(303);
  });

  test('when a customer calls, then they hear the menu in a one-key <Gather> that falls through to the default', async () => {
    const res = await suite.app.webhook('/conference/connect/client', { CallSid: fakeSid(), From: '+15551112222' }).expect(200);

    const doc = parseTwiml(res.text);
    expect(doc.children.map((c) => c.name)).toEqual(['Gather', 'Redirect']);
    const gather = doc.children[0]!;
    expect(gather.attrs).toMatchObject({ input: 'dtmf', numDigits: '1', timeout: '4', method: 'POST' });
    // The action carries when they called: the line keeps their place from then, not from the menu's end.
    const since = Number(new URL(gather.attrs.action!).searchParams.get('since'));
    expect(gather.attrs.action).toBe(`${BASE}/conference/menu?attempt=0&since=${since}`);
    expect(Math.abs(Date.now() - since)).toBeLessThan(5000);
    expect(gather.children.map((c) => c.text)).toEqual(['Thank you for calling.', 'For Sales, press 1. For Support, press 2.']);
    expect(doc.children[1]!.text).toBe(gather.attrs.action);
  });

  test('when the caller presses 2, then the Support agent (by skill) rings and the Sales agent does not, though idle longer', async () => {
    await available('sam', 60_000);
    await available('sue', 1_000);

    const { callSid, twiml } = await callAndPick('2');

    expect(find(twiml, 'Conference')?.text).toBe(callSid);
    await until('a dial', () => dials().length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(dialled()).toEqual(['sue']);
    const stored = await suite.db.models.calls.findById(callSid).lean().exec();
    expect(stored).toMatchObject({ queueId: 'support', queueName: 'Support', status: 'offered', offeredTo: 'sue' });
  });

  test('when the caller waits, then the first round of the wait says their queue\'s greeting and their place in it', async () => {
    const { callSid } = await callAndPick('2');

    const wait = parseTwiml((await suite.app.webhook(`/conference/wait?call=${callSid}&round=0`, { CallSid: callSid }).expect(200)).text);

    expect(wait.children.filter((c) => c.name === 'Say').map((c) => c.text)).toEqual(['Thanks for calling support. A specialist will be with you shortly.', 'You are next in line.']);
  });

  test('when the caller picks a queue with no greeting of its own, then the wait does not thank them a second time', async () => {
    const { callSid } = await callAndPick('1');

    const wait = parseTwiml((await suite.app.webhook(`/conference/wait?call=${callSid}&round=0`, { CallSid: callSid }).expect(200)).text);

    expect(wait.children.filter((c) => c.name === 'Say').map((c) => c.text)[0]).toBe('Please hold while we connect you to the next available agent.');
  });

  test('when the caller presses nothing, then the call goes to the default queue (the first by key: Sales)', async () => {
    await available('sam');
    await available('sue', 60_000);

    const { callSid } = await callAndPick(undefined);

    await until('a dial', () => dials().length >= 1);
    expect(dialled()).toEqual(['sam']);
    expect(await suite.db.models.calls.findById(callSid).lean().exec()).toMatchObject({ queueId: 'sales' });
  });

  test('when a caller spends the menu\'s seconds and another caller calls meanwhile and picks first, then the first caller keeps their place ahead', async () => {
    const first = fakeSid();
    const menu = parseTwiml((await suite.app.webhook('/conference/connect/client', { CallSid: first, From: '+15551112222' }).expect(200)).text);
    const action = find(menu, 'Gather')!.attrs.action!;
    await new Promise((r) => setTimeout(r, 300));
    const { callSid: second } = await callAndPick('1');
    await suite.app.webhook(new URL(action).pathname + new URL(action).search, { CallSid: first, From: '+15551112222', Digits: '1' }).expect(200);

    const [a, b] = await Promise.all([first, second].map((sid) => suite.db.models.calls.findById(sid).lean().exec()));
    expect(new Date(a!.placeSince!).getTime()).toBe(Number(new URL(action).searchParams.get('since')));
    expect(new Date(a!.placeSince!).getTime()).toBeLessThan(new Date(b!.createdAt).getTime());
    // Sales' agent comes free: the first caller rings.
    await available('sam');
    await until('a dial', () => dials().length >= 1);
    expect(formValue(dials()[0]!, 'Url')).toContain(`/conference/${first}/connect/sam`);
  });

  test('when a menu URL carries a time that is no recent past, then it is ignored: the place is when the caller joins', async () => {
    const callSid = fakeSid();
    await suite.app.webhook('/conference/connect/client', { CallSid: callSid, From: '+15551112222' }).expect(200);
    await suite.app.webhook(`/conference/menu?attempt=0&since=${Date.now() - 24 * 3600_000}`, { CallSid: callSid, From: '+15551112222', Digits: '1' }).expect(200);
    expect((await suite.db.models.calls.findById(callSid).lean().exec())?.placeSince).toBeUndefined();
  });

  test('when the caller presses a key that is no choice, then they hear the menu again, and after two tries the default queue', async () => {
    const callSid = fakeSid();
    await suite.app.webhook('/conference/connect/client', { CallSid: callSid, From: '+15551112222' }).expect(200);

    const again = parseTwiml((await suite.app.webhook('/conference/menu?attempt=0', { CallSid: callSid, Digits: '9' }).expect(200)).text);
    expect(find(again, 'Gather')?.attrs.action).toBe(`${BASE}/conference/menu?attempt=1`);
    expect(find(again, 'Say')?.text).toBe('Sorry, that is not one of the choices.');
    await suite.app.webhook('/conference/menu?attempt=1', { CallSid: callSid, Digits: '7' }).expect(200);
    const last = parseTwiml((await suite.app.webhook('/conference/menu?attempt=2', { CallSid: callSid, Digits: '9' }).expect(200)).text);

    expect(find(last, 'Conference')?.text).toBe(callSid);
    expect(await suite.db.models.calls.findById(callSid).lean().exec()).toMatchObject({ queueId: 'sales' });
  });

  test('when the menu\'s answer comes twice (Twilio retries), then the call is stored and routed once', async () => {
    await available('sam');
    const callSid = fakeSid();

    const [a, b] = await Promise.all([callAndPick('1', callSid), suite.app.webhook('/conference/menu?attempt=0', { CallSid: callSid, Digits: '1' }).expect(200)]);

    expect(find(a.twiml, 'Conference')?.text).toBe(callSid);
    expect(find(parseTwiml(b.text), 'Conference')?.text).toBe(callSid);
    await until('a dial', () => dials().length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(dialled()).toEqual(['sam']);
  });

  test('when the menu gets bad input, then the caller hears an apology TwiML, never a 500', async () => {
    const res = await suite.app.webhook('/conference/menu?attempt=0', { CallSid: 'not-a-sid', Digits: '1' });

    expect(res.status).toBe(200);
    expect(parseTwiml(res.text).children.map((c) => c.name)).toEqual(['Say', 'Hangup']);
  });

  test('when history records a call of a queue, then its CSV row and page name the queue', async () => {
    await available('sam');
    const { callSid } = await callAndPick('1');
    await until('a dial', () => dials().length >= 1);
    // The customer hangs up before anyone answers: the conference ends and the call goes to the history.
    await suite.app.webhook('/conference/events', { FriendlyName: callSid, StatusCallbackEvent: 'conference-end', ReasonConferenceEnded: 'participant-with-end-conference-on-exit-left' }).expect(200);
    await until('the history record', async () => (await suite.app.running.history.newest({ limit: 5 })).find((r) => r._id === callSid));

    const csv = await admin.get('/history.csv');
    const page = await admin.get(`/history/${new Date().toISOString().slice(0, 10)}/${callSid}`).set('Accept', 'text/html');

    const header = csv.text.split('\r\n')[0]!.split(',');
    const row = csv.text.split('\r\n').find((l) => l.startsWith(callSid))!.split(',');
    expect(row[header.indexOf('queue')]).toBe('Sales');
    expect(page.text).toMatch(/<dd id="call-queue">Sales<\/dd>/);
  });
});

describe('priority and overflow', () => {
  beforeAll(async () => {
    await submit('/admin/queues', { name: 'VIP', key: '3', agents: 'sid', priority: '10' }).expect(303);
    await submit('/admin/queues/sales', { name: 'Sales', key: '1', agents: 'sam, sid', priority: '0' }).expect(303);
    await submit('/admin/queues', { name: 'Night', key: '4', agents: 'nora', overflowTo: 'support', overflowAfterSeconds: '5' }).expect(303);
  });

  test('when an older Sales call and a newer VIP call wait and sid (who serves both) becomes free, then the VIP call rings first', async () => {
    const older = await callAndPick('1');
    await new Promise((r) => setTimeout(r, 50));
    const vip = await callAndPick('3');

    await available('sid');

    await until('a dial', () => dials().length >= 1);
    expect(formValue(dials()[0]!, 'Url')).toBe(`${BASE}/conference/${vip.callSid}/connect/sid`);
    expect(await suite.db.models.calls.findById(older.callSid).lean().exec()).toMatchObject({ status: 'waiting' });
  });

  test('when every agent of a queue is offline, then after its overflow wait the call moves to the named queue, keeping its entry time, and rings there', async () => {
    const { callSid } = await callAndPick('4');
    const entered = (await suite.db.models.calls.findById(callSid).lean().exec())!.createdAt;
    await available('sue');

    const moved = await until('the overflow', async () => {
      const c = await suite.db.models.calls.findById(callSid).lean().exec();
      return c?.queueId === 'support' ? c : undefined;
    }, 12_000);

    expect(moved).toMatchObject({ overflowedFrom: 'night', overflowedFromName: 'Night', queueName: 'Support' });
    expect(new Date(moved.createdAt).getTime()).toBe(new Date(entered).getTime());
    expect(new Date(moved.queueSince!).getTime() - new Date(entered).getTime()).toBeGreaterThanOrEqual(5000);
    await until('sue rung', () => dialled().includes('sue'));
    // The history names the queue it overflowed from (its name, not its id).
    await suite.app.webhook('/conference/events', { FriendlyName: callSid, StatusCallbackEvent: 'conference-end', ReasonConferenceEnded: 'participant-with-end-conference-on-exit-left' }).expect(200);
    await until('the history record', async () => (await suite.app.running.history.newest({ limit: 5 })).find((r) => r._id === callSid));
    const page = await admin.get(`/history/${new Date().toISOString().slice(0, 10)}/${callSid}`).set('Accept', 'text/html');
    expect(page.text).toMatch(/<dd id="call-queue">Support \(overflow from Night\)<\/dd>/);
    expect(page.text).toContain('Nobody who serves Night was online: moved to Support.');
  });

  test('when an admin gives a queue a key another queue has, or an overflow to nowhere, then nothing is saved', async () => {
    const taken = await submit('/admin/queues', { name: 'Dup', key: '1' });
    const nowhere = await submit('/admin/queues', { name: 'Lost', overflowTo: 'no-such-queue' });

    expect(taken.status).toBe(400);
    expect(taken.text).toMatch(/Key 1 is taken by the queue Sales/);
    expect(nowhere.status).toBe(400);
    // Numbers out of range say so in words, not by the form's field names ("priority must be at most 100.").
    const priority = await submit('/admin/queues', { name: 'Loud', priority: '500' });
    const overflow = await submit('/admin/queues', { name: 'Quick', overflowTo: 'sales', overflowAfterSeconds: '2' });
    expect([priority.status, overflow.status]).toEqual([400, 400]);
    expect(priority.text).toContain('The priority is a whole number from 0 to 100 (or blank).');
    expect(overflow.text).toContain('The overflow waits a whole number of seconds, 5 to 3600 (or blank).');
    expect((await suite.app.running.queues.load()).queues.map((q) => q.id)).toEqual(['sales', 'support', 'vip', 'night']);
  });

  test('when a queue name or greeting holds a control character, then it is refused with 400; one stored by an earlier version still leaves every call its menu', async () => {
    for (const fields of <Array<Record<string, string>>>[{ name: 'Zalgo \u0000 nul', key: '8' }, { name: 'Bell\u0007' }, { name: 'Fine', greeting: 'Line one\nline two' }, { name: 'Mirror \u202E' }]) {
      const refused = await submit('/admin/queues', fields);
      expect(refused.status).toBe(400);
      expect(refused.text).toMatch(/may not contain (text-direction )?control characters/);
    }
    expect((await suite.app.running.queues.load()).queues.map((q) => q.id)).toEqual(['sales', 'support', 'vip', 'night']);

    // As an earlier version could store it: the menu speaks the name with a space where the NUL was.
    await suite.db.connection.collection('queues').updateOne({ _id: 'vip' as never }, { $set: { name: 'V\u0000IP' } });
    await submit('/admin/queues/night', { name: 'Night', key: '4', overflowTo: 'support', overflowAfterSeconds: '60' }).expect(303); // (reloads the cached queues)
    const res = await suite.app.webhook('/conference/connect/client', { CallSid: fakeSid(), From: '+15551112222' }).expect(200);
    const prompt = find(parseTwiml(res.text), 'Gather')!.children.map((c) => c.text).join(' ');
    expect(prompt).toContain('For V IP, press');
    await suite.db.connection.collection('queues').updateOne({ _id: 'vip' as never }, { $set: { name: 'VIP' } });
  });

  test('when an admin names an agent who does not exist, or removes a queue another overflows to, then it is refused with the reason and nothing changes', async () => {
    const nobody = await submit('/admin/agent-skills/nobody', { skills: 'billing' });
    expect(nobody.status).toBe(404);
    expect(nobody.text).toMatch(/There is no agent nobody/);
    const typo = await submit('/admin/queues', { name: 'Ghost', key: '5', agents: 'sue, katherin' });
    expect(typo.status).toBe(400);
    expect(typo.text).toMatch(/No agent has the sign-in name katherin/);

    const target = await submit('/admin/queues/support/delete', { confirm: 'yes' });
    expect(target.status).toBe(400);
    expect(target.text).toMatch(/Night overflows to this queue: change its overflow first/);
    expect((await suite.app.running.queues.load()).queues.map((q) => q.id)).toEqual(['sales', 'support', 'vip', 'night']);
  });

  test('when an admin presses Remove, then a page asks once more (Keep it goes back); only its confirmation removes the queue, and the page then says what was done', async () => {
    await submit('/admin/queues', { name: 'Refunds', key: '7' }).expect(303);

    const asked = await submit('/admin/queues/refunds/delete', {});

    expect(asked.status).toBe(200);
    expect(asked.text).toMatch(/Remove the queue Refunds\?/);
    expect(asked.text).toMatch(/Callers waiting in Refunds will wait for any agent, and key 7 leaves the menu/);
    expect(asked.text).toMatch(/<input type="hidden" name="confirm" value="yes">/);
    expect(asked.text).toMatch(/<a id="confirm-no" href="\/admin#queues">Keep it<\/a>/);
    expect((await suite.app.running.queues.load()).queues.map((q) => q.id)).toContain('refunds');

    const removed = await submit('/admin/queues/refunds/delete', { confirm: 'yes' });

    expect(removed.status).toBe(303);
    expect(removed.headers.location).toBe('/admin?done=removed&name=Refunds#queues');
    expect((await suite.app.running.queues.load()).queues.map((q) => q.id)).not.toContain('refunds');
    expect((await admin.get(removed.headers.location!).set('Accept', 'text/html')).text).toMatch(/<p class="notice" id="queues-notice" role="status">Removed the queue Refunds.<\/p>/);
    expect((await submit('/admin/queues/refunds/delete', { confirm: 'yes' })).status).toBe(404);
    // A link from elsewhere cannot make the page claim what did not happen.
    expect((await admin.get('/admin?done=added&name=Refunds').set('Accept', 'text/html')).text).not.toContain('queues-notice');
    expect((await admin.get('/admin?done=removed&name=Sales').set('Accept', 'text/html')).text).not.toContain('queues-notice');
  });

  test('when the same new key arrives in 30 requests at once, then one queue gets it; names in other scripts get ids of their own', async () => {
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => submit('/admin/queues', { name: `Race ${i}`, key: '6' })));
    expect(answers.filter((r) => r.status === 303)).toHaveLength(1);
    expect(answers.filter((r) => r.status === 400)).toHaveLength(29);
    const raced = (await suite.app.running.queues.load()).queues.filter((q) => q.key === '6');
    expect(raced).toHaveLength(1);

    await submit('/admin/queues', { name: '日本語サポート' }).expect(303);
    await submit('/admin/queues', { name: 'Русский' }).expect(303);
    const scripts = (await suite.app.running.queues.load()).queues.filter((q) => q.name === '日本語サポート' || q.name === 'Русский');
    expect(scripts).toHaveLength(2);
    expect(new Set(scripts.map((q) => q.id)).size).toBe(2);
    expect(scripts.every((q) => /^q-[0-9a-f]{10}$/.test(q.id))).toBe(true);
    for (const q of [...raced, ...scripts]) await submit(`/admin/queues/${q.id}/delete`, { confirm: 'yes' }).expect(303);
  });

  test('when an admin names a queue like another, then it is refused; when a second queue is made the default, then it takes the default from the first', async () => {
    const twin = await submit('/admin/queues/vip', { name: 'sales ', key: '3', agents: 'sid', priority: '10' });
    expect(twin.status).toBe(400);
    expect(twin.text).toMatch(/A queue named Sales exists already/);

    await submit('/admin/queues/night', { name: 'Night', key: '4', agents: 'nora', overflowTo: 'support', overflowAfterSeconds: '5', isDefault: 'true' }).expect(303);
    await submit('/admin/queues/vip', { name: 'VIP', key: '3', agents: 'sid', priority: '10', isDefault: 'true' }).expect(303);
    const defaults = (await suite.app.running.queues.load()).queues.filter((q) => q.isDefault).map((q) => q.id);
    expect(defaults).toEqual(['vip']);
    await submit('/admin/queues/vip', { name: 'VIP', key: '3', agents: 'sid', priority: '10' }).expect(303);
  });
});
