// vizstream page: shows the renderer over WebRTC and sends the viewer's
// pointer, wheel, keyboard and touch events back on the "input" data
// channel in the JSON event format of docs/events.md, with coordinates
// normalized to the picture (0..1; the server maps them to the renderer's
// frame). No build step, no dependencies.
//
// Query parameters: token=T (control with the server's token; #token=T keeps
// it out of server and proxy logs too; either way the page takes it out of
// the address bar and sends it only in hello), view (never control), stats (overlay shown), resize (ask the renderer for this
// window's size when the server allows it), timing (frame timing on),
// transport=webrtc|ws|mjpeg (default webrtc; the page falls back to ws, or
// mjpeg where WebCodecs is missing, when ICE does not connect within
// ice_timeout ms, 8000 by default), relay (WebRTC through the server's TURN
// relay only, iceTransportPolicy "relay": checks the TURN path, never falls
// back).
'use strict';

(function () {
  const params = new URLSearchParams(location.search);
  const token = window.vizstreamTakeToken();   // token.js
  const video = document.getElementById('video');
  const canvas = document.getElementById('canvas');
  const img = document.getElementById('img');
  const message = document.getElementById('message');
  const roleEl = document.getElementById('role');
  const overlay = document.getElementById('overlay');
  const toggle = document.getElementById('stats-toggle');

  // Everything a test or a curious user may want to read.
  const state = {
    id: null, role: null, codec: null, connected: false, renderer: null,
    reconnects: 0, eventsSent: 0, lastError: null, ended: null,
    framesShown: 0, timing: new Map(), clockOffset: 0, clockRtt: Infinity,
    latencies: [], lastLatency: null, lastFrameNumber: null,
    stats: {}, transport: null, fallbacks: 0,
    wsFrames: 0, wsBytes: 0, wsDecoded: 0, pingRtt: null,
  };
  window.vizstream = state;

  // ---- the renderer's messages (docs/server.md "Messages"): a progress
  // bar and a status line, and page script's listeners
  const listeners = new Map();   // name -> [fn]
  state.message = null;          // the newest message from the renderer
  state.messages = 0;
  state.on = (name, fn) => {
    if (!listeners.has(name)) listeners.set(name, []);
    listeners.get(name).push(fn);
    // The state so far, at once: a script that loads late misses nothing.
    if (name === 'message' && state.message !== null) setTimeout(() => fn(state.message), 0);
    return state;
  };
  state.off = (name, fn) => {
    const l = listeners.get(name) || [];
    if (l.includes(fn)) l.splice(l.indexOf(fn), 1);
    return state;
  };
  function notify(name, value) {
    for (const fn of (listeners.get(name) || []).slice()) {
      try { fn(value); } catch (e) { console.error('vizstream.on(' + name + '):', e); }
    }
  }
  const progressBox = document.getElementById('progress');
  const progressBar = document.getElementById('progress-bar');
  const statusLine = document.getElementById('status-line');
  let progressHide = null;
  function showMessage(data) {
    state.message = data;
    state.messages++;
    if (data && typeof data === 'object' && !Array.isArray(data)) {
      if (typeof data.status === 'string') statusLine.textContent = data.status;
      if (typeof data.progress === 'number' && isFinite(data.progress)) {
        const p = Math.max(0, Math.min(100, data.progress));
        progressBar.value = p;
        progressBar.hidden = false;
        clearTimeout(progressHide);
        // Done: the bar goes a moment later, the status line stays.
        if (p >= 100) progressHide = setTimeout(() => { progressBar.hidden = true; }, 1500);
      }
      progressBox.hidden = progressBar.hidden && !statusLine.textContent;
    }
    notify('message', data);
  }

  let ws = null, pc = null, input = null, status = null;
  let decoder = null, needKey = true, iceTimer = null;
  const sent = new Map();   // ws frame timestamp -> { frame, publish_ms }
  let transport = params.get('transport') || 'webrtc';
  if (!['webrtc', 'ws', 'mjpeg'].includes(transport)) transport = 'webrtc';
  const iceTimeout = Number(params.get('ice_timeout')) || 8000;
  const relayOnly = params.has('relay') && params.get('relay') !== '0';

  // What shows the picture: the video (WebRTC), a canvas (WebSocket +
  // WebCodecs) or an img (MJPEG).
  function surface() {
    return transport === 'ws' ? canvas : transport === 'mjpeg' ? img : video;
  }
  function surfaceSize() {
    const s = surface();
    if (s === canvas) return [canvas.width, canvas.height];
    if (s === img) return [img.naturalWidth, img.naturalHeight];
    return [video.videoWidth, video.videoHeight];
  }
  function showSurface() {
    for (const el of [video, canvas, img]) el.hidden = el !== surface();
    state.transport = transport;
  }
  // The picture's box on the page (tests click through it).
  state.pictureRect = () => {
    const [vw, vh] = surfaceSize();
    const r = surface().getBoundingClientRect();
    if (!vw || !vh) return null;
    const scale = Math.min(r.width / vw, r.height / vh);
    const w = vw * scale, h = vh * scale;
    return { left: r.left + (r.width - w) / 2, top: r.top + (r.height - h) / 2, width: w, height: h };
  };
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
    // Relative to the page, so that it works under any path (a proxy's
    // /viz/): wss: under https:.
    const url = new URL('ws', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    showSurface();
    ws = new WebSocket(url.href);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      const hello = { type: 'hello', view_only: params.has('view'), transport };
      if (transport === 'webrtc') hello.h264 = h264Profiles();
      if (token) hello.token = token;
      send(hello);
    };
    ws.onmessage = (e) => {
      if (e.data instanceof ArrayBuffer) { onWsFrame(e.data); return; }
      let m;
      try { m = JSON.parse(e.data); } catch (err) { return; }
      // At once, not after the queue: the close that follows must not
      // reconnect.
      if (m && m.type === 'ended') state.ended = m.reason || 'ended';
      chain = chain.then(() => { if (gen === generation) return handle(m); })
        .catch((err) => { state.lastError = String(err); console.warn(err); });
    };
    // The server says why it closed (a refusal: no UDP ports left, ...).
    ws.onclose = (e) => { if (gen === generation) restart(e.reason || 'server connection closed'); };
  }

  // The H.264 profile-level-ids this browser's WebRTC receiver decodes
  // (packetization-mode 1): the server sends Main profile to a page that
  // decodes it (fewer bits for the same picture), constrained baseline
  // otherwise. ?baseline reports constrained baseline only (as Firefox).
  function h264Profiles() {
    if (params.has('baseline')) return ['42e01f'];
    const caps = window.RTCRtpReceiver && RTCRtpReceiver.getCapabilities &&
      RTCRtpReceiver.getCapabilities('video');
    const ids = [];
    for (const c of (caps && caps.codecs) || []) {
      if (c.mimeType.toLowerCase() !== 'video/h264') continue;
      const fmtp = c.sdpFmtpLine || '';
      const m = /profile-level-id=([0-9a-fA-F]{6})/.exec(fmtp);
      if (m && /packetization-mode=1/.test(fmtp) && !ids.includes(m[1])) ids.push(m[1]);
    }
    return ids.slice(0, 64);
  }

  function restart(why, delay) {
    if (retryTimer || state.ended) return;
    state.connected = false;
    state.lastError = why;
    clearTimeout(iceTimer);
    if (pc) { pc.close(); pc = null; }
    if (decoder && decoder.state !== 'closed') decoder.close();
    decoder = null;
    if (transport === 'mjpeg') img.removeAttribute('src');
    if (ws) { ws.onclose = null; ws.close(); ws = null; }
    input = status = null;
    generation++;
    say('reconnecting… (' + why + ')');
    state.reconnects++;
    retryTimer = setTimeout(connect, delay !== undefined ? delay : retryDelay);
    retryDelay = Math.min(retryDelay * 2, 4000);
  }

  async function handle(m) {
    switch (m.type) {
      case 'welcome':
        state.id = m.id;
        state.codec = m.codec;
        allowResize = !!m.resize;
        if (transport === 'webrtc') {
          makePeer(m.ice_servers || []);
        } else {
          // Over HTTP only: the picture on this WebSocket or /mjpeg.
          state.connected = true;
          retryDelay = 500;
          say('');
          if (transport === 'mjpeg') img.src = 'mjpeg?viewer=' + m.id;
          if (allowResize && params.has('resize')) askResize();
          ping();
        }
        break;
      case 'offer': {
        state.remoteSdp = m.sdp;
        await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        state.localSdp = answer.sdp;
        send({ type: 'answer', sdp: answer.sdp });
        input = pc.createDataChannel('input', { ordered: true });
        input.onopen = () => {
          state.inputOpen = true;
          if (allowResize && params.has('resize')) askResize();
        };
        input.onclose = () => { state.inputOpen = false; };
        // ICE that does not connect (UDP blocked, an HTTP-only tunnel):
        // the same stream over this WebSocket instead.
        clearTimeout(iceTimer);
        iceTimer = setTimeout(() => {
          if (transport !== 'webrtc' || state.connected) return;
          if (relayOnly) restart(state.turnError || 'no connection through the TURN relay');
          else fallBack('ICE did not connect');
        }, iceTimeout);
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
        for (const el of [video, canvas, img]) el.classList.toggle('view-only', m.role !== 'control');
        break;
      case 'renderer':
        state.renderer = m.state;
        if (m.state === 'lost' || m.state === 'absent' || m.state === 'error')
          say('the renderer is gone; waiting for it to come back…');
        else if (state.connected) say('');
        break;
      case 'message':
        showMessage(m.data);
        break;
      case 'pong': {
        const now = performance.timeOrigin + performance.now();
        const rtt = now - m.t;
        state.pingRtt = rtt;
        if (m.server_ms && (rtt <= state.clockRtt * 1.5 || state.clockRtt === Infinity)) {
          state.clockRtt = Math.min(rtt, state.clockRtt);
          state.clockOffset = m.server_ms - (m.t + rtt / 2);
        }
        break;
      }
      case 'ended':
        // The server removed this stream (a session over, its renderer
        // failed): nothing to reconnect to.
        state.ended = m.reason || 'ended';
        state.connected = false;
        clearTimeout(retryTimer);
        if (pc) { pc.close(); pc = null; }
        if (ws) { ws.onclose = null; ws.close(); ws = null; }
        say('this stream has ended: ' + state.ended);
        // A session (--launch): a link that starts a new one.
        if (typeof m.restart === 'string' && /^[./a-z]+$/.test(m.restart)) {
          const a = document.createElement('a');
          a.id = 'restart';
          a.href = m.restart;
          a.textContent = 'start a new session';
          message.append(document.createElement('br'), a);
        }
        break;
      case 'error':
        state.lastError = m.message;
        console.warn('vizstream-server:', m.message);
        break;
    }
  }

  function fallBack(why) {
    transport = 'VideoDecoder' in window ? 'ws' : 'mjpeg';
    state.fallbacks++;
    console.warn('vizstream: ' + why + '; falling back to ' + transport);
    restart(why + ', trying ' + transport, 0);
  }

  // ---- video over the WebSocket: WebCodecs decodes, a canvas shows

  function makeDecoder() {
    decoder = new VideoDecoder({
      output: (frame) => {
        if (canvas.width !== frame.displayWidth || canvas.height !== frame.displayHeight) {
          canvas.width = frame.displayWidth;
          canvas.height = frame.displayHeight;
        }
        canvas.getContext('2d').drawImage(frame, 0, 0);
        const t = sent.get(frame.timestamp);
        sent.delete(frame.timestamp);
        frame.close();
        state.wsDecoded++;
        state.framesShown++;
        if (t && t.publish_ms > 0) {
          state.lastLatency = performance.timeOrigin + performance.now() + state.clockOffset - t.publish_ms;
          state.lastFrameNumber = t.frame;
          state.latencies.push(state.lastLatency);
          if (state.latencies.length > 300) state.latencies.shift();
        }
        if (state.firstFrameMs === undefined) state.firstFrameMs = performance.now();
      },
      error: (e) => { state.lastError = String(e); restart('decoder: ' + e.message); },
    });
    decoder.configure({ codec: state.codec === 'vp8' ? 'vp8' : 'avc1.42e01f', optimizeForLatency: true });
    needKey = true;
  }

  function onWsFrame(buf) {
    if (buf.byteLength < 24 || transport !== 'ws') return;
    const h = new DataView(buf);
    const key = (h.getUint8(1) & 1) === 1;
    const seq = h.getUint32(4, true);
    send({ type: 'ack', n: seq });   // bounds what the server keeps in flight
    state.wsFrames++;
    state.wsBytes += buf.byteLength;
    if (!decoder || decoder.state === 'closed') makeDecoder();
    if (needKey && !key) return;
    needKey = false;
    const timestamp = seq * 1000;
    sent.set(timestamp, { frame: h.getUint32(8, true), publish_ms: h.getFloat64(16, true) });
    if (sent.size > 120) sent.delete(sent.keys().next().value);
    decoder.decode(new EncodedVideoChunk({ type: key ? 'key' : 'delta', timestamp, data: new Uint8Array(buf, 24) }));
  }

  function makePeer(iceServers) {
    pc = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle',
      iceTransportPolicy: relayOnly ? 'relay' : 'all' });
    const mine = pc;
    // A TURN server that refuses the credentials (401: the server's TURN
    // secret is not the TURN server's) or cannot be reached.
    pc.onicecandidateerror = (e) => {
      if (!/^turns?:/.test(e.url || '')) return;
      state.turnError = e.errorCode === 401
        ? 'TURN refused the credentials (401 from ' + e.url + ')'
        : 'TURN error ' + e.errorCode + ' from ' + e.url + (e.errorText ? ': ' + e.errorText : '');
      console.warn('vizstream: ' + state.turnError);
      if (relayOnly) say(state.turnError);
    };
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
        restart((relayOnly && state.turnError) || 'connection ' + s);
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
    const m = JSON.stringify({ type: 'ping', t: performance.timeOrigin + performance.now() });
    if (transport !== 'webrtc') { if (ws && ws.readyState === WebSocket.OPEN) ws.send(m); }
    else if (status && status.readyState === 'open') status.send(m);
  }
  setInterval(() => { if (timingOn || transport !== 'webrtc') ping(); }, 2000);

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
    if (transport !== 'webrtc') {
      const s = { time: performance.now(), frames: state.wsDecoded, bytes: state.wsBytes };
      if (prev && prev.bytes !== undefined && prev.viaWs) {
        const dt = (s.time - prev.time) / 1000;
        const [w, hh] = surfaceSize();
        state.stats = {
          fps: (s.frames - prev.frames) / dt, kbps: (s.bytes - prev.bytes) * 8 / 1000 / dt,
          loss: null, rtt_ms: state.pingRtt, width: w, height: hh,
          codec: transport === 'ws' ? 'ws ' + state.codec : 'mjpeg', frames: s.frames,
          latency_ms: state.lastLatency,
        };
      }
      s.viaWs = true;
      prev = s;
      renderOverlay();
      return;
    }
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
        // host, srflx or relay: which path the media takes.
        const local = report.get(r.localCandidateId), remote = report.get(r.remoteCandidateId);
        state.selectedPair = { local: local && local.candidateType, remote: remote && remote.candidateType };
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
    renderOverlay();
  }

  function renderOverlay() {
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

  function channelOpen() {
    if (transport === 'webrtc') return input && input.readyState === 'open';
    return ws && ws.readyState === WebSocket.OPEN;
  }
  function sendEvent(ev) {
    if (transport === 'webrtc') input.send(JSON.stringify(ev));
    else ws.send(JSON.stringify({ type: 'input', data: JSON.stringify(ev) }));
  }
  function canSend() {
    return state.role === 'control' && channelOpen();
  }

  // For tests and debugging: a signalling message as it is.
  state.sendSignal = (obj) => send(obj);

  // For benches and debugging: the WebRTC statistics of the video as
  // plain objects (inbound-rtp: jitterBufferDelay, totalDecodeTime, ...),
  // or [] without a peer connection.
  state.rtcStats = async () => {
    if (!pc) return [];
    const out = [];
    (await pc.getStats()).forEach((r) => out.push(r));
    return out;
  };

  // For tests and debugging: send whatever the role (the server decides).
  state.forceSend = (ev) => {
    if (!channelOpen()) return false;
    sendEvent(ev);
    return true;
  };

  function emit(ev) {
    if (!canSend()) return false;
    sendEvent(ev);
    state.eventsSent++;
    return true;
  }

  // Where a point falls in the picture (object-fit: contain), 0..1.
  function locate(clientX, clientY) {
    const r = state.pictureRect();
    if (!r) return null;
    const x = (clientX - r.left) / r.width, y = (clientY - r.top) / r.height;
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

  const surfaces = [video, canvas, img];
  let pendingMove = null;
  function flushMove() {
    if (pendingMove) { emit(pendingMove); pendingMove = null; }
  }

  surfaces.forEach((el) => el.addEventListener('pointerdown', (e) => {
    el.focus();
    const p = locate(e.clientX, e.clientY);
    if (!p || state.role !== 'control') return;
    e.preventDefault();
    el.setPointerCapture(e.pointerId);
    flushMove();
    if (e.pointerType === 'touch')
      emit({ event: 'TouchDown', identifier: e.pointerId, x: p.x, y: p.y, pressure: e.pressure || 0.5, modifier_state: modifiers(e) });
    else
      emit({ event: 'MouseButtonPress', button: BUTTONS[e.button] || 1, x: p.x, y: p.y, modifier_state: modifiers(e) });
  }));
  surfaces.forEach((el) => el.addEventListener('pointermove', (e) => {
    const p = locate(e.clientX, e.clientY);
    if (!p) return;
    // One motion per animation frame: the newest position.
    const ev = e.pointerType === 'touch'
      ? { event: 'TouchMotion', identifier: e.pointerId, x: p.x, y: p.y, pressure: e.pressure || 0.5, modifier_state: modifiers(e) }
      : { event: 'MouseMove', x: p.x, y: p.y, modifier_state: modifiers(e) };
    if (e.pointerType === 'touch' && e.buttons === 0) return;
    // Each finger keeps its own motions: two fingers moving in one frame
    // (a pinch) must not leave only the last one's.
    if (pendingMove && (pendingMove.event !== ev.event || pendingMove.identifier !== ev.identifier)) flushMove();
    if (!pendingMove) requestAnimationFrame(flushMove);
    pendingMove = ev;
  }));
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
    const r = state.pictureRect();
    if (!r) return null;
    const c = (v) => Math.min(1, Math.max(0, v));
    return { x: c((clientX - r.left) / r.width), y: c((clientY - r.top) / r.height) };
  }
  surfaces.forEach((el) => el.addEventListener('pointerup', pointerUp));
  surfaces.forEach((el) => el.addEventListener('pointercancel', pointerUp));
  surfaces.forEach((el) => el.addEventListener('contextmenu', (e) => e.preventDefault()));
  surfaces.forEach((el) => el.addEventListener('wheel', (e) => {
    const p = locate(e.clientX, e.clientY);
    if (!p || state.role !== 'control') return;
    e.preventDefault();
    // Lines; delta_y > 0 for the wheel rolled away from the user (DOM
    // deltaY < 0), delta_x > 0 to the left: GStreamer's navigation
    // convention (docs/events.md), as webrtcsink's page sends it.
    const k = e.deltaMode === 0 ? 1 / 100 : e.deltaMode === 1 ? 1 : 3;
    flushMove();
    emit({ event: 'MouseScroll', x: p.x, y: p.y, delta_x: -e.deltaX * k, delta_y: -e.deltaY * k, modifier_state: modifiers(e) });
  }, { passive: false }));

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
