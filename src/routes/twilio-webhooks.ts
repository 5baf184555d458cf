// Twilio's webhooks: the support number's voice URL, the hold line, agents' legs and status callbacks. Every one is signed.
import express, { Router, type ErrorRequestHandler, type Response } from 'express';
import { z } from 'zod';
import { agentLabel, CUSTOMER_LABEL } from '../contact-center/participants';
import { errorMessage, HttpError, httpStatusOf, SignatureError } from '../errors';
import type { Logger } from '../logger';
import type { AgentDirectory } from '../services/agents';
import { supervisorOfLabel } from '../contact-center/supervision';
import type { CallService } from '../services/calls';
import type { Supervision } from '../services/supervision';
import type { OpeningHoursService } from '../services/opening-hours';
import type { QueueService } from '../services/queues';
import type { VoicemailService } from '../services/voicemails';
import { estimatedWaitSentence } from '../contact-center/wait-estimate';
import { defaultQueue, hasMenu, menuPrompt, queueOfKey, type Queue, type QueueSetup } from '../contact-center/queues';
import type { WebhookUrls } from '../services/webhook-urls';
import { requireTwilioSignature } from '../twilio/signature';
import { ENDED_CALL_STATUSES } from '../twilio/voice';
import { apologyTwiml, callbackConfirmTwiml, callbackNumberTwiml, callbackOfferTwiml, closedTwiml, conferenceTwiml, emptyTwiml, GREETING, hangUpTwiml, GREETING_AFTER_MENU, menuTwiml, voicemailTwiml, waitTwiml } from '../twilio/twiml';

export interface TwilioWebhookDeps {
  calls: CallService;
  agents: AgentDirectory;
  urls: WebhookUrls;
  logger: Logger;
  authToken: string;
  publicBaseUrl: string;
  holdMusicUrl: string;
  /** Supervisors' legs (optional: without it their callbacks answer 404 and their conference events are ignored). */
  supervision?: Supervision;
  /** Absent: always open. */
  openingHours?: Pick<OpeningHoursService, 'closedGreeting'>;
  /** Absent: no queues, no menu (one line). */
  queues?: Pick<QueueService, 'load'>;
  /** Seconds the menu waits for a key. */
  menuTimeoutSeconds?: number;
  /** Absent: a caller who finds us closed hears goodbye (no voicemail). */
  voicemails?: Pick<VoicemailService, 'record' | 'transcribed'>;
  /** Ask Twilio to transcribe the messages (VOICEMAIL_TRANSCRIBE). */
  voicemailTranscribe?: boolean;
  voicemailMaxSeconds?: number;
  /** The estimated wait of a caller at `position` in `queueId` (seconds; undefined: not meaningful). Absent: never said. */
  estimateWait?: (queueId: string | undefined, position: number) => Promise<number | undefined>;
  /** With this many callers waiting in their queue, a new one is offered a message instead (0 or absent: never). */
  voicemailLineLength?: number;
}

