// The presence store on the real database: an agent's writes to different fields at the same moment all land. FerretDB
// applies an update by reading the document and writing it back whole, so a heartbeat could undo a click on Available
// (seen in a browser test: the agent stayed away), within one instance and between two.
import { createPresenceStore, presenceModel } from '../src/models/presence';
import { openTestDatabase } from './helpers/db';

let db: Awaited<ReturnType<typeof openTestDatabase>>;

beforeAll(async () => {
  db = await openTestDatabase();
});

afterAll(async () => {
  await db.drop();
});

test('when an agent presses Available while their softphone\'s heartbeats land, then both the choice and the softphone are kept, every time', async () => {
  const presence = createPresenceStore(presenceModel(db.connection), (op) => op());
  for (let round = 0; round < 20; round += 1) {
    const agentId = `agent-${round}`;
    await presence.signedIn(agentId);

    await Promise.all([
      presence.heartbeat(agentId, 'tab-1', { takeOver: false, staleMs: 10_000, registered: true }),
      presence.choose(agentId, 'available'),
      presence.heartbeat(agentId, 'tab-1', { takeOver: false, staleMs: 10_000, registered: true }),
      presence.offerEnded(agentId, 'CA1', 'no-answer'),
      presence.heartbeat(agentId, 'tab-1', { takeOver: false, staleMs: 10_000, registered: true }),
    ]);

    const stored = await presence.get(agentId);
    expect({ round, chosen: stored?.chosen, tab: stored?.softphoneTab, ready: stored?.softphoneReady, lastOffer: stored?.lastOffer?.callSid }).toEqual({ round, chosen: 'available', tab: 'tab-1', ready: true, lastOffer: 'CA1' });
  }
});

test('when an agent\'s click and their softphone\'s heartbeats land on two instances at once, then both the choice and the softphone are kept, every time', async () => {
  // Two stores with their own turns stand in for two instances on one database.
  const [one, two] = [createPresenceStore(presenceModel(db.connection), (op) => op()), createPresenceStore(presenceModel(db.connection), (op) => op())];
  for (let round = 0; round < 20; round += 1) {
    const agentId = `two-instances-${round}`;
    await one.signedIn(agentId);
    const beat = () => two.heartbeat(agentId, 'tab-1', { takeOver: false, staleMs: 10_000, registered: true });

    await Promise.all([beat(), one.choose(agentId, 'available'), beat(), beat(), beat()]);

    const stored = await one.get(agentId);
    expect({ round, chosen: stored?.chosen, tab: stored?.softphoneTab, ready: stored?.softphoneReady }).toEqual({ round, chosen: 'available', tab: 'tab-1', ready: true });
  }
});

test('when an agent signs out, then their softphone is gone from their presence, and what they chose stays', async () => {
  const presence = createPresenceStore(presenceModel(db.connection), (op) => op());
  await presence.signedIn('leaving');
  await presence.heartbeat('leaving', 'tab-1', { takeOver: false, staleMs: 10_000, registered: true });
  await presence.choose('leaving', 'available');

  await presence.signedOut('leaving');

  const stored = await presence.get('leaving');
  expect(stored).toMatchObject({ chosen: 'available' });
  expect(stored?.softphoneTab).toBeUndefined();
  expect((await presence.all()).find((p) => p._id === 'leaving')?.lastSeenAt).toBeUndefined();
});
