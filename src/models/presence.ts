// Presence as agents set it and their softphones report it: per agent, keyed by the agent's id, one small document of
// what they chose and one of what their softphone reports.
import { Schema, type Connection, type Model } from 'mongoose';
import { CHOSEN_STATUSES, type ChosenStatus } from '../contact-center/presence';
import type { PendingWrapUp } from '../contact-center/wrap-up';
import { sharedRead } from './shared-read';
import { createTurns } from './turns';

export interface PresenceRecord {
  /** The agent's id. */
  _id: string;
  chosen: ChosenStatus;
  chosenAt: Date;
  /** Why the server chose for them (e.g. a missed call set them away). */
  note?: string;
  /** The owning tab's last heartbeat. */
  lastSeenAt?: Date;
  /** The browser tab that owns the agent's softphone; other tabs of the same agent stay quiet. */
  softphoneTab?: string;
  /**
   * The owning tab's softphone is registered (the Voice SDK Device said `registered`): only then can an offer ring it.
   * A page sends heartbeats before its device registers (fetching a token, connecting), and says so.
   */
  softphoneReady?: boolean;
  /** When the agent last finished a call (or became available): the longest idle is offered first. */
  idleSince: Date;
  /** How the agent's last ring ended without them answering, so their page can say what happened. */
  lastOffer?: { callSid: string; outcome: OfferOutcome; at: Date };
  /** The agent's last call, until they pick its wrap-up code (or a later call takes its place). */
  wrapUp?: PendingWrapUp;
}

/**
 * Why a ring ended unanswered: busy (declined), no-answer (rang out), dial-failed (could not be rung), caller-hung-up
 * (the customer left while it rang), canceled (the agent who asked cancelled it, or the call went elsewhere).
 */
export type OfferOutcome = 'busy' | 'no-answer' | 'dial-failed' | 'failed' | 'caller-hung-up' | 'canceled';

const presenceSchema = new Schema<PresenceRecord>(
  {
    _id: { type: String, required: true },
    chosen: { type: String, enum: CHOSEN_STATUSES, required: true },
    chosenAt: { type: Date, required: true },
    note: { type: String },
    // The softphone's fields (softphoneTab, lastSeenAt, softphoneReady) live in presence_softphones.
    idleSince: { type: Date, required: true },
    lastOffer: { type: { _id: false, callSid: String, outcome: String, at: Date } },
    wrapUp: { type: { _id: false, callSid: String, startedAt: Date, from: String, direction: String, since: Date } },
  },
  { versionKey: false },
);

export type PresenceModel = Model<PresenceRecord>;

export function presenceModel(connection: Connection): PresenceModel {
  return (connection.models.Presence as PresenceModel | undefined) ?? connection.model<PresenceRecord>('Presence', presenceSchema, 'presence');
}

/** What an agent's softphone reports, kept apart from what the agent chose (see createPresenceStore). */
interface SoftphoneRecord {
  _id: string;
  softphoneTab: string;
  lastSeenAt: Date;
  softphoneReady: boolean;
}
type PresenceFields = Omit<PresenceRecord, 'softphoneTab' | 'lastSeenAt' | 'softphoneReady'>;

/** One agent's presence: what they chose, with what their softphone reports (none: no softphone seen). */
function merged(agentId: string, chosen: PresenceFields | null | undefined, softphone: SoftphoneRecord | null | undefined): PresenceRecord | null {
  if (!chosen && !softphone) return null;
  // A softphone seen before the agent chose anything: away, as a heartbeat's first write used to store it.
  const { softphoneTab: _tab, lastSeenAt: _seen, softphoneReady: _ready, ...fields } = (chosen ?? { _id: agentId, chosen: 'away', chosenAt: new Date(0), idleSince: softphone!.lastSeenAt }) as PresenceRecord;
  return { ...fields, ...(softphone ? { softphoneTab: softphone.softphoneTab, lastSeenAt: softphone.lastSeenAt, softphoneReady: softphone.softphoneReady } : {}) };
}

/**
 * Presence's named queries and writes. What the agent chose (and the server noted: a missed ring, the wrap-up) is one
 * document in `presence`; what their softphone reports is one in `presence_softphones`. FerretDB applies an update by
 * reading the document and writing it back whole, so two writes to different fields of one document at once can lose
 * one: a heartbeat landing with a click on Available left the agent away. Heartbeats, the most frequent write, no
 * longer share a document with anything else, on one instance or several. Within this process an agent's writes to
 * each document also take turns (a missed ring and a click can still cross between instances: docs/instances.md).
 */
