// The live calls' store: named queries and the write protocol (compare-and-set on `rev`, serialised per call in this
// process, and on FerretDB by claims on a call's revision across processes). Only live calls are kept here — a finished call
// goes to the history — so every scan stays small.
import { MongoBulkWriteError, MongoServerError, type Collection } from 'mongodb';
import { isEmptyPatch, type CallPatch, type CallRecord } from '../contact-center/call';
import type { Step } from '../contact-center/call-life';
import { CallGoneError } from '../contact-center/errors';
import type { Participant } from '../contact-center/participants';
import { StoreUnavailableError, withDeadline } from '../errors';
import type { CallModel } from './call';
import type { CallLeases } from './call-lease';
import { isDuplicateKey } from './reservation';
import { sharedRead } from './shared-read';

const MAX_WRITE_ATTEMPTS = 8;
/** The most new calls written by one insert; a burst rarely comes near it. */
const MAX_INSERT_BATCH = 500;

/** A new call, before the store stamps it. */
export type NewCall = Omit<CallRecord, 'createdAt' | 'updatedAt'>;

/** A new call waiting for the group commit (see createCallStore). */
interface QueuedInsert {
  doc: CallRecord;
  /** Part of a write sent to the database: it may land whatever its caller was told. */
  sent: boolean;
  /** Its caller stopped waiting before it was sent: it is never written. */
  dropped: boolean;
  /** Settles when the database has answered for this call: resolved when stored, rejected otherwise. */
  written: Promise<void>;
  settle(error?: unknown): void;
}

/** A change to one call, decided from the call as read: a domain transition's step. */
export type Change<T> = Step<T>;

/** How many claims a change may win too late to write before the store counts as unavailable. */
const MAX_LEASES = 3;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The one update that makes `patch` (in the domain's words) on a stored call: fields of the call, of participants
 * and transfers by position (each stamped updatedAt), and entries appended to its lists. The only place that knows
 * how a call is laid out in the database.
 */
export function toMongoUpdate(patch: CallPatch, now: Date): { $set: Record<string, unknown>; $unset?: Record<string, 1>; $push?: Record<string, unknown> } {
  const $set: Record<string, unknown> = { ...patch.set, updatedAt: now };
  for (const { index, set } of patch.participants ?? []) {
    $set[`participants.${index}.updatedAt`] = now;
    for (const [key, value] of Object.entries(set)) $set[`participants.${index}.${key}`] = value;
  }
  for (const { index, set } of patch.transfers ?? []) {
    $set[`transfers.${index}.updatedAt`] = now;
    for (const [key, value] of Object.entries(set)) $set[`transfers.${index}.${key}`] = value;
  }
  for (const { index, set } of patch.supervisors ?? []) {
    $set[`supervisors.${index}.updatedAt`] = now;
    for (const [key, value] of Object.entries(set)) $set[`supervisors.${index}.${key}`] = value;
  }
  const unsetSupervisor = (patch.unsetSupervisorFields ?? []).flatMap(({ index, keys }) => keys.map((key) => `supervisors.${index}.${key}`));
  const $push: Record<string, unknown> = {};
  if (patch.addParticipant) $push.participants = patch.addParticipant;
  if (patch.addTransfer) $push.transfers = patch.addTransfer;
  const events = [...(patch.addEvent ? [patch.addEvent] : []), ...(patch.addEvents ?? [])];
  if (events.length === 1) $push.events = events[0];
  else if (events.length > 1) $push.events = { $each: events };
  if (patch.addPass) $push.passedBy = patch.addPass;
  if (patch.addSupervisor) $push.supervisors = patch.addSupervisor;
  const unset = [...(patch.clear ?? []), ...unsetSupervisor];
  return {
    $set,
    ...(unset.length > 0 ? { $unset: Object.fromEntries(unset.map((key) => [key, 1 as const])) } : {}),
    ...(Object.keys($push).length > 0 ? { $push } : {}),
  };
}

/**
 * A call stored by an earlier version (participants under `legs`, with roles 'first' and 'transfer') in today's
 * shape; undefined when it is already current.
 */
export function upgradeStoredParticipants(stored: { participants?: unknown; legs?: unknown }): Participant[] | undefined {
  if (stored.participants !== undefined || !Array.isArray(stored.legs)) return undefined;
  return (stored.legs as Array<Omit<Participant, 'role'> & { role: string }>).map((leg) => ({ ...leg, role: leg.role === 'transfer' ? 'colleague' : 'offer' }));
}

/** A stored call in today's shape (in memory), and the participants it was upgraded to when it was stored in an earlier one. */
function todaysShape(stored: CallRecord): { call: CallRecord; upgraded?: Participant[] } {
  const upgraded = upgradeStoredParticipants(stored);
  return upgraded ? { call: { ...stored, participants: upgraded }, upgraded } : { call: stored };
}

/** Wraps database operations with a deadline; failures other than a duplicate key become StoreUnavailableError. */
export function storeRunner(dbTimeoutMs: number) {
  return async function run<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await withDeadline(operation(), dbTimeoutMs, () => new Error(`no answer within ${dbTimeoutMs} ms`));
    } catch (err) {
      if (isDuplicateKey(err) || err instanceof StoreUnavailableError) throw err;
      throw new StoreUnavailableError(err);
    }
  };
}

