// The TwiML builders, parsed back.
import { apologyTwiml, conferenceTwiml, waitTwiml } from '../src/twilio/twiml';
import { find, parseTwiml } from './helpers/twiml';

test('when a conference has no wait URL or callback, then those attributes are absent', () => {
  const twiml = parseTwiml(conferenceTwiml({ name: 'room', startConferenceOnEnter: true, endConferenceOnExit: false }));

  const conference = find(twiml, 'Conference')!;
  expect(conference.attrs).toEqual({ startConferenceOnEnter: 'true', endConferenceOnExit: 'false' });
  expect(conference.text).toBe('room');
});

test('when a conference has a callback, then it asks for start, end, join, leave and hold events by POST', () => {
  const conference = find(parseTwiml(conferenceTwiml({ name: 'r', startConferenceOnEnter: false, endConferenceOnExit: true, statusCallback: 'https://x/e', waitUrl: 'https://x/w' })), 'Conference')!;

  expect(conference.attrs).toMatchObject({ statusCallback: 'https://x/e', statusCallbackEvent: 'start end join leave hold', statusCallbackMethod: 'POST', waitUrl: 'https://x/w', waitMethod: 'POST' });
});

test('when text contains markup, then it is escaped, not interpreted', () => {
  const twiml = parseTwiml(apologyTwiml('<Hangup/> & sorry'));

  expect(twiml.children.map((c) => c.name)).toEqual(['Say', 'Hangup']);
  expect(find(twiml, 'Say')!.text).toBe('<Hangup/> & sorry');
});

test('when the hold music is a URL with a query, then Play carries it intact', () => {
  const play = find(parseTwiml(waitTwiml({ greeting: 'hi', musicUrl: 'https://m.test/a.mp3?x=1&y=2' })), 'Play')!;

  expect(play.text).toBe('https://m.test/a.mp3?x=1&y=2');
});
