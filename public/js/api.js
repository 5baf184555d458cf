// The pages' one way to call the server: JSON in and out, the session's CSRF token in a header, and error JSON
// turned into an Error carrying the server's message (and status).
(function () {
  'use strict';

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute('content') : null;
  }

  /** Sends `body` (if any) as JSON with `method` to `url`; resolves with the parsed answer, rejects with an Error. */
  async function api(method, url, body) {
    var headers = { Accept: 'application/json' };
    var token = csrfToken();
    if (token && method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    var response;
    try {
      response = await fetch(url, { method: method, headers: headers, body: body !== undefined ? JSON.stringify(body) : undefined, credentials: 'same-origin' });
    } catch (err) {
      throw new Error('The server cannot be reached (' + err.message + ').');
    }
    var data = null;
    try { data = await response.json(); } catch (err) { data = null; }
    if (!response.ok) {
      var error = new Error((data && data.error) || 'Request failed with status ' + response.status + '.');
      error.status = response.status;
      throw error;
    }
    return data;
  }

  /** "42 s", "3 min 5 s": how long something has lasted, for people. */
  function duration(seconds) {
    if (seconds === undefined || seconds === null) return '';
    var s = Math.max(0, Math.round(seconds));
    var m = Math.floor(s / 60);
    return m > 0 ? m + ' min ' + (s % 60) + ' s' : s + ' s';
  }

  /**
   * The session this page was opened in has ended (signed out in another tab, an admin's Disable or password reset):
   * to sign-in at once, which says so, and back to this page after.
   */
  var leaving = null;
  function signedOut(reason) {
    var why = reason === 'disabled' || reason === 'expired' || reason === 'ended' ? reason : '1';
    var go = function () { window.location.assign('/sign-in?ended=' + why + '&next=' + encodeURIComponent(window.location.pathname)); };
    if (why !== '1') {
      if (leaving) clearTimeout(leaving);
      leaving = 'gone';
      return go();
    }
    // A request refused with 401 does not say why; the live stream's last event does, a moment later: wait for it.
    if (leaving) return;
    leaving = setTimeout(go, 1500);
  }

  /**
   * The server's live events at `url`, each name in `handlers` handled; a `signed-out` event (the session ended) goes
   * to sign-in. A stream the server refuses (EventSource then gives up) calls `handlers.refused`, which reads again and
   * so hears a 401.
   */
  function liveEvents(url, handlers) {
    var source = new EventSource(url);
    Object.keys(handlers).forEach(function (name) {
      if (name !== 'refused') source.addEventListener(name, handlers[name]);
    });
    source.addEventListener('signed-out', function (event) {
      source.close();
      var reason;
      try { reason = JSON.parse(event.data).reason; } catch (err) { reason = undefined; }
      signedOut(reason);
    });
    source.addEventListener('error', function () {
      if (source.readyState === EventSource.CLOSED && handlers.refused) handlers.refused();
    });
    return source;
  }

  /** What each presence is called on the pages. */
  var PRESENCE_TEXT = { offline: 'Offline', available: 'Available', away: 'Away', ringing: 'Ringing', 'on-call': 'On a call', 'wrap-up': 'Wrapping up' };

  /**
   * Keeps keyboard focus on the page when an action hides, disables or removes the control that had it (Save wrap-up,
   * Complete transfer, Hang up): focus would otherwise fall to the document, and a keyboard user would start again from
   * the top. It goes to `fallback` (a status line, focusable with tabindex=-1), or to what `fallback(lost)` returns.
   * A focus the user moved away on purpose (a click elsewhere) is left alone.
   */
  function keepFocus(fallback) {
    var last = null;
    function gone(el) {
      return !document.contains(el) || el.disabled || Boolean(el.closest('[hidden]')) || el.getClientRects().length === 0;
    }
    document.addEventListener('focusin', function (event) { last = event.target; });
    document.addEventListener('focusout', function (event) {
      // Still there as it loses focus: the user moved it (or the window lost focus), not the page.
      if (event.target === last && !gone(event.target) && !event.relatedTarget) last = null;
    });
    setInterval(function () {
      var active = document.activeElement;
      var lost = active && active !== document.body ? (gone(active) ? active : null) : last && gone(last) ? last : null;
      if (!lost) return;
      var target = typeof fallback === 'function' ? fallback(lost) : fallback;
      last = null;
      if (target && !gone(target)) target.focus();
    }, 150);
  }

  window.WarmTransfer = window.WarmTransfer || {};
  window.WarmTransfer.keepFocus = keepFocus;
  window.WarmTransfer.api = api;
  window.WarmTransfer.duration = duration;
  window.WarmTransfer.signedOut = signedOut;
  window.WarmTransfer.liveEvents = liveEvents;
  window.WarmTransfer.PRESENCE_TEXT = PRESENCE_TEXT;
})();
