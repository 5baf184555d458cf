// Checks a TwiML document against what Twilio documents for each verb and noun: which elements may appear where,
// which attributes each takes and their allowed values. Each row cites its doc page.
import { DOMParser, type Element, type Node } from '@xmldom/xmldom';
import type { Violation } from './registry';

/** How one attribute may look. */
type AttributeRule =
  | { kind: 'values'; values: readonly string[] }
  /** A space-separated list of values from the set. */
  | { kind: 'list'; values: readonly string[] }
  | { kind: 'integer'; min: number; max?: number }
  | { kind: 'url'; allowEmpty?: boolean }
  | { kind: 'text'; maxLength?: number; pattern?: RegExp };

interface ElementRule {
  source: string;
  attributes: Record<string, AttributeRule>;
  /** Element children allowed (by name); text content allowed or required. */
  children: readonly string[];
  text: 'required' | 'optional' | 'none';
}

const BOOL: AttributeRule = { kind: 'values', values: ['true', 'false'] };
const METHOD: AttributeRule = { kind: 'values', values: ['GET', 'POST'] };
const URL_ATTR: AttributeRule = { kind: 'url' };

const CONFERENCE_DOC = 'https://www.twilio.com/docs/voice/twiml/conference#attributes';
const VERBS_DOC = 'https://www.twilio.com/docs/voice/twiml#twiml-verbs-for-programmable-voice';

