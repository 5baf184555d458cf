// The pure rules of the floor, without a database or HTTP: who is offered which call, presence, and what an agent may
// do on their call.
import { actionsFor, NO_ACTIONS, takesTransfers } from '../src/contact-center/actions';
import { presenceOf, softphoneAlive } from '../src/contact-center/presence';
import { planOffers, positionInLine, type Task, type Worker } from '../src/contact-center/routing';
import { startConsult, type Transfer } from '../src/contact-center/transfer';

const now = new Date('2026-12-03T10:00:00Z');
const ago = (seconds: number): Date => new Date(now.getTime() - seconds * 1000);
const task = (callSid: string, waitedSeconds: number, extra: Partial<Task> = {}): Task => ({ callSid, waitingSince: ago(waitedSeconds), passedBy: [], ...extra });
const worker = (agentId: string, idleSeconds: number): Worker => ({ agentId, idleSince: ago(idleSeconds) });
const policy = { passCooldownMs: 30_000 };

describe('planOffers', () => {
  test('when the first caller is away hearing the callback offer, then the agent who would take them is kept for them (nobody behind them takes their turn), and a second agent takes the next caller', () => {
    const away = task('A', 30, { away: true });
    expect(planOffers([away, task('B', 10)], [worker('ana', 60)], now, policy)).toEqual([]);
    expect(planOffers([away, task('B', 10)], [worker('ana', 60), worker('ben', 5)], now, policy)).toEqual([{ callSid: 'B', agentId: 'ben' }]);
  });

  test('when calls wait and agents are free, then the oldest call goes to the agent idle longest, each at most once', () => {
    expect(planOffers([task('B', 10), task('A', 30), task('C', 5)], [worker('ana', 5), worker('ben', 60)], now, policy)).toEqual([
      { callSid: 'A', agentId: 'ben' },
      { callSid: 'B', agentId: 'ana' },
    ]);
  });

  test('when the only free agent passed on a call within the cooldown, then that call waits but the next caller goes to them', () => {
    const passed = task('A', 30, { passedBy: [{ agentId: 'ana', at: ago(10) }] });
    expect(planOffers([passed, task('B', 5)], [worker('ana', 60)], now, policy)).toEqual([{ callSid: 'B', agentId: 'ana' }]);
    const longAgo = task('A', 90, { passedBy: [{ agentId: 'ana', at: ago(40) }] });
    expect(planOffers([longAgo], [worker('ana', 60)], now, policy)).toEqual([{ callSid: 'A', agentId: 'ana' }]);
  });

  test('when a call is kept for the agent whose softphone dropped, then only that agent gets it during the grace, and anyone after it', () => {
    const kept = task('A', 300, { returnTo: { agentId: 'ana', until: new Date(now.getTime() + 5000) } });
    expect(planOffers([kept], [worker('ben', 600)], now, policy)).toEqual([]);
    expect(planOffers([kept, task('B', 10)], [worker('ben', 600)], now, policy)).toEqual([{ callSid: 'B', agentId: 'ben' }]);
    expect(planOffers([kept], [worker('ben', 600), worker('ana', 1)], now, policy)).toEqual([{ callSid: 'A', agentId: 'ana' }]);
    const expired = task('A', 300, { returnTo: { agentId: 'ana', until: ago(1) } });
    expect(planOffers([expired], [worker('ben', 600)], now, policy)).toEqual([{ callSid: 'A', agentId: 'ben' }]);
  });

  test('when the agent a call is kept for chose Away (a colleague brought in, then their page reloaded), then they get their customer back, whatever queue, and nothing else', () => {
    const away: Worker = { agentId: 'ana', idleSince: ago(1), reconnectOnly: true, queues: new Set(['sales']) };
    const kept = task('A', 300, { queueId: 'support', returnTo: { agentId: 'ana', until: new Date(now.getTime() + 5000) } });
    expect(planOffers([kept], [away], now, policy)).toEqual([{ callSid: 'A', agentId: 'ana' }]);
    expect(planOffers([task('B', 600)], [away], now, policy)).toEqual([]);
    expect(planOffers([task('B', 600, { queueId: 'sales' }), kept], [away], now, policy)).toEqual([{ callSid: 'A', agentId: 'ana' }]);
  });

  test('when callers wait, then their places count from 1 in arrival order, ties broken by CallSid', () => {
    const tasks = [task('B', 10), task('A', 10), task('C', 30)];
    expect(['C', 'A', 'B', 'X'].map((sid) => positionInLine(tasks, sid))).toEqual([1, 2, 3, undefined]);
  });
});

