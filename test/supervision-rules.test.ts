// Supervision as pure transitions, without a database or HTTP: who may join how, what Twilio is asked for, what the
// store writes, and how a supervisor's leg never counts as an agent.
import type { CallRecord } from '../src/contact-center/call';
import { legReported } from '../src/contact-center/call-life';
import { CallGoneError, InvalidRequestError, NotReadyError, SupervisionRefusedError } from '../src/contact-center/errors';
import { finishedCallOf } from '../src/contact-center/history';
import type { Participant } from '../src/contact-center/participants';
import { coachedAgentLeft, helpActionsFor, helpLowered, helpRaised, settingsOf, supervisorLeaveRequested, supervisorLegReported, supervisorRequested, type SupervisorLeg } from '../src/contact-center/supervision';
import { toMongoUpdate } from '../src/models/call-store';

const now = new Date('2026-12-04T10:00:00Z');
const leg = (agentId: string, status: Participant['status'], extra: Partial<Participant> = {}): Participant => ({ agentId, role: 'offer', status, createdAt: now, updatedAt: now, ...extra });
const sup = (extra: Partial<SupervisorLeg> = {}): SupervisorLeg => ({ supervisorId: 'sue', mode: 'listen', status: 'in-progress', legCallSid: 'CAsue', createdAt: now, updatedAt: now, ...extra });
const call = (extra: Partial<CallRecord> = {}): CallRecord => ({
  _id: 'CAcustomer',
  conferenceName: 'CAcustomer',
  conferenceSid: 'CFconf',
  status: 'in-progress',
  agentId: 'ana',
  answeredAt: new Date(now.getTime() - 60_000),
  participants: [leg('ana', 'in-progress', { legCallSid: 'CAana' })],
  passedBy: [],
  transfers: [],
  rev: 3,
  createdAt: new Date(now.getTime() - 90_000),
  updatedAt: now,
  ...extra,
});

describe('the modes, as Twilio participant settings', () => {
  test('when the modes are mapped, then listen is muted, coach coaches the agent\'s leg, and barge is neither', () => {
    expect(settingsOf('listen')).toEqual({ muted: true, coaching: false });
    expect(settingsOf('coach', 'CAana')).toEqual({ muted: false, coaching: true, callSidToCoach: 'CAana' });
    expect(settingsOf('barge')).toEqual({ muted: false, coaching: false });
  });
});

describe('joining and switching', () => {
  test('when Sue coaches a call with no leg of hers, then a leg is added in coach mode on Ana, a raised hand is lowered, and the timeline notes it', () => {
    const step = supervisorRequested(call({ help: { agentId: 'ana', at: now } }), { supervisorId: 'sue', mode: 'coach', now });

    expect(step.result).toMatchObject({ action: 'dial', index: 0, coaching: 'ana', settings: { coaching: true, callSidToCoach: 'CAana' }, conferenceSid: 'CFconf' });
    expect(step.patch?.addSupervisor).toMatchObject({ supervisorId: 'sue', mode: 'coach', coaching: 'ana', status: 'dialing' });
    expect(step.patch?.clear).toEqual(['help']);
    expect(step.patch?.addEvent).toMatchObject({ kind: 'supervisor-joined', label: 'supervisor:sue', mode: 'coach', coached: 'ana' });
  });

  test('when Sue asks again for the mode she is in, then nothing is written; another mode on her answered leg is an update that clears her notice', () => {
    const same = supervisorRequested(call({ supervisors: [sup()] }), { supervisorId: 'sue', mode: 'listen', now });
    expect(same).toEqual({ result: expect.objectContaining({ action: 'none' }) });

    const barge = supervisorRequested(call({ supervisors: [sup({ mode: 'coach', coaching: 'ana', notice: 'x' })] }), { supervisorId: 'sue', mode: 'barge', now });
    expect(barge.result.action).toBe('update');
    expect(toMongoUpdate(barge.patch!, now)).toMatchObject({ $set: { 'supervisors.0.mode': 'barge' }, $unset: { 'supervisors.0.coaching': 1, 'supervisors.0.notice': 1 } });
  });

  test('when the call is not one a supervisor can join, or nobody can be coached, then each is refused with its own error', () => {
    expect(() => supervisorRequested(call({ status: 'waiting' }), { supervisorId: 'sue', mode: 'listen', now })).toThrow(SupervisionRefusedError);
    expect(() => supervisorRequested(call({ status: 'completed' }), { supervisorId: 'sue', mode: 'listen', now })).toThrow(CallGoneError);
    expect(() => supervisorRequested(call({ conferenceSid: undefined }), { supervisorId: 'sue', mode: 'listen', now })).toThrow(NotReadyError);
    expect(() => supervisorRequested(call({ participants: [leg('ana', 'completed', { legCallSid: 'CAana' })] }), { supervisorId: 'sue', mode: 'coach', now })).toThrow(/nobody to coach/);
    expect(() => supervisorRequested(call(), { supervisorId: 'sue', mode: 'barge', agentId: 'ana', now })).toThrow(InvalidRequestError);
    expect(() => supervisorRequested(call({ supervisors: [sup({ status: 'ringing' })] }), { supervisorId: 'sue', mode: 'barge', now })).toThrow(/still ringing/);
  });
});