/** The table. Verbs and nouns the app does not use yet are named, so a new one is a violation until its rules are added. */
export const TWIML_RULES: Record<string, ElementRule> = {
  Response: {
    source: 'https://www.twilio.com/docs/voice/twiml#the-response-element',
    attributes: {},
    children: ['Say', 'Play', 'Pause', 'Dial', 'Hangup', 'Redirect', 'Reject', 'Gather', 'Record'],
    text: 'none',
  },
  Record: {
    source: 'https://www.twilio.com/docs/voice/twiml/record#attributes',
    attributes: {
      action: URL_ATTR,
      method: METHOD,
      timeout: { kind: 'integer', min: 0 },
      finishOnKey: { kind: 'text', pattern: /^[0-9#*]*$/ },
      // "Integer greater than 1 and less than or equal to 14400 (4 hours) or 86400 (24 hours)"
      maxLength: { kind: 'integer', min: 2, max: 86400 },
      playBeep: BOOL,
      trim: { kind: 'values', values: ['trim-silence', 'do-not-trim'] },
      recordingStatusCallback: URL_ATTR,
      recordingStatusCallbackMethod: METHOD,
      recordingStatusCallbackEvent: { kind: 'list', values: ['in-progress', 'completed', 'absent'] },
      transcribe: BOOL,
      transcribeCallback: URL_ATTR,
    },
    children: [],
    text: 'none',
  },
  Gather: {
    // Keys only here (input="dtmf"); speech attributes are named so a document using them is checked, not refused.
    source: 'https://www.twilio.com/docs/voice/twiml/gather#attributes',
    attributes: {
      action: URL_ATTR,
      method: METHOD,
      // "0-9, #, *, and '' (the empty string)": https://www.twilio.com/docs/api/errors/13310
      finishOnKey: { kind: 'text', pattern: /^[0-9#*]?$/ },
      input: { kind: 'values', values: ['dtmf', 'speech', 'dtmf speech', 'speech dtmf'] },
      numDigits: { kind: 'integer', min: 1 },
      timeout: { kind: 'integer', min: 1 },
      actionOnEmptyResult: BOOL,
      language: { kind: 'text' },
      hints: { kind: 'text' },
      speechTimeout: { kind: 'text', pattern: /^(auto|\d+)$/ },
      partialResultCallback: URL_ATTR,
      partialResultCallbackMethod: METHOD,
      profanityFilter: BOOL,
      speechModel: { kind: 'text' },
      enhanced: BOOL,
    },
    // "You can nest the following verbs within <Gather>: <Say>, <Play>, <Pause>"
    children: ['Say', 'Play', 'Pause'],
    text: 'none',
  },
  Say: {
    source: 'https://www.twilio.com/docs/voice/twiml/say#attributes',
    attributes: { voice: { kind: 'text' }, language: { kind: 'text', pattern: /^[a-z]{2,3}(-[A-Za-z0-9]+)*$/ }, loop: { kind: 'integer', min: 0 } },
    children: [],
    text: 'required',
  },
  Play: {
    // loop="0" repeats until the call ends: https://www.twilio.com/docs/voice/twiml/play#attributes-loop
    source: 'https://www.twilio.com/docs/voice/twiml/play#attributes',
    attributes: { loop: { kind: 'integer', min: 0 }, digits: { kind: 'text', pattern: /^[0-9wW*#]+$/ } },
    children: [],
    text: 'optional',
  },
  Pause: {
    source: 'https://www.twilio.com/docs/voice/twiml/pause#attributes',
    attributes: { length: { kind: 'integer', min: 1 } },
    children: [],
    text: 'none',
  },
  Hangup: { source: 'https://www.twilio.com/docs/voice/twiml/hangup', attributes: {}, children: [], text: 'none' },
  Redirect: { source: 'https://www.twilio.com/docs/voice/twiml/redirect#attributes', attributes: { method: METHOD }, children: [], text: 'optional' },
  Reject: { source: 'https://www.twilio.com/docs/voice/twiml/reject#attributes', attributes: { reason: { kind: 'values', values: ['rejected', 'busy'] } }, children: [], text: 'none' },
  Dial: {
    source: 'https://www.twilio.com/docs/voice/twiml/dial#attributes',
    attributes: {
      action: URL_ATTR,
      method: METHOD,
      timeout: { kind: 'integer', min: 5, max: 600 },
      hangupOnStar: BOOL,
      timeLimit: { kind: 'integer', min: 1 },
      callerId: { kind: 'text' },
      record: { kind: 'values', values: ['do-not-record', 'record-from-answer', 'record-from-ringing', 'record-from-answer-dual', 'record-from-ringing-dual'] },
      trim: { kind: 'values', values: ['trim-silence', 'do-not-trim'] },
      recordingStatusCallback: URL_ATTR,
      recordingStatusCallbackMethod: METHOD,
      recordingStatusCallbackEvent: { kind: 'list', values: ['in-progress', 'completed', 'absent'] },
      answerOnBridge: BOOL,
      ringTone: { kind: 'text' },
      recordingTrack: { kind: 'values', values: ['both', 'inbound', 'outbound'] },
      sequential: BOOL,
    },
    children: ['Conference'],
    text: 'optional',
  },
  Conference: {
    source: CONFERENCE_DOC,
    attributes: {
      muted: BOOL,
      beep: { kind: 'values', values: ['true', 'false', 'onEnter', 'onExit'] },
      startConferenceOnEnter: BOOL,
      endConferenceOnExit: BOOL,
      // "must be unique across all participants in the conference, and there is a max limit of 128 characters"
      participantLabel: { kind: 'text', maxLength: 128 },
      jitterBufferSize: { kind: 'values', values: ['small', 'medium', 'large', 'off'] },
      // "If you do not wish anything to play while waiting for the conference to start, specify the empty string"
      waitUrl: { kind: 'url', allowEmpty: true },
      waitMethod: METHOD,
      maxParticipants: { kind: 'integer', min: 1, max: 250 },
      record: { kind: 'values', values: ['do-not-record', 'record-from-start'] },
      region: { kind: 'values', values: ['us1', 'ie1', 'de1', 'sg1', 'br1', 'au1', 'jp1'] },
      trim: { kind: 'values', values: ['trim-silence', 'do-not-trim'] },
      coach: { kind: 'text', pattern: /^CA[0-9a-fA-F]{32}$/ },
      statusCallbackEvent: { kind: 'list', values: ['start', 'end', 'join', 'leave', 'mute', 'hold', 'modify', 'speaker', 'announcement'] },
      statusCallback: URL_ATTR,
      statusCallbackMethod: METHOD,
      recordingStatusCallback: URL_ATTR,
      recordingStatusCallbackMethod: METHOD,
      recordingStatusCallbackEvent: { kind: 'list', values: ['in-progress', 'completed', 'absent'] },
      eventCallbackUrl: URL_ATTR,
      recordingConfigurationId: { kind: 'text' },
    },
    children: [],
    text: 'required',
  },
};

/** "The following verbs are supported in the TwiML document located at the waitUrl" (and at a participant's holdUrl). */
export const WAIT_URL_VERBS = ['Play', 'Say', 'Pause', 'Redirect'] as const;
const WAIT_URL_DOC = 'https://www.twilio.com/docs/voice/twiml/conference#attributes-waiturl';

/** Verbs Twilio documents that the table above has no rules for yet. */
const KNOWN_UNCHECKED = ['Connect', 'Enqueue', 'Leave', 'Pay', 'Prompt', 'Refer', 'Start', 'Stop', 'Number', 'Client', 'Sip', 'Queue', 'Application'];

function checkAttribute(where: string, element: string, name: string, value: string, rule: AttributeRule, source: string): Violation | undefined {
  const bad = (message: string): Violation => ({ where, parameter: `<${element} ${name}>`, message: `${message} (got ${JSON.stringify(value)})`, source });
  switch (rule.kind) {
    case 'values':
      return rule.values.includes(value) ? undefined : bad(`must be one of ${JSON.stringify(rule.values)}`);
    case 'list': {
      const items = value.split(/\s+/).filter(Boolean);
      const wrong = items.filter((i) => !rule.values.includes(i));
      if (items.length === 0) return bad('must list at least one value');
      return wrong.length === 0 ? undefined : bad(`must be a space-separated list of ${JSON.stringify(rule.values)}; ${JSON.stringify(wrong)} is not`);
    }
    case 'integer': {
      const n = /^\d+$/.test(value) ? Number(value) : NaN;
      const ok = Number.isInteger(n) && n >= rule.min && (rule.max === undefined || n <= rule.max);
      return ok ? undefined : bad(`must be an integer from ${rule.min}${rule.max === undefined ? '' : ` to ${rule.max}`}`);
    }
    case 'url':
      if (value === '') return rule.allowEmpty ? undefined : bad('must be a URL');
      return /\s/.test(value) || !URL.canParse(value, 'https://relative.invalid/') ? bad('must be a relative or absolute URL') : undefined;
    case 'text':
      if (rule.maxLength !== undefined && value.length > rule.maxLength) return bad(`must be at most ${rule.maxLength} characters`);
      return rule.pattern && !rule.pattern.test(value) ? bad('does not have the documented form') : undefined;
  }
}

function elements(node: Node): Element[] {
  const out: Element[] = [];
  for (let c = node.firstChild; c; c = c.nextSibling) if (c.nodeType === 1) out.push(c as Element);
  return out;
}

function text(node: Node): string {
  let s = '';
  for (let c = node.firstChild; c; c = c.nextSibling) if (c.nodeType === 3 || c.nodeType === 4) s += c.nodeValue ?? '';
  return s.trim();
}

/** What the document is for: an ordinary voice answer, or the document a conference's waitUrl (or holdUrl) returns. */
export type TwimlPurpose = 'voice' | 'wait';

/** Every way `xml` leaves the documented TwiML; `label` names the document in messages. */
export function checkTwiml(xml: string, options: { purpose: TwimlPurpose; label: string }): Violation[] {
  const where = `TwiML ${options.label}`;
  const errors: string[] = [];
  let doc: ReturnType<DOMParser['parseFromString']> | undefined;
  try {
    doc = new DOMParser({ onError: (level, message) => void (level !== 'warning' && errors.push(String(message))) }).parseFromString(xml, 'text/xml');
  } catch (err) {
    // xmldom throws on fatal errors (after reporting them)
    if (errors.length === 0) errors.push((err as Error).message);
  }
  if (errors.length > 0 || !doc?.documentElement) return [{ where, message: `is not well-formed XML: ${errors.join('; ')}`, source: 'https://www.twilio.com/docs/voice/twiml' }];
  const root = doc.documentElement;
  if (root.nodeName !== 'Response') return [{ where, parameter: `<${root.nodeName}>`, message: 'is the root element; TwiML documents have a <Response> root', source: TWIML_RULES.Response?.source ?? VERBS_DOC }];
  const out: Violation[] = [];
  if (options.purpose === 'wait') {
    for (const verb of elements(root)) {
      if (!(WAIT_URL_VERBS as readonly string[]).includes(verb.nodeName)) {
        out.push({ where, parameter: `<${verb.nodeName}>`, message: `is not allowed in a waitUrl document (only ${WAIT_URL_VERBS.join(', ')})`, source: WAIT_URL_DOC });
      }
    }
  }
  const visit = (element: Element): void => {
    const rule = TWIML_RULES[element.nodeName];
    if (!rule) {
      const known = KNOWN_UNCHECKED.includes(element.nodeName);
      out.push({
        where,
        parameter: `<${element.nodeName}>`,
        message: known ? 'is a TwiML element the contract table has no rules for yet: add them, citing its doc page' : 'is not a TwiML voice element',
        source: VERBS_DOC,
      });
      return;
    }
    for (let i = 0; i < element.attributes.length; i += 1) {
      const attr = element.attributes.item(i);
      if (!attr) continue;
      const attrRule = rule.attributes[attr.name];
      if (!attrRule) out.push({ where, parameter: `<${element.nodeName} ${attr.name}>`, message: 'is not an attribute Twilio documents for this element', source: rule.source });
      else {
        const v = checkAttribute(where, element.nodeName, attr.name, attr.value, attrRule, rule.source);
        if (v) out.push(v);
      }
    }
    const body = text(element);
    if (rule.text === 'required' && !body) out.push({ where, parameter: `<${element.nodeName}>`, message: 'needs text content', source: rule.source });
    if (rule.text === 'none' && body) out.push({ where, parameter: `<${element.nodeName}>`, message: 'takes no text content', source: rule.source });
    for (const child of elements(element)) {
      if (!rule.children.includes(child.nodeName) && TWIML_RULES[child.nodeName]) {
        out.push({ where, parameter: `<${child.nodeName}>`, message: `may not appear inside <${element.nodeName}>`, source: rule.source });
      } else visit(child);
    }
  };
  visit(root);
  return out;
}
