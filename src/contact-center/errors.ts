// The domain's refusals, as types: each says what went wrong in words fit to show the person who asked. The outer
// layers map a type to a status (src/errors.ts `httpStatusOf`) and never read a message to decide.

/** A refusal by a contact-center rule; `message` is for the person or script that asked. */
export abstract class DomainError extends Error {
  abstract readonly kind: 'not-found' | 'conflict' | 'invalid' | 'upstream';
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The call, conference, agent or leg asked about does not exist, or is not the asker's. */
export class NotFoundError extends DomainError {
  readonly kind = 'not-found';
}

/** The agent has no call (to hang up, transfer, …). */
export class NoCallError extends NotFoundError {}

/** The call has ended, or was offered to someone else meanwhile. */
export class CallGoneError extends NotFoundError {}

/** The colleague asked for cannot take it now (busy, already on the call). */
export class AgentUnavailableError extends DomainError {
  readonly kind = 'conflict';
}

/** A transfer rule refuses the action (one transfer at a time, only its starter decides, not yet answered, …). */
export class TransferRefusedError extends DomainError {
  readonly kind = 'conflict';
}

/** A supervision rule refuses the action (a call not in progress, nobody to coach, a phone still ringing). */
export class SupervisionRefusedError extends DomainError {
  readonly kind = 'conflict';
}

/** The wrap-up asked for is not open (saved already, or a later call took its place). */
export class WrapUpClosedError extends DomainError {
  readonly kind = 'conflict';
}

/** The call is not ready for the action yet (its conference has not started). */
export class NotReadyError extends DomainError {
  readonly kind = 'conflict';
}

/** Another agent took the task first (a voicemail). */
export class TaskTakenError extends DomainError {
  readonly kind = 'conflict';
}

/** The request itself is wrong in a way no retry fixes (bring yourself in, an unknown CallStatus). */
export class InvalidRequestError extends DomainError {
  readonly kind = 'invalid';
}

/** Twilio refused or failed what the action needed (a dial, a hang-up). */
export class VoiceFailedError extends DomainError {
  readonly kind = 'upstream';
}
