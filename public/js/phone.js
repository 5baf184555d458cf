// Customer phone page: places a demo call through the local Twilio stand-in and shows what the caller hears.
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
  var callSid = null;
  var events = null;

  if (!numberInput.value) numberInput.value = root.getAttribute('data-support-number') || '';

  function setStatus(text) {
    statusEl.textContent = text;
  }

  /** Turns a `hears` event into a sentence for the "You hear" line. */
  function describe(h) {
    var conf = h.conference;
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

  function finish(text) {
    setStatus(text);
    callButton.disabled = false;
    hangupButton.disabled = true;
    if (events) {
      events.close();
      events = null;
    }
    callSid = null;
  }

  function listen(sid) {
    events = new EventSource(base + '/local/phone/calls/' + encodeURIComponent(sid) + '/events');
    events.addEventListener('status', function (ev) {
      var d = JSON.parse(ev.data);
      if (d.status === 'completed' || d.status === 'failed') {
        finish(d.status + (d.reason ? ' (' + d.reason + ')' : ''));
      } else {
        setStatus(d.status);
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
    hearsEl.textContent = 'ringing';
    fetch(base + '/local/phone/calls', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ from: fromInput.value, to: numberInput.value }),
      credentials: 'same-origin',
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
        listen(callSid);
      })
      .catch(function (err) {
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
