// The estimated wait: the rule on its own, then what a waiting caller hears (signed wait webhook, real database, the
// queue's recent answers in the history).
import { estimatedWaitSeconds, estimatedWaitSentence } from '../src/contact-center/wait-estimate';
import type { HistoryRecord } from '../src/contact-center/history';
import { fakeSid, resetFloor, useAppSuite } from './helpers/app';
import { parseTwiml } from './helpers/twiml';

describe('the rule', () => {
  test('when the queue answered 4 calls in 30 minutes, then the second in line waits about 15 minutes; the estimate rounds up', () => {
    expect(estimatedWaitSeconds({ position: 2, answers: 4, windowMs: 30 * 60_000 })).toBe(900);
    expect(estimatedWaitSentence(900)).toBe('Your expected wait is about 15 minutes.');
    expect(estimatedWaitSentence(61)).toBe('Your expected wait is about 2 minutes.');
    expect(estimatedWaitSentence(60)).toBe('Your expected wait is about 1 minute.');
  });

  test('when there are too few answers, the wait is under a minute, or beyond an hour, then nothing is said', () => {
    expect(estimatedWaitSeconds({ position: 5, answers: 2, windowMs: 30 * 60_000 })).toBeUndefined();
    expect(estimatedWaitSeconds({ position: 1, answers: 60, windowMs: 30 * 60_000 })).toBeUndefined();
    expect(estimatedWaitSeconds({ position: 40, answers: 3, windowMs: 30 * 60_000 })).toBeUndefined();
    expect(estimatedWaitSentence(undefined)).toBeUndefined();
  });
});

describe('what a waiting caller hears', () => {
  const suite = useAppSuite();

  beforeEach(async () => {
    await resetFloor(suite.app.running);
  });

  /** A call answered `minutesAgo` minutes ago, finished a minute later. */
  function answered(minutesAgo: number): HistoryRecord {
    const answeredAt = new Date(Date.now() - minutesAgo * 60_000);
    return { _id: fakeSid(), startedAt: new Date(answeredAt.getTime() - 30_000), endedAt: new Date(answeredAt.getTime() + 60_000), outcome: 'answered', agentIds: ['ana'], offeredTo: ['ana'], waitSeconds: 30, talkSeconds: 60, answeredAt, answeredBy: 'ana', transfers: [], timeline: [] };
  }

  async function announcementOf(callSid: string): Promise<string[]> {
    const res = await suite.app.webhook(`/conference/wait?call=${callSid}&round=1`, { CallSid: callSid }).expect(200);
    return parseTwiml(res.text).children.filter((c) => c.name === 'Say').map((c) => c.text);
  }

  test('when two calls were answered lately, then the caller hears only their place; after four, their place and about how long', async () => {
    for (const m of [5, 10]) await suite.app.running.history.append(answered(m));
    const [a, b] = [fakeSid(), fakeSid()];
    await suite.app.webhook('/conference/connect/client', { CallSid: a, From: '+15550000001' }).expect(200);
    await suite.app.webhook('/conference/connect/client', { CallSid: b, From: '+15550000002' }).expect(200);

    expect(await announcementOf(b)).toEqual(['You are number 2 in line.']);

    for (const m of [15, 20]) await suite.app.running.history.append(answered(m));
    await new Promise((r) => setTimeout(r, 5100)); // the estimator's cache
    expect(await announcementOf(b)).toEqual(['You are number 2 in line. Your expected wait is about 15 minutes.']);
  });
});
