// Opening hours on a fake clock: each test names the instant (UTC) and the zone; the rules read the zone's wall clock.
import { alwaysOpen, closedMessage, openingState, parseHolidays, parseOpenings, type OpeningHours, type OpenState } from '../src/contact-center/opening-hours';

const PARIS = 'Europe/Paris';
const NEW_YORK = 'America/New_York';

/** Monday to Friday 09:00–17:00, with Christmas Day. */
function officeHours(extra: Partial<OpeningHours> = {}): OpeningHours {
  const day = parseOpenings('09:00-17:00');
  return { enabled: true, week: { mon: day, tue: day, wed: day, thu: day, fri: day, sat: [], sun: [] }, holidays: parseHolidays('2026-12-25 Christmas Day'), ...extra };
}

const at = (iso: string): Date => new Date(iso);
const closed = (s: OpenState): Exclude<OpenState, { open: true }> => {
  if (s.open) throw new Error('expected closed');
  return s;
};

test('when it is 08:59 on a Wednesday in Paris, then we are closed and open today at 09:00; at 09:00 we are open', () => {
  // 2026-12-02 is a Wednesday; Paris is UTC+1 in winter.
  const before = closed(openingState(officeHours(), at('2026-12-02T07:59:00Z'), PARIS));
  expect(before.reason).toBe('outside-hours');
  expect('opensAt' in before && before.opensAt?.toISOString()).toBe('2026-12-02T08:00:00.000Z');
  expect(closedMessage(before, at('2026-12-02T07:59:00Z'), PARIS)).toBe('Thank you for calling. We are closed now. We open again today at 09:00.');

  expect(openingState(officeHours(), at('2026-12-02T08:00:00Z'), PARIS)).toEqual({ open: true });
  expect(openingState(officeHours(), at('2026-12-02T15:59:59Z'), PARIS)).toEqual({ open: true });
  expect(closed(openingState(officeHours(), at('2026-12-02T16:00:00Z'), PARIS)).reason).toBe('outside-hours');
});

test('when it is Friday 17:00, then the caller hears that we open on Monday at 09:00', () => {
  const now = at('2026-12-04T16:00:00Z');
  const state = closed(openingState(officeHours(), now, PARIS));

  expect(closedMessage(state, now, PARIS)).toBe('Thank you for calling. We are closed now. We open again on Monday at 09:00.');
});

test('when the day is a holiday, then we are closed all day, say why, and open on the next working day', () => {
  // Friday 25 December 2026, 10:00 in Paris: a working day's hours, but a holiday.
  const now = at('2026-12-25T09:00:00Z');
  const state = closed(openingState(officeHours(), now, PARIS));

  expect(state.reason).toBe('holiday');
  expect(closedMessage(state, now, PARIS)).toBe('Thank you for calling. We are closed today for Christmas Day. We open again on Monday at 09:00.');
  expect('opensAt' in state && state.opensAt?.toISOString()).toBe('2026-12-28T08:00:00.000Z');
});

test('when an admin closed manually, then we are closed during opening hours, and also with the hours turned off', () => {
  const now = at('2026-12-02T10:00:00Z');
  const closedNow = { since: at('2026-12-02T09:30:00Z'), by: 'admin' };

  expect(closed(openingState(officeHours({ closedNow }), now, PARIS)).reason).toBe('closed-now');
  expect(closed(openingState({ ...alwaysOpen(), closedNow }, now, PARIS)).reason).toBe('closed-now');
  expect(closedMessage({ open: false, reason: 'closed-now' }, now, PARIS)).toMatch(/closed at the moment/);
});

test('when the hours are turned off (nothing configured), then we are open at any hour, as before', () => {
  expect(openingState(alwaysOpen(), at('2026-12-06T03:00:00Z'), PARIS)).toEqual({ open: true });
  expect(openingState({ ...officeHours(), enabled: false }, at('2026-12-25T03:00:00Z'), PARIS)).toEqual({ open: true });
});

