// The consult transfer's transitions, without a database or HTTP.
import { finishedCallOf } from '../src/contact-center/history';
import { agentLabel, agentOfLabel, leftAlone, legStatusOf, movesForward } from '../src/contact-center/participants';
import { upgradeStoredParticipants } from '../src/models/call-store';
import { colleagueLegChanged, decide, openTransfer, startCold, startConsult, transferrerLeft, TransferRuleError, type Transfer } from '../src/contact-center/transfer';
import type { CallRecord } from '../src/models/call';

const now = new Date('2026-11-25T10:00:00Z');
const consult = (over: Partial<Transfer> = {}): Transfer => ({ ...startConsult([], { id: 't1', from: 'ada', to: 'grace', note: '  billing question ', now }), ...over });

test('when a consult starts, then it is dialing with the trimmed note; a second one, or to oneself, is refused', () => {
  const t = consult();
  expect(t).toMatchObject({ state: 'dialing', from: 'ada', to: 'grace', note: 'billing question', mode: 'consult' });
  expect(() => startConsult([t], { id: 't2', from: 'ada', to: 'alan', now })).toThrow(TransferRuleError);
  expect(() => startConsult([], { id: 't3', from: 'ada', to: 'ada', now })).toThrow(/yourself/);
  expect(openTransfer([{ ...t, state: 'completed' }])).toBeUndefined();
});

test('when the colleague answers, then the consult is under way; when they decline, do not answer or fail, then the customer comes off hold', () => {
  expect(colleagueLegChanged(consult(), 'in-progress')).toEqual({ state: 'consulting', effects: {} });
  expect(colleagueLegChanged(consult(), 'busy')).toEqual({ state: 'declined', effects: { unholdCustomer: true } });
  expect(colleagueLegChanged(consult(), 'no-answer')).toEqual({ state: 'no-answer', effects: { unholdCustomer: true } });
  expect(colleagueLegChanged(consult(), 'failed')).toEqual({ state: 'failed', effects: { unholdCustomer: true } });
  expect(colleagueLegChanged(consult({ state: 'consulting' }), 'completed')).toEqual({ state: 'canceled', effects: { unholdCustomer: true } });
  expect(colleagueLegChanged(consult({ state: 'completed' }), 'completed')).toBeUndefined();
  expect(colleagueLegChanged(consult(), 'ringing')).toBeUndefined();
});

test('when the transferring agent completes, merges or cancels, then the states and effects follow; others may not, and too early is refused', () => {
  const talking = consult({ state: 'consulting' });
  expect(decide(talking, 'complete', 'ada')).toEqual({ state: 'completed', effects: { unholdCustomer: true, hangUpTransferrer: true } });
  expect(decide(talking, 'merge', 'ada')).toEqual({ state: 'merged', effects: { unholdCustomer: true } });
  expect(decide(talking, 'cancel', 'ada')).toEqual({ state: 'canceled', effects: { hangUpColleague: true, unholdCustomer: true } });
  expect(decide(consult(), 'cancel', 'ada').state).toBe('canceled');
  expect(() => decide(consult(), 'complete', 'ada')).toThrow(/not answered yet/);
  expect(() => decide(talking, 'complete', 'grace')).toThrow(/Only the agent who started/);
  expect(() => decide(consult({ state: 'merged' }), 'cancel', 'ada')).toThrow(TransferRuleError);
});

test('when a cold transfer starts, then it is dialing (or done, back to the line); its leg completes or misses it; its transferrer can no longer decide it', async () => {
  const cold = startCold([], { id: 'c1', from: 'ada', to: 'grace', now });
  expect(cold).toMatchObject({ mode: 'cold', state: 'dialing' });
  expect(startCold([], { id: 'c2', from: 'ada', to: 'queue', now }).state).toBe('completed');
  expect(() => startCold([], { id: 'c3', from: 'ada', to: 'ada', now })).toThrow(/yourself/);
  expect(colleagueLegChanged(cold, 'in-progress')).toEqual({ state: 'completed', effects: {} });
  expect(colleagueLegChanged(cold, 'no-answer')).toEqual({ state: 'no-answer', effects: {} });
  expect(colleagueLegChanged(cold, 'ringing')).toBeUndefined();
  expect(() => decide(cold, 'cancel', 'ada')).toThrow(/left your hands/);
});

test('when the transferring agent toggles, then the held side swaps each time; completing or merging then takes both off hold', () => {
  const talking = consult({ state: 'consulting' });
  const toCustomer = decide(talking, 'toggle', 'ada');
  expect(toCustomer).toEqual({ state: 'consulting', held: 'colleague', effects: { holdColleague: true, unholdCustomer: true } });
  const colleagueHeld = consult({ state: 'consulting', held: 'colleague' });
  expect(decide(colleagueHeld, 'toggle', 'ada')).toEqual({ state: 'consulting', held: 'customer', effects: { holdCustomer: true, unholdColleague: true } });
  expect(decide(colleagueHeld, 'complete', 'ada')).toEqual({ state: 'completed', effects: { unholdCustomer: true, unholdColleague: true, hangUpTransferrer: true } });
  expect(decide(colleagueHeld, 'merge', 'ada')).toEqual({ state: 'merged', effects: { unholdCustomer: true, unholdColleague: true } });
  expect(() => decide(consult(), 'toggle', 'ada')).toThrow(/not answered yet/);
  expect(() => decide(talking, 'toggle', 'grace')).toThrow(/Only the agent who started/);
});