const CallSid = z.string().regex(/^CA[0-9a-fA-F]{32}$/, 'must be a Twilio CallSid');
const IncomingCall = z.object({ CallSid, From: z.string().max(256).optional() });
const MenuChoice = z.object({ CallSid, From: z.string().max(256).optional(), Digits: z.string().regex(/^[0-9*#]{1,32}$/).optional() });
const RecordingSid = z.string().regex(/^RE[0-9a-fA-F]{32}$/, 'must be a Twilio RecordingSid');
const RecordingUrl = z.string().max(1000).regex(/^https?:\/\//, 'must be an http(s) URL');
const VoicemailQuery = z.object({ queue: z.string().regex(/^[a-z0-9-]{1,40}$/).optional(), from: z.string().max(64).optional(), reason: z.enum(['closed', 'long-line', 'waiting']).default('closed') });
const LongLineChoice = z.object({ CallSid, From: z.string().max(256).optional(), Digits: z.string().regex(/^[0-9*#]{1,32}$/).optional() });
/** When the caller called (ms since the epoch), carried through the menu and the long line's offer (see placeFrom). */
const Since = z.coerce.number().int().positive().optional();
const LongLineQuery = z.object({ queue: z.string().regex(/^[a-z0-9-]{1,40}$/).optional(), since: Since });
const LONG_LINE_OFFER = 'All of our agents are busy, and the line is long. To leave a message and be called back, press 1. To keep waiting, stay on the line.';
const RecordingDone = z.object({ CallSid, From: z.string().max(256).optional(), RecordingSid, RecordingUrl, RecordingDuration: z.coerce.number().int().min(0).max(86400), Digits: z.string().max(32).optional() });
const RecordingStatus = z.object({ CallSid, RecordingSid, RecordingUrl, RecordingStatus: z.string().max(32), RecordingDuration: z.coerce.number().int().min(0).max(86400).optional() });
// https://www.twilio.com/docs/voice/twiml/record#transcribecallback : TranscriptionText, TranscriptionStatus, RecordingSid…
const TranscriptionDone = z.object({ RecordingSid, TranscriptionStatus: z.string().max(32), TranscriptionText: z.string().max(20000).optional(), TranscriptionSid: z.string().max(64).optional() });
const VOICEMAIL_THANKS = 'Thank you. Your message was recorded, and we will call you back. Goodbye.';
const CallQuery = z.object({ call: CallSid });
const KeyPressed = z.object({ CallSid, From: z.string().max(256).optional(), To: z.string().max(256).optional(), Digits: z.string().regex(/^[0-9*#]{1,32}$/).optional() });
const LegStatus = z.object({ CallSid, CallStatus: z.string().min(1).max(32) });
const CALLBACK_KEPT = 'Thank you. We will call you back when it is your turn, and you keep your place in line. Goodbye.';
const CALLBACK_SORRY = 'Sorry, we called you back, but the agent is no longer on the line. Goodbye.';
const ConfirmQuery = z.object({ call: CallSid, round: z.coerce.number().int().min(1).max(10).default(1) });
/** A typed number is read back this many times at most while the caller presses nothing (or a key that is no choice). */
const CONFIRM_ROUNDS = 2;
const MenuQuery = z.object({ attempt: z.coerce.number().int().min(0).max(10).default(0), since: Since });
/** The caller's own number, when it is one the app can call back (E.164, 7 to 15 digits); a withheld or odd From is not. */
function callableFrom(from: string | undefined): string | undefined {
  return from && /^\+[1-9]\d{6,14}$/.test(from) ? from : undefined;
}

/** How long before joining the line a caller's first call may be (the menu and the long line's offer take seconds). */
const PLACE_FROM_MAX_MS = 15 * 60_000;

/**
 * A caller's place in line from when they called (`since`, carried through the menu and the long line's offer), so
 * that listening to a menu does not put them behind those who called after them. A time that is not a plausible
 * recent past (a URL kept and sent much later) is ignored: the place is then when they join.
 */
function placeFrom(since: number | undefined, now = Date.now()): Date | undefined {
  return since !== undefined && since <= now && now - since <= PLACE_FROM_MAX_MS ? new Date(since) : undefined;
}

/** Keys that are no choice are answered with the menu again this many times; then the default queue. */
const MENU_ATTEMPTS = 2;
const WaitQuery = z.object({ call: CallSid, round: z.coerce.number().int().min(0).max(100000).default(0) });
const AgentLeg = z.object({ CallSid: CallSid.optional() });
const AgentCallStatus = z.object({ CallSid, CallStatus: z.string().min(1).max(32) });
const OutboundAnswer = z.object({ CallSid });
const ConferenceEvent = z.object({
  FriendlyName: z.string().min(1).max(128),
  ConferenceSid: z.string().max(64).optional(),
  StatusCallbackEvent: z.string().min(1).max(64),
  CallSid: z.string().max(64).optional(),
  ParticipantLabel: z.string().max(128).optional(),
  // participant-leave: why, and the participant's call status (https://www.twilio.com/changelog/participantcallstatus-and-reasonparticipantleft-attributes-added)
  ReasonParticipantLeft: z.string().max(64).optional(),
  ParticipantCallStatus: z.string().max(32).optional(),
  // conference-end: why (https://www.twilio.com/docs/voice/api/conference-resource#conference-status-callback)
  ReasonConferenceEnded: z.string().max(64).optional(),
  // conference-end: the participant whose leaving ended it, when one did (its label when it had one).
  ParticipantLabelEndingConference: z.string().max(128).optional(),
});

/** What a waiting caller hears about their place in line. */
export function placeInLine(position: number): string {
  return position === 1 ? 'You are next in line.' : `You are number ${position} in line.`;
}

const GREETING_SHORT = 'Thank you for calling.';
const SORRY = 'We are sorry, something went wrong connecting your call. Please try again later. Goodbye.';
const AGENT_SORRY = 'Sorry, this customer call is no longer available. Goodbye.';
const OUTBOUND_SORRY = 'Sorry, we called you, but the agent is no longer on the line. We will call again. Goodbye.';

/** How long the incoming call waits for the settings (hours, queues) before going on without them. */
const SETTINGS_WAIT_MS = 1000;

/** `promise`'s value, or undefined when it fails or takes longer than SETTINGS_WAIT_MS (`onFailure` is told why). */
function soon<T>(promise: Promise<T> | undefined, onFailure: (err: unknown) => void): Promise<T | undefined> {
  if (!promise) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      onFailure(new Error(`no answer within ${SETTINGS_WAIT_MS} ms`));
      resolve(undefined);
    }, SETTINGS_WAIT_MS);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        onFailure(err);
        resolve(undefined);
      },
    );
  });
}

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
  // Twilio posts form-encoded parameters: any other body (JSON, text, ...) is refused before it is read.
  router.use((req, _res, next) => {
    // req.is() is null without a body, false for a body of another type.
    if (req.is('application/x-www-form-urlencoded') === false) return next(new HttpError(415, 'Twilio webhooks take application/x-www-form-urlencoded bodies only.'));
    next();
  });
  router.use(express.urlencoded({ extended: false, limit: '64kb' }));
  router.use(requireTwilioSignature({ authToken: deps.authToken, publicBaseUrl: deps.publicBaseUrl }));

  const menuTimeout = deps.menuTimeoutSeconds ?? 5;
  /** The <Record> asks for a transcription when VOICEMAIL_TRANSCRIBE is on. */
  const transcribe = (): { transcribeCallback?: string } => (deps.voicemailTranscribe ? { transcribeCallback: deps.urls.voicemailTranscription() } : {});

  /**
   * The caller joins the line (of `queue`, if any): stored as waiting, in a conference named after their CallSid. When
   * the line is at VOICEMAIL_LINE_LENGTH, they are first offered to leave a message (`offerMessage`).
   */
  async function joinLine(res: Response, input: { CallSid: string; From?: string }, queue: Queue | undefined, offerMessage = true, since?: number): Promise<void> {
    const longAt = deps.voicemailLineLength ?? 0;
    if (offerMessage && deps.voicemails && longAt > 0 && (await deps.calls.lineLength(queue?.id)) >= longAt) {
      deps.logger.info('long line: offering a message', { callSid: input.CallSid, queue: queue?.id });
      return sendTwiml(res, menuTwiml({ prompt: LONG_LINE_OFFER, action: deps.urls.longLine(queue?.id, since ?? Date.now()), timeoutSeconds: menuTimeout }));
    }
    const placeSince = placeFrom(since);
    const received = await deps.calls.receiveCustomerCall({ callSid: input.CallSid, from: input.From, ...(queue ? { queue: { id: queue.id, name: queue.name } } : {}), ...(placeSince ? { placeSince } : {}) });
    // A call that has finished is not joined to a conference again (its webhook was replayed): it is ended.
    if (received.finished) return sendTwiml(res, hangUpTwiml());
    sendTwiml(
      res,
      conferenceTwiml({
        name: input.CallSid,
        participantLabel: CUSTOMER_LABEL,
        startConferenceOnEnter: false,
        endConferenceOnExit: true,
        waitUrl: deps.urls.wait(input.CallSid, 0),
        statusCallback: deps.urls.conferenceEvents(),
      }),
    );
  }

  /**
   * The support number's voice webhook: the caller waits in a conference named after their CallSid.
   * @route POST /conference/connect/client
   */
  router.post('/connect/client', spoken(SORRY), async (req, res) => {
    const input = IncomingCall.parse(req.body);
    // Closed (outside the opening hours, a holiday, closed by hand): the caller hears why and when we open, and is
    // not put in line. Hours that cannot be read (database away) do not close us: the call goes on as usual.
    // Both settings are read at once, and a slow database does not hold the caller's TwiML for more than a moment.
    const [closed, setup] = await Promise.all([
      soon(deps.openingHours?.closedGreeting({ staleOk: true }), (err) => deps.logger.warn('could not read the opening hours; taking the call', { error: errorMessage(err) })),
      soon(deps.queues?.load({ staleOk: true }), (err) => deps.logger.warn('could not read the queues; one line', { error: errorMessage(err) })),
    ]);
    if (closed) {
      deps.logger.info('caller told we are closed', { callSid: input.CallSid });
      if (!deps.voicemails) return sendTwiml(res, closedTwiml(closed));
      // The message goes to the queue a caller who presses nothing would reach.
      const queue = setup ? defaultQueue(setup.queues) : undefined;
      const about = { ...(queue ? { queueId: queue.id } : {}), ...(input.From ? { from: input.From } : {}) };
      return sendTwiml(res, voicemailTwiml({ message: closed, action: deps.urls.voicemailSaved(about), statusCallback: deps.urls.voicemailStatus(about), maxLength: deps.voicemailMaxSeconds ?? 120, ...transcribe() }));
    }
    if (setup && hasMenu(setup.queues)) return sendTwiml(res, menuTwiml({ intro: GREETING_SHORT, prompt: menuPrompt(setup.queues), action: deps.urls.menu(0, Date.now()), timeoutSeconds: menuTimeout }));
    await joinLine(res, input, setup ? defaultQueue(setup.queues) : undefined);
  });

  /**
   * The menu's answer: the key picks a queue (a key that is no choice hears the menu again, twice at most); nothing
   * pressed (the <Gather> timed out into its <Redirect>) picks the default queue. Then the caller waits in line.
   * @route POST /conference/menu
   */
  router.post('/menu', spoken(SORRY), async (req, res) => {
    const input = MenuChoice.parse(req.body);
    const { attempt, since } = MenuQuery.parse(req.query);
    const setup = await deps.queues?.load();
    const queues = setup?.queues ?? [];
    const chosen = input.Digits ? queueOfKey(queues, input.Digits) : undefined;
    if (input.Digits && !chosen && hasMenu(queues) && attempt < MENU_ATTEMPTS) {
      return sendTwiml(res, menuTwiml({ intro: 'Sorry, that is not one of the choices.', prompt: menuPrompt(queues), action: deps.urls.menu(attempt + 1, since), timeoutSeconds: menuTimeout }));
    }
    await joinLine(res, input, chosen ?? defaultQueue(queues), true, since);
  });

  /**
   * The long line's offer: 1 leaves a message (for the queue); anything else, or nothing, joins the line.
   * @route POST /conference/long-line
   */
  router.post('/long-line', spoken(SORRY), async (req, res) => {
    const input = LongLineChoice.parse(req.body);
    const { queue: queueId, since } = LongLineQuery.parse(req.query);
    const queue = queueId ? (await deps.queues?.load())?.queues.find((q) => q.id === queueId) : undefined;
    if (input.Digits === '1' && deps.voicemails) {
      const about = { ...(queue ? { queueId: queue.id } : {}), ...(input.From ? { from: input.From } : {}), reason: 'long-line' as const };
      return sendTwiml(res, voicemailTwiml({ message: 'Thank you.', action: deps.urls.voicemailSaved(about), statusCallback: deps.urls.voicemailStatus(about), maxLength: deps.voicemailMaxSeconds ?? 120, ...transcribe() }));
    }
    await joinLine(res, input, queue, false, since);
  });

  /** The caller goes back into their conference (after the callback offer): no greeting, their place unchanged. */
  function backToLine(res: Response, callSid: string, before?: string): void {
    sendTwiml(res, conferenceTwiml({ name: callSid, participantLabel: CUSTOMER_LABEL, startConferenceOnEnter: false, endConferenceOnExit: true, waitUrl: deps.urls.wait(callSid, 1), statusCallback: deps.urls.conferenceEvents(), ...(before ? { before } : {}) }));
  }

  /**
   * A waiting caller moved out of their conference (Calls update) hears the callback offer here.
   * @route POST /conference/callback/offer
   */
  router.post('/callback/offer', spoken(SORRY), (req, res) => {
    const { call } = CallQuery.parse(req.query);
    sendTwiml(res, callbackOfferTwiml({ action: deps.urls.callbackStep(call, 'choice'), timeoutSeconds: menuTimeout, message: Boolean(deps.voicemails) }));
  });

  /**
   * The key pressed at the callback offer: 1 asks for the number; 2 (when voicemail is on) leaves a message for the
   * caller's queue instead of waiting (<Record>, their place in line ends); anything else, or nothing, back to the line.
   * @route POST /conference/callback/choice
   */
  router.post('/callback/choice', spoken(SORRY), async (req, res) => {
    const { call } = CallQuery.parse(req.query);
    const input = KeyPressed.parse(req.body);
    if (input.Digits === '2' && deps.voicemails) {
      const left = await deps.calls.leaveMessageInstead(call);
      if (left === 'back') return backToLine(res, call, 'An agent is ready for you now.');
      // A call already over (a repeated request) still leaves its message: for every agent, its queue being unknown here.
      const known = left === 'gone' ? {} : left;
      const from = known.from ?? input.From;
      const about = { ...(known.queueId ? { queueId: known.queueId } : {}), ...(from ? { from } : {}), reason: 'waiting' as const };
      return sendTwiml(res, voicemailTwiml({ message: 'Thank you.', action: deps.urls.voicemailSaved(about), statusCallback: deps.urls.voicemailStatus(about), maxLength: deps.voicemailMaxSeconds ?? 120, ...transcribe() }));
    }
    if ((await deps.calls.callbackOfferAnswered(call, input.Digits)) === 'number') {
      return sendTwiml(res, callbackNumberTwiml({ number: callableFrom(input.From), action: deps.urls.callbackStep(call, 'number'), timeoutSeconds: Math.max(menuTimeout, 10) }));
    }
    backToLine(res, call);
  });

  /**
   * The number to call back: 1 keeps the caller's own (read to them with the question), digits and # give another
   * (with its country code), which is read back for them to confirm (/callback/confirm) before it is kept. Once kept,
   * the call keeps its place and the caller hangs up; an agent already on the way takes them back into the conference.
   * @route POST /conference/callback/number
   */
  router.post('/callback/number', spoken(SORRY), async (req, res) => {
    const { call } = CallQuery.parse(req.query);
    const input = KeyPressed.parse(req.body);
    const typed = input.Digits?.replace(/[*#]/g, '') ?? '';
    const own = callableFrom(input.From);
    if (typed === '1' && own) {
      if (!(await deps.calls.requestCallback(call, own))) return backToLine(res, call, 'An agent is ready for you now.');
      return sendTwiml(res, apologyTwiml(CALLBACK_KEPT));
    }
    // A typed number has its country code (00 before it, the international prefix dialled from most countries, is
    // taken as +): 8 to 15 digits (no country's numbers are shorter; E.164 allows no more), and not the support line
    // itself, which would only ring back into our own line. The caller hears which it was.
    const digits = typed.replace(/^00/, '');
    const refused = !/^[1-9]\d*$/.test(digits) ? 'we did not get a number' : digits.length < 8 ? 'that number is too short: please type it with its country code next time' : digits.length > 15 ? 'that number is too long' : `+${digits}` === input.To ? 'that is our own number' : undefined;
    if (refused) {
      await deps.calls.callbackOfferAnswered(call, undefined);
      return backToLine(res, call, `Sorry, ${refused}. You are back in line, in the same place.`);
    }
    const number = `+${digits}`;
    const typedNumber = await deps.calls.typedCallbackNumber(call, number);
    if (typedNumber === 'gone') return sendTwiml(res, apologyTwiml(SORRY));
    if (typedNumber === 'back') return backToLine(res, call, 'An agent is ready for you now.');
    if (typedNumber === 'kept') return sendTwiml(res, apologyTwiml(CALLBACK_KEPT));
    sendTwiml(res, callbackConfirmTwiml({ number, action: deps.urls.callbackConfirm(call, 1), timeoutSeconds: Math.max(menuTimeout, 5) }));
  });

  /**
   * The caller's answer to their typed number read back: 1 keeps it (the call keeps its place, the caller hangs up; a
   * repeated 1 finds it kept); 2 asks for the number again; nothing, or another key, reads it back once more, then
   * takes the caller back into the line, in the same place, with no callback.
   * @route POST /conference/callback/confirm
   */
  router.post('/callback/confirm', spoken(SORRY), async (req, res) => {
    const { call, round } = ConfirmQuery.parse(req.query);
    const input = KeyPressed.parse(req.body);
    if (input.Digits === '1') {
      const confirmed = await deps.calls.confirmTypedNumber(call);
      if (confirmed === 'gone') return sendTwiml(res, apologyTwiml(SORRY));
      if (confirmed === 'back') return backToLine(res, call, 'An agent is ready for you now.');
      return sendTwiml(res, apologyTwiml(CALLBACK_KEPT));
    }
    if (input.Digits === '2') {
      return sendTwiml(res, callbackNumberTwiml({ action: deps.urls.callbackStep(call, 'number'), timeoutSeconds: Math.max(menuTimeout, 10) }));
    }
    const waiting = round < CONFIRM_ROUNDS ? await deps.calls.numberToConfirm(call) : undefined;
    if (waiting) return sendTwiml(res, callbackConfirmTwiml({ number: waiting, intro: input.Digits ? 'Sorry, that is not one of the choices.' : 'Sorry, we did not get your answer.', action: deps.urls.callbackConfirm(call, round + 1), timeoutSeconds: Math.max(menuTimeout, 5) }));
    await deps.calls.callbackOfferAnswered(call, undefined);
    backToLine(res, call, 'We did not keep that number. You are back in line, in the same place.');
  });

  /**
   * Status callback of the caller's own call while out of the conference: hanging up there ends the call.
   * @route POST /conference/callback/customer-status
   */
  router.post('/callback/customer-status', async (req, res) => {
    const { call } = CallQuery.parse(req.query);
    const input = LegStatus.parse(req.body);
    if (ENDED_CALL_STATUSES.has(input.CallStatus)) await deps.calls.customerCallEnded(call);
    sendTwiml(res, emptyTwiml());
  });

  /**
   * A callback's customer answered: they join the conference where their agent waits.
   * @route POST /conference/callback/answer
   */
  router.post('/callback/answer', spoken(CALLBACK_SORRY), async (req, res) => {
    const { call } = CallQuery.parse(req.query);
    const input = OutboundAnswer.parse(req.body);
    if (!(await deps.calls.callbackAnswered(call, input.CallSid))) return sendTwiml(res, apologyTwiml(CALLBACK_SORRY));
    sendTwiml(res, conferenceTwiml({ name: call, participantLabel: CUSTOMER_LABEL, startConferenceOnEnter: true, endConferenceOnExit: true, waitUrl: deps.urls.wait(call, 1), statusCallback: deps.urls.conferenceEvents() }));
  });

  /**
   * Status callback of a callback's customer leg: one that ends unanswered is retried (or recorded as failed).
   * @route POST /conference/callback/status
   */
  router.post('/callback/status', async (req, res) => {
    const { call } = CallQuery.parse(req.query);
    const input = LegStatus.parse(req.body);
    if (ENDED_CALL_STATUSES.has(input.CallStatus)) await deps.calls.callbackEnded(call, input.CallStatus);
    sendTwiml(res, emptyTwiml());
  });

  /** Keeps a voicemail from either of Twilio's requests about the recording (the first stores it). */
  async function keepVoicemail(req: express.Request, recording: { CallSid: string; RecordingSid: string; RecordingUrl: string; RecordingDuration?: number; From?: string }): Promise<void> {
    const about = VoicemailQuery.parse(req.query);
    const setup = about.queue ? await deps.queues?.load() : undefined;
    const queue = setup?.queues.find((q) => q.id === about.queue);
    await deps.voicemails?.record({
      id: recording.RecordingSid,
      callSid: recording.CallSid,
      ...(about.from ?? recording.From ? { from: about.from ?? recording.From } : {}),
      recordingUrl: recording.RecordingUrl,
      durationSeconds: recording.RecordingDuration ?? 0,
      ...(about.queue ? { queueId: about.queue, ...(queue ? { queueName: queue.name } : {}) } : {}),
      reason: about.reason,
      createdAt: new Date(),
    });
  }

  /**
   * The voicemail's <Record action>: the message is kept (a task for the agents of its queue) and the caller thanked.
   * @route POST /conference/voicemail/saved
   */
  router.post('/voicemail/saved', spoken(SORRY), async (req, res) => {
    const input = RecordingDone.parse(req.body);
    await keepVoicemail(req, input);
    // A caller who hung up hears nothing more (Twilio ignores the answer).
    sendTwiml(res, input.Digits === 'hangup' ? emptyTwiml() : apologyTwiml(VOICEMAIL_THANKS));
  });

  /**
   * The voicemail's recording status callback: kept too, in case the action never comes (or comes later).
   * @route POST /conference/voicemail/status
   */
  router.post('/voicemail/status', async (req, res) => {
    const input = RecordingStatus.parse(req.body);
    if (input.RecordingStatus === 'completed') await keepVoicemail(req, input);
    sendTwiml(res, emptyTwiml());
  });

  /**
   * Twilio's transcribeCallback: the message's text (or that it failed) is kept on its voicemail, once; one that comes
   * before its recording is kept until the recording is. A duplicate is answered 200 and changes nothing (Twilio would
   * only retry an error).
   * @route POST /conference/voicemail/transcription
   */
  router.post('/voicemail/transcription', async (req, res) => {
    const input = TranscriptionDone.parse(req.body);
    await deps.voicemails?.transcribed({ recordingSid: input.RecordingSid, status: input.TranscriptionStatus, ...(input.TranscriptionText !== undefined ? { text: input.TranscriptionText } : {}) });
    sendTwiml(res, emptyTwiml());
  });

  /**
   * What the caller hears while waiting: the greeting once, their place in line, hold music, and again.
   * @route POST /conference/wait
   */
  router.post('/wait', spoken(SORRY), async (req, res) => {
    const query = WaitQuery.safeParse(req.query);
    // Without the call it is for (not a URL the app gave), there is nobody to wait for: the apology, and the call ends.
    if (!query.success) return sendTwiml(res, apologyTwiml(SORRY));
    const round = query.data.round;
    // A caller whose place we cannot read (database away) still hears music; the announcement comes next round.
    const info = await deps.calls.waitingInfo(query.data.call).catch(() => undefined);
    // A caller the app has no live call for (it finished: a stray conference-end, or a CallSid never stored) would hear
    // music for ever with nobody to ring for them: they hear the apology and the call ends.
    if (info && !info.live) {
      deps.logger.warn('wait music asked for a call that is not live: the caller hears goodbye', { callSid: query.data.call });
      return sendTwiml(res, apologyTwiml(SORRY));
    }
    const position = info?.position;
    const estimate = position && deps.estimateWait ? estimatedWaitSentence(await deps.estimateWait(info?.queueId, position).catch(() => undefined)) : undefined;
    // The caller's queue greets them in its own words, when it has them.
    const setup: QueueSetup | undefined = round === 0 && info?.queueId ? await deps.queues?.load().catch(() => undefined) : undefined;
    // A caller who came through the menu was thanked there already.
    const greeting = setup?.queues.find((q) => q.id === info?.queueId)?.greeting ?? (setup && hasMenu(setup.queues) ? GREETING_AFTER_MENU : GREETING);
    sendTwiml(
      res,
      waitTwiml({
        greeting: round === 0 ? greeting : undefined,
        announcement: position ? (estimate ? `${placeInLine(position)} ${estimate}` : placeInLine(position)) : undefined,
        musicUrl: deps.holdMusicUrl,
        next: deps.urls.wait(query.data.call, round + 1),
      }),
    );
  });

  /**
   * The customer answered an agent's outbound call: they join the conference named after their CallSid, where the
   * agent waits (music until then, if the agent is not there yet); their leaving ends it, as for an inbound caller.
   * @route POST /conference/outbound/answer
   */
  router.post('/outbound/answer', spoken(OUTBOUND_SORRY), async (req, res) => {
    const input = OutboundAnswer.parse(req.body);
    if (!(await deps.calls.outboundAnswered(input.CallSid))) return sendTwiml(res, apologyTwiml(OUTBOUND_SORRY));
    sendTwiml(
      res,
      conferenceTwiml({
        name: input.CallSid,
        participantLabel: CUSTOMER_LABEL,
        startConferenceOnEnter: true,
        endConferenceOnExit: true,
        waitUrl: deps.urls.wait(input.CallSid, 1),
        statusCallback: deps.urls.conferenceEvents(),
      }),
    );
  });

  /**
   * Status callback of the customer's leg of an outbound call: an end before they answered (busy, no answer, failed,
   * cancelled) ends the call.
   * @route POST /conference/outbound/status
   */
  router.post('/outbound/status', async (req, res) => {
    const input = AgentCallStatus.parse(req.body);
    if (ENDED_CALL_STATUSES.has(input.CallStatus)) await deps.calls.outboundEnded(input.CallSid, input.CallStatus);
    sendTwiml(res, emptyTwiml());
  });

  /**
   * Twilio's conference status callback.
   * @route POST /conference/events
   */
  router.post('/events', async (req, res) => {
    const input = ConferenceEvent.parse(req.body);
    // A supervisor's participant is the supervision's own: it never counts as the customer or an agent.
    const supervisorId = supervisorOfLabel(input.ParticipantLabel);
    if (supervisorId) {
      if (input.StatusCallbackEvent === 'participant-leave' && deps.supervision) {
        await deps.supervision.participantLeft({ callSid: input.FriendlyName, supervisorId, legCallSid: input.CallSid, reason: input.ReasonParticipantLeft, callStatus: input.ParticipantCallStatus });
      }
      return sendTwiml(res, emptyTwiml());
    }
    await deps.calls.recordConferenceEvent({
      conferenceName: input.FriendlyName,
      conferenceSid: input.ConferenceSid,
      event: input.StatusCallbackEvent,
      callSid: input.CallSid,
      participantLabel: input.ParticipantLabel,
      reason: input.ReasonParticipantLeft ?? input.ReasonConferenceEnded,
      participantCallStatus: input.ParticipantCallStatus,
      endedBy: input.ParticipantLabelEndingConference,
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
    // Disabled while the phone rang: the leg hears the apology and hangs up; the caller goes to someone else.
    if (agent.disabled) {
      await deps.calls.refuseDisabledAnswer({ conferenceId: conferenceId.data, agentId: agent.id });
      throw new HttpError(403, 'This account is disabled.');
    }
    await deps.calls.connectAgent({ conferenceId: conferenceId.data, agentId: agent.id, legCallSid: input.CallSid });
    sendTwiml(
      res,
      conferenceTwiml({
        name: conferenceId.data,
        participantLabel: agentLabel(agent.id),
        startConferenceOnEnter: true,
        // No agent's leaving ends the conference: when the last agent leaves, the server decides what the customer hears.
        endConferenceOnExit: false,
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

  /**
   * Status callback of a supervisor's own call (Participants create StatusCallback): ringing, answered, completed…
   * @route POST /conference/:conferenceId/supervisors/:supervisorId/status
   */
  router.post('/:conferenceId/supervisors/:supervisorId/status', async (req, res) => {
    const input = AgentCallStatus.parse(req.body);
    const conferenceId = CallSid.safeParse(req.params.conferenceId);
    const supervisor = await deps.agents.find(String(req.params.supervisorId));
    if (!deps.supervision || !conferenceId.success || !supervisor) throw new HttpError(404, 'Unknown call or supervisor.');
    await deps.supervision.legStatus({ callSid: conferenceId.data, supervisorId: supervisor.id, legCallSid: input.CallSid, callStatus: input.CallStatus });
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
    const { status, message: shown } = httpStatusOf(err);
    // Twilio's channel is not a person's: the message says what went wrong (never a stack), unexpected ones included.
    const message = status === 500 ? errorMessage(err) : shown;
    if (err instanceof SignatureError) {
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
