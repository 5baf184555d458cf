// Browser double of @twilio/voice-sdk v2 (Device, Call) that talks to the local Twilio stand-in.
(function () {
  'use strict';

  /** The stand-in's base URL, from <meta name="twilio-local-base" content="/twilio-local">. */
  function baseUrl() {
    var meta = document.querySelector('meta[name="twilio-local-base"]');
    return ((meta && meta.content) || '/twilio-local').replace(/\/$/, '');
  }

  /** A small event emitter with the on/off/once/emit subset the SDK exposes. */
  function Emitter() {
    this._handlers = {};
  }
  Emitter.prototype.on = function (name, fn) {
    (this._handlers[name] = this._handlers[name] || []).push(fn);
    return this;
  };
  Emitter.prototype.addListener = Emitter.prototype.on;
  Emitter.prototype.off = function (name, fn) {
    var list = this._handlers[name] || [];
    this._handlers[name] = fn ? list.filter(function (h) { return h !== fn && h._orig !== fn; }) : [];
    return this;
  };
  Emitter.prototype.removeListener = Emitter.prototype.off;
  Emitter.prototype.removeAllListeners = function (name) {
    if (name) delete this._handlers[name];
    else this._handlers = {};
    return this;
  };
  Emitter.prototype.once = function (name, fn) {
    var self = this;
    var wrapped = function () {
      self.off(name, wrapped);
      fn.apply(self, arguments);
    };
    wrapped._orig = fn;
    return this.on(name, wrapped);
  };
  Emitter.prototype.emit = function (name) {
    var args = Array.prototype.slice.call(arguments, 1);
    var list = (this._handlers[name] || []).slice();
    list.forEach(function (fn) {
      try {
        fn.apply(null, args);
      } catch (err) {
        setTimeout(function () { throw err; });
      }
    });
    return list.length > 0;
  };

  function inherit(Child) {
    Child.prototype = Object.create(Emitter.prototype);
    Child.prototype.constructor = Child;
  }

  /** An Error-like TwilioError with code and message, as the SDK passes to 'error' listeners. */
  function twilioError(code, message) {
    var err = new Error(message);
    err.code = code;
    err.name = 'TwilioError';
    err.description = message;
    return err;
  }

  function post(device, path, body) {
    return fetch(baseUrl() + path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + device._token },
      body: JSON.stringify(body || {}),
      credentials: 'same-origin',
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) throw twilioError(data.code || res.status, data.message || 'Request failed');
        return data;
      });
    });
  }

  /**
   * Tells the page about a call's audio (demo mode's sound panel listens): a DOM event 'twilio-local:audio' on document
   * with detail { call, session } once audio is connecting, or { call, error, message } when there is no microphone.
   */
  function announceAudio(detail) {
    document.dispatchEvent(new CustomEvent('twilio-local:audio', { detail: detail }));
  }

  /**
   * A call leg offered to this device. status(): 'pending' while ringing, 'open' once accepted, 'closed' at the end.
   * Events: accept, cancel, disconnect, reject, error, mute, and the non-SDK 'hears' (what this leg hears) and
   * 'hold' / 'unhold' (the conference put this leg on hold or took it off; while held it hears hold music and
   * nobody hears it). hears() and isOnHold() read the latest state. With twilio-local-audio.js on the page, accept()
   * also asks for the microphone and the call carries real audio, as the SDK's does; mute() turns the microphone off.
   */
  function Call(device, data) {
    Emitter.call(this);
    this._device = device;
    this._status = 'pending';
    this._muted = false;
    this._mic = null; // demo mode: the microphone request made by accept()
    this._audio = null; // demo mode: the audio session (twilio-local-audio.js) while the call is open
    this._hears = { what: 'silence' };
    this._held = false;
    this.parameters = { CallSid: data.callSid, From: data.from, To: data.to };
    var custom = new Map();
    Object.keys(data.customParameters || {}).forEach(function (k) { custom.set(k, data.customParameters[k]); });
    this.customParameters = custom;
    this.direction = 'INCOMING';
  }
  inherit(Call);
  Call.prototype.status = function () { return this._status; };
  Call.prototype.isMuted = function () { return this._muted; };
  /** Non-SDK: what this leg hears now ({ what: 'say' | 'play' | 'silence' | 'conference', held?, conference? }). */
  Call.prototype.hears = function () { return this._hears; };
  /** Non-SDK: true while the conference holds this leg. */
  Call.prototype.isOnHold = function () { return this._held; };
  Call.prototype._heard = function (d) {
    this._hears = d;
    this.emit('hears', d);
    var held = d.held === true;
    if (held !== this._held) {
      this._held = held;
      this.emit(held ? 'hold' : 'unhold', this);
    }
  };
  Call.prototype._close = function (event) {
    if (this._status === 'closed') return;
    this._status = 'closed';
    if (this._audio) this._audio.close();
    this._audio = null;
    if (this._mic) this._mic.then(function (m) { if (m.stream) m.stream.getTracks().forEach(function (t) { t.stop(); }); });
    this._device._forget(this);
    this.emit(event, this);
  };
  Call.prototype._action = function (action, body) {
    var self = this;
    var payload = Object.assign({ deviceId: this._device._deviceId }, body || {});
    return post(this._device, '/local/device/calls/' + encodeURIComponent(this.parameters.CallSid) + '/' + action, payload)
      .catch(function (err) {
        self.emit('error', err);
        throw err;
      });
  };
  /**
   * Answers the call. Like the SDK, it asks for the microphone; unlike it, the call goes on without one (demo mode
   * then works on text: the 'hears' events), and the audio connects once the stand-in says the call is answered.
   */
  Call.prototype.accept = function () {
    if (this._status !== 'pending') return;
    this._status = 'connecting';
    var self = this;
    this._mic = window.TwilioLocalAudio ? window.TwilioLocalAudio.microphone() : null;
    // Like the SDK, the microphone first. With one, the stand-in holds the call's TwiML until its audio has connected
    // (3 s at most), so the leg's first sounds are heard, not played to a page not yet listening.
    Promise.resolve(this._mic)
      .then(function (m) {
        if (self._status !== 'connecting') return undefined;
        return self._action('accept', { audio: Boolean(m && m.stream) });
      })
      .catch(function () {
        if (self._status === 'connecting') self._close('cancel');
      });
  };
  /** Declines the call (the caller sees busy). */
  Call.prototype.reject = function () {
    if (this._status !== 'pending') return;
    var self = this;
    this._action('reject').then(function () { self._close('reject'); }, function () { self._close('reject'); });
  };
  /** Stops ringing here only, like the SDK's ignore(). */
  Call.prototype.ignore = function () {
    if (this._status === 'pending') this._close('cancel');
  };
  /** Hangs up. */
  Call.prototype.disconnect = function () {
    if (this._status === 'closed') return;
    var self = this;
    var wasPending = this._status === 'pending';
    this._action(wasPending ? 'reject' : 'disconnect').then(null, function () { return undefined; });
    self._close(wasPending ? 'reject' : 'disconnect');
  };
  /** Demo mode: connects this answered call's audio to the stand-in once the microphone is known. */
  Call.prototype._startAudio = function () {
    var self = this;
    if (!this._mic || this._audio) return;
    this._mic.then(function (m) {
      if (self._status !== 'open' || self._audio) {
        if (m.stream && self._status === 'closed') m.stream.getTracks().forEach(function (t) { t.stop(); });
        return;
      }
      if (!m.stream) {
        announceAudio({ call: self, error: m.error, message: m.message });
        return;
      }
      self._audio = window.TwilioLocalAudio.connect({
        url: baseUrl() + '/local/device/calls/' + encodeURIComponent(self.parameters.CallSid) + '/media',
        headers: { Authorization: 'Bearer ' + self._device._token },
        body: { deviceId: self._device._deviceId },
        mic: m.stream,
      });
      self._audio.setMuted(self._muted);
      announceAudio({ call: self, session: self._audio });
    });
  };

  /** Mutes the local microphone (the conference participant is not muted, as with the real SDK). */
  Call.prototype.mute = function (shouldMute) {
    var muted = shouldMute !== false;
    if (muted === this._muted) return;
    this._muted = muted;
    if (this._audio) this._audio.setMuted(muted);
    this._action('mute', { muted: muted }).then(null, function () { return undefined; });
    this.emit('mute', muted, this);
  };
  /** Sends DTMF digits (0-9, *, #, w) on the answered call; the stand-in records them on the call. */
  Call.prototype.sendDigits = function (digits) {
    if (this._status !== 'open') return;
    this._action('digits', { digits: String(digits) }).then(null, function () { return undefined; });
  };

  /**
   * Device double: new Device(token, options); register(), unregister(), updateToken(), destroy(), state;
   * events registered, unregistered, registering, incoming, error, tokenWillExpire, destroyed.
   */
  function Device(token, options) {
    Emitter.call(this);
    this._token = token;
    this._options = options || {};
    this._calls = {};
    this._es = null;
    this._deviceId = null;
    this.state = 'unregistered';
    this.identity = null;
    this.isBusy = false;
  }
  inherit(Device);
  Device.EventName = {
    Error: 'error',
    Incoming: 'incoming',
    Destroyed: 'destroyed',
    Unregistered: 'unregistered',
    Registering: 'registering',
    Registered: 'registered',
    TokenWillExpire: 'tokenWillExpire',
  };
  Device.State = { Destroyed: 'destroyed', Unregistered: 'unregistered', Registering: 'registering', Registered: 'registered' };
  Device.isSupported = true;

  Object.defineProperty(Device.prototype, 'token', { get: function () { return this._token; } });
  Object.defineProperty(Device.prototype, 'calls', {
    get: function () {
      var calls = this._calls;
      return Object.keys(calls).map(function (k) { return calls[k]; });
    },
  });

  Device.prototype._forget = function (call) {
    delete this._calls[call.parameters.CallSid];
    this.isBusy = this.calls.some(function (c) { return c.status() === 'open'; });
  };

  Device.prototype._setState = function (state) {
    if (this.state === state) return;
    this.state = state;
    this.emit(state, this);
  };

  /** Opens the registration stream; resolves once registered. */
  Device.prototype.register = function () {
    var self = this;
    if (this.state === 'destroyed') return Promise.reject(twilioError(31000, 'Device has been destroyed'));
    if (this._es) return this.state === 'registered' ? Promise.resolve() : this._registering;
    this._setState('registering');
    this._registering = new Promise(function (resolve, reject) {
      var es = new EventSource(baseUrl() + '/local/device/events?token=' + encodeURIComponent(self._token));
      self._es = es;
      var settled = false;
      function on(name, fn) {
        es.addEventListener(name, function (ev) {
          var data = {};
          try {
            data = JSON.parse(ev.data);
          } catch (e) {
            return;
          }
          fn(data);
        });
      }
      on('registered', function (d) {
        self._deviceId = d.deviceId;
        self.identity = d.identity;
        self._setState('registered');
        if (!settled) {
          settled = true;
          resolve();
        }
      });
      on('error', function (d) {
        var err = twilioError(d.code, d.message);
        self._teardown();
        self.emit('error', err);
        if (!settled) {
          settled = true;
          reject(err);
        }
      });
      on('tokenWillExpire', function () { self.emit('tokenWillExpire', self); });
      on('incoming', function (d) {
        var call = new Call(self, d);
        self._calls[d.callSid] = call;
        self.emit('incoming', call);
      });
      on('accepted', function (d) {
        var call = self._calls[d.callSid];
        if (!call) return;
        call._status = 'open';
        self.isBusy = true;
        call.emit('accept', call);
        call._startAudio();
      });
      on('cancel', function (d) {
        var call = self._calls[d.callSid];
        if (call) call._close('cancel');
      });
      on('disconnect', function (d) {
        var call = self._calls[d.callSid];
        if (call) call._close('disconnect');
      });
      on('hears', function (d) {
        var call = self._calls[d.callSid];
        if (call) call._heard(d);
      });
      es.onerror = function () {
        // EventSource retries by itself; treat a closed stream as unregistered.
        if (es.readyState === EventSource.CLOSED) {
          self._teardown();
          if (!settled) {
            settled = true;
            reject(twilioError(31005, 'Connection error'));
          }
        } else if (self.state === 'registered') {
          self._setState('registering');
        }
      };
    });
    return this._registering;
  };

  Device.prototype._teardown = function () {
    if (this._es) {
      this._es.close();
      this._es = null;
    }
    var self = this;
    this.calls.forEach(function (call) { call._close(call.status() === 'pending' ? 'cancel' : 'disconnect'); });
    this._deviceId = null;
    if (this.state !== 'destroyed') self._setState('unregistered');
  };

  /** Closes the registration stream. */
  Device.prototype.unregister = function () {
    this._teardown();
    return Promise.resolve();
  };

  /** Replaces the token; an open registration is extended. */
  Device.prototype.updateToken = function (token) {
    this._token = token;
    var self = this;
    if (!this._deviceId) return;
    fetch(baseUrl() + '/local/device/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ deviceId: this._deviceId, token: token }),
      credentials: 'same-origin',
    }).then(function (res) {
      if (!res.ok) {
        return res.json().then(function (d) { self.emit('error', twilioError(d.code || 20101, d.message || 'Invalid token')); });
      }
      return undefined;
    }).catch(function () {
      self.emit('error', twilioError(31005, 'Connection error'));
    });
  };

  /** Hangs up every call and unregisters for good. */
  Device.prototype.destroy = function () {
    this.calls.forEach(function (call) { call.disconnect(); });
    this._teardown();
    this.state = 'destroyed';
    this.emit('destroyed');
  };

  /** Outgoing calls are not simulated by the stand-in. */
  Device.prototype.connect = function () {
    return Promise.reject(twilioError(31000, 'Outgoing calls are not simulated by twilio-local'));
  };

  window.Twilio = Object.assign(window.Twilio || {}, { Device: Device, Call: Call });
})();
