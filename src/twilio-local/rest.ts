// The 2010-04-01 REST API subset (Calls, Conferences, Participants) with Twilio's JSON shapes and errors.
import express, { type Request, type Response, type NextFunction, type Router } from 'express';
import { timingSafeEqual } from 'node:crypto';
import { rfc2822 } from './sid';
import { urlAllowed } from './callbacks';
import { TERMINAL } from './types';
import type { Engine, LocalCall, LocalConference, Participant } from './engine';
import type { ConferenceNoun } from './twiml';

/** Credentials accepted by the REST API. */
export interface RestAuth {
  accountSid: string;
  authToken: string;
  apiKeySid: string;
  apiKeySecret: string;
  /** When set, every callback or TwiML URL must lie under it. */
  callbackBase?: string;
}

type Params = Record<string, string | string[] | undefined>;

/** Sends Twilio's error body (https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions). */
function sendError(res: Response, status: number, code: number, message: string): void {
  res.status(status).json({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
}

/**
 * The code for a value outside the spec's enum (an invalid Status). The spec documents no error for it; Twilio's error
 * catalogue lists 400 "Bad Request" for "request parameters did not pass validation"
 * (https://www.twilio.com/docs/api/errors/400). Not 20001: that is a warning that unknown parameters were ignored
 * (https://www.twilio.com/docs/api/errors/20001). Which code Twilio really answers is unverified (README).
 */
const INVALID_VALUE = 400;

/** Answers an enum parameter's invalid value, naming the values the spec allows. */
function sendInvalidValue(res: Response, name: string, value: string, allowed: readonly string[]): void {
  sendError(res, 400, INVALID_VALUE, `Invalid ${name}: ${value} (must be ${allowed.join(' or ')})`);
}

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[value.length - 1] : value;
}

function many(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(/[\s,]+/)).filter(Boolean);
}

function bool(value: string | string[] | undefined): boolean | undefined {
  const v = one(value);
  return v === undefined ? undefined : v.toLowerCase() === 'true';
}

/**
 * Coaching and CallSidToCoach of a Participants create or update, checked: "If true, call_sid_to_coach must be defined"
 * and, when CallSidToCoach is given, Coaching defaults to true (the spec's `coaching`); the participant coached must be
 * connected to the conference (https://www.twilio.com/docs/api/errors/16028). Which error Twilio answers for Coaching
 * without CallSidToCoach is not documented (README, unverified behaviours). `before`: the participant's current values.
 */
function coachingOf(b: Params, connected: (callSid: string) => boolean, before?: { coaching: boolean; callSidToCoach?: string }): { coaching?: boolean; callSidToCoach?: string } | { error: [number, number, string] } {
  const toCoach = one(b.CallSidToCoach);
  const asked = bool(b.Coaching);
  const coaching = asked ?? (toCoach !== undefined ? true : undefined);
  if (coaching === undefined) return {};
  if (!coaching) return { coaching: false, callSidToCoach: toCoach ?? before?.callSidToCoach };
  const target = toCoach ?? before?.callSidToCoach;
  if (!target) return { error: [400, INVALID_VALUE, 'CallSidToCoach is required when Coaching is true'] };
  if (!connected(target)) return { error: [400, 16028, 'Participant to be whispered is not present in the conference'] };
  return { coaching: true, callSidToCoach: target };
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}


