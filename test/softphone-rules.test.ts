// The softphone's rules without a database or HTTP: hold and resume, mute, what the page may offer, and the wrap-up
// and caller-history rules.
import type { CallRecord } from '../src/contact-center/call';
import { actionsFor } from '../src/contact-center/actions';
import { consultStarted, customerHoldRequested, muteReported } from '../src/contact-center/call-life';
import { NoCallError, NotReadyError, TransferRefusedError } from '../src/contact-center/errors';
import type { Participant } from '../src/contact-center/participants';

const now = new Date('2026-12-03T10:00:00Z');
const leg = (agentId: string, status: Participant['status'], extra: Partial<Participant> = {}): Participant => ({ agentId, role: 'offer', status, createdAt: now, updatedAt: now, ...extra });
const call = (extra: Partial<CallRecord> = {}): CallRecord => ({
  _id: 'CAcustomer',
  conferenceName: 'CAcustomer',
  conferenceSid: 'CFconf',
  status: 'in-progress',
  participants: [leg('ana', 'in-progress', { legCallSid: 'CAana' })],
  passedBy: [],
  transfers: [],
  rev: 3,
  createdAt: new Date(now.getTime() - 900_000),
  updatedAt: now,
  ...extra,
});
const view = (c: CallRecord) => ({ ...c, conferenceStarted: Boolean(c.conferenceSid) });

describe('hold and resume', () => {
  test('when the talking agent presses Hold, then the customer is held by them from now, and Resume clears it', () => {
    const held = customerHoldRequested(call(), { agentId: 'ana', on: true, now });
    expect(held).toEqual({ patch: { set: { heldBy: 'ana', heldSince: now } }, result: { conferenceSid: 'CFconf', changed: true } });

    const resumed = customerHoldRequested(call({ heldBy: 'ana', heldSince: now }), { agentId: 'ana', on: false, now });
    expect(resumed).toEqual({ patch: { clear: ['heldBy', 'heldSince'] }, result: { conferenceSid: 'CFconf', changed: true } });
  });

  test('when Hold is pressed twice, then the second press changes nothing', () => {
    expect(customerHoldRequested(call({ heldBy: 'ana' }), { agentId: 'ana', on: true, now })).toEqual({ result: { conferenceSid: 'CFconf', changed: false } });
  });

  test('when a transfer is under way, the conference has not started, the customer has not answered or the agent is not talking, then Hold is refused', () => {
    const consulting = call({ transfers: [{ id: 't1', from: 'ana', to: 'ben', mode: 'consult', state: 'consulting', at: now, updatedAt: now }] });
    expect(() => customerHoldRequested(consulting, { agentId: 'ana', on: true, now })).toThrow(TransferRefusedError);
    expect(() => customerHoldRequested(call({ conferenceSid: undefined }), { agentId: 'ana', on: true, now })).toThrow(NotReadyError);
    expect(() => customerHoldRequested(call({ customerRinging: true }), { agentId: 'ana', on: true, now })).toThrow(NotReadyError);
    expect(() => customerHoldRequested(call(), { agentId: 'ben', on: true, now })).toThrow(NoCallError);
  });

  test('when the agent consults while the customer is on hold, then the consult takes the hold over (Hold is cleared)', () => {
    const step = consultStarted(call({ heldBy: 'ana', heldSince: now }), { id: 't1', fromAgentId: 'ana', toAgentId: 'ben', toName: 'Ben', now });
    expect(step.patch?.clear).toEqual(['heldBy', 'heldSince']);
  });

  test('when the page asks what the agent may do, then Hold is offered while talking with no transfer open, Resume while held, and neither before the conference', () => {
    expect(actionsFor(view(call()), 'ana')).toMatchObject({ hold: true, resume: false, mute: true, keypad: true });
    expect(actionsFor(view(call({ heldBy: 'ana' })), 'ana')).toMatchObject({ hold: false, resume: true });
    expect(actionsFor(view(call({ conferenceSid: undefined })), 'ana')).toMatchObject({ hold: false, resume: false, hangUp: true });
    expect(actionsFor(view(call()), 'ben')).toMatchObject({ hold: false, mute: false, keypad: false });
  });

  test('when an outbound call\'s customer still rings, then the agent may only hang up (and use their own phone)', () => {
    expect(actionsFor(view(call({ customerRinging: true })), 'ana')).toMatchObject({ hangUp: true, hold: false, consult: false, coldTransfer: false, bringIn: false, toQueue: false, mute: true });
  });
});

describe('mute', () => {
  test('when the page reports a mute, then the agent\'s talking leg is marked muted; the same again changes nothing', () => {
    expect(muteReported(call(), { agentId: 'ana', muted: true }).patch).toEqual({ participants: [{ index: 0, set: { muted: true } }] });
    expect(muteReported(call({ participants: [leg('ana', 'in-progress', { muted: true })] }), { agentId: 'ana', muted: true }).patch).toBeUndefined();
    expect(() => muteReported(call(), { agentId: 'ben', muted: true })).toThrow(NoCallError);
  });
});
