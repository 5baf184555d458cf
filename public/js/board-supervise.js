// The board's supervisor controls (docs/supervisors.md): a softphone of the supervisor's own (identity
// supervisor_<id>, so their agent page never rings for it) that answers the legs the server rings into calls; the rows'
// Listen / Coach / Barge / Leave buttons; and what changed, said through live regions — the supervisor's mode, a coach
// switched to listening because the agent left, an agent asking for help.
(function () {
  'use strict';

  var api = window.WarmTransfer.api;
  var me = document.body.dataset.agentId;
  var softphone = document.getElementById('supervise-softphone');
  var status = document.getElementById('supervise-status');
  var error = document.getElementById('supervise-error');
  var announcer = document.getElementById('board-announcer');
  var hears = document.getElementById('supervisor-hears');
  var hangup = document.getElementById('supervise-hangup');
  var table = document.getElementById('board-calls');
  if (!softphone || !table) return;

  // Hang up my line (hidden once hung up) and any control an update hides leave focus on the supervisor's status line.
  window.WarmTransfer.keepFocus(status);

  var MODE_TEXT = { listen: 'Listening: nobody hears you.', coach: 'Coaching: only the agent hears you.', barge: 'In the call: everyone hears you.' };
  var state = { device: null, call: null, onCall: null, leftOnPurpose: null, joining: null, calls: [], last: '', helpSeen: {}, notices: {}, title: document.title };

  function text(el, value) { if (el && el.textContent !== value) el.textContent = value; }
  function announce(value) { text(announcer, ''); text(announcer, value); }
  function showError(message) { error.textContent = message; error.hidden = false; }
  function clearError() { error.textContent = ''; error.hidden = true; }

  // ---------- the softphone ----------

  async function register() {
    if (!window.Twilio || !window.Twilio.Device) { text(softphone, 'The softphone library did not load; reload the page.'); return; }
    try {
      var token = (await api('POST', '/api/supervisor/token', {})).token;
      var device = new window.Twilio.Device(token, { closeProtection: true });
      state.device = device;
      device.on('registered', function () { text(softphone, 'Supervisor softphone connected.'); });
      device.on('unregistered', function () { text(softphone, 'Supervisor softphone disconnected.'); });
      device.on('error', function (err) { showError('Softphone error: ' + (err && err.message ? err.message : err)); });
      device.on('tokenWillExpire', async function () {
        try { device.updateToken((await api('POST', '/api/supervisor/token', {})).token); } catch (err) { showError('Could not renew the phone token: ' + err.message); }
      });
      // Only the server rings this identity, and only for a call the supervisor asked to join: answered at once.
      device.on('incoming', function (call) {
        state.call = call;
        var ended = function () { if (state.call === call) state.call = null; text(hears, 'nothing'); hangup.hidden = true; };
        call.on('accept', function () { hangup.hidden = false; });
        call.on('disconnect', ended);
        call.on('cancel', ended);
        call.on('hears', function (h) {
          if (!h || state.call !== call) return;
          var conf = h.conference;
          text(hears, h.what === 'conference' && conf ? 'the conference (' + conf.participants + ' on the line)' : h.what === 'say' ? '"' + (h.text || '') + '"' : h.what === 'play' ? 'music' : 'silence');
        });
        call.accept();
      });
      await device.register();
    } catch (err) {
      text(softphone, 'Supervisor softphone not connected: ' + err.message);
    }
  }

  // ---------- the buttons ----------

  // Ending the supervisor's own leg is a Leave as far as the call is concerned: only their participant goes.
  hangup.addEventListener('click', function () {
    state.joining = null;
    // Left on purpose: the board's updates must not say the call ended (it goes on without this line).
    state.leftOnPurpose = state.onCall ? state.onCall.callSid : null;
    state.onCall = null;
    if (state.call) state.call.disconnect();
    announce('You hung up your line: the call goes on without you.');
  });

  table.addEventListener('click', async function (event) {
    var button = event.target.closest('button.supervise');
    if (!button || button.disabled) return;
    if (button.getAttribute('aria-disabled') === 'true') { announce('Your line is still joining the call: press again once it has.'); return; }
    clearError();
    var callSid = button.dataset.call;
    var mode = button.dataset.mode;
    button.setAttribute('aria-busy', 'true');
    try {
      if (mode === 'leave') {
        state.joining = null;
        state.onCall = null;
        state.leftOnPurpose = callSid;
        await api('POST', '/api/calls/' + encodeURIComponent(callSid) + '/leave', {});
        // The status line (a live region) says "You are not on a call." next: said once, not twice.
      } else {
        var whom = button.parentNode.querySelector('select.coach-whom');
        var body = mode === 'coach' && whom && !whom.hidden && whom.value ? { mode: mode, agentId: whom.value } : { mode: mode };
        state.leftOnPurpose = null;
        var result = await api('POST', '/api/calls/' + encodeURIComponent(callSid) + '/supervise', body);
        if (result.status === 'dialing') {
          state.joining = { callSid: callSid, since: Date.now() };
          setTimeout(function () { checkJoin(mineIn(state.calls)); }, JOIN_GRACE_MS + 100);
        }
        // The status line (a live region) says the ring and then the mode: the announcer says nothing more.
      }
    } catch (err) {
      showError(err.message);
    } finally {
      button.removeAttribute('aria-busy');
    }
  });

  // ---------- what the board says ----------

  // A leg that rang and is gone without being answered: the supervisor is told why they are not on the call. A board
  // drawn before the join was written may still arrive, so the verdict waits a moment after the request.
  var JOIN_GRACE_MS = 1500;
  function checkJoin(mine) {
    if (!state.joining) return;
    if (mine) { if (mine.leg.status === 'in-progress') state.joining = null; return; }
    if (Date.now() - state.joining.since < JOIN_GRACE_MS) return;
    var joined = state.joining.callSid;
    state.joining = null;
    var stillThere = state.calls.some(function (c) { return c.callSid === joined; });
    var why = stillThere ? 'Your softphone did not answer, so you did not join the call; try again.' : 'The call ended before your softphone answered.';
    showError(why);
    announce(why);
  }
  function mineIn(calls) {
    var mine = null;
    calls.forEach(function (c) { (c.supervisors || []).forEach(function (s) { if (s.supervisorId === me) mine = { call: c, leg: s }; }); });
    return mine;
  }

  document.addEventListener('warm-transfer:board', function (event) {
    var calls = event.detail.calls || [];
    var mine = mineIn(calls);
    var helpNow = {};
    calls.forEach(function (c) {
      if (c.help) {
        var key = c.callSid + ' ' + c.help.at;
        helpNow[key] = true;
        if (!state.helpSeen[key]) {
          var said = c.help.name + ' asks for help' + (c.help.note ? ': ' + c.help.note : '') + ' (call from ' + (c.from || 'unknown') + ').';
          announce(said);
          // A board in a background tab also shows a desktop notification, where the browser already allows them.
          if (window.Notification && window.Notification.permission === 'granted' && document.visibilityState === 'hidden') {
            try { new window.Notification('Help asked on the floor', { body: said, tag: key }); } catch (err) { /* notifications unavailable */ }
          }
        }
      }
    });
    state.helpSeen = helpNow;
    var asking = Object.keys(helpNow).length;
    document.title = (asking ? '(' + asking + ' ✋) ' : '') + state.title;
    var line = !mine ? 'You are not on a call.' : mine.leg.status !== 'in-progress' ? 'Your softphone is ringing into the call from ' + (mine.call.from || 'unknown') + '…' : MODE_TEXT[mine.leg.mode] + ' (call from ' + (mine.call.from || 'unknown') + ')';
    text(status, line);
    state.calls = calls;
    checkJoin(mine);
    // Taken off a call without pressing Leave: it ended, or its agent left and the caller went back to the line.
    if (mine && mine.leg.status === 'in-progress' && mine.call.callSid !== state.leftOnPurpose) state.onCall = { callSid: mine.call.callSid, from: mine.call.from || 'unknown' };
    else if (!mine && state.onCall) {
      var was = state.onCall;
      state.onCall = null;
      var waiting = (event.detail.line || []).some(function (w) { return w.callSid === was.callSid; });
      announce(waiting ? 'The agent left the call from ' + was.from + ' and the caller went back to the line: you left the call.' : 'The call from ' + was.from + ' ended: you left it.');
    }
    // A coach whose agent left listens now: said once, loudly.
    if (mine && mine.leg.notice && !state.notices[mine.call.callSid + mine.leg.notice]) {
      state.notices[mine.call.callSid + mine.leg.notice] = true;
      announce(mine.leg.notice);
    }
  });

  register();
})();
