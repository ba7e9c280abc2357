/* vizstream-demo: a renderer that publishes an animated network layout
 * into a vizstream shared segment.
 *
 * It renders straight into the slot the library hands out (no second
 * copy). By default a caption at the bottom says what the controls do;
 * with --tags every frame carries its number and the count of events
 * applied instead (see scene.h), so tests and benches can check order,
 * integrity and input at the far end of a pipeline.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "scene.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vizstream.h>

static volatile sig_atomic_t stop_requested;

static void
on_signal (int sig)
{
  (void) sig;
  stop_requested = 1;
}

/* ---- options ---- */

static void
usage (FILE * out)
{
  fprintf (out,
      "Usage: vizstream-demo [OPTION]...\n"
      "Publish an animated force-directed network layout into a vizstream\n"
      "shared segment, for shmframesrc to read.\n\n"
      "  -s, --segment NAME   segment name (default: vizstream-demo)\n"
      "  -S, --size WxH       frame size (default: 1280x720)\n"
      "  -f, --fps N          frames per second (default: 30)\n"
      "  -n, --frames N       stop after N frames, 0 = run forever (default)\n"
      "      --nodes N        nodes in the network (default: 3000)\n"
      "      --format NAME    RGBA, BGRA, RGBx, BGRx, ARGB, ABGR, xRGB,\n"
      "                       xBGR, RGB or BGR (default: RGBA)\n"
      "      --slots N        frame slots in the ring (default: 3)\n"
      "      --seed N         graph seed (default: 1)\n"
      "  -p, --print-events   print every event received as a JSON line on\n"
      "                       stdout (docs/events.md)\n"
      "  -t, --tags           draw the frame number and the events count as\n"
      "                       cells at the top-left (what tests read) instead\n"
      "                       of the caption of the controls\n"
      "  -q, --quiet          no status line\n"
      "  -h, --help           this help\n"
      "\nInteraction: left drag rotates, right or middle drag (or shift+left)\n"
      "pans, the wheel zooms, 'r' resets the view, space pauses the layout,\n"
      "'s' toggles the spin; a resize request changes the frame size.\n");
}

static bool
parse_uint (const char *s, unsigned long max, unsigned long *out)
{
  char *end;
  unsigned long v;

  errno = 0;
  v = strtoul (s, &end, 10);
  if (errno || end == s || *end != '\0' || v > max || s[0] == '-')
    return false;
  *out = v;
  return true;
}

/* ---- events ---- */

typedef struct
{
  bool rotating, panning;
  double last_x, last_y;
} Drag;

static void
apply_event (const VzEvent * e, SceneView * view, Drag * drag,
    VzWriter * writer, VzFormat format, uint32_t height)
{
  switch (e->type) {
    case VZ_EVENT_BUTTON_PRESS:
    case VZ_EVENT_TOUCH_DOWN:
      if (e->type == VZ_EVENT_TOUCH_DOWN
          || (e->button == 1 && !(e->modifiers & VZ_MOD_SHIFT)))
        drag->rotating = true;
      else
        drag->panning = true;
      drag->last_x = e->x;
      drag->last_y = e->y;
      view->auto_spin = false;
      break;
    case VZ_EVENT_BUTTON_RELEASE:
    case VZ_EVENT_TOUCH_UP:
      drag->rotating = drag->panning = false;
      break;
    case VZ_EVENT_POINTER_MOVE:
    case VZ_EVENT_TOUCH_MOTION:{
      double dx = e->x - drag->last_x, dy = e->y - drag->last_y;
      if (drag->rotating) {
        view->yaw += (float) (dx * 0.01);
        view->pitch += (float) (dy * 0.01);
        if (view->pitch > 1.5f)
          view->pitch = 1.5f;
        if (view->pitch < -1.5f)
          view->pitch = -1.5f;
      } else if (drag->panning) {
        view->pan_x += (float) (dx / height);
        view->pan_y += (float) (dy / height);
      }
      drag->last_x = e->x;
      drag->last_y = e->y;
      break;
    }
    case VZ_EVENT_WHEEL:
      /* delta_y > 0: the wheel rolled away from the user (GStreamer's
       * convention, docs/events.md): closer, as desktop VTK zooms */
      view->zoom *= powf (1.1f, (float) e->delta_y);
      if (view->zoom < 0.2f)
        view->zoom = 0.2f;
      if (view->zoom > 10.0f)
        view->zoom = 10.0f;
      break;
    case VZ_EVENT_KEY_PRESS:
      if (strcmp (e->text, "r") == 0)
        scene_view_reset (view);
      else if (strcmp (e->text, "space") == 0)
        view->paused = !view->paused;
      else if (strcmp (e->text, "s") == 0)
        view->auto_spin = !view->auto_spin;
      break;
    case VZ_EVENT_RESIZE_REQUEST:
      if (vz_writer_set_frame_format (writer, e->width, e->height, format,
              0) != VZ_OK)
        fprintf (stderr, "vizstream-demo: resize refused: %s\n",
            vz_last_error ());
      break;
    default:
      break;
  }
}

