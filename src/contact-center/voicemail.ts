// Voicemails: a caller's recorded message, a task for the agents of its queue. Who may see, take and finish one. Pure.
import { serves, type QueueSetup } from './queues';

export interface Voicemail {
  /** The recording's SID (RE…): one voicemail per recording, whichever of Twilio's requests stores it first. */
  id: string;
  callSid: string;
  /** The caller's number (to call them back). */
  from?: string;
  recordingUrl: string;
  durationSeconds: number;
  /** The queue it is for; none: every agent may take it. */
  queueId?: string;
  queueName?: string;
  /** Why the caller left a message: 'closed' (outside the opening hours), 'long-line' (at entry), 'waiting' (from the line). */
  reason: string;
  createdAt: Date;
  /** Twilio's transcription of the message, when asked for (VOICEMAIL_TRANSCRIBE) and it came back. */
  transcription?: Transcription;
}

/** A voicemail's transcription: the text, or that Twilio could not make one. */
export interface Transcription {
  status: 'completed' | 'failed';
  text?: string;
  at: Date;
}

/** The longest transcription kept (Twilio transcribes at most two minutes of speech). */
export const TRANSCRIPTION_MAX_CHARS = 5000;

/**
 * What Twilio's transcribeCallback says, as kept on the voicemail: the text (trimmed, at most TRANSCRIPTION_MAX_CHARS)
 * when completed; a failure as such; anything else (another status) is nothing to keep.
 * https://www.twilio.com/docs/voice/twiml/record#transcribecallback
 */
export function transcriptionOf(input: { status: string; text?: string; at: Date }): Transcription | undefined {
  if (input.status === 'failed') return { status: 'failed', at: input.at };
  if (input.status !== 'completed') return undefined;
  const text = (input.text ?? '').trim().slice(0, TRANSCRIPTION_MAX_CHARS);
  return text ? { status: 'completed', text, at: input.at } : { status: 'failed', at: input.at };
}

/** Who took a voicemail (one agent: the first to claim it), and when they finished it. */
export interface VoicemailClaim {
  agentId: string;
  at: Date;
  doneAt?: Date;
}

export type VoicemailState = 'new' | 'taken' | 'done';

export function stateOf(claim: VoicemailClaim | undefined): VoicemailState {
  return !claim ? 'new' : claim.doneAt ? 'done' : 'taken';
}

/** Whether `agentId` may see and take `voicemail`: an agent of its queue (a queue that no longer exists: anyone). */
export function mayTake(voicemail: Pick<Voicemail, 'queueId'>, agentId: string, setup: QueueSetup): boolean {
  const queue = voicemail.queueId ? setup.queues.find((q) => q.id === voicemail.queueId) : undefined;
  return !queue || serves(queue, agentId, setup.skills.get(agentId) ?? []);
}

/** An agent's voicemail tasks: new ones they may take, and theirs not yet done; oldest first. */
export function tasksOf(all: ReadonlyArray<{ voicemail: Voicemail; claim?: VoicemailClaim }>, agentId: string, setup: QueueSetup) {
  return all
    .filter(({ voicemail, claim }) => (claim ? claim.agentId === agentId && !claim.doneAt : mayTake(voicemail, agentId, setup)))
    .sort((a, b) => a.voicemail.createdAt.getTime() - b.voicemail.createdAt.getTime());
}
