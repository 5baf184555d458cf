// Opening hours on /admin: the week, holidays, whether the hours apply, and a manual "closed now" switch. A section of
// the admin page (views/admin-opening-hours.pug) whose data this router puts on res.locals before the page renders; its
// forms post here and come back to the page.
import express, { Router } from 'express';
import { z } from 'zod';
import type { Auth } from '../auth/middleware';
import { formatHolidays, formatOpenings, parseHolidays, parseOpenings, WEEKDAY_NAMES, WEEKDAYS, whenWeOpen, type OpeningHours } from '../contact-center/opening-hours';
import { errorMessage, HttpError } from '../errors';
import type { Logger } from '../logger';
import type { OpeningHoursService } from '../services/opening-hours';

export interface OpeningHoursAdminDeps {
  auth: Auth;
  openingHours: OpeningHoursService;
  logger: Logger;
  /** An account's display name (who closed by hand), its id without it. */
  nameOf?: (agentId: string) => Promise<string | undefined>;
}

const Day = z.string().max(200).optional();
const Schedule = z.object({
  enabled: z.enum(['true', 'false']).optional(),
  ...Object.fromEntries(WEEKDAYS.map((d) => [d, Day])),
  holidays: z.string().max(20_000).optional(),
  _csrf: z.string().optional(),
});
const Switch = z.object({ closed: z.enum(['true', 'false']), _csrf: z.string().optional() });

/** GET /admin's opening-hours section data, and POST /admin/opening-hours and /admin/opening-hours/closed. Mount before adminRouter. */
export function openingHoursAdminRouter(deps: OpeningHoursAdminDeps): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '32kb' });
  const protect = [form, ...deps.auth.requireRole('admin'), ...deps.auth.csrfProtection];
  const back = '/admin#opening-hours';

  router.use('/admin', async (_req, res, next) => {
    // A database that fails here leaves the section out (the admin router answers for the database itself).
    const hours = await deps.openingHours.load().catch((err: unknown) => {
      deps.logger.warn('could not read the opening hours for /admin', { error: errorMessage(err) });
      return undefined;
    });
    const state = hours ? await deps.openingHours.state().catch(() => undefined) : undefined;
    res.locals.openingHours = hours && {
      enabled: hours.enabled,
      timeZone: deps.openingHours.timeZone,
      days: WEEKDAYS.map((d) => ({ key: d, name: WEEKDAY_NAMES[d], value: formatOpenings(hours.week[d]) })),
      holidays: formatHolidays(hours.holidays),
      closedNow: hours.closedNow
        ? {
            since: hours.closedNow.since.toISOString(),
            // Said as people read it, in the hours' own time zone: "6 Dec 2026, 14:05 (Europe/Paris)".
            sinceText: `${new Intl.DateTimeFormat('en-GB', { timeZone: deps.openingHours.timeZone, dateStyle: 'medium', timeStyle: 'short' }).format(hours.closedNow.since)} (${deps.openingHours.timeZone})`,
            by: hours.closedNow.by ? ((await deps.nameOf?.(hours.closedNow.by).catch(() => undefined)) ?? hours.closedNow.by) : undefined,
          }
        : undefined,
      now: state ? (state.open ? 'Open now.' : state.reason === 'closed-now' ? 'Closed now (closed by hand).' : `Closed now${'opensAt' in state && state.opensAt ? `; opens ${whenWeOpen(state.opensAt, new Date(), deps.openingHours.timeZone)}` : ''}.`) : undefined,
    };
    next();
  });

  /**
   * Saves the week (one field per weekday: '09:00-12:30, 13:30-17:00', blank for closed), the holidays (one a line:
   * 'YYYY-MM-DD name') and whether the hours apply (an unchecked box sends nothing: always open).
   * @route POST /admin/opening-hours
   */
  router.post('/admin/opening-hours', ...protect, async (req, res) => {
    const input = Schedule.parse(req.body ?? {}) as Record<string, string | undefined>;
    let schedule: Pick<OpeningHours, 'enabled' | 'week' | 'holidays'>;
    try {
      schedule = {
        enabled: input.enabled === 'true',
        week: Object.fromEntries(WEEKDAYS.map((d) => [d, parseOpenings(input[d] ?? '')])) as OpeningHours['week'],
        holidays: parseHolidays(input.holidays ?? ''),
      };
    } catch (err) {
      if (err instanceof RangeError) throw new HttpError(400, `Opening hours not saved: ${err.message}.`);
      throw err;
    }
    await deps.openingHours.saveSchedule(schedule);
    deps.logger.info('opening hours saved', { enabled: schedule.enabled, holidays: schedule.holidays.length, by: res.locals.agent!.id });
    res.redirect(303, back);
  });

  /**
   * The manual switch: `closed=true` closes now (callers hear we are closed) until `closed=false` opens again.
   * @route POST /admin/opening-hours/closed
   */
  router.post('/admin/opening-hours/closed', ...protect, async (req, res) => {
    const { closed } = Switch.parse(req.body ?? {});
    if (closed === 'true') await deps.openingHours.closeNow(res.locals.agent!.id);
    else await deps.openingHours.openAgain();
    deps.logger.info(closed === 'true' ? 'closed by hand' : 'opened again by hand', { by: res.locals.agent!.id });
    res.redirect(303, back);
  });

  return router;
}
