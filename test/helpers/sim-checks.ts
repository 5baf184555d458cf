// What must hold after a simulated run (contact-center-sim.ts), each check answering the problems it found in words:
// offers one at a time, every call's history complete and consistent with what the phone network sent, no caller or
// record stranded, and pages up to date within a second.
import type { HistoryRecord } from '../../src/contact-center/history';
import { createHistoryStore } from '../../src/models/history';
import type { ContactCenterSim, Ring, SimCall } from './contact-center-sim';

/** When a ring stopped ringing (answered or ended), as the phone network saw it. */
function ringStopped(sim: ContactCenterSim, ring: Ring): number {
  const times = sim.legTimes.get(ring.leg);
  return Math.min(times?.answeredAt ?? Infinity, times?.endedAt ?? Infinity, ring.answeredAt ?? Infinity, ring.endedAt ?? Infinity);
}

/** When the agent's leg ended, as the phone network saw it (Infinity: still up). */
function legEnded(sim: ContactCenterSim, ring: Ring): number {
  return Math.min(sim.legTimes.get(ring.leg)?.endedAt ?? Infinity, ring.endedAt ?? Infinity);
}

/**
 * Every call rings one agent at a time as routing's offer (a colleague asked for by an agent aside), is never offered
 * again once answered, and no agent's phone rings while it rings or talks for another call.
 */
export function offerProblems(sim: ContactCenterSim): string[] {
  const problems: string[] = [];
  for (const call of sim.calls.values()) {
    const offers = call.rings.filter((r) => r.cause === 'routing').sort((a, b) => a.rangAt - b.rangAt);
    for (let i = 1; i < offers.length; i += 1) {
      const before = offers[i - 1]!;
      if (offers[i]!.rangAt < ringStopped(sim, before)) problems.push(`${call.callSid} rang ${offers[i]!.agentId} while it still rang ${before.agentId}`);
    }
    if (call.answeredAt !== undefined) {
      for (const r of offers) if (r.rangAt > call.answeredAt) problems.push(`${call.callSid} was offered to ${r.agentId} after ${call.answeredBy} had answered it`);
    }
  }
  const byAgent = new Map<string, Ring[]>();
  for (const ring of sim.rings.values()) byAgent.set(ring.agentId, [...(byAgent.get(ring.agentId) ?? []), ring]);
  for (const [agentId, rings] of byAgent) {
    rings.sort((a, b) => a.rangAt - b.rangAt);
    for (let i = 1; i < rings.length; i += 1) {
      const before = rings[i - 1]!;
      if (rings[i]!.rangAt < legEnded(sim, before)) problems.push(`${agentId} was rung for ${rings[i]!.callSid} while still on ${before.callSid}`);
    }
  }
  return problems;
}

/** Reads the history record of each call placed (it ended today or yesterday, UTC). */
export async function historyOf(sim: ContactCenterSim): Promise<Map<string, HistoryRecord | null>> {
  const store = createHistoryStore(sim.db.connection);
  const records = new Map<string, HistoryRecord | null>();
  for (const callSid of sim.calls.keys()) {
    const today = new Date();
    records.set(callSid, (await store.find(callSid, today)) ?? (await store.find(callSid, new Date(today.getTime() - 86_400_000))));
  }
  return records;
}

const count = <T>(items: readonly T[], where: (item: T) => boolean): number => items.filter(where).length;

/**
 * Each call's history against what was done and what the phone network sent: answered by whom, for how long, the
 * transfers, who hung up, and every hold, unhold and departure the conference reported while the call was live.
 */
