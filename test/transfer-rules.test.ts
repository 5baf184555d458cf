// The consult transfer's transitions, without a database or HTTP.
import { colleagueLegChanged, decide, openTransfer, startCold, startConsult, TransferRuleError, type Transfer } from '../src/contact-center/transfer';

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
