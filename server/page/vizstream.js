// vizstream page: shows the renderer over WebRTC and sends the viewer's
// pointer, wheel, keyboard and touch events back on the "input" data
// channel in the JSON event format of docs/events.md, with coordinates
// normalized to the picture (0..1; the server maps them to the renderer's
// frame). No build step, no dependencies.
//
// Query parameters: token=T (control with the server's --token), view (never
// control), stats (overlay shown), resize (ask the renderer for this
// window's size when the server allows it), timing (frame timing on).
'use strict';

(function () {
  const params = new URLSearchParams(location.search);
  const video = document.getElementById('video');
  const message = document.getElementById('message');
  const roleEl = document.getElementById('role');
  const overlay = document.getElementById('overlay');
  const toggle = document.getElementById('stats-toggle');

  // Everything a test or a curious user may want to read.
  const state = {
    id: null, role: null, codec: null, connected: false, renderer: null,
    reconnects: 0, eventsSent: 0, lastError: null,
    framesShown: 0, timing: new Map(), clockOffset: 0, clockRtt: Infinity,
    latencies: [], lastLatency: null, lastFrameNumber: null,
    stats: {},
  };
  window.vizstream = state;

  let ws = null, pc = null, input = null, status = null;
  let chain = Promise.resolve();
  let retryDelay = 500, retryTimer = null, generation = 0;
  let allowResize = false;
  let timingOn = params.has('timing') || params.has('stats');

  function say(text) { message.textContent = text || ''; }

  function send(obj) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
  }

  // ---- connection, and reconnection after a server restart or a failure

  function connect() {
    const gen = ++generation;
    retryTimer = null;
    say(state.reconnects ? 'reconnecting…' : 'connecting…');
    const proto = location.protocol === 'https:' ? 'wss://' : 'ws://';
    ws = new WebSocket(proto + location.host + '/ws');
    ws.onopen = () => {
      const hello = { type: 'hello', view_only: params.has('view') };
      if (params.get('token')) hello.token = params.get('token');
      send(hello);
    };
    ws.onmessage = (e) => {
      let m;
      try { m = JSON.parse(e.data); } catch (err) { return; }
      chain = chain.then(() => { if (gen === generation) return handle(m); })
        .catch((err) => { state.lastError = String(err); console.warn(err); });
    };
    ws.onclose = () => { if (gen === generation) restart('server connection closed'); };
  }

  function restart(why) {
    if (retryTimer) return;
    state.connected = false;
    state.lastError = why;
    if (pc) { pc.close(); pc = null; }
    if (ws) { ws.onclose = null; ws.close(); ws = null; }
    input = status = null;
    generation++;
    say('reconnecting… (' + why + ')');
    state.reconnects++;
    retryTimer = setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 4000);
  }

  async function handle(m) {
    switch (m.type) {
      case 'welcome':
        state.id = m.id;
        state.codec = m.codec;
        allowResize = !!m.resize;
        makePeer(m.ice_servers || []);
        break;
      case 'offer': {
        state.remoteSdp = m.sdp;
        await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        send({ type: 'answer', sdp: answer.sdp });
        input = pc.createDataChannel('input', { ordered: true });
        input.onopen = () => {
          state.inputOpen = true;
          if (allowResize && params.has('resize')) askResize();
        };
        input.onclose = () => { state.inputOpen = false; };
        break;
      }
      case 'ice':
        if (pc && m.candidate)
          await pc.addIceCandidate({ candidate: m.candidate, sdpMLineIndex: m.sdpMLineIndex });
        break;
      case 'role':
        state.role = m.role;
        roleEl.textContent = m.role === 'control' ? 'controlling' : 'view only';
        roleEl.className = m.role;
        video.classList.toggle('view-only', m.role !== 'control');
        break;
      case 'renderer':
        state.renderer = m.state;
        if (m.state === 'lost' || m.state === 'absent' || m.state === 'error')
          say('the renderer is gone; waiting for it to come back…');
        else if (state.connected) say('');
        break;
      case 'error':
        state.lastError = m.message;
        console.warn('vizstream-server:', m.message);
        break;
    }
  }

  function makePeer(iceServers) {
    pc = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle' });
    const mine = pc;
    pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate)
        send({ type: 'ice', candidate: e.candidate.candidate, sdpMLineIndex: e.candidate.sdpMLineIndex || 0 });
    };
    pc.ontrack = (e) => {
      video.srcObject = e.streams && e.streams[0] ? e.streams[0] : new MediaStream([e.track]);
      video.play().catch(() => {});
    };
    pc.ondatachannel = (e) => {
      if (e.channel.label !== 'vizstream') return;
      status = e.channel;
      status.onopen = () => setTiming(timingOn);
      status.onmessage = (ev) => onStatus(ev.data);
    };
    pc.onconnectionstatechange = () => {
      if (mine !== pc) return;
      const s = pc.connectionState;
      if (s === 'connected') {
        state.connected = true;
        retryDelay = 500;
        say('');
      } else if (s === 'failed' || s === 'closed') {
        restart('connection ' + s);
      } else if (s === 'disconnected') {
        say('connection interrupted…');
        setTimeout(() => { if (mine === pc && pc.connectionState === 'disconnected') restart('connection lost'); }, 4000);
      }
    };
  }

  // ---- frame timing and clock: end-to-end latency

  function setTiming(on) {
    timingOn = on;
    if (status && status.readyState === 'open') {
      status.send(JSON.stringify({ type: 'timing', on }));
      if (on) ping();
    }
  }

  function ping() {
    if (status && status.readyState === 'open')
      status.send(JSON.stringify({ type: 'ping', t: performance.timeOrigin + performance.now() }));
  }
  setInterval(() => { if (timingOn) ping(); }, 2000);

  function onStatus(text) {
    let m;
    try { m = JSON.parse(text); } catch (e) { return; }
    if (m.type === 'frame') {
      state.timing.set(m.rtp, m);
      if (state.timing.size > 600) state.timing.delete(state.timing.keys().next().value);
    } else if (m.type === 'pong') {
      const now = performance.timeOrigin + performance.now();
      const rtt = now - m.t;
      // The least delayed exchange gives the best offset estimate.
      if (rtt <= state.clockRtt * 1.5 || state.clockRtt === Infinity) {
        state.clockRtt = Math.min(rtt, state.clockRtt);
        state.clockOffset = m.server_ms - (m.t + rtt / 2);
      }
    }
  }

  function onFrame(now, meta) {
    state.framesShown++;
    // Time from opening the page to its first picture (tests read it).
    if (state.firstFrameMs === undefined) state.firstFrameMs = now;
    const t = meta && meta.rtpTimestamp !== undefined ? state.timing.get(meta.rtpTimestamp) : null;
    if (t) {
      const shown = performance.timeOrigin + (meta.expectedDisplayTime || now) + state.clockOffset;
      state.lastLatency = shown - t.publish_ms;
      state.lastFrameNumber = t.frame;
      state.latencies.push(state.lastLatency);
      if (state.latencies.length > 300) state.latencies.shift();
    }
    video.requestVideoFrameCallback(onFrame);
  }
  if ('requestVideoFrameCallback' in HTMLVideoElement.prototype)
    video.requestVideoFrameCallback(onFrame);

  // ---- statistics overlay

  let prev = null;
  async function updateStats() {
    if (!pc) return;
    const report = await pc.getStats();
    const s = { time: performance.now() };
    report.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') {
        s.bytes = r.bytesReceived; s.frames = r.framesDecoded;
        s.lost = r.packetsLost; s.packets = r.packetsReceived;
        s.width = r.frameWidth; s.height = r.frameHeight;
        s.codec = r.codecId && report.get(r.codecId) ? report.get(r.codecId).mimeType : state.codec;
        s.nacks = r.nackCount; s.plis = r.pliCount;
      } else if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') {
        s.rtt = r.currentRoundTripTime;
      }
    });
    if (prev && s.frames !== undefined) {
      const dt = (s.time - prev.time) / 1000;
      state.stats = {
        fps: (s.frames - prev.frames) / dt,
        kbps: (s.bytes - prev.bytes) * 8 / 1000 / dt,
        loss: (s.lost - prev.lost) / Math.max(1, (s.lost - prev.lost) + (s.packets - prev.packets)),
        rtt_ms: s.rtt !== undefined ? s.rtt * 1000 : null,
        width: s.width, height: s.height, codec: s.codec,
        frames: s.frames, nacks: s.nacks, plis: s.plis,
        latency_ms: state.lastLatency,
      };
    }
    prev = s;
    if (!overlay.hidden) {
      const st = state.stats;
      const f = (v, d) => (v === null || v === undefined || Number.isNaN(v) ? '–' : v.toFixed(d));
      overlay.textContent =
        `${st.codec || ''} ${st.width || '?'}x${st.height || '?'}\n` +
        `fps       ${f(st.fps, 1)}\n` +
        `bitrate   ${f(st.kbps, 0)} kbit/s\n` +
        `rtt       ${f(st.rtt_ms, 1)} ms\n` +
        `loss      ${f(st.loss * 100, 1)} %\n` +
        `latency   ${f(st.latency_ms, 0)} ms` + (state.latencies.length ? '' : ' (no timing)') + '\n' +
        `role      ${state.role || '?'}  viewer ${state.id}`;
    }
  }
  setInterval(() => { updateStats().catch(() => {}); }, 1000);

  function showStats(on) {
    overlay.hidden = !on;
    toggle.setAttribute('aria-pressed', String(on));
    if (on && !timingOn) setTiming(true);
  }
  toggle.addEventListener('click', () => showStats(overlay.hidden));
  if (params.has('stats')) showStats(true);

  // ---- input

  function canSend() {
    return state.role === 'control' && input && input.readyState === 'open';
  }

  // For tests and debugging: send whatever the role (the server decides).
  state.forceSend = (ev) => {
    if (!input || input.readyState !== 'open') return false;
    input.send(JSON.stringify(ev));
    return true;
  };

  function emit(ev) {
    if (!canSend()) return false;
    input.send(JSON.stringify(ev));
    state.eventsSent++;
    return true;
  }

  // Where a point falls in the picture (object-fit: contain), 0..1.
  function locate(clientX, clientY) {
    const vw = video.videoWidth, vh = video.videoHeight;
    if (!vw || !vh) return null;
    const r = video.getBoundingClientRect();
    const scale = Math.min(r.width / vw, r.height / vh);
    const w = vw * scale, h = vh * scale;
    const x = (clientX - (r.left + (r.width - w) / 2)) / w;
    const y = (clientY - (r.top + (r.height - h) / 2)) / h;
    if (x < 0 || x > 1 || y < 0 || y > 1) return null;
    return { x: Math.round(x * 1e5) / 1e5, y: Math.round(y * 1e5) / 1e5 };
  }

  function modifiers(e) {
    const m = [];
    if (e.shiftKey) m.push('shift-mask');
    if (e.ctrlKey) m.push('control-mask');
    if (e.altKey) m.push('mod1-mask');
    if (e.metaKey) m.push('meta-mask');
    const b = e.buttons || 0;
    if (b & 1) m.push('button1-mask');
    if (b & 4) m.push('button2-mask');
    if (b & 2) m.push('button3-mask');
    if (b & 8) m.push('button4-mask');
    if (b & 16) m.push('button5-mask');
    return m.join('+');
  }

  // DOM button numbers -> X buttons: left 1, middle 2, right 3.
  const BUTTONS = [1, 2, 3, 8, 9];

  let pendingMove = null;
  function flushMove() {
    if (pendingMove) { emit(pendingMove); pendingMove = null; }
  }

  video.addEventListener('pointerdown', (e) => {
    video.focus();
    const p = locate(e.clientX, e.clientY);
    if (!p || state.role !== 'control') return;
    e.preventDefault();
    video.setPointerCapture(e.pointerId);
    flushMove();
    if (e.pointerType === 'touch')
      emit({ event: 'TouchDown', identifier: e.pointerId, x: p.x, y: p.y, pressure: e.pressure || 0.5, modifier_state: modifiers(e) });
    else
      emit({ event: 'MouseButtonPress', button: BUTTONS[e.button] || 1, x: p.x, y: p.y, modifier_state: modifiers(e) });
  });
  video.addEventListener('pointermove', (e) => {
    const p = locate(e.clientX, e.clientY);
    if (!p) return;
    // One motion per animation frame: the newest position.
    const ev = e.pointerType === 'touch'
      ? { event: 'TouchMotion', identifier: e.pointerId, x: p.x, y: p.y, pressure: e.pressure || 0.5, modifier_state: modifiers(e) }
      : { event: 'MouseMove', x: p.x, y: p.y, modifier_state: modifiers(e) };
    if (e.pointerType === 'touch' && e.buttons === 0) return;
    if (pendingMove && pendingMove.event !== ev.event) flushMove();
    if (!pendingMove) requestAnimationFrame(flushMove);
    pendingMove = ev;
  });
  function pointerUp(e) {
    if (state.role !== 'control') return;
    const q = locate(e.clientX, e.clientY) || clampLocate(e.clientX, e.clientY);
    if (!q) return;
    flushMove();
    if (e.pointerType === 'touch')
      emit({ event: 'TouchUp', identifier: e.pointerId, x: q.x, y: q.y, modifier_state: modifiers(e) });
    else
      emit({ event: 'MouseButtonRelease', button: BUTTONS[e.button] || 1, x: q.x, y: q.y, modifier_state: modifiers(e) });
  }
  // A release outside the picture still ends the drag, at its edge.
  function clampLocate(clientX, clientY) {
    const vw = video.videoWidth, vh = video.videoHeight;
    if (!vw || !vh) return null;
    const r = video.getBoundingClientRect();
    const scale = Math.min(r.width / vw, r.height / vh);
    const w = vw * scale, h = vh * scale;
    const c = (v) => Math.min(1, Math.max(0, v));
    return { x: c((clientX - (r.left + (r.width - w) / 2)) / w), y: c((clientY - (r.top + (r.height - h) / 2)) / h) };
  }
  video.addEventListener('pointerup', pointerUp);
  video.addEventListener('pointercancel', pointerUp);
  video.addEventListener('contextmenu', (e) => e.preventDefault());
  video.addEventListener('wheel', (e) => {
    const p = locate(e.clientX, e.clientY);
    if (!p || state.role !== 'control') return;
    e.preventDefault();
    // Lines, positive up/left as GStreamer's navigation events have them.
    const k = e.deltaMode === 0 ? 1 / 100 : e.deltaMode === 1 ? 1 : 3;
    flushMove();
    emit({ event: 'MouseScroll', x: p.x, y: p.y, delta_x: -e.deltaX * k, delta_y: -e.deltaY * k, modifier_state: modifiers(e) });
  }, { passive: false });

  // KeyboardEvent.key -> X keysym names.
  const KEYS = {
    ' ': 'space', Enter: 'Return', Escape: 'Escape', Backspace: 'BackSpace',
    Tab: 'Tab', Delete: 'Delete', Insert: 'Insert', Home: 'Home', End: 'End',
    PageUp: 'Page_Up', PageDown: 'Page_Down', ArrowLeft: 'Left',
    ArrowRight: 'Right', ArrowUp: 'Up', ArrowDown: 'Down', Shift: 'Shift_L',
    Control: 'Control_L', Alt: 'Alt_L', Meta: 'Super_L', CapsLock: 'Caps_Lock',
    '+': 'plus', '-': 'minus', '=': 'equal', '.': 'period', ',': 'comma',
    '/': 'slash', '\\': 'backslash', ';': 'semicolon', "'": 'apostrophe',
    '[': 'bracketleft', ']': 'bracketright', '`': 'grave', '*': 'asterisk',
    '!': 'exclam', '?': 'question', '#': 'numbersign', '$': 'dollar',
    '%': 'percent', '&': 'ampersand', '(': 'parenleft', ')': 'parenright',
    '_': 'underscore', ':': 'colon', '"': 'quotedbl', '<': 'less',
    '>': 'greater', '@': 'at', '^': 'asciicircum', '{': 'braceleft',
    '}': 'braceright', '|': 'bar', '~': 'asciitilde',
  };
  function keysym(e) {
    if (KEYS[e.key]) return KEYS[e.key];
    if (/^F([1-9]|1[0-9]|2[0-4])$/.test(e.key)) return e.key;
    if (e.key.length === 1 && /[0-9A-Za-z]/.test(e.key)) return e.key;
    return null;
  }
  function onKey(e) {
    if (e.target === toggle || state.role !== 'control') return;
    const key = keysym(e);
    if (!key) return;
    if (e.key === 'i' && e.ctrlKey) return;
    e.preventDefault();
    flushMove();
    emit({ event: e.type === 'keydown' ? 'KeyPress' : 'KeyRelease', key, modifier_state: modifiers(e) });
  }
  window.addEventListener('keydown', onKey);
  window.addEventListener('keyup', onKey);

  // ---- resize: the renderer follows the window (when both sides agree)

  function askResize() {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(16, Math.min(16384, Math.round(innerWidth * dpr / 2) * 2));
    const h = Math.max(16, Math.min(16384, Math.round(innerHeight * dpr / 2) * 2));
    emit({ event: 'ResizeRequest', width: w, height: h });
  }
  let resizeTimer = null;
  window.addEventListener('resize', () => {
    if (!allowResize || !params.has('resize')) return;
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(askResize, 300);
  });

  connect();
})();
