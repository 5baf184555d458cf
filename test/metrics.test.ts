// The service metrics' definitions (src/contact-center/metrics.ts) and the report's calendar, computed from
// hand-made call timelines on a fake clock: each call is built as the live store holds it, finished with the app's
// own finishedCallOf, and counted.
import { addDays, localDayOf, localDayStart, localHourLabel, utcHourOf, utcHoursOfLocalDay } from '../src/contact-center/calendar';
import { finishedCallOf, type HistoryRecord } from '../src/contact-center/history';
import {
  agentAhtSeconds,
  callFactsOf,
  countPresences,
  DEFAULT_METRIC_SETTINGS,
  occupancyNow,
  ratesOf,
  tallyCalls,
  waitBin,
  waitBinLabel,
  type MetricSettings,
} from '../src/contact-center/metrics';
import type { CallRecord, ConferenceEvent, Participant } from '../src/models/call';

const SETTINGS: MetricSettings = { answerTargetSeconds: 20, shortAbandonSeconds: 5, serviceLevelGoal: 0.8, wrapUpSeconds: 5 };

let serial = 0;

/** A customer call on a fake clock: each step moves the clock on and writes what the live store would hold. */
function callAt(startIso: string) {
  serial += 1;
  let now = Date.parse(startIso);
  const at = () => new Date(now);
  const call: CallRecord = {
    _id: `CA${String(serial).padStart(32, '0')}`,
    conferenceName: `CA${serial}`,
    from: '+15551230000',
    status: 'waiting',
    participants: [],
    passedBy: [],
    transfers: [],
    events: [],
    rev: 0,
    createdAt: at(),
    updatedAt: at(),
  };
  const legOf = (agentId: string): Participant => [...call.participants].reverse().find((leg) => leg.agentId === agentId)!;
  const steps = {
    /** The clock moves on `seconds` (fractions allowed). */
    after(seconds: number) {
      now += Math.round(seconds * 1000);
      return steps;
    },
    /** Routing rings `agentId`; `role` colleague for a consult. */
    ring(agentId: string, role: Participant['role'] = 'offer', requestedBy?: string, transferId?: string) {
      call.participants.push({ agentId, role, status: 'ringing', legCallSid: `CA-leg-${serial}-${agentId}`, createdAt: at(), updatedAt: at(), ...(requestedBy ? { requestedBy } : {}), ...(transferId ? { transferId } : {}) });
      call.status = 'offered';
      return steps;
    },
    answer(agentId: string) {
      const leg = legOf(agentId);
      leg.status = 'in-progress';
      leg.updatedAt = at();
      if (!call.answeredAt && leg.role === 'offer') call.answeredAt = at();
      call.status = 'in-progress';
      return steps;
    },
    decline(agentId: string) {
      const leg = legOf(agentId);
      leg.status = 'busy';
      leg.updatedAt = at();
      return steps;
    },
    holdCustomer(on: boolean) {
      call.events!.push({ at: at(), kind: on ? 'hold' : 'unhold', label: 'customer' } as ConferenceEvent);
      return steps;
    },
    /** A consult from `from` to `to`, completed: `from` leaves. */
    consultCompleted(from: string, to: string, talkWithColleagueSeconds: number) {
      const id = `T${serial}`;
      call.transfers.push({ id, from, to, mode: 'consult', state: 'completed', at: at(), updatedAt: at() } as CallRecord['transfers'][number]);
      steps.holdCustomer(true).ring(to, 'colleague', from, id).after(2).answer(to).after(talkWithColleagueSeconds).holdCustomer(false);
      const leaving = legOf(from);
      leaving.status = 'completed';
      leaving.updatedAt = at();
      call.events!.push({ at: at(), kind: 'left', label: `agent:${from}`, callSid: leaving.legCallSid, reason: 'participant_hung_up' });
      return steps;
    },
    /** The customer hangs up: the call ends and becomes its history record. */
    hangUp(endReason = 'customer-hung-up'): HistoryRecord {
      call.endReason = endReason;
      for (const leg of call.participants) if (leg.status === 'in-progress') Object.assign(leg, { status: 'completed', updatedAt: at() });
      call.events!.push({ at: at(), kind: 'left', label: 'customer', reason: 'participant_hung_up' });
      return finishedCallOf(call, at());
    },
  };
  return steps;
}