export function historyProblems(sim: ContactCenterSim, records: Map<string, HistoryRecord | null>): string[] {
  const problems: string[] = [];
  for (const call of sim.calls.values()) {
    const record = records.get(call.callSid);
    const say = (what: string): void => void problems.push(`${call.callSid} (${call.ran}): ${what}`);
    if (!record) {
      say('no history record');
      continue;
    }
    if (call.answeredBy === undefined) {
      say('never answered');
      continue;
    }
    if (record.outcome !== 'answered') say(`outcome ${record.outcome}, but ${call.answeredBy} answered it`);
    // An agent talked on the call when the conference reported their leg joining it (the app let them in). A
    // softphone's answer alone is not that: an answer whose webhook reaches the app after the customer left is told the
    // call is gone and never joins. A leg the app let in an instant before the customer left may still join a new,
    // empty conference of the call's name (the app hangs it up): the app could not have known, so that counts too.
    const joined = (ring: Ring): boolean =>
      sim.webhooks.some((w) => w.kind === 'conference-status' && w.params.FriendlyName === call.callSid && w.params.StatusCallbackEvent === 'participant-join' && w.params.CallSid === ring.leg);
    const talked = call.rings.filter((r) => r.answeredAt !== undefined && joined(r)).map((r) => r.agentId);
    for (const agentId of talked) if (!record.agentIds.includes(agentId)) say(`${agentId} talked but is not among its agents (${record.agentIds.join(', ')})`);
    const offered = call.rings.filter((r) => r.cause !== 'consult').sort((a, b) => a.rangAt - b.rangAt).map((r) => r.agentId);
    if (record.offeredTo.join(',') !== offered.join(',')) say(`offered to ${record.offeredTo.join(', ')}, but the phones that rang as offers were ${offered.join(', ')}`);
    const customerLeft = sim.webhooks.find((w) => w.kind === 'conference-status' && w.params.FriendlyName === call.callSid && w.params.StatusCallbackEvent === 'participant-leave' && w.params.CallSid === call.callSid);
    const firstAnswer = call.rings.filter((r) => r.cause === 'routing' && r.answeredAt !== undefined)[0];
    const answeredAt = firstAnswer ? (sim.legTimes.get(firstAnswer.leg)?.answeredAt ?? firstAnswer.answeredAt!) : undefined;
    if (customerLeft && answeredAt !== undefined) {
      const talk = (customerLeft.at - answeredAt) / 1000;
      if (Math.abs(record.talkSeconds - talk) > 1.5) say(`talked ${record.talkSeconds} s by the history, ${talk.toFixed(1)} s by the phone network`);
    }
    const transfers = record.transfers.map((t) => `${t.mode}:${t.from}->${t.to}:${t.outcome}`);
    // A transfer completed when its colleague talked; one whose colleague never joined (their answer reached the app
    // after the customer had left) did not, whatever the history calls its end.
    const colleagueTalked = call.colleague !== undefined && talked.includes(call.colleague);
    const expected = call.ran === 'consult' || call.ran === 'cold' ? [`${call.ran}:${call.answeredBy}->${call.colleague}:${colleagueTalked ? 'completed' : 'not completed'}`] : [];
    const seen = transfers.map((t) => (t.endsWith(':completed') || colleagueTalked ? t : t.replace(/:[^:]*$/, ':not completed')));
    if (seen.join(',') !== expected.join(',')) say(`transfers ${JSON.stringify(transfers)}, expected ${JSON.stringify(expected)}`);
    const hungUpBy = call.ran === 'agent-hangs-up' ? `agent:${call.answeredBy}` : 'customer';
    if (record.hungUpBy !== hungUpBy) say(`hung up by ${record.hungUpBy}, expected ${hungUpBy}`);
    // The conference's reports while the call was live (up to the customer's own departure, which ends it).
    const reports = sim.webhooks.filter((w) => w.kind === 'conference-status' && w.params.FriendlyName === call.callSid && (!customerLeft || w.at <= customerLeft.at));
    const sent = (event: string, label: (l: string | undefined) => boolean): number => count(reports, (w) => w.params.StatusCallbackEvent === event && label(w.params.ParticipantLabel));
    const isCustomer = (l: string | undefined): boolean => l === 'customer';
    const kinds = record.timeline.map((e) => e.kind);
    if (count(kinds, (k) => k === 'customer-held') !== sent('participant-hold', isCustomer)) say(`${count(kinds, (k) => k === 'customer-held')} customer holds in the history, ${sent('participant-hold', isCustomer)} reported`);
    if (count(kinds, (k) => k === 'customer-unheld') !== sent('participant-unhold', isCustomer)) say(`${count(kinds, (k) => k === 'customer-unheld')} customer unholds in the history, ${sent('participant-unhold', isCustomer)} reported`);
    if (count(kinds, (k) => k === 'customer-left') !== (customerLeft ? 1 : 0)) say(`${count(kinds, (k) => k === 'customer-left')} customer departures in the history`);
    for (const leave of reports.filter((w) => w.params.StatusCallbackEvent === 'participant-leave' && w.params.ParticipantLabel?.startsWith('agent:'))) {
      const agentId = leave.params.ParticipantLabel!.slice('agent:'.length);
      if (!record.timeline.some((e) => e.kind === 'left' && e.agentId === agentId)) say(`${agentId}'s departure was reported but is not in the history`);
    }
  }
  return problems;
}

/** Webhooks the instances did not answer with 200 (a 503 is an event lost: Twilio does not send it again). */
export function refusedWebhooks(sim: ContactCenterSim): string[] {
  return sim.lb.log.filter((r) => r.path.startsWith('/conference') && r.status !== 200).map((r) => `${r.method} ${r.path} answered ${r.status} by ${r.upstream}: ${r.answer.slice(0, 160)}`);
}

