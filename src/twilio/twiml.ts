// Pure TwiML builders: each returns the XML document for one answer to Twilio.
import twilio from 'twilio';
import { sayable } from '../contact-center/plain-text';

const { VoiceResponse } = twilio.twiml;

export interface ConferenceTwimlOptions {
  name: string;
  /** A label unique among the conference's active participants, to address them by (customer, agent:<id>). */
  participantLabel?: string;
  startConferenceOnEnter: boolean;
  endConferenceOnExit: boolean;
  /** Absolute URL Twilio fetches for what waiting participants hear. */
  waitUrl?: string;
  /** Absolute URL for conference events (start, end, join, leave, hold and unhold). */
  statusCallback?: string;
  beep?: boolean;
  /** Said before the caller joins. */
  before?: string;
}

/**
 * `<Dial><Conference>`: the caller or an agent joins the named conference.
 * https://www.twilio.com/docs/voice/twiml/conference#attributes
 */
export function conferenceTwiml(options: ConferenceTwimlOptions): string {
  const response = new VoiceResponse();
  if (options.before) response.say(sayable(options.before));
  const dial = response.dial();
  dial.conference(
    {
      startConferenceOnEnter: options.startConferenceOnEnter,
      endConferenceOnExit: options.endConferenceOnExit,
      beep: options.beep === undefined ? undefined : options.beep ? 'true' : 'false',
      ...(options.participantLabel ? { participantLabel: options.participantLabel } : {}),
      ...(options.waitUrl ? { waitUrl: options.waitUrl, waitMethod: 'POST' } : {}),
      ...(options.statusCallback
        ? { statusCallback: options.statusCallback, statusCallbackMethod: 'POST', statusCallbackEvent: ['start', 'end', 'join', 'leave', 'hold'] }
        : {}),
    },
    options.name,
  );
  return response.toString();
}

/**
 * What a caller hears while the conference waits for an agent: a greeting, their place in line, music, and then the
 * same again from `next` (a waitUrl document may use Play, Say, Pause and Redirect:
 * https://www.twilio.com/docs/voice/twiml/conference#attributes-waitUrl). Without `next` the music loops until the
 * conference starts (loop="0": https://www.twilio.com/docs/voice/twiml/play#attributes-loop).
 */
export function waitTwiml(options: { greeting?: string; announcement?: string; musicUrl: string; next?: string }): string {
  const response = new VoiceResponse();
  if (options.greeting) response.say(sayable(options.greeting));
  if (options.announcement) response.say(sayable(options.announcement));
  response.play({ loop: options.next ? 1 : 0 }, options.musicUrl);
  if (options.next) response.redirect({ method: 'POST' }, options.next);
  return response.toString();
}

/**
 * The keypad menu: the prompt inside a one-key `<Gather>` whose key goes to `action`; when nothing is pressed before
 * `timeoutSeconds`, Twilio goes on to the `<Redirect>`, which posts to `action` without Digits (the default queue).
 * https://www.twilio.com/docs/voice/twiml/gather
 */
export function menuTwiml(options: { intro?: string; prompt: string; action: string; timeoutSeconds: number }): string {
  const response = new VoiceResponse();
  const gather = response.gather({ input: ['dtmf'], numDigits: 1, timeout: options.timeoutSeconds, action: options.action, method: 'POST' });
  if (options.intro) gather.say(sayable(options.intro));
  gather.say(sayable(options.prompt));
  response.redirect({ method: 'POST' }, options.action);
  return response.toString();
}

/** Goes on with the document at `url` (https://www.twilio.com/docs/voice/twiml/redirect). */
export function redirectTwiml(url: string): string {
  const response = new VoiceResponse();
  response.redirect({ method: 'POST' }, url);
  return response.toString();
}

/**
 * The callback offer (the caller was moved out of their conference to hear it): 1 asks for a callback; nothing (or
 * another key) goes back to the line, through the `<Redirect>`.
 */
