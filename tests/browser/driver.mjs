// SPDX-License-Identifier: LGPL-2.1-or-later
// Drives Debian's Chromium (headless) for the Python browser tests: one JSON
// command per line on stdin, one JSON answer per line on stdout.
//
//   {"id":1,"cmd":"open","page":"a","url":"http://127.0.0.1:8080/"}
//     (optional: width, height, touch; init: a script run in the page
//     before its own scripts)
//   {"id":2,"cmd":"frame","page":"a","rw":1280,"rh":720}   -> demo frame tag
//   {"id":3,"cmd":"mouse","page":"a","action":"click","x":0.5,"y":0.5}
//   {"id":4,"cmd":"eval","page":"a","expr":"window.vizstream.role"}
//   {"id":5,"cmd":"touch","page":"a","type":"touchMove","points":[[0.4,0.5,1],[0.6,0.5,2]]}
//   {"id":6,"cmd":"close","page":"a"}   {"id":7,"cmd":"quit"}
//
// Answers: {"id":1,"ok":true,"value":...} or {"id":1,"ok":false,"error":"..."}.
import { chromium } from 'playwright-core';
import readline from 'node:readline';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const executablePath = process.env.VZ_CHROMIUM || '/usr/bin/chromium';
let browser = null;
const pages = new Map();
const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vz-chromium-'));

async function ensureBrowser() {
  if (browser) return browser;
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic',
      '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
      '--allow-loopback-in-peer-connection',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      '--use-fake-ui-for-media-stream',
    ],
  });
  return browser;
}

// Reads the frame number vizstream-demo draws at the top-left corner
// (examples/demo/scene.c, tag_draw) from a canvas copy of the video.
function decodeTag({ rw, rh }) {
  // The element showing the picture: video (WebRTC), canvas (WebSocket),
  // img (MJPEG).
  const t = window.vizstream && window.vizstream.transport;
  const el = document.getElementById(t === 'ws' ? 'canvas' : t === 'mjpeg' ? 'img' : 'video');
  const vw = t === 'ws' ? el.width : t === 'mjpeg' ? el.naturalWidth : el.videoWidth;
  const vh = t === 'ws' ? el.height : t === 'mjpeg' ? el.naturalHeight : el.videoHeight;
  if (!vw || !vh) return { number: null, width: vw, height: vh };
  const canvas = document.createElement('canvas');
  canvas.width = vw; canvas.height = vh;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(el, 0, 0, vw, vh);
  rw = rw || vw; rh = rh || vh;
  let cell = Math.min(16, Math.floor(rw / 40), Math.floor(rh / 4));
  const sx = vw / rw, sy = vh / rh;
  if (cell * sx < 3) return { number: null, width: vw, height: vh };
  const word = (row) => {
    let w = 0;
    const y = Math.floor((cell * row + cell / 2) * sy);
    for (let b = 0; b < 32; b++) {
      const x = Math.floor((cell * (b + 1) + cell / 2) * sx);
      const d = ctx.getImageData(x, y, 1, 1).data;
      if ((d[0] + d[1] + d[2]) / 3 > 128) w = (w | (1 << b)) >>> 0;
    }
    const n = w & 0xffffff;
    const check = ((((n & 0xff) + ((n >> 8) & 0xff) + ((n >> 16) & 0xff)) ^ 0xa5) & 0xff);
    return (w >>> 24) === check ? n : null;
  };
  // Row 1: the frame number; row 6: events the demo has applied.
  return { number: word(1), events: word(6), width: vw, height: vh };
}

// Client coordinates of a point of the picture (0..1).
async function pictureToClient(page, x, y) {
  return page.evaluate(([x, y]) => {
    const r = window.vizstream.pictureRect();
    return [r.left + x * r.width, r.top + y * r.height];
  }, [x, y]);
}

