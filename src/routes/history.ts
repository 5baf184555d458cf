// The call history pages: a filtered, paged list of finished calls, one call's timeline, and the same list as CSV.
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { OUTCOMES, utcDay, type HistoryQuery, type HistoryRecord, type HistoryStore, type HistorySummary, type Outcome } from '../models/history';
import { historyEndReason, talkLessHold } from '../contact-center/history';

/** The signed-in person, as the guard leaves it on `res.locals.agent`. */
export interface SignedInAgent {
  id: string;
  name: string;
  role: 'agent' | 'supervisor' | 'admin';
}

export interface HistoryRouterDeps {
  /** The history, with agents' wrap-up codes merged in and a `code` filter when wrap-up codes are enabled. */
  history: { newest(query?: HistoryQuery & { code?: string }): Promise<HistorySummary[]>; find: HistoryStore['find'] };
  /** The wrap-up codes there are (the list's code filter offers them); absent: no code filter. */
  wrapUpCodes?: () => Promise<Array<{ id: string; name: string }>>;
  agents: { all(): Promise<Array<{ id: string; name: string }>> };
  /** Authenticates the request and puts the agent on res.locals.agent, or answers 401/403 itself. */
  guard: RequestHandler[];
}

export const PAGE_SIZE = 50;
/** The most rows one CSV export holds; narrow the dates for more. */
export const CSV_MAX_ROWS = 5000;

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const blankToUndefined = (value: unknown): unknown => (value === '' ? undefined : value);
const isRealDay = (value: string): boolean => {
  const time = Date.parse(`${value}T00:00:00.000Z`);
  return DAY.test(value) && !Number.isNaN(time) && utcDay(new Date(time)) === value;
};
const dayField = (label: string) =>
  z.preprocess(
    blankToUndefined,
    z
      .string({ error: `${label} must be one date (YYYY-MM-DD).` })
      .refine((v) => isRealDay(v), { error: `${label} must be a real date written YYYY-MM-DD.` })
      .optional(),
  );

/** The list's filters as they come in the query string (blank form fields mean "any"). */
const HistoryFilters = z
  .object({
    agent: z.preprocess(blankToUndefined, z.string({ error: 'Agent must be one agent id.' }).regex(/^[A-Za-z0-9._@-]{1,64}$/, { error: 'Agent must be an agent id (letters, digits, . _ @ -).' }).optional()),
    from: dayField('From'),
    to: dayField('To'),
    outcome: z.preprocess(blankToUndefined, z.enum(OUTCOMES, { error: `Outcome must be one of: ${OUTCOMES.join(', ')}.` }).optional()),
    code: z.preprocess(blankToUndefined, z.string({ error: 'Wrap-up must be one code.' }).regex(/^[a-z0-9-]{1,48}$/, { error: 'Wrap-up must be a wrap-up code.' }).optional()),
    beforeAt: z.preprocess(blankToUndefined, z.iso.datetime({ error: 'The paging position (beforeAt) must be an ISO date-time.' }).optional()),
    beforeId: z.preprocess(blankToUndefined, z.string({ error: 'The paging position (beforeId) must be one call id.' }).regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'The paging position (beforeId) is not a call id.' }).optional()),
  })
  .refine((f) => !(f.from && f.to && f.from > f.to), { error: 'From must not be after To.' })
  .refine((f) => (f.beforeAt === undefined) === (f.beforeId === undefined), { error: 'Paging needs both beforeAt and beforeId.' });
type HistoryFilters = z.infer<typeof HistoryFilters>;

const CallKey = z.object({
  day: z.string().refine(isRealDay, { error: 'The day in the address must be a real date written YYYY-MM-DD.' }),
  callSid: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'The call id in the address is not a call id.' }),
});

