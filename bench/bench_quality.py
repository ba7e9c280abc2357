"""Bits per second at a fixed quality for the server's three video paths:
MJPEG (jpegenc), VP8 (vp8enc realtime, as the server runs it, and as it
ran before 2026-12) and H.264
(x264enc veryfast/zerolatency, as the server runs it), on the demo scene
at 1280x720, 30 fps, side by side in one run.

For each encoder the knob (JPEG quality, target bitrate) is searched by
bisection until the SSIM against the source frames (ffmpeg's ssim filter)
reaches the target; the bitrate at that point is printed, with its ratio
to H.264's. Then the transport overhead of the WebSocket path vs WebRTC,
computed from the encoded frame sizes: per frame a 24-byte vizstream
header, WebSocket framing and TCP/IPv4 headers per 1448-byte segment;
per RTP packet (payload <= 1200 bytes) RTP 12 + transport-cc 8 + SRTP tag
10 + UDP/IPv4 28 bytes.

Usage: bench_quality.py [FRAMES] [SSIM...]   (defaults: 90, 0.90 0.95)"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from encbench import capture_demo, encode as encode_clip, run, ssim  # noqa: E402

W, H, FPS = 1280, 720, 30
FRAMES = int(sys.argv[1]) if len(sys.argv) > 1 else 90
TARGETS = [float(v) for v in sys.argv[2:]] or [0.90, 0.95]


def encode(ref, enc, out):
    return encode_clip(ref, enc, out)[0]  # kbit/s


CODECS = {
    "MJPEG": dict(
        knob=(5, 100), integer=True, fmt=["-f", "mjpeg"],
        enc=lambda q: ["jpegenc", "quality=%d" % q], ext="mjpeg"),
    # server/vs-encoder.c's vp8enc settings
    "VP8": dict(
        knob=(100, 40000), integer=True, fmt=[],
        enc=lambda b: ["vp8enc", "deadline=1", "cpu-used=-16", "threads=1",
                       "end-usage=cbr", "lag-in-frames=0", "undershoot=95",
                       "buffer-size=150", "buffer-initial-size=100",
                       "buffer-optimal-size=120", "keyframe-mode=disabled",
                       "max-intra-bitrate=250",
                       "target-bitrate=%d" % (b * 1000), "!", "webmmux"],
        ext="webm"),
    # the settings before (2026-12): slower speed, two threads, partitions
    "VP8 old": dict(
        knob=(100, 40000), integer=True, fmt=[],
        enc=lambda b: ["vp8enc", "deadline=1", "cpu-used=8", "threads=2",
                       "end-usage=cbr", "lag-in-frames=0",
                       "error-resilient=partitions", "undershoot=95",
                       "buffer-size=300", "buffer-initial-size=200",
                       "buffer-optimal-size=250",
                       "target-bitrate=%d" % (b * 1000), "!", "webmmux"],
        ext="webm"),
    "H.264": dict(
        knob=(100, 40000), integer=True, fmt=["-f", "h264"],
        enc=lambda b: ["x264enc", "tune=zerolatency", "speed-preset=veryfast",
                       "bitrate=%d" % b, "vbv-buf-capacity=300",
                       "key-int-max=120", "!",
                       "video/x-h264,profile=constrained-baseline,stream-format=byte-stream",
                       "!", "h264parse"],
        ext="h264"),
}


def search(ref, tmp, name, target):
    c = CODECS[name]
    lo, hi = c["knob"]
    best = None
    out = os.path.join(tmp, "out." + c["ext"])
    for _ in range(8):
        mid = (lo + hi) // 2
        kbps = encode(ref, c["enc"](mid), out)
        s = ssim(ref, out, c["fmt"])
        if s >= target:
            best = (mid, kbps, s)
            hi = mid
        else:
            lo = mid + 1
        if hi - lo <= max(1, hi // 50):
            break
    if best is None:
        kbps = encode(ref, c["enc"](hi), out)
        best = (hi, kbps, ssim(ref, out, c["fmt"]))
    frames = None
    if name == "H.264":
        # frame sizes for the transport overhead, at this setting
        kbps = encode(ref, c["enc"](best[0]), out)
        frames = frame_sizes(out)
    return best, frames


def frame_sizes(path):
    p = run(["ffprobe", "-v", "error", "-f", "h264", "-show_entries",
             "packet=size", "-of", "csv=p=0", path], text=True)
    return [int(v) for v in p.stdout.split()]


def overhead(sizes):
    payload = sum(sizes)
    ws = sum(24 + (2 if s + 24 < 126 else 4 if s + 24 < 65536 else 10)
             + 52 * -(-(s + 30) // 1448) for s in sizes)
    rtp = sum((12 + 8 + 10 + 28) * -(-s // 1200) for s in sizes)
    return ws / payload, rtp / payload


def main():
    with tempfile.TemporaryDirectory() as tmp:
        ref = capture_demo(os.path.join(tmp, "ref.yuv"), W, H, FPS, FRAMES,
                           tags=True)
        print("bits per second at a fixed SSIM, demo scene %dx%d %d fps, %d "
              "frames (the server's encoder settings)" % (W, H, FPS, FRAMES))
        for target in TARGETS:
            results = {}
            for name in CODECS:
                results[name] = search(ref, tmp, name, target)
            ref_kbps = results["H.264"][0][1]
            for name, ((knob, kbps, s), _) in results.items():
                print("  SSIM >= %.2f  %-7s %7.0f kbit/s  (%s %d, SSIM %.4f)"
                      "  = %.2fx H.264" % (
                          target, name, kbps,
                          "quality" if name == "MJPEG" else "kbit/s target",
                          knob, s, kbps / ref_kbps))
            print("  SSIM >= %.2f  VP8 now / VP8 old: %.2fx the bits" % (
                target, results["VP8"][0][1] / results["VP8 old"][0][1]))
            ws, rtp = overhead(results["H.264"][1])
            print("  transport overhead on these H.264 frames: WebSocket "
                  "+%.1f %%, WebRTC (RTP/SRTP/UDP) +%.1f %%: WebSocket/WebRTC "
                  "= %.3f" % (ws * 100, rtp * 100, (1 + ws) / (1 + rtp)))


if __name__ == "__main__":
    main()
