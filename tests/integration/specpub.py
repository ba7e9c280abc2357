#!/usr/bin/env python3
"""A vizstream publisher written from docs/protocol.md alone.

It shares no code with libvizstream: if shmframesrc reads what this writes,
the document says enough to write a compatible publisher in another
language. Linux x86-64/aarch64 (little-endian) only, like the protocol.

    specpub.py NAME WIDTH HEIGHT FORMAT FRAMES [--bottom-up] [--fps N]
               [--resize WxH]

Frame k (1-based) has every byte of row y set to (k + y) % 256, so a reader
can check which frame it got and that it is whole; --resize switches to the
other size after half the frames.
"""
# SPDX-License-Identifier: LGPL-2.1-or-later
import ctypes
import fcntl
import mmap
import os
import struct
import sys
import time

PAGE = 4096
MAGIC = b"VIZSTRM\x00"
FORMATS = {"RGBA": (1, 4), "BGRA": (2, 4), "RGBx": (3, 4), "BGRx": (4, 4),
           "ARGB": (5, 4), "ABGR": (6, 4), "xRGB": (7, 4), "xBGR": (8, 4),
           "RGB": (9, 3), "BGR": (10, 3), "GRAY8": (11, 1),
           "GRAY16_LE": (12, 2)}
SLOTS = 3
LANES, LANE_CAP = 8, 256

libc = ctypes.CDLL(None, use_errno=True)
libc.shm_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint]
libc.shm_unlink.argtypes = [ctypes.c_char_p]
SYS_futex = 202 if os.uname().machine == "x86_64" else 98
FUTEX_WAKE = 1


def page_round(n):
    return (n + PAGE - 1) // PAGE * PAGE


def stride_of(width, bpp):
    return (width * bpp + 3) // 4 * 4


def ofd_lock_byte0(fd):
    # struct flock: short l_type, short l_whence, off_t l_start, off_t l_len,
    # pid_t l_pid (native alignment, padded to 32 bytes)
    fl = struct.pack("@hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 1, 0)
    fcntl.fcntl(fd, fcntl.F_OFD_SETLK, fl)


class Publisher:
    def __init__(self, name, width, height, fmt):
        self.name = ("/" + name).encode()
        self.fmt, self.bpp = FORMATS[fmt]
        self.max_w, self.max_h = width, height
        self.slot_size = page_round(stride_of(width, self.bpp) * height)
        lane_stride = 128 + LANE_CAP * 256
        self.events_offset = PAGE
        self.events_size = page_round(256 + LANES * lane_stride)
        self.slots_offset = self.events_offset + self.events_size
        self.total = self.slots_offset + SLOTS * self.slot_size

        fd = libc.shm_open(self.name, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "shm_open " + name)
        self.fd = fd
        ofd_lock_byte0(fd)
        os.fchmod(fd, 0o600)
        os.ftruncate(fd, self.total)
        self.mm = mmap.mmap(fd, self.total, mmap.MAP_SHARED,
                            mmap.PROT_READ | mmap.PROT_WRITE)
        m = self.mm
        struct.pack_into("<IIQII", m, 8, 1, PAGE, self.total, 1, os.getpid())
        struct.pack_into("<IIIIQQQQQ", m, 32, SLOTS, width, height, self.fmt,
                         self.slot_size, self.slots_offset, self.events_offset,
                         self.events_size, time.time_ns())
        struct.pack_into("<I", m, 132, 0xFFFFFFFF)
        ev = self.events_offset
        struct.pack_into("<IIIIQQ", m, ev, 0x56455A56, LANES, LANE_CAP, 256,
                         256, lane_stride)
        # magic last; x86/aarch64 stores are not reordered with this
        # single aligned 8-byte store by the Python-level sequence
        self._u64(0).value = struct.unpack("<Q", MAGIC)[0]
        self.seq = [0] * SLOTS
        self.latest = None
        self.frames = 0
        self.width, self.height = width, height

    def _u64(self, off):
        return ctypes.c_uint64.from_buffer(self.mm, off)

    def _u32(self, off):
        return ctypes.c_uint32.from_buffer(self.mm, off)

    def publish(self, fill, bottom_up=False):
        s = 0 if self.latest is None else (self.latest + 1) % SLOTS
        desc = 256 + 64 * s
        self.seq[s] += 1
        self._u64(desc).value = self.seq[s]          # odd: being written
        stride = stride_of(self.width, self.bpp)
        base = self.slots_offset + s * self.slot_size
        self.frames += 1
        for y in range(self.height):
            row = fill(self.frames, y, self.width * self.bpp)
            self.mm[base + y * stride: base + y * stride + len(row)] = row
        now = time.monotonic_ns()
        struct.pack_into("<QQQIIIII", self.mm, desc + 8, self.frames, now, now,
                         self.width, self.height, stride, self.fmt,
                         1 if bottom_up else 0)
        struct.pack_into("<Q", self.mm, desc + 56, time.time_ns())
        self.seq[s] += 1
        self._u64(desc).value = self.seq[s]          # even: stable
        self._u32(132).value = s
        self._u64(144).value = self.frames
        count = self._u32(128)
        count.value = (count.value + 1) & 0xFFFFFFFF
        libc.syscall(SYS_futex, ctypes.c_void_p(ctypes.addressof(count)),
                     FUTEX_WAKE, 0x7FFFFFFF, None, None, 0)
        self.latest = s

    def resize(self, width, height):
        assert width <= self.max_w and height <= self.max_h
        self.width, self.height = width, height

    def close(self):
        self._u32(24).value = 2
        count = self._u32(128)
        count.value = (count.value + 1) & 0xFFFFFFFF
        libc.syscall(SYS_futex, ctypes.c_void_p(ctypes.addressof(count)),
                     FUTEX_WAKE, 0x7FFFFFFF, None, None, 0)
        del count
        libc.shm_unlink(self.name)
        self.mm.close()
        os.close(self.fd)


def main(argv):
    name, w, h, fmt, frames = argv[1], int(argv[2]), int(argv[3]), argv[4], int(argv[5])
    bottom_up = "--bottom-up" in argv
    fps = float(argv[argv.index("--fps") + 1]) if "--fps" in argv else 30.0
    resize = None
    if "--resize" in argv:
        rw, rh = argv[argv.index("--resize") + 1].split("x")
        resize = (int(rw), int(rh))
    pub = Publisher(name, w, h, fmt)

    def fill(k, y, nbytes):
        return bytes([(k + y) % 256]) * nbytes

    print("ready", flush=True)
    for i in range(frames):
        if resize and i == frames // 2:
            pub.resize(*resize)
        pub.publish(fill, bottom_up)
        time.sleep(1.0 / fps)
    time.sleep(0.2)
    pub.close()


if __name__ == "__main__":
    main(sys.argv)
