"""asyncio for vizstream: viewers' events without polling, and a render loop.

    async def main():
        with vizstream.Publisher("viz", 640, 360) as pub:
            async for ev in pub.aevents():
                ...

    await pub.arun(render, fps=30)      # render(events) -> frame or None

No busy polling: while the event queue is empty one thread per publisher
sleeps in vz_writer_wait_events() (the queue's futex, GIL released) and
wakes the event loop with call_soon_threadsafe() when a producer posts.
Cancelling the waiting task, or closing the publisher, wakes that thread at
once through vz_writer_interrupt_events(): nothing hangs.
"""
# SPDX-License-Identifier: LGPL-2.1-or-later
import asyncio
import inspect
import threading

from . import (_VZ_ERR_INTERRUPTED, _VZ_ERR_TIMEOUT, _writer_clear_interrupt,
               _writer_interrupt, _writer_wait)

__all__ = ["aevents", "arun"]

# What a wait that ended with the publisher closed resolves to.
_CLOSED = object()


def _resolve(future, value):
    if not future.done():
        future.set_result(value)


class _Waiter:
    """The thread that sleeps on one writer's event queue for event loops.

    One wait at a time: a job is (loop, future, timeout_ns); the thread
    takes it, sleeps in the C library (the GIL released), then resolves the
    future on its loop. It holds the writer's handle, never the Publisher
    (whose __del__ must stay possible), and Publisher.close() stops it
    before freeing the writer."""

    def __init__(self, handle):
        self._handle = handle
        self._cv = threading.Condition()
        # under _cv
        self._job = None            # the wait asked for, until it returns
        self._cancelled = False     # that wait's future was cancelled
        self._closing = False
        self._thread = threading.Thread(target=self._main, name="vizstream-events",
                                        daemon=True)
        self._thread.start()

    def _main(self):
        while True:
            with self._cv:
                while self._job is None and not self._closing:
                    self._cv.wait()
                if self._closing:
                    job, self._job = self._job, None
                    break
                loop, future, timeout_ns = self._job
            rc = _writer_wait(self._handle, timeout_ns)
            # Clear after the wait, never before: an interrupt that lands
            # between this and the next wait only makes that one return at
            # once (a spurious wake-up, harmless); one cleared before a wait
            # could be lost, and close() would hang.
            _writer_clear_interrupt(self._handle)
            with self._cv:
                self._job = None
                self._cancelled = False
                closing = self._closing
                self._cv.notify_all()
            # Closing: the waiting task must not touch the writer again.
            self._post(loop, future, _CLOSED if closing else rc)
        if job is not None:
            self._post(job[0], job[1], _CLOSED)

    @staticmethod
    def _post(loop, future, value):
        try:
            loop.call_soon_threadsafe(_resolve, future, value)
        except RuntimeError:        # that loop is closed: nobody waits
            pass

    def submit(self, loop, future, timeout_ns):
        with self._cv:
            if self._job is not None and self._cancelled:
                # A cancelled wait, interrupted already: gone in a moment.
                self._cv.wait_for(lambda: self._job is None or self._closing, 5)
            if self._closing:
                _resolve(future, _CLOSED)
                return
            if self._job is not None:
                raise RuntimeError("another task is already waiting for this publisher's "
                                   "events: use one aevents()/arun() per publisher")
            self._job = (loop, future, timeout_ns)
            self._cv.notify_all()

    def cancel(self, future):
        with self._cv:
            if self._job is None or self._job[1] is not future:
                return
            self._cancelled = True
        _writer_interrupt(self._handle)

    def stop(self, timeout=5):
        """End the thread; False if it did not end in time (then the
        writer must not be freed: it may still sleep on it)."""
        with self._cv:
            self._closing = True
            self._cv.notify_all()
        _writer_interrupt(self._handle)
        if self._thread is not threading.current_thread():
            # Bounded: at interpreter exit a daemon thread may never run
            # again, and joining it would hang.
            self._thread.join(timeout)
        return not self._thread.is_alive()


async def _wait(pub, timeout):
    """Until an event may be there (True), timeout seconds pass (False) or
    the publisher is closed (None)."""
    if pub.closed:
        return None
    if pub._waiter is None:
        pub._waiter = _Waiter(pub._writer())
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    ns = -1 if timeout is None else max(0, int(timeout * 1e9))
    waiter = pub._waiter
    waiter.submit(loop, future, ns)
    try:
        rc = await future
    except asyncio.CancelledError:
        waiter.cancel(future)
        raise
    if rc is _CLOSED or pub.closed:
        return None
    if rc == _VZ_ERR_TIMEOUT:
        return False
    if rc < 0 and rc != _VZ_ERR_INTERRUPTED:
        from . import _check
        _check(rc, "wait for events")
    return True


async def aevents(pub, timeout=None):
    """Publisher.aevents(): events as they come; ends after timeout seconds
    without one (None: never) or when the publisher is closed."""
    while not pub.closed:
        batch = pub.poll_events()
        if batch:
            for ev in batch:
                yield ev
            continue
        if not await _wait(pub, timeout):
            return


async def _call(fn, *args):
    result = fn(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


async def arun(pub, render, fps=None, frames=None):
    """Publisher.arun(): render(events) -> frame (published) or None, paced
    at fps, or on events only when fps is None."""
    loop = asyncio.get_running_loop()
    period = None if not fps else 1.0 / float(fps)
    done = 0
    next_time = loop.time()
    while frames is None or done < frames:
        if pub.closed:
            break
        if period is not None:
            delay = next_time - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            # Late (a slow render): start again from now, no burst.
            next_time = max(next_time + period, loop.time())
            events = pub.poll_events()
        else:
            events = pub.poll_events()
            if not events and done > 0:
                if await _wait(pub, None) is None:
                    break
                continue
        frame = await _call(render, events)
        if frame is not None and not pub.closed:
            pub.publish(frame)
        done += 1
    return done


run = arun
