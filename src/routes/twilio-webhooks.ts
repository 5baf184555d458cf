// Twilio's webhooks: the support number's voice URL, the hold line, agents' legs and status callbacks. Every one is signed.
import express, { Router, type ErrorRequestHandler, type Response } from 'express';
import { z } from 'zod';
import { HttpError, StoreUnavailableError } from '../errors';
import type { Logger } from '../logger';
import type { AgentDirectory } from '../services/agents';
import type { CallService } from '../services/calls';
import type { WebhookUrls } from '../services/webhook-urls';
import { requireTwilioSignature } from '../twilio/signature';
import { apologyTwiml, conferenceTwiml, emptyTwiml, GREETING, waitTwiml } from '../twilio/twiml';

export interface TwilioWebhookDeps {
  calls: CallService;
  agents: AgentDirectory;
  urls: WebhookUrls;
  logger: Logger;
  authToken: string;
  publicBaseUrl: string;
  holdMusicUrl: string;
}

const CallSid = z.string().regex(/^CA[0-9a-fA-F]{32}$/, 'must be a Twilio CallSid');
const IncomingCall = z.object({ CallSid, From: z.string().max(256).optional() });
const AgentLeg = z.object({ CallSid: CallSid.optional() });
const AgentCallStatus = z.object({ CallSid, CallStatus: z.string().min(1).max(32) });
const ConferenceEvent = z.object({
  FriendlyName: z.string().min(1).max(128),
  ConferenceSid: z.string().max(64).optional(),
  StatusCallbackEvent: z.string().min(1).max(64),
  CallSid: z.string().max(64).optional(),
});

const SORRY = 'We are sorry, something went wrong connecting your call. Please try again later. Goodbye.';
const AGENT_SORRY = 'Sorry, this customer call is no longer available. Goodbye.';

function sendTwiml(res: Response, xml: string): void {
  res.status(200).type('text/xml').send(xml);
}

/** Marks a route whose answer Twilio plays to someone: errors become spoken apologies. */
function spoken(message: string): express.RequestHandler {
  return (_req, res, next) => {
    res.locals.apology = message;
    next();
  };
}

/** The router for every Twilio-facing path, mounted at /conference. */
export function twilioWebhookRouter(deps: TwilioWebhookDeps): Router {
  const router = Router();
  router.use(express.urlencoded({ extended: false, limit: '64kb' }));
  router.use(requireTwilioSignature({ authToken: deps.authToken, publicBaseUrl: deps.publicBaseUrl }));

  /**
   * The support number's voice webhook: the caller waits in a conference named after their CallSid.
   * @route POST /conference/connect/client
   */
  router.post('/connect/client', spoken(SORRY), async (req, res) => {
    const input = IncomingCall.parse(req.body);
    await deps.calls.receiveCustomerCall({ callSid: input.CallSid, from: input.From });
    sendTwiml(
      res,
      conferenceTwiml({
        name: input.CallSid,
        startConferenceOnEnter: false,
        endConferenceOnExit: true,
        waitUrl: deps.urls.wait(),
        statusCallback: deps.urls.conferenceEvents(),
      }),
    );
  });

  /**
   * What the caller hears while waiting: a greeting, then hold music.
   * @route POST /conference/wait
   */
  router.post('/wait', spoken(SORRY), (_req, res) => {
    sendTwiml(res, waitTwiml({ greeting: GREETING, musicUrl: deps.holdMusicUrl }));
  });

  /**
   * Twilio's conference status callback.
   * @route POST /conference/events
   */
  router.post('/events', async (req, res) => {
    const input = ConferenceEvent.parse(req.body);
    await deps.calls.recordConferenceEvent({
      conferenceName: input.FriendlyName,
      conferenceSid: input.ConferenceSid,
      event: input.StatusCallbackEvent,
      callSid: input.CallSid,
    });
    sendTwiml(res, emptyTwiml());
  });

  /**
   * An agent answered: their leg joins the customer's conference.
   * @route POST /conference/:conferenceId/connect/:agentId
   */
  router.post('/:conferenceId/connect/:agentId', spoken(AGENT_SORRY), async (req, res) => {
    const conferenceId = CallSid.safeParse(req.params.conferenceId);
    const agent = await deps.agents.find(String(req.params.agentId));
    if (!conferenceId.success || !agent) throw new HttpError(404, 'Unknown conference or agent.');
    const input = AgentLeg.parse(req.body);
    const { role } = await deps.calls.connectAgent({ conferenceId: conferenceId.data, agentId: agent.id, legCallSid: input.CallSid });
    sendTwiml(
      res,
      conferenceTwiml({
        name: conferenceId.data,
        startConferenceOnEnter: true,
        // The first agent may hang up and leave the customer with the colleague they brought in.
        endConferenceOnExit: role !== 'first',
        statusCallback: deps.urls.conferenceEvents(),
      }),
    );
  });

  /**
   * Status callback of an agent's call: ringing, answered, no-answer, busy, completed.
   * @route POST /conference/:conferenceId/agents/:agentId/status
   */
  router.post('/:conferenceId/agents/:agentId/status', async (req, res) => {
    const input = AgentCallStatus.parse(req.body);
    const agent = await deps.agents.find(String(req.params.agentId));
    if (!agent) throw new HttpError(404, 'Unknown agent.');
    await deps.calls.recordAgentCallStatus({
      conferenceId: String(req.params.conferenceId),
      agentId: agent.id,
      legCallSid: input.CallSid,
      callStatus: input.CallStatus,
    });
    sendTwiml(res, emptyTwiml());
  });

  router.use(twilioErrorHandler(deps.logger));
  return router;
}

/**
 * Errors on Twilio's channel. A bad signature is refused (400/403). Where a person is listening, they hear an
 * apology (200 TwiML) instead of Twilio's "application error"; status callbacks get the status and a short reason.
 */
function twilioErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    // (A URIError: a malformed percent-escape in the path, which the router could not decode. A body the body parser
    // refused — bad charset or encoding, too large — carries its own 4xx.)
    const status =
      err instanceof HttpError ? err.status
      : err instanceof z.ZodError || err instanceof URIError ? 400
      : err instanceof StoreUnavailableError ? 503
      : clientErrorStatus(err) ?? 500;
    const message = err instanceof z.ZodError ? `Invalid request: ${err.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}` : err instanceof Error ? err.message : String(err);
    const signatureProblem = err instanceof HttpError && (err.status === 400 || err.status === 403) && /Signature/.test(err.message);
    if (signatureProblem) {
      logger.warn('rejected unsigned webhook', { path: req.path, status });
      res.status(status).type('text/plain').send(message);
      return;
    }
    if (status >= 500) logger.error('webhook failed', { path: req.path, error: message });
    else logger.warn('webhook refused', { path: req.path, status, error: message });
    const apology = res.locals.apology as string | undefined;
    if (apology) return sendTwiml(res, apologyTwiml(apology));
    res.status(status >= 500 ? 503 : status).type('text/plain').send(message);
  };
}

/** The 4xx status of an error the body parser raised about the request (http-errors with `expose`), if it is one. */
function clientErrorStatus(err: unknown): number | undefined {
  const e = err as { status?: unknown; expose?: unknown } | undefined;
  return typeof e?.status === 'number' && e.status >= 400 && e.status < 500 && e.expose === true ? e.status : undefined;
}
