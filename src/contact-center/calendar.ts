// Days and hours in the report's time zone (REPORT_TIME_ZONE), from the IANA database through Intl: a day is from
// one local midnight to the next, so it has 23 or 25 hours when the clocks change. Pure: no I/O.
//
// The summaries are kept per UTC hour; a local day is the UTC hours that start within it. In zones whose offset is a
// whole number of hours (most) that is exact; where it is not (India +05:30, Nepal +05:45, parts of Australia), an
// hour row covers HH:30–HH:30 local, and the day holds the hours that start in it.

const HOUR_MS = 3_600_000;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(zone, f);
  }
  return f;
}

/** Whether `zone` is an IANA time zone this runtime knows. */
export function isTimeZone(zone: string): boolean {
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function localParts(ms: number, zone: string): LocalParts {
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour! % 24, minute: parts.minute!, second: parts.second! };
}

/** The wall clock of instant `ms` in `zone`: its local day ('YYYY-MM-DD'), weekday (0 = Sunday) and minute of the day. */
export function localWallClock(at: Date | number, zone: string): { day: string; weekday: number; minutes: number } {
  const p = localParts(typeof at === 'number' ? at : at.getTime(), zone);
  return {
    day: `${String(p.year).padStart(4, '0')}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`,
    weekday: new Date(Date.UTC(p.year, p.month - 1, p.day)).getUTCDay(),
    minutes: p.hour * 60 + p.minute,
  };
}

/**
 * The instant (UTC ms) whose wall clock in `zone` reads `minutes` past midnight of local `day`. A repeated time (the
 * night the clocks go back) is its first occurrence; a skipped one (the night they go forward) lands beside the jump.
 */
export function localTimeOn(day: string, minutes: number, zone: string): number {
  const m = DAY.exec(day);
  if (!m) throw new RangeError(`not a day: ${day}`);
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) + minutes * 60_000;
  let guess = wall - zoneOffsetMs(wall - 12 * HOUR_MS, zone);
  guess = wall - zoneOffsetMs(guess, zone);
  return guess;
}

/** The zone's offset from UTC at instant `ms`, in ms (Paris in summer: +7,200,000). */
export function zoneOffsetMs(ms: number, zone: string): number {
  const p = localParts(ms, zone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - (ms - (((ms % 1000) + 1000) % 1000));
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** The local day of `at` in `zone`, 'YYYY-MM-DD'. */
export function localDayOf(at: Date | number, zone: string): string {
  const p = localParts(typeof at === 'number' ? at : at.getTime(), zone);
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}`;
}

/** Whether `day` is a real calendar date written 'YYYY-MM-DD'. */
export function isDay(day: string): boolean {
  const m = DAY.exec(day);
  if (!m) return false;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return new Date(t).toISOString().slice(0, 10) === day;
}

/** `day` plus `n` calendar days. */
export function addDays(day: string, n: number): string {
  const m = DAY.exec(day);
  if (!m) throw new RangeError(`not a day: ${day}`);
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + n)).toISOString().slice(0, 10);
}

/** Every day from `from` to `to`, both included. */
export function daysFrom(from: string, to: string): string[] {
  const out: string[] = [];
  for (let day = from; day <= to; day = addDays(day, 1)) out.push(day);
  return out;
}

/** The first instant of local `day` in `zone` (UTC ms): its midnight, or the first instant after a gap at midnight. */
export function localDayStart(day: string, zone: string): number {
  const m = DAY.exec(day);
  if (!m) throw new RangeError(`not a day: ${day}`);
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // The instant whose local wall time is midnight: wall − offset, with the offset taken at the answer (two rounds
  // settle it, the offset changing at most once near a day's start).
  let guess = wall - zoneOffsetMs(wall, zone);
  guess = wall - zoneOffsetMs(guess, zone);
  // A zone that skips midnight (clocks go 23:59 → 01:00) lands before the day: step to its first whole hour.
  while (localDayOf(guess, zone) < day) guess += HOUR_MS;
  // One that repeats midnight: the earlier one.
  while (localDayOf(guess - HOUR_MS, zone) === day) guess -= HOUR_MS;
  return guess;
}

/** The UTC hours (their start, ms) that start within local `day` in `zone`: 24, or 23 / 25 on clock-change days. */
export function utcHoursOfLocalDay(day: string, zone: string): number[] {
  const start = localDayStart(day, zone);
  const end = localDayStart(addDays(day, 1), zone);
  const out: number[] = [];
  for (let hour = Math.ceil(start / HOUR_MS) * HOUR_MS; hour < end; hour += HOUR_MS) out.push(hour);
  return out;
}

/** The UTC hour (start, ms) that contains `at`. */
export function utcHourOf(at: Date | number): number {
  const ms = typeof at === 'number' ? at : at.getTime();
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

/** 'HH:MM' local; on a day whose hours repeat or skip, with the offset ('02:00 UTC+02:00'), so both 02:00s differ. */
export function localHourLabel(hourStart: number, zone: string, withOffset = false): string {
  const p = localParts(hourStart, zone);
  const label = `${pad(p.hour)}:${pad(p.minute)}`;
  if (!withOffset) return label;
  const offset = zoneOffsetMs(hourStart, zone) / 60_000;
  const sign = offset < 0 ? '-' : '+';
  return `${label} UTC${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
}

export { HOUR_MS };
