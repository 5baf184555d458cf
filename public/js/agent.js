// The agent softphone: registers a Twilio Device for the signed-in agent, answers, brings a colleague in, hangs up.
// Same code in both modes: window.Twilio.Device is the real Voice SDK, or the local stand-in's double in demo mode.
(function () {
  'use strict';

  var POLL_MS = 1500;
  var els = {
    identity: document.getElementById('agent-identity'),
    status: document.getElementById('agent-status'),
    error: document.getElementById('agent-error'),
    answer: document.getElementById('answer'),
    bringIn: document.getElementById('bring-in'),
    hangup: document.getElementById('hangup'),
    summary: document.getElementById('call-summary'),
    hears: document.getElementById('agent-hears'),
    legs: document.getElementById('call-legs'),
    colleague: document.getElementById('colleague'),
  };
  var api = window.WarmTransfer.api;

  // Who this is was decided by the server at sign-in; the page only reads it.
  var me = document.body.dataset;
  var state = { agentId: null, agentName: null, device: null, call: null, waiting: [], pollTimer: null, lastServerCall: null, names: {} };
  Array.prototype.forEach.call(els.colleague.options, function (o) { state.names[o.value] = o.dataset.name; });
  state.names[me.agentId] = me.agentName;

  function nameOf(agentId) { return state.names[agentId] || agentId; }

  function setStatus(text) { els.status.textContent = text; }

  function showError(message) {
    els.error.textContent = message;
    els.error.hidden = false;
  }

  function clearError() {
    els.error.textContent = '';
    els.error.hidden = true;
  }

  function refreshButtons() {
    var call = state.call;
    var pending = call && call.status() === 'pending';
    var open = call && call.status() === 'open';
    els.answer.disabled = !pending;
    els.hangup.disabled = !(pending || open);
    var server = state.lastServerCall;
    var mine = server && server.legs.filter(function (l) { return l.agentId === state.agentId && l.status === 'in-progress'; })[0];
    var isFirst = !!(mine && mine.role === 'first');
    var colleagueLive = server && server.legs.some(function (l) { return l.agentId !== state.agentId && (l.status === 'dialing' || l.status === 'ringing' || l.status === 'in-progress'); });
    els.bringIn.disabled = !(open && isFirst) || colleagueLive || !els.colleague.value;
  }

  function describeLeg(leg) {
    var who = nameOf(leg.agentId) + (leg.agentId === state.agentId ? ' (you)' : '');
    var what = {
      dialing: 'being dialled', ringing: 'ringing', 'in-progress': 'on the call', completed: 'left the call',
      'dial-failed': 'could not be dialled', 'no-answer': 'did not answer', busy: 'declined the call', failed: 'could not be reached', canceled: 'call cancelled',
    }[leg.status] || leg.status;
    return who + ': ' + what + (leg.error ? ' — ' + leg.error : '');
  }

  function renderServerCall(call) {
    var previous = state.lastServerCall;
    state.lastServerCall = call;
    els.legs.textContent = '';
    if (!call) {
      els.summary.textContent = 'No call.';
    } else {
      els.summary.textContent = 'Customer call ' + (call.status === 'waiting' ? 'waiting for an agent' : call.status === 'in-progress' ? 'in progress' : call.status) + '.';
      call.legs.forEach(function (leg) {
        var li = document.createElement('li');
        li.textContent = describeLeg(leg);
        li.dataset.agent = leg.agentId;
        li.dataset.status = leg.status;
        els.legs.appendChild(li);
      });
      // Tell this agent when the colleague they brought in did not come.
      call.legs.forEach(function (leg) {
        var before = previous && previous.legs.filter(function (p) { return p.agentId === leg.agentId && p.role === leg.role; })[0];
        var failed = leg.status === 'no-answer' || leg.status === 'busy' || leg.status === 'failed' || leg.status === 'dial-failed';
        if (leg.requestedBy === state.agentId && failed && (!before || before.status !== leg.status)) {
          setStatus(nameOf(leg.agentId) + ' did not answer. You are still connected with the customer.');
        }
        if (leg.requestedBy === state.agentId && leg.status === 'in-progress' && before && before.status !== 'in-progress') {
          setStatus(nameOf(leg.agentId) + ' joined. You can hang up and leave them with the customer.');
        }
      });
    }
    refreshButtons();
  }

  async function poll() {
    if (!state.agentId) return;
    try {
      var data = await api('GET', '/agents/' + encodeURIComponent(state.agentId) + '/call');
      renderServerCall(data.call);
    } catch (err) {
      if (err.status === 401) return signedOut();
      showError('Could not load the call state: ' + err.message);
    }
  }

  /** The session ended (signed out elsewhere, expired, or the account was disabled): back to the sign-in page. */
  function signedOut() {
    clearInterval(state.pollTimer);
    if (state.device) state.device.destroy();
    window.location.assign('/sign-in');
  }

  function startPolling() {
    clearInterval(state.pollTimer);
    state.pollTimer = setInterval(poll, POLL_MS);
    poll();
  }

  var supportNumber = document.getElementById('agent').dataset.supportNumber;

  /** Agents are called from the support number; the customer is the one waiting behind it. */
  function describeCaller(call) {
    var from = call.parameters && call.parameters.From;
    return !from || from === supportNumber || from.indexOf('client:') === 0 ? 'a customer' : from;
  }

  /** A call rang: take it now, or keep it waiting while this agent is busy with another. */
  function onIncoming(call) {
    if (state.call) {
      state.waiting.push(call);
      call.on('cancel', function () { state.waiting = state.waiting.filter(function (c) { return c !== call; }); });
      showError('Another call from ' + describeCaller(call) + ' is waiting: finish this call to take it.');
      return;
    }
    attachCall(call);
  }

  /** The current call is over: show why, and offer the next waiting call, if any still rings. */
  function callEnded(call, message) {
    if (state.call !== call) return;
    state.call = null;
    setStatus(message);
    if (els.hears) els.hears.textContent = 'nothing';
    var next = state.waiting.shift();
    while (next && next.status() !== 'pending') next = state.waiting.shift();
    if (next) {
      clearError();
      attachCall(next);
    }
    refreshButtons();
    poll();
  }

  function attachCall(call) {
    state.call = call;
    setStatus('Incoming call from ' + describeCaller(call) + '…');
    call.on('accept', function () {
      setStatus('In call with the customer.');
      refreshButtons();
      poll();
    });
    call.on('cancel', function () { callEnded(call, 'The call was withdrawn before you answered.'); });
    call.on('reject', function () { callEnded(call, 'Call declined.'); });
    call.on('disconnect', function () { callEnded(call, 'Call ended. Waiting for the next call.'); });
    call.on('error', function (err) { showError('Call error: ' + (err && err.message ? err.message : err)); });
    // Demo mode only: the local stand-in's device double says what this leg hears (the real SDK plays audio instead).
    call.on('hears', function (h) {
      if (!els.hears || !h || state.call !== call) return;
      var conf = h.conference;
      els.hears.textContent = h.what === 'conference' && conf ? 'the conference (' + conf.participants + ' on the line)'
        : h.what === 'say' ? '"' + (h.text || '') + '"' : h.what === 'play' ? 'music' : 'silence';
      poll(); // someone joined or left: refresh the call's legs now rather than at the next tick
    });
    refreshButtons();
  }

  async function fetchToken(agentId) {
    var data = await api('POST', '/token/' + encodeURIComponent(agentId));
    return data.token;
  }

  async function connectAs(agentId, agentName) {
    clearError();
    if (!window.Twilio || !window.Twilio.Device) {
      showError('The softphone library did not load; reload the page.');
      return;
    }
    if (state.device) {
      state.device.destroy();
      state.device = null;
    }
    state.call = null;
    state.waiting = [];
    state.agentId = agentId;
    state.agentName = agentName;
    els.identity.textContent = 'You are ' + agentName + '.';
    setStatus('Connecting…');
    try {
      var token = await fetchToken(agentId);
      var device = new window.Twilio.Device(token, { closeProtection: true });
      state.device = device;
      device.on('registered', function () { setStatus('Ready: waiting for a call.'); });
      device.on('unregistered', function () { setStatus('Offline.'); });
      device.on('error', function (err) { showError('Phone error: ' + (err && err.message ? err.message : err) + (err && err.code ? ' (code ' + err.code + ')' : '')); });
      device.on('incoming', onIncoming);
      device.on('tokenWillExpire', async function () {
        try { device.updateToken(await fetchToken(agentId)); } catch (err) {
          if (err.status === 401) return signedOut();
          showError('Could not renew the phone token: ' + err.message);
        }
      });
      await device.register();
      startPolling();
    } catch (err) {
      if (err.status === 401) return signedOut();
      showError('Could not connect: ' + err.message);
      setStatus('Not connected.');
    }
  }

  els.answer.addEventListener('click', function () {
    if (state.call) state.call.accept();
  });

  els.hangup.addEventListener('click', function () {
    var call = state.call;
    if (!call) return;
    if (call.status() === 'pending') call.reject();
    else call.disconnect();
  });

  els.bringIn.addEventListener('click', async function () {
    clearError();
    els.bringIn.disabled = true;
    try {
      var result = await api('POST', '/conference/' + encodeURIComponent(state.agentId) + '/call', { to: els.colleague.value });
      setStatus('Dialling ' + nameOf(result.agentId) + ' in… stay on the line until they join.');
      poll();
    } catch (err) {
      showError('Could not bring a colleague in: ' + err.message);
      refreshButtons();
    }
  });

  els.colleague.addEventListener('change', function () {
    els.bringIn.textContent = 'Dial ' + nameOf(els.colleague.value) + ' in';
    refreshButtons();
  });

  if (els.colleague.value) els.bringIn.textContent = 'Dial ' + nameOf(els.colleague.value) + ' in';
  connectAs(me.agentId, me.agentName);
})();
