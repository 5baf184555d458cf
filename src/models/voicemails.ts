// Voicemails and who took them. `voicemails`: one document per recording (`_id` = RecordingSid), inserted once and
// never changed — Twilio's <Record action> and its recording status callback may both arrive, in any order, each
// perhaps twice, and the first insert wins. `voicemail_claims`: one per voicemail taken (`_id` = RecordingSid): the
// unique insert makes the claim exclusive across instances (FerretDB updates are not atomic; a unique insert is), and
// only the claiming agent writes it afterwards (done).
import type { Collection, Db } from 'mongodb';
import type { Connection } from 'mongoose';
import type { Transcription, Voicemail, VoicemailClaim } from '../contact-center/voicemail';
import { isDuplicateKey, StoreUnavailableError, withDeadline } from '../errors';

type VoicemailDoc = Omit<Voicemail, 'id'> & { _id: string };
type ClaimDoc = VoicemailClaim & { _id: string };

/** The voicemail store. */
export function createVoicemailStore(connection: Connection, options: { timeoutMs?: number } = {}) {
  const timeoutMs = options.timeoutMs ?? 5000;
  const db = (): Db => {
    if (!connection.db) throw new Error('the database connection is not open');
    return connection.db as unknown as Db;
  };
  const voicemails = (): Collection<VoicemailDoc> => db().collection<VoicemailDoc>('voicemails');
  const claims = (): Collection<ClaimDoc> => db().collection<ClaimDoc>('voicemail_claims');
  // A transcription that came before its recording (Twilio's callbacks come in any order): kept aside, first one wins,
  // until the recording is stored.
  const early = (): Collection<{ _id: string; transcription: Transcription }> => db().collection<{ _id: string; transcription: Transcription }>('voicemail_transcriptions');
  const attach = async (id: string, transcription: Transcription): Promise<boolean> =>
    (await guarded(() => voicemails().updateOne({ _id: id, transcription: { $exists: false } }, { $set: { transcription } }))).matchedCount > 0;

  async function guarded<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await withDeadline(operation(), timeoutMs, () => new Error(`no answer within ${timeoutMs} ms`));
    } catch (err) {
      if (isDuplicateKey(err)) throw err;
      throw new StoreUnavailableError(err);
    }
  }

  const toVoicemail = (d: VoicemailDoc): Voicemail => {
    const { _id, ...rest } = d;
    return { ...rest, id: _id, createdAt: new Date(rest.createdAt), ...(rest.transcription ? { transcription: { ...rest.transcription, at: new Date(rest.transcription.at) } } : {}) };
  };

  return {
    /** Stores a voicemail; false when it was stored already (a repeated or second request about the same recording). */
    async add(v: Voicemail): Promise<boolean> {
      const { id, ...rest } = v;
      try {
        await guarded(() => voicemails().insertOne({ _id: id, ...rest }));
      } catch (err) {
        if (isDuplicateKey(err)) return false;
        throw err;
      }
      const waiting = await guarded(() => early().findOne({ _id: id }));
      if (waiting && !rest.transcription) await attach(id, waiting.transcription);
      return true;
    },

    async find(id: string): Promise<{ voicemail: Voicemail; claim?: VoicemailClaim } | undefined> {
      const [v, c] = await guarded(() => Promise.all([voicemails().findOne({ _id: id }), claims().findOne({ _id: id })]));
      if (!v) return undefined;
      return { voicemail: toVoicemail(v), ...(c ? { claim: { agentId: c.agentId, at: new Date(c.at), ...(c.doneAt ? { doneAt: new Date(c.doneAt) } : {}) } } : {}) };
    },

    /** Every voicemail with its claim. */
    async all(): Promise<Array<{ voicemail: Voicemail; claim?: VoicemailClaim }>> {
      const [vs, cs] = await guarded(() => Promise.all([voicemails().find({}).toArray(), claims().find({}).toArray()]));
      const byId = new Map(cs.map((c) => [c._id, c]));
      return vs.map((v) => {
        const c = byId.get(v._id);
        return { voicemail: toVoicemail(v), ...(c ? { claim: { agentId: c.agentId, at: new Date(c.at), ...(c.doneAt ? { doneAt: new Date(c.doneAt) } : {}) } } : {}) };
      });
    },

    /**
     * Keeps the transcription of voicemail `id` once: 'stored', 'duplicate' (it had one: Twilio's retry, the first
     * stays) or 'early' (no such voicemail yet: kept until its recording is stored, which attaches it).
     */
    async transcribe(id: string, transcription: Transcription): Promise<'stored' | 'duplicate' | 'early'> {
      if (await attach(id, transcription)) return 'stored';
      if (await guarded(() => voicemails().findOne({ _id: id }, { projection: { _id: 1 } }))) return 'duplicate';
      try {
        await guarded(() => early().insertOne({ _id: id, transcription }));
      } catch (err) {
        if (isDuplicateKey(err)) return 'duplicate';
        throw err;
      }
      // The recording may have been stored between the two looks: then it missed this one, which attaches it now.
      return (await attach(id, transcription)) ? 'stored' : 'early';
    },

    /** Claims voicemail `id` for `agentId`: the claim that holds afterwards (theirs, or the agent who was first). */
    async claim(id: string, agentId: string, at: Date): Promise<VoicemailClaim> {
      try {
        await guarded(() => claims().insertOne({ _id: id, agentId, at }));
        return { agentId, at };
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        const held = await guarded(() => claims().findOne({ _id: id }));
        if (!held) throw new StoreUnavailableError(new Error(`claim of ${id} vanished`));
        return { agentId: held.agentId, at: new Date(held.at), ...(held.doneAt ? { doneAt: new Date(held.doneAt) } : {}) };
      }
    },

    /** Marks the claim of `agentId` done (idempotent: only the claiming agent writes it). */
    async done(id: string, agentId: string, at: Date): Promise<void> {
      await guarded(() => claims().updateOne({ _id: id, agentId, doneAt: { $exists: false } }, { $set: { doneAt: at } }));
    },
  };
}

export type VoicemailStore = ReturnType<typeof createVoicemailStore>;
