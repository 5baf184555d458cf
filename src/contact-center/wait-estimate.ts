// The estimated wait a caller hears: from how fast their queue's calls were answered lately. Pure: no I/O.
//
// With `answers` calls of the queue answered in the last `windowMs`, the queue answers about answers / window; a caller
// at `position` waits about position / that rate. Said only when it is meaningful: at least MIN_ANSWERS answers in the
// window (fewer say more about chance than about the queue), and a wait of a minute or more (shorter ones are not
// worth a sentence), rounded up to whole minutes; beyond an hour it is not promised.

export const MIN_ANSWERS = 3;

/** Seconds a caller at `position` may expect to wait, or undefined when the estimate would not mean much. */
export function estimatedWaitSeconds(input: { position: number; answers: number; windowMs: number }): number | undefined {
  if (input.position < 1 || input.answers < MIN_ANSWERS || input.windowMs <= 0) return undefined;
  const perSecond = input.answers / (input.windowMs / 1000);
  const seconds = input.position / perSecond;
  return seconds >= 60 && seconds <= 3600 ? seconds : undefined;
}

/** The sentence a caller hears, or undefined. */
export function estimatedWaitSentence(seconds: number | undefined): string | undefined {
  if (seconds === undefined) return undefined;
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? 'Your expected wait is about 1 minute.' : `Your expected wait is about ${minutes} minutes.`;
}
