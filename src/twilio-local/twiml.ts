// Parses TwiML documents into a small verb list the local engine can execute.
import { DOMParser, onErrorStopParsing, type Element, type Document } from '@xmldom/xmldom';

/** A conference noun inside <Dial>. */
export interface ConferenceNoun {
  name: string;
  startConferenceOnEnter: boolean;
  endConferenceOnExit: boolean;
  muted: boolean;
  beep: string;
  waitUrl?: string;
  waitMethod: string;
  statusCallback?: string;
  statusCallbackMethod: string;
  statusCallbackEvents: Set<string>;
  participantLabel?: string;
}

/** One executable TwiML verb. */
export type Verb =
  | { verb: 'Say'; text: string; loop: number }
  | { verb: 'Play'; url: string; loop: number }
  | { verb: 'Pause'; length: number }
  | { verb: 'Redirect'; url: string; method: string }
  | { verb: 'Hangup' }
  | { verb: 'Reject'; reason: string }
  | { verb: 'Dial'; action?: string; method: string; conference?: ConferenceNoun; other?: string }
  | GatherVerb
  | RecordVerb
  | { verb: 'Unsupported'; name: string };

/** Say, Play or Pause: the verbs a <Gather> may nest (https://www.twilio.com/docs/voice/twiml/gather#nest-other-verbs). */
export type NestedMedia = Extract<Verb, { verb: 'Say' | 'Play' | 'Pause' }>;

/** <Gather>: collects keypad digits (https://www.twilio.com/docs/voice/twiml/gather#attributes). */
export interface GatherVerb {
  verb: 'Gather';
  /** Default: the current document's URL. */
  action?: string;
  method: string;
  /** Seconds of silence (after the nested verbs, or after the last digit) that end the gather. Default 5. */
  timeout: number;
  /** The key that submits what was pressed (default '#'; '' turns it off). */
  finishOnKey: string;
  /** Submits once this many digits were pressed (default: unlimited). */
  numDigits?: number;
  /** 'dtmf', 'speech' or 'dtmf speech' (speech is not simulated). */
  input: string;
  nested: NestedMedia[];
}

/** <Record>: records what the caller says (https://www.twilio.com/docs/voice/twiml/record#attributes). */
export interface RecordVerb {
  verb: 'Record';
  /** Default: the current document's URL. */
  action?: string;
  method: string;
  /** Seconds of silence that end the recording (default 5; not simulated: README). */
  timeout: number;
  /** Keys that end the recording (default every key: '1234567890*#'). */
  finishOnKey: string;
  /** The longest recording, in seconds (default 3600). */
  maxLength: number;
  playBeep: boolean;
  recordingStatusCallback?: string;
  recordingStatusCallbackMethod: string;
  /** Events of the recording status callback (default 'completed'). */
  recordingStatusCallbackEvents: Set<string>;
  transcribe: boolean;
  transcribeCallback?: string;
}

/** Raised when a document is not valid TwiML (Twilio error 12100 / 12200). */
export class TwimlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TwimlError';
  }
}

function attr(el: Element, name: string): string | undefined {
  const value = el.getAttribute(name);
  return value === null || value === '' ? undefined : value;
}

function bool(el: Element, name: string, fallback: boolean): boolean {
  const value = attr(el, name);
  if (value === undefined) return fallback;
  return value.toLowerCase() === 'true';
}

function int(el: Element, name: string, fallback: number): number {
  const value = Number(attr(el, name));
  return Number.isFinite(value) && attr(el, name) !== undefined ? value : fallback;
}

function childElements(el: Element): Element[] {
  const out: Element[] = [];
  for (let node = el.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1) out.push(node as Element);
  }
  return out;
}

function text(el: Element): string {
  return (el.textContent ?? '').trim();
}

function parseConference(el: Element): ConferenceNoun {
  return {
    name: text(el),
    // https://www.twilio.com/docs/voice/twiml/conference#attributes-startConferenceOnEnter : default true
    startConferenceOnEnter: bool(el, 'startConferenceOnEnter', true),
    // https://www.twilio.com/docs/voice/twiml/conference#attributes-endConferenceOnExit : default false
    endConferenceOnExit: bool(el, 'endConferenceOnExit', false),
    muted: bool(el, 'muted', false),
    beep: attr(el, 'beep') ?? 'true',
    waitUrl: attr(el, 'waitUrl'),
    // https://www.twilio.com/docs/voice/twiml/conference#attributes-waitMethod : default POST
    waitMethod: (attr(el, 'waitMethod') ?? 'POST').toUpperCase(),
    statusCallback: attr(el, 'statusCallback'),
    statusCallbackMethod: (attr(el, 'statusCallbackMethod') ?? 'POST').toUpperCase(),
    // https://www.twilio.com/docs/voice/twiml/conference#attributes-statusCallbackEvent : space-separated start end join leave mute hold modify speaker announcement
    statusCallbackEvents: new Set((attr(el, 'statusCallbackEvent') ?? '').split(/\s+/).filter(Boolean)),
    participantLabel: attr(el, 'participantLabel'),
  };
}

