// Queues as pure rules: who serves a queue, the menu's words and keys, routing by queue and priority, and overflow.
import { defaultQueue, hasMenu, menuPrompt, overflowDue, queueIdOf, queueOfKey, queuesServedBy, serves, type Queue } from '../src/contact-center/queues';
import { planOffers, positionInLine, type Task, type Worker } from '../src/contact-center/routing';

const now = new Date('2026-12-03T10:00:00Z');
const ago = (seconds: number): Date => new Date(now.getTime() - seconds * 1000);
const policy = { passCooldownMs: 30_000 };
const queue = (id: string, extra: Partial<Queue> = {}): Queue => ({ id, name: id[0]!.toUpperCase() + id.slice(1), agents: [], skills: [], priority: 0, ...extra });
const task = (callSid: string, waitedSeconds: number, queueId?: string, priority = 0): Task => ({ callSid, waitingSince: ago(waitedSeconds), passedBy: [], ...(queueId ? { queueId, priority } : {}) });
const worker = (agentId: string, idleSeconds: number, queues?: string[]): Worker => ({ agentId, idleSince: ago(idleSeconds), ...(queues ? { queues: new Set(queues) } : {}) });

describe('who serves a queue', () => {
  test('when a queue names agents or skills, then those agents serve it; with neither, everybody does', () => {
    expect(serves(queue('sales', { agents: ['sam'] }), 'sam')).toBe(true);
    expect(serves(queue('sales', { agents: ['sam'] }), 'sue', ['support'])).toBe(false);
    expect(serves(queue('support', { skills: ['support'] }), 'sue', ['french', 'support'])).toBe(true);
    expect(serves(queue('general'), 'anyone')).toBe(true);
    const setup = { queues: [queue('sales', { agents: ['sam'] }), queue('support', { skills: ['support'] }), queue('general')], skills: new Map([['sue', ['support']]]) };
    expect([...queuesServedBy(setup, 'sue')]).toEqual(['support', 'general']);
  });
});

describe('the menu', () => {
  test('when there are two queues or more, then the menu names each key in order; the default is the marked one, else the first key', () => {
    const queues = [queue('support', { key: '2' }), queue('sales', { key: '1' }), queue('back-office')];
    expect(hasMenu(queues)).toBe(true);
    expect(hasMenu([queue('only')])).toBe(false);
    expect(menuPrompt(queues)).toBe('For Sales, press 1. For Support, press 2.');
    expect(defaultQueue(queues)?.id).toBe('sales');
    expect(defaultQueue([...queues, queue('x', { isDefault: true })])?.id).toBe('x');
    expect(queueOfKey(queues, '2')?.id).toBe('support');
    expect(queueOfKey(queues, '9')).toBeUndefined();
    expect(queueIdOf('Billing & Payments')).toBe('billing-payments');
    // Two queues with no key to press: no menu (callers go to the default queue); names in other scripts get ids of their own.
    expect(hasMenu([queue('alpha'), queue('beta')])).toBe(false);
    expect(queueIdOf('日本語サポート')).toMatch(/^q-[0-9a-f]{10}$/);
    expect(queueIdOf('日本語サポート')).not.toBe(queueIdOf('Русский'));
  });
});

describe('routing by queue and priority', () => {
  test('when a Support call waits, then only an agent who serves Support is offered it, even if a Sales agent is idle longer', () => {
    expect(planOffers([task('A', 10, 'support')], [worker('sam', 600, ['sales']), worker('sue', 5, ['support'])], now, policy)).toEqual([{ callSid: 'A', agentId: 'sue' }]);
    expect(planOffers([task('A', 10, 'support')], [worker('sam', 600, ['sales'])], now, policy)).toEqual([]);
  });

  test('when calls of two priorities wait, then the higher priority goes first, and within a priority the oldest', () => {
    const tasks = [task('old-low', 300, 'sales', 0), task('new-high', 5, 'vip', 10), task('mid-high', 60, 'vip', 10)];
    expect(planOffers(tasks, [worker('a', 10, ['sales', 'vip']), worker('b', 5, ['sales', 'vip']), worker('c', 1, ['sales', 'vip'])], now, policy)).toEqual([
      { callSid: 'mid-high', agentId: 'a' },
      { callSid: 'new-high', agentId: 'b' },
      { callSid: 'old-low', agentId: 'c' },
    ]);
  });

  test('when no queues are set up (no queue on tasks or workers), then routing is longest idle, oldest call, as before', () => {
    expect(planOffers([task('B', 10), task('A', 30)], [worker('ana', 5), worker('ben', 60)], now, policy)).toEqual([
      { callSid: 'A', agentId: 'ben' },
      { callSid: 'B', agentId: 'ana' },
    ]);
    expect(positionInLine([task('B', 10), task('A', 30)], 'B')).toBe(2);
  });
});

describe('overflow', () => {
  const night = queue('night', { agents: ['nina'], overflow: { to: 'support', afterSeconds: 60 } });
  const skills = new Map<string, string[]>();

  test('when nobody who serves the queue is online and the call waited its time, then it overflows; not before, nor while one is online', () => {
    expect(overflowDue(night, ago(60), now, ['sue'], skills)).toBe('support');
    expect(overflowDue(night, ago(59), now, ['sue'], skills)).toBeUndefined();
    expect(overflowDue(night, ago(600), now, ['nina'], skills)).toBeUndefined();
    expect(overflowDue(queue('plain'), ago(600), now, [], skills)).toBeUndefined();
    expect(overflowDue(queue('loop', { overflow: { to: 'loop', afterSeconds: 1 } }), ago(600), now, [], skills)).toBeUndefined();
  });
});

describe('the overflow transition', () => {
  test('when a waiting call of the queue overflows, then its queue changes once; a call moved already or no longer waiting is left alone', async () => {
    const { queueOverflowed } = await import('../src/contact-center/call-life');
    const call = { _id: 'CA1', conferenceName: 'CA1', status: 'waiting' as const, queueId: 'night', queueName: 'Night', participants: [], passedBy: [], transfers: [], rev: 3, createdAt: ago(300), updatedAt: ago(10) };

    const step = queueOverflowed(call, { from: 'night', to: 'support', toName: 'Support', now });

    expect(step).toEqual({ patch: { set: { queueId: 'support', queueName: 'Support', queueSince: now, overflowedFrom: 'night', overflowedFromName: 'Night' } }, result: true });
    expect(queueOverflowed({ ...call, queueId: 'support' }, { from: 'night', to: 'support', toName: 'Support', now })).toEqual({ result: false });
    expect(queueOverflowed({ ...call, status: 'offered' }, { from: 'night', to: 'support', toName: 'Support', now })).toEqual({ result: false });
  });
});
