// The reports page for supervisors and admins: service metrics over a range of days (presets or any dates), per hour
// or per day, with charts drawn here as SVG, a per-agent table, the wait distribution, and each table as CSV. Read
// from the day summaries (src/models/report-summary.ts), never from the calls.
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { addDays, isDay, localDayOf } from '../contact-center/calendar';
import type { MetricSettings } from '../contact-center/metrics';
import type { ReportSummaries } from '../models/report-summary';
import { REPORT_TABLES, reportCsv, reportView, type Granularity } from './report-view';

export interface ReportsRouterDeps {
  summaries: Pick<ReportSummaries, 'days'>;
  agents: { all(): Promise<Array<{ id: string; name: string }>> };
  settings: MetricSettings & { timeZone: string };
  /** Supervisors and admins only. */
  guard: RequestHandler[];
  now?: () => Date;
}

/** The longest range one report covers. */
export const MAX_REPORT_DAYS = 93;

export const PRESETS = {
  today: 'Today',
  yesterday: 'Yesterday',
  last7: 'Last 7 days',
  last31: 'Last 31 days',
  'this-month': 'This month',
  'last-month': 'Last month',
} as const;
type Preset = keyof typeof PRESETS;

const blankToUndefined = (value: unknown): unknown => (value === '' ? undefined : value);
/** The last day a report may name: the day after it must still be a four-digit year (a report's hours run into it). */
const LAST_REPORT_DAY = '9999-12-30';
const dayField = (label: string) =>
  z.preprocess(
    blankToUndefined,
    z
      .string({ error: `${label} must be one date (YYYY-MM-DD).` })
      .refine(isDay, { error: `${label} must be a real date written YYYY-MM-DD.` })
      .refine((day) => day <= LAST_REPORT_DAY, { error: `${label} must be on or before ${LAST_REPORT_DAY}.` })
      .optional(),
  );

const ReportQuery = z.object({
  preset: z.preprocess(blankToUndefined, z.enum(Object.keys(PRESETS) as [Preset, ...Preset[]], { error: `Preset must be one of: ${Object.keys(PRESETS).join(', ')}.` }).optional()),
  from: dayField('From'),
  to: dayField('To'),
  by: z.preprocess(blankToUndefined, z.enum(['hour', 'day'], { error: 'Per must be hour or day.' }).optional()),
  table: z.preprocess(blankToUndefined, z.enum(REPORT_TABLES, { error: `Table must be one of: ${REPORT_TABLES.join(', ')}.` }).optional()),
});

interface Range {
  from: string;
  to: string;
  by: Granularity;
  preset?: Preset;
}

/** The days a preset covers, in the report's time zone on `today`. */
export function presetRange(preset: Preset, today: string): { from: string; to: string } {
  const monthStart = `${today.slice(0, 8)}01`;
  switch (preset) {
    case 'today':
      return { from: today, to: today };
    case 'yesterday':
      return { from: addDays(today, -1), to: addDays(today, -1) };
    case 'last7':
      return { from: addDays(today, -6), to: today };
    case 'last31':
      return { from: addDays(today, -30), to: today };
    case 'this-month':
      return { from: monthStart, to: today };
    case 'last-month': {
      const lastMonthEnd = addDays(monthStart, -1);
      return { from: `${lastMonthEnd.slice(0, 8)}01`, to: lastMonthEnd };
    }
  }
}

type Parsed = { ok: true; range: Range; table?: (typeof REPORT_TABLES)[number] } | { ok: false; message: string };

function parse(req: Request, today: string): Parsed {
  const result = ReportQuery.safeParse(req.query);
  if (!result.success) return { ok: false, message: result.error.issues.map((issue) => issue.message).join(' ') };
  const q = result.data;
  let range: { from: string; to: string };
  let preset: Preset | undefined;
  if (q.from || q.to) {
    range = { from: q.from ?? q.to!, to: q.to ?? q.from! };
  } else {
    preset = q.preset ?? 'today';
    range = presetRange(preset, today);
  }
  if (range.from > range.to) return { ok: false, message: 'From must not be after To.' };
  // Counted in days, not by comparing dates as text: a date after year 9999 is not written as four digits.
  if ((Date.parse(`${range.to}T00:00:00Z`) - Date.parse(`${range.from}T00:00:00Z`)) / 86_400_000 + 1 > MAX_REPORT_DAYS) return { ok: false, message: `A report covers at most ${MAX_REPORT_DAYS} days: narrow the dates.` };
  const by: Granularity = q.by ?? (range.from === range.to ? 'hour' : 'day');
  return { ok: true, range: { ...range, by, ...(preset ? { preset } : {}) }, table: q.table };
}

function query(range: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(range)) if (value) params.set(key, value);
  return `?${params.toString()}`;
}

/** The reports page and its CSV exports. */
export function reportsRouter(deps: ReportsRouterDeps): Router {
  const router = Router();
  const now = deps.now ?? (() => new Date());

  async function load(req: Request, res: Response) {
    const today = localDayOf(now(), deps.settings.timeZone);
    const parsed = parse(req, today);
    if (!parsed.ok) {
      res.status(400);
      if (req.accepts(['html', 'json']) === 'json') res.json({ error: parsed.message, status: 400 });
      else res.render('reports', { title: 'Reports', error: parsed.message, presets: PRESETS, range: { from: req.query.from, to: req.query.to, by: req.query.by }, settings: deps.settings });
      return undefined;
    }
    const [days, agents] = await Promise.all([deps.summaries.days(parsed.range.from, parsed.range.to), deps.agents.all()]);
    const byId = new Map(agents.map((a) => [a.id, a.name]));
    const view = reportView({ days, by: parsed.range.by, settings: deps.settings, names: (id) => byId.get(id) ?? id });
    return { parsed, view, today };
  }

  /**
   * Service metrics over a range of days: totals, per hour or per day, charts, per agent, wait distribution.
   * @route GET /reports
   */
  router.get('/reports', ...deps.guard, async (req, res) => {
    const loaded = await load(req, res);
    if (!loaded) return;
    const { parsed, view } = loaded;
    const { range } = parsed;
    const base = { from: range.from, to: range.to, by: range.by };
    res.render('reports', {
      title: 'Reports',
      range,
      presets: PRESETS,
      presetHrefs: Object.fromEntries(Object.keys(PRESETS).map((p) => [p, `/reports${query({ preset: p })}`])),
      byHrefs: { hour: `/reports${query({ ...base, by: 'hour' })}`, day: `/reports${query({ ...base, by: 'day' })}` },
      csvHrefs: Object.fromEntries(REPORT_TABLES.map((table) => [table, `/reports.csv${query({ ...base, table })}`])),
      settings: deps.settings,
      goalPercent: Math.round(deps.settings.serviceLevelGoal * 100),
      view,
    });
  });

  /**
   * One of the report's tables as CSV: ?table=intervals|agents|waits with the page's range.
   * @route GET /reports.csv
   */
  router.get('/reports.csv', ...deps.guard, async (req, res) => {
    const loaded = await load(req, res);
    if (!loaded) return;
    const { parsed, view } = loaded;
    const table = parsed.table ?? 'intervals';
    res.type('text/csv; charset=utf-8');
    res.attachment(`report-${table}-${parsed.range.from}-to-${parsed.range.to}.csv`);
    res.send(reportCsv(view, table, parsed.range.by, deps.settings));
  });

  return router;
}
