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

  /** What each presence is called on the pages. */
  var PRESENCE_TEXT = { offline: 'Offline', available: 'Available', away: 'Away', ringing: 'Ringing', 'on-call': 'On a call', 'wrap-up': 'Wrapping up' };

  window.WarmTransfer = window.WarmTransfer || {};
  window.WarmTransfer.api = api;
  window.WarmTransfer.duration = duration;
  window.WarmTransfer.PRESENCE_TEXT = PRESENCE_TEXT;
})();