/* Drawn into every frame (tag_draw_events): events applied so far. */
static uint64_t events_applied;

/* Take every queued event: print it if asked, apply it to the view. */
static void
handle_events (VzWriter * writer, SceneView * view, Drag * drag,
    bool print, VzFormat format, uint32_t height)
{
  VzEvent events[64];
  int n;

  while ((n = vz_writer_poll_events (writer, events, 64)) > 0) {
    for (int i = 0; i < n; i++) {
      if (print) {
        char json[512];
        if (vz_event_to_json (&events[i], json, sizeof json) > 0)
          puts (json);
      }
      apply_event (&events[i], view, drag, writer, format, height);
      events_applied++;
    }
    if (print)
      fflush (stdout);
  }
}

/* ---- the picture ---- */

/* What apply_event() does, longest first: the first that fits is drawn. */
static const char *const captions[] = {
  "drag: rotate  shift+drag or right-drag: pan  wheel: zoom  r: reset  "
      "space: pause  s: spin",
  "drag: rotate  shift+drag: pan  wheel: zoom  r: reset  space: pause",
  "drag: rotate  wheel: zoom  r: reset",
};

static void
draw_caption (const VzFrame * f)
{
  for (size_t i = 0; i < sizeof captions / sizeof captions[0]; i++)
    if (caption_draw (f->data, f->width, f->height, f->stride, f->format,
            captions[i]))
      return;
}

/* ---- main ---- */

static uint64_t
now_ns (void)
{
  return vz_monotonic_ns ();
}

