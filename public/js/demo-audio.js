// Demo mode's sound panel on the phone and agent pages (views/partials/demo-audio.pug): microphone and speaker meters,
// a mute button, and a plain note when there is no microphone (the call then works on text: "You hear" says what the
// leg hears). The agent page's calls come from the device double's 'twilio-local:audio' events; the phone page calls
// window.DemoAudio itself.
(function () {
  'use strict';

  var root = document.getElementById('demo-audio');
  if (!root) return;
  var note = document.getElementById('demo-audio-note');
  var micMeter = document.getElementById('demo-mic-level');
  var speakerMeter = document.getElementById('demo-speaker-level');
  var muteButton = document.getElementById('demo-mute');
  var session = null;
  var control = null;
  var timer = null;
  // The agent page's call that has no microphone: the disabled Mute here still reads what the call's own Mute does.
  var textOnlyCall = null;

  var REASONS = {
    refused: 'the microphone was refused',
    missing: 'no microphone was found',
    unsupported: 'this browser cannot do WebRTC',
    failed: 'the microphone could not be opened',
  };

  function say(text) {
    if (note.textContent !== text) note.textContent = text;
  }

  function stopMeters() {
    if (timer) clearInterval(timer);
    timer = null;
    micMeter.value = 0;
    speakerMeter.value = 0;
  }

  function setMuteButton(muted) {
    muteButton.setAttribute('aria-pressed', muted ? 'true' : 'false');
    muteButton.textContent = muted ? 'Unmute' : 'Mute';
  }

  function describe(state) {
    if (state === 'connecting') return 'Sound: connecting…';
    if (state === 'connected') return control && control.isMuted() ? 'Sound on, you are muted: you hear the call, nobody hears you.' : 'Sound on: you hear the call and it hears you.';
    if (state === 'failed') return 'Sound could not connect: this call works on text only ("You hear" says what you would hear).';
    return 'Sound: no call.';
  }

  /** The call's audio is connecting: meters follow it, Mute works through `ctl` ({ setMuted(bool), isMuted() }). */
  function attach(audio, ctl) {
    detach();
    session = audio;
    control = ctl;
    muteButton.disabled = false;
    setMuteButton(ctl.isMuted());
    say(describe(audio.state()));
    audio.on('state', function (state) {
      if (session !== audio) return;
      say(describe(state));
      if (state === 'closed' || state === 'failed') stopMeters();
    });
    // A timer rather than requestAnimationFrame: the meters keep moving in a background window.
    timer = setInterval(function () {
      micMeter.value = audio.micLevel();
      speakerMeter.value = audio.speakerLevel();
    }, 100);
  }

  /** No microphone for this call: text only, said plainly. */
  function noMicrophone(error) {
    detach();
    say('No sound: ' + (REASONS[error] || REASONS.failed) + ', so this call works on text only — "You hear" says what you would hear. Allow the microphone for this site to talk.');
  }

  /** The call is over. */
  function detach() {
    session = null;
    control = null;
    textOnlyCall = null;
    stopMeters();
    muteButton.disabled = true;
    setMuteButton(false);
    say(describe('closed'));
  }

  muteButton.addEventListener('click', function () {
    if (!control) return;
    control.setMuted(!control.isMuted());
    setMuteButton(control.isMuted());
    if (session) say(describe(session.state()));
  });

  // The agent page: the device double announces each answered call's audio, or that there is no microphone.
  document.addEventListener('twilio-local:audio', function (ev) {
    var d = ev.detail || {};
    var call = d.call;
    if (!call) return;
    if (d.session) {
      // One mute per call: on the agent page this button presses the call's own Mute (which the floor sees too).
      var callMute = document.getElementById('mute');
      attach(d.session, {
        setMuted: function (m) {
          if (callMute && !callMute.disabled && call.isMuted() !== m) callMute.click();
          else call.mute(m);
        },
        isMuted: function () { return call.isMuted(); },
      });
      // Muted or unmuted from anywhere (the call's Mute, Alt+Shift+M): this button and the note say so too.
      call.on('mute', function () {
        if (session !== d.session) return;
        setMuteButton(call.isMuted());
        say(describe(session.state()));
      });
    } else {
      noMicrophone(d.error);
      // Nothing to mute here, but the call is muted or not (its own Mute, Alt+Shift+M): this button says which, as the
      // call's does (it read "Mute" on a muted call).
      textOnlyCall = call;
      setMuteButton(call.isMuted());
      call.on('mute', function () { if (textOnlyCall === call) setMuteButton(call.isMuted()); });
    }
    var ended = function () {
      var current = d.session ? !session || session === d.session : !session && (!textOnlyCall || textOnlyCall === call);
      if (current) detach();
    };
    call.on('disconnect', ended);
    call.on('cancel', ended);
    call.on('reject', ended);
  });

  window.DemoAudio = { attach: attach, noMicrophone: noMicrophone, detach: detach, say: say };
})();
