// The supervisor's board: agents with presence and time in state, the waiting line, calls in progress — refreshed
// by server-sent events within a second of any change, with timers moving in between.
(function () {
  'use strict';

  var api = window.WarmTransfer.api;
  var PRESENCE_TEXT = window.WarmTransfer.PRESENCE_TEXT;
  var state = { data: null, loadedAt: 0 };

  var duration = window.WarmTransfer.duration;
  function since(seconds) { return seconds === undefined || seconds === null ? undefined : seconds + (Date.now() - state.loadedAt) / 1000; }

  function row(cells, attrs) {
    var tr = document.createElement('tr');
    Object.keys(attrs || {}).forEach(function (k) { tr.dataset[k] = attrs[k]; });
    cells.forEach(function (value) {
      var td = document.createElement('td');
      td.textContent = value === undefined || value === null ? '' : String(value);
      tr.appendChild(td);
    });
    return tr;
  }

  function fill(id, rows) {
    var body = document.querySelector('#' + id + ' tbody');
    body.textContent = '';
    rows.forEach(function (r) { body.appendChild(r); });
  }

  var TRANSFER_STATE_TEXT = { dialing: 'ringing', consulting: 'consulting' };

  /** The call's open transfer, as a supervisor reads it: who, to whom, how far, and whether the customer waits on hold. */
  function transferText(call, names) {
    var t = (call.transfers || []).filter(function (x) { return x.state === 'dialing' || x.state === 'consulting'; })[0];
    if (!t) return '';
    var customerHeld = t.mode === 'cold' || t.held !== 'colleague';
    return (t.mode === 'cold' ? 'Cold transfer' : 'Consult') + ': ' + (names[t.from] || t.from) + ' → ' + (names[t.to] || t.to) + ' (' + TRANSFER_STATE_TEXT[t.state] + (customerHeld ? ', customer on hold' : ', colleague on hold') + ')';
  }

  function setText(id, text) {
    var el = document.getElementById(id);
    if (el && el.textContent !== text) el.textContent = text;
  }

  function percent(v) { return v === null || v === undefined ? '—' : (v * 100).toFixed(0) + ' %'; }
  function seconds(v) { return v === null || v === undefined ? '—' : duration(v); }

  /** The service-metric tiles, as the server computed them (today so far, and the last 15 minutes). */
  function renderTiles(t) {
    if (!t) return;
    setText('tile-waiting', String(t.waiting));
    setText('tile-longest-wait', t.waiting > 0 ? duration(since(t.longestWaitNowSeconds)) : '—');
    setText('tile-available', String(t.agents.available + t.agents.ringing));
    setText('tile-on-call', String(t.agents.onCall));
    setText('tile-wrap-up', t.agents.wrapUp ? t.agents.wrapUp + ' in wrap-up' : '');
    setText('tile-away', String(t.agents.away));
    setText('tile-offline', t.agents.offline ? t.agents.offline + ' offline' : '');
    setText('tile-occupancy', percent(t.occupancy));
    var def = t.definitions;
    setText('metric-sl-label', 'Service level (within ' + def.answerTargetSeconds + ' s, goal ' + Math.round(def.serviceLevelGoal * 100) + ' %)');
    setText('metric-abandoned-label', 'Abandoned (the rate leaves out callers who hung up within ' + def.shortAbandonSeconds + ' s)');
    setText('board-metrics-caption', 'Service metrics (' + def.timeZone + ' day)');
    [['today', t.today], ['15', t.last15Minutes]].forEach(function (p) {
      var m = p[1];
      setText('tile-' + p[0] + '-sl', percent(m.serviceLevel));
      setText('tile-' + p[0] + '-asa', seconds(m.asaSeconds));
      setText('tile-' + p[0] + '-abandoned', m.abandoned + (m.abandonRate === null ? '' : ' (' + percent(m.abandonRate) + ')'));
      setText('tile-' + p[0] + '-aht', seconds(m.ahtSeconds));
      setText('tile-' + p[0] + '-answered', m.answered + ' / ' + m.offered);
      var cell = document.getElementById('tile-' + p[0] + '-sl');
      if (cell) cell.dataset.goal = m.serviceLevel === null ? '' : m.serviceLevel >= def.serviceLevelGoal ? 'met' : 'missed';
    });
  }

  var SUPERVISOR_TEXT = { listen: 'listening', coach: 'coaching', barge: 'in the call' };
  var MODE_BUTTONS = [['listen', 'Listen'], ['coach', 'Coach'], ['barge', 'Barge']];
  var me = document.body.dataset.agentId;

  /** Who supervises the call, and a raised hand, as one line. */
  function supervisionText(c) {
    var parts = (c.supervisors || []).map(function (s) {
      return s.name + ' ' + (s.status === 'in-progress' ? SUPERVISOR_TEXT[s.mode] + (s.mode === 'coach' && s.coachingName ? ' ' + s.coachingName : '') : 'ringing in');
    });
    if (c.help) parts.unshift('✋ ' + c.help.name + ' asks for help' + (c.help.note ? ': “' + c.help.note + '”' : ''));
    return parts.join('; ');
  }

  /** The Listen / Coach / Barge / Leave buttons of a call's row, made once (focus stays on them across refreshes). */
  function controlsCell(callSid) {
    var td = document.createElement('td');
    var group = document.createElement('div');
    group.className = 'supervise-controls';
    group.setAttribute('role', 'group');
    group.setAttribute('aria-label', 'Supervise this call');
    // With two agents or more on the call, the supervisor picks whom Coach whispers to (hidden otherwise).
    var whom = document.createElement('select');
    whom.className = 'coach-whom';
    whom.dataset.call = callSid;
    whom.setAttribute('aria-label', 'Agent to coach');
    whom.hidden = true;
    MODE_BUTTONS.concat([['leave', 'Leave']]).forEach(function (m) {
      // Placed just before Coach: pick the agent, then Tab to Coach.
      if (m[0] === 'coach') group.appendChild(whom);
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'supervise';
      b.dataset.mode = m[0];
      b.dataset.call = callSid;
      b.textContent = m[1];
      if (m[0] !== 'leave') b.setAttribute('aria-pressed', 'false');
      group.appendChild(b);
    });
    td.appendChild(group);
    return td;
  }

  /** The agents on the call a supervisor may coach; options change only when that set does (focus and choice stay). */
  function updateCoachChoice(select, c, mine) {
    var agents = c.participants.filter(function (l) { return l.status === 'in-progress'; });
    var key = agents.map(function (l) { return l.agentId; }).join(' ');
    if (select.dataset.agents !== key) {
      var chosen = select.value || (mine && mine.coaching) || '';
      select.dataset.agents = key;
      select.textContent = '';
      agents.forEach(function (l) {
        var option = document.createElement('option');
        option.value = l.agentId;
        option.textContent = l.name;
        select.appendChild(option);
      });
      if (chosen && agents.some(function (l) { return l.agentId === chosen; })) select.value = chosen;
    }
    select.hidden = agents.length < 2;
  }

  /**
   * Calls in progress as keyed rows: a row is made once per call and its cells updated in place, so a supervisor's
   * focus on its buttons survives the refreshes (every second, and on each change).
   */
  function renderCalls(calls, names) {
    var focused = document.activeElement;
    var body = document.querySelector('#board-calls tbody');
    var keep = {};
    calls.forEach(function (c, index) {
      keep[c.callSid] = true;
      var tr = body.querySelector('tr[data-call="' + c.callSid + '"]');
      if (!tr) {
        tr = document.createElement('tr');
        tr.dataset.call = c.callSid;
        for (var i = 0; i < 6; i++) tr.appendChild(document.createElement('td'));
        tr.appendChild(controlsCell(c.callSid));
      }
      if (body.children[index] !== tr) body.insertBefore(tr, body.children[index] || null);
      var on = c.participants.filter(function (l) { return l.status === 'in-progress'; }).map(function (l) { return l.name + (l.held ? ' (on hold)' : '') + (l.muted ? ' (muted)' : ''); }).join(', ');
      var cells = [(c.from || 'unknown') + (c.customerOnHold ? ' (on hold)' : ''), duration(since(c.talkSeconds)), duration(c.waitedSeconds), on, transferText(c, names), supervisionText(c)];
      cells.forEach(function (value, i) { if (tr.children[i].textContent !== value) tr.children[i].textContent = value; });
      tr.dataset.hold = String(Boolean(c.customerOnHold));
      tr.dataset.help = String(Boolean(c.help));
      var mine = (c.supervisors || []).filter(function (s) { return s.supervisorId === me; })[0];
      tr.dataset.supervised = mine ? mine.mode : '';
      // Each row's controls say whose call they are for (a screen reader moving between rows hears which).
      var label = 'Supervise the call from ' + (c.from || 'unknown') + (on ? ' with ' + on : '');
      var group = tr.querySelector('.supervise-controls');
      if (group.getAttribute('aria-label') !== label) group.setAttribute('aria-label', label);
      updateCoachChoice(tr.querySelector('select.coach-whom'), c, mine);
      Array.prototype.forEach.call(tr.querySelectorAll('button.supervise'), function (b) {
        if (b.dataset.mode === 'leave') b.disabled = !mine;
        else {
          b.setAttribute('aria-pressed', String(Boolean(mine && mine.mode === b.dataset.mode)));
          // A switch waits until the supervisor's softphone has answered: aria-disabled (not disabled), so the button
          // just pressed keeps focus while the line rings instead of focus jumping to Leave.
          b.disabled = false;
          b.setAttribute('aria-disabled', String(Boolean(mine && mine.status !== 'in-progress')));
        }
      });
    });
    Array.prototype.slice.call(body.children).forEach(function (tr) { if (!keep[tr.dataset.call]) body.removeChild(tr); });
    // A focused button disabled by this update (Leave, once left) or gone with its row would leave focus on the page
    // itself: it moves to the row's first enabled button, else to the supervisor's status line.
    if (focused && focused.tagName === 'BUTTON' && focused.classList.contains('supervise') && (focused.disabled || !body.contains(focused))) {
      var row = body.contains(focused) ? focused.closest('tr') : null;
      var next = row ? row.querySelector('button.supervise:not([disabled])') : null;
      (next || document.getElementById('supervise-status')).focus();
    }
  }

  function render() {
    var d = state.data;
    if (!d) return;
    renderTiles(d.tiles);
    var names = {};
    d.agents.forEach(function (a) { names[a.id] = a.name; });
    fill('board-agents', d.agents.map(function (a) {
      // The board's own softphone only joins calls to supervise: a supervisor with no agent page open takes no calls.
      var boardOnly = a.id === me && a.presence === 'offline' ? 'You: on this board, taking no calls (open your agent page to take them)' : '';
      return row([a.name, PRESENCE_TEXT[a.presence] || a.presence, duration(since(a.inStateSeconds)), a.note || boardOnly], { agent: a.id, presence: a.presence });
    }));
    fill('board-line', d.line.map(function (c, i) {
      // A callback is nobody on hold: the app will call this number when an agent answers (the agent page says so too).
      var who = c.callback ? 'Callback to ' + c.callback.number + ' (attempt ' + c.callback.attempt + ')' : c.from || 'unknown';
      return row([i + 1, who, duration(since(c.waitedSeconds)), c.offeredTo ? names[c.offeredTo] || c.offeredTo : ''], { call: c.callSid, kind: c.callback ? 'callback' : 'caller' });
    }));
    document.getElementById('board-line-empty').hidden = d.line.length > 0;
    renderCalls(d.calls, names);
    document.getElementById('board-calls-empty').hidden = d.calls.length > 0;
    document.getElementById('board-updated').textContent = 'Live: updated ' + new Date(state.loadedAt).toLocaleTimeString() + '.';
  }

  var busy = null;
  var again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = api('GET', '/api/board').then(function (data) {
      state.data = data;
      state.loadedAt = Date.now();
      document.getElementById('board-error').hidden = true;
      render();
      // The supervisor's controls (public/js/board-supervise.js) read the same answer.
      document.dispatchEvent(new CustomEvent('warm-transfer:board', { detail: data }));
    }, function (err) {
      if (err.status === 401) return window.WarmTransfer.signedOut();
      var e = document.getElementById('board-error');
      e.textContent = 'Could not load the board: ' + err.message;
      e.hidden = false;
    }).finally(function () {
      busy = null;
      if (again) { again = false; refresh(); }
    });
  }

  window.WarmTransfer.liveEvents('/api/events', { change: refresh, open: refresh, refused: refresh });
  setInterval(render, 1000);
  setInterval(refresh, 15000);
  refresh();
})();
