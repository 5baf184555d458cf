// Three app processes on one database (the run's embedded FerretDB, or MONGODB_URI) behind one PUBLIC_BASE_URL: the
// local Twilio stand-in's signed webhooks for the same calls land on the instances at random, many calls at once,
// agents answer, decline, consult, transfer and hang up, and one instance is killed with SIGKILL mid-call while its
// pages reconnect to another. `npm run test:instances` runs the full version (INSTANCES_SUITE=full); `npm test` a
// shorter one.
import { randomBytes } from 'node:crypto';
import { historyDatabaseName } from '../../src/models/history';
import { ContactCenterSim, databaseUri, type SimCall } from '../helpers/contact-center-sim';
import { contractObserver } from '../helpers/contract/observe';
import { saveOutput } from '../helpers/app-process';
import { historyOf, historyProblems, offerProblems, pageLags, refusedWebhooks, scriptMix, strandedProblems } from '../helpers/sim-checks';

const FULL = process.env.INSTANCES_SUITE === 'full';
const SIZE = FULL ? { agents: 10, first: 6, second: 30, gapMs: 600 } : { agents: 6, first: 4, second: 6, gapMs: 700 };
const dbName = `instances_${randomBytes(4).toString('hex')}`;
let sim: ContactCenterSim;

beforeAll(async () => {
  sim = await ContactCenterSim.start({
    instances: 3,
    agents: SIZE.agents,
    mongodbUri: databaseUri(process.env.TEST_MONGODB_URI!, dbName),
    env: { RING_SECONDS: '20', WRAP_UP_SECONDS: '0' },
    jitterMs: 5,
    observe: contractObserver(),
    timing: { ringMs: 300, talkMs: 4000, afterMs: 1200 },
  });
}, 180_000);

afterAll(async () => {
  for (const instance of sim?.instances ?? []) saveOutput(`instances-${instance.name}`, instance.output);
  await sim?.db.connection.dropDatabase().catch(() => undefined);
  await sim?.db.connection.getClient().db(historyDatabaseName(dbName)).dropDatabase().catch(() => undefined);
  await sim?.stop();
}, 60_000);

test(`when ${SIZE.first + SIZE.second} callers' webhooks land on three instances at random and one instance is killed mid-call, then every call is offered to one agent at a time, its history is complete, nobody is stranded and pages keep up`, async () => {
  const scripts = scriptMix(SIZE.first + SIZE.second, [['talk', 3], ['decline-first', 2], ['consult', 2], ['cold', 2], ['agent-hangs-up', 1]]);
  const placed: SimCall[] = [];

  // Arrange: a first group of callers, all answered and talking.
  for (const script of scripts.slice(0, SIZE.first)) {
    placed.push(await sim.placeCall(script));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const deadline = Date.now() + 30_000;
  while (placed.some((c) => c.answeredAt === undefined) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(placed.filter((c) => c.answeredAt === undefined).map((c) => c.callSid)).toEqual([]);

  // Act: one instance dies mid-call (at a moment it has nothing in flight); more callers come meanwhile.
  await sim.whenQuiet('i2', 150);
  sim.kill('i2');
  for (const script of scripts.slice(SIZE.first)) {
    placed.push(await sim.placeCall(script));
    await new Promise((resolve) => setTimeout(resolve, SIZE.gapMs));
  }
  const ended = await sim.allEnded(120_000);
  await new Promise((resolve) => setTimeout(resolve, 2000)); // the last changes reach every page, background work ends

  // Assert
  expect(ended).toBe(true);
  expect(sim.problems).toEqual([]);
  expect(offerProblems(sim)).toEqual([]);
  expect(refusedWebhooks(sim)).toEqual([]);
  expect(historyProblems(sim, await historyOf(sim))).toEqual([]);
  expect(await strandedProblems(sim)).toEqual([]);
  const pages = pageLags(sim, 1000);
  expect(pages.problems).toEqual([]);
  expect(pages.reconnected.length).toBeGreaterThan(0); // the killed instance's pages did move
  for (const instance of sim.instances.filter((i) => i.alive)) expect(instance.output.filter((line) => / ERROR /.test(line))).toEqual([]);
  process.stdout.write(`instances: ${placed.length} calls (${placed.filter((c) => c.ran !== c.script).length} could not find a colleague), ${sim.lb.log.length} webhooks, page lag after an answer max ${Math.max(...pages.answered)} ms, after losing an instance max ${Math.max(...pages.reconnected)} ms\n`);
}, FULL ? 600_000 : 240_000);
