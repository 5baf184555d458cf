// The voicemails beside the call history: a page and a CSV of every message callers left (who, when, how long, which
// queue, why, who took it, when it was done). Agents see those of their queues and those they took.
import { Router } from 'express';
import type { RequestHandler } from 'express';
import type { VoicemailService } from '../services/voicemails';
import { csvCell } from './history';

export interface VoicemailHistoryDeps {
  voicemails: Pick<VoicemailService, 'history'>;
  guard: RequestHandler[];
}

const REASONS: Record<string, string> = { closed: 'We were closed', 'long-line': 'The line was long', waiting: 'Left while waiting' };
/** A voicemail's transcription in words: the text, `(transcription failed)`, or nothing when none was made. */
export function transcriptionText(t: { status: string; text?: string } | undefined): string | undefined {
  if (!t) return undefined;
  return t.status === 'completed' && t.text ? t.text : '(transcription failed)';
}

export const VOICEMAIL_CSV_COLUMNS = ['recording_sid', 'call_sid', 'left_at', 'caller', 'seconds', 'queue', 'reason', 'state', 'taken_by', 'done_at', 'transcription'] as const;

/** GET /history/voicemails and /history/voicemails.csv (signed in). Mount before the history router. */
export function voicemailHistoryRouter(deps: VoicemailHistoryDeps): Router {
  const router = Router();

  /**
   * The voicemails, newest first.
   * @route GET /history/voicemails
   */
  router.get('/history/voicemails', ...deps.guard, async (_req, res) => {
    const rows = await deps.voicemails.history(res.locals.agent!);
    res.render('history-voicemails', { title: 'Voicemails', rows: rows.map((r) => ({ ...r, reasonLabel: REASONS[r.reason] ?? r.reason, transcriptionLabel: transcriptionText(r.transcription) })) });
  });

  /**
   * The same as CSV.
   * @route GET /history/voicemails.csv
   */
  router.get('/history/voicemails.csv', ...deps.guard, async (_req, res) => {
    const rows = await deps.voicemails.history(res.locals.agent!);
    const lines = [VOICEMAIL_CSV_COLUMNS.join(','), ...rows.map((r) => [r.id, r.callSid, r.at, r.from, r.durationSeconds, r.queue, r.reason, r.state, r.takenBy, r.doneAt, transcriptionText(r.transcription)].map(csvCell).join(','))];
    res.type('text/csv; charset=utf-8');
    res.attachment(`voicemails-${new Date().toISOString().slice(0, 10)}.csv`);
    res.send(`${lines.join('\r\n')}\r\n`);
  });

  return router;
}
