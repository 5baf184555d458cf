// A deep, frozen copy of the engine's state for tests and the demo pages.
import type { LocalCall, LocalConference, LocalDevice, LocalRecording, Participant } from './state';
import type { LocalState, ParticipantView } from './types';

function participantView(p: Participant): ParticipantView {
  return {
    callSid: p.callSid,
    label: p.label,
    status: p.status,
    hold: p.hold,
    muted: p.muted,
    coaching: p.coaching,
    ...(p.callSidToCoach ? { callSidToCoach: p.callSidToCoach } : {}),
    startConferenceOnEnter: p.startConferenceOnEnter,
    endConferenceOnExit: p.endConferenceOnExit,
  };
}

/** Copies the state; nothing in the result refers to the engine's objects. */
export function takeSnapshot(calls: Iterable<LocalCall>, conferences: Iterable<LocalConference>, devices: Iterable<LocalDevice>, recordings: Iterable<LocalRecording> = []): LocalState {
  const deviceList = [...devices];
  const state: LocalState = {
    calls: [...calls].map((c) => ({
      sid: c.sid,
      from: c.from,
      to: c.to,
      direction: c.direction,
      status: c.status,
      identity: c.identity,
      conferenceSid: c.conferenceSid,
      hears: structuredClone(c.hears),
      endReason: c.endReason,
      ...(c.deviceMuted ? { deviceMuted: true } : {}),
      ...(c.digits ? { digits: c.digits } : {}),
    })),
    conferences: [...conferences].map((c) => ({
      sid: c.sid,
      friendlyName: c.friendlyName,
      status: c.status,
      reasonConferenceEnded: c.reasonConferenceEnded,
      callSidEndingConference: c.callSidEndingConference,
      participants: [...c.participants.values(), ...c.pending.values()].map(participantView),
    })),
    devices: deviceList.map((d) => ({ id: d.id, identity: d.identity })),
    registeredIdentities: [...new Set(deviceList.map((d) => d.identity))].sort(),
    recordings: [...recordings].map((r) => ({ sid: r.sid, callSid: r.callSid, duration: r.duration, hasAudio: r.hasAudio })),
  };
  return Object.freeze(state);
}
