/* vizstream-gldemo: a C program rendering with OpenGL on a headless EGL
 * context, streamed by glreadbacksrc through the vizstream server (embedded:
 * the same WebRTC, WebSocket, MJPEG and RTMP paths as vizstream-server),
 * with the viewers' mouse, wheel and keys turning its camera.
 *
 *   vizstream-gldemo [--size WxH] [--fps N] [--cubes N] [--print-events]
 *                    [vizstream-server options, e.g. --port 8080]
 *
 * What an application does, in order:
 *   1. create its GL context (here: EGL, device platform, no window);
 *   2. make a glreadbacksrc (mode=app) and give it the context
 *      (vg_egl_give_to: GstContexts gst.gl.GLDisplay, gst.gl.app_context);
 *   3. each frame, render into its framebuffer object and emit
 *      "submit-fbo" (fbo, width, height) with its context current; the call
 *      queues an asynchronous readback and returns at once;
 *   4. apply the events the viewers send back (here they arrive as JSON
 *      through the embedded server, which parsed and filtered them, as
 *      interactsink does).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gst/gst.h>
#include <vizstream.h>

#include "egl-headless.h"
#include "glscene.h"
#include "vs-embed.h"

typedef struct
{
  gint width, height, fps;
  guint cubes;
  gboolean print_events;

  VgEgl egl;
  GstElement *src;
  GThread *thread;
  gint stop;

  GMutex lock;                  /* events from the main loop */
  GArray *events;               /* VzEvent */
} App;

/* The embedded server's main loop: a controlling viewer's events, parsed
 * and filtered by the server's input policy. */
static void
on_input (guint viewer_id, const VzEvent * events, gsize n, gpointer data)
{
  App *app = data;

  g_mutex_lock (&app->lock);
  for (gsize i = 0; i < n; i++) {
    VzEvent ev = events[i];
    /* the page sends coordinates normalized to 0..1: to frame pixels */
    ev.x *= app->width;
    ev.y *= app->height;
    ev.viewer_id = viewer_id;
    g_array_append_val (app->events, ev);
  }
  g_mutex_unlock (&app->lock);
}

typedef struct
{
  gboolean dragging;
  double x, y;
} Drag;

static void
apply_event (App * app, const VzEvent * e, GlCamera * cam, Drag * drag)
{
  switch (e->type) {
    case VZ_EVENT_BUTTON_PRESS:
      if (e->button == 1) {
        drag->dragging = TRUE;
        drag->x = e->x;
        drag->y = e->y;
      }
      break;
    case VZ_EVENT_BUTTON_RELEASE:
      if (e->button == 1)
        drag->dragging = FALSE;
      break;
    case VZ_EVENT_POINTER_MOVE:
    case VZ_EVENT_TOUCH_MOTION:
      if (drag->dragging || e->type == VZ_EVENT_TOUCH_MOTION) {
        cam->yaw += (float) ((e->x - drag->x) * 4.0 / app->width);
        cam->pitch += (float) ((e->y - drag->y) * 4.0 / app->height);
        cam->pitch = CLAMP (cam->pitch, -1.5f, 1.5f);
      }
      drag->x = e->x;
      drag->y = e->y;
      break;
    case VZ_EVENT_TOUCH_DOWN:
      drag->x = e->x;
      drag->y = e->y;
      break;
    case VZ_EVENT_WHEEL:
      /* delta_y > 0: the wheel rolled away from the user: closer */
      cam->distance *= e->delta_y > 0 ? 1 / 1.1f : e->delta_y < 0 ? 1.1f : 1;
      cam->distance = CLAMP (cam->distance, 0.3f, 4.0f);
      break;
    case VZ_EVENT_KEY_PRESS:
      if (g_str_equal (e->text, "r"))
        gl_camera_reset (cam);
      break;
    default:
      break;
  }
}