int
main (int argc, char **argv)
{
  static const struct option opts[] = {
    {"segment", required_argument, NULL, 's'},
    {"size", required_argument, NULL, 'S'},
    {"fps", required_argument, NULL, 'f'},
    {"frames", required_argument, NULL, 'n'},
    {"nodes", required_argument, NULL, 'N'},
    {"format", required_argument, NULL, 'F'},
    {"slots", required_argument, NULL, 'L'},
    {"seed", required_argument, NULL, 'E'},
    {"quiet", no_argument, NULL, 'q'},
    {"print-events", no_argument, NULL, 'p'},
    {"tags", no_argument, NULL, 't'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
  };
  const char *segment = "vizstream-demo";
  unsigned long width = 1280, height = 720, fps = 30, frames = 0;
  unsigned long nodes = 3000, slots = 3, seed = 1;
  VzFormat format = VZ_FORMAT_RGBA;
  bool quiet = false, print_events = false, tags = false;
  Drag drag = { 0 };
  VzWriterConfig config = { 0 };
  VzWriter *writer = NULL;
  Scene *scene;
  SceneView view;
  struct sigaction sa;
  uint64_t period, next, start, render_ns = 0, last_report;
  int c, rc, status = 0;

  while ((c = getopt_long (argc, argv, "s:S:f:n:ptqh", opts, NULL)) != -1) {
    switch (c) {
      case 's':
        segment = optarg;
        break;
      case 'S':
        if (sscanf (optarg, "%lux%lu", &width, &height) != 2 || width < 16
            || height < 16 || width > VZ_MAX_DIMENSION_PX
            || height > VZ_MAX_DIMENSION_PX) {
          fprintf (stderr, "vizstream-demo: --size wants WxH between 16x16 "
              "and %ux%u, not '%s'\n", VZ_MAX_DIMENSION_PX,
              VZ_MAX_DIMENSION_PX, optarg);
          return 2;
        }
        break;
      case 'f':
        if (!parse_uint (optarg, 1000, &fps) || fps == 0) {
          fprintf (stderr, "vizstream-demo: --fps wants 1..1000\n");
          return 2;
        }
        break;
      case 'n':
        if (!parse_uint (optarg, ~0ul, &frames)) {
          fprintf (stderr, "vizstream-demo: --frames wants a count\n");
          return 2;
        }
        break;
      case 'N':
        if (!parse_uint (optarg, 1000000, &nodes) || nodes < 2) {
          fprintf (stderr, "vizstream-demo: --nodes wants 2..1000000\n");
          return 2;
        }
        break;
      case 'F':
        format = vz_format_from_name (optarg);
        if (format == VZ_FORMAT_UNKNOWN || format == VZ_FORMAT_GRAY8
            || format == VZ_FORMAT_GRAY16_LE) {
          fprintf (stderr, "vizstream-demo: --format '%s' is not one of "
              "RGBA BGRA RGBx BGRx ARGB ABGR xRGB xBGR RGB BGR\n", optarg);
          return 2;
        }
        break;
      case 'L':
        if (!parse_uint (optarg, 16, &slots) || slots < 2) {
          fprintf (stderr, "vizstream-demo: --slots wants 2..16\n");
          return 2;
        }
        break;
      case 'E':
        if (!parse_uint (optarg, 0xffffffffu, &seed)) {
          fprintf (stderr, "vizstream-demo: --seed wants a number\n");
          return 2;
        }
        break;
      case 'q':
        quiet = true;
        break;
      case 'p':
        print_events = true;
        break;
      case 't':
        tags = true;
        break;
      case 'h':
        usage (stdout);
        return 0;
      default:
        usage (stderr);
        return 2;
    }
  }
  if (optind < argc) {
    fprintf (stderr, "vizstream-demo: unexpected argument '%s'\n",
        argv[optind]);
    usage (stderr);
    return 2;
  }

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
  sa.sa_handler = SIG_IGN;
  sigaction (SIGPIPE, &sa, NULL);

  scene = scene_new ((unsigned) nodes, (uint32_t) seed);
  if (scene == NULL) {
    fprintf (stderr, "vizstream-demo: out of memory for %lu nodes\n", nodes);
    return 1;
  }
  scene_view_reset (&view);

  config.max_width = (uint32_t) width;
  config.max_height = (uint32_t) height;
  config.format = format;
  config.slot_count = (uint32_t) slots;
  rc = vz_writer_create (segment, &config, &writer);
  if (rc != VZ_OK) {
    fprintf (stderr, "vizstream-demo: %s\n", vz_last_error ());
    scene_free (scene);
    return 1;
  }
  if (!quiet)
    fprintf (stderr, "vizstream-demo: publishing %lux%lu %s at %lu fps on "
        "segment '%s'\n", width, height, vz_format_name (format), fps,
        vz_writer_name (writer));

  period = 1000000000ull / fps;
  start = next = last_report = now_ns ();
  while (!stop_requested) {
    VzFrame f;
    uint64_t t0;

    if (frames && vz_writer_frames_published (writer) >= frames)
      break;
    t0 = now_ns ();
    scene_step (scene, &view);
    if ((rc = vz_writer_acquire (writer, &f)) != VZ_OK)
      break;
    scene_render (scene, &view, f.data, f.width, f.height, f.stride,
        f.format);
    if (tags) {
      tag_draw (f.data, f.width, f.height, f.stride, f.format,
          vz_writer_frames_published (writer) + 1);
      tag_draw_events (f.data, f.width, f.height, f.stride, f.format,
          events_applied);
    } else {
      draw_caption (&f);
    }
    if ((rc = vz_writer_publish (writer, &f, 0, 0)) != VZ_OK)
      break;
    render_ns += now_ns () - t0;

    if (!quiet && now_ns () - last_report >= 1000000000ull) {
      uint64_t n = vz_writer_frames_published (writer);
      fprintf (stderr, "\rvizstream-demo: frame %llu, %.2f ms per frame   ",
          (unsigned long long) n, render_ns / 1e6 / (double) n);
      last_report = now_ns ();
    }
    next += period;
    if (next < now_ns ())
      next = now_ns ();         /* behind: do not try to catch up */
    /* Until the next frame, sleep on the event queue: events are applied
     * (and printed) as they come, not once a frame. */
    handle_events (writer, &view, &drag, print_events, format,
        (uint32_t) height);
    while (!stop_requested && now_ns () < next) {
      if (vz_writer_wait_events (writer, (int64_t) (next - now_ns ())) ==
          VZ_OK)
        handle_events (writer, &view, &drag, print_events, format,
            (uint32_t) height);
    }
  }
  if (rc != VZ_OK) {
    fprintf (stderr, "\nvizstream-demo: %s\n", vz_last_error ());
    status = 1;
  }
  if (!quiet) {
    uint64_t n = vz_writer_frames_published (writer);
    fprintf (stderr, "\nvizstream-demo: %llu frames in %.1f s, %.2f ms per "
        "frame rendering\n", (unsigned long long) n,
        (now_ns () - start) / 1e9, n ? render_ns / 1e6 / (double) n : 0.0);
  }
  vz_writer_close (writer);
  scene_free (scene);
  return status;
}
