// What the call service asks of the voice side and of routing after a transition, carried out in the background:
// holds in the order decided, hang-ups, the goodbye, and the customer's way back to the line.
import type { BackgroundTasks } from '../background';
import type { Departure } from '../contact-center/call-life';
import { agentLabel, CUSTOMER_LABEL } from '../contact-center/participants';
import type { TransferEffects } from '../contact-center/transfer';
import type { Logger } from '../logger';
import type { Voice } from '../twilio/voice';
import type { Routing } from './routing';
import type { WebhookUrls } from './webhook-urls';

export const LEFT_ALONE_MESSAGE = 'The agent has left the call. Thank you for calling, goodbye.';

export interface CallEffectsDeps {
  voice: Voice;
  background: BackgroundTasks;
  urls: WebhookUrls;
  routing: Routing;
  logger: Logger;
  reconnectGraceSeconds: number;
  leaveSettleMs: number;
}

export function createCallEffects(deps: CallEffectsDeps) {
  const { voice, background, urls, routing, logger } = deps;

  /**
   * Holds (with the line's music) or unholds a participant, addressed by its label. A call's holds reach Twilio one at
   * a time in the order they were decided, however slowly Twilio answers.
   * https://www.twilio.com/docs/voice/api/conference-participant-resource#update-a-participant-resource
   */
  function setHold(callSid: string, conferenceSid: string | undefined, label: string, on: boolean): void {
    if (!conferenceSid) return;
    background.runInOrder(`hold ${callSid}`, `${on ? 'hold' : 'unhold'} ${label} in ${callSid}`, () => voice.hold(conferenceSid, label, on, urls.wait(callSid, 1)));
  }

  function hangUpLater(what: string, callSid: string): void {
    background.run(what, () => voice.hangUp(callSid));
  }

  function sayGoodbye(callSid: string): void {
    logger.info('every agent left: ending the customer call', { conference: callSid });
    // The customer may have hung up meanwhile: then there is nothing to say goodbye to.
    background.run(`goodbye to ${callSid}`, () => voice.sayAndHangUp(callSid, LEFT_ALONE_MESSAGE));
  }

  /**
   * The last agent left a customer who is still there: a goodbye when they hung up on purpose; otherwise the customer
   * holds with music and routing takes them again — at once when the conference confirmed the agent left, after the
   * settle time when only the agent's own call said so, and to anyone once the grace for the dropped agent is over.
   */
  function afterLastAgentLeft(callSid: string, departure: Pick<Departure, 'onPurpose' | 'conferenceSid' | 'customerCallSid'>, confirmed: boolean): void {
    // A callback's (or an outbound call's) customer is on a call of their own, not the one that made the record.
    if (departure.onPurpose) return sayGoodbye(departure.customerCallSid ?? callSid);
    // Unconfirmed, it is as often the customer hanging up (their leave reported a moment later) as a dropped softphone:
    // said plainly, not as a warning.
    if (confirmed) logger.warn('the last agent dropped off a live customer: back to the line', { callSid });
    else logger.info('the last agent\'s call ended: the customer goes back to the line unless the conference says they left', { callSid });
    setHold(callSid, departure.conferenceSid, CUSTOMER_LABEL, true);
    if (confirmed) routing.dispatch();
    else routing.dispatchAfter(deps.leaveSettleMs);
    if (deps.reconnectGraceSeconds > 0) routing.dispatchAfter(deps.reconnectGraceSeconds * 1000 + (confirmed ? 0 : deps.leaveSettleMs));
  }

  /** Carries out what a transfer transition asks of the voice side, in the background (Twilio's answers are slow). */
  function applyTransferEffects(call: { _id: string; conferenceSid?: string }, effects: TransferEffects, who: { colleague?: string; colleagueId?: string; transferrer?: string }): void {
    // Participants are addressed by label ('customer', 'agent:<id>'): https://www.twilio.com/docs/voice/api/conference-participant-resource#path-parameters
    const hold = (label: string, on: boolean): void => setHold(call._id, call.conferenceSid, label, on);
    // Holds before unholds: when the agent switches sides, the customer never overhears the colleague, nor the reverse.
    if (effects.holdCustomer) hold(CUSTOMER_LABEL, true);
    if (who.colleagueId && effects.holdColleague) hold(agentLabel(who.colleagueId), true);
    if (effects.unholdCustomer) hold(CUSTOMER_LABEL, false);
    if (who.colleagueId && effects.unholdColleague) hold(agentLabel(who.colleagueId), false);
    if (effects.hangUpColleague && who.colleague) hangUpLater(`end consult leg ${who.colleague}`, who.colleague);
    if (effects.hangUpTransferrer && who.transferrer) hangUpLater(`transferring agent leaves ${call._id}`, who.transferrer);
  }

  return { setHold, hangUpLater, sayGoodbye, afterLastAgentLeft, applyTransferEffects };
}

export type CallEffects = ReturnType<typeof createCallEffects>;
