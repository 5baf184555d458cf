// The presence store on the real database: an agent's writes to different fields at the same moment all land. FerretDB
// applies an update by reading the document and writing it back whole, so without turns a heartbeat could undo a
// click on Available (seen in a browser test: the agent stayed away).
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