test('when the transferring agent is gone, then a consult under way completes with both off hold, and a colleague answering later simply takes the customer', () => {
  expect(transferrerLeft(consult({ state: 'consulting' }))).toEqual({ state: 'completed', effects: { unholdCustomer: true } });
  expect(transferrerLeft(consult({ state: 'consulting', held: 'colleague' }))).toEqual({ state: 'completed', effects: { unholdCustomer: true, unholdColleague: true } });
  expect(transferrerLeft(consult())).toBeUndefined(); // still ringing: the colleague answering decides
  expect(colleagueLegChanged(consult(), 'in-progress', false)).toEqual({ state: 'completed', effects: { unholdCustomer: true } });
  expect(transferrerLeft({ ...consult(), mode: 'cold' })).toBeUndefined();
});

test('when participants are labelled and legs move, then labels round-trip, callbacks only move legs forward, and the customer is alone only when every agent has gone', () => {
  expect(agentLabel('ada')).toBe('agent:ada');
  expect(agentOfLabel('agent:ada')).toBe('ada');
  expect(agentOfLabel('customer')).toBeUndefined();
  expect(agentOfLabel('agent:')).toBeUndefined();
  expect(legStatusOf('answered')).toBe('in-progress');
  expect(legStatusOf('__proto__')).toBeUndefined();
  expect(movesForward('ringing', 'in-progress')).toBe(true);
  expect(movesForward('in-progress', 'ringing')).toBe(false);
  expect(movesForward('completed', 'in-progress')).toBe(false);
  expect(movesForward('no-answer', 'completed')).toBe(false);
  expect(leftAlone(true, ['completed', 'no-answer'])).toBe(true);
  expect(leftAlone(true, ['completed', 'ringing'])).toBe(false); // a colleague is on the way
  expect(leftAlone(true, ['no-answer'])).toBe(false); // nobody had talked with them
  expect(leftAlone(false, ['completed'])).toBe(false);
});

test('when a call was stored by the earlier version (legs marked first/transfer), then it reads as participants with offer/colleague roles; a current one is left alone', () => {
  const at = new Date();
  const legs = [
    { agentId: 'ada', role: 'first', status: 'in-progress', createdAt: at, updatedAt: at },
    { agentId: 'grace', role: 'transfer', requestedBy: 'ada', status: 'ringing', createdAt: at, updatedAt: at },
  ];
  expect(upgradeStoredParticipants({ legs })).toEqual([expect.objectContaining({ agentId: 'ada', role: 'offer' }), expect.objectContaining({ agentId: 'grace', role: 'colleague', requestedBy: 'ada' })]);
  expect(upgradeStoredParticipants({ participants: [], legs })).toBeUndefined();
  expect(upgradeStoredParticipants({})).toBeUndefined();
});

test('when a consulted call ends, then its history has the holds, who left and why, the time on hold and who hung up', () => {
  const t0 = new Date('2026-11-25T10:00:00Z');
  const at = (s: number) => new Date(t0.getTime() + s * 1000);
  const call: CallRecord = {
    _id: 'CA1',
    conferenceName: 'CA1',
    status: 'in-progress',
    participants: [
      { agentId: 'ada', role: 'offer', status: 'completed', legCallSid: 'CAada', hungUp: true, createdAt: at(5), updatedAt: at(100) },
      { agentId: 'grace', role: 'colleague', requestedBy: 'ada', transferId: 't1', status: 'completed', legCallSid: 'CAgrace', createdAt: at(40), updatedAt: at(200) },
    ],
    passedBy: [],
    answeredAt: at(10),
    transfers: [{ ...consult({ state: 'completed' }), at: at(40) }],
    events: [
      { at: at(40), kind: 'hold', label: 'customer' },
      { at: at(70), kind: 'hold', label: 'agent:grace' },
      { at: at(70), kind: 'unhold', label: 'customer' },
      { at: at(80), kind: 'hold', label: 'customer' },
      { at: at(90), kind: 'unhold', label: 'customer' },
      { at: at(100), kind: 'left', label: 'agent:ada', callSid: 'CAada', reason: 'participant_updated_via_api' },
      { at: at(200), kind: 'left', label: 'agent:grace', callSid: 'CAgrace', reason: 'participant_hung_up' },
    ],
    endReason: 'abandoned',
    rev: 3,
    createdAt: t0,
    updatedAt: at(200),
  };
  const record = finishedCallOf(call, at(201));
  expect(record).toMatchObject({ holdSeconds: 40, hungUpBy: 'agent:ada', endReason: 'agent-hung-up', waitSeconds: 10, talkSeconds: 191, agentIds: ['ada', 'grace'] });
  const lines = record.timeline.map((e) => [e.kind, e.agentId, e.byAgentId && `by ${e.byAgentId}`, e.mode && `${e.mode}: ${e.outcome}`, e.detail].filter(Boolean).join(' '));
  expect(lines).toEqual(['waiting The customer called and waited in line.', 'offered ada', 'answered ada', 'brought-in grace by ada', 'customer-held', 'transfer ada consult: completed', 'hold grace', 'customer-unheld', 'customer-held', 'customer-unheld', 'left ada completed the transfer', 'left grace participant_hung_up', 'ended agent-hung-up']);
  // The customer hanging up themselves, or being hung up by the app:
  expect(finishedCallOf({ ...call, endReason: 'customer-hung-up', events: [{ at: at(150), kind: 'left', label: 'customer', reason: 'participant_hung_up' }] }, at(201)).hungUpBy).toBe('customer');
  expect(finishedCallOf({ ...call, endReason: 'customer-hung-up', events: [{ at: at(150), kind: 'left', label: 'customer', reason: 'conference_ended_via_api' }] }, at(201)).hungUpBy).toBe('system');
});