export interface CallStoreOptions {
  /**
   * Claims on a call's revision, for a database whose updates are not atomic under concurrency (FerretDB 1.x): every
   * change to a call is then written by the holder of the claim on the revision it was decided on. Without them, the
   * compare-and-set on `rev` is the guard (MongoDB).
   */
  leases?: CallLeases;
}

export function createCallStore(calls: CallModel, run: <T>(op: () => Promise<T>) => Promise<T>, options: CallStoreOptions = {}) {
  const { leases } = options;
  const read = (callSid: string): Promise<CallRecord | null> => run(() => calls.findById(callSid).lean<CallRecord>().exec());
  // Every page reads the live calls on every change: callers at the same moment share one scan.
  const live = sharedRead(() =>
    run(async () => (await calls.find({}).lean<CallRecord[]>().exec()).map((call) => todaysShape(call).call)),
  );

  /** A call as read, in today's shape (one stored by an earlier version is upgraded in memory only). */
  async function load(callSid: string): Promise<CallRecord | null> {
    const call = await read(callSid);
    return call ? todaysShape(call).call : null;
  }

  /**
   * Reads a call to change it; one stored by an earlier version is rewritten in today's shape first (so writes by
   * index fit it), by the same protocol as any change.
   */
  async function loadForChange(callSid: string): Promise<CallRecord | null> {
    const call = await read(callSid);
    const participants = call ? upgradeStoredParticipants(call) : undefined;
    if (!call || !participants) return call;
    await run(() => calls.updateOne({ _id: callSid, rev: call.rev }, { $set: { participants }, $unset: { legs: 1 }, $inc: { rev: 1 } }, { timestamps: false, strict: false }).exec());
    return read(callSid);
  }

  // Changes to one call are serialised inside this process, so it never contends with itself (for the revision, or
  // for the claim).
  const queues = new Map<string, Promise<unknown>>();
  function oneAtATime<T>(key: string, task: () => Promise<T>): Promise<T> {
    const outcome = (queues.get(key) ?? Promise.resolve()).then(task);
    const tail = outcome.catch(() => undefined);
    queues.set(key, tail);
    void tail.then(() => {
      if (queues.get(key) === tail) queues.delete(key);
    });
    return outcome;
  }

  /**
   * Reads the call, lets `decide` choose a change, and writes it only if the revision read is still the stored one
   * (MongoDB: atomic); a change made meanwhile means reading again.
   */
  async function compareAndSet<T>(callSid: string, decide: (call: CallRecord) => Change<T>, missing: () => T): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      const call = await loadForChange(callSid);
      if (!call) return missing();
      const { patch, result } = decide(call);
      if (isEmptyPatch(patch)) return result;
      const update = { ...toMongoUpdate(patch!, new Date()), $inc: { rev: 1 } };
      const written = await run(() => calls.updateOne({ _id: callSid, rev: call.rev }, update, { timestamps: false }).exec());
      if (written.matchedCount === 1) return result;
      if (attempt >= MAX_WRITE_ATTEMPTS) throw new StoreUnavailableError(new Error(`call ${callSid} kept changing under us`));
    }
  }

  /**
   * One change to a call, safe across processes: compare-and-set (atomic on MongoDB), and with claims (FerretDB, whose
   * updates are not atomic) made only by the holder of the claim on the revision it read.
   */
  async function changeOnce<T>(callSid: string, decide: (call: CallRecord) => Change<T>, missing: () => T): Promise<T> {
    return leases ? changeUnderClaim(leases, callSid, decide, missing) : compareAndSet(callSid, decide, missing);
  }

  /**
   * Reads the call and lets `decide` choose a change. Many callbacks change nothing (a repeat, a state the call already
   * reached): that needs no claim, and the decision holds as of that read, as if the callback had come a moment sooner.
   * A change to write claims the revision read: winning the claim proves nobody changed the call since (it leaves that
   * revision only by the claim's holder's write), so the change is written by _id at once (FerretDB finds a document
   * through its index only when the filter is _id alone). A claim someone else holds means reading again: it is
   * usually written within milliseconds; one that expired unused is taken over by claiming its next generation, after
   * a read that began once it had expired. A claim won too late to write safely (the database answering very slowly)
   * writes nothing and the change starts over.
   */
  async function changeUnderClaim<T>(claims: CallLeases, callSid: string, decide: (call: CallRecord) => Change<T>, missing: () => T): Promise<T> {
    const { leaseMs, marginMs, waitMs } = claims.settings;
    const giveUpAt = Date.now() + waitMs;
    let generation = 0;
    let generationOf: number | undefined;
    let waited = false;
    let lapsed = 0;
    for (let attempt = 0; ; attempt += 1) {
      const readAt = Date.now();
      const stored = await read(callSid);
      if (!stored) return missing();
      const { call, upgraded: participants } = todaysShape(stored);
      const { patch, result } = decide(call);
      if (isEmptyPatch(patch)) return result;
      if (stored.rev !== generationOf) {
        generation = 0;
        generationOf = stored.rev;
      }
      const claim = await claims.claim(callSid, stored.rev, generation);
      if (claim) {
        // Relied on only if the read is recent (claims are swept a while after they expire) and the write can be sent
        // before the margin.
        const now = Date.now();
        if (now - readAt < leaseMs - marginMs && now < claim.writeBy) {
          // A call stored by an earlier version is rewritten in today's shape first (so writes by index fit it), then
          // the change is decided again.
          const written = await run(() =>
            (participants
              ? calls.updateOne({ _id: callSid }, { $set: { participants }, $unset: { legs: 1 }, $inc: { rev: 1 } }, { timestamps: false, strict: false })
              : calls.updateOne({ _id: callSid }, { ...toMongoUpdate(patch!, new Date()), $inc: { rev: 1 } }, { timestamps: false })
            ).exec(),
          );
          if (written.matchedCount === 0) return missing();
          if (participants) continue;
          return result;
        }
        lapsed += 1;
        if (lapsed >= MAX_LEASES) throw new StoreUnavailableError(new Error(`the database answered too slowly to change call ${callSid} within a claim`));
        continue;
      }
      const held = await claims.holderOf(callSid, stored.rev, generation);
      if (held && new Date(held.expiresAt).getTime() <= Date.now()) {
        // Its holder stopped before writing (or wrote at last; the next read says which): the next generation.
        generation += 1;
        continue;
      }
      if (!waited) claims.stats.waited += 1;
      waited = true;
      if (Date.now() >= giveUpAt) throw new StoreUnavailableError(new Error(`call ${callSid} stayed claimed by ${held?.holder ?? 'another writer'}`));
      // A live holder writes within a round trip or two: read again soon, then back off (with jitter, so waiters spread out).
      await sleep(Math.min(25, 2 ** Math.min(attempt + 1, 5)) * (0.5 + Math.random()));
    }
  }

  // Group commit. Every incoming call is one insert, and FerretDB 1.x (SQLite) spends about 0.5 ms of CPU on each
  // insert but under 0.1 ms per document of a 32-document insertMany. So while one insert is on its way, calls that
  // arrive meanwhile wait and go together in the next one (ordered: false, so each document succeeds or fails on its
  // own: a duplicate CallSid fails alone, even twice in one batch). There is no timer: a call that finds nothing on
  // its way is written at once, alone, so at low load nothing waits.
  const queued: QueuedInsert[] = [];
  let writing = false;

  function enqueue(doc: CallRecord): QueuedInsert {
    let settle!: (error?: unknown) => void;
    const written = new Promise<void>((resolve, reject) => {
      settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    const entry: QueuedInsert = { doc, sent: false, dropped: false, written, settle };
    queued.push(entry);
    if (!writing) void writeQueued();
    return entry;
  }

  async function writeQueued(): Promise<void> {
    writing = true;
    try {
      for (;;) {
        const batch = queued.splice(0, MAX_INSERT_BATCH).filter((entry) => !entry.dropped);
        if (batch.length === 0) return;
        for (const entry of batch) entry.sent = true;
        const landed = insertBatch(batch);
        // A stalled write holds the next one back no longer than the deadline: its callers are told sorry by then,
        // and the callers behind them get their own attempt.
        await run(() => landed).catch(() => undefined);
      }
    } finally {
      writing = false;
    }
  }

  /** Inserts the batch's documents in one write and settles each entry with its own outcome. Never rejects. */
  async function insertBatch(batch: QueuedInsert[]): Promise<void> {
    try {
      await (calls.collection as unknown as Collection<CallRecord>).insertMany(batch.map((entry) => entry.doc), { ordered: false });
      for (const entry of batch) entry.settle();
    } catch (err) {
      // An ordered:false insert answers per document (writeErrors, by index); any other error (network, a stopped
      // server) leaves every document's fate unknown, and each caller gets that error.
      const perDocument = err instanceof MongoBulkWriteError ? [err.writeErrors].flat() : [];
      if (perDocument.length === 0) {
        for (const entry of batch) entry.settle(err);
        return;
      }
      const failed = new Map(perDocument.map((writeError) => [writeError.index, new MongoServerError({ message: writeError.errmsg ?? 'write failed', code: writeError.code })]));
      batch.forEach((entry, index) => entry.settle(failed.get(index)));
    }
  }

  return {
    load,

    /**
     * Stores a new call; a call already stored under that CallSid throws a duplicate-key error. When the store does
     * not answer in time, `onLate` gets the write still under way (it may yet land) before the error is thrown; a call
     * still waiting for the group commit by then is never written, and `onLate` is not called.
     */
    async insert(call: NewCall, onLate?: (landed: Promise<unknown>) => void): Promise<void> {
      const entry = enqueue(newCallDocument(calls, call, new Date()));
      try {
        await run(() => entry.written);
      } catch (err) {
        if (isDuplicateKey(err)) throw err;
        if (entry.sent) onLate?.(entry.written);
        else entry.dropped = true;
        throw err;
      }
    },

    /**
     * Reads the call, lets `decide` choose a change, and writes it only if nobody changed the call meanwhile;
     * otherwise reads again. A call that is not (or no longer) live is CallGoneError.
     */
    change<T>(callSid: string, decide: (call: CallRecord) => Change<T>): Promise<T> {
      return oneAtATime(callSid, () =>
        changeOnce(callSid, decide, () => {
          throw new CallGoneError('This call does not exist or has ended.');
        }),
      );
    },

    /** Like change(), but a call that is gone is `undefined` instead of an error. */
    changeIfLive<T>(callSid: string, decide: (call: CallRecord) => Change<T>): Promise<T | undefined> {
      return oneAtATime(callSid, () => changeOnce<T | undefined>(callSid, decide, () => undefined));
    },

    /** Every live call (a contact center has at most a few hundred at once). */
    live,

    /** Removes a finished call from the live store (it lives on in the history). */
    async remove(callSid: string): Promise<void> {
      await run(() => calls.deleteOne({ _id: callSid }).exec());
    },

    /** Removes a call that was stored after its caller had already been told sorry and hung up on. */
    async retract(callSid: string): Promise<number> {
      const result = await run(() => calls.deleteOne({ _id: callSid }).exec());
      return result.deletedCount ?? 0;
    },

    /** Removes every one of `callSids` still stored (late records of callers told sorry, found by housekeeping). */
    async retractAll(callSids: string[]): Promise<number> {
      const result = await run(() => calls.deleteMany({ _id: { $in: callSids } }).exec());
      return result.deletedCount ?? 0;
    },

    /** Resolves once every change under way has finished (shutdown). */
    async settle(): Promise<void> {
      while (queues.size > 0) await Promise.allSettled([...queues.values()]);
    },
  };
}

/**
 * The document mongoose's create() would write for `call` — cast to the schema, its defaults filled in, timestamped,
 * no undefined fields — as a plain object for the group commit's insertMany. Built without a mongoose document: at
 * peak, constructing and validating one cost as much CPU as the rest of the group-committed insert. The schema's
 * validators (required, enum) are not run; receiveCustomerCall builds the call from checked input.
 */
function newCallDocument(calls: CallModel, call: NewCall, now: Date): CallRecord {
  return calls.applyDefaults(calls.castObject({ ...call, createdAt: now, updatedAt: now })) as CallRecord;
}

export type CallStore = ReturnType<typeof createCallStore>;
