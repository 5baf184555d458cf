// The agent page: presence, one registered softphone per agent (across tabs), answering and declining offers (a ring
// tone, a blinking title and, in a background tab, a desktop notification), hanging up, hold, mute, the keypad,
// bringing colleagues in, wrap-up codes, the caller's recent history and calling a number. It renders what the server
// decided (GET /api/me), refreshed by server-sent events; the Voice SDK Device (or the demo stand-in's double) only
// carries the audio. Keyboard shortcuts (Alt+Shift+…) press the same buttons.
(function () {
  'use strict';

  var api = window.WarmTransfer.api;
  var me = { id: document.body.dataset.agentId, name: document.body.dataset.agentName };
  var page = document.getElementById('agent');
  var els = {};
  ['presence', 'presence-since', 'go-available', 'go-away', 'presence-note', 'softphone', 'other-tab', 'use-this-tab', 'agent-status', 'agent-error', 'agent-pending',
    'agent-hears', 'answer', 'decline', 'hangup', 'call-summary', 'call-legs', 'directory-search', 'directory', 'bring-in-hint', 'line', 'transfer', 'transfer-state', 'transfer-complete', 'transfer-merge', 'transfer-toggle', 'transfer-cancel', 'transfer-note', 'to-queue', 'call-notice', 'announcer',
    'hold', 'mute', 'keypad', 'keypad-sent', 'caller', 'caller-summary', 'wrap-up', 'wrap-up-about', 'wrap-up-form', 'wrap-up-code', 'wrap-up-note', 'wrap-up-save',
    'call-out', 'call-out-form', 'call-out-number', 'call-out-submit', 'ring-tone', 'notify-offer', 'notify-enable', 'notify-dismiss', 'shortcuts', 'shortcuts-open'].forEach(function (id) {
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

  var state = { server: null, loadedAt: Date.now(), owner: null, device: null, registering: false, registered: false, call: null, heartbeatMs: 10000, busy: false };

  /** What the page tells people when a ring ended without them answering (the server says how it ended). */
  var OFFER_ENDED_TEXT = {
    busy: 'You declined the call.',
    'no-answer': 'You did not answer in time, so the caller is back in line for the next agent.',
    'caller-hung-up': 'The caller hung up before you answered.',
    canceled: 'The call was cancelled before you answered.',
    'dial-failed': 'Your softphone could not be rung, so the caller is back in line for the next agent.',
    failed: 'Your softphone could not be rung, so the caller is back in line for the next agent.',
  };

  /** The same for a colleague's ring (a consult or a bring-in): the customer stays with the agent who rang ({agent}). */
  var COLLEAGUE_RING_ENDED_TEXT = {
    busy: 'You declined the call from {agent}: the customer stays with them.',
    'no-answer': 'You did not answer {agent} in time: the customer stays with them.',
    'caller-hung-up': 'The caller hung up before you answered.',
    canceled: '{agent} no longer needed you: the customer stays with them.',
    'dial-failed': 'Your softphone could not be rung: the customer stays with {agent}.',
    failed: 'Your softphone could not be rung: the customer stays with {agent}.',
  };

  function text(el, value) { if (el && el.textContent !== value) el.textContent = value; }
  function showError(message) { els['agent-error'].textContent = message; els['agent-error'].hidden = false; }
  function clearError() { els['agent-error'].textContent = ''; els['agent-error'].hidden = true; }

  var duration = window.WarmTransfer.duration;
  var signedOut = window.WarmTransfer.signedOut;

  /** Seconds as the server said them, plus the time since we loaded its answer. */
  function since(seconds) { return seconds === undefined || seconds === null ? undefined : seconds + (Date.now() - state.loadedAt) / 1000; }

  function myLeg(call) {
    if (!call) return null;
    var mine = call.participants.filter(function (leg) { return leg.agentId === me.id; });
    return mine.length ? mine[mine.length - 1] : null;
  }

  function callerOf(call) {
    // A callback the caller asked for: the agent sees it is one, and the number the app will call on Answer.
    if (call && call.callback) return 'callback ' + call.callback.number + (call.callback.attempt > 1 ? ' (attempt ' + call.callback.attempt + ')' : '');
    return call && call.from ? call.from : 'a customer';
  }

  // ---------- rendering ----------

  function render() {
    var focused = document.activeElement;
    var s = state.server;
    if (!s) return;
    var you = s.you;
    els.presence.dataset.presence = you.presence;
    text(els.presence, PRESENCE_TEXT[you.presence] || you.presence);
    text(els['presence-since'], you.since ? 'for ' + duration((Date.now() - new Date(you.since).getTime()) / 1000) : '');
    // On a call or wrapping up, the buttons show what the agent chose for afterwards: Away there means no next call.
    var holding = you.presence === 'wrap-up' || you.presence === 'on-call';
    els['go-available'].setAttribute('aria-pressed', String(you.presence === 'available' || Boolean(holding && you.chosen === 'available')));
    els['go-away'].setAttribute('aria-pressed', String(you.presence === 'away' || Boolean(holding && you.chosen === 'away')));
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
    else if (talking && call.customerRinging) status = 'Calling ' + callerOf(call) + ': their phone is ringing.';
    else if (talking && call.heldBy) status = callerOf(call) + ' is on hold with music' + (call.heldBy === me.id ? '' : ' (' + nameOfAgent(call.heldBy) + ' put them there)') + '. Press Resume to talk again.';
    else if (talking) {
      // This agent's own time on the call (a call taken over after a drop or a transfer does not start at minutes).
      var mine = leg.talkSeconds !== undefined ? leg.talkSeconds : call.talkSeconds;
      status = 'In call with ' + callerOf(call) + (mine !== undefined ? ' · ' + duration(since(mine)) : '') + '.';
    }
    // The softphone may ring a moment before the server's state says whose call it is (a customer's, a colleague's
    // consult): until it does, the line says only that a call rings, never a guess ("from a customer") read out first.
    else if (pending && !offered) status = 'Incoming call…';
    else if ((offered || pending) && consultFor(call, leg)) status = consultFor(call, leg);
    else if ((offered || pending) && call && call.returning) status = 'Your call with ' + callerOf(call) + ' dropped. Answer to get them back.';
    // The agent's own call to a number (their leg rings first, answered by the page): a callback, or a customer back in
    // line after their call had connected, is offered like any incoming call, and needs Answer.
    else if ((offered || pending) && call && call.direction === 'outbound' && !call.callback && !call.answeredAt) status = 'Connecting your call to ' + callerOf(call) + '…';
    else if ((offered || pending) && call && call.backInLineSeconds !== undefined) status = 'Incoming call from ' + callerOf(call) + ', back in line for ' + duration(since(call.backInLineSeconds)) + ' after talking to an agent.';
    else if (offered || pending) status = 'Incoming call from ' + callerOf(call) + (call && call.waitedSeconds !== undefined ? ', waiting ' + duration(since(call.waitedSeconds)) : '') + '.';
    else if (state.owner === false) status = 'Your softphone is in another tab.';
    else if (you.presence === 'available') status = 'Ready: waiting for a call.';
    else if (you.presence === 'wrap-up' && s.wrapUp && s.wrapUp.blocking) status = 'Wrapping up: choose the call\'s outcome before your next call.' + (you.chosen === 'away' ? ' Then you will be Away.' : you.chosen === 'available' ? ' Then you will be Available.' : '');
    else if (you.presence === 'wrap-up') status = 'Wrapping up before the next call.';
    else if (you.presence === 'away') status = 'Away: you will not be offered calls.';
    else if (you.presence === 'offline') status = 'Offline: your softphone is not connected.';
    else status = PRESENCE_TEXT[you.presence] || '';
    // Just after a call ends the floor may still count the agent on it (or ringing) for a moment: say only that it ended.
    if (state.lastEnded && !call && Date.now() - state.lastEnded.at < 8000) status = state.lastEnded.message + (you.presence === 'on-call' || you.presence === 'ringing' ? '' : ' ' + status);
    text(els['agent-status'], status);

    var can = s.can || {};
    els.answer.disabled = !pending;
    els.decline.disabled = !pending;
    els.hangup.disabled = !(can.hangUp || open);
    // Hold and Resume are one button: the server says which makes sense now.
    text(els.hold, can.resume ? 'Resume' : 'Hold');
    els.hold.disabled = !(can.hold || can.resume);
    // Mute and the keypad act on this page's own call (the SDK's Call), when the server says the agent is talking.
    var muted = Boolean(open && local.isMuted());
    els.mute.disabled = !(can.mute && open);
    els.mute.setAttribute('aria-pressed', String(muted));
    text(els.mute, muted ? 'Unmute' : 'Mute');
    els.keypad.hidden = !(can.keypad && open);
    if (!open) text(els['keypad-sent'], '');
    renderRinging(pending, offered ? call : null);
    renderWrapUp(s.wrapUp);
    els['call-out-submit'].disabled = !can.callOut;
    els['call-out-number'].disabled = !can.callOut;
    // Available and Away choose what happens between calls: on a call or wrapping up they choose what comes after it
    // (Away: no next call, a break after this one); while ringing the choice is Answer or Decline.
    var between = you.presence === 'available' || you.presence === 'away' || you.presence === 'offline' || you.presence === 'wrap-up' || you.presence === 'on-call';
    els['go-available'].disabled = !between;
    els['go-away'].disabled = !between;
    renderNotice(call);

    // The call and everyone on it.
    els['call-legs'].textContent = '';
    if (!call) {
      text(els['call-summary'], 'No call.');
    } else {
      var what = call.customerRinging ? 'their phone is ringing' : call.status === 'in-progress' ? 'in progress' + (call.customerOnHold ? ', customer on hold' : '') : call.status === 'offered' ? 'ringing' : call.status;
      text(els['call-summary'], (call.direction === 'outbound' ? 'Call to ' : 'Call from ') + callerOf(call) + ' — ' + what + (call.waitedSeconds !== undefined && call.direction !== 'outbound' ? ' · waited ' + duration(call.answeredAt ? call.waitedSeconds : since(call.waitedSeconds)) : '') + '.');
      call.participants.forEach(function (l) {
        var li = document.createElement('li');
        li.dataset.agent = l.agentId;
        li.dataset.status = l.status;
        li.textContent = (l.agentId === me.id ? 'You' : l.name) + ': ' + (LEG_TEXT[l.status] || l.status) + (l.held && l.status === 'in-progress' ? ', on hold' : '') + (l.muted && l.status === 'in-progress' ? ', muted' : '') + (l.transferId ? (l.role === 'colleague' ? ' (consult)' : ' (transferred)') : l.requestedBy && l.requestedBy !== l.agentId ? ' (brought in)' : '');
        els['call-legs'].appendChild(li);
      });
    }

    renderCaller(call);
    renderTransfer(call, talking, can);
    renderDirectory(call, can);
    text(els.line, s.line.waiting > 0 ? s.line.waiting + (s.line.waiting === 1 ? ' caller' : ' callers') + ' waiting, the longest for ' + duration(since(s.line.longestWaitSeconds)) + '.' + (you.presence === 'away' ? ' You are away: press Available to take calls.' : '') : 'Nobody is waiting.');
    els.line.dataset.waiting = String(s.line.waiting > 0);
    announce(call, leg, you);
    // A button that render disabled while it had focus (Hang up once the call is over) would leave focus on the page
    // itself: it goes to the status line instead, which says what happened.
    if (focused && focused.tagName === 'BUTTON' && focused.disabled) els['agent-status'].focus();
  }

  // An action that hides the focused control (Save wrap-up, Complete transfer) leaves focus on the status line.
  window.WarmTransfer.keepFocus(els['agent-status']);

  // ---------- ringing that gets noticed ----------

  var ringing = { active: false, blink: null, title: document.title, notification: null, callSid: null };

  /**
   * While this page's softphone rings: the ring tone loops, the tab title blinks, and a hidden tab shows a desktop
   * notification (when the agent allowed them). All stop the moment it is answered, declined or cancelled.
   */
  function renderRinging(pending, call) {
    if (pending && !ringing.active) {
      ringing.active = true;
      ringing.callSid = state.call && state.call.parameters ? state.call.parameters.CallSid : null;
      var tone = els['ring-tone'];
      tone.currentTime = 0;
      var played = tone.play();
      if (played && played.catch) played.catch(function () { /* no sound before the page was used: the title and the notice still show */ });
      tone.dataset.playing = 'true';
      var on = false;
      ringing.blink = setInterval(function () {
        on = !on;
        document.title = on ? '☎ Incoming call · ' + ringing.title : ringing.title;
      }, 1000);
      document.title = '☎ Incoming call · ' + ringing.title;
    } else if (!pending && ringing.active) {
      ringing.active = false;
      els['ring-tone'].pause();
      els['ring-tone'].dataset.playing = 'false';
      clearInterval(ringing.blink);
      document.title = ringing.title;
      if (ringing.notification) { ringing.notification.close(); ringing.notification = null; }
    }
    if (ringing.active) notifyIfHidden(call);
  }

  function notificationsOn() { return 'Notification' in window && window.Notification.permission === 'granted'; }

  /** A desktop notification for a call ringing while this tab is in the background; clicking it brings the tab back. */
  function notifyIfHidden(call) {
    // Shown once the page's state names the caller (or the colleague): never a notification that guesses.
    if (!call) return;
    var body = (call && call.direction === 'outbound' ? 'Your call to ' : 'From ') + callerOf(call) + '. Answer in the softphone tab.';
    // A ring whose caller changes (a callback's next attempt) replaces its notification: same tag.
    if ((ringing.notification && ringing.notifiedBody === body) || document.visibilityState !== 'hidden' || !notificationsOn()) return;
    if (ringing.notification) ringing.notification.close();
    var n;
    try {
      n = new window.Notification('Incoming call', { body: body, tag: 'warm-transfer-ring', requireInteraction: true });
    } catch (err) {
      return; // a browser that only shows notifications from a service worker: the title and the tone still say it
    }
    n.onclick = function () { window.focus(); n.close(); };
    ringing.notification = n;
    ringing.notifiedBody = body;
  }
  document.addEventListener('visibilitychange', function () { if (state.server) render(); });

  /** Notifications are offered once, politely: the agent turns them on with a button, or says no thanks. */
  function offerNotifications() {
    var asked = false;
    try { asked = localStorage.getItem('wt-notify-asked') === '1'; } catch (err) { asked = false; }
    els['notify-offer'].hidden = !('Notification' in window) || window.Notification.permission !== 'default' || asked;
  }
  function notificationsAsked() {
    try { localStorage.setItem('wt-notify-asked', '1'); } catch (err) { /* private mode: asked again next time */ }
    els['notify-offer'].hidden = true;
  }
  els['notify-enable'].addEventListener('click', function () {
    notificationsAsked();
    var asked = window.Notification.requestPermission();
    if (asked && asked.then) asked.then(function (answer) { text(els.announcer, answer === 'granted' ? 'Desktop notifications are on.' : 'Desktop notifications stay off.'); });
  });
  els['notify-dismiss'].addEventListener('click', notificationsAsked);

  // ---------- who is calling, wrap-up ----------

  var OUTCOME_TEXT = { answered: 'answered', abandoned: 'the caller left', 'timed-out': 'timed out waiting', 'no-agent': 'no agent available', failed: 'not connected', voicemail: 'left a voicemail' };

  /** The caller's recent calls from the history, on the ringing card and during the call. */
  function renderCaller(call) {
    var c = call && call.caller;
    els.caller.hidden = !c;
    if (!c) return;
    var parts = [];
    parts.push(c.callsLast30Days === 0 ? 'No calls from this number in the last 30 days.' : c.callsLast30Days + (c.callsLast30Days === 1 ? ' call' : ' calls') + ' in the last 30 days.');
    if (c.last) {
      parts.push('Last: ' + new Date(c.last.endedAt).toLocaleString() + (c.last.agentName ? ' with ' + c.last.agentName : '') + ', ' + (OUTCOME_TEXT[c.last.outcome] || c.last.outcome) + (c.last.code ? '; wrap-up: ' + c.last.code : '') + (c.last.note ? '; note: "' + c.last.note + '"' : '') + '.');
    }
    text(els['caller-summary'], parts.join(' '));
  }

  var wrapUpCodes = '';
  /** The wrap-up form for the agent's last call, while the server says it waits for an outcome. */
  function renderWrapUp(w) {
    els['wrap-up'].hidden = !w;
    if (!w) return;
    text(els['wrap-up-about'], 'Your call ' + (w.from ? (w.direction === 'outbound' ? 'to ' : 'with ') + w.from : '') + ' ended. ' + (w.blocking ? 'Choose its outcome: you get your next call once it is saved.' : 'Choose its outcome.'));
    var key = w.codes.map(function (c) { return c.id + '=' + c.name; }).join('|');
    if (key === wrapUpCodes) return;
    // Rebuilt only when the codes change, so a choice being made is never reset under the agent's cursor.
    wrapUpCodes = key;
    var select = els['wrap-up-code'];
    var chosen = select.value;
    select.textContent = '';
    var prompt = document.createElement('option');
    prompt.value = '';
    prompt.textContent = 'Choose…';
    select.appendChild(prompt);
    w.codes.forEach(function (c) {
      var option = document.createElement('option');
      option.value = c.id;
      option.textContent = c.name;
      select.appendChild(option);
    });
    select.value = chosen;
  }

  /** A colleague I asked to join who did not (declined, no answer, could not be reached), said in a sentence. */
  function renderNotice(call) {
    var notice = '';
    if (call) {
      call.participants.forEach(function (l) {
        if (l.requestedBy !== me.id || l.transferId || l.agentId === me.id) return;
        if (Date.now() - new Date(l.updatedAt).getTime() > 15000) return;
        if (l.status === 'busy') notice = l.name + ' declined to join the call.';
        else if (l.status === 'no-answer') notice = l.name + ' did not answer, so they did not join the call.';
        else if (l.status === 'failed' || l.status === 'dial-failed') notice = l.name + ' could not be reached.';
      });
    }
    text(els['call-notice'], notice);
    els['call-notice'].hidden = !notice;
  }

  /**
   * Screen readers hear what changed in the call, once: ringing, answered, ended, on hold. The status line itself is
   * not a live region (its timers change every second).
   */
  var announced = '';
  function announce(call, leg, you) {
    var key;
    var message;
    // A ring is announced once the server's state says whose it is (the status line says only "Incoming call…" before).
    if (leg && (leg.status === 'dialing' || leg.status === 'ringing')) {
      key = 'ringing:' + call.callSid;
      // A colleague's ring says who asks and why (their note too), as the status line does; a customer's says who calls.
      var asking = consultFor(call, leg);
      var backInLine = call.backInLineSeconds !== undefined && !call.returning ? ', back in line after talking to an agent' : '';
      message = asking ? asking + ' Answer or decline.' : (call.returning ? 'Your dropped call is ringing again: ' : 'Incoming call from ') + callerOf(call) + backInLine + '. Answer or decline.';
    } else if (leg && leg.status === 'in-progress' && consultLine(call)) {
      key = 'consult:' + call.callSid + ':' + consultLine(call);
      message = consultLine(call);
    } else if (leg && leg.status === 'in-progress') {
      var mutedNow = Boolean(state.call && state.call.status() === 'open' && state.call.isMuted());
      key = 'talking:' + call.callSid + (leg.held ? ':held' : '') + (call.heldBy ? ':customer-held' : '') + (mutedNow ? ':muted' : '') + (call.customerRinging ? ':ringing-out' : '');
      message = leg.held ? 'You are on hold.' : call.customerRinging ? 'Calling ' + callerOf(call) + '.' : call.heldBy ? 'The customer is on hold.' : 'Connected with ' + callerOf(call) + '.';
      if (mutedNow && !leg.held) message += ' You are muted.';
    } else if (state.lastEnded && Date.now() - state.lastEnded.at < 8000) {
      key = 'ended:' + state.lastEnded.at + ':' + state.lastEnded.message;
      message = state.lastEnded.message;
    } else if (state.server.wrapUp && state.server.wrapUp.blocking) {
      key = 'wrap-up:' + state.server.wrapUp.callSid;
      message = 'Choose the outcome of the call before your next one.';
    } else {
      key = 'presence:' + you.presence;
      message = '';
    }
    if (key === announced) return;
    announced = key;
    if (!message) return;
    // An open modal (the shortcuts list) makes everything behind it inert, the live regions too: a ring or a change of
    // call would never be spoken. The list closes first (focus goes back to what opened it), then the news is said.
    if (els.shortcuts.open) els.shortcuts.close();
    text(els.announcer, message);
  }

  function nameOfAgent(id) {
    if (id === me.id) return 'you';
    if (id === 'queue') return 'the waiting line';
    var c = state.server.colleagues.filter(function (x) { return x.id === id; })[0];
    return c ? c.name : id;
  }

  /** The ringing page of a colleague being consulted: who asks, about whom, and their note. */
  function consultFor(call, leg) {
    // Brought straight in (no consult): who asks, to join their call with whom.
    if (call && leg && leg.role === 'colleague' && leg.requestedBy && !leg.transferId) return nameOfAgent(leg.requestedBy) + ' asks you to join their call with ' + callerOf(call) + '.';
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

  function renderTransfer(call, talking, can) {
    var transfers = call && call.transfers ? call.transfers.filter(function (t) { return t.from === me.id; }) : [];
    var t = transfers[transfers.length - 1];
    var open = t && (t.state === 'dialing' || t.state === 'consulting');
    var recent = t && !open && Date.now() - new Date(t.updatedAt).getTime() < 15000;
    els.transfer.hidden = !(talking && (open || recent));
    if (!t) return;
    var colleagueHeld = t.state === 'consulting' && t.held === 'colleague';
    text(els['transfer-state'], (TRANSFER_TEXT[colleagueHeld ? 'consulting-colleague-held' : t.state] || t.state).split('{to}').join(nameOfAgent(t.to)));
    els['transfer-complete'].disabled = !can.complete;
    els['transfer-merge'].disabled = !can.merge;
    els['transfer-toggle'].disabled = !can.toggle;
    text(els['transfer-toggle'], colleagueHeld ? 'Talk to ' + nameOfAgent(t.to) : 'Talk to the customer');
    els['transfer-cancel'].disabled = !can.cancel;
  }

  /**
   * One of a colleague's action buttons (the click handler reads its class and data-agent). Unusable buttons are
   * aria-disabled, not disabled: they keep keyboard focus while the directory updates, and say why they do nothing.
   */
  function colleagueButton(className, agentId, label) {
    var button = document.createElement('button');
    button.type = 'button';
    button.className = className;
    button.dataset.agent = agentId;
    button.textContent = label;
    return button;
  }

  /** `name`: what a screen reader says for the button (which colleague it is for); `why`: said when pressed unusable. */
  function setUsable(button, usable, label, name, why) {
    button.setAttribute('aria-disabled', String(!usable));
    if (label !== undefined) text(button, label);
    if (name !== undefined && button.getAttribute('aria-label') !== name) button.setAttribute('aria-label', name);
    button.dataset.why = usable ? '' : why || '';
  }

  /** The directory's rows, by colleague id: updated in place so focus and the reader's place survive every update. */
  var rows = {};

  function directoryRow(c) {
    var li = rows[c.id];
    if (li) return li;
    li = document.createElement('li');
    li.dataset.agent = c.id;
    var name = document.createElement('span');
    name.className = 'name';
    var badge = document.createElement('span');
    badge.className = 'presence-badge';
    li.appendChild(name);
    li.appendChild(badge);
    li.appendChild(colleagueButton('consult', c.id, 'Consult'));
    li.appendChild(colleagueButton('cold', c.id, 'Transfer'));
    li.appendChild(colleagueButton('bring-in', c.id, 'Bring in'));
    rows[c.id] = li;
    return li;
  }

  function renderDirectory(call, can) {
    var filter = els['directory-search'].value.trim().toLowerCase();
    var onCall = {};
    if (call) call.participants.forEach(function (l) { if (l.status === 'dialing' || l.status === 'ringing' || l.status === 'in-progress') onCall[l.agentId] = true; });
    var seen = {};
    var previous = null;
    state.server.colleagues.forEach(function (c) {
      seen[c.id] = true;
      var li = directoryRow(c);
      li.dataset.presence = c.presence;
      li.hidden = Boolean(filter) && c.name.toLowerCase().indexOf(filter) < 0 && c.id.toLowerCase().indexOf(filter) < 0;
      text(li.querySelector('.name'), c.name);
      var badge = li.querySelector('.presence-badge');
      badge.dataset.presence = c.presence;
      text(badge, (PRESENCE_TEXT[c.presence] || c.presence) + (c.inStateSeconds !== undefined ? ' · ' + duration(since(c.inStateSeconds)) : ''));
      var reachable = c.takesTransfers && !onCall[c.id];
      // Pressed when it cannot act, a button says why (the colleague's state first, then the call's).
      var why = onCall[c.id] ? c.name + ' is already on this call.' : !c.takesTransfers ? c.name + ' is ' + (PRESENCE_TEXT[c.presence] || c.presence).toLowerCase() + ' and cannot take a call now.' : '';
      var transferUnderWay = call && (call.transfers || []).some(function (t) { return t.state === 'dialing' || t.state === 'consulting'; });
      var noCall = transferUnderWay ? 'A transfer is under way: complete or cancel it first.' : call ? 'Not now: your call is not connected yet, or it is on its way out.' : 'This works during a call you are on.';
      setUsable(li.querySelector('button.consult'), Boolean(can.consult && reachable), undefined, 'Consult ' + c.name, can.consult ? why : noCall);
      setUsable(li.querySelector('button.cold'), Boolean(can.coldTransfer && reachable), undefined, 'Transfer to ' + c.name, can.coldTransfer ? why : noCall);
      setUsable(li.querySelector('button.bring-in'), Boolean(can.bringIn && reachable), onCall[c.id] ? 'On this call' : 'Bring in', onCall[c.id] ? c.name + ' is on this call' : 'Bring in ' + c.name, can.bringIn ? why : noCall);
      // Keep the server's order, moving a row only when it is out of place (a moved row would lose focus).
      var expected = previous ? previous.nextSibling : els.directory.firstChild;
      if (expected !== li) els.directory.insertBefore(li, expected);
      previous = li;
    });
    Object.keys(rows).forEach(function (id) {
      if (seen[id]) return;
      rows[id].remove();
      delete rows[id];
    });
    els['bring-in-hint'].hidden = Boolean(can.consult || can.bringIn);
    els['to-queue'].disabled = !can.toQueue;
  }

  // ---------- server state ----------

  var refreshing = null;
  var again = false;

  /** Shows a state from the server (read by the page, or pushed on the event stream), unless it has a newer one. */
  function apply(data) {
    if (state.server && typeof state.server.at === 'number' && typeof data.at === 'number' && data.at < state.server.at) return;
    var before = state.server && state.server.call;
    state.server = data;
    state.loadedAt = Date.now();
    if (before && !data.call) callGone(before, data.you);
    else settleLastEnded(data.you);
    render();
    // Other parts of the page (public/js/agent-supervision.js) render from the same answer.
    document.dispatchEvent(new CustomEvent('warm-transfer:me', { detail: data }));
  }
  async function refresh() {
    if (refreshing) { again = true; return refreshing; }
    refreshing = (async function () {
      do {
        again = false;
        try {
          apply(await api('GET', '/api/me'));
        } catch (err) {
          if (err.status === 401) { signedOut(); return; }
          showError('Could not load your state: ' + err.message);
        }
      } while (again);
    })().finally(function () { refreshing = null; });
    return refreshing;
  }

  function callGone(call, you) {
    // What went wrong on the call is over with it.
    clearError();
    var leg = myLeg(call);
    var ringing = leg && (leg.status === 'dialing' || leg.status === 'ringing');
    var declined = state.declined;
    state.declined = false;
    // The server says how this ring ended (declined, rang out, the caller hung up…); the page does not guess.
    var outcome = you && you.lastOffer && you.lastOffer.callSid === call.callSid ? you.lastOffer.outcome : undefined;
    var message = !ringing ? handedOnText(call) || 'Call ended.' : ringEndedText(call, leg, outcome || (declined ? 'busy' : undefined)) || 'The call ended before you answered.';
    state.handedOn = null;
    // A ring whose outcome the server has not written yet (the page read it between the leg's end and the offer's):
    // the next read says it (settleLastEnded).
    state.lastEnded = { at: Date.now(), message: message, callSid: call.callSid, call: call, leg: leg, unsettled: ringing && !outcome && !declined };
  }

  /**
   * The agent left the call by handing it on (Complete, a cold transfer to a colleague or to the line): whose it is now.
   * From the call as last read, or from the button just pressed when the call went before the page read it again.
   */
  function handedOnText(call) {
    var mine = (call.transfers || []).filter(function (t) { return t.from === me.id; });
    var t = mine[mine.length - 1];
    var handed = t && (t.mode === 'cold' || t.state === 'completed') ? t : state.handedOn && state.handedOn.callSid === call.callSid ? state.handedOn : null;
    if (!handed) return '';
    if (handed.to === 'queue') return 'You sent the customer back to the waiting line.';
    return handed.mode === 'cold' ? 'You transferred the customer to ' + nameOfAgent(handed.to) + '.' : nameOfAgent(handed.to) + ' has the customer now.';
  }

  /**
   * How a ring of this page ended, in words, or undefined for an outcome it has none for. A colleague's ring (a consult
   * or a bring-in) that ended unanswered leaves the customer with the agent who rang: they were never back in line.
   */
  function ringEndedText(call, leg, outcome) {
    if (!outcome) return undefined;
    var transfer = leg && leg.transferId ? (call.transfers || []).filter(function (t) { return t.id === leg.transferId; })[0] : null;
    if (leg && leg.role === 'colleague' && (!transfer || transfer.mode !== 'cold') && COLLEAGUE_RING_ENDED_TEXT[outcome]) {
      return COLLEAGUE_RING_ENDED_TEXT[outcome].replace('{agent}', leg.requestedBy ? nameOfAgent(leg.requestedBy) : 'your colleague');
    }
    return OFFER_ENDED_TEXT[outcome];
  }

  /** The server now says how the ring that just ended ended: the sentence says so. */
  function settleLastEnded(you) {
    var last = state.lastEnded;
    if (!last || !last.unsettled || !you || !you.lastOffer || you.lastOffer.callSid !== last.callSid) return;
    last.unsettled = false;
    last.message = ringEndedText(last.call, last.leg, you.lastOffer.outcome) || last.message;
  }

  function listen() {
    // The server pushes the page's whole state after every change (`state`); `change` alone means read it.
    window.WarmTransfer.liveEvents('/api/events?state=1', {
      state: function (event) {
        var data;
        try { data = JSON.parse(event.data); } catch (err) { refresh(); return; }
        apply(data);
      },
      change: function () { refresh(); },
      open: function () { refresh(); },
      refused: function () { refresh(); },
    });
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
      // The page rings with its own tone (public/audio/ring.wav): the SDK's own incoming sound would ring twice.
      if (device.audio && typeof device.audio.incoming === 'function') device.audio.incoming(false);
      // The server offers calls only to a registered softphone: it hears at once when that changes.
      device.on('registered', function () { state.registered = true; text(els.softphone, 'Softphone connected.'); heartbeat(false); render(); });
      device.on('unregistered', function () { state.registered = false; text(els.softphone, 'Softphone disconnected.'); heartbeat(false); });
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
    state.registered = false;
    if (!state.device) return;
    try { state.device.destroy(); } catch (err) { /* already gone */ }
    state.device = null;
    state.call = null;
  }

  async function heartbeat(takeOver) {
    try {
      var result = await api('POST', '/api/me/heartbeat', { tab: tab, takeOver: Boolean(takeOver), registered: Boolean(state.owner !== false && state.registered) });
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
      if (err.status === 401) { signedOut(); return; }
      text(els.softphone, 'Cannot reach the server: retrying…');
    }
  }

  // A closing or reloading page's softphone is gone: the server hears it at once (not OFFLINE_AFTER_SECONDS later), so
  // a caller is not offered to it meanwhile. keepalive lets the request outlive the page.
  window.addEventListener('pagehide', function () {
    if (!state.owner) return;
    var meta = document.querySelector('meta[name="csrf-token"]');
    try {
      fetch('/api/me/heartbeat', {
        method: 'POST',
        keepalive: true,
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': meta ? meta.getAttribute('content') : '' },
        body: JSON.stringify({ tab: tab, registered: false }),
      });
    } catch (err) { /* the page is going anyway */ }
  });

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
    call.on('error', function (err) {
      // Hanging up a call the phone network no longer has is what was wanted: the server frees the agent.
      if (call.status() === 'closed') return;
      showError('Call error: ' + (err && err.message ? err.message : err));
    });
    call.on('mute', function () { render(); });
    // Demo mode only: the stand-in's device double says what this leg hears (the real SDK plays audio instead).
    call.on('hears', function (h) {
      if (!els['agent-hears'] || !h || state.call !== call) return;
      var conf = h.conference;
      text(els['agent-hears'], h.held ? 'hold music (you are on hold)' : h.what === 'conference' && conf ? 'the conference (' + conf.participants + ' on the line' + (conf.held ? ', ' + conf.held + ' on hold' : '') + ')' : h.what === 'say' ? '"' + (h.text || '') + '"' : h.what === 'play' ? 'music' : 'silence');
      refresh();
    });
    // The agent just asked to call a number: this ring is their own leg of that call, answered at once.
    if (state.callingOut && Date.now() - state.callingOut.at < 30000) {
      state.callingOut = null;
      call.accept();
    }
    render();
    refresh();
  }

  // ---------- actions ----------

  async function act(button, work) {
    // A request for this button is under way: a second press (a double click, a repeated key) is not sent again.
    if (button.getAttribute('aria-disabled') === 'true') return;
    clearError();
    // The button keeps focus while its request runs (aria-disabled, not disabled, which would drop focus to the page):
    // a keyboard user presses it again (Resume after Hold) where they are. The next render decides whether it stays.
    button.setAttribute('aria-disabled', 'true');
    var about = state.server && state.server.call ? state.server.call.callSid : null;
    // A request the server takes more than a second to answer (a database that stalls) is said to be under way, so a
    // press is not met with nothing for seconds.
    var slow = setTimeout(function () {
      els['agent-pending'].textContent = (button.getAttribute('aria-label') || button.textContent || 'Your request') + ': waiting for the server…';
      els['agent-pending'].hidden = false;
    }, 1000);
    try { await work(); } catch (err) {
      // A refusal about a call that has ended meanwhile (Cancel just after Complete won) is no news to act on.
      var gone = about && !(state.server && state.server.call && state.server.call.callSid === about);
      if (!gone) showError(err.message);
    } finally {
      clearTimeout(slow);
      els['agent-pending'].hidden = true;
      els['agent-pending'].textContent = '';
      if (!els.directory.contains(button)) button.removeAttribute('aria-disabled');
      refresh();
    }
  }

  els['go-available'].addEventListener('click', function () {
    act(els['go-available'], async function () {
      // Available in a tab that does not hold the softphone: the agent is here, so this tab takes it (the other tab may
      // be a closed browser the server does not yet know is gone, and a call would ring nobody and set them away).
      if (state.owner === false) await heartbeat(true);
      return api('POST', '/api/me/presence', { status: 'available' });
    });
  });
  els['go-away'].addEventListener('click', function () { act(els['go-away'], function () { return api('POST', '/api/me/presence', { status: 'away' }); }); });
  els['use-this-tab'].addEventListener('click', function () {
    clearError();
    // The other tab is on a call: taking the softphone here ends that tab's audio, and the customer waits on hold until
    // this tab answers them. Asked first, never done by a stray click.
    var call = state.server && state.server.call;
    if (call && call.status === 'in-progress' && !window.confirm('You are on a call with ' + callerOf(call) + ' in your other tab. Moving your softphone here ends the audio there: the customer waits on hold until you answer them in this tab. Move it now?')) return;
    heartbeat(true);
  });
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
    var usable = function (button) {
      if (button && button.getAttribute('aria-disabled') === 'true' && button.dataset.why) { text(els.announcer, ''); text(els.announcer, button.dataset.why); }
      return button && button.getAttribute('aria-disabled') !== 'true';
    };
    var consult = event.target.closest('button.consult');
    if (consult) {
      if (!usable(consult)) return;
      act(consult, function () { return api('POST', '/api/me/consult', { to: consult.dataset.agent, note: els['transfer-note'].value || undefined }); });
      return;
    }
    var cold = event.target.closest('button.cold');
    if (cold) {
      if (!usable(cold)) return;
      act(cold, function () { return handOn('cold', cold.dataset.agent); });
      return;
    }
    var button = event.target.closest('button.bring-in');
    if (!button || !usable(button)) return;
    act(button, async function () {
      await api('POST', '/api/me/bring-in', { to: button.dataset.agent });
      state.lastEnded = null;
    });
  });
  els['to-queue'].addEventListener('click', function () {
    act(els['to-queue'], function () { return handOn('cold', 'queue'); });
  });
  /** A cold transfer (to a colleague or 'queue'); the page remembers it, to say whose the call is once it has left it. */
  async function handOn(mode, to) {
    var callSid = state.server && state.server.call ? state.server.call.callSid : null;
    var answer = await api('POST', '/api/me/transfer-cold', { to: to, note: els['transfer-note'].value || undefined });
    state.handedOn = { callSid: callSid, mode: mode, to: to };
    return answer;
  }
  ['complete', 'merge', 'toggle', 'cancel'].forEach(function (action) {
    var button = els['transfer-' + action];
    button.addEventListener('click', function () {
      act(button, async function () {
        var call = state.server && state.server.call;
        var open = call ? (call.transfers || []).filter(function (t) { return t.from === me.id && (t.state === 'dialing' || t.state === 'consulting'); })[0] : null;
        var answer = await api('POST', '/api/me/transfer/' + action, {});
        if (action === 'complete' && open) state.handedOn = { callSid: call.callSid, mode: 'consult', to: open.to };
        return answer;
      });
    });
  });
  els.hold.addEventListener('click', function () {
    var resume = state.server && state.server.can && state.server.can.resume;
    act(els.hold, function () { return api('POST', resume ? '/api/me/resume' : '/api/me/hold', {}); });
  });
  els.mute.addEventListener('click', function () {
    var call = state.call;
    if (!call || call.status() !== 'open') return;
    var muted = !call.isMuted();
    // The SDK mutes the microphone here and now; the server only keeps it so the floor can see it.
    call.mute(muted);
    render();
    api('POST', '/api/me/mute', { muted: muted }).catch(function (err) { showError(err.message); });
  });
  // In the keypad, typing a digit (or * and #) presses its key, and the arrow keys move between keys as on a phone.
  els.keypad.addEventListener('keydown', function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    var keys = Array.prototype.slice.call(els.keypad.querySelectorAll('button.key'));
    if (/^[0-9*#]$/.test(event.key)) {
      var key = keys.filter(function (k) { return k.dataset.digit === event.key; })[0];
      if (!key) return;
      event.preventDefault();
      key.focus();
      key.click();
      return;
    }
    var step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -3, ArrowDown: 3 }[event.key];
    var at = keys.indexOf(document.activeElement);
    if (step === undefined || at < 0) return;
    event.preventDefault();
    var next = keys[at + step];
    if (next) next.focus();
  });
  els.keypad.addEventListener('click', function (event) {
    var key = event.target.closest('button.key');
    if (!key || !state.call || state.call.status() !== 'open') return;
    state.call.sendDigits(key.dataset.digit);
    text(els['keypad-sent'], (els['keypad-sent'].textContent + key.dataset.digit).slice(-32));
  });
  els['wrap-up-form'].addEventListener('submit', function (event) {
    event.preventDefault();
    var w = state.server && state.server.wrapUp;
    if (!w) return;
    if (!els['wrap-up-code'].value) { showError('Choose the outcome of the call first.'); els['wrap-up-code'].focus(); return; }
    act(els['wrap-up-save'], async function () {
      await api('POST', '/api/me/wrap-up', { callSid: w.callSid, code: els['wrap-up-code'].value, note: els['wrap-up-note'].value || undefined });
      els['wrap-up-note'].value = '';
      els['wrap-up-code'].value = '';
      text(els.announcer, 'Wrap-up saved.');
    });
  });
  els['call-out-form'].addEventListener('submit', function (event) {
    event.preventDefault();
    var to = els['call-out-number'].value.trim();
    act(els['call-out-submit'], async function () {
      // This page answers its own leg of the call by itself (see onIncoming): the agent joins first.
      state.callingOut = { at: Date.now() };
      try { await api('POST', '/api/me/call-out', { to: to }); } catch (err) { state.callingOut = null; throw err; }
      text(els.announcer, 'Calling ' + to + '.');
    });
  });

  /** Alt+Shift+<key> presses the button it names, when that button is usable now. */
  var SHORTCUTS = { KeyA: 'answer', KeyD: 'decline', KeyH: 'hangup', KeyO: 'hold', KeyM: 'mute' };
  document.addEventListener('keydown', function (event) {
    if (!event.altKey || !event.shiftKey || event.ctrlKey || event.metaKey) return;
    if (event.code === 'Slash') { event.preventDefault(); openShortcuts(); return; }
    if (event.code === 'KeyK') {
      event.preventDefault();
      var first = els.keypad.hidden ? null : els.keypad.querySelector('button.key');
      if (first) first.focus(); else text(els.announcer, 'The keypad works during a call.');
      return;
    }
    var id = SHORTCUTS[event.code];
    if (!id) return;
    event.preventDefault();
    var button = els[id];
    if (!button.disabled) { button.click(); return; }
    // Pressed as the call connects (Hold right after Answer): wait for the button, a few seconds at most, then press it once.
    var connecting = state.call && (state.call.status() === 'connecting' || state.call.status() === 'open');
    if (!connecting || shortcutsWaiting[id]) { text(els.announcer, button.textContent + ' is not available now.'); return; }
    text(els.announcer, button.textContent + ': waiting for the call to connect.');
    var waited = 0;
    shortcutsWaiting[id] = setInterval(function () {
      waited += 100;
      if (!button.disabled || waited >= 3000) { clearInterval(shortcutsWaiting[id]); shortcutsWaiting[id] = null; }
      if (!button.disabled) button.click();
      else if (waited >= 3000) text(els.announcer, button.textContent + ' is not available now.');
    }, 100);
  });
  var shortcutsWaiting = {};
  function openShortcuts() { if (!els.shortcuts.open) els.shortcuts.showModal(); }
  els['shortcuts-open'].addEventListener('click', openShortcuts);
  // The open list keeps Tab inside it, wrapping from its last control to its first and back (the WAI-ARIA dialog
  // pattern): Chromium's showModal let Tab past Close leave the dialog for the document behind it. Escape closes it and
  // showModal's close gives focus back to what opened it.
  document.addEventListener('keydown', function (event) {
    if (event.key !== 'Tab' || !els.shortcuts.open || event.altKey || event.ctrlKey || event.metaKey) return;
    var stops = Array.prototype.filter.call(els.shortcuts.querySelectorAll('button, [href], input, select, textarea, [tabindex]'), function (el) {
      return el.tabIndex >= 0 && !el.disabled && el.getClientRects().length > 0;
    });
    if (stops.length === 0) return;
    var first = stops[0];
    var last = stops[stops.length - 1];
    var inside = els.shortcuts.contains(document.activeElement);
    if (!inside || document.activeElement === (event.shiftKey ? first : last)) {
      event.preventDefault();
      (event.shiftKey ? last : first).focus();
    }
  });
  els['directory-search'].addEventListener('input', function () { if (state.server) render(); });

  // Timers on the page move every second between server updates; a slow safety refresh covers a lost event stream.
  setInterval(render, 1000);
  setInterval(refresh, 15000);
  listen();
  refresh();
  heartbeatLoop();
  offerNotifications();
  // "Call back" on the history page opens this page with the number to call filled in (the agent presses Call).
  var callBack = new URLSearchParams(window.location.search).get('callOut');
  if (callBack) {
    els['call-out-number'].value = callBack;
    history.replaceState(null, '', window.location.pathname);
    text(els.announcer, 'Ready to call ' + callBack + ': press Call.');
  }
  void page;
})();
