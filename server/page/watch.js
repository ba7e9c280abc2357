// vizstream spectators' page (/watch): plays the renderer's stream from a
// Janus edge (janus.js, Streaming plugin, the mountpoint the server names
// in watch/config), view only. Janus relays the server's one encode to
// every spectator; the controller keeps the direct page (./).
//
// It recovers by itself: when Janus goes away or restarts, when ICE fails
// or no frame comes for 8 s, it starts again (with several edges, on the
// next one), never reloading.
//
// Query parameters: edge=N (1-based: this edge only; default one at
// random), stats (overlay shown). #token=T (or ?token=T): taken out of the
// address bar and carried to the direct page's link ("take control").
// All URLs are relative: the page works under a proxy's path prefix.
'use strict';

(function () {
  const params = new URLSearchParams(location.search);
  const token = window.vizstreamTakeToken();   // token.js
  const video = document.getElementById('video');
  const message = document.getElementById('message');
  const overlay = document.getElementById('overlay');
  const toggle = document.getElementById('stats-toggle');
  const link = document.getElementById('take-control');

  // What a test or a curious user may want to read.
  const state = {
    transport: 'janus', role: 'view', edges: [], edge: null, edgeIndex: null,
    mountpoint: null, connected: false, reconnects: 0, lastError: null,
    framesShown: 0, stats: {}, loadedAt: Date.now(),
  };
  window.vizstream = state;

  let janus = null, handle = null, generation = 0;
  let retryTimer = null, retryDelay = 1000, pinned = false;
  let lastFrames = 0, lastFrameAt = 0;

  function say(text) { message.textContent = text || ''; }

  if (token) {
    link.href = './#token=' + encodeURIComponent(token);
    link.textContent = 'take control';
  }

  // janus.js asks webrtc-adapter which browser this is; without Debian's
  // libjs-webrtc-adapter, a guess from the user agent does.
  function adapterShim() {
    const ua = navigator.userAgent;
    const m = ua.match(/Firefox\/(\d+)/) || ua.match(/Chrom(?:e|ium)\/(\d+)/) ||
      ua.match(/Version\/(\d+).*Safari/);
    const browser = /Firefox/.test(ua) ? 'firefox' : /Chrom/.test(ua) ? 'chrome' :
      /Safari/.test(ua) ? 'safari' : 'unknown';
    return { browserDetails: { browser, version: m ? Number(m[1]) : null } };
  }

  // ---- connection, and starting again after any failure

  function retry(why) {
    if (retryTimer) return;
    generation++;               // callbacks of the old session are ignored
    state.lastError = why;
    state.connected = false;
    const old = janus;
    janus = null;
    handle = null;
    if (old) {
      try { old.destroy({ cleanupHandles: true, notifyDestroyed: false }); } catch (e) { /* gone */ }
    }
    if (!pinned && state.edges.length > 1)
      state.edgeIndex = (state.edgeIndex + 1) % state.edges.length;
    say('reconnecting… (' + why + ')');
    retryTimer = setTimeout(() => {
      retryTimer = null;
      state.reconnects++;
      connect();
    }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 5000);
  }

  function connect() {
    const gen = ++generation;
    const url = state.edges[state.edgeIndex];
    // janus.js wants an absolute URL for WebSockets; http(s) and a path on
    // this server work as they are.
    state.edge = /^wss?:/.test(url) ? url : new URL(url, location.href).href;
    lastFrameAt = performance.now();
    say(state.reconnects ? 'reconnecting…' : 'connecting…');
    janus = new Janus({
      server: state.edge,
      success: () => { if (gen === generation) attach(gen); },
      error: (e) => { if (gen === generation) retry('Janus: ' + e); },
    });
  }

  function attach(gen) {
    janus.attach({
      plugin: 'janus.plugin.streaming',
      opaqueId: 'vizstream-' + Janus.randomString(8),
      success: (h) => {
        if (gen !== generation) return;
        handle = h;
        h.send({ message: { request: 'watch', id: state.mountpoint } });
      },
      error: (e) => { if (gen === generation) retry('attach: ' + e); },
      onmessage: (msg, jsep) => {
        if (gen !== generation) return;
        if (msg.error) {
          retry('mountpoint ' + state.mountpoint + ': ' + msg.error);
          return;
        }
        const status = msg.result && msg.result.status;
        if (status === 'stopped') {
          retry('the stream stopped');
          return;
        }
        if (jsep) {
          handle.createAnswer({
            jsep, tracks: [],
            success: (answer) => handle.send({ message: { request: 'start' }, jsep: answer }),
            error: (e) => retry('answer: ' + (e && e.message || e)),
          });
        }
      },
      onremotetrack: (track, mid, on) => {
        if (gen !== generation || !on || track.kind !== 'video') return;
        video.srcObject = new MediaStream([track]);
        video.play().catch(() => {});
      },
      iceState: (s) => { if (gen === generation && s === 'failed') retry('ICE failed'); },
      webrtcState: (up) => {
        if (gen !== generation) return;
        state.connected = up;
        if (!up) retry('WebRTC closed');
      },
    });
  }

  async function start() {
    try {
      const r = await fetch('watch/config', { cache: 'no-store' });
      if (!r.ok) throw new Error('watch/config: HTTP ' + r.status);
      const cfg = await r.json();
      state.edges = cfg.janus;
      state.mountpoint = cfg.mountpoint;
    } catch (e) {
      say('cannot reach the server (' + e.message + '), trying again…');
      setTimeout(start, 2000);
      return;
    }
    const n = state.edges.length;
    const want = Number(params.get('edge'));
    pinned = Number.isInteger(want) && want >= 1 && want <= n;
    state.edgeIndex = pinned ? want - 1 : Math.floor(Math.random() * n);
    Janus.init({
      debug: params.has('debug') ? 'all' : false,
      dependencies: Janus.useDefaultDependencies({ adapter: window.adapter || adapterShim() }),
      callback: connect,
    });
  }

  // ---- frames, the watchdog

  function onFrame() {
    state.framesShown++;
    lastFrameAt = performance.now();
    if (state.framesShown === 1 || message.textContent) say('');
    retryDelay = 1000;
    video.requestVideoFrameCallback(onFrame);
  }
  if ('requestVideoFrameCallback' in HTMLVideoElement.prototype)
    video.requestVideoFrameCallback(onFrame);

  // ---- statistics overlay (as on the direct page; the renderer's frame
  // timing does not come through Janus, so no glass-to-glass latency:
  // the receive buffer's delay instead)

  let prev = null;
  async function updateStats() {
    const pc = handle && handle.webrtcStuff && handle.webrtcStuff.pc;
    if (!pc) return;
    const report = await pc.getStats();
    const s = { time: performance.now() };
    report.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') {
        s.bytes = r.bytesReceived; s.frames = r.framesDecoded;
        s.lost = r.packetsLost; s.packets = r.packetsReceived;
        s.width = r.frameWidth; s.height = r.frameHeight;
        s.codec = r.codecId && report.get(r.codecId) ? report.get(r.codecId).mimeType : '';
        s.jbDelay = r.jitterBufferDelay; s.jbCount = r.jitterBufferEmittedCount;
      } else if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') {
        s.rtt = r.currentRoundTripTime;
      }
    });
    if (prev && s.frames !== undefined && prev.frames !== undefined) {
      const dt = (s.time - prev.time) / 1000;
      const n = s.jbCount - prev.jbCount;
      state.stats = {
        fps: (s.frames - prev.frames) / dt,
        kbps: (s.bytes - prev.bytes) * 8 / 1000 / dt,
        loss: (s.lost - prev.lost) / Math.max(1, (s.lost - prev.lost) + (s.packets - prev.packets)),
        rtt_ms: s.rtt !== undefined ? s.rtt * 1000 : null,
        buffer_ms: n > 0 ? (s.jbDelay - prev.jbDelay) / n * 1000 : null,
        width: s.width, height: s.height, codec: s.codec, frames: s.frames,
        latency_ms: null,
      };
    }
    prev = s;
    renderOverlay();
  }

  function renderOverlay() {
    if (overlay.hidden) return;
    const st = state.stats;
    const f = (v, d) => (v === null || v === undefined || Number.isNaN(v) ? '–' : v.toFixed(d));
    overlay.textContent =
      `${st.codec || ''} ${st.width || '?'}x${st.height || '?'} via Janus\n` +
      `fps       ${f(st.fps, 1)}\n` +
      `bitrate   ${f(st.kbps, 0)} kbit/s\n` +
      `rtt       ${f(st.rtt_ms, 1)} ms (to Janus)\n` +
      `loss      ${f(st.loss * 100, 1)} %\n` +
      `buffer    ${f(st.buffer_ms, 0)} ms\n` +
      `latency   – (no frame timing through Janus)\n` +
      `edge      ${state.edgeIndex + 1}/${state.edges.length}  reconnects ${state.reconnects}`;
  }

  setInterval(() => {
    updateStats().catch(() => {});
    // Nothing shown for 8 s while connected or connecting: start again (a
    // Janus restarted under a session janus.js still believes in).
    if (janus && !retryTimer && performance.now() - lastFrameAt > 8000)
      retry('no picture for 8 s');
  }, 1000);

  function showStats(on) {
    overlay.hidden = !on;
    toggle.setAttribute('aria-pressed', String(on));
    renderOverlay();
  }
  toggle.addEventListener('click', () => showStats(overlay.hidden));
  document.addEventListener('keydown', (e) => { if (e.key === 'i') showStats(overlay.hidden); });
  if (params.has('stats')) showStats(true);

  start();
})();
