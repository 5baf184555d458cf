// The agent page's voicemail tasks: messages callers left for the agent's queues. Play one, call the caller back
// (through the page's "Call a number"), take it, mark it done. The server decides which ones this agent sees.
(function () {
  'use strict';

  var list = document.getElementById('voicemail-list');
  if (!list) return;
  var empty = document.getElementById('voicemails-empty');
  var status = document.getElementById('voicemail-status');
  var api = window.WarmTransfer.api;
  var duration = window.WarmTransfer.duration;
  var rows = {}; // id -> li, kept across refreshes so focus and a playing message survive
  // Each read is numbered; an answer older than one already shown, or read before the agent's last Take or Mark done,
  // is dropped (a poll in flight while Take was pressed answered 'new' after it and brought Take back for 3 s).
  var reads = 0;
  var oldestShown = 0;

  function say(text) {
    status.textContent = text;
  }

  function button(label, action, id) {
    var b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.setAttribute('data-action', action);
    b.setAttribute('data-voicemail', id);
    return b;
  }

  /** Who left the message, and when: the row's words and each of its buttons' names start with it. */
  function fromWhen(v) {
    return (v.from || 'an unknown number') + ', ' + new Date(v.at).toLocaleString();
  }

  /** Each button names its message: a list of "Play, Take, Play, Take" says nothing to a screen reader's list of buttons. */
  function nameButtons(li, v) {
    var about = fromWhen(v);
    var names = { play: 'Play the message from ', 'call-back': 'Call back ', take: 'Take the message from ', done: 'Mark done the message from ' };
    Array.prototype.forEach.call(li.querySelectorAll('button[data-action]'), function (b) {
      b.setAttribute('aria-label', names[b.getAttribute('data-action')] + about);
    });
  }

  function describe(v) {
    return 'From ' + fromWhen(v) + ', ' + duration(v.durationSeconds) + (v.queue ? ', ' + v.queue : '') + (v.state === 'taken' ? ' — yours' : ' — new');
  }

  /** Shows row `li` as new (Take offered) or taken by this agent (Take gone; Mark done is what comes next). */
  function showState(li, state) {
    li.setAttribute('data-state', state);
    var take = li.querySelector('button[data-action="take"]');
    if (take) take.hidden = state !== 'new';
  }

  function render(voicemails) {
    var seen = {};
    voicemails.forEach(function (v) {
      seen[v.id] = true;
      var li = rows[v.id];
      if (!li) {
        li = document.createElement('li');
        li.setAttribute('data-voicemail', v.id);
        var text = document.createElement('span');
        text.className = 'voicemail-text';
        li.appendChild(text);
        var transcript = document.createElement('q');
        transcript.className = 'voicemail-transcript';
        transcript.hidden = true;
        li.appendChild(transcript);
        var actions = document.createElement('span');
        actions.className = 'actions';
        actions.appendChild(button('Play', 'play', v.id));
        if (v.from) actions.appendChild(button('Call back', 'call-back', v.id));
        actions.appendChild(button('Take', 'take', v.id));
        actions.appendChild(button('Mark done', 'done', v.id));
        li.appendChild(actions);
        li.setAttribute('data-from', v.from || '');
        list.appendChild(li);
        rows[v.id] = li;
        nameButtons(li, v);
      }
      showState(li, v.state);
      li.querySelector('.voicemail-text').textContent = describe(v);
      // Twilio's transcription, when one was asked for and came back (textContent: the caller's words are never markup).
      var transcript = li.querySelector('.voicemail-transcript');
      var words = v.transcription ? (v.transcription.status === 'completed' && v.transcription.text ? v.transcription.text : '(transcription failed)') : '';
      transcript.textContent = words;
      transcript.hidden = !words;
    });
    Object.keys(rows).forEach(function (id) {
      if (!seen[id]) {
        rows[id].remove();
        delete rows[id];
      }
    });
    empty.hidden = voicemails.length > 0;
  }

  async function refresh() {
    var read = (reads += 1);
    try {
      var data = await api('GET', '/api/me/voicemails');
      if (read < oldestShown) return;
      oldestShown = read;
      render(data.voicemails || []);
    } catch (err) {
      /* signed out or the server is away: the page says so elsewhere */
    }
  }

  list.addEventListener('click', async function (ev) {
    var b = ev.target && ev.target.closest ? ev.target.closest('button[data-action]') : null;
    if (!b) return;
    var id = b.getAttribute('data-voicemail');
    var li = rows[id];
    var action = b.getAttribute('data-action');
    try {
      if (action === 'play') {
        var player = li.querySelector('audio');
        if (!player) {
          player = document.createElement('audio');
          player.controls = true;
          player.preload = 'auto';
          player.src = '/api/me/voicemails/' + encodeURIComponent(id) + '/audio';
          player.setAttribute('aria-label', 'Voicemail message');
          li.appendChild(player);
          player.addEventListener('playing', function () { say('Playing the message.'); });
          player.addEventListener('ended', function () { say('Message played.'); });
          player.addEventListener('error', function () { say('The message could not be played.'); });
        }
        await player.play().catch(function () { say('Press play on the message.'); });
      } else if (action === 'call-back') {
        var number = document.getElementById('call-out-number');
        var form = document.getElementById('call-out-form');
        if (number && form) {
          number.value = li.getAttribute('data-from');
          number.focus();
          if (form.requestSubmit && !document.getElementById('call-out-submit').disabled) form.requestSubmit();
          else say('The number is in "Call a number": press Call when you are free.');
        }
      } else if (action === 'take') {
        var taken = await api('POST', '/api/me/voicemails/' + encodeURIComponent(id) + '/take', {});
        oldestShown = reads + 1;
        showState(li, taken.state);
        // Take is gone: a keyboard user goes on from Mark done, not from the top of the page.
        if (document.activeElement === b || document.activeElement === document.body) li.querySelector('button[data-action="done"]').focus();
        say('The voicemail is yours: mark it done when you have dealt with it.');
      } else if (action === 'done') {
        await api('POST', '/api/me/voicemails/' + encodeURIComponent(id) + '/done', {});
        oldestShown = reads + 1;
        // The row goes now; a keyboard user goes on from the next message (else the one before, else the list's note),
        // not from the top of the page.
        var next = li.nextElementSibling || li.previousElementSibling;
        var hadFocus = li.contains(document.activeElement) || document.activeElement === document.body;
        li.remove();
        delete rows[id];
        if (list.children.length === 0) empty.hidden = false;
        if (hadFocus) {
          var target = next ? next.querySelector('button[data-action]:not([hidden])') : status;
          if (target === status) status.setAttribute('tabindex', '-1');
          target.focus();
        }
        say('Voicemail marked done.');
      }
    } catch (err) {
      say(err.message);
    }
    refresh();
  });

  refresh();
  setInterval(refresh, 3000);
})();
