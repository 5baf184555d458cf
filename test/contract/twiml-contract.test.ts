// The TwiML table against Twilio's documentation: every document the app's builders make passes, and a bad
// attribute value or a verb out of place is reported by name.
import { apologyTwiml, conferenceTwiml, emptyTwiml, GREETING, waitTwiml } from '../../src/twilio/twiml';
import { checkTwiml, TWIML_RULES } from '../helpers/contract/twiml';

const voice = { purpose: 'voice' as const, label: 'under test' };
const wait = { purpose: 'wait' as const, label: 'under test' };

test('when every row of the table is read, then each cites a twilio.com TwiML page', () => {
  for (const rule of Object.values(TWIML_RULES)) expect(rule.source).toMatch(/^https:\/\/www\.twilio\.com\/docs\/voice\/twiml/);
});

test("when the app's builders make their documents, then each is documented TwiML", () => {
  const customer = conferenceTwiml({ name: 'CA1', startConferenceOnEnter: false, endConferenceOnExit: true, waitUrl: 'https://a.test/conference/wait', statusCallback: 'https://a.test/conference/events' });
  const agent = conferenceTwiml({ name: 'CA1', startConferenceOnEnter: true, endConferenceOnExit: false, beep: false });

  expect(checkTwiml(customer, voice)).toEqual([]);
  expect(checkTwiml(agent, voice)).toEqual([]);
  expect(checkTwiml(waitTwiml({ greeting: GREETING, musicUrl: 'https://m.test/hold.mp3' }), wait)).toEqual([]);
  expect(checkTwiml(apologyTwiml('Sorry.'), voice)).toEqual([]);
  expect(checkTwiml(emptyTwiml(), voice)).toEqual([]);
});

test('when statusCallbackEvent lists an event Twilio does not have, then the attribute is named with the documented set', () => {
  const [v] = checkTwiml('<Response><Dial><Conference statusCallbackEvent="start answered">r</Conference></Dial></Response>', voice);

  expect(v!.parameter).toBe('<Conference statusCallbackEvent>');
  expect(v!.message).toContain('["answered"]');
  expect(v!.source).toBe('https://www.twilio.com/docs/voice/twiml/conference#attributes');
});

test('when beep, participantLabel or Play loop are out of their documented range, then each is named', () => {
  const label = 'x'.repeat(129);
  const found = checkTwiml(`<Response><Play loop="-1">a.mp3</Play><Dial><Conference beep="loud" participantLabel="${label}">r</Conference></Dial></Response>`, voice);

  expect(found.map((v) => v.parameter).sort()).toEqual(['<Conference beep>', '<Conference participantLabel>', '<Play loop>']);
});

test('when a waitUrl document dials or hangs up, then the verb is named as not allowed there', () => {
  const found = checkTwiml('<Response><Say>hold on</Say><Dial><Conference>r</Conference></Dial><Hangup/></Response>', wait);

  expect(found.map((v) => v.parameter)).toEqual(['<Dial>', '<Hangup>']);
});

test('when an attribute is unknown, the root is not <Response>, or the XML is broken, then each is reported', () => {
  expect(checkTwiml('<Response><Say colour="red">hi</Say></Response>', voice).map((v) => v.parameter)).toEqual(['<Say colour>']);
  expect(checkTwiml('<Say>hi</Say>', voice).map((v) => v.parameter)).toEqual(['<Say>']);
  expect(checkTwiml('<Response><Say>hi</Response>', voice)[0]!.message).toMatch(/not well-formed/);
});

test('when the document uses a verb the table has no rules for, then it says to add them rather than passing it', () => {
  expect(checkTwiml('<Response><Connect/></Response>', voice)[0]!.message).toMatch(/no rules for yet/);
});

test('when a <Gather> nests Say and takes documented attributes, then it passes; a bad finishOnKey, a nested Dial or a Gather in a waitUrl document is reported', () => {
  expect(checkTwiml('<Response><Gather input="dtmf" numDigits="1" timeout="5" finishOnKey="" action="/menu" method="POST"><Say>Press 1</Say><Pause length="1"/></Gather><Redirect>/menu</Redirect></Response>', voice)).toEqual([]);
  expect(checkTwiml('<Response><Gather finishOnKey="ab"/></Response>', voice).map((v) => v.parameter)).toEqual(['<Gather finishOnKey>']);
  expect(checkTwiml('<Response><Gather><Dial><Conference>r</Conference></Dial></Gather></Response>', voice).map((v) => v.parameter)).toEqual(['<Dial>']);
  expect(checkTwiml('<Response><Gather numDigits="1"><Say>Press 1</Say></Gather></Response>', wait).map((v) => v.parameter)).toEqual(['<Gather>']);
});
