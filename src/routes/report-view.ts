// What the reports page shows, worked out from the day summaries so the template only prints: the totals, a row per
// hour or per day, a row per agent, the wait distribution, the three charts as SVG geometry, and each table as CSV.
// Pure: no I/O.
import { localHourLabel, utcHoursOfLocalDay } from '../contact-center/calendar';
import { addAgentTallies, addTallies, agentAhtSeconds, emptyTally, ratesOf, WAIT_BIN_COUNT, waitBinLabel, type AgentTally, type MetricSettings, type Rates, type Tally } from '../contact-center/metrics';
import type { DayReport, HourCounts } from '../models/report-summary';
import { csvCell, formatDuration } from './history';

export type Granularity = 'hour' | 'day';

export interface ReportViewInput {
  days: DayReport[];
  by: Granularity;
  settings: MetricSettings & { timeZone: string };
  names: (agentId: string) => string;
}

interface Interval {
  label: string;
  /** Short label for a chart axis. */
  tick: string;
  counts: HourCounts;
}

const percent = (v: number | null): string => (v === null ? '—' : `${(v * 100).toFixed(1)} %`);
const seconds = (v: number | null): string => (v === null ? '—' : formatDuration(v));

function intervalsOf(input: ReportViewInput): Interval[] {
  const { days, by, settings } = input;
  if (by === 'day') return days.map((d) => ({ label: d.day, tick: d.day.slice(5), counts: d.tally }));
  return days.flatMap((d) => {
    // On a day whose clocks change, the hours carry their offset so the repeated hour reads twice, differently.
    const withOffset = utcHoursOfLocalDay(d.day, settings.timeZone).length !== 24;
    return d.hours.map((h) => {
      const hour = localHourLabel(h.start, settings.timeZone, withOffset);
      return { label: `${d.day} ${hour}`, tick: hour.slice(0, 2) === '00' ? d.day.slice(5) : hour.slice(0, 2), counts: h.tally };
    });
  });
}

const fullTally = (counts: HourCounts): Tally => ({ ...emptyTally(), ...counts });

/** One row of the per-interval table (also its CSV row). */
function intervalRow(interval: Interval, settings: MetricSettings) {
  const r = ratesOf(fullTally(interval.counts), settings);
  return {
    label: interval.label,
    offered: r.offered,
    answered: r.answered,
    abandoned: r.abandoned,
    shortAbandoned: r.shortAbandoned,
    timedOut: r.timedOut,
    failed: r.failed,
    serviceLevel: percent(r.serviceLevel),
    asa: seconds(r.asaSeconds),
    abandonRate: percent(r.abandonRate),
    aht: seconds(r.ahtSeconds),
    transferRate: percent(r.transferRate),
    longestWait: formatDuration(r.longestWaitSeconds),
    raw: r,
  };
}

// --- charts --------------------------------------------------------------------------------------------------

export interface ChartBar {
  x: number;
  y: number;
  width: number;
  height: number;
  kind: string;
  title: string;
}
export interface ChartLine {
  points: string;
  kind: string;
}
export interface ChartText {
  x: number;
  y: number;
  text: string;
  anchor: 'start' | 'middle' | 'end';
}
export interface Chart {
  id: string;
  title: string;
  /** What a screen reader hears instead of the picture. */
  description: string;
  width: number;
  height: number;
  bars: ChartBar[];
  lines: ChartLine[];
  dots: Array<{ x: number; y: number; kind: string; title: string }>;
  texts: ChartText[];
  gridLines: Array<{ x1: number; y1: number; x2: number; y2: number; kind: string }>;
  legend: Array<{ kind: string; label: string }>;
}

const WIDTH = 900;
const HEIGHT = 260;
const PAD = { left: 48, right: 12, top: 12, bottom: 36 };
const plotWidth = WIDTH - PAD.left - PAD.right;
const plotHeight = HEIGHT - PAD.top - PAD.bottom;
const round = (n: number): number => Math.round(n * 10) / 10;

/** A "nice" axis maximum and its ticks for values up to `max`. */
function niceScale(max: number): { top: number; ticks: number[] } {
  if (max <= 0) return { top: 1, ticks: [0, 1] };
  const rough = max / 4;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude;
  const top = Math.ceil(max / step) * step;
  const ticks: number[] = [];
  for (let t = 0; t <= top + step / 2; t += step) ticks.push(Math.round(t * 1e6) / 1e6);
  return { top, ticks };
}

function frame(id: string, title: string, description: string, yTicks: number[], top: number, format: (v: number) => string): Chart {
  const chart: Chart = { id, title, description, width: WIDTH, height: HEIGHT, bars: [], lines: [], dots: [], texts: [], gridLines: [], legend: [] };
  for (const t of yTicks) {
    const y = round(PAD.top + plotHeight - (t / top) * plotHeight);
    chart.gridLines.push({ x1: PAD.left, y1: y, x2: WIDTH - PAD.right, y2: y, kind: 'grid' });
    chart.texts.push({ x: PAD.left - 6, y: y + 4, text: format(t), anchor: 'end' });
  }
  chart.gridLines.push({ x1: PAD.left, y1: PAD.top + plotHeight, x2: WIDTH - PAD.right, y2: PAD.top + plotHeight, kind: 'axis' });
  return chart;
}

