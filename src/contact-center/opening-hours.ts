// Opening hours: a week of local opening times, holidays, and a manual "closed now" switch, in one IANA time zone.
// Whether the contact center is open at an instant, and when it opens next, decided on the wall clock of the zone (so
// 09:00 stays 09:00 across a clock change). Pure: no I/O; the caller passes the instant.
import { addDays, isDay, localTimeOn, localWallClock } from './calendar';

/** Weekdays in the order the admin page shows them; index in WEEKDAY_NUMBERS is JavaScript's getUTCDay(). */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];
const WEEKDAY_OF_NUMBER: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
export const WEEKDAY_NAMES: Record<Weekday, string> = { mon: 'Monday', tue: 'Tuesday', wed: 'Wednesday', thu: 'Thursday', fri: 'Friday', sat: 'Saturday', sun: 'Sunday' };

/** One opening of a day, in minutes after local midnight: from (included) to (excluded); to ≤ 1440. */
export interface Opening {
  from: number;
  to: number;
}

export interface Holiday {
  /** 'YYYY-MM-DD', local. */
  day: string;
  name?: string;
}

export interface OpeningHours {
  /** Off: always open (today's behaviour), whatever the week says. The manual switch works either way. */
  enabled: boolean;
  week: Record<Weekday, Opening[]>;
  holidays: Holiday[];
  /** The manual switch: closed from this instant until an admin opens again. */
  closedNow?: { since: Date; by?: string };
}

export type OpenState =
  | { open: true }
  | { open: false; reason: 'closed-now' }
  | { open: false; reason: 'holiday'; holiday: Holiday; opensAt?: Date }
  | { open: false; reason: 'outside-hours'; opensAt?: Date };

/** Nothing configured: open every day, all day (the hours are off). */
export function alwaysOpen(): OpeningHours {
  return { enabled: false, week: { mon: [], tue: [], wed: [], thu: [], fri: [], sat: [], sun: [] }, holidays: [] };
}

/** How far ahead the next opening is looked for. */
const LOOK_AHEAD_DAYS = 31;

/** Whether the contact center is open at `now` in `zone`, and if not why and when it opens next. */
export function openingState(hours: OpeningHours, now: Date, zone: string): OpenState {
  if (hours.closedNow) return { open: false, reason: 'closed-now' };
  if (!hours.enabled) return { open: true };
  const clock = localWallClock(now, zone);
  const holiday = hours.holidays.find((h) => h.day === clock.day);
  if (!holiday && hours.week[WEEKDAY_OF_NUMBER[clock.weekday]!].some((o) => o.from <= clock.minutes && clock.minutes < o.to)) return { open: true };
  const opensAt = nextOpening(hours, now, zone);
  return holiday ? { open: false, reason: 'holiday', holiday, ...(opensAt ? { opensAt } : {}) } : { open: false, reason: 'outside-hours', ...(opensAt ? { opensAt } : {}) };
}

/** The next instant after `now` at which an opening starts (holidays skipped), within a month; undefined if none. */
export function nextOpening(hours: OpeningHours, now: Date, zone: string): Date | undefined {
  const today = localWallClock(now, zone).day;
  const holidays = new Set(hours.holidays.map((h) => h.day));
  for (let k = 0; k <= LOOK_AHEAD_DAYS; k += 1) {
    const day = addDays(today, k);
    if (holidays.has(day)) continue;
    const weekday = WEEKDAY_OF_NUMBER[new Date(`${day}T00:00:00Z`).getUTCDay()]!;
    for (const o of [...hours.week[weekday]].sort((a, b) => a.from - b.from)) {
      const at = localTimeOn(day, o.from, zone);
      if (at > now.getTime()) return new Date(at);
    }
  }
  return undefined;
}

