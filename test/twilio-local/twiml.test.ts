// TwiML parsing of the local Twilio stand-in.
import { parseTwiml, TwimlError } from '../../src/twilio-local/twiml';

test('when <Conference> has no attributes, then Twilio defaults apply (start on enter, stay on exit, POST wait)', () => {
  const [dial] = parseTwiml('<Response><Dial><Conference>room</Conference></Dial></Response>');
  expect(dial).toMatchObject({
    verb: 'Dial',
    conference: { name: 'room', startConferenceOnEnter: true, endConferenceOnExit: false, waitMethod: 'POST', waitUrl: undefined },
  });
});

test('when statusCallbackEvent lists events, then they are split on spaces', () => {
  const [dial] = parseTwiml(
    '<Response><Dial><Conference statusCallback="/e" statusCallbackEvent="start end  join">r</Conference></Dial></Response>',
  );
  expect(dial?.verb === 'Dial' && [...(dial.conference?.statusCallbackEvents ?? [])]).toEqual(['start', 'end', 'join']);
});

test('when Play has loop="0" and Pause has no length, then loop 0 (forever) and length 1 are kept', () => {
  expect(parseTwiml('<Response><Play loop="0">a.mp3</Play><Pause/></Response>')).toEqual([
    { verb: 'Play', url: 'a.mp3', loop: 0 },
    { verb: 'Pause', length: 1 },
  ]);
});

test('when the document is not XML or not a <Response>, then TwimlError is thrown', () => {
  expect(() => parseTwiml('hello')).toThrow(TwimlError);
  expect(() => parseTwiml('<Say>hi</Say>')).toThrow(TwimlError);
  expect(() => parseTwiml('<Response><Say>x</Response>')).toThrow(TwimlError);
});