/** The history pages, each behind `guard`. Agents see the calls they were part of; supervisors and admins see all. */
export function historyRouter(deps: HistoryRouterDeps): Router {
  const router = Router();

  /**
   * Finished calls, newest first, filtered by agent, dates and outcome, 50 a page.
   * @route GET /history
   */
  router.get('/history', ...deps.guard, async (req, res) => {
    const me = signedIn(res);
    const [agents, wrapUpCodes] = await Promise.all([deps.agents.all(), deps.wrapUpCodes ? deps.wrapUpCodes() : undefined]);
    const parsed = parseFilters(req, me);
    if (!parsed.ok) return badRequest(req, res, parsed.status, parsed.message, { me, agents, wrapUpCodes, filters: rawFilters(req) });
    const rows = await deps.history.newest({ ...parsed.query, limit: PAGE_SIZE });
    const names = nameLookup(agents);
    const last = rows.at(-1);
    res.render('history', {
      title: 'Call history',
      me,
      agents,
      wrapUpCodes,
      filters: parsed.filters,
      rows: rows.map((row) => listRow(row, names)),
      paged: parsed.filters.beforeAt !== undefined,
      firstPageHref: `/history${queryString({ ...parsed.filters, beforeAt: undefined, beforeId: undefined })}`,
      olderHref: rows.length === PAGE_SIZE && last ? `/history${queryString({ ...parsed.filters, beforeAt: last.endedAt.toISOString(), beforeId: last._id })}` : undefined,
      outcomeLabels: OUTCOME_LABELS,
      csvHref: `/history.csv${queryString({ ...parsed.filters, beforeAt: undefined, beforeId: undefined })}`,
    });
  });

  /**
   * The list's filters as a CSV file (at most CSV_MAX_ROWS rows, newest first).
   * @route GET /history.csv
   */
  router.get('/history.csv', ...deps.guard, async (req, res) => {
    const me = signedIn(res);
    const agents = await deps.agents.all();
    const parsed = parseFilters(req, me);
    if (!parsed.ok) return badRequest(req, res, parsed.status, parsed.message, { me, agents, filters: rawFilters(req) });
    const rows = await deps.history.newest({ ...parsed.query, limit: CSV_MAX_ROWS });
    const names = nameLookup(agents);
    const stamp = utcDay(new Date());
    res.type('text/csv; charset=utf-8');
    res.attachment(`call-history-${stamp}.csv`);
    res.send(historyCsv(rows, names));
  });

  /**
   * One call: who waited, rang, talked, transferred, held and hung up, and for how long.
   * @route GET /history/:day/:callSid
   */
  router.get('/history/:day/:callSid', ...deps.guard, async (req, res) => {
    const me = signedIn(res);
    const agents = await deps.agents.all();
    const key = CallKey.safeParse(req.params);
    if (!key.success) return badRequest(req, res, 400, key.error.issues[0]?.message ?? 'Invalid call address.');
    const record = await deps.history.find(key.data.callSid, key.data.day);
    // An agent asking for a call they were not part of learns no more than for a call that does not exist.
    if (!record || !canSee(me, record)) {
      res.status(404);
      return res.render('error', { title: 'Call not found', status: 404, message: 'No finished call with this id ended on that day, or it is not one of yours.' });
    }
    res.render('history-call', { title: 'Call details', me, call: describeCall(record, nameLookup(agents)) });
  });

  return router;
}

function signedIn(res: Response): SignedInAgent {
  const agent = res.locals.agent as SignedInAgent | undefined;
  // The guard runs first on every route here; no agent means it was mounted wrongly, which is our bug, not the client's.
  if (!agent) throw new Error('historyRouter: the guard did not put an agent on res.locals.agent');
  return agent;
}

function canSee(me: SignedInAgent, call: HistorySummary): boolean {
  return me.role !== 'agent' || call.agentIds.includes(me.id) || call.offeredTo.includes(me.id);
}

type ParsedFilters = { ok: true; filters: HistoryFilters; query: HistoryQuery & { code?: string } } | { ok: false; status: 400 | 403; message: string };