/** X-axis labels: at most ~16, evenly spaced. */
function xLabels(chart: Chart, ticks: string[], slot: number): void {
  const every = Math.max(1, Math.ceil(ticks.length / 16));
  ticks.forEach((tick, i) => {
    if (i % every === 0) chart.texts.push({ x: round(PAD.left + slot * (i + 0.5)), y: HEIGHT - PAD.bottom + 16, text: tick, anchor: 'middle' });
  });
}

function volumeChart(intervals: Interval[], by: Granularity): Chart {
  const max = Math.max(0, ...intervals.map((i) => i.counts.offered));
  const { top, ticks } = niceScale(max);
  const chart = frame('chart-volume', `Calls offered, answered and abandoned per ${by}`, `Calls per ${by}: ${intervals.reduce((n, i) => n + i.counts.offered, 0)} offered in all, at most ${max} in one ${by}.`, ticks, top, (v) => String(v));
  const slot = plotWidth / Math.max(1, intervals.length);
  const width = Math.max(0.5, slot * 0.8);
  intervals.forEach((interval, i) => {
    let base = PAD.top + plotHeight;
    const parts: Array<[string, number, string]> = [
      ['answered', interval.counts.answered, 'answered'],
      ['abandoned', interval.counts.abandoned, 'abandoned'],
      ['timed-out', interval.counts.timedOut, 'timed out'],
    ];
    for (const [kind, value, word] of parts) {
      if (value <= 0) continue;
      const height = (value / top) * plotHeight;
      base -= height;
      chart.bars.push({ x: round(PAD.left + slot * i + (slot - width) / 2), y: round(base), width: round(width), height: round(height), kind, title: `${interval.label}: ${value} ${word} of ${interval.counts.offered} offered` });
    }
  });
  xLabels(chart, intervals.map((i) => i.tick), slot);
  chart.legend = [
    { kind: 'answered', label: 'Answered' },
    { kind: 'abandoned', label: 'Abandoned' },
    { kind: 'timed-out', label: 'Timed out' },
  ];
  return chart;
}

function serviceLevelChart(intervals: Interval[], by: Granularity, settings: MetricSettings): Chart {
  const chart = frame(
    'chart-service-level',
    `Service level per ${by} against the ${Math.round(settings.serviceLevelGoal * 100)} % goal (answered within ${settings.answerTargetSeconds} s)`,
    `Service level per ${by}; the goal is ${Math.round(settings.serviceLevelGoal * 100)} %.`,
    [0, 0.25, 0.5, 0.75, 1],
    1,
    (v) => `${Math.round(v * 100)} %`,
  );
  const slot = plotWidth / Math.max(1, intervals.length);
  const y = (v: number) => round(PAD.top + plotHeight - v * plotHeight);
  let segment: string[] = [];
  const flush = (): void => {
    if (segment.length > 1) chart.lines.push({ points: segment.join(' '), kind: 'service-level' });
    segment = [];
  };
  intervals.forEach((interval, i) => {
    const sl = ratesOf(fullTally(interval.counts), settings).serviceLevel;
    if (sl === null) return flush(); // no calls: a gap, not a zero
    const x = round(PAD.left + slot * (i + 0.5));
    segment.push(`${x},${y(sl)}`);
    chart.dots.push({ x, y: y(sl), kind: sl >= settings.serviceLevelGoal ? 'met' : 'missed', title: `${interval.label}: ${percent(sl)}` });
  });
  flush();
  chart.lines.push({ points: `${PAD.left},${y(settings.serviceLevelGoal)} ${WIDTH - PAD.right},${y(settings.serviceLevelGoal)}`, kind: 'goal' });
  xLabels(chart, intervals.map((i) => i.tick), slot);
  chart.legend = [
    { kind: 'service-level', label: 'Service level' },
    { kind: 'goal', label: `Goal ${Math.round(settings.serviceLevelGoal * 100)} %` },
  ];
  return chart;
}

