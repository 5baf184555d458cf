// The gate that bounds expensive work (password checks): how many run at once, who waits, who is refused.
import { createConcurrencyGate } from '../src/auth/concurrency-gate';

class Full extends Error {}

test('when more work arrives than the gate admits, then at most `concurrent` run at once, the waiting run in arrival order, and the rest are refused at once', async () => {
  const gate = createConcurrencyGate({ concurrent: 2, waiting: 3, whenFull: () => new Full('full') });
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const work = (i: number) => async () => {
    started.push(i);
    running += 1;
    most = Math.max(most, running);
    await new Promise((resolve) => setTimeout(resolve, 20));
    running -= 1;
    return i;
  };

  const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => gate.run(work(i))));

  expect(most).toBe(2);
  expect(started).toEqual([0, 1, 2, 3, 4]);
  expect(outcomes.slice(0, 5).map((o) => (o.status === 'fulfilled' ? o.value : 'refused'))).toEqual([0, 1, 2, 3, 4]);
  expect(outcomes.slice(5).every((o) => o.status === 'rejected' && o.reason instanceof Full)).toBe(true);
  expect(gate.load()).toEqual({ running: 0, waiting: 0 });
});

test('when work fails, then its place is freed for the next in line', async () => {
  const gate = createConcurrencyGate({ concurrent: 1, waiting: 1, whenFull: () => new Full('full') });

  const failing = gate.run(async () => {
    throw new Error('boom');
  });
  const next = gate.run(async () => 'ran');

  await expect(failing).rejects.toThrow('boom');
  await expect(next).resolves.toBe('ran');
  expect(gate.load()).toEqual({ running: 0, waiting: 0 });
});
