// The public URLs Twilio calls back on; one place so routes and dial requests cannot drift apart.

/** What rides along with a voicemail's requests: its queue, the caller, and why they left a message. */
export interface VoicemailAbout {
  queueId?: string;
  from?: string;
  reason?: 'closed' | 'long-line' | 'waiting';
}

export interface WebhookUrls {
  incomingCall(): string;
  /** What a waiting caller hears; `round` counts the announcements so far. */
  wait(callSid: string, round: number): string;
  /** Where the menu's key (or its silence) goes; `attempt` counts keys that were no choice. */
  /** `since`: when the caller called (ms), so that the line keeps their place from then, not from the menu's end. */
  menu(attempt: number, since?: number): string;
  connectAgent(conferenceId: string, agentId: string): string;
  /** Where a voicemail's <Record action> and its recording status callback go (the queue and caller ride along). */
  voicemailSaved(about: VoicemailAbout): string;
  voicemailStatus(about: VoicemailAbout): string;
  /** Twilio's transcribeCallback for a voicemail's text. */
  voicemailTranscription(): string;
  /** The callback offer a waiting caller is moved to, and its steps (the key pressed at the offer; the number). */
  callbackOffer(callSid: string): string;
  callbackStep(callSid: string, step: 'choice' | 'number'): string;
  /** Where the caller's answer goes after a typed number is read back to them; `round` counts the times it was read. */
  callbackConfirm(callSid: string, round: number): string;
  /** Status callback of the customer's own call while they are out of the conference (hearing the offer). */
  customerStatus(callSid: string): string;
  /** A callback's customer leg: answered (their TwiML), and its status callback. */
  callbackAnswer(callSid: string): string;
  callbackStatus(callSid: string): string;
  /** The long line's offer: a key leaves a message, nothing joins the line of `queueId`. */
  longLine(queueId?: string, since?: number): string;
  conferenceEvents(): string;
  agentCallStatus(conferenceId: string, agentId: string): string;
  /** What the customer of an agent's outbound call hears once they answer (their conference). */
  outboundAnswer(): string;
  /** Status callback of the customer's leg of an outbound call. */
  outboundStatus(): string;
  /** Status callback of a supervisor's leg on a call. */
  supervisorStatus(conferenceId: string, supervisorId: string): string;
}

/** Builds the webhook URLs under `publicBaseUrl` (no trailing slash). */
export function webhookUrls(publicBaseUrl: string): WebhookUrls {
  const at = (path: string): string => `${publicBaseUrl}${path}`;
  const seg = encodeURIComponent;
  return {
    incomingCall: () => at('/conference/connect/client'),
    wait: (callSid, round) => at(`/conference/wait?call=${seg(callSid)}&round=${round}`),
    menu: (attempt, since) => at(`/conference/menu?attempt=${attempt}${since ? `&since=${since}` : ''}`),
    voicemailSaved: (about) => at(`/conference/voicemail/saved${voicemailQuery(about)}`),
    voicemailStatus: (about) => at(`/conference/voicemail/status${voicemailQuery(about)}`),
    voicemailTranscription: () => at('/conference/voicemail/transcription'),
    callbackOffer: (callSid) => at(`/conference/callback/offer?call=${seg(callSid)}`),
    callbackStep: (callSid, step) => at(`/conference/callback/${step}?call=${seg(callSid)}`),
    callbackConfirm: (callSid, round) => at(`/conference/callback/confirm?call=${seg(callSid)}&round=${round}`),
    customerStatus: (callSid) => at(`/conference/callback/customer-status?call=${seg(callSid)}`),
    callbackAnswer: (callSid) => at(`/conference/callback/answer?call=${seg(callSid)}`),
    callbackStatus: (callSid) => at(`/conference/callback/status?call=${seg(callSid)}`),
    longLine: (queueId, since) => at(`/conference/long-line${queryOf({ ...(queueId ? { queue: queueId } : {}), ...(since ? { since: String(since) } : {}) })}`),
    connectAgent: (conferenceId, agentId) => at(`/conference/${seg(conferenceId)}/connect/${seg(agentId)}`),
    conferenceEvents: () => at('/conference/events'),
    agentCallStatus: (conferenceId, agentId) => at(`/conference/${seg(conferenceId)}/agents/${seg(agentId)}/status`),
    outboundAnswer: () => at('/conference/outbound/answer'),
    outboundStatus: () => at('/conference/outbound/status'),
    supervisorStatus: (conferenceId, supervisorId) => at(`/conference/${seg(conferenceId)}/supervisors/${seg(supervisorId)}/status`),
  };
}

/** `?a=1&b=2`, or nothing without parameters. */
function queryOf(params: Record<string, string>): string {
  const q = new URLSearchParams(params).toString();
  return q ? `?${q}` : '';
}

function voicemailQuery(about: VoicemailAbout): string {
  const q = new URLSearchParams();
  if (about.reason && about.reason !== 'closed') q.set('reason', about.reason);
  if (about.queueId) q.set('queue', about.queueId);
  if (about.from) q.set('from', about.from);
  const text = q.toString();
  return text ? `?${text}` : '';
}
