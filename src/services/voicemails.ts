// Voicemails as webhooks and the agent page need them: keep a recorded message, list an agent's voicemail tasks, take
// one (exclusive), finish it, and fetch its audio from Twilio for the agent's page (the page never sees Twilio's URL
// or credentials). The rules are in src/contact-center/voicemail.ts.
import { NotFoundError, TaskTakenError } from '../contact-center/errors';
import type { QueueSetup } from '../contact-center/queues';
import { mayTake, stateOf, tasksOf, transcriptionOf, type Voicemail, type VoicemailClaim, type VoicemailState } from '../contact-center/voicemail';
import { maskNumber, type Logger } from '../logger';
import type { VoicemailStore } from '../models/voicemails';

export interface VoicemailServiceDeps {
  store: VoicemailStore;
  queues: () => Promise<QueueSetup>;
  logger: Logger;
  /** Fetches a recording's media (WAV) from Twilio with the account's credentials. */
  fetchRecording: (recordingUrl: string) => Promise<{ status: number; type: string; body: Buffer }>;
  now?: () => Date;
  /** Told when a voicemail arrives, is taken or done (pages refresh). */
  onChange?: () => void;
  /** An agent's display name, for the message that says who took a voicemail first (their id without it). */
  nameOf?: (agentId: string) => Promise<string | undefined>;
}

/** A voicemail task as the agent page shows it. */
export interface VoicemailTask {
  id: string;
  from?: string;
  at: string;
  durationSeconds: number;
  queue?: string;
  reason: string;
  state: VoicemailState;
  /** The agent who took it. */
  takenBy?: string;
  /** Twilio's transcription: the text, or that it failed. */
  transcription?: { status: 'completed' | 'failed'; text?: string };
}

/** The transcription as pages show it. */
const transcriptionView = (v: Voicemail): Pick<VoicemailTask, 'transcription'> => (v.transcription ? { transcription: { status: v.transcription.status, ...(v.transcription.text ? { text: v.transcription.text } : {}) } } : {});

/** A voicemail and its claim as pages show them (the agent page's task, a row of the voicemails page). */
function taskOf(v: Voicemail, claim: VoicemailClaim | undefined): VoicemailTask {
  return {
    id: v.id,
    ...(v.from ? { from: v.from } : {}),
    at: v.createdAt.toISOString(),
    durationSeconds: v.durationSeconds,
    ...(v.queueName ? { queue: v.queueName } : {}),
    reason: v.reason,
    state: stateOf(claim),
    ...(claim ? { takenBy: claim.agentId } : {}),
    ...transcriptionView(v),
  };
}

/** Builds the voicemail service. */
export function createVoicemailService(deps: VoicemailServiceDeps) {
  const now = deps.now ?? (() => new Date());

  /** The refusal when someone else was first: who, by name, and whether they have dealt with it already. */
  async function takenBy(claim: { agentId: string; doneAt?: Date }): Promise<TaskTakenError> {
    const name = (await deps.nameOf?.(claim.agentId).catch(() => undefined)) ?? claim.agentId;
    return new TaskTakenError(claim.doneAt ? `${name} has already dealt with this voicemail.` : `${name} took this voicemail already.`);
  }

  async function loadFor(id: string, agentId: string) {
    const [found, setup] = await Promise.all([deps.store.find(id), deps.queues()]);
    // Another queue's voicemail is as unknown as a missing one.
    if (!found || (!found.claim && !mayTake(found.voicemail, agentId, setup)) || (found.claim && found.claim.agentId !== agentId && !mayTake(found.voicemail, agentId, setup))) throw new NotFoundError('No such voicemail.');
    return found;
  }

  return {
    /** Keeps a recorded message (Twilio's action and status callback both call this; the first stores it). */
    async record(v: Voicemail): Promise<boolean> {
      const added = await deps.store.add(v);
      if (added) {
        deps.logger.info('voicemail recorded', { recordingSid: v.id, callSid: v.callSid, from: maskNumber(v.from), queue: v.queueId, seconds: v.durationSeconds });
        deps.onChange?.();
      }
      return added;
    },

    /**
     * Twilio's transcribeCallback about recording `recordingSid`: the text (or the failure) is kept on its voicemail,
     * once, even when it comes before the recording. A repeat or another status changes nothing.
     */
    async transcribed(input: { recordingSid: string; status: string; text?: string }): Promise<'stored' | 'duplicate' | 'early' | 'ignored'> {
      const transcription = transcriptionOf({ status: input.status, text: input.text, at: now() });
      if (!transcription) return 'ignored';
      const outcome = await deps.store.transcribe(input.recordingSid, transcription);
      if (outcome === 'stored') {
        deps.logger.info('voicemail transcribed', { recordingSid: input.recordingSid, status: transcription.status, chars: transcription.text?.length ?? 0 });
        deps.onChange?.();
      } else if (outcome === 'early') {
        deps.logger.info('transcription came before its recording: kept for it', { recordingSid: input.recordingSid });
      }
      return outcome;
    },

    /** The agent's voicemail tasks: new ones of their queues, and theirs not done yet; oldest first. */
    async tasksFor(agentId: string): Promise<VoicemailTask[]> {
      const [all, setup] = await Promise.all([deps.store.all(), deps.queues()]);
      return tasksOf(all, agentId, setup).map(({ voicemail, claim }) => taskOf(voicemail, claim));
    },

    /**
     * Every voicemail (newest first) with who took it and when it was done: supervisors and admins see all, an agent
     * those of their queues and those they took.
     */
    async history(viewer: { id: string; role: string }): Promise<Array<VoicemailTask & { callSid: string; doneAt?: string }>> {
      const [all, setup] = await Promise.all([deps.store.all(), deps.queues()]);
      return all
        .filter(({ voicemail, claim }) => viewer.role !== 'agent' || claim?.agentId === viewer.id || mayTake(voicemail, viewer.id, setup))
        .sort((a, b) => b.voicemail.createdAt.getTime() - a.voicemail.createdAt.getTime())
        .map(({ voicemail, claim }) => ({ ...taskOf(voicemail, claim), callSid: voicemail.callSid, ...(claim?.doneAt ? { doneAt: claim.doneAt.toISOString() } : {}) }));
    },

    /** Takes voicemail `id` for `agentId` (again: fine); TaskTakenError when another agent was first. */
    async take(id: string, agentId: string): Promise<void> {
      await loadFor(id, agentId);
      const claim = await deps.store.claim(id, agentId, now());
      if (claim.agentId !== agentId) throw await takenBy(claim);
      deps.onChange?.();
    },

    /** Marks it done (taking it first if nobody had). */
    async done(id: string, agentId: string): Promise<void> {
      await loadFor(id, agentId);
      const claim = await deps.store.claim(id, agentId, now());
      if (claim.agentId !== agentId) throw await takenBy(claim);
      await deps.store.done(id, agentId, now());
      deps.logger.info('voicemail done', { recordingSid: id, agentId });
      deps.onChange?.();
    },

    /** The recording's audio, for an agent who may see it. */
    async audio(id: string, agentId: string): Promise<{ type: string; body: Buffer }> {
      const { voicemail } = await loadFor(id, agentId);
      // https://www.twilio.com/docs/voice/api/recording#fetch-a-recording-media-file : .wav gives the WAV file
      const media = await deps.fetchRecording(`${voicemail.recordingUrl}.wav`);
      if (media.status !== 200) throw new NotFoundError(`Twilio answered ${media.status} for the recording.`);
      return { type: media.type, body: media.body };
    },
  };
}

export type VoicemailService = ReturnType<typeof createVoicemailService>;