function waitChart(tally: Tally): Chart {
  const totals = tally.answeredWaits.map((n, i) => n + (tally.abandonedWaits[i] ?? 0));
  const { top, ticks } = niceScale(Math.max(0, ...totals));
  const chart = frame('chart-waits', 'How long callers waited (answered, and abandoned)', `Wait-time distribution of ${totals.reduce((a, b) => a + b, 0)} calls.`, ticks, top, (v) => String(v));
  const slot = plotWidth / WAIT_BIN_COUNT;
  const width = slot * 0.7;
  for (let bin = 0; bin < WAIT_BIN_COUNT; bin += 1) {
    let base = PAD.top + plotHeight;
    for (const [kind, value] of [
      ['answered', tally.answeredWaits[bin] ?? 0],
      ['abandoned', tally.abandonedWaits[bin] ?? 0],
    ] as const) {
      if (value <= 0) continue;
      const height = (value / top) * plotHeight;
      base -= height;
      chart.bars.push({ x: round(PAD.left + slot * bin + (slot - width) / 2), y: round(base), width: round(width), height: round(height), kind, title: `${waitBinLabel(bin)}: ${value} ${kind}` });
    }
  }
  xLabels(chart, Array.from({ length: WAIT_BIN_COUNT }, (_, bin) => waitBinLabel(bin)), slot);
  chart.legend = [
    { kind: 'answered', label: 'Answered (wait to answer)' },
    { kind: 'abandoned', label: 'Abandoned (wait to hanging up)' },
  ];
  return chart;
}

// --- the page ------------------------------------------------------------------------------------------------

/** Everything the reports page prints. */
export function reportView(input: ReportViewInput) {
  const { settings } = input;
  let tally = emptyTally();
  const agents = new Map<string, AgentTally>();
  for (const day of input.days) {
    tally = addTallies(tally, day.tally);
    addAgentTallies(agents, day.agents);
  }
  const totals: Rates = ratesOf(tally, settings);
  const intervals = intervalsOf(input);
  return {
    totals: {
      offered: totals.offered,
      answered: totals.answered,
      abandoned: totals.abandoned,
      shortAbandoned: totals.shortAbandoned,
      timedOut: totals.timedOut,
      failed: totals.failed,
      serviceLevel: percent(totals.serviceLevel),
      asa: seconds(totals.asaSeconds),
      abandonRate: percent(totals.abandonRate),
      aht: seconds(totals.ahtSeconds),
      transferRate: percent(totals.transferRate),
      longestWait: formatDuration(totals.longestWaitSeconds),
    },
    intervals: intervals.map((i) => intervalRow(i, settings)),
    agents: [...agents]
      .map(([agentId, t]) => ({ agentId, name: input.names(agentId), calls: t.calls, answered: t.answered, talk: formatDuration(t.talkSeconds), hold: formatDuration(t.holdSeconds), aht: seconds(agentAhtSeconds(t, settings)), transfers: t.transfers, raw: t }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    waits: Array.from({ length: WAIT_BIN_COUNT }, (_, bin) => ({ label: waitBinLabel(bin), answered: tally.answeredWaits[bin] ?? 0, abandoned: tally.abandonedWaits[bin] ?? 0 })),
    charts: [volumeChart(intervals, input.by), serviceLevelChart(intervals, input.by, settings), waitChart(tally)],
  };
}

export type ReportView = ReturnType<typeof reportView>;
export const REPORT_TABLES = ['intervals', 'agents', 'waits'] as const;
export type ReportTable = (typeof REPORT_TABLES)[number];

const csv = (header: string[], rows: Array<Array<string | number | undefined>>): string => `${[header, ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n')}\r\n`;
const fixed = (v: number | null, digits = 1): string => (v === null ? '' : v.toFixed(digits));

/** One of the page's tables as CSV: numbers as numbers (seconds, percentages), not as the page words them. */
export function reportCsv(view: ReportView, table: ReportTable, by: Granularity, settings: MetricSettings): string {
  if (table === 'agents') {
    return csv(
      ['agent_id', 'agent', 'calls', 'answered', 'talk_seconds', 'hold_seconds', 'aht_seconds', 'transfers'],
      view.agents.map((a) => [a.agentId, a.name, a.calls, a.answered, Math.round(a.raw.talkSeconds), Math.round(a.raw.holdSeconds), fixed(agentAhtSeconds(a.raw, settings)), a.raw.transfers]),
    );
  }
  if (table === 'waits') return csv(['wait', 'answered', 'abandoned'], view.waits.map((w) => [w.label, w.answered, w.abandoned]));
  const pct = (v: number | null): string => (v === null ? '' : (v * 100).toFixed(2));
  return csv(
    // `failed` last: scripts reading the columns before it by position keep working.
    [by, 'offered', 'answered', 'abandoned', 'short_abandoned', 'timed_out', 'service_level_percent', 'asa_seconds', 'abandon_rate_percent', 'aht_seconds', 'transfer_rate_percent', 'longest_wait_seconds', 'failed'],
    view.intervals.map((i) => [i.label, i.offered, i.answered, i.abandoned, i.shortAbandoned, i.timedOut, pct(i.raw.serviceLevel), fixed(i.raw.asaSeconds), pct(i.raw.abandonRate), fixed(i.raw.ahtSeconds), pct(i.raw.transferRate), fixed(i.raw.longestWaitSeconds, 0), i.failed]),
  );
}