export function createPresenceStore(model: PresenceModel, run: <T>(op: () => Promise<T>) => Promise<T>) {
  const softphones = () => model.db.collection<SoftphoneRecord>('presence_softphones');
  // Every page reads it on every change: callers at the same moment share one scan of each.
  const all = sharedRead(() =>
    run(async () => {
      const [chosen, phones] = await Promise.all([model.find({}).lean<PresenceFields[]>().exec(), softphones().find({}).toArray()]);
      const chosenBy = new Map(chosen.map((p) => [p._id, p]));
      const phoneBy = new Map(phones.map((p) => [p._id, p]));
      return [...new Set([...chosenBy.keys(), ...phoneBy.keys()])].map((agentId) => merged(agentId, chosenBy.get(agentId), phoneBy.get(agentId))!);
    }),
  );
  const inTurn = createTurns();
  /** The heartbeat itself (see heartbeat below), run in the agent's softphone's turn. */
  async function heartbeatNow(agentId: string, tabId: string, options: { takeOver: boolean; staleMs: number; registered: boolean }): Promise<{ owner: boolean; cameOnline: boolean; wentQuiet: boolean }> {
    const now = new Date();
    const current = await run(() => softphones().findOne({ _id: agentId }));
    const ownerAlive = Boolean(current && now.getTime() - current.lastSeenAt.getTime() <= options.staleMs);
    if (current && current.softphoneTab !== tabId && ownerAlive && !options.takeOver) return { owner: false, cameOnline: false, wentQuiet: false };
    await run(() => softphones().updateOne({ _id: agentId }, { $set: { softphoneTab: tabId, lastSeenAt: now, softphoneReady: options.registered } }, { upsert: true }));
    // This tab's softphone is new to routing: the agent was offline, another tab had it, or it just registered.
    const wasReady = ownerAlive && current?.softphoneTab === tabId && Boolean(current.softphoneReady);
    return { owner: true, cameOnline: options.registered && !wasReady, wentQuiet: wasReady && !options.registered };
  }

  return {
    all(): Promise<PresenceRecord[]> {
      return all();
    },

    async get(agentId: string): Promise<PresenceRecord | null> {
      const [chosen, softphone] = await run(() => Promise.all([model.findById(agentId).lean<PresenceFields>().exec(), softphones().findOne({ _id: agentId })]));
      return merged(agentId, chosen, softphone);
    },

    /** The agent sets themselves available or away (or the server does, with a note). */
    async choose(agentId: string, chosen: ChosenStatus, note?: string): Promise<void> {
      const now = new Date();
      await inTurn(agentId, () => run(() =>
        model
          .updateOne(
            { _id: agentId },
            { $set: { chosen, chosenAt: now, ...(chosen === 'available' ? { idleSince: now } : {}), ...(note ? { note } : {}) }, ...(note ? {} : { $unset: { note: 1 } }), $setOnInsert: chosen === 'available' ? {} : { idleSince: now } },
            { upsert: true },
          )
          .exec(),
      ));
    },

    /**
     * A tab's softphone says it is alive. The tab owns the agent's softphone when nobody does, when the owner went
     * silent for `staleMs`, or when it asks to take over; otherwise it is told another tab has it. `cameOnline`: the
     * agent's softphone was not alive in this tab until now.
     */
    heartbeat(agentId: string, tabId: string, options: { takeOver: boolean; staleMs: number; registered: boolean }): Promise<{ owner: boolean; cameOnline: boolean; wentQuiet: boolean }> {
      return inTurn(`softphone:${agentId}`, () => heartbeatNow(agentId, tabId, options));
    },

    /** The agent signed in: they start away, whatever they chose in their last shift, until they choose available. */
    async signedIn(agentId: string): Promise<void> {
      const now = new Date();
      await inTurn(agentId, () => run(() => model.updateOne({ _id: agentId }, { $set: { chosen: 'away', chosenAt: now }, $unset: { note: 1 }, $setOnInsert: { idleSince: now } }, { upsert: true }).exec()));
    },

    /** The agent signed out: offline at once, whichever tab had the softphone. */
    async signedOut(agentId: string): Promise<void> {
      await inTurn(`softphone:${agentId}`, () => run(() => softphones().deleteOne({ _id: agentId })));
    },

    /** A ring for `callSid` ended without the agent answering: kept so their page can say why. */
    async offerEnded(agentId: string, callSid: string, outcome: OfferOutcome): Promise<void> {
      await inTurn(agentId, () => run(() => model.updateOne({ _id: agentId }, { $set: { lastOffer: { callSid, outcome, at: new Date() } } }).exec()));
    },

    /** The agent left `pending`'s call: it waits for their wrap-up code (replacing an earlier call's, if any). */
    async awaitWrapUp(agentId: string, pending: PendingWrapUp): Promise<void> {
      await inTurn(agentId, () => run(() => model.updateOne({ _id: agentId }, { $set: { wrapUp: pending } }).exec()));
    },

    /** The agent picked the code for `callSid`: nothing waits any more (unless a later call took its place). */
    async wrapUpDone(agentId: string, callSid: string): Promise<void> {
      await inTurn(agentId, () => run(() => model.updateOne({ _id: agentId, 'wrapUp.callSid': callSid }, { $unset: { wrapUp: 1 } }).exec()));
    },

    /** The agent finished a call: idle from now. */
    async callEnded(agentId: string): Promise<void> {
      await inTurn(agentId, () => run(() => model.updateOne({ _id: agentId }, { $set: { idleSince: new Date() } }).exec()));
    },
  };
}

export type PresenceStore = ReturnType<typeof createPresenceStore>;