async function run(msg) {
  const page = msg.page !== undefined ? pages.get(msg.page) : null;
  switch (msg.cmd) {
    case 'open': {
      const b = await ensureBrowser();
      const ctx = await b.newContext({ viewport: { width: msg.width || 960, height: msg.height || 540 }, hasTouch: !!msg.touch });
      const p = await ctx.newPage();
      const log = [];
      p.on('console', (m) => log.push(m.type() + ': ' + m.text()));
      p.on('pageerror', (e) => log.push('pageerror: ' + e.message));
      p._vzlog = log;
      pages.set(msg.page, p);
      if (msg.init) await p.addInitScript(msg.init);
      await p.goto(msg.url);
      return true;
    }
    case 'eval':
      return page.evaluate(msg.expr);
    case 'frame':
      return page.evaluate(decodeTag, { rw: msg.rw, rh: msg.rh });
    case 'wscheck':
      // WebSocket path: the number in the canvas's pixels and the frame
      // number the server sent with the frame last decoded, read together.
      return page.evaluate(`(() => {
        const decode = ${decodeTag.toString()};
        const px = decode(${JSON.stringify({ rw: msg.rw, rh: msg.rh })});
        return { pixels: px.number, tagged: window.vizstream.lastFrameNumber };
      })()`);
    case 'framecheck':
      // On the next frame shown: the number in its pixels and the number
      // the server's frame timing gives for its RTP timestamp.
      return page.evaluate(`new Promise((resolve) => {
        const decode = ${decodeTag.toString()};
        const args = ${JSON.stringify({ rw: msg.rw, rh: msg.rh })};
        document.getElementById('video').requestVideoFrameCallback((now, meta) => {
          const t = window.vizstream.timing.get(meta.rtpTimestamp);
          const px = decode(args);
          resolve(t && px.number !== null ? { pixels: px.number, tagged: t.frame } : null);
        });
        setTimeout(() => resolve(null), 2000);
      })`);
    case 'latency':
      // For msg.seconds: each frame shown, the number in its pixels and
      // the renderer's publish time of that frame (server frame timing),
      // against the time it was shown, on the server's clock.
      return page.evaluate(`new Promise((resolve) => {
        const decode = ${decodeTag.toString()};
        const args = ${JSON.stringify({ rw: msg.rw, rh: msg.rh })};
        const video = document.getElementById('video');
        const out = [];
        const end = performance.now() + ${Number(msg.seconds) * 1000};
        const byFrame = () => { const m = new Map();
          for (const t of window.vizstream.timing.values()) m.set(t.frame, t.publish_ms);
          return m; };
        const cb = (now, meta) => {
          const px = decode(args);
          if (px.number !== null) {
            const pub = byFrame().get(px.number);
            const shown = performance.timeOrigin + meta.expectedDisplayTime + window.vizstream.clockOffset;
            if (pub !== undefined) out.push(shown - pub);
          }
          if (performance.now() < end) video.requestVideoFrameCallback(cb);
          else resolve(out);
        };
        video.requestVideoFrameCallback(cb);
      })`);
    case 'rtcstats':
      // The page's WebRTC statistics, as a list of plain objects.
      return page.evaluate('window.vizstream.rtcStats()');
    case 'rtt':
      // Interaction round trip: an event sent from the page, until a frame
      // shown whose events counter (drawn by the demo) has moved.
      return page.evaluate(`new Promise((resolve) => {
        const decode = ${decodeTag.toString()};
        const args = ${JSON.stringify({ rw: msg.rw, rh: msg.rh })};
        const video = document.getElementById('video');
        let before = null, t0 = null;
        const cb = (now, meta) => {
          const px = decode(args);
          if (before === null) {
            if (px.events === null) { video.requestVideoFrameCallback(cb); return; }
            before = px.events;
            t0 = performance.now();
            window.vizstream.forceSend({ event: 'MouseMove', x: Math.random(), y: Math.random(), modifier_state: '' });
          } else if (px.events !== null && px.events !== before) {
            resolve(meta.expectedDisplayTime - t0);
            return;
          }
          if (performance.now() - (t0 || performance.now()) > 5000) { resolve(null); return; }
          video.requestVideoFrameCallback(cb);
        };
        video.requestVideoFrameCallback(cb);
      })`);
    case 'mouse': {
      const [cx, cy] = await pictureToClient(page, msg.x, msg.y);
      const opts = { button: msg.button || 'left' };
      if (msg.action === 'click') await page.mouse.click(cx, cy, opts);
      else if (msg.action === 'move') await page.mouse.move(cx, cy, { steps: msg.steps || 1 });
      else if (msg.action === 'down') { await page.mouse.move(cx, cy); await page.mouse.down(opts); }
      else if (msg.action === 'up') { await page.mouse.move(cx, cy); await page.mouse.up(opts); }
      else if (msg.action === 'wheel') { await page.mouse.move(cx, cy); await page.mouse.wheel(msg.dx || 0, msg.dy || 0); }
      else throw new Error('unknown mouse action ' + msg.action);
      return [cx, cy];
    }
    case 'tap': {
      const [cx, cy] = await pictureToClient(page, msg.x, msg.y);
      await page.touchscreen.tap(cx, cy);
      return [cx, cy];
    }
    case 'touch': {
      // One CDP touch event (several fingers at once, which
      // page.touchscreen cannot do): type touchStart|touchMove|touchEnd,
      // points [[x, y, id], ...] in picture coordinates (0..1), the
      // fingers still down after it.
      if (!page._vzcdp) page._vzcdp = await page.context().newCDPSession(page);
      const touchPoints = [];
      for (const [x, y, id] of msg.points || []) {
        const [cx, cy] = await pictureToClient(page, x, y);
        touchPoints.push({ x: cx, y: cy, id, radiusX: 1, radiusY: 1, force: 0.5 });
      }
      await page._vzcdp.send('Input.dispatchTouchEvent', { type: msg.type, touchPoints });
      return touchPoints.length;
    }
    case 'crash':
      // The page's renderer process dies: no goodbye to the server.
      await page.goto('chrome://crash').catch(() => {});
      return true;
    case 'key':
      await page.keyboard.press(msg.key);
      return true;
    case 'log':
      return page ? page._vzlog : [];
    case 'reload':
      await page.reload();
      return true;
    case 'close':
      if (page) {
        await page.context().close();
        pages.delete(msg.page);
      }
      return true;
    case 'quit':
      if (browser) await browser.close();
      fs.rmSync(userDir, { recursive: true, force: true });
      process.stdout.write(JSON.stringify({ id: msg.id, ok: true, value: true }) + '\n');
      process.exit(0);
    default:
      throw new Error('unknown command ' + msg.cmd);
  }
}

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  let msg;
  try { msg = JSON.parse(line); } catch (e) { return; }
  try {
    const value = await run(msg);
    process.stdout.write(JSON.stringify({ id: msg.id, ok: true, value: value === undefined ? null : value }) + '\n');
  } catch (e) {
    process.stdout.write(JSON.stringify({ id: msg.id, ok: false, error: String(e && e.message || e) }) + '\n');
  }
});
rl.on('close', async () => {
  if (browser) await browser.close().catch(() => {});
  fs.rmSync(userDir, { recursive: true, force: true });
  process.exit(0);
});