static gpointer
render_thread (gpointer data)
{
  App *app = data;
  GlScene *scene;
  GlCamera cam;
  Drag drag = { 0 };
  GError *err = NULL;
  gint64 start, next;
  guint64 frame = 0, applied = 0, refused = 0;

  if (!vg_egl_make_current (&app->egl, TRUE)) {
    g_printerr ("vizstream-gldemo: cannot make the EGL context current\n");
    return NULL;
  }
  scene = gl_scene_new (app->egl.gst_context, app->width, app->height, app->cubes, &err);
  if (!scene) {
    g_printerr ("vizstream-gldemo: %s\n", err->message);
    g_error_free (err);
    vg_egl_make_current (&app->egl, FALSE);
    return NULL;
  }
  gl_camera_reset (&cam);
  start = next = g_get_monotonic_time ();
  while (!g_atomic_int_get (&app->stop)) {
    gboolean ok = FALSE;
    GArray *batch;

    g_mutex_lock (&app->lock);
    batch = app->events;
    app->events = g_array_new (FALSE, FALSE, sizeof (VzEvent));
    g_mutex_unlock (&app->lock);
    for (guint i = 0; i < batch->len; i++) {
      VzEvent *e = &g_array_index (batch, VzEvent, i);
      if (app->print_events) {
        char json[512];
        if (vz_event_to_json (e, json, sizeof json) > 0) {
          puts (json);
          fflush (stdout);
        }
      }
      apply_event (app, e, &cam, &drag);
      applied++;
    }
    g_array_free (batch, TRUE);

    gl_scene_render (scene, &cam, (next - start) / 1e6, frame, applied);
    /* queues the readback and returns: the next frame renders while the
     * pipeline takes this one */
    g_signal_emit_by_name (app->src, "submit-fbo", gl_scene_fbo (scene),
        app->width, app->height, &ok);
    refused += !ok;
    frame++;

    next += G_USEC_PER_SEC / app->fps;
    if (g_get_monotonic_time () > next + G_USEC_PER_SEC)
      next = g_get_monotonic_time ();   /* far behind: do not race */
    while (g_get_monotonic_time () < next && !g_atomic_int_get (&app->stop))
      g_usleep (MIN (next - g_get_monotonic_time (), 10000));
  }
  gl_scene_free (scene);
  vg_egl_make_current (&app->egl, FALSE);
  return NULL;
}

/* The embedded server asks for its source: glreadbacksrc with our context;
 * the render loop starts with it. */
static GstElement *
make_source (gpointer data, GError ** error)
{
  App *app = data;
  GstElement *src = gst_element_factory_make ("glreadbacksrc", NULL);

  if (!src) {
    g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
        "the glreadbacksrc element is not found: set GST_PLUGIN_PATH to "
        "gst-vizstream's ext/gl plugin directory, or install it");
    return NULL;
  }
  gst_util_set_object_arg (G_OBJECT (src), "mode", "app");
  g_object_set (src, "framerate", app->fps, 1, NULL);
  vg_egl_give_to (&app->egl, src);
  app->src = gst_object_ref (src);
  app->thread = g_thread_new ("render", render_thread, app);
  return src;
}

static gboolean
take_option (int *argc, char **argv, int i, const char *name, char **value)
{
  size_t n = strlen (name);
  if (strncmp (argv[i], name, n) != 0)
    return FALSE;
  if (argv[i][n] == '=') {
    *value = argv[i] + n + 1;
    memmove (argv + i, argv + i + 1, (*argc - i) * sizeof *argv);
    *argc -= 1;
    return TRUE;
  }
  if (argv[i][n] == '\0' && i + 1 < *argc) {
    *value = argv[i + 1];
    memmove (argv + i, argv + i + 2, (*argc - i - 1) * sizeof *argv);
    *argc -= 2;
    return TRUE;
  }
  return FALSE;
}

int
main (int argc, char **argv)
{
  App app = { 0 };
  VsEmbed embed = { make_source, on_input, &app };
  GError *err = NULL;
  int status;

  app.width = 1280;
  app.height = 720;
  app.fps = 30;
  app.cubes = 6;
  for (int i = 1; i < argc;) {
    char *v = NULL;
    if (take_option (&argc, argv, i, "--size", &v)) {
      if (sscanf (v, "%dx%d", &app.width, &app.height) != 2 || app.width < 16
          || app.height < 16 || app.width > 4096 || app.height > 4096) {
        g_printerr ("vizstream-gldemo: --size wants WxH (16..4096)\n");
        return 2;
      }
    } else if (take_option (&argc, argv, i, "--fps", &v)) {
      app.fps = atoi (v);
      if (app.fps < 1 || app.fps > 240) {
        g_printerr ("vizstream-gldemo: --fps wants 1..240\n");
        return 2;
      }
    } else if (take_option (&argc, argv, i, "--cubes", &v)) {
      app.cubes = (guint) atoi (v);
      if (app.cubes < 1 || app.cubes > 64) {
        g_printerr ("vizstream-gldemo: --cubes wants 1..64\n");
        return 2;
      }
    } else if (g_str_equal (argv[i], "--print-events")) {
      app.print_events = TRUE;
      memmove (argv + i, argv + i + 1, (argc - i) * sizeof *argv);
      argc--;
    } else {
      i++;
    }
  }

  setvbuf (stdout, NULL, _IOLBF, 0);
  gst_init (&argc, &argv);
  if (!vg_egl_open (&app.egl, &err)) {
    g_printerr ("vizstream-gldemo: no headless OpenGL: %s\n", err->message);
    return 1;
  }
  g_mutex_init (&app.lock);
  app.events = g_array_new (FALSE, FALSE, sizeof (VzEvent));

  status = vs_server_main (argc, argv, &embed);

  g_atomic_int_set (&app.stop, 1);
  if (app.thread)
    g_thread_join (app.thread);
  gst_clear_object (&app.src);
  g_array_free (app.events, TRUE);
  vg_egl_close (&app.egl);
  return status;
}
