/* bench-events: events from a producer process to the renderer.
 *
 *   1. latency, producer push -> renderer read, p50/p99, at 1000 events/s,
 *      beside the same 256-byte records through a pipe between the same
 *      two processes (reader blocked in read());
 *   2. throughput of the queue (producer as fast as it can, renderer
 *      draining), beside the pipe;
 *   3. events per second through `filesrc ! interactsink` into the queue,
 *      beside the bare JSON parser on the same lines.
 *
 * Not a test: prints figures and ratios (docs/performance.md).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include <vizstream.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LAT_EVENTS 3000
#define LAT_RATE 1000
#define TPUT_EVENTS 400000
#define JSON_EVENTS 200000

static uint64_t
now_ns (void)
{
  return vz_monotonic_ns ();
}

static void
sleep_until (uint64_t t)
{
  struct timespec ts = {.tv_sec = t / 1000000000u,.tv_nsec = t % 1000000000u
  };
  clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static int
cmp_u64 (const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
  return x < y ? -1 : x > y;
}

typedef struct
{
  VzEvent ev;                   /* 256 bytes or so, like a record */
} Record;

/* Child: push count events, paced at rate (0: flat out), to the queue
 * (pipe_fd < 0) or down the pipe. */
static void
producer (const char *segment, int pipe_fd, int count, int rate)
{
  VzReader *r = NULL;
  VzProducer *p = NULL;
  uint64_t next = now_ns ();

  if (pipe_fd < 0) {
    while (vz_reader_open (segment, VZ_READER_EVENTS, &r) != VZ_OK)
      usleep (1000);
    if (vz_producer_new (r, &p) != VZ_OK)
      _exit (2);
  }
  for (int i = 0; i < count; i++) {
    Record rec;
    memset (&rec, 0, sizeof rec);
    rec.ev.x = i;
    rec.ev.button = 1;
    rec.ev.type = VZ_EVENT_BUTTON_PRESS;       /* never coalesced */
    rec.ev.timestamp_ns = now_ns ();
    if (p) {
      vz_producer_push (p, &rec.ev);
    } else if (write (pipe_fd, &rec, sizeof rec) != sizeof rec) {
      _exit (3);
    }
    if (rate) {
      next += 1000000000ull / rate;
      sleep_until (next);
    }
  }
  if (p)
    while (vz_producer_flush (p) > 0)
      usleep (100);
  _exit (0);
}

typedef struct
{
  double p50_us, p99_us, rate;
  int received;
} Figures;

/* Percentiles and rate from the latencies received; frees lat. */
static void
finish (Figures * fig, uint64_t * lat, uint64_t start, uint64_t end)
{
  qsort (lat, fig->received, sizeof *lat, cmp_u64);
  if (fig->received) {
    fig->p50_us = lat[fig->received / 2] / 1e3;
    fig->p99_us = lat[(fig->received * 99) / 100] / 1e3;
  }
  fig->rate = end > start ? fig->received / ((end - start) / 1e9) : 0;
  free (lat);
}

static Figures
run_queue (VzWriter * w, const char *segment, int count, int rate)
{
  Figures fig = { 0 };
  uint64_t *lat = calloc (count, sizeof *lat);
  VzEvent ev[256];
  uint64_t start = 0, end = 0;
  pid_t pid = fork ();
  int status;

  if (pid == 0)
    producer (segment, -1, count, rate);
  while (fig.received < count) {
    int n;
    if (vz_writer_wait_events (w, 2000000000ll) == VZ_ERR_TIMEOUT)
      break;
    n = vz_writer_poll_events (w, ev, 256);
    for (int i = 0; i < n && fig.received < count; i++) {
      uint64_t t = now_ns ();
      if (fig.received == 0)
        start = t;
      lat[fig.received++] = t - ev[i].timestamp_ns;
      end = t;
    }
  }
  waitpid (pid, &status, 0);
  finish (&fig, lat, start, end);
  return fig;
}

static Figures
run_pipe (int count, int rate)
{
  Figures fig = { 0 };
  uint64_t *lat = calloc (count, sizeof *lat);
  uint64_t start = 0, end = 0;
  int fds[2], status;
  pid_t pid;

  if (pipe (fds) != 0)
    exit (1);
  pid = fork ();
  if (pid == 0) {
    close (fds[0]);
    producer (NULL, fds[1], count, rate);
  }
  close (fds[1]);
  while (fig.received < count) {
    Record rec;
    size_t got = 0;
    while (got < sizeof rec) {
      ssize_t n = read (fds[0], (char *) &rec + got, sizeof rec - got);
      if (n <= 0)
        goto done;
      got += (size_t) n;
    }
    {
      uint64_t t = now_ns ();
      if (fig.received == 0)
        start = t;
      lat[fig.received++] = t - rec.ev.timestamp_ns;
      end = t;
    }
  }
done:
  close (fds[0]);
  waitpid (pid, &status, 0);
  finish (&fig, lat, start, end);
  return fig;
}

