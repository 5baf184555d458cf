// The agent page: presence, one registered softphone per agent (across tabs), answering and declining offers,
// hanging up, bringing colleagues in. It renders what the server decided (GET /api/me), refreshed by server-sent
// events; the Voice SDK Device (or the demo stand-in's double) only carries the audio.
(function () {
  'use strict';

  var api = window.WarmTransfer.api;
  var me = { id: document.body.dataset.agentId, name: document.body.dataset.agentName };
  var page = document.getElementById('agent');
  var els = {};
  ['presence', 'presence-since', 'go-available', 'go-away', 'presence-note', 'softphone', 'other-tab', 'use-this-tab', 'agent-status', 'agent-error',
    'agent-hears', 'answer', 'decline', 'hangup', 'call-summary', 'call-legs', 'directory-search', 'directory', 'bring-in-hint', 'line', 'transfer', 'transfer-state', 'transfer-complete', 'transfer-merge', 'transfer-toggle', 'transfer-cancel', 'transfer-note', 'to-queue'].forEach(function (id) {
    els[id] = document.getElementById(id);
  });

  var PRESENCE_TEXT = window.WarmTransfer.PRESENCE_TEXT;
  var LEG_TEXT = {
    dialing: 'being called', ringing: 'ringing', 'in-progress': 'on the call', completed: 'left the call', 'dial-failed': 'could not be called',
    'no-answer': 'did not answer', busy: 'declined', failed: 'could not be reached', canceled: 'was not needed',
  };

  // One id per tab, kept across reloads of that tab (sessionStorage is per tab), so a reload keeps the softphone.
  var tab = sessionStorage.getItem('wt-tab');
  if (!tab) {
    tab = 'tab-' + Math.random().toString(36).slice(2) + Date.now().toString(36);
    sessionStorage.setItem('wt-tab', tab);
  }

  var state = { server: null, loadedAt: Date.now(), owner: null, device: null, registering: false, call: null, heartbeatMs: 10000, busy: false };

  function text(el, value) { if (el && el.textContent !== value) el.textContent = value; }
  function showError(message) { els['agent-error'].textContent = message; els['agent-error'].hidden = false; }
  function clearError() { els['agent-error'].textContent = ''; els['agent-error'].hidden = true; }

  var duration = window.WarmTransfer.duration;

  /** Seconds as the server said them, plus the time since we loaded its answer. */
  function since(seconds) { return seconds === undefined || seconds === null ? undefined : seconds + (Date.now() - state.loadedAt) / 1000; }

  function myLeg(call) {
    if (!call) return null;
    var mine = call.participants.filter(function (leg) { return leg.agentId === me.id; });
    return mine.length ? mine[mine.length - 1] : null;
  }

  function callerOf(call) { return call && call.from ? call.from : 'a customer'; }

  // ---------- rendering ----------

  function render() {
    var s = state.server;
    if (!s) return;
    var you = s.you;
    els.presence.dataset.presence = you.presence;
    text(els.presence, PRESENCE_TEXT[you.presence] || you.presence);
    text(els['presence-since'], you.since ? 'for ' + duration((Date.now() - new Date(you.since).getTime()) / 1000) : '');
    els['go-available'].setAttribute('aria-pressed', String(you.presence === 'available'));
    els['go-away'].setAttribute('aria-pressed', String(you.presence === 'away'));
    // act() disables a button while its request runs; the server's answer makes both usable again.
    els['go-available'].disabled = false;
    els['go-away'].disabled = false;
    els['presence-note'].hidden = !you.note || you.presence !== 'away';
    text(els['presence-note'], you.note || '');

    var call = s.call;
    var leg = myLeg(call);
    var local = state.call;
    var pending = local && local.status() === 'pending';
    var open = local && local.status() === 'open';
    var talking = leg && leg.status === 'in-progress';
    var offered = leg && (leg.status === 'dialing' || leg.status === 'ringing');

    // The status line says what is true now, from the server's view (nothing lingers from an earlier call).
    var status;
    if (talking && consultLine(call)) status = consultLine(call);
    else if (talking) status = 'In call with ' + callerOf(call) + (call.talkSeconds !== undefined ? ' · ' + duration(since(call.talkSeconds)) : '') + '.';
    else if ((offered || pending) && consultFor(call, leg)) status = consultFor(call, leg);
    else if (offered || pending) status = 'Incoming call from ' + callerOf(call) + (call && call.waitedSeconds !== undefined ? ', waiting ' + duration(since(call.waitedSeconds)) : '') + (pending ? '' : ' (your phone is ringing)') + '.';
    else if (state.owner === false) status = 'Your softphone is in another tab.';
    else if (you.presence === 'available') status = 'Ready: waiting for a call.';
    else if (you.presence === 'wrap-up') status = 'Wrapping up before the next call.';
    else if (you.presence === 'away') status = 'Away: you will not be offered calls.';
    else if (you.presence === 'offline') status = 'Offline: your softphone is not connected.';
    else status = PRESENCE_TEXT[you.presence] || '';
    if (state.lastEnded && !call && Date.now() - state.lastEnded.at < 8000) status = state.lastEnded.message + ' ' + status;
    text(els['agent-status'], status);

    els.answer.disabled = !pending;
    els.decline.disabled = !pending;
    els.hangup.disabled = !(talking || open);

    // The call and everyone on it.
    els['call-legs'].textContent = '';
    if (!call) {
      text(els['call-summary'], 'No call.');
    } else {
      var what = call.status === 'in-progress' ? 'in progress' : call.status === 'offered' ? 'ringing' : call.status;
      text(els['call-summary'], 'Call from ' + callerOf(call) + ' — ' + what + (call.waitedSeconds !== undefined ? ' · waited ' + duration(call.answeredAt ? call.waitedSeconds : since(call.waitedSeconds)) : '') + '.');
      call.participants.forEach(function (l) {
        var li = document.createElement('li');
        li.dataset.agent = l.agentId;
        li.dataset.status = l.status;
        li.textContent = (l.agentId === me.id ? 'You' : l.name) + ': ' + (LEG_TEXT[l.status] || l.status) + (l.held && l.status === 'in-progress' ? ', on hold' : '') + (l.transferId ? (l.role === 'colleague' ? ' (consult)' : ' (transferred)') : l.requestedBy && l.requestedBy !== l.agentId ? ' (brought in)' : '');
        els['call-legs'].appendChild(li);
      });
    }

    renderTransfer(call, talking);
    renderDirectory(talking, call);
    text(els.line, s.line.waiting > 0 ? s.line.waiting + (s.line.waiting === 1 ? ' caller' : ' callers') + ' waiting, the longest for ' + duration(since(s.line.longestWaitSeconds)) + '.' : 'Nobody is waiting.');
  }

  function nameOfAgent(id) {
    if (id === me.id) return 'you';
    var c = state.server.colleagues.filter(function (x) { return x.id === id; })[0];
    return c ? c.name : id;
  }

  /** The ringing page of a colleague being consulted: who asks, about whom, and their note. */
  function consultFor(call, leg) {
    if (!call || !leg || !leg.transferId) return '';
    var t = call.transfers.filter(function (x) { return x.id === leg.transferId; })[0];
    if (!t) return '';
    return (t.mode === 'cold' ? 'Transfer from ' : 'Consult from ') + nameOfAgent(t.from) + ' about ' + callerOf(call) + ' (waited ' + duration(call.waitedSeconds) + (call.talkSeconds !== undefined ? ', talking ' + duration(since(call.talkSeconds)) : '') + ')' + (t.note ? ': "' + t.note + '"' : '') + '.';
  }

  /** The consulted colleague's status line while the consult is under way: who holds, and why. */
  function consultLine(call) {
    var t = (call.transfers || []).filter(function (x) { return x.to === me.id && x.state === 'consulting'; })[0];
    if (!t) return '';
    if (t.held === 'colleague') return 'On hold: ' + nameOfAgent(t.from) + ' is talking with ' + callerOf(call) + ' and will be back with you.';
    return 'Consult with ' + nameOfAgent(t.from) + ' about ' + callerOf(call) + ': the customer is on hold and cannot hear you.' + (t.note ? ' Note: "' + t.note + '"' : '');
  }

  var TRANSFER_TEXT = {
    dialing: 'Calling {to}; the customer is on hold with music.',
    consulting: 'Talking with {to}; the customer is on hold. Complete to hand over, Three-way to bring the customer in, Talk to the customer to switch, or Cancel.',
    'consulting-colleague-held': 'Talking with the customer; {to} is on hold. Talk to {to} to switch back, Complete to hand over, Three-way, or Cancel.',
    completed: '{to} has the customer now.',
    merged: 'Three-way: you, {to} and the customer.',
    canceled: 'Transfer cancelled: the customer is back with you.',
    declined: '{to} declined: the customer is back with you.',
    'no-answer': '{to} did not answer: the customer is back with you.',
    failed: '{to} could not be reached: the customer is back with you.',
  };

  function renderTransfer(call, talking) {
    var transfers = call && call.transfers ? call.transfers.filter(function (t) { return t.from === me.id; }) : [];
    var t = transfers[transfers.length - 1];
    var open = t && (t.state === 'dialing' || t.state === 'consulting');
    var recent = t && !open && Date.now() - new Date(t.updatedAt).getTime() < 15000;
    els.transfer.hidden = !(talking && (open || recent));
    if (!t) return;
    var colleagueHeld = t.state === 'consulting' && t.held === 'colleague';
    text(els['transfer-state'], (TRANSFER_TEXT[colleagueHeld ? 'consulting-colleague-held' : t.state] || t.state).split('{to}').join(nameOfAgent(t.to)));
    els['transfer-complete'].disabled = t.state !== 'consulting';
    els['transfer-merge'].disabled = t.state !== 'consulting';
    els['transfer-toggle'].disabled = t.state !== 'consulting';
    text(els['transfer-toggle'], colleagueHeld ? 'Talk to ' + nameOfAgent(t.to) : 'Talk to the customer');
    els['transfer-cancel'].disabled = !open;
  }

  /** One of a colleague's action buttons in the directory (the click handler reads its class and data-agent). */
  function colleagueButton(className, agentId, label, disabled) {
    var button = document.createElement('button');
    button.type = 'button';
    button.className = className;
    button.dataset.agent = agentId;
    button.textContent = label;
    button.disabled = disabled;
    return button;
  }

  function renderDirectory(talking, call) {
    var filter = els['directory-search'].value.trim().toLowerCase();
    var onCall = {};
    if (call) call.participants.forEach(function (l) { if (l.status === 'dialing' || l.status === 'ringing' || l.status === 'in-progress') onCall[l.agentId] = true; });
    els.directory.textContent = '';
    state.server.colleagues.forEach(function (c) {
      if (filter && c.name.toLowerCase().indexOf(filter) < 0 && c.id.toLowerCase().indexOf(filter) < 0) return;
      var li = document.createElement('li');
      li.dataset.agent = c.id;
      li.dataset.presence = c.presence;
      var name = document.createElement('span');
      name.className = 'name';
      name.textContent = c.name;
      var badge = document.createElement('span');
      badge.className = 'presence-badge';
      badge.dataset.presence = c.presence;
      badge.textContent = (PRESENCE_TEXT[c.presence] || c.presence) + (c.inStateSeconds !== undefined ? ' · ' + duration(since(c.inStateSeconds)) : '');
      var reachable = talking && !onCall[c.id] && c.presence !== 'offline' && c.presence !== 'ringing' && c.presence !== 'on-call';
      li.appendChild(name);
      li.appendChild(badge);
      li.appendChild(colleagueButton('consult', c.id, 'Consult', !reachable));
      li.appendChild(colleagueButton('cold', c.id, 'Transfer', !reachable));
      li.appendChild(colleagueButton('bring-in', c.id, onCall[c.id] ? 'On this call' : 'Bring in', !reachable));
      els.directory.appendChild(li);
    });
    els['bring-in-hint'].hidden = Boolean(talking);
    els['to-queue'].disabled = !talking;
  }

  // ---------- server state ----------

  var refreshing = null;
  var again = false;
  async function refresh() {
    if (refreshing) { again = true; return refreshing; }
    refreshing = (async function () {
      do {
        again = false;
        try {
          var data = await api('GET', '/api/me');
          var before = state.server && state.server.call;
          state.server = data;
          state.loadedAt = Date.now();
          if (before && !data.call) callGone(before);
          render();
        } catch (err) {
          if (err.status === 401) { window.location.assign('/sign-in'); return; }
          showError('Could not load your state: ' + err.message);
        }
      } while (again);
    })().finally(function () { refreshing = null; });
    return refreshing;
  }

  function callGone(call) {
    var leg = myLeg(call);
    var ringing = leg && (leg.status === 'dialing' || leg.status === 'ringing');
    var declined = state.declined;
    state.declined = false;
    state.lastEnded = { at: Date.now(), message: ringing && declined ? 'You declined the call.' : ringing ? 'The call was taken elsewhere or the caller hung up.' : 'Call ended.' };
  }

  function listen() {
    var source = new EventSource('/api/events');
    source.addEventListener('change', function () { refresh(); });
    source.addEventListener('open', function () { refresh(); });
  }

  // ---------- the softphone ----------

  async function fetchToken() {
    var data = await api('POST', '/token/' + encodeURIComponent(me.id), {});
    return data.token;
  }

  async function registerDevice() {
    if (state.device || state.registering) return;
    if (!window.Twilio || !window.Twilio.Device) { showError('The softphone library did not load; reload the page.'); return; }
    state.registering = true;
    text(els.softphone, 'Connecting your softphone…');
    try {
      var device = new window.Twilio.Device(await fetchToken(), { closeProtection: true });
      state.device = device;
      device.on('registered', function () { text(els.softphone, 'Softphone connected.'); render(); });
      device.on('unregistered', function () { text(els.softphone, 'Softphone disconnected.'); });
      device.on('error', function (err) { showError('Phone error: ' + (err && err.message ? err.message : err) + (err && err.code ? ' (code ' + err.code + ')' : '')); });
      device.on('incoming', onIncoming);
      device.on('tokenWillExpire', async function () {
        try { device.updateToken(await fetchToken()); } catch (err) { showError('Could not renew the phone token: ' + err.message); }
      });
      await device.register();
    } catch (err) {
      showError('Could not connect your softphone: ' + err.message);
      state.device = null;
    } finally {
      state.registering = false;
    }
  }

  function unregisterDevice() {
    if (!state.device) return;
    try { state.device.destroy(); } catch (err) { /* already gone */ }
    state.device = null;
    state.call = null;
  }

  async function heartbeat(takeOver) {
    try {
      var result = await api('POST', '/api/me/heartbeat', { tab: tab, takeOver: Boolean(takeOver) });
      state.heartbeatMs = Math.max(2000, (result.everySeconds || 10) * 1000);
      var wasOwner = state.owner;
      state.owner = result.owner;
      els['other-tab'].hidden = result.owner;
      if (result.owner) registerDevice();
      else {
        if (wasOwner) showError('Your softphone moved to another tab.');
        unregisterDevice();
        text(els.softphone, 'Softphone in another tab.');
      }
      if (wasOwner !== result.owner) refresh();
    } catch (err) {
      if (err.status === 401) { window.location.assign('/sign-in'); return; }
      text(els.softphone, 'Cannot reach the server: retrying…');
    }
  }

  function heartbeatLoop() {
    heartbeat(false).finally(function () { setTimeout(heartbeatLoop, state.heartbeatMs); });
  }

  function onIncoming(call) {
    if (state.call && state.call.status() !== 'closed') {
      // Routing never offers a second call at once; a stray one (a colleague's bring-in) is turned away politely.
      call.reject();
      return;
    }
    state.call = call;
    clearError();
    var ended = function () { if (state.call === call) state.call = null; render(); refresh(); };
    call.on('accept', function () { render(); refresh(); });
    call.on('cancel', ended);
    call.on('reject', ended);
    call.on('disconnect', ended);
    call.on('error', function (err) { showError('Call error: ' + (err && err.message ? err.message : err)); });
    // Demo mode only: the stand-in's device double says what this leg hears (the real SDK plays audio instead).
    call.on('hears', function (h) {
      if (!els['agent-hears'] || !h || state.call !== call) return;
      var conf = h.conference;
      text(els['agent-hears'], h.held ? 'hold music (you are on hold)' : h.what === 'conference' && conf ? 'the conference (' + conf.participants + ' on the line' + (conf.held ? ', ' + conf.held + ' on hold' : '') + ')' : h.what === 'say' ? '"' + (h.text || '') + '"' : h.what === 'play' ? 'music' : 'silence');
      refresh();
    });
    render();
    refresh();
  }

  // ---------- actions ----------

  async function act(button, work) {
    clearError();
    button.disabled = true;
    try { await work(); } catch (err) { showError(err.message); } finally { refresh(); }
  }

  els['go-available'].addEventListener('click', function () { act(els['go-available'], function () { return api('POST', '/api/me/presence', { status: 'available' }); }); });
  els['go-away'].addEventListener('click', function () { act(els['go-away'], function () { return api('POST', '/api/me/presence', { status: 'away' }); }); });
  els['use-this-tab'].addEventListener('click', function () { clearError(); heartbeat(true); });
  els.answer.addEventListener('click', function () { if (state.call && state.call.status() === 'pending') state.call.accept(); });
  els.decline.addEventListener('click', function () {
    if (!state.call || state.call.status() !== 'pending') return;
    state.declined = true;
    state.call.reject();
  });
  els.hangup.addEventListener('click', function () {
    act(els.hangup, async function () {
      var call = state.call;
      // Tell the server first that this is on purpose, then drop the audio here too.
      try { await api('POST', '/api/me/hangup', {}); } finally { if (call && call.status() === 'open') call.disconnect(); }
    });
  });
  els.directory.addEventListener('click', function (event) {
    var consult = event.target.closest('button.consult');
    if (consult && !consult.disabled) {
      act(consult, function () { return api('POST', '/api/me/consult', { to: consult.dataset.agent, note: els['transfer-note'].value || undefined }); });
      return;
    }
    var cold = event.target.closest('button.cold');
    if (cold && !cold.disabled) {
      act(cold, function () { return api('POST', '/api/me/transfer-cold', { to: cold.dataset.agent, note: els['transfer-note'].value || undefined }); });
      return;
    }
    var button = event.target.closest('button.bring-in');
    if (!button || button.disabled) return;
    act(button, async function () {
      await api('POST', '/conference/' + encodeURIComponent(me.id) + '/call', { to: button.dataset.agent });
      state.lastEnded = null;
    });
  });
  els['to-queue'].addEventListener('click', function () {
    act(els['to-queue'], function () { return api('POST', '/api/me/transfer-cold', { to: 'queue', note: els['transfer-note'].value || undefined }); });
  });
  ['complete', 'merge', 'toggle', 'cancel'].forEach(function (action) {
    var button = els['transfer-' + action];
    button.addEventListener('click', function () { act(button, function () { return api('POST', '/api/me/transfer/' + action, {}); }); });
  });
  els['directory-search'].addEventListener('input', function () { if (state.server) render(); });

  // Timers on the page move every second between server updates; a slow safety refresh covers a lost event stream.
  setInterval(render, 1000);
  setInterval(refresh, 15000);
  listen();
  refresh();
  heartbeatLoop();
  void page;
})();
