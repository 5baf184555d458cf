// Wrap-up codes on /admin: admins add codes, rename them, turn them off and on, and choose whether agents must pick
// one before their next call. A section of the admin page (views/admin-wrap-up.pug, included by admin.pug) whose data
// this router puts on res.locals before the admin page renders; its forms post here and come back to the page.
import express, { Router } from 'express';
import { z } from 'zod';
import { refuseUnfit } from '../contact-center/plain-text';
import type { Auth } from '../auth/middleware';
import { errorMessage } from '../errors';
import type { Logger } from '../logger';
import type { WrapUpService } from '../services/wrap-up';

export interface WrapUpAdminDeps {
  auth: Auth;
  wrapUp: WrapUpService;
  logger: Logger;
}

const Name = z
  .string()
  .trim()
  .min(1, 'A wrap-up code needs a name.')
  .max(80, 'A wrap-up code name is at most 80 characters.')
  .superRefine(refuseUnfit('A wrap-up code name'));
const AddCode = z.object({ name: Name, _csrf: z.string().optional() });
const ChangeCode = z.object({ name: Name.optional(), active: z.enum(['true', 'false']).optional(), _csrf: z.string().optional() });
const Settings = z.object({ required: z.enum(['true', 'false']).optional(), _csrf: z.string().optional() });
const CodeId = z.string().regex(/^[a-z0-9-]{1,48}$/, 'Unknown wrap-up code.');

/** What the section says after each form (`?wrapped=…&code=…`), in fixed words around the code's stored name. */
const WRAPPED = {
  added: (name: string) => `Added the code ${name}.`,
  renamed: (name: string) => `Saved the code ${name}.`,
  off: (name: string) => `Turned off the code ${name}: agents no longer see it.`,
  on: (name: string) => `Turned on the code ${name}.`,
  required: () => 'Agents must now pick a code before their next call.',
  optional: () => 'Agents may now take their next call without picking a code.',
};

/**
 * The sentence for `?wrapped=…&code=…`, or undefined. A link from elsewhere cannot make the page say what is not so:
 * the code must exist (on or off as said), the setting must be as said, and the name shown is the stored one.
 */
function wrappedNotice(query: Record<string, unknown>, wrapUp: { codes: readonly { id: string; name: string; active: boolean }[]; settings: { required: boolean } }): string | undefined {
  const what = query.wrapped;
  if (typeof what !== 'string' || !Object.hasOwn(WRAPPED, what)) return undefined;
  if (what === 'required' || what === 'optional') return wrapUp.settings.required === (what === 'required') ? WRAPPED[what]() : undefined;
  const code = wrapUp.codes.find((c) => c.id === query.code);
  if (!code || (what !== 'renamed' && code.active !== (what !== 'off'))) return undefined;
  return WRAPPED[what as 'added' | 'renamed' | 'off' | 'on'](code.name);
}

/** GET /admin's wrap-up section data, and POST /admin/wrap-up-codes… and /admin/wrap-up-settings. Mount before adminRouter. */
export function wrapUpAdminRouter(deps: WrapUpAdminDeps): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '4kb' });
  const protect = [form, ...deps.auth.requireRole('admin'), ...deps.auth.csrfProtection];
  /** Back to the section, which says what was done. */
  const back = (what: keyof typeof WRAPPED, code?: string): string => `/admin?wrapped=${what}${code ? `&code=${encodeURIComponent(code)}` : ''}#wrap-up`;

  /** Puts the codes and the setting on res.locals.wrapUp for the admin page, whichever /admin request renders it (admins only). */
  router.use('/admin', async (req, res, next) => {
    // Read before the admin router checks who asks: a database that fails here leaves the section out instead of
    // turning someone's sign-in redirect into an error (the admin router answers for the database itself).
    const wrapUp = await deps.wrapUp.load().catch((err: unknown) => {
      deps.logger.warn('could not read the wrap-up codes for /admin', { error: errorMessage(err) });
      return undefined;
    });
    res.locals.wrapUp = wrapUp && { ...wrapUp, notice: wrappedNotice(req.query, wrapUp) };
    next();
  });

  /**
   * Adds a code (active).
   * @route POST /admin/wrap-up-codes
   */
  router.post('/admin/wrap-up-codes', ...protect, async (req, res) => {
    const { name } = AddCode.parse(req.body ?? {});
    const code = await deps.wrapUp.addCode(name);
    deps.logger.info('wrap-up code added', { code: code.id, by: res.locals.agent!.id });
    res.redirect(303, back('added', code.id));
  });

  /**
   * Renames a code, or turns it off (agents no longer see it) or on again.
   * @route POST /admin/wrap-up-codes/:codeId
   */
  router.post('/admin/wrap-up-codes/:codeId', ...protect, async (req, res) => {
    const id = CodeId.parse(req.params.codeId);
    const input = ChangeCode.parse(req.body ?? {});
    await deps.wrapUp.changeCode(id, { ...(input.name ? { name: input.name } : {}), ...(input.active ? { active: input.active === 'true' } : {}) });
    deps.logger.info('wrap-up code changed', { code: id, by: res.locals.agent!.id });
    res.redirect(303, back(input.active ? (input.active === 'true' ? 'on' : 'off') : 'renamed', id));
  });

  /**
   * Whether agents must pick a code before their next call (an unchecked box sends nothing: not required).
   * @route POST /admin/wrap-up-settings
   */
  router.post('/admin/wrap-up-settings', ...protect, async (req, res) => {
    const input = Settings.parse(req.body ?? {});
    await deps.wrapUp.setRequired(input.required === 'true');
    deps.logger.info('wrap-up setting changed', { required: input.required === 'true', by: res.locals.agent!.id });
    res.redirect(303, back(input.required === 'true' ? 'required' : 'optional'));
  });

  return router;
}