describe('presenceOf', () => {
  const base = { chosen: 'available' as const, chosenAt: ago(100), lastSeenAt: ago(5), softphoneReady: true, now, offlineAfterMs: 30_000 };

  test('when the softphone is alive and registered, then the agent is what they chose', () => {
    expect(presenceOf(base)).toEqual({ presence: 'available', since: base.chosenAt });
    expect(presenceOf({ ...base, chosen: 'away' }).presence).toBe('away');
  });

  test('when the page is alive but its softphone is not registered, or the page went silent, then the agent is offline', () => {
    expect(presenceOf({ ...base, softphoneReady: false }).presence).toBe('offline');
    expect(presenceOf({ ...base, lastSeenAt: ago(31) }).presence).toBe('offline');
    expect(softphoneAlive({ lastSeenAt: undefined, now, offlineAfterMs: 30_000 })).toBe(false);
  });

  test('when the agent holds a reservation, then the call decides, even with a silent softphone', () => {
    expect(presenceOf({ ...base, lastSeenAt: ago(300), reservation: { state: 'offered', since: ago(2) } })).toEqual({ presence: 'ringing', since: ago(2) });
    expect(presenceOf({ ...base, softphoneReady: false, reservation: { state: 'wrap-up', since: ago(1) } }).presence).toBe('wrap-up');
  });
});

describe('actionsFor', () => {
  const leg = (agentId: string, status: string) => ({ agentId, status: status as never });
  const call = (participants: ReturnType<typeof leg>[], transfers: Transfer[] = []) => ({ status: 'in-progress', participants, transfers });
  const consult = (state: Transfer['state']): Transfer => ({ ...startConsult([], { id: 't', from: 'ana', to: 'ben', now }), state });

  // Whoever talks may mute their microphone and use the keypad; holding needs the conference (softphone-rules.test.ts).
  const talking = { hangUp: true, mute: true, keypad: true };

  test('when the agent talks with the customer and no transfer is open, then they may hang up and start any transfer, but not act on a consult', () => {
    expect(actionsFor(call([leg('ana', 'in-progress')]), 'ana')).toEqual({ ...NO_ACTIONS, ...talking, consult: true, coldTransfer: true, bringIn: true, toQueue: true });
  });

  test('when a consult is under way, then only its starter may complete, merge, toggle or cancel, and nobody starts another or sends the customer back in line', () => {
    const consulting = call([leg('ana', 'in-progress'), leg('ben', 'in-progress')], [consult('consulting')]);
    expect(actionsFor(consulting, 'ana')).toEqual({ ...NO_ACTIONS, ...talking, complete: true, merge: true, toggle: true, cancel: true });
    expect(actionsFor(consulting, 'ben')).toEqual({ ...NO_ACTIONS, ...talking });
    expect(actionsFor(call([leg('ana', 'in-progress'), leg('ben', 'ringing')], [consult('dialing')]), 'ana')).toEqual({ ...NO_ACTIONS, ...talking, cancel: true });
  });

  test('when the agent is ringing, has left, or has no call, then nothing applies', () => {
    expect(actionsFor(call([leg('ana', 'ringing')]), 'ana')).toEqual(NO_ACTIONS);
    expect(actionsFor(call([leg('ana', 'completed'), leg('ben', 'in-progress')]), 'ana')).toEqual(NO_ACTIONS);
    expect(actionsFor(undefined, 'ana')).toEqual(NO_ACTIONS);
  });

  test('when a colleague is offline, ringing or on a call, then they take no transfer; supervisors and admins only when available', () => {
    expect(['offline', 'ringing', 'on-call'].map((presence) => takesTransfers({ role: 'agent', presence: presence as never }))).toEqual([false, false, false]);
    expect(['available', 'away', 'wrap-up'].map((presence) => takesTransfers({ role: 'agent', presence: presence as never }))).toEqual([true, true, true]);
    expect(takesTransfers({ role: 'supervisor', presence: 'away' })).toBe(false);
    expect(takesTransfers({ role: 'admin', presence: 'available' })).toBe(true);
  });
});