const rates = (records: HistoryRecord[], settings = SETTINGS) => ratesOf(tallyCalls(records.map(callFactsOf), settings).tally, settings);

describe('service level, speed of answer, abandons', () => {
  test('when calls are answered at 10 s, exactly 20 s and 21 s, then 2 of 3 are within T = 20 s and ASA is their mean wait', () => {
    const calls = [10, 20, 21].map((wait) => callAt('2026-03-10T09:00:00Z').ring('ada').after(wait).answer('ada').after(60).hangUp());

    const r = rates(calls);

    expect(r.offered).toBe(3);
    expect(r.answered).toBe(3);
    expect(r.serviceLevel).toBeCloseTo(2 / 3);
    expect(r.asaSeconds).toBeCloseTo(17);
  });

  test('when one caller hangs up at 4.999 s and one exactly at S = 5 s, then only the first is a short abandon, left out of SL and abandon rate', () => {
    const short = callAt('2026-03-10T09:00:00Z').after(4.999).hangUp();
    const atS = callAt('2026-03-10T09:00:00Z').after(5).hangUp();
    const answered = callAt('2026-03-10T09:00:00Z').ring('ada').after(8).answer('ada').after(30).hangUp();
    const late = callAt('2026-03-10T09:00:00Z').ring('ada').after(20).decline('ada').after(25).hangUp();

    const r = rates([short, atS, answered, late]);

    expect(short.outcome).toBe('no-agent');
    expect(late.outcome).toBe('abandoned');
    expect(r.offered).toBe(4);
    expect(r.abandoned).toBe(3);
    expect(r.shortAbandoned).toBe(1);
    // SL: answered within T / (offered − short abandons) = 1 / 3; abandon rate: (3 − 1) / (4 − 1).
    expect(r.serviceLevel).toBeCloseTo(1 / 3);
    expect(r.abandonRate).toBeCloseTo(2 / 3);
    expect(r.longestWaitSeconds).toBe(45);
  });

  test('when a waiting caller leaves a voicemail instead of waiting, then it is neither offered nor abandoned: SL and abandon rate are those of the other calls', () => {
    const message = callAt('2026-03-10T09:00:00Z').after(90).hangUp('voicemail');
    const answered = callAt('2026-03-10T09:00:00Z').ring('ada').after(8).answer('ada').after(30).hangUp();
    const left = callAt('2026-03-10T09:00:00Z').ring('ada').after(30).decline('ada').after(30).hangUp();

    const r = rates([message, answered, left]);

    expect(message.outcome).toBe('voicemail');
    expect(r.offered).toBe(2);
    expect(r.abandoned).toBe(1);
    expect(r.serviceLevel).toBeCloseTo(1 / 2);
    expect(r.abandonRate).toBeCloseTo(1 / 2);
  });

  test('when T and S change, then the same calls give the rates of the new definitions', () => {
    const calls = [callAt('2026-03-10T09:00:00Z').after(4).hangUp(), callAt('2026-03-10T09:00:00Z').ring('ada').after(25).answer('ada').after(10).hangUp()];

    const strict = rates(calls, { ...SETTINGS, answerTargetSeconds: 30, shortAbandonSeconds: 3 });

    expect(strict.shortAbandoned).toBe(0);
    expect(strict.serviceLevel).toBeCloseTo(1 / 2);
    expect(strict.abandonRate).toBeCloseTo(1 / 2);
  });

  test('when a caller waits until the line gives up, then the call is offered, timed out, neither answered nor abandoned, and its wait is the longest', () => {
    const timedOut = callAt('2026-03-10T09:00:00Z').after(600).hangUp('max-wait');

    const r = rates([timedOut]);

    expect(timedOut.outcome).toBe('timed-out');
    expect([r.offered, r.answered, r.abandoned, r.timedOut]).toEqual([1, 0, 0, 1]);
    expect(r.serviceLevel).toBe(0);
    expect(r.longestWaitSeconds).toBe(600);
    expect(r.asaSeconds).toBeNull();
  });

  test('when nothing happened, then every rate is empty rather than zero', () => {
    const r = rates([]);

    expect([r.serviceLevel, r.asaSeconds, r.abandonRate, r.ahtSeconds, r.transferRate]).toEqual([null, null, null, null, null]);
  });

  test('when a record has no answer instant (stored before these metrics), then its whole-second wait is used', () => {
    const record = callAt('2026-03-10T09:00:00Z').ring('ada').after(19.6).answer('ada').after(10).hangUp();
    const { answeredAt: _a, ...old } = record;

    expect(callFactsOf(record).waitMs).toBe(19_600);
    expect(callFactsOf(old).waitMs).toBe(20_000);
  });
});