function parseVerb(el: Element): Verb {
  switch (el.tagName) {
    case 'Say':
      return { verb: 'Say', text: text(el), loop: int(el, 'loop', 1) };
    case 'Play':
      // https://www.twilio.com/docs/voice/twiml/play#attributes-loop : loop="0" plays until the call ends
      return { verb: 'Play', url: text(el), loop: int(el, 'loop', 1) };
    case 'Pause':
      // https://www.twilio.com/docs/voice/twiml/pause#attributes-length : default 1 second
      return { verb: 'Pause', length: int(el, 'length', 1) };
    case 'Redirect':
      return { verb: 'Redirect', url: text(el), method: (attr(el, 'method') ?? 'POST').toUpperCase() };
    case 'Hangup':
      return { verb: 'Hangup' };
    case 'Reject':
      return { verb: 'Reject', reason: attr(el, 'reason') ?? 'rejected' };
    case 'Dial': {
      const nouns = childElements(el);
      const conf = nouns.find((n) => n.tagName === 'Conference');
      const other = nouns.find((n) => n.tagName !== 'Conference')?.tagName ?? (nouns.length === 0 && text(el) ? 'Number' : undefined);
      return {
        verb: 'Dial',
        action: attr(el, 'action'),
        method: (attr(el, 'method') ?? 'POST').toUpperCase(),
        conference: conf ? parseConference(conf) : undefined,
        other,
      };
    }
    case 'Gather': {
      // https://www.twilio.com/docs/voice/twiml/gather#attributes : defaults action = current document, method POST,
      // timeout 5, finishOnKey '#', numDigits unlimited, input dtmf. finishOnKey="" disables the key (the attribute is
      // read raw: an empty value is meaningful here).
      const raw = el.getAttribute('finishOnKey');
      const nested = childElements(el)
        .map(parseVerb)
        .filter((v): v is NestedMedia => v.verb === 'Say' || v.verb === 'Play' || v.verb === 'Pause');
      const numDigits = int(el, 'numDigits', 0);
      return {
        verb: 'Gather',
        action: attr(el, 'action'),
        method: (attr(el, 'method') ?? 'POST').toUpperCase(),
        timeout: Math.max(1, int(el, 'timeout', 5)),
        finishOnKey: raw === null ? '#' : raw,
        ...(numDigits >= 1 ? { numDigits } : {}),
        input: attr(el, 'input') ?? 'dtmf',
        nested,
      };
    }
    case 'Record': {
      const raw = el.getAttribute('finishOnKey');
      return {
        verb: 'Record',
        action: attr(el, 'action'),
        method: (attr(el, 'method') ?? 'POST').toUpperCase(),
        timeout: int(el, 'timeout', 5),
        finishOnKey: raw === null ? '1234567890*#' : raw,
        maxLength: Math.max(1, int(el, 'maxLength', 3600)),
        playBeep: bool(el, 'playBeep', true),
        recordingStatusCallback: attr(el, 'recordingStatusCallback'),
        recordingStatusCallbackMethod: (attr(el, 'recordingStatusCallbackMethod') ?? 'POST').toUpperCase(),
        recordingStatusCallbackEvents: new Set((attr(el, 'recordingStatusCallbackEvent') ?? 'completed').split(/[\s,]+/).filter(Boolean)),
        transcribe: bool(el, 'transcribe', false),
        transcribeCallback: attr(el, 'transcribeCallback'),
      };
    }
    default:
      return { verb: 'Unsupported', name: el.tagName };
  }
}

/**
 * Parses a TwiML document. Throws TwimlError when it is not well-formed XML
 * or its root is not <Response> (https://www.twilio.com/docs/api/errors/12100).
 */
export function parseTwiml(xml: string): Verb[] {
  let doc: Document;
  try {
    doc = new DOMParser({ onError: onErrorStopParsing }).parseFromString(xml, 'text/xml');
  } catch (err) {
    throw new TwimlError(`Document parse failure: ${(err as Error).message}`);
  }
  const root = doc.documentElement;
  if (!root || root.tagName !== 'Response') {
    throw new TwimlError('TwiML root element must be <Response>');
  }
  return childElements(root).map(parseVerb);
}