/**
 * Nothing left behind once every call has ended: no live call, reservation or apology, no leg still up. (A call's
 * claims are not given back: each names a revision the call has left, or a call that ended, and housekeeping sweeps
 * them.)
 */
export async function strandedProblems(sim: ContactCenterSim): Promise<string[]> {
  const problems: string[] = [];
  for (const callSid of sim.customerCallsLive()) problems.push(`customer call ${callSid} is still up`);
  for (const leg of sim.agentLegsLive()) problems.push(`agent leg ${leg} is still up`);
  for (const call of sim.calls.values()) if (call.answeredBy === undefined) problems.push(`${call.callSid} was never answered`);
  const db = sim.db.connection;
  for (const doc of await db.collection('calls').find({}).toArray()) problems.push(`call ${String(doc._id)} is still in the live store (${String(doc.status)})`);
  for (const doc of await db.collection('reservations').find({}).toArray()) problems.push(`reservation ${String(doc._id)} is still held (${String(doc.state)})`);
  for (const doc of await db.collection('told_sorry').find({}).toArray()) problems.push(`caller ${String(doc._id)} was told sorry`);
  return problems;
}

/**
 * How long each page took to show its agent's answered call after the instance that took the answer replied (ms), and
 * after a page lost its instance, how long until it had read its state from another. Lags over `limitMs` are problems.
 */
export function pageLags(sim: ContactCenterSim, limitMs: number): { answered: number[]; reconnected: number[]; problems: string[] } {
  const answered: number[] = [];
  const reconnected: number[] = [];
  const problems: string[] = [];
  for (const agent of sim.agents.filter((a) => a.refreshes)) {
    for (const ring of [...sim.rings.values()].filter((r) => r.agentId === agent.id && r.answeredAt !== undefined)) {
      const connect = sim.lb.log.find((r) => r.status === 200 && r.path === `/conference/${ring.callSid}/connect/${agent.id}` && r.body.includes(ring.leg));
      if (!connect) continue;
      const repliedAt = connect.at + connect.ms;
      const ended = legEnded(sim, ring);
      // A leg that ended within the limit may never be shown talking: nothing to wait for.
      if (ended - repliedAt < limitMs) continue;
      const shown = agent.views.find((v) => v.at >= ring.rangAt && v.callSid === ring.callSid && v.legStatus === 'in-progress');
      // A page whose instance died before it showed the answer counts from when it was connected again (how long that
      // took is checked below, with every reconnect).
      const back = agent.reconnects.filter((r) => r.connectedAt !== undefined && r.lostAt <= (shown?.at ?? Infinity) && r.connectedAt > repliedAt).map((r) => r.connectedAt!);
      const from = Math.max(repliedAt, ...back);
      const lag = shown ? Math.max(0, shown.at - from) : Infinity;
      answered.push(lag);
      if (lag > limitMs) problems.push(`${agent.id}'s page showed the answered call ${ring.callSid} ${shown ? `${lag} ms` : 'never'} after the answer`);
    }
    for (const r of agent.reconnects) {
      const read = r.connectedAt === undefined ? undefined : agent.views.find((v) => v.at >= r.connectedAt!);
      const lag = read ? read.at - r.lostAt : Infinity;
      reconnected.push(lag);
      if (lag > limitMs) problems.push(`${agent.id}'s page lost its instance and read its state ${read ? `${lag} ms` : 'never'} later`);
    }
    const last = agent.views[agent.views.length - 1];
    if (last?.callSid) problems.push(`${agent.id}'s page still shows call ${last.callSid} after every call ended`);
  }
  return { answered, reconnected, problems };
}

/** The calls' scripts in a fixed, shuffled mix, `n` of them (same every run for a given n). */
export function scriptMix(n: number, mix: Array<[SimCall['script'], number]>): Array<SimCall['script']> {
  const scripts: Array<SimCall['script']> = [];
  const total = mix.reduce((sum, [, share]) => sum + share, 0);
  for (const [script, share] of mix) for (let i = 0; i < Math.round((share / total) * n); i += 1) scripts.push(script);
  while (scripts.length < n) scripts.push(mix[0]![0]);
  scripts.length = n;
  // A fixed permutation (a small LCG): runs differ in timing, not in what is asked.
  let seed = n * 7919 + 17;
  for (let i = scripts.length - 1; i > 0; i -= 1) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const j = seed % (i + 1);
    [scripts[i], scripts[j]] = [scripts[j]!, scripts[i]!];
  }
  return scripts;
}
