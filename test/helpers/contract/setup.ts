// Jest setupFilesAfterEnv: fails the test during which a contract violation was recorded (a request the app sent, an
// answer or callback the stand-in gave, a TwiML document the app returned), and the file if one comes after its last test.
import { describeViolations, takeViolations } from './registry';

afterEach(() => {
  const found = takeViolations();
  if (found.length > 0) throw new Error(`Twilio contract violated during this test:\n${describeViolations(found)}`);
});

afterAll(() => {
  const found = takeViolations();
  if (found.length > 0) throw new Error(`Twilio contract violated after the last test of this file (teardown):\n${describeViolations(found)}`);
});