describe('handle time and transfers', () => {
  test('when a call talks 100 s of which the customer spends 30 s on hold, then AHT is talk 70 + hold 30 + wrap-up 5', () => {
    const record = callAt('2026-03-10T09:00:00Z').ring('ada').after(10).answer('ada').after(40).holdCustomer(true).after(30).holdCustomer(false).after(30).hangUp();

    const r = rates([record]);

    expect(record.holdSeconds).toBe(30);
    expect(r.talkSeconds).toBe(70);
    expect(r.holdSeconds).toBe(30);
    expect(r.ahtSeconds).toBe(105);
  });

  test('when a call is transferred from Ada to Grace, then the centre counts it once, as one handled and transferred call; each agent gets their share', () => {
    const record = callAt('2026-03-10T09:00:00Z').ring('ada').after(10).answer('ada').after(50).consultCompleted('ada', 'grace', 20).after(100).hangUp();
    const { tally, agents } = tallyCalls([callFactsOf(record)], SETTINGS);
    const r = ratesOf(tally, SETTINGS);

    expect([r.offered, r.answered, tally.transferred]).toEqual([1, 1, 1]);
    expect(r.transferRate).toBe(1);
    // Connected: Ada 50 + 22 s (until she left), Grace from her ring to the end (2 + 20 + 100 s); the customer's 22 s
    // on hold go to Ada, who held them.
    expect(record.agentTalk).toEqual([
      { agentId: 'ada', seconds: 72 },
      { agentId: 'grace', seconds: 122 },
    ]);
    expect(agents.get('ada')).toEqual({ calls: 1, answered: 1, talkSeconds: 50, holdSeconds: 22, transfers: 1 });
    expect(agents.get('grace')).toEqual({ calls: 1, answered: 0, talkSeconds: 122, holdSeconds: 0, transfers: 0 });
    expect(agentAhtSeconds(agents.get('ada')!, SETTINGS)).toBe(77);
    // The centre's talk is the call's connected time less the hold: 172 − 22.
    expect(r.talkSeconds).toBe(150);
  });

  test('when a colleague is only brought into a three-way call, then it is not a transfer', () => {
    const record = callAt('2026-03-10T09:00:00Z').ring('ada').after(3).answer('ada').after(10).ring('grace', 'colleague', 'ada').after(2).answer('grace').after(30).hangUp();

    expect(record.transfers).toEqual([expect.objectContaining({ mode: 'three-way' })]);
    expect(rates([record]).transferRate).toBe(0);
  });
});

