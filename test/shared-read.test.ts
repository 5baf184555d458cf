// A read shared by callers at the same moment (src/models/shared-read.ts): fewer scans, never older data.
import { batchedLookup, sharedMoment, sharedRead } from '../src/models/shared-read';

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

type Answer = { state: number; list: readonly number[] };

/**
 * One read under way, then a change, then `callers` callers (as pages told of the change); the first read is let
 * finish, then the next. What each got, and how many reads had started while the first was under way and in all.
 */
async function burstDuringRead<R extends Answer>(wrap: (read: () => Promise<{ state: number; list: number[] }>) => () => Promise<R>, callers: number) {
  const { read, started, change } = controlledRead();
  const shared = wrap(read);
  const first = shared();
  change();
  const later = Array.from({ length: callers }, () => shared());
  await tick();
  const readsWhileFirstRan = started.length;
  started[0]!.finish();
  await first;
  await tick();
  started[1]!.finish();
  return { first: await first, answers: await Promise.all(later), readsWhileFirstRan, reads: started.length };
}

test('when many callers ask while a read is under way, then they share one next read, started after they asked', async () => {
  // Arrange, act: one read under way, then a change, then ten callers.
  const { first, answers, readsWhileFirstRan, reads } = await burstDuringRead(sharedRead, 10);

  // Assert: two reads for eleven callers, and the ten saw the change.
  expect(readsWhileFirstRan).toBe(1);
  expect(reads).toBe(2);
  expect(first.state).toBe(0);
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

/** A read of many keys whose answers the test releases one by one; each answers the keys' values as of its start. */
function controlledLookup() {
  const values = new Map<string, number>([['a', 1], ['b', 1], ['c', 1]]);
  const started: Array<{ keys: string[]; finish: (error?: Error) => void }> = [];
  const readMany = (keys: string[]) =>
    new Promise<Map<string, { value: number }>>((resolve, reject) => {
      const seen = new Map(keys.flatMap((key) => (values.has(key) ? [[key, { value: values.get(key)! }] as const] : [])));
      started.push({ keys, finish: (error) => (error ? reject(error) : resolve(seen)) });
    });
  return { readMany, started, change: (key: string) => values.set(key, values.get(key)! + 1) };
}

test('when callers ask for keys while a lookup is under way, then the next lookup reads all their keys at once, started after they asked', async () => {
  const { readMany, started, change } = controlledLookup();
  const lookup = batchedLookup(readMany);

  const first = lookup('a');
  change('a');
  change('b');
  const later = ['a', 'b', 'b', 'c', 'missing'].map((key) => lookup(key));
  await tick();
  expect(started.map((s) => s.keys)).toEqual([['a']]);

  started[0]!.finish();
  expect(await first).toEqual({ value: 1 });
  await tick();
  started[1]!.finish();
  const answers = await Promise.all(later);

  // Two reads for six callers; the five saw the changes; a key asked twice is read once; a missing key is undefined.
  expect(started.map((s) => s.keys)).toEqual([['a'], ['a', 'b', 'c', 'missing']]);
  expect(answers).toEqual([{ value: 2 }, { value: 2 }, { value: 2 }, { value: 1 }, undefined]);
  answers[1]!.value = 99;
  expect(answers[2]).toEqual({ value: 2 }); // each caller has its own copy
});

test('when a lookup fails, then only the callers it served get the error, and the next callers are read afresh', async () => {
  const { readMany, started } = controlledLookup();
  const lookup = batchedLookup(readMany);

  const failing = lookup('a');
  const next = lookup('b');
  await tick();
  started[0]!.finish(new Error('database gone'));
  await expect(failing).rejects.toThrow('database gone');
  await tick();
  started[1]!.finish();
  expect(await next).toEqual({ value: 1 });
});

test('when more keys wait than one lookup takes, then they are read in several lookups, each at most that many', async () => {
  const { readMany, started } = controlledLookup();
  const lookup = batchedLookup(readMany, 2);

  const first = lookup('a');
  const later = ['a', 'b', 'c'].map((key) => lookup(key));
  await tick();
  started[0]!.finish();
  await first;
  await tick();
  started[1]!.finish();
  await tick();
  await tick();
  started[2]!.finish();
  await Promise.all(later);

  expect(started.map((s) => s.keys)).toEqual([['a'], ['a', 'b'], ['c']]);
});

describe('sharedMoment', () => {
  test('when many callers ask while a read is under way, then they share one next read, the same frozen result', async () => {
    const { answers, reads } = await burstDuringRead(sharedMoment, 5);

    // Two reads for six callers; the five saw the change, and got one object, which nobody can change.
    expect(reads).toBe(2);
    expect(answers.map((a) => a.state)).toEqual(Array(5).fill(1));
    expect(new Set(answers).size).toBe(1);
    expect(() => (answers[0]!.list as number[]).push(99)).toThrow(TypeError);
    expect(answers[1]!.list).toEqual([1]);
  });
});
