// The agent page's voicemail tasks: list, take, finish, and play (audio fetched from Twilio by the server).
import express, { Router } from 'express';
import { z } from 'zod';
import { requireJsonBody, type Auth } from '../auth/middleware';
import type { VoicemailService } from '../services/voicemails';

export interface VoicemailApiDeps {
  auth: Auth;
  voicemails: VoicemailService;
}

const VoicemailId = z.string().regex(/^RE[0-9a-fA-F]{32}$/, 'Unknown voicemail.');

/** Routes under /api/me/voicemails (signed in; POSTs need the CSRF token). */
export function voicemailApiRouter(deps: VoicemailApiDeps): Router {
  const router = Router();
  const { requireAgent, csrfProtection } = deps.auth;
  const json = [requireJsonBody, express.json({ limit: '1kb' })];

  /**
   * The agent's voicemail tasks: new ones of the queues they serve, and the ones they took and have not finished.
   * @route GET /api/me/voicemails
   */
  router.get('/api/me/voicemails', ...requireAgent, async (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ voicemails: await deps.voicemails.tasksFor(res.locals.agent!.id) });
  });

  /**
   * Takes a voicemail: it is the agent's from now (409 when a colleague was first).
   * @route POST /api/me/voicemails/:id/take
   */
  router.post('/api/me/voicemails/:id/take', ...json, ...requireAgent, ...csrfProtection, async (req, res) => {
    const id = VoicemailId.parse(req.params.id);
    await deps.voicemails.take(id, res.locals.agent!.id);
    res.json({ id, state: 'taken' });
  });

  /**
   * Marks a voicemail done (taking it first if nobody had).
   * @route POST /api/me/voicemails/:id/done
   */
  router.post('/api/me/voicemails/:id/done', ...json, ...requireAgent, ...csrfProtection, async (req, res) => {
    const id = VoicemailId.parse(req.params.id);
    await deps.voicemails.done(id, res.locals.agent!.id);
    res.json({ id, state: 'done' });
  });

  /**
   * The message's audio (WAV), for the page's player.
   * @route GET /api/me/voicemails/:id/audio
   */
  router.get('/api/me/voicemails/:id/audio', ...requireAgent, async (req, res) => {
    const id = VoicemailId.parse(req.params.id);
    const audio = await deps.voicemails.audio(id, res.locals.agent!.id);
    res.set('Cache-Control', 'private, max-age=300').type(audio.type || 'audio/wav').send(audio.body);
  });

  return router;
}
