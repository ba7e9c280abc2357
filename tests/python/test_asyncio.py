#!/usr/bin/env python3
"""asyncio renderers: viewers' events through aevents() as a GStreamer
pipeline in another process (interactsink) sends them, promptly and with no
CPU spent while idle; arun() paced, or on events only; cancellation and
close never hang."""
# SPDX-License-Identifier: LGPL-2.1-or-later
import asyncio
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vzpy import slack  # noqa: E402

import numpy as np  # noqa: E402
import vizstream  # noqa: E402
import vztest  # noqa: E402

IDLE_S = 2.0
IDLE_CPU_SHARE = 0.02        # of one core


class Interactsink:
    """gst-launch-1.0 fdsrc ! interactsink, fed lines through its stdin."""

    @classmethod
    async def start(cls, segment):
        self = cls()
        self.proc = await asyncio.create_subprocess_exec(
            *vztest.gst_launch(), "fdsrc", "!", "interactsink", "segment=" + segment,
            stdin=asyncio.subprocess.PIPE)
        return self

    async def send(self, *lines):
        self.proc.stdin.write(("\n".join(lines) + "\n").encode())
        await self.proc.stdin.drain()

    async def close(self):
        self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), slack(10))
        except asyncio.TimeoutError:
            self.proc.kill()
            await self.proc.wait()


def move(x, y):
    return '{"event":"MouseMove","x":%d,"y":%d}' % (x, y)


class AsyncioTest(unittest.TestCase):
    def setUp(self):
        self.seg = vztest.unique_segment("aio")

    def assert_idle(self, cpu_before, wall_before):
        cpu = time.process_time() - cpu_before
        wall = time.monotonic() - wall_before
        print("idle %.2f s: %.4f s of CPU (%.2f%% of a core)" % (wall, cpu, 100 * cpu / wall))
        self.assertLess(cpu, IDLE_CPU_SHARE * wall, "an idle asyncio renderer spins")

    def test_aevents_from_interactsink(self):
        async def main(pub):
            got = asyncio.Queue()

            async def renderer():
                # The asyncio renderer: a frame for each event.
                async for ev in pub.aevents():
                    with pub.frame() as img:
                        img[...] = int(ev.x) % 256
                    await got.put((time.monotonic(), ev))

            task = asyncio.create_task(renderer())
            sink = await Interactsink.start(self.seg)
            try:
                # Once the pipeline runs, an event arrives.
                await sink.send(move(1, 2))
                t, ev = await asyncio.wait_for(got.get(), slack(20))
                self.assertEqual((ev.type, ev.x, ev.y), ("pointer-move", 1, 2))
                self.assertEqual(ev.type, "MouseMove")
                # Idle: the renderer waits, the process sleeps.
                cpu0, wall0 = time.process_time(), time.monotonic()
                await asyncio.sleep(IDLE_S)
                self.assert_idle(cpu0, wall0)
                self.assertTrue(got.empty())
                # Then events come promptly, in order.
                latencies = []
                for i in range(5):
                    sent = time.monotonic()
                    await sink.send(move(10 + i, 20))
                    t, ev = await asyncio.wait_for(got.get(), slack(5))
                    latencies.append(t - sent)
                    self.assertEqual((ev.x, ev.y), (10 + i, 20))
                print("event latency: max %.1f ms" % (1000 * max(latencies)))
                self.assertLess(max(latencies), slack(0.5))
                await sink.send('{"event":"MouseButtonPress","button":1,"x":3,"y":4}',
                                '{"event":"KeyPress","key":"Left"}',
                                '{"event":"MouseButtonRelease","button":1,"x":3,"y":4}')
                types = [(await asyncio.wait_for(got.get(), slack(5)))[1].type
                         for _ in range(3)]
                self.assertEqual(types, ["MouseButtonPress", "KeyPress", "MouseButtonRelease"])
                self.assertEqual(pub.frames_published, 9)
            finally:
                await sink.close()
                task.cancel()
                with self.assertRaises(asyncio.CancelledError):
                    await asyncio.wait_for(task, slack(2))

        with vizstream.Publisher(self.seg, 64, 48) as pub:
            asyncio.run(main(pub))

    def test_arun_on_events_only(self):
        renders = []

        async def render(events):
            renders.append(list(events))
            return np.full((48, 64, 4), len(renders), np.uint8)

        async def main(pub):
            task = asyncio.create_task(pub.arun(render))
            sink = await Interactsink.start(self.seg)
            try:
                await asyncio.sleep(0.2)
                self.assertEqual(renders, [[]], "one render at the start")
                cpu0, wall0 = time.process_time(), time.monotonic()
                await asyncio.sleep(IDLE_S)
                self.assert_idle(cpu0, wall0)
                self.assertEqual(len(renders), 1, "no events, no renders")
                await sink.send(move(5, 6))
                end = time.monotonic() + slack(20)
                while len(renders) < 2 and time.monotonic() < end:
                    await asyncio.sleep(0.01)
                self.assertEqual([(e.x, e.y) for e in renders[1]], [(5, 6)])
                self.assertEqual(pub.frames_published, 2)
            finally:
                await sink.close()
                task.cancel()
                with self.assertRaises(asyncio.CancelledError):
                    await asyncio.wait_for(task, slack(2))

        with vizstream.Publisher(self.seg, 64, 48) as pub:
            asyncio.run(main(pub))

    def test_arun_paced(self):
        def render(events):               # a plain function works too
            return np.zeros((48, 64, 4), np.uint8)

        async def main(pub):
            t0 = time.monotonic()
            n = await pub.arun(render, fps=50, frames=25)
            return n, time.monotonic() - t0

        with vizstream.Publisher(self.seg, 64, 48) as pub:
            n, took = asyncio.run(main(pub))
            self.assertEqual((n, pub.frames_published), (25, 25))
            # 24 periods of 20 ms between the first render and the last.
            self.assertGreaterEqual(took, 0.47)
            self.assertLess(took, slack(2))

    def test_cancel_and_close_do_not_hang(self):
        async def main(pub, pub2):
            # Cancelled while asleep on the queue: ends at once.
            task = asyncio.create_task(pub.aevents().__anext__())
            await asyncio.sleep(0.1)
            t0 = time.monotonic()
            task.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await task
            self.assertLess(time.monotonic() - t0, slack(1))
            # The next wait works (and times out as asked).
            t0 = time.monotonic()
            self.assertEqual([ev async for ev in pub.aevents(timeout=0.2)], [])
            self.assertGreaterEqual(time.monotonic() - t0, 0.2)
            # One consumer at a time.
            waiting = asyncio.create_task(pub.aevents().__anext__())
            await asyncio.sleep(0.1)
            with self.assertRaisesRegex(RuntimeError, "already waiting"):
                await pub.aevents().__anext__()
            # Closing the publisher ends the waiting loops quietly.
            runner = asyncio.create_task(pub2.arun(lambda ev: None))
            await asyncio.sleep(0.1)
            t0 = time.monotonic()
            pub.close()
            pub2.close()
            with self.assertRaises(StopAsyncIteration):
                await asyncio.wait_for(waiting, slack(2))
            self.assertEqual(await asyncio.wait_for(runner, slack(2)), 1)
            self.assertLess(time.monotonic() - t0, slack(1))

        pub = vizstream.Publisher(self.seg, 64, 48)
        pub2 = vizstream.Publisher(self.seg + "-2", 64, 48)
        asyncio.run(main(pub, pub2))
        self.assertFalse([t for t in threading.enumerate() if t.name == "vizstream-events"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