export function callbackOfferTwiml(options: { action: string; timeoutSeconds: number; position?: number; message?: boolean }): string {
  const response = new VoiceResponse();
  const gather = response.gather({ input: ['dtmf'], numDigits: 1, timeout: options.timeoutSeconds, action: options.action, method: 'POST' });
  gather.say(`You do not need to wait on hold: we can call you back, and you keep your place in line. To be called back, press 1.${options.message ? ' To leave a message instead, press 2.' : ''} To keep waiting, stay on the line.`);
  response.redirect({ method: 'POST' }, options.action);
  return response.toString();
}

/** The number to call back: 1 confirms the caller's number; another number typed and # replaces it. */
export function callbackNumberTwiml(options: { number?: string; action: string; timeoutSeconds: number }): string {
  const response = new VoiceResponse();
  const gather = response.gather({ input: ['dtmf'], finishOnKey: '#', timeout: options.timeoutSeconds, action: options.action, method: 'POST' });
  if (options.number) gather.say(`We will call you back at ${digitByDigit(options.number)}. To confirm, press 1 and then the pound key. To use another number, type it with its country code, then the pound key.`);
  else gather.say('Please type the number to call you back at, with its country code, then the pound key.');
  response.redirect({ method: 'POST' }, options.action);
  return response.toString();
}

/** A number said digit by digit (`+1 555…` as `1 5 5 5 …`), as a caller checks it. */
export function digitByDigit(number: string): string {
  return number.replace(/\D/g, '').split('').join(' ');
}

/**
 * A number the caller typed, read back digit by digit as a one-key menu (menuTwiml): 1 confirms it, 2 types it again;
 * nothing pressed goes on to the `<Redirect>`, which posts to `action` without Digits.
 * https://www.twilio.com/docs/voice/twiml/gather
 */
export function callbackConfirmTwiml(options: { number: string; action: string; timeoutSeconds: number; intro?: string }): string {
  return menuTwiml({ ...(options.intro ? { intro: options.intro } : {}), prompt: `You typed ${digitByDigit(options.number)}. To be called back at this number, press 1. To type it again, press 2.`, action: options.action, timeoutSeconds: options.timeoutSeconds });
}

/** An apology and a hang-up: what Twilio gets instead of an error page. */
export function apologyTwiml(message: string): string {
  const response = new VoiceResponse();
  response.say(sayable(message));
  response.hangup();
  return response.toString();
}

/**
 * We are closed, and the caller may leave a message: the reason, then <Record> (ended by # or hanging up, at most
 * `maxLength` seconds) whose action and recording status callback keep it. Nothing recorded: goodbye.
 * https://www.twilio.com/docs/voice/twiml/record
 */
export function voicemailTwiml(options: { message: string; action: string; statusCallback: string; maxLength: number; transcribeCallback?: string }): string {
  const response = new VoiceResponse();
  response.say(sayable(options.message));
  response.say('Please leave a message after the tone, and press the pound key when you are done.');
  response.record({
    action: options.action,
    method: 'POST',
    maxLength: options.maxLength,
    finishOnKey: '#',
    playBeep: true,
    recordingStatusCallback: options.statusCallback,
    recordingStatusCallbackMethod: 'POST',
    recordingStatusCallbackEvent: ['completed'],
    // Twilio transcribes messages of up to two minutes and posts the text to transcribeCallback (a paid feature).
    // https://www.twilio.com/docs/voice/twiml/record#transcribe
    ...(options.transcribeCallback ? { transcribe: true, transcribeCallback: options.transcribeCallback } : {}),
  });
  response.say('We did not get a message. Goodbye.');
  response.hangup();
  return response.toString();
}

/** We are closed: why and when we open, then goodbye. */
export function closedTwiml(message: string): string {
  const response = new VoiceResponse();
  response.say(sayable(message));
  response.say('Goodbye.');
  response.hangup();
  return response.toString();
}

/** An empty response: Twilio does nothing more for this request. */
export function emptyTwiml(): string {
  return new VoiceResponse().toString();
}

/** Ends the call at once (https://www.twilio.com/docs/voice/twiml/hangup). */
export function hangUpTwiml(): string {
  const response = new VoiceResponse();
  response.hangup();
  return response.toString();
}

export const GREETING = 'Thank you for calling. Please hold while we connect you to the next available agent.';
/** The greeting for a caller who has just been thanked by the menu. */
export const GREETING_AFTER_MENU = 'Please hold while we connect you to the next available agent.';