describe('leaving, and the agents\' rules', () => {
  test('when Sue presses Leave, then her leg ends (once); a later callback for it writes nothing more', () => {
    const left = supervisorLeaveRequested(call({ supervisors: [sup()] }), { supervisorId: 'sue', now });
    expect(left.result.legCallSid).toBe('CAsue');
    expect(left.patch?.addEvent).toMatchObject({ kind: 'supervisor-left', reason: 'pressed Leave' });

    const later = supervisorLegReported(call({ supervisors: [sup({ status: 'completed' })] }), { supervisorId: 'sue', legCallSid: 'CAsue', status: 'completed', now });
    expect(later.patch).toBeUndefined();
  });

  test('when Ana\'s leg ends with Sue still on the call, then the customer counts as left alone: a supervisor is no agent', () => {
    const step = legReported(call({ supervisors: [sup({ mode: 'barge' })] }), { agentId: 'ana', legCallSid: 'CAana', status: 'completed', callStatus: 'completed', now }, { reconnectGraceMs: 0, leaveSettleMs: 0 });

    expect(step.result.alone).toBe(true);
  });

  test('when the agent Sue coaches leaves, then Sue listens and is told; a listener or a coach of someone else is untouched', () => {
    const step = coachedAgentLeft(call({ supervisors: [sup({ mode: 'coach', coaching: 'ana' }), sup({ supervisorId: 'tom', legCallSid: 'CAtom' }), sup({ supervisorId: 'una', mode: 'coach', coaching: 'ben', legCallSid: 'CAuna' })] }), { agentId: 'ana', now });

    expect(step.result).toEqual({ switched: [{ supervisorId: 'sue', legCallSid: 'CAsue' }], ended: [] });
    expect(step.patch?.supervisors).toEqual([{ index: 0, set: { mode: 'listen', notice: 'ana left the call: you are listening now.' } }]);
    expect(step.patch?.addEvents).toEqual([expect.objectContaining({ kind: 'supervisor-mode', label: 'supervisor:sue', mode: 'listen', reason: 'the coached agent ana left' })]);
  });

  test('when the agent leaves with two coaches on them and their hand raised, then both coaches listen and the hand is lowered, each noted in one write', () => {
    const step = coachedAgentLeft(call({ help: { agentId: 'ana', at: now }, supervisors: [sup({ mode: 'coach', coaching: 'ana' }), sup({ supervisorId: 'tom', legCallSid: 'CAtom', mode: 'coach', coaching: 'ana' })] }), { agentId: 'ana', now });

    expect(step.result.switched.map((s) => s.supervisorId)).toEqual(['sue', 'tom']);
    const update = toMongoUpdate(step.patch!, now);
    expect(update.$unset).toEqual({ help: 1, 'supervisors.0.coaching': 1, 'supervisors.1.coaching': 1 });
    expect((update.$push!.events as { $each: Array<{ kind: string }> }).$each.map((e) => e.kind)).toEqual(['supervisor-mode', 'supervisor-mode', 'help-lowered']);
  });

  test('when the last agent drops and the caller goes back to the line, then every supervisor leaves the call and is told why; the hand is lowered', () => {
    const step = coachedAgentLeft(call({ status: 'waiting', help: { agentId: 'ana', at: now }, supervisors: [sup({ mode: 'coach', coaching: 'ana' }), sup({ supervisorId: 'tom', legCallSid: 'CAtom' }), sup({ supervisorId: 'una', legCallSid: 'CAuna', status: 'completed' })] }), { agentId: 'ana', now });

    expect(step.result).toEqual({ switched: [], ended: [{ supervisorId: 'sue', legCallSid: 'CAsue' }, { supervisorId: 'tom', legCallSid: 'CAtom' }] });
    expect(step.patch?.supervisors?.map((s) => [s.index, s.set.status])).toEqual([[0, 'completed'], [1, 'completed']]);
    expect(step.patch?.addEvents?.map((e) => [e.kind, e.label, e.reason])).toEqual([
      ['supervisor-left', 'supervisor:sue', 'the call went back to the line'],
      ['supervisor-left', 'supervisor:tom', 'the call went back to the line'],
      ['help-lowered', 'agent:ana', 'the call went back to the line'],
    ]);
    expect(step.patch?.clear).toEqual(['help']);
  });

  test('when the call ends with Sue on it, then the history keeps her steps but never counts her as an agent', () => {
    const events = [
      { at: new Date(now.getTime() - 30_000), kind: 'supervisor-joined' as const, label: 'supervisor:sue', mode: 'listen' },
      { at: new Date(now.getTime() - 20_000), kind: 'supervisor-mode' as const, label: 'supervisor:sue', mode: 'coach', coached: 'ana' },
    ];

    const record = finishedCallOf(call({ events, supervisors: [sup({ mode: 'coach', coaching: 'ana' })], endReason: 'customer-hung-up' }), now);

    expect(record.agentIds).toEqual(['ana']);
    expect(record.timeline.filter((e) => e.kind.startsWith('supervisor-')).map((e) => [e.kind, e.agentId, e.detail])).toEqual([
      ['supervisor-joined', 'sue', 'listening'],
      ['supervisor-mode', 'sue', 'coaching ana'],
      ['supervisor-left', 'sue', 'the call ended'],
    ]);
  });
});