/** 'HH:MM' of minutes after midnight. */
export function formatMinutes(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

/** A day's openings as the admin page writes them: '09:00-12:30, 13:30-17:00'; '' when closed all day. */
export function formatOpenings(openings: readonly Opening[]): string {
  return openings.map((o) => `${formatMinutes(o.from)}-${formatMinutes(o.to)}`).join(', ');
}

/** Parses '09:00-12:30, 13:30-17:00' (blank: closed all day); throws RangeError with a message a person can act on. */
export function parseOpenings(text: string): Opening[] {
  const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
  const minutes = (hhmm: string): number => {
    const m = /^(\d{1,2}):(\d{2})$/.exec(hhmm.trim());
    if (!m || Number(m[2]) > 59 || Number(m[1]) > 24 || (Number(m[1]) === 24 && Number(m[2]) !== 0)) throw new RangeError(`"${hhmm.trim()}" is not a time like 09:00`);
    return Number(m[1]) * 60 + Number(m[2]);
  };
  const out = parts.map((part) => {
    const [from, to, extra] = part.split('-');
    if (from === undefined || to === undefined || extra !== undefined) throw new RangeError(`"${part}" is not an opening like 09:00-17:00`);
    const o = { from: minutes(from), to: minutes(to) };
    if (o.from >= o.to) throw new RangeError(`"${part}" ends before it starts (an opening past midnight is two: 22:00-24:00 and 00:00-02:00)`);
    return o;
  });
  out.sort((a, b) => a.from - b.from);
  for (let i = 1; i < out.length; i += 1) if (out[i]!.from < out[i - 1]!.to) throw new RangeError(`"${text.trim()}" has openings that overlap`);
  return out;
}

/** Parses holidays, one a line: 'YYYY-MM-DD' and an optional name. Throws RangeError naming the bad line. */
export function parseHolidays(text: string): Holiday[] {
  const out: Holiday[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    const m = /^(\d{4}-\d{2}-\d{2})\s*(.*)$/.exec(line);
    if (!m || !isDay(m[1]!)) throw new RangeError(`"${line}" does not start with a date like 2026-12-25`);
    const name = m[2]!.trim().slice(0, 80);
    if (!out.some((h) => h.day === m[1])) out.push({ day: m[1]!, ...(name ? { name } : {}) });
  }
  return out.sort((a, b) => a.day.localeCompare(b.day));
}

/** Holidays as the admin page writes them, one a line. */
export function formatHolidays(holidays: readonly Holiday[]): string {
  return holidays.map((h) => (h.name ? `${h.day} ${h.name}` : h.day)).join('\n');
}

/** When we open, in words a caller understands: 'today at 09:00', 'tomorrow at 09:00', 'on Monday at 09:00', 'on Monday 28 December at 09:00'. */
export function whenWeOpen(opensAt: Date, now: Date, zone: string): string {
  const at = localWallClock(opensAt, zone);
  const today = localWallClock(now, zone).day;
  const time = formatMinutes(at.minutes);
  if (at.day === today) return `today at ${time}`;
  if (at.day === addDays(today, 1)) return `tomorrow at ${time}`;
  const weekday = WEEKDAY_NAMES[WEEKDAY_OF_NUMBER[at.weekday]!];
  if (at.day <= addDays(today, 6)) return `on ${weekday} at ${time}`;
  const month = new Date(`${at.day}T00:00:00Z`).toLocaleString('en-US', { month: 'long', timeZone: 'UTC' });
  return `on ${weekday} ${Number(at.day.slice(8))} ${month} at ${time}`;
}

/** What a caller hears when we are closed: why, and when we open (when the schedule knows). */
export function closedMessage(state: Exclude<OpenState, { open: true }>, now: Date, zone: string): string {
  const when = 'opensAt' in state && state.opensAt ? ` We open again ${whenWeOpen(state.opensAt, now, zone)}.` : '';
  switch (state.reason) {
    case 'closed-now':
      return 'Thank you for calling. Our contact center is closed at the moment. Please call again later.';
    case 'holiday':
      return `Thank you for calling. We are closed today${state.holiday.name ? ` for ${state.holiday.name}` : ' for a holiday'}.${when}`;
    case 'outside-hours':
      return `Thank you for calling. We are closed now.${when}`;
  }
}
