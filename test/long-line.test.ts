// A long line offers a message: with VOICEMAIL_LINE_LENGTH callers waiting, the next caller may press 1 to leave a
// voicemail instead of waiting (signed webhooks, real database); pressing nothing joins the line as usual.
import { fakeSid, resetFloor, TEST_ENV, useAppSuite } from './helpers/app';
import { find, parseTwiml } from './helpers/twiml';

const suite = useAppSuite({ env: { VOICEMAIL_LINE_LENGTH: '2', MENU_TIMEOUT_SECONDS: '5' } });
const BASE = TEST_ENV.PUBLIC_BASE_URL;

beforeEach(async () => {
  await resetFloor(suite.app.running);
});

const call = (callSid = fakeSid()) => suite.app.webhook('/conference/connect/client', { CallSid: callSid, From: '+15550002222' }).expect(200);

test('when two callers wait and a third calls, then the third is offered a message; 1 records it as a long-line voicemail', async () => {
  await call();
  await call();
  expect(parseTwiml((await call()).text).children.map((c) => c.name)).toEqual(['Gather', 'Redirect']);

  const third = fakeSid();
  const offer = parseTwiml((await call(third)).text);
  expect(find(offer, 'Gather')?.attrs.action).toMatch(new RegExp(`^${BASE}/conference/long-line\\?since=\\d+$`));
  const record = parseTwiml((await suite.app.webhook('/conference/long-line', { CallSid: third, From: '+15550002222', Digits: '1' }).expect(200)).text);
  const action = find(record, 'Record')!.attrs.action!;
  expect(action).toBe(`${BASE}/conference/voicemail/saved?reason=long-line&from=%2B15550002222`);
  const sid = `RE${'7'.repeat(32)}`;
  await suite.app.webhook(new URL(action).pathname + new URL(action).search, { CallSid: third, RecordingSid: sid, RecordingUrl: `${suite.rest.baseUrl}/r/${sid}`, RecordingDuration: '4', Digits: '#' }).expect(200);

  expect(await suite.db.connection.collection('voicemails').findOne({ _id: sid as never })).toMatchObject({ reason: 'long-line', from: '+15550002222' });
  expect(await suite.db.models.calls.findById(third).lean().exec()).toBeNull();
});

test('when the offered caller presses nothing, then they join the line (not offered again), in their place from when they called', async () => {
  await call();
  await call();
  const third = fakeSid();
  const offer = parseTwiml((await call(third)).text);
  const action = find(offer, 'Gather')!.attrs.action!;

  const joined = parseTwiml((await suite.app.webhook(new URL(action).pathname + new URL(action).search, { CallSid: third, From: '+15550002222' }).expect(200)).text);

  expect(find(joined, 'Conference')?.text).toBe(third);
  const stored = await suite.db.models.calls.findById(third).lean().exec();
  expect(stored).toMatchObject({ status: 'waiting' });
  // Their place is when they called, not when the offer ended: nobody who called meanwhile goes ahead of them.
  expect(new Date(stored!.placeSince!).getTime()).toBe(Number(new URL(action).searchParams.get('since')));
});