describe('the history of a supervisor leaving', () => {
  test('when Sue\'s own call ends a moment before the customer\'s leave (the callbacks crossed), then she left because the call ended; a minute earlier, because her leg did', () => {
    const left = (secondsBefore: number) => ({ at: new Date(now.getTime() - secondsBefore * 1000), kind: 'supervisor-left' as const, label: 'supervisor:sue', reason: 'their leg ended' });
    const customerLeft = { at: now, kind: 'left' as const, label: 'customer', callSid: 'CAcustomer' };
    const detailOf = (secondsBefore: number) => finishedCallOf(call({ events: [left(secondsBefore), customerLeft], supervisors: [sup({ status: 'completed' })], endReason: 'customer-hung-up' }), now).timeline.find((e) => e.kind === 'supervisor-left')?.detail;

    expect(detailOf(0.5)).toBe('the call ended');
    expect(detailOf(60)).toBe('their leg ended');
  });
});

describe('asking for help', () => {
  test('when Ana asks, then the hand is up with her note; only she may lower it; a colleague who is not talking cannot ask', () => {
    const raised = helpRaised(call(), { agentId: 'ana', note: '  refund  ', now });
    expect(raised.patch?.set?.help).toEqual({ agentId: 'ana', note: 'refund', at: now });
    expect(helpActionsFor(call({ help: { agentId: 'ana', at: now } }), 'ana')).toEqual({ askHelp: false, lowerHelp: true });
    expect(helpActionsFor(call(), 'ana')).toEqual({ askHelp: true, lowerHelp: false });
    expect(helpActionsFor(call(), 'ben')).toEqual({ askHelp: false, lowerHelp: false });
    expect(() => helpRaised(call(), { agentId: 'ben', now })).toThrow(/no call/);
    expect(() => helpLowered(call({ help: { agentId: 'ana', at: now } }), { agentId: 'ben', now })).toThrow(SupervisionRefusedError);
    expect(helpLowered(call(), { agentId: 'ana', now }).result).toBe(false);
  });

  test('when Ana\'s hand is up and Ben, on the call too, asks, then he is told hers is up: her note is not replaced', () => {
    const both = call({ help: { agentId: 'ana', note: 'Need approval', at: now }, participants: [leg('ana', 'in-progress'), leg('ben', 'in-progress', { role: 'colleague' })] });
    expect(() => helpRaised(both, { agentId: 'ben', note: 'me too', now })).toThrow(/ana has already asked for help on this call/);
    expect(helpActionsFor(both, 'ben')).toEqual({ askHelp: false, lowerHelp: false });
    expect(helpRaised(both, { agentId: 'ana', note: 'still waiting', now }).patch?.set?.help).toMatchObject({ agentId: 'ana', note: 'still waiting' });
  });
});