test('when an agent is still on the call as the customer leaves, then the history says the call ended for them, whichever callback came first', () => {
  const t0 = new Date('2026-11-25T10:00:00Z');
  const at = (s: number) => new Date(t0.getTime() + s * 1000);
  const base = (graceEnded: number): CallRecord => ({
    _id: 'CA2',
    conferenceName: 'CA2',
    status: 'in-progress',
    participants: [{ agentId: 'grace', role: 'offer', status: 'completed', legCallSid: 'CAgrace', createdAt: at(5), updatedAt: at(graceEnded) }],
    passedBy: [],
    answeredAt: at(10),
    transfers: [],
    events: [{ at: at(100), kind: 'left', label: 'customer', reason: 'participant_hung_up' }],
    endReason: 'customer-hung-up',
    rev: 1,
    createdAt: t0,
    updatedAt: at(100),
  });
  const leftLine = (call: CallRecord) => finishedCallOf(call, at(101)).timeline.find((e) => e.kind === 'left' && e.agentId === 'grace');
  // Her own 'completed' landed after the customer's leave but before the call's end was written, or with it, or after it.
  expect(leftLine(base(100))?.detail).toBe('the call ended');
  expect(leftLine(base(101))?.detail).toBe('the call ended');
  expect(leftLine(base(102))?.detail).toBe('the call ended');
  // Her own 'completed' was heard a moment before the customer's leave (the callbacks crossed).
  expect(leftLine(base(99))?.detail).toBe('the call ended');
  // She left well before the customer did: not because the call ended.
  expect(leftLine(base(60))?.detail).toBeUndefined();
  expect(leftLine(base(97))?.detail).toBeUndefined();
});

test('when a colleague answers a cold transfer some seconds after its ring, then the history times their answer and talk from it, and the first agent left by transferring, not by Hang up', () => {
  const t0 = new Date('2026-11-25T11:00:00Z');
  const at = (s: number) => new Date(t0.getTime() + s * 1000);
  const call: CallRecord = {
    _id: 'CA2',
    conferenceName: 'CA2',
    status: 'in-progress',
    participants: [
      { agentId: 'ada', role: 'offer', status: 'completed', legCallSid: 'CAada', answeredAt: at(10), createdAt: at(5), updatedAt: at(40) },
      { agentId: 'grace', role: 'colleague', requestedBy: 'ada', transferId: 't2', status: 'completed', legCallSid: 'CAgrace', answeredAt: at(52), createdAt: at(40), updatedAt: at(112) },
    ],
    passedBy: [],
    answeredAt: at(10),
    transfers: [{ ...startCold([], { id: 't2', from: 'ada', to: 'grace', now: at(40) }), state: 'completed', at: at(40) }],
    events: [
      { at: at(40), kind: 'left', label: 'agent:ada', callSid: 'CAada', reason: 'participant_updated_via_api' },
      { at: at(112), kind: 'left', label: 'customer', reason: 'participant_hung_up' },
    ],
    endReason: 'customer-hung-up',
    rev: 4,
    createdAt: t0,
    updatedAt: at(112),
  };

  const record = finishedCallOf(call, at(113));

  const answers = record.timeline.filter((e) => e.kind === 'answered').map((e) => [e.agentId, e.at.getTime() - t0.getTime()]);
  expect(answers).toEqual([['ada', 10_000], ['grace', 52_000]]);
  expect(record.agentTalk).toEqual([{ agentId: 'ada', seconds: 30 }, { agentId: 'grace', seconds: 60 }]);
  expect(record.timeline.find((e) => e.kind === 'left' && e.agentId === 'ada')?.detail).toBe('transferred the call');
});
