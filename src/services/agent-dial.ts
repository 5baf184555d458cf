// The one way an agent's phone is rung into a customer's conference: the same Url, status callback and events for an
// offer, a colleague brought in, or a consult.
import type { DialRequest } from '../twilio/rest';
import { clientAddress } from './agents';
import type { WebhookUrls } from './webhook-urls';

/** The REST request that rings `agentId` for the call `callSid`, for `ringSeconds`, from the support number. */
export function agentDialRequest(urls: WebhookUrls, input: { callSid: string; agentId: string; from: string; ringSeconds: number }): DialRequest {
  return {
    to: clientAddress(input.agentId),
    from: input.from,
    url: urls.connectAgent(input.callSid, input.agentId),
    statusCallback: urls.agentCallStatus(input.callSid, input.agentId),
    statusCallbackEvents: ['initiated', 'ringing', 'answered', 'completed'],
    timeoutSeconds: input.ringSeconds,
  };
}
