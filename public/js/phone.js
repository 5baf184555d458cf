// Customer phone page: places a demo call through the local Twilio stand-in, plays what the caller hears (with the
// microphone allowed) and says it in words ("You hear") either way.
(function () {
  'use strict';

  var root = document.getElementById('phone');
  if (!root) return;
  var meta = document.querySelector('meta[name="twilio-local-base"]');
  var base = ((meta && meta.content) || root.getAttribute('data-twilio-local-base') || '/twilio-local').replace(/\/$/, '');
  var form = document.getElementById('phone-form');
  var numberInput = document.getElementById('phone-number');
  var fromInput = document.getElementById('phone-from');
  var callButton = document.getElementById('phone-call');
  var hangupButton = document.getElementById('phone-hangup');
  var statusEl = document.getElementById('phone-status');
  var hearsEl = document.getElementById('phone-hears');
  var keypad = document.getElementById('phone-keypad');
  var pressedEl = document.getElementById('phone-pressed');
  var callSid = null;
  var events = null;
  var audio = null; // the call's sound (twilio-local-audio.js), when the microphone was allowed
  var sound = window.DemoAudio;

  if (!numberInput.value) numberInput.value = root.getAttribute('data-support-number') || '';

  function setStatus(text) {
    statusEl.textContent = text;
  }

  /** Turns a `hears` event into a sentence for the "You hear" line. */
  function describe(h) {
    var conf = h.conference;
    if (h.recording) return 'recording your message (press # when you are done)';
    if (h.held) return 'on hold: ' + describeMedia(h);
    if (h.what === 'conference' && conf) {
      var held = conf.held ? ', ' + conf.held + ' on hold' : '';
      return 'connected to an agent (conference with ' + conf.participants + ' participant' + (conf.participants === 1 ? '' : 's') + held + ')';
    }
    if (h.what === 'say' || h.what === 'play') return describeMedia(h);
    if (conf && !conf.started) return 'waiting for an agent';
    return 'silence';
  }

  /** Say, Play or silence as words. */
  function describeMedia(h) {
    if (h.what === 'say') return '"' + (h.text || '') + '"';
    if (h.what === 'play') return 'hold music playing' + (h.url ? ' (' + h.url + ')' : '');
    return 'silence';
  }

  /** The keypad works while the call is answered. */
  function setKeypad(on) {
    if (!keypad) return;
    keypad.disabled = !on;
    if (!on && pressedEl) pressedEl.textContent = '';
  }

  /** Sends one key to the stand-in (it feeds the call's <Gather>, if one is listening). */
  function press(key) {
    if (!callSid || !keypad || keypad.disabled) return;
    if (pressedEl) pressedEl.textContent = (pressedEl.textContent || '') + key;
    fetch(base + '/local/phone/calls/' + encodeURIComponent(callSid) + '/digits', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ digits: key }),
      credentials: 'same-origin',
    }).catch(function () { /* the call may have ended meanwhile */ });
  }

  if (keypad) {
    keypad.addEventListener('click', function (ev) {
      var button = ev.target && ev.target.closest ? ev.target.closest('button[data-key]') : null;
      if (button) press(button.getAttribute('data-key'));
    });
    keypad.addEventListener('keydown', function (ev) {
      if (/^[0-9*#]$/.test(ev.key)) {
        ev.preventDefault();
        press(ev.key);
      }
    });
  }

  function finish(text) {
    setKeypad(false);
    setStatus(text);
    // Focus on Hang up (now disabled) would fall to the page: it goes to Call support, ready for the next call.
    var hadFocus = document.activeElement === hangupButton || document.activeElement === callButton || document.activeElement === document.body;
    callButton.disabled = false;
    hangupButton.disabled = true;
    if (hadFocus) callButton.focus();
    if (events) {
      events.close();
      events = null;
    }
    if (audio) {
      audio.close();
      audio = null;
      if (sound) sound.detach();
    }
    callSid = null;
  }

  /** The microphone first (like lifting a handset), then the call: { stream } or { error }. */
  function askMicrophone() {
    if (!window.TwilioLocalAudio) return Promise.resolve({ error: 'unsupported' });
    if (sound) sound.say('Sound: asking for your microphone…');
    return window.TwilioLocalAudio.microphone();
  }

  /** Connects the call's sound to the stand-in and hands it to the sound panel. */
  function connectAudio(sid, mic) {
    audio = window.TwilioLocalAudio.connect({ url: base + '/local/phone/calls/' + encodeURIComponent(sid) + '/media', mic: mic });
    var session = audio;
    if (sound) sound.attach(session, { setMuted: function (m) { session.setMuted(m); }, isMuted: function () { return session.isMuted(); } });
  }

  function listen(sid) {
    events = new EventSource(base + '/local/phone/calls/' + encodeURIComponent(sid) + '/events');
    events.addEventListener('status', function (ev) {
      var d = JSON.parse(ev.data);
      if (d.status === 'completed' || d.status === 'failed') {
        finish(d.status + (d.reason ? ' (' + d.reason + ')' : ''));
      } else {
        setStatus(d.status);
        setKeypad(d.status === 'in-progress');
      }
    });
    events.addEventListener('hears', function (ev) {
      hearsEl.textContent = describe(JSON.parse(ev.data));
    });
    events.onerror = function () {
      if (events && events.readyState === EventSource.CLOSED) finish('connection lost');
    };
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (callSid) return;
    callButton.disabled = true;
    setStatus('dialling…');
    var mic = null;
    askMicrophone()
      .then(function (m) {
        mic = m.stream || null;
        if (!mic && sound) sound.noMicrophone(m.error);
        hearsEl.textContent = 'ringing';
        return fetch(base + '/local/phone/calls', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          // audio: the stand-in lets the call ring until the sound connects, so the greeting starts at its first word
          body: JSON.stringify({ from: fromInput.value, to: numberInput.value, audio: !!mic }),
          credentials: 'same-origin',
        });
      })
      .then(function (res) {
        return res.json().then(function (d) {
          if (!res.ok) throw new Error(d.message || 'Call failed');
          return d;
        });
      })
      .then(function (d) {
        callSid = d.callSid;
        hangupButton.disabled = false;
        // Call support (disabled during the call) had focus: Hang up is the next thing to press.
        if (document.activeElement === callButton || document.activeElement === document.body) hangupButton.focus();
        listen(callSid);
        if (mic) connectAudio(callSid, mic);
      })
      .catch(function (err) {
        if (mic) mic.getTracks().forEach(function (t) { t.stop(); });
        hearsEl.textContent = 'nothing';
        finish('failed (' + err.message + ')');
      });
  });

  hangupButton.addEventListener('click', function () {
    if (!callSid) return;
    var sid = callSid;
    hangupButton.disabled = true;
    fetch(base + '/local/phone/calls/' + encodeURIComponent(sid) + '/hangup', { method: 'POST', credentials: 'same-origin' })
      .then(function () { finish('completed (you hung up)'); })
      .catch(function () { finish('completed'); });
  });
})();
