// The lease that serialises account changes across app instances: exclusive on the real database server (FerretDB's
// updates are not atomic, its unique _id inserts are), taken over when its holder died, and refused when busy too long.
import mongoose from 'mongoose';
import { createLease, LOCKS_COLLECTION } from '../src/models/lock';
import { openTestDatabase } from './helpers/db';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let other: mongoose.Connection;

beforeAll(async () => {
  db = await openTestDatabase();
  // A second connection to the same database: another app instance, or the CLI.
  other = await mongoose.createConnection(process.env.TEST_MONGODB_URI!, { dbName: db.connection.name }).asPromise();
});

afterAll(async () => {
  await other?.close();
  await db?.drop();
});

class Busy extends Error {}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('when 40 contenders on two connections run under one lease at once, then never two hold it together, and every one runs', async () => {
  const options = { ttlMs: 30_000, waitMs: 30_000, whenBusy: () => new Busy('busy') };
  const leases = [createLease(db.connection, 'exclusive', options), createLease(other, 'exclusive', options)];
  let holding = 0;
  let most = 0;
  let ran = 0;

  await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      leases[i % 2]!.run(async () => {
        holding += 1;
        most = Math.max(most, holding);
        await sleep(2);
        holding -= 1;
        ran += 1;
      }),
    ),
  );

  expect(most).toBe(1);
  expect(ran).toBe(40);
  // The chain is pruned as it goes: only the newest link (or a few racing) is left.
  expect(await db.connection.collection(LOCKS_COLLECTION).countDocuments({ name: 'exclusive' })).toBeLessThanOrEqual(2);
}, 60_000);

test('when the holder died without releasing, then the next contender waits until the lease expires and takes it over', async () => {
  // What a holder that crashed leaves behind: the newest link, never released.
  await db.connection.collection(LOCKS_COLLECTION).insertOne({ _id: 'orphaned#1' as never, name: 'orphaned', seq: 1, holder: 'dead', expiresAt: new Date(Date.now() + 600) });
  const lease = createLease(db.connection, 'orphaned', { ttlMs: 5000, waitMs: 5000, whenBusy: () => new Busy('busy') });
  const started = Date.now();

  const waited = await lease.run(async () => Date.now() - started);

  expect(waited).toBeGreaterThanOrEqual(500);
  expect(waited).toBeLessThan(3000);
});

test('when the lease stays busy longer than a contender may wait (in this process or another), then it is refused with the busy error and runs nothing', async () => {
  const lease = createLease(db.connection, 'held', { ttlMs: 10_000, waitMs: 300, whenBusy: () => new Busy('busy') });
  let ran = false;

  const holder = lease.run(() => sleep(1500));
  await sleep(50);
  const refused = lease.run(async () => {
    ran = true;
  });
  // Another instance (its own connection and line): it waits on the database's lease, and gives up likewise.
  const refusedElsewhere = createLease(other, 'held', { ttlMs: 10_000, waitMs: 300, whenBusy: () => new Busy('busy') }).run(async () => {
    ran = true;
  });

  await expect(refused).rejects.toBeInstanceOf(Busy);
  await expect(refusedElsewhere).rejects.toBeInstanceOf(Busy);
  await holder;
  expect(ran).toBe(false);
  // The line moves on once the holder is done.
  await expect(lease.run(async () => 'next')).resolves.toBe('next');
});