test('when the clocks go forward (Paris, 29 March 2026), then Monday opens at 09:00 summer time, an hour earlier in UTC than Friday', () => {
  // Friday 27 March: 09:00 CET = 08:00 UTC.
  expect(closed(openingState(officeHours(), at('2026-03-27T07:59:00Z'), PARIS)).reason).toBe('outside-hours');
  expect(openingState(officeHours(), at('2026-03-27T08:00:00Z'), PARIS)).toEqual({ open: true });
  // Monday 30 March: 09:00 CEST = 07:00 UTC; 08:59 CEST is 06:59 UTC.
  expect(closed(openingState(officeHours(), at('2026-03-30T06:59:00Z'), PARIS)).reason).toBe('outside-hours');
  expect(openingState(officeHours(), at('2026-03-30T07:00:00Z'), PARIS)).toEqual({ open: true });
  // Saturday, before the change: the next opening is found across it.
  const weekend = closed(openingState(officeHours(), at('2026-03-28T12:00:00Z'), PARIS));
  expect('opensAt' in weekend && weekend.opensAt?.toISOString()).toBe('2026-03-30T07:00:00.000Z');
  expect(closedMessage(weekend, at('2026-03-28T12:00:00Z'), PARIS)).toMatch(/on Monday at 09:00\.$/);
});

test('when the clocks go back (Paris, 25 October 2026), then Monday opens at 09:00 winter time, an hour later in UTC', () => {
  expect(closed(openingState(officeHours(), at('2026-10-26T07:59:00Z'), PARIS)).reason).toBe('outside-hours');
  expect(openingState(officeHours(), at('2026-10-26T08:00:00Z'), PARIS)).toEqual({ open: true });
  const sunday = closed(openingState(officeHours(), at('2026-10-25T01:30:00Z'), PARIS));
  expect('opensAt' in sunday && sunday.opensAt?.toISOString()).toBe('2026-10-26T08:00:00.000Z');
});

test('when the same instant is read in two time zones, then each zone uses its own wall clock', () => {
  // Monday 1 June 2026, 12:30 UTC: 14:30 in Paris (open), 08:30 in New York (closed).
  const now = at('2026-06-01T12:30:00Z');
  expect(openingState(officeHours(), now, PARIS)).toEqual({ open: true });
  const ny = closed(openingState(officeHours(), now, NEW_YORK));
  expect('opensAt' in ny && ny.opensAt?.toISOString()).toBe('2026-06-01T13:00:00.000Z');
  // New York's own clock change (8 March 2026) moves its 09:00 from 14:00 UTC to 13:00 UTC.
  expect(openingState(officeHours(), at('2026-03-06T13:30:00Z'), NEW_YORK)).not.toEqual({ open: true });
  expect(openingState(officeHours(), at('2026-03-09T13:30:00Z'), NEW_YORK)).toEqual({ open: true });
});

test('when a day has two openings, then the lunch break is closed and the caller hears the afternoon opening', () => {
  const split = parseOpenings('13:30-17:00, 09:00-12:30');
  const hours: OpeningHours = { ...officeHours(), week: { ...officeHours().week, wed: split } };
  const lunch = at('2026-12-02T12:00:00Z'); // 13:00 in Paris

  expect(split).toEqual([{ from: 540, to: 750 }, { from: 810, to: 1020 }]);
  expect(closedMessage(closed(openingState(hours, lunch, PARIS)), lunch, PARIS)).toMatch(/today at 13:30\.$/);
});

test('when opening times or holidays are written wrong, then the message names the bad part', () => {
  expect(() => parseOpenings('9-17')).toThrow(/"9" is not a time/);
  expect(() => parseOpenings('17:00-09:00')).toThrow(/ends before it starts/);
  expect(() => parseOpenings('09:00-12:00, 11:00-13:00')).toThrow(/overlap/);
  expect(() => parseHolidays('2026-02-30 Nope')).toThrow(/2026-02-30 Nope/);
  expect(parseOpenings('')).toEqual([]);
  expect(parseHolidays('2027-01-01\n\n2026-12-25 Christmas Day')).toEqual([{ day: '2026-12-25', name: 'Christmas Day' }, { day: '2027-01-01' }]);
});
