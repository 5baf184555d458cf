// Callers told sorry (their call could not be stored in time) are known to every instance, not only the one that
// apologised: no instance ever rings an agent for one, and any instance removes a late record the apologising
// instance left behind. Three app processes on one database behind one PUBLIC_BASE_URL; the database is paused with
// SIGSTOP when it is the embedded FerretDB this file starts (not a MONGODB_URI the user gave).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFerretdb, type EmbeddedDatabase } from '../../src/db/ferretdb';
import { historyDatabaseName } from '../../src/models/history';
import { saveOutput } from '../helpers/app-process';
import { ContactCenterSim, databaseUri } from '../helpers/contact-center-sim';
import { contractObserver } from '../helpers/contract/observe';

const FULL = process.env.INSTANCES_SUITE === 'full';
const EMBEDDED = !process.env.MONGODB_URI;
const dbName = `told_sorry_${randomBytes(4).toString('hex')}`;
let dataDir: string | undefined;
let ferretdb: EmbeddedDatabase | undefined;
let sim: ContactCenterSim;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  // A FerretDB of this file's own when embedded: pausing the run's shared one would stall other test files.
  if (EMBEDDED) {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-told-sorry-'));
    ferretdb = await startFerretdb({ dataDir, log: () => undefined });
  }
  sim = await ContactCenterSim.start({
    instances: 3,
    agents: 2,
    mongodbUri: databaseUri(ferretdb?.uri ?? process.env.TEST_MONGODB_URI!, dbName),
    env: { RING_SECONDS: '20', WRAP_UP_SECONDS: '0', DB_TIMEOUT_MS: '1000' },
    jitterMs: 5,
    observe: contractObserver(),
    timing: { ringMs: 200, talkMs: 500, afterMs: 300 },
  });
}, 180_000);

afterAll(async () => {
  for (const instance of sim?.instances ?? []) saveOutput(`told-sorry-${instance.name}`, instance.output);
  await sim?.db.connection.dropDatabase().catch(() => undefined);
  await sim?.db.connection.getClient().db(historyDatabaseName(dbName)).dropDatabase().catch(() => undefined);
  await sim?.stop();
  await ferretdb?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

test('when an instance that told a caller sorry died before removing the late record, then no instance rings anyone for it and another removes it', async () => {
  const callSid = `CA${randomBytes(16).toString('hex')}`;
  const db = sim.db.connection;
  // Arrange: the apology recorded a minute ago, and the late record in the live store, waiting, as it landed.
  await db.collection('told_sorry').insertOne({ _id: callSid as never, at: new Date(Date.now() - 60_000) });
  await db.collection('calls').insertOne({ _id: callSid as never, conferenceName: callSid, status: 'waiting', participants: [], passedBy: [], transfers: [], events: [], rev: 0, createdAt: new Date(), updatedAt: new Date() });

  // Act: every instance runs routing passes while both agents are free.
  for (let i = 0; i < 5; i += 1) {
    await sim.pokeRouting();
    await sleep(300);
  }
  const deadline = Date.now() + 25_000;
  while ((await db.collection('calls').countDocuments({ _id: callSid as never })) > 0 && Date.now() < deadline) await sleep(250);

  // Assert
  expect([...sim.rings.values()].filter((r) => r.callSid === callSid)).toEqual([]);
  expect(sim.problems).toEqual([]); // an agent rung for a call nobody made would be here
  expect(await db.collection('calls').countDocuments({ _id: callSid as never })).toBe(0);
  expect(sim.instances.some((i) => i.output.some((line) => line.includes('removed late records of callers told sorry by another instance')))).toBe(true);

  // And routing still serves the next caller.
  const next = await sim.placeCall('talk');
  await sim.allEnded(20_000);
  expect(next.answeredBy).toBeDefined();
}, 90_000);

(EMBEDDED ? test : test.skip)(`when the database is paused 8 s while callers arrive (${FULL ? 3 : 1} times), then those told sorry by one instance are rung by none, and their late records go`, async () => {
  const rounds = FULL ? 3 : 1;
  for (let round = 0; round < rounds; round += 1) {
    const pid = ferretdb!.pid()!;
    process.kill(pid, 'SIGSTOP');
    try {
      // Callers arrive over the first seconds of the pause; their webhooks land on the instances at random.
      for (let i = 0; i < 4; i += 1) {
        await sim.placeCall('talk');
        await sleep(400);
      }
      await sleep(8000 - 1600);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // The late records land now: every instance runs routing passes meanwhile, with both agents free.
    for (let i = 0; i < 10; i += 1) {
      await sim.pokeRouting();
      await sleep(200);
    }
    await sim.allEnded(30_000);
  }
  const sorry = sim.toldSorry();
  const deadline = Date.now() + 25_000;
  while ((await sim.db.connection.collection('calls').countDocuments({ _id: { $in: sorry } as never })) > 0 && Date.now() < deadline) await sleep(250);

  expect(sorry.length).toBeGreaterThan(0);
  expect([...sim.rings.values()].filter((r) => sorry.includes(r.callSid)).map((r) => `${r.agentId} rung for ${r.callSid}`)).toEqual([]);
  expect(await sim.db.connection.collection('calls').countDocuments({ _id: { $in: sorry } as never })).toBe(0);
  // Everyone who was not told sorry was answered.
  const served = [...sim.calls.values()].filter((c) => !sorry.includes(c.callSid));
  expect(served.filter((c) => c.answeredBy === undefined).map((c) => c.callSid)).toEqual([]);
  expect(sim.customerCallsLive()).toEqual([]);
}, 180_000);