/** Builds the REST router, to be mounted at `<base>` (paths start with /2010-04-01/Accounts/:AccountSid). */
export function createRestRouter(engine: Engine, auth: RestAuth): Router {
  const router = express.Router({ mergeParams: true });
  /** An absolute http(s) URL, under callbackBase when that is set (anything else is never requested). */
  const isUrl = (value: string): boolean => urlAllowed(value, auth.callbackBase);
  /**
   * Checks the optional URL parameters of a request; answers Twilio's error for the first bad one.
   * https://www.twilio.com/docs/api/errors/21205 : "Url is not a valid URL"; 21609: invalid StatusCallback URL.
   */
  const badUrl = (res: Response, b: Params, names: string[]): boolean => {
    for (const name of names) {
      const value = one(b[name]);
      if (value !== undefined && !isUrl(value)) {
        const code = /StatusCallback$/.test(name) ? 21609 : 21205;
        sendError(res, 400, code, `${name} is not a valid URL${auth.callbackBase ? ' (or is outside the allowed callback base)' : ''}`);
        return true;
      }
    }
    return false;
  };
  const root = `/2010-04-01/Accounts/${auth.accountSid}`;

  const authenticate = (req: Request, res: Response, next: NextFunction): void => {
    // https://www.twilio.com/docs/usage/requests-to-twilio#authenticate-with-http : HTTP Basic with
    // AccountSid:AuthToken or API Key SID:secret; failures answer 401 with error 20003
    const header = req.get('authorization') ?? '';
    const m = /^Basic\s+(.+)$/i.exec(header);
    const [user, ...rest] = m ? Buffer.from(m[1] ?? '', 'base64').toString('utf8').split(':') : [];
    const pass = rest.join(':');
    const ok =
      (user === auth.accountSid && safeEqual(pass, auth.authToken)) || (user === auth.apiKeySid && safeEqual(pass, auth.apiKeySecret));
    if (!ok) {
      res.set('WWW-Authenticate', 'Basic realm="Twilio API"');
      sendError(res, 401, 20003, 'Authenticate');
      return;
    }
    if (req.params.AccountSid !== auth.accountSid) {
      sendError(res, 404, 20404, `The requested resource ${req.path} was not found`);
      return;
    }
    next();
  };

  const form = express.urlencoded({ extended: false });
  const base = '/2010-04-01/Accounts/:AccountSid';
  router.use(base, authenticate, form);

  const notFound = (req: Request, res: Response): void =>
    sendError(res, 404, 20404, `The requested resource ${req.originalUrl.replace(/\?.*$/, '').replace(/^.*(?=\/2010-04-01)/, '')} was not found`);

  const body = (req: Request): Params => (req.body ?? {}) as Params;
  const query = (req: Request): Params => req.query as Params;

  // ---------- JSON shapes ----------

  const callJson = (c: LocalCall): Record<string, unknown> => {
    const uri = `${root}/Calls/${c.sid}.json`;
    // https://www.twilio.com/docs/voice/api/call-resource#call-properties
    return {
      sid: c.sid,
      date_created: rfc2822(c.dateCreated),
      date_updated: rfc2822(c.dateUpdated),
      parent_call_sid: c.parentCallSid ?? null,
      account_sid: auth.accountSid,
      to: c.to,
      to_formatted: c.to,
      from: c.from,
      from_formatted: c.from,
      phone_number_sid: null,
      status: c.status,
      start_time: c.startTime ? rfc2822(c.startTime) : null,
      end_time: c.endTime ? rfc2822(c.endTime) : null,
      duration: TERMINAL.has(c.status) ? String(engine.duration(c)) : null,
      price: null,
      price_unit: 'USD',
      direction: c.direction,
      answered_by: null,
      api_version: '2010-04-01',
      forwarded_from: null,
      group_sid: null,
      caller_name: null,
      queue_time: '0',
      trunk_sid: null,
      uri,
      subresource_uris: {
        notifications: uri.replace('.json', '/Notifications.json'),
        recordings: uri.replace('.json', '/Recordings.json'),
        events: uri.replace('.json', '/Events.json'),
      },
    };
  };

  const confJson = (c: LocalConference): Record<string, unknown> => {
    const uri = `${root}/Conferences/${c.sid}.json`;
    // https://www.twilio.com/docs/voice/api/conference-resource#conference-properties
    return {
      account_sid: auth.accountSid,
      date_created: rfc2822(c.dateCreated),
      date_updated: rfc2822(c.dateUpdated),
      api_version: '2010-04-01',
      friendly_name: c.friendlyName,
      region: 'us1',
      sid: c.sid,
      status: c.status,
      uri,
      subresource_uris: {
        participants: uri.replace('.json', '/Participants.json'),
        recordings: uri.replace('.json', '/Recordings.json'),
      },
      reason_conference_ended: c.reasonConferenceEnded ?? null,
      call_sid_ending_conference: c.callSidEndingConference ?? null,
    };
  };

  const participantJson = (conf: LocalConference, p: Participant): Record<string, unknown> => ({
    // https://www.twilio.com/docs/voice/api/conference-participant-resource#participant-properties
    account_sid: auth.accountSid,
    call_sid: p.callSid,
    label: p.label ?? null,
    call_sid_to_coach: p.callSidToCoach ?? null,
    coaching: p.coaching,
    conference_sid: conf.sid,
    date_created: rfc2822(p.dateCreated),
    date_updated: rfc2822(p.dateUpdated),
    end_conference_on_exit: p.endConferenceOnExit,
    muted: p.muted,
    hold: p.hold,
    start_conference_on_enter: p.startConferenceOnEnter,
    status: p.status,
    queue_time: null,
    uri: `${root}/Conferences/${conf.sid}/Participants/${p.callSid}.json`,
  });

  /** Twilio's paging envelope (https://www.twilio.com/docs/usage/twilios-response#response-formats-list-paging-information). */
  const page = (req: Request, key: string, all: Array<Record<string, unknown>>): Record<string, unknown> => {
    const pageSize = Math.min(1000, Math.max(1, Number(one(query(req).PageSize)) || 50));
    const pageNo = Math.max(0, Number(one(query(req).Page)) || 0);
    const path = req.originalUrl.replace(/\?.*$/, '').replace(/^.*(?=\/2010-04-01)/, '');
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query(req))) {
      if (k !== 'Page' && k !== 'PageSize' && k !== 'PageToken' && typeof v === 'string') params.set(k, v);
    }
    const uriFor = (n: number): string => `${path}?${new URLSearchParams([...params, ['PageSize', String(pageSize)], ['Page', String(n)]])}`;
    const start = pageNo * pageSize;
    const items = all.slice(start, start + pageSize);
    const hasNext = start + pageSize < all.length;
    return {
      [key]: items,
      end: start + Math.max(0, items.length - 1),
      first_page_uri: uriFor(0),
      next_page_uri: hasNext ? uriFor(pageNo + 1) : null,
      page: pageNo,
      page_size: pageSize,
      previous_page_uri: pageNo > 0 ? uriFor(pageNo - 1) : null,
      start,
      uri: uriFor(pageNo),
    };
  };

  // ---------- Calls ----------

  /**
   * Calls create: dials a client (Url wins over Twiml).
   * @route POST /2010-04-01/Accounts/:AccountSid/Calls.json
   */
  router.post(`${base}/Calls.json`, (req, res) => {
    const b = body(req);
    const to = one(b.To);
    const from = one(b.From);
    const url = one(b.Url);
    const twiml = one(b.Twiml);
    // https://www.twilio.com/docs/api/errors/21201 , 21213 , 21205 , 21211 : missing/invalid parameters
    if (!to) return sendError(res, 400, 21201, "No 'To' number is specified");
    if (!from) return sendError(res, 400, 21213, "No 'From' number is specified");
    if (!url && twiml === undefined && !one(b.ApplicationSid)) return sendError(res, 400, 21205, 'Url parameter is required.');
    if (badUrl(res, b, ['Url', 'StatusCallback', 'FallbackUrl'])) return;
    if (!/^client:[^\s]+$/.test(to) && !/^\+?[1-9]\d{1,14}$/.test(to)) return sendError(res, 400, 21211, `Invalid 'To' Phone Number: ${to}`);
    const statusCallback = one(b.StatusCallback);
    const timeout = Number(one(b.Timeout));
    const call = engine.createOutbound({
      from,
      to,
      url,
      method: one(b.Method),
      twiml,
      statusCallback,
      statusCallbackMethod: one(b.StatusCallbackMethod),
      statusCallbackEvents: many(b.StatusCallbackEvent),
      timeoutSeconds: Number.isFinite(timeout) && timeout > 0 ? timeout : undefined,
    });
    res.status(201).json(callJson(call));
  });

  /**
   * Calls list, newest first, filtered by To, From, Status.
   * @route GET /2010-04-01/Accounts/:AccountSid/Calls.json
   */
  router.get(`${base}/Calls.json`, (req, res) => {
    const q = query(req);
    const calls = engine
      .listCalls()
      .filter((c) => (!q.To || c.to === one(q.To)) && (!q.From || c.from === one(q.From)) && (!q.Status || c.status === one(q.Status)))
      .map(callJson);
    res.json(page(req, 'calls', calls));
  });

  /**
   * Calls fetch.
   * @route GET /2010-04-01/Accounts/:AccountSid/Calls/:CallSid.json
   */
  router.get(`${base}/Calls/:CallSid.json`, (req, res) => {
    const call = engine.getCall(String(req.params.CallSid));
    if (!call) return notFound(req, res);
    res.json(callJson(call));
  });

  /**
   * Calls update: Status (hang up / cancel), Url or Twiml (redirect), StatusCallback.
   * @route POST /2010-04-01/Accounts/:AccountSid/Calls/:CallSid.json
   */
  router.post(`${base}/Calls/:CallSid.json`, (req, res) => {
    const call = engine.getCall(String(req.params.CallSid));
    if (!call) return notFound(req, res);
    const b = body(req);
    const status = one(b.Status);
    const url = one(b.Url);
    const twiml = one(b.Twiml);
    if (status !== undefined) {
      // https://www.twilio.com/docs/voice/api/call-resource#update-a-call-resource : Status is canceled or completed
      if (status !== 'canceled' && status !== 'completed') return sendInvalidValue(res, 'Status', status, ['canceled', 'completed']);
      engine.updateCallStatus(call, status);
      return res.json(callJson(call));
    }
    if (url !== undefined || twiml !== undefined) {
      // https://www.twilio.com/docs/api/errors/21220 : only a live call can be redirected
      if (call.status !== 'in-progress') return sendError(res, 400, 21220, 'Call is not in-progress. Cannot redirect.');
      if (badUrl(res, b, ['Url', 'StatusCallback'])) return;
      // StatusCallback is its own parameter: given with Url or Twiml, it applies too.
      const withCallback = one(b.StatusCallback);
      if (withCallback) engine.setStatusCallback(call, withCallback);
      engine.redirect(call, twiml !== undefined ? { twiml } : { url: url as string, method: (one(b.Method) ?? 'POST').toUpperCase() });
      return res.json(callJson(call));
    }
    if (badUrl(res, b, ['StatusCallback'])) return;
    const statusCallback = one(b.StatusCallback);
    if (statusCallback) engine.setStatusCallback(call, statusCallback);
    res.json(callJson(call));
  });

  // ---------- Conferences ----------

  const findConference = (sid: string): LocalConference | undefined => engine.getConference(sid);

  /**
   * Conferences list, newest first, filtered by FriendlyName, Status.
   * @route GET /2010-04-01/Accounts/:AccountSid/Conferences.json
   */
  router.get(`${base}/Conferences.json`, (req, res) => {
    const q = query(req);
    const confs = engine
      .listConferences()
      .filter((c) => (!q.FriendlyName || c.friendlyName === one(q.FriendlyName)) && (!q.Status || c.status === one(q.Status)))
      .map(confJson);
    res.json(page(req, 'conferences', confs));
  });

  /**
   * Conferences fetch.
   * @route GET /2010-04-01/Accounts/:AccountSid/Conferences/:ConferenceSid.json
   */
  router.get(`${base}/Conferences/:ConferenceSid.json`, (req, res) => {
    const conf = findConference(String(req.params.ConferenceSid));
    if (!conf) return notFound(req, res);
    res.json(confJson(conf));
  });

  /**
   * Conferences update: Status=completed ends it.
   * @route POST /2010-04-01/Accounts/:AccountSid/Conferences/:ConferenceSid.json
   */
  router.post(`${base}/Conferences/:ConferenceSid.json`, (req, res) => {
    const conf = findConference(String(req.params.ConferenceSid));
    if (!conf) return notFound(req, res);
    const status = one(body(req).Status);
    // https://www.twilio.com/docs/voice/api/conference-resource#update-a-conference-resource : Status=completed ends it
    if (status !== undefined && status !== 'completed') return sendInvalidValue(res, 'Status', status, ['completed']);
    if (status === 'completed') engine.endConference(conf, 'conference-ended-via-api');
    res.json(confJson(conf));
  });

  // ---------- Participants ----------

  const findParticipant = (conf: LocalConference, id: string): Participant | undefined => engine.findParticipant(conf, id);

  /**
   * The conference a Participants create names: its SID, or its friendly name (the spec's CreateParticipant path
   * parameter has no pattern; https://www.twilio.com/docs/voice/api/conference-participant-resource#create-a-participant-resource
   * : Twilio creates the conference if it does not exist yet). Undefined for an ended conference or an unknown CF SID.
   */
  const conferenceForCreate = (req: Request): LocalConference | undefined => {
    const id = String(req.params.ConferenceSid);
    const bySid = findConference(id);
    if (bySid) return bySid.status === 'completed' ? undefined : bySid;
    if (/^CF[0-9a-f]{32}$/i.test(id)) return undefined;
    return engine.conferenceByName(id, true);
  };

  /**
   * The conference a Participants list, fetch, update or delete names: by SID only. In twilio_api_v2010.json their
   * ConferenceSid path parameter has the pattern ^CF[0-9a-fA-F]{32}$, so a friendly name finds nothing here (20404):
   * code that works in demo mode must not depend on names there (Twilio's exact answer to one is not documented).
   */
  const conferenceBySid = (req: Request): LocalConference | undefined => findConference(String(req.params.ConferenceSid));

  /**
   * Participants list (conference by SID), filtered by Hold, Muted.
   * @route GET /2010-04-01/Accounts/:AccountSid/Conferences/:ConferenceSid/Participants.json
   */
  router.get(`${base}/Conferences/:ConferenceSid/Participants.json`, (req, res) => {
    const conf = conferenceBySid(req);
    if (!conf) return notFound(req, res);
    const q = query(req);
    const ps = engine
      .participantsOf(conf)
      .filter((p) => (q.Hold === undefined || String(p.hold) === one(q.Hold)) && (q.Muted === undefined || String(p.muted) === one(q.Muted)))
      .map((p) => participantJson(conf, p));
    res.json(page(req, 'participants', ps));
  });

  /**
   * Participants create: dials To and joins it to the conference when it answers.
   * @route POST /2010-04-01/Accounts/:AccountSid/Conferences/:ConferenceSid/Participants.json
   */
  router.post(`${base}/Conferences/:ConferenceSid/Participants.json`, (req, res) => {
    const b = body(req);
    const to = one(b.To);
    const from = one(b.From);
    if (!to) return sendError(res, 400, 21201, "No 'To' number is specified");
    if (!from) return sendError(res, 400, 21213, "No 'From' number is specified");
    if (badUrl(res, b, ['WaitUrl', 'StatusCallback', 'ConferenceStatusCallback'])) return;
    const label = one(b.Label);
    if (label !== undefined && (label.length > 128 || /^CA[0-9a-f]{32}$/.test(label) || /\/|%2f/i.test(label))) {
      // https://www.twilio.com/docs/api/errors/16024 : at most 128 characters, not a CallSid, no '/'
      return sendError(res, 400, 16024, "Invalid participant label, must not exceed 128 characters, must not be a CallSid, must not contain '/'");
    }
    const conf = conferenceForCreate(req);
    if (!conf) return notFound(req, res);
    if (label !== undefined && engine.labelInUse(conf, label)) {
      // https://www.twilio.com/docs/api/errors/16026 : the label is in use by another active participant
      return sendError(res, 400, 16026, 'Participant label is in use by another participant');
    }
    // https://www.twilio.com/docs/voice/api/conference-participant-resource#create-a-participant-resource : Timeout
    // 5..600 seconds, default 60; clamping a value outside that range is not in Twilio's docs (README)
    const timeout = Math.min(600, Math.max(5, Number(one(b.Timeout))));
    const coach = coachingOf(b, (sid) => conf.participants.get(sid)?.status === 'connected');
    if ('error' in coach) return sendError(res, ...coach.error);
    const confCallback = one(b.ConferenceStatusCallback);
    const noun: ConferenceNoun = {
      name: conf.friendlyName,
      startConferenceOnEnter: bool(b.StartConferenceOnEnter) ?? true,
      endConferenceOnExit: bool(b.EndConferenceOnExit) ?? false,
      muted: bool(b.Muted) ?? false,
      beep: one(b.Beep) ?? 'true',
      waitUrl: one(b.WaitUrl),
      waitMethod: (one(b.WaitMethod) ?? 'POST').toUpperCase(),
      statusCallback: confCallback,
      statusCallbackMethod: (one(b.ConferenceStatusCallbackMethod) ?? 'POST').toUpperCase(),
      statusCallbackEvents: new Set(many(b.ConferenceStatusCallbackEvent)),
      participantLabel: label,
    };
    const p = engine.addParticipant(
      conf,
      {
        from,
        to,
        statusCallback: one(b.StatusCallback),
        statusCallbackMethod: one(b.StatusCallbackMethod),
        statusCallbackEvents: many(b.StatusCallbackEvent),
        timeoutSeconds: Number.isFinite(timeout) && timeout > 0 ? timeout : undefined,
      },
      noun,
      coach,
    );
    res.status(201).json(participantJson(conf, p));
  });

  /**
   * Participants fetch, by CallSid or label.
   * @route GET /2010-04-01/Accounts/:AccountSid/Conferences/:ConferenceSid/Participants/:CallSid.json
   */
  router.get(`${base}/Conferences/:ConferenceSid/Participants/:CallSid.json`, (req, res) => {
    const conf = conferenceBySid(req);
    const p = conf && findParticipant(conf, String(req.params.CallSid));
    if (!conf || !p) return notFound(req, res);
    res.json(participantJson(conf, p));
  });

  /**
   * Participants update: Hold, HoldUrl, HoldMethod, Muted, EndConferenceOnExit, Coaching, CallSidToCoach.
   * @route POST /2010-04-01/Accounts/:AccountSid/Conferences/:ConferenceSid/Participants/:CallSid.json
   */
  router.post(`${base}/Conferences/:ConferenceSid/Participants/:CallSid.json`, (req, res) => {
    const conf = conferenceBySid(req);
    const p = conf && findParticipant(conf, String(req.params.CallSid));
    if (!conf || !p) return notFound(req, res);
    const b = body(req);
    const holdUrl = one(b.HoldUrl);
    if (badUrl(res, b, ['HoldUrl', 'AnnounceUrl', 'WaitUrl'])) return;
    const coach = coachingOf(b, (sid) => sid !== p.callSid && conf.participants.get(sid)?.status === 'connected', p);
    if ('error' in coach) return sendError(res, ...coach.error);
    engine.updateParticipant(conf, p, {
      ...coach,
      hold: bool(b.Hold),
      holdUrl,
      holdMethod: one(b.HoldMethod),
      muted: bool(b.Muted),
      endConferenceOnExit: bool(b.EndConferenceOnExit),
    });
    res.json(participantJson(conf, p));
  });

  /**
   * Participants delete: kicks a connected participant, cancels a ringing one.
   * @route DELETE /2010-04-01/Accounts/:AccountSid/Conferences/:ConferenceSid/Participants/:CallSid.json
   */
  router.delete(`${base}/Conferences/:ConferenceSid/Participants/:CallSid.json`, (req, res) => {
    const conf = conferenceBySid(req);
    const p = conf && findParticipant(conf, String(req.params.CallSid));
    if (!conf || !p) return notFound(req, res);
    engine.kickParticipant(conf, p);
    res.status(204).end();
  });

  // ---------- Recordings ----------

  /**
   * A recording's media: WAV without an extension or with .wav (https://www.twilio.com/docs/voice/api/recording#fetch-a-recording-media-file).
   * Basic auth as for the rest of the API (Twilio asks for it when "HTTP Basic Authentication for media" is on). MP3 is
   * not served (no encoder ships): 404.
   * @route GET /2010-04-01/Accounts/:AccountSid/Recordings/:RecordingSid(.wav)
   */
  router.get(`${base}/Recordings/:file`, (req, res, next) => {
    const m = /^(RE[0-9a-f]{32})(\.wav)?$/.exec(String(req.params.file));
    const rec = m ? engine.getRecording(m[1]!) : undefined;
    if (!m) return next();
    if (!rec) return notFound(req, res);
    res.status(200).type('audio/wav').send(rec.wav);
  });

  router.use(base, (req, res) => notFound(req, res));
  return router;
}