function parseFilters(req: Request, me: SignedInAgent): ParsedFilters {
  const result = HistoryFilters.safeParse(req.query);
  if (!result.success) return { ok: false, status: 400, message: result.error.issues.map((issue) => issue.message).join(' ') };
  const filters = result.data;
  if (me.role === 'agent' && filters.agent !== undefined && filters.agent !== me.id) return { ok: false, status: 403, message: 'Agents can see only their own calls.' };
  const query: HistoryQuery & { code?: string } = {
    // An agent's list is always their own calls.
    agentId: me.role === 'agent' ? me.id : filters.agent,
    outcome: filters.outcome as Outcome | undefined,
    ...(filters.code ? { code: filters.code } : {}),
    since: filters.from ? new Date(`${filters.from}T00:00:00.000Z`) : undefined,
    until: filters.to ? new Date(Date.parse(`${filters.to}T00:00:00.000Z`) + 86_400_000) : undefined,
    before: filters.beforeAt && filters.beforeId ? { endedAt: new Date(filters.beforeAt), id: filters.beforeId } : undefined,
  };
  return { ok: true, filters, query };
}

/** The filters as typed, for re-showing the form next to the error (pug escapes them). */
function rawFilters(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ['agent', 'from', 'to', 'outcome', 'code']) {
    const value = req.query[key];
    if (typeof value === 'string') out[key] = value;
  }
  return out;
}

/**
 * A 4xx with its message: for people the history page with its form (or the error page when `page` is not given),
 * JSON for scripts that ask for it, plain text otherwise.
 */
function badRequest(req: Request, res: Response, status: number, message: string, page?: Record<string, unknown>): void {
  res.status(status);
  const wants = req.accepts(['html', 'json', 'text']);
  if (wants === 'json') res.json({ error: message, status });
  else if (wants === 'html' && page) res.render('history', { title: 'Call history', outcomeLabels: OUTCOME_LABELS, ...page, error: message, rows: [] });
  else if (wants === 'html') res.render('error', { title: 'Bad request', status, message });
  else res.type('text/plain').send(`${message}\n`);
}

function queryString(filters: Partial<Record<keyof HistoryFilters, string | undefined>>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value !== undefined && value !== '') params.set(key, value);
  const text = params.toString();
  return text ? `?${text}` : '';
}

type Names = (id: string) => string;

function nameLookup(agents: Array<{ id: string; name: string }>): Names {
  const byId = new Map(agents.map((agent) => [agent.id, agent.name]));
  return (id) => (id === 'queue' ? 'the waiting line' : (byId.get(id) ?? id));
}

/** "45 s", "3 min 05 s", "1 h 02 min". */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

