// Demo mode's audio, the browser half of the local Twilio stand-in's media (what the Voice SDK does with Twilio): the
// microphone, one WebRTC connection per call to the stand-in (G.711 µ-law only), playback of what the leg hears, and
// levels for the meters. The device double and the phone page use it; window.TwilioLocalAudio.
(function () {
  'use strict';

  var context = null;

  /** The page's one AudioContext, resumed whenever the person clicks (browsers start it suspended without a gesture). */
  function audioContext() {
    if (!context) {
      var Ctor = window.AudioContext || window.webkitAudioContext;
      if (!Ctor) return null;
      context = new Ctor();
    }
    if (context.state === 'suspended') context.resume().catch(function () { return undefined; });
    return context;
  }
  document.addEventListener('click', function () {
    if (context && context.state === 'suspended') context.resume().catch(function () { return undefined; });
  }, true);

  /**
   * Asks for the microphone. Resolves { stream } or { error, message }: error is 'refused' (the person or the browser
   * said no), 'missing' (no microphone), 'unsupported' (no WebRTC here) or 'failed'.
   * Echo cancellation stays on (speakers); noise suppression and gain control are off, so a steady voice or test tone
   * is not faded away.
   */
  function microphone() {
    audioContext(); // inside the click that started the call: the context may play
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.RTCPeerConnection) {
      return Promise.resolve({ error: 'unsupported', message: 'this browser has no WebRTC' });
    }
    return navigator.mediaDevices
      .getUserMedia({ audio: { echoCancellation: true, noiseSuppression: false, autoGainControl: false } })
      .then(
        function (stream) { return { stream: stream }; },
        function (err) {
          var name = err && err.name;
          var error = name === 'NotAllowedError' || name === 'SecurityError' ? 'refused' : name === 'NotFoundError' || name === 'OverconstrainedError' ? 'missing' : 'failed';
          return { error: error, message: (err && err.message) || String(err) };
        },
      );
  }

  /** A function returning the level of `stream` now, 0 (below −60 dBFS) to 1 (full scale). */
  function levelOf(stream) {
    var ctx = audioContext();
    if (!ctx || !stream) return function () { return 0; };
    var analyser = ctx.createAnalyser();
    analyser.fftSize = 1024;
    ctx.createMediaStreamSource(stream).connect(analyser);
    var data = new Float32Array(analyser.fftSize);
    return function () {
      analyser.getFloatTimeDomainData(data);
      var sum = 0;
      for (var i = 0; i < data.length; i++) sum += data[i] * data[i];
      var db = 20 * Math.log10(Math.sqrt(sum / data.length) || 1e-9);
      return Math.max(0, Math.min(1, (db + 60) / 60));
    };
  }

  /** Resolves when ICE gathering is complete (non-trickle: the offer carries every candidate), or after 2 s. */
  function gathered(pc) {
    return new Promise(function (resolve) {
      if (pc.iceGatheringState === 'complete') return resolve();
      var timer = setTimeout(resolve, 2000);
      pc.addEventListener('icegatheringstatechange', function () {
        if (pc.iceGatheringState === 'complete') {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }

  /**
   * Connects one call leg's audio: POSTs the offer to `options.url` (JSON `options.body` plus `sdp`, `options.headers`)
   * and plays what the stand-in answers with. Returns a session: state() is 'connecting' | 'connected' | 'failed' |
   * 'closed'; on('state', fn); setMuted(bool) turns the microphone off and on; micLevel() and speakerLevel() for
   * meters; close(). The remote audio plays in an <audio class="twilio-local-audio"> element.
   */
  function connect(options) {
    var mic = options.mic;
    var handlers = [];
    var state = 'connecting';
    var muted = false;
    var audio = document.createElement('audio');
    audio.className = 'twilio-local-audio';
    audio.autoplay = true;
    audio.hidden = true;
    document.body.appendChild(audio);
    var pc = new RTCPeerConnection({ iceServers: [] });
    var speaker = function () { return 0; };
    var micMeter = levelOf(mic);

    function setState(next) {
      if (state === next || state === 'closed') return;
      state = next;
      handlers.slice().forEach(function (fn) { fn(next); });
    }

    var track = mic.getAudioTracks()[0];
    var transceiver = pc.addTransceiver(track, { direction: 'sendrecv', streams: [mic] });
    // The stand-in speaks PCMU only; saying so first keeps the offer honest (it would answer PCMU anyway).
    if (transceiver.setCodecPreferences && window.RTCRtpReceiver && RTCRtpReceiver.getCapabilities) {
      var pcmu = (RTCRtpReceiver.getCapabilities('audio').codecs || []).filter(function (c) { return c.mimeType.toLowerCase() === 'audio/pcmu'; });
      if (pcmu.length) transceiver.setCodecPreferences(pcmu);
    }
    pc.addEventListener('track', function (ev) {
      var stream = (ev.streams && ev.streams[0]) || new MediaStream([ev.track]);
      audio.srcObject = stream;
      // Chromium feeds a remote WebRTC stream to Web Audio only while a media element plays it, hence both.
      var played = audio.play();
      if (played && played.catch) played.catch(function () { return undefined; });
      speaker = levelOf(stream);
    });
    pc.addEventListener('connectionstatechange', function () {
      if (pc.connectionState === 'connected') setState('connected');
      else if (pc.connectionState === 'failed') setState('failed');
    });

    pc.createOffer()
      .then(function (offer) { return pc.setLocalDescription(offer); })
      .then(function () { return gathered(pc); })
      .then(function () {
        if (state === 'closed') return undefined;
        return fetch(options.url, {
          method: 'POST',
          headers: Object.assign({ 'Content-Type': 'application/json' }, options.headers || {}),
          body: JSON.stringify(Object.assign({}, options.body || {}, { sdp: pc.localDescription.sdp })),
          credentials: 'same-origin',
        }).then(function (res) {
          return res.json().then(function (d) {
            if (!res.ok || !d.sdp) throw new Error(d.message || 'no answer');
            if (state !== 'closed') return pc.setRemoteDescription({ type: 'answer', sdp: d.sdp });
            return undefined;
          });
        });
      })
      .catch(function () { setState('failed'); });

    return {
      state: function () { return state; },
      on: function (name, fn) { if (name === 'state') handlers.push(fn); },
      isMuted: function () { return muted; },
      setMuted: function (value) {
        muted = value !== false;
        if (track) track.enabled = !muted;
      },
      micLevel: function () { return muted ? 0 : micMeter(); },
      speakerLevel: function () { return speaker(); },
      close: function () {
        if (state === 'closed') return;
        setState('closed');
        handlers = [];
        pc.close();
        mic.getTracks().forEach(function (t) { t.stop(); });
        audio.srcObject = null;
        audio.remove();
      },
    };
  }

  window.TwilioLocalAudio = { microphone: microphone, connect: connect };
})();