describe('which day and hour a call counts in', () => {
  test('when a call starts before midnight and ends after it, then it counts in the hour and local day it ended', () => {
    const record = callAt('2026-03-10T23:59:50Z').ring('ada').after(15).answer('ada').after(180).hangUp();

    expect(localDayOf(record.endedAt, 'UTC')).toBe('2026-03-11');
    expect(utcHourOf(record.endedAt)).toBe(Date.parse('2026-03-11T00:00:00Z'));
    expect(utcHoursOfLocalDay('2026-03-11', 'UTC')).toContain(utcHourOf(record.endedAt));
    expect(utcHoursOfLocalDay('2026-03-10', 'UTC')).not.toContain(utcHourOf(record.endedAt));
  });

  test('when the clocks go forward (Paris, 29 March 2026), then the local day has 23 hours and its calls fall in them', () => {
    const hours = utcHoursOfLocalDay('2026-03-29', 'Europe/Paris');
    const record = callAt('2026-03-29T01:20:00Z').after(30).hangUp(); // 03:20:30 local, just after the jump from 02:00 to 03:00

    expect(hours).toHaveLength(23);
    expect(hours[0]).toBe(Date.parse('2026-03-28T23:00:00Z'));
    expect(localDayStart('2026-03-30', 'Europe/Paris')).toBe(Date.parse('2026-03-29T22:00:00Z'));
    expect(hours).toContain(utcHourOf(record.endedAt));
    expect(hours.map((h) => localHourLabel(h, 'Europe/Paris')).slice(0, 4)).toEqual(['00:00', '01:00', '03:00', '04:00']);
  });

  test('when the clocks go back (Paris, 25 October 2026), then the day has 25 hours and the two 02:00 hours are told apart', () => {
    const hours = utcHoursOfLocalDay('2026-10-25', 'Europe/Paris');
    const first = callAt('2026-10-25T00:10:00Z').after(30).hangUp(); // 02:10:30 summer time
    const second = callAt('2026-10-25T01:10:00Z').after(30).hangUp(); // 02:10:30 winter time

    expect(hours).toHaveLength(25);
    expect(utcHourOf(first.endedAt)).not.toBe(utcHourOf(second.endedAt));
    expect(localDayOf(first.endedAt, 'Europe/Paris')).toBe('2026-10-25');
    expect(localDayOf(second.endedAt, 'Europe/Paris')).toBe('2026-10-25');
    expect(localHourLabel(utcHourOf(first.endedAt), 'Europe/Paris', true)).toBe('02:00 UTC+02:00');
    expect(localHourLabel(utcHourOf(second.endedAt), 'Europe/Paris', true)).toBe('02:00 UTC+01:00');
  });

  test('when the zone is New York, then a call ending at 03:30 UTC counts on the previous local day', () => {
    const record = callAt('2026-07-01T03:29:00Z').after(30).hangUp();

    expect(localDayOf(record.endedAt, 'America/New_York')).toBe('2026-06-30');
    expect(utcHoursOfLocalDay('2026-06-30', 'America/New_York')).toContain(utcHourOf(record.endedAt));
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
  });
});

describe('live figures and the wait distribution', () => {
  test('when agents are on calls, in wrap-up, free, ringing, away and offline, then occupancy is busy over staffed', () => {
    const counts = countPresences(['on-call', 'on-call', 'wrap-up', 'available', 'ringing', 'away', 'offline']);

    expect(counts).toEqual({ available: 1, ringing: 1, onCall: 2, wrapUp: 1, away: 1, offline: 1 });
    expect(occupancyNow(counts)).toBeCloseTo(3 / 5);
    expect(occupancyNow(countPresences(['away']))).toBeNull();
  });

  test('when waits are binned, then bin edges belong to the upper bin and the last bin is open', () => {
    expect([waitBin(0), waitBin(4_999), waitBin(5_000), waitBin(19_999), waitBin(20_000), waitBin(3_600_000)]).toEqual([0, 0, 1, 2, 3, 11]);
    expect([waitBinLabel(0), waitBinLabel(11)]).toEqual(['0–5 s', '600 s +']);
    expect(DEFAULT_METRIC_SETTINGS).toMatchObject({ answerTargetSeconds: 20, shortAbandonSeconds: 5 });
  });
});