const formatTime = (date: Date): string => `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;

export const OUTCOME_LABELS: Record<Outcome, string> = {
  answered: 'Answered',
  abandoned: 'Abandoned (caller left)',
  'timed-out': 'Timed out waiting',
  'no-agent': 'No agent available',
  failed: 'Failed',
  voicemail: 'Left a voicemail instead of waiting',
};

function listRow(row: HistorySummary, names: Names) {
  return {
    href: `/history/${utcDay(row.endedAt)}/${encodeURIComponent(row._id)}`,
    callSid: row._id,
    endedAt: formatTime(row.endedAt),
    endedAtIso: row.endedAt.toISOString(),
    from: row.from ?? '—',
    // A number the agent page can dial back (E.164 only: anything else is not a number Twilio would call).
    callBackHref: row.from && E164.test(row.from) ? `/?callOut=${encodeURIComponent(row.from)}` : undefined,
    outcome: row.outcome,
    outcomeLabel: OUTCOME_LABELS[row.outcome] ?? row.outcome,
    agents: row.agentIds.map(names).join(', ') || '—',
    wait: formatDuration(row.waitSeconds),
    talk: formatDuration(talkLessHold(row)),
    transfers: row.transfers.length,
    wrapUp: wrapUpText(row, names) || '—',
  };
}

/** The agents' wrap-up codes and notes in one line: "Refund issued (Ada Lovelace): gave 10 % off". */
function wrapUpText(row: HistorySummary, names: Names): string {
  const picks = row.wrapUps ?? [];
  const several = new Set(picks.map((p) => p.agentId)).size > 1;
  return picks.map((p) => `${p.codeName}${several ? ` (${names(p.agentId)})` : ''}${p.note ? `: ${p.note}` : ''}`).join('; ');
}

const KIND_LABELS: Record<string, string> = {
  waiting: 'Waiting with music',
  dialled: 'Outbound call placed',
  offered: 'Offered to',
  'brought-in': 'Rang colleague',
  ringing: 'Ringing',
  answered: 'Answered by',
  declined: 'Declined by',
  'no-answer': 'No answer from',
  busy: 'Declined by',
  failed: 'Could not ring',
  'dial-failed': 'Could not dial',
  canceled: 'Ringing stopped for',
  left: 'Left:',
  hold: 'On hold:',
  unhold: 'Off hold:',
  'customer-held': 'Customer put on hold',
  'customer-unheld': 'Customer taken off hold',
  'customer-left': 'Customer left',
  transfer: 'Transfer by',
  'conference-ended': 'Conference ended',
  overflow: 'Moved to another queue',
  callback: 'Callback asked for',
  ended: 'Call ended',
  'supervisor-joined': 'Supervisor joined:',
  'supervisor-mode': 'Supervisor switched:',
  'supervisor-left': 'Supervisor left:',
  'help-raised': 'Asked for help:',
  'help-lowered': 'Lowered the hand:',
  // Kinds in calls recorded by the previous version.
  queued: 'Waiting with music',
  joined: 'Joined:',
  'hung-up': 'Hung up',
};
/** How a ring ended, as the "Rang" list says it (a decline reaches Twilio as busy). */
const RING_RESULTS: Record<string, string> = { declined: 'declined', busy: 'declined', 'no-answer': 'no answer', failed: 'could not be reached', 'dial-failed': 'could not be dialled', canceled: 'ringing stopped' };

const REASON_LABELS: Record<string, string> = {
  participant_hung_up: 'hung up',
  conference_ended_via_api: 'the app ended the call',
  moderator_ended_conference: 'the last moderator left',
  participant_updated_via_api: 'moved by the app',
  participant_add_failed: 'could not be added',
  'agent-hung-up': 'every agent had left; the caller heard goodbye',
  'customer-hung-up': 'hung up',
  'customer-busy': 'the customer\'s line was busy',
  'customer-no-answer': 'the customer did not answer',
  'customer-failed': 'the customer could not be reached',
  'customer-canceled': 'the agent called it off before the customer answered',
  'customer-completed': 'the call ended before the customer answered',
  'callback-agent-left': 'the agent left while the customer\'s phone rang: the ring was stopped, and the callback went back in line under the same attempt',
  'max-wait': 'waited too long; the caller heard goodbye',
  'told-sorry': 'the app could not take the call (its database did not answer in time); the caller heard an apology',
  'conference-ended': 'the conference ended',
  'conference-ended-via-api': 'the app ended the conference',
  'last-participant-left': 'the last participant left',
  'last-participant-kicked': 'the last participant was removed',
  'participant-with-end-conference-on-exit-left': 'the customer left',
  'participant-with-end-conference-on-exit-kicked': 'the customer was removed',
};

const MODE_LABELS: Record<string, string> = { consult: 'consult', cold: 'cold transfer', 'three-way': 'three-way' };
const TRANSFER_OUTCOME_LABELS: Record<string, string> = {
  dialing: 'ringing when the call ended',
  consulting: 'consulting when the call ended',
  completed: 'completed',
  merged: 'merged into a three-way call',
  canceled: 'cancelled',
  declined: 'declined',
  'no-answer': 'not answered',
  failed: 'failed',
  joined: 'joined',
};

/**
 * A timeline entry's reason for people. The customer taken out of the conference by the app after every agent left
 * (or after the longest wait) was being told goodbye: that is what the entry says, not Twilio's "updated via API".
 */
function reasonLabel(kind: string, detail: string, endReason: string | undefined): string {
  if (kind === 'customer-left' && detail === 'participant_updated_via_api') {
    if (historyEndReason(endReason) === 'agent-hung-up') return 'heard goodbye after every agent had left';
    if (endReason === 'max-wait') return 'heard goodbye after waiting the longest allowed';
  }
  return REASON_LABELS[historyEndReason(detail)!] ?? detail;
}

function whoHungUp(hungUpBy: string | undefined, names: Names): string {
  if (!hungUpBy) return 'unknown';
  if (hungUpBy === 'customer') return 'the customer';
  if (hungUpBy === 'system') return 'the system';
  if (hungUpBy.startsWith('agent:')) return names(hungUpBy.slice('agent:'.length));
  return hungUpBy;
}

/**
 * "consult to Grace Hopper: completed" from a transfer's timeline entry. Records by earlier versions carried mode and
 * outcome as the text "mode: outcome" in `detail`; they are read as they are.
 */
function transferDetail(entry: { toAgentId?: string; mode?: string; outcome?: string; detail?: string }, names: Names): string {
  const [oldMode = '', oldOutcome = ''] = entry.mode ? [] : (entry.detail ?? '').split(': ');
  const mode = entry.mode ?? oldMode;
  const outcome = entry.outcome ?? oldOutcome;
  return `${MODE_LABELS[mode] ?? mode} to ${entry.toAgentId ? names(entry.toAgentId) : 'someone'}${outcome ? `: ${TRANSFER_OUTCOME_LABELS[outcome] ?? outcome}` : ''}`;
}

/**
 * Each offer of the call and how it ended, in order: the ring's own end (before the same agent's next offer), else
 * answered when they talked on the call (an agent offered twice may miss the first ring and answer the second). A call
 * recorded by an earlier version, whose timeline does not name every offer, gets one result per offer's agent: answered
 * if they talked, else their last ring's end.
 */
function ringsOf(record: HistoryRecord): Array<{ agentId: string; result: string }> {
  const offers = record.timeline.filter((entry) => entry.kind === 'offered' && entry.agentId);
  const ringEnds = (agentId: string) => record.timeline.filter((entry) => entry.agentId === agentId && Object.hasOwn(RING_RESULTS, entry.kind));
  if (offers.length !== record.offeredTo.length) {
    return record.offeredTo.map((agentId) => {
      const last = ringEnds(agentId).pop();
      return { agentId, result: record.agentIds.includes(agentId) ? 'answered' : last ? RING_RESULTS[last.kind]! : 'no answer' };
    });
  }
  return offers.map((offer) => {
    const agentId = offer.agentId!;
    const next = offers.find((o) => o.agentId === agentId && o.at > offer.at)?.at ?? new Date(8.64e15);
    const ended = ringEnds(agentId).find((entry) => entry.at >= offer.at && entry.at < next);
    return { agentId, result: ended ? RING_RESULTS[ended.kind]! : record.agentIds.includes(agentId) ? 'answered' : 'no answer' };
  });
}

/** Everything the detail page shows, worked out here so the template only prints. */
export function describeCall(record: HistoryRecord, names: Names) {
  const offset = (at: Date): string => `+${formatDuration((at.getTime() - record.startedAt.getTime()) / 1000)}`;
  const rang = ringsOf(record).map(({ agentId, result }) => ({ agent: names(agentId), result }));
  return {
    callSid: record._id,
    from: record.from ?? 'unknown',
    outcome: record.outcome,
    outcomeLabel: OUTCOME_LABELS[record.outcome] ?? record.outcome,
    startedAt: formatTime(record.startedAt),
    endedAt: formatTime(record.endedAt),
    waited: formatDuration(record.waitSeconds),
    talked: formatDuration(talkLessHold(record)),
    held: record.holdSeconds ? formatDuration(record.holdSeconds) : undefined,
    total: formatDuration((record.endedAt.getTime() - record.startedAt.getTime()) / 1000),
    rang,
    talkedWith: record.agentIds.map(names),
    transfers: record.transfers.map((t) => ({ from: names(t.from), to: names(t.to), mode: MODE_LABELS[t.mode] ?? t.mode, outcome: TRANSFER_OUTCOME_LABELS[t.outcome] ?? t.outcome, at: offset(t.at) })),
    hungUpBy: whoHungUp(record.hungUpBy, names),
    direction: record.callback ? `Callback to ${record.callback.number} (attempt ${record.callback.attempt})` : record.direction === 'outbound' ? 'Outbound (an agent called the customer)' : 'Inbound',
    queue: record.queue ? (record.overflowedFrom ? `${record.queue} (overflow from ${record.overflowedFromName ?? record.overflowedFrom})` : record.queue) : undefined,
    wrapUps: (record.wrapUps ?? []).map((p) => ({ agent: names(p.agentId), code: p.codeName, note: p.note })),
    endReason: record.endReason ? (REASON_LABELS[historyEndReason(record.endReason)!] ?? record.endReason) : undefined,
    timeline: [...record.timeline]
      .sort((a, b) => a.at.getTime() - b.at.getTime())
      .map((entry) => ({
        time: formatTime(entry.at),
        offset: offset(entry.at),
        kind: entry.kind,
        label: KIND_LABELS[entry.kind] ?? entry.kind,
        agent: entry.agentId ? names(entry.agentId) : undefined,
        detail: entry.kind === 'transfer' ? transferDetail(entry, names) : entry.byAgentId ? `for ${names(entry.byAgentId)}` : entry.detail ? reasonLabel(entry.kind, entry.detail, record.endReason) : undefined,
      })),
  };
}

/** An E.164 phone number: a plus and digits only, which no spreadsheet can run as a formula. */
const E164 = /^\+[1-9]\d{1,14}$/;

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, quote, CR/LF or edge spaces; text starting with = + - @ tab or CR
 * is prefixed with ' so spreadsheets show it instead of running it as a formula (OWASP CSV injection). An E.164 number
 * (+ and digits, nothing a formula could call) is written as it is, so callers' numbers stay usable.
 */
export function csvCell(value: string | number | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  let text = value;
  if (/^[=+\-@\t\r]/.test(text) && !E164.test(text)) text = `'${text}`;
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export const CSV_COLUMNS = ['call_sid', 'started_at', 'ended_at', 'caller', 'outcome', 'agents', 'offered_to', 'wait_seconds', 'talk_seconds', 'transfers', 'hung_up_by', 'end_reason', 'direction', 'wrap_up', 'wrap_up_note', 'queue', 'callback', 'hold_seconds'] as const;

/** The rows as a CSV document with a header line, CRLF line ends. */
export function historyCsv(rows: HistorySummary[], names: Names): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const row of rows) {
    lines.push(
      [
        row._id,
        row.startedAt.toISOString(),
        row.endedAt.toISOString(),
        row.from,
        row.outcome,
        row.agentIds.map(names).join('; '),
        row.offeredTo.map(names).join('; '),
        row.waitSeconds,
        talkLessHold(row),
        row.transfers.map((t) => `${names(t.from)} > ${names(t.to)} (${t.mode}, ${t.outcome})`).join('; '),
        row.hungUpBy,
        historyEndReason(row.endReason),
        row.direction ?? 'inbound',
        (row.wrapUps ?? []).map((p) => p.codeName).join('; ') || undefined,
        (row.wrapUps ?? []).filter((p) => p.note).map((p) => p.note).join('; ') || undefined,
        row.queue ? (row.overflowedFrom ? `${row.queue} (overflow from ${row.overflowedFromName ?? row.overflowedFrom})` : row.queue) : undefined,
        row.callback ? `${row.callback.number} (attempt ${row.callback.attempt})` : undefined,
        row.holdSeconds ?? 0,
      ]
        .map(csvCell)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