/* interactsink vs the bare parser on the same JSON lines. */
static void
run_json (VzWriter * w, const char *segment)
{
  char path[] = "/tmp/vz-bench-events-XXXXXX";
  int fd = mkstemp (path);
  FILE *f = fdopen (fd, "w");
  char *text;
  size_t len;
  VzEvent *evs;
  VzJsonResult res;
  uint64_t t0, parse_ns, start = 0, end = 0;
  int received = 0, status;
  pid_t pid;

  for (int i = 0; i < JSON_EVENTS; i++)
    fprintf (f, "{\"event\":\"MouseButtonPress\",\"button\":1,\"x\":%d,"
        "\"y\":%d,\"modifier_state\":\"shift-mask\"}\n", i, i % 720);
  fclose (f);
  {
    FILE *in = fopen (path, "r");
    fseek (in, 0, SEEK_END);
    len = (size_t) ftell (in);
    rewind (in);
    text = malloc (len);
    if (fread (text, 1, len, in) != len)
      exit (1);
    fclose (in);
  }
  evs = malloc (sizeof (VzEvent) * JSON_EVENTS);
  t0 = now_ns ();
  vz_events_from_json (text, len, evs, JSON_EVENTS, &res);
  parse_ns = now_ns () - t0;

  pid = fork ();
  if (pid == 0) {
    char loc[80], seg[80];
    snprintf (loc, sizeof loc, "location=%s", path);
    snprintf (seg, sizeof seg, "segment=%s", segment);
    execlp ("gst-launch-1.0", "gst-launch-1.0", "-q", "filesrc", loc, "!",
        "interactsink", seg, "when-absent=wait", (char *) NULL);
    _exit (127);
  }
  while (received < JSON_EVENTS) {
    int n;
    if (vz_writer_wait_events (w, 5000000000ll) == VZ_ERR_TIMEOUT)
      break;
    n = vz_writer_poll_events (w, evs, 256);
    if (n > 0 && received == 0)
      start = now_ns ();
    received += n > 0 ? n : 0;
    end = now_ns ();
  }
  waitpid (pid, &status, 0);
  unlink (path);
  {
    VzEventStats st;
    double sink_rate = end > start ? received / ((end - start) / 1e9) : 0;
    double parse_rate = JSON_EVENTS / (parse_ns / 1e9);
    vz_writer_event_stats (w, &st);
    printf ("  JSON lines -> interactsink -> queue   %10.0f events/s "
        "(%d of %d delivered, %llu coalesced/dropped)\n", sink_rate,
        received, JSON_EVENTS,
        (unsigned long long) (st.dropped_motion + st.dropped_other));
    printf ("  the bare parser, same lines            %10.0f events/s\n",
        parse_rate);
    printf ("  interactsink / parser                  = %.2f\n",
        sink_rate / parse_rate);
  }
  free (text);
  free (evs);
}

int
main (void)
{
  char segment[64];
  VzWriterConfig c = {.max_width = 64,.max_height = 64,.format =
        VZ_FORMAT_RGBA,.lane_capacity = 4096
  };
  VzWriter *w = NULL;
  Figures q, p;

  signal (SIGPIPE, SIG_IGN);
  snprintf (segment, sizeof segment, "vz-bench-events-%d", (int) getpid ());
  if (vz_writer_create (segment, &c, &w) != VZ_OK) {
    fprintf (stderr, "%s\n", vz_last_error ());
    return 1;
  }
  printf ("events: producer process -> renderer (256-byte records)\n");
  q = run_queue (w, segment, LAT_EVENTS, LAT_RATE);
  p = run_pipe (LAT_EVENTS, LAT_RATE);
  printf ("  latency at %d events/s      queue p50 %6.1f us  p99 %6.1f us | "
      "pipe p50 %6.1f us  p99 %6.1f us\n", LAT_RATE, q.p50_us, q.p99_us,
      p.p50_us, p.p99_us);
  q = run_queue (w, segment, TPUT_EVENTS, 0);
  p = run_pipe (TPUT_EVENTS, 0);
  printf ("  throughput, flat out       queue %10.0f events/s | pipe %10.0f "
      "events/s | queue/pipe = %.2f\n", q.rate, p.rate, q.rate / p.rate);
  run_json (w, segment);
  vz_writer_close (w);
  return 0;
}
