// A read shared by callers at the same moment (src/models/shared-read.ts): fewer scans, never older data.
import { sharedRead } from '../src/models/shared-read';

/** A read whose answers the test releases one by one; each answer is the state as of when that read started. */
function controlledRead() {
  let state = 0;
  const started: Array<{ sawState: number; finish: (error?: Error) => void }> = [];
  const read = () =>
    new Promise<{ state: number; list: number[] }>((resolve, reject) => {
      const sawState = state;
      started.push({ sawState, finish: (error) => (error ? reject(error) : resolve({ state: sawState, list: [sawState] })) });
    });
  return { read, started, change: () => (state += 1) };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('when many callers ask while a read is under way, then they share one next read, started after they asked', async () => {
  const { read, started, change } = controlledRead();
  const shared = sharedRead(read);

  // Arrange: one read under way, then a change, then ten callers (as pages told of the change).
  const first = shared();
  change();
  const later = Array.from({ length: 10 }, () => shared());
  await tick();
  expect(started).toHaveLength(1);

  // Act
  started[0]!.finish();
  await first;
  await tick();
  started[1]!.finish();
  const answers = await Promise.all(later);

  // Assert: two reads for eleven callers, and the ten saw the change.
  expect(started).toHaveLength(2);
  expect((await first).state).toBe(0);
  expect(answers.map((a) => a.state)).toEqual(Array(10).fill(1));
});

test('when callers share a read, then each gets its own copy of the result', async () => {
  const { read, started } = controlledRead();
  const shared = sharedRead(read);
  void shared();
  const a = shared();
  const b = shared();
  await tick();
  started[0]!.finish();
  await tick();
  await tick();
  started[1]!.finish();

  const [mine, theirs] = await Promise.all([a, b]);
  mine.list.push(99);

  expect(theirs.list).toEqual([0]);
});

test('when a shared read fails, then its callers get the error and the next caller reads again', async () => {
  const { read, started } = controlledRead();
  const shared = sharedRead(read);
  const failing = shared();
  await tick();
  started[0]!.finish(new Error('database away'));
  await expect(failing).rejects.toThrow('database away');

  const again = shared();
  await tick();
  started[1]!.finish();

  expect((await again).state).toBe(0);
  expect(started).toHaveLength(2);
});
