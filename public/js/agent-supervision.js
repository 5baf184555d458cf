// The agent page's part of supervision (docs/supervisors.md): who is supervising the call (shown, as most contact
// centers do) and "Ask for help". It renders what GET /api/me decided (agent.js passes each answer on as a
// 'warm-transfer:me' event) and announces changes through the page's one live region (#announcer).
(function () {
  'use strict';

  var api = window.WarmTransfer.api;
  var onCall = document.getElementById('supervisor-on-call');
  var help = document.getElementById('help');
  var form = document.getElementById('help-form');
  var note = document.getElementById('help-note');
  var raised = document.getElementById('help-raised');
  var raisedText = document.getElementById('help-raised-text');
  var lower = document.getElementById('help-lower');
  var announcer = document.getElementById('announcer');
  var error = document.getElementById('agent-error');
  if (!onCall || !help) return;
  var said = '';

  var MODE_TEXT = { listen: 'is listening to this call', coach: 'is coaching you (only you hear them)', barge: 'is in the call (everyone hears them)' };

  function announce(text) { if (announcer) announcer.textContent = text; }
  function text(el, value) { if (el.textContent !== value) el.textContent = value; }

  /**
   * "Sue Supervisor is listening to this call." for each supervisor in it (ringing ones are not there yet); a coach
   * whispering to a colleague on the call is said as such (this agent does not hear them).
   */
  function supervisorText(call, me) {
    var legs = (call && call.supervisors ? call.supervisors : []).filter(function (s) { return s.status === 'in-progress'; });
    return legs.map(function (s) {
      var what = s.mode === 'coach' && s.coaching && s.coaching !== me ? 'is coaching ' + (s.coachingName || s.coaching) + ' (you do not hear them)' : MODE_TEXT[s.mode] || s.mode;
      return 'Supervisor ' + s.name + ' ' + what + '.';
    }).join(' ');
  }

  document.addEventListener('warm-transfer:me', function (event) {
    var data = event.detail;
    var call = data.call;
    var line = supervisorText(call, data.you && data.you.id);
    text(onCall, line);
    onCall.hidden = !line;
    if (line !== said) {
      if (line) announce(line);
      else if (said) announce('No supervisor is on the call any more.');
      said = line;
    }
    var can = data.can || {};
    help.hidden = !can.askHelp && !can.lowerHelp;
    form.hidden = !can.askHelp;
    raised.hidden = !can.lowerHelp;
    if (can.lowerHelp && call && call.help) text(raisedText, 'You asked for help' + (call.help.note ? ': “' + call.help.note + '”' : '') + '. The supervisors see it on the floor.');
  });

  /** Focuses `el` once it is shown (within 3 s), unless the user has moved focus elsewhere meanwhile. */
  function focusWhenShown(el) {
    var from = document.activeElement;
    var tries = 0;
    var timer = setInterval(function () {
      tries += 1;
      // Moved by the user to another control (the status line, where focus waits meanwhile, does not count).
      var active = document.activeElement;
      var moved = active && active !== from && /^(BUTTON|INPUT|SELECT|TEXTAREA|A)$/.test(active.tagName) && !active.closest('[hidden]');
      if (moved || tries > 30) { clearInterval(timer); return; }
      if (!el.closest('[hidden]')) { clearInterval(timer); el.focus(); }
    }, 100);
  }

  form.addEventListener('submit', async function (event) {
    event.preventDefault();
    try {
      await api('POST', '/api/me/help', note.value.trim() ? { note: note.value.trim() } : {});
      note.value = '';
      announce('You asked for help. The supervisors are told.');
      // Lower hand shows once the page hears of the raised hand: focus goes there then.
      focusWhenShown(lower);
    } catch (err) {
      error.textContent = 'Could not ask for help: ' + err.message;
      error.hidden = false;
    }
  });

  lower.addEventListener('click', async function () {
    try {
      await api('POST', '/api/me/help/lower', {});
      announce('You lowered your hand.');
      focusWhenShown(note);
    } catch (err) {
      error.textContent = 'Could not lower your hand: ' + err.message;
      error.hidden = false;
    }
  });
})();
