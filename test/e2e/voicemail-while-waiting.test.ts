// A message instead of waiting, in a real browser, demo mode: a caller waits (nobody is free), hears the periodic
// callback offer, presses 2 on the phone page's keypad, leaves a message ended with #; their place in line ends (the
// history says voicemail) and an agent sees the message on their page. The stand-in never transcribes: the test posts
// Twilio's transcribeCallback itself (signed with the running app's credentials) and the agent's page shows the text.
import { twilioSignature } from '../helpers/app';
import { ADA, expectText, useE2e, waitFor } from './harness';

// The offer comes 2 s after a caller joins the line; its <Gather> waits 60 simulated seconds.
const e2e = useE2e({ ringSeconds: 5, env: { VOICEMAIL_TRANSCRIBE: 'true', CALLBACK_OFFER_AFTER_SECONDS: '2', CALLBACK_OFFER_EVERY_SECONDS: '600', MENU_TIMEOUT_SECONDS: '60', MAX_WAIT_SECONDS: '600' } });

test('when a waiting caller presses 2 at the offer and leaves a message, then their place ends as a voicemail and an agent sees it', async () => {
  const customer = await e2e.openPhone('+15557650020');
  await customer.click('#phone-call');
  await expectText(customer, '#phone-hears', /Thank you for calling|line|music/);

  await expectText(customer, '#phone-hears', /To leave a message instead, press 2/, 15000);
  await customer.click('#phone-keypad button[data-key="2"]');
  await expectText(customer, '#phone-hears', /recording your message|leave a message after the tone/, 15000);
  await new Promise((r) => setTimeout(r, 500));
  await customer.click('#phone-keypad button[data-key="#"]');
  await expectText(customer, '#phone-hears', /Your message was recorded/, 15000);
  await expectText(customer, '#phone-status', /completed/);

  const stored = await waitFor('the voicemail', async () => (await e2e.db.connection.collection('voicemails').find({ from: '+15557650020' }).toArray())[0]);
  expect(stored).toMatchObject({ reason: 'waiting' });
  expect(await e2e.db.models.calls.find({ from: '+15557650020' }).lean().exec()).toEqual([]);
  const ended = await waitFor('the call in the history', async () => (await e2e.running.history.newest({ limit: 10 })).find((r) => r._id === stored.callSid));
  expect(ended).toMatchObject({ outcome: 'voicemail', endReason: 'voicemail' });

  const ada = await e2e.openAgent(ADA);
  const row = `#voicemail-list li[data-voicemail="${String(stored._id)}"]`;
  await expectText(ada, row, /From \+15557650020/);
  expect(await ada.isHidden(`${row} .voicemail-transcript`)).toBe(true);

  // Twilio's transcription arrives (https://www.twilio.com/docs/voice/twiml/record#transcribecallback).
  const { config } = e2e.running;
  const params = { AccountSid: config.twilio.accountSid, CallSid: String(stored.callSid), RecordingSid: String(stored._id), TranscriptionStatus: 'completed', TranscriptionText: 'Please call me about <my> order.' };
  const url = `${config.publicBaseUrl}/conference/voicemail/transcription`;
  const res = await fetch(`${e2e.running.url}/conference/voicemail/transcription`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': twilioSignature(config.twilio.authToken, url, params) }, body: new URLSearchParams(params).toString() });
  expect(res.status).toBe(200);
  await ada.reload();
  await expectText(ada, `${row} .voicemail-transcript`, /Please call me about <my> order\./);
});
