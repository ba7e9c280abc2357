/* glreadbacksrc on Mesa's llvmpipe (GST_GL_WINDOW=egl-device, set by
 * meson): pixels, the ring's ordering, GL memory, context sharing, errors.
 *
 * The pattern (the element's scene, and what the tests draw as the
 * "application"): frame n has background (3n mod 256, 64, 160), a white
 * bar w/16 wide at x = 8n mod w, a red block at rows 8..8+h/8, columns
 * 0..w/8, and n's 32 bits in rows 0..7 (block i*w/32.., white = 1).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/app/gstappsink.h>
#include <gst/gl/gl.h>
#include <gst/gl/gstglfuncs.h>
#include <gst/video/video.h>
#include <string.h>

#include "vz-check.h"
#include "glscene.h"
#include "scene.h"

#define W 320
#define H 240

/* ---- the pattern ---- */

static void
draw_pattern (const GstGLFuncs * gl, gint w, gint h, guint64 n)
{
#define Y(row, rows) (h - (row) - (rows))
  gl->Disable (GL_SCISSOR_TEST);
  gl->Viewport (0, 0, w, h);
  gl->ClearColor ((n * 3 % 256) / 255.0f, 64 / 255.0f, 160 / 255.0f, 1.0f);
  gl->Clear (GL_COLOR_BUFFER_BIT);
  gl->Enable (GL_SCISSOR_TEST);
  gl->Scissor ((gint) (n * 8 % (guint) w), 0, MAX (w / 16, 1), h);
  gl->ClearColor (1, 1, 1, 1);
  gl->Clear (GL_COLOR_BUFFER_BIT);
  gl->Scissor (0, Y (8, h / 8), w / 8, h / 8);
  gl->ClearColor (1, 0, 0, 1);
  gl->Clear (GL_COLOR_BUFFER_BIT);
  for (gint i = 0; i < 32; i++) {
    gfloat v = (n >> i) & 1 ? 1.0f : 0.0f;
    gl->Scissor (i * w / 32, Y (0, 8), (i + 1) * w / 32 - i * w / 32, 8);
    gl->ClearColor (v, v, v, 1);
    gl->Clear (GL_COLOR_BUFFER_BIT);
  }
  gl->Disable (GL_SCISSOR_TEST);
#undef Y
}

static const guint8 *
px (const guint8 * d, gint stride, gint x, gint y)
{
  return d + (gsize) stride * y + x * 4;
}

/* Decodes the frame number and checks every part of the pattern. */
static guint64
check_pattern (const guint8 * d, gint stride, gint w, gint h)
{
  guint64 n = 0;
  gint bar = 0, bx, bg_x;
  const guint8 *p;

  for (gint i = 0; i < 32; i++) {
    p = px (d, stride, i * w / 32 + w / 64, 4);
    fail_unless (p[0] == p[1] && p[1] == p[2] && (p[0] == 0 || p[0] == 255),
        "tag block %d is not black or white: %d,%d,%d", i, p[0], p[1], p[2]);
    if (p[0] == 255)
      n |= (guint64) 1 << i;
  }
  bx = (gint) (n * 8 % (guint) w);
  bar = MAX (w / 16, 1);
  p = px (d, stride, bx + bar / 2, h - 1 - 4);
  fail_unless (p[0] == 255 && p[1] == 255 && p[2] == 255,
      "frame %" G_GUINT64_FORMAT ": no white bar at x=%d (%d,%d,%d)", n,
      bx + bar / 2, p[0], p[1], p[2]);
  p = px (d, stride, w / 16, 8 + h / 16);
  fail_unless (p[0] == 255 && p[1] == 0 && p[2] == 0,
      "frame %" G_GUINT64_FORMAT ": the red block is not at the top left "
      "(%d,%d,%d): rows upside down?", n, p[0], p[1], p[2]);
  bg_x = (bx + w / 2) % w;
  p = px (d, stride, bg_x, h / 2 + h / 4);
  fail_unless (p[0] == n * 3 % 256 && p[1] == 64 && p[2] == 160 && p[3] == 255,
      "frame %" G_GUINT64_FORMAT ": background (%d,%d,%d,%d)", n, p[0], p[1],
      p[2], p[3]);
  return n;
}

static guint64
check_buffer (GstBuffer * buf, GstCaps * caps)
{
  GstVideoInfo info;
  GstVideoFrame frame;
  guint64 n;

  fail_unless (gst_video_info_from_caps (&info, caps));
  fail_unless_equals_string (gst_video_format_to_string
      (GST_VIDEO_INFO_FORMAT (&info)), "RGBA");
  fail_unless (gst_video_frame_map (&frame, &info, buf, GST_MAP_READ));
  n = check_pattern (GST_VIDEO_FRAME_PLANE_DATA (&frame, 0),
      GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0), GST_VIDEO_INFO_WIDTH (&info),
      GST_VIDEO_INFO_HEIGHT (&info));
  gst_video_frame_unmap (&frame);
  return n;
}

static GstBuffer *
pull_within (GstHarness * h, gint64 ms)
{
  gint64 end = g_get_monotonic_time () + slack (ms) * 1000;
  while (g_get_monotonic_time () < end) {
    GstBuffer *b = gst_harness_try_pull (h);
    if (b)
      return b;
    g_usleep (2000);
  }
  return NULL;
}

static GstStructure *
stats_of (GstElement * src)
{
  GstStructure *s = NULL;
  g_object_get (src, "stats", &s, NULL);
  return s;
}

static guint64
stat (GstElement * src, const gchar * name)
{
  GstStructure *s = stats_of (src);
  guint64 v = 0;
  fail_unless (gst_structure_get_uint64 (s, name, &v));
  gst_structure_free (s);
  return v;
}

/* ---- the element's own scene ---- */

GST_START_TEST (test_scene_system_memory)
{
  GstHarness *h = gst_harness_new_parse ("glreadbacksrc ! capsfilter "
      "caps=video/x-raw,format=RGBA,width=320,height=240,framerate=60/1");
  guint64 last = 0;
  GstClockTime last_pts = 0;

  gst_harness_use_systemclock (h);
  gst_harness_play (h);
  for (gint i = 0; i < 12; i++) {
    GstBuffer *b = pull_within (h, 5000);
    GstCaps *caps = gst_pad_get_current_caps (h->sinkpad);
    guint64 n;
    fail_unless (b != NULL, "no frame %d", i);
    n = check_buffer (b, caps);
    if (i > 0) {
      fail_unless (n > last, "frame %" G_GUINT64_FORMAT " after %"
          G_GUINT64_FORMAT, n, last);
      fail_unless (GST_BUFFER_PTS (b) > last_pts);
    }
    last = n;
    last_pts = GST_BUFFER_PTS (b);
    gst_caps_unref (caps);
    gst_buffer_unref (b);
  }
  gst_harness_teardown (h);
}

GST_END_TEST;

static GstPadProbeReturn
count_gl_memory (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER (info);
  gint *count = data;
  if (gst_buffer_n_memory (b) == 1 && gst_is_gl_memory (gst_buffer_peek_memory
          (b, 0)))
    g_atomic_int_inc (&count[0]);
  else
    g_atomic_int_inc (&count[1]);
  return GST_PAD_PROBE_OK;
}

/* GL memory straight to the next GL element, no readback: the texture
 * holds the picture right side up by GstGL's rules (gldownload shows). */
GST_START_TEST (test_scene_gl_memory_passthrough)
{
  GstHarness *h = gst_harness_new_parse ("glreadbacksrc name=s ! capsfilter "
      "caps=\"video/x-raw(memory:GLMemory),width=320,height=240,"
      "framerate=60/1\" ! gldownload name=d");
  GstElement *d, *s;
  GstPad *pad;
  gint count[2] = { 0, 0 };

  gst_harness_set_sink_caps_str (h, "video/x-raw,format=RGBA");
  d = gst_bin_get_by_name (GST_BIN (h->element), "d");
  s = gst_bin_get_by_name (GST_BIN (h->element), "s");
  pad = gst_element_get_static_pad (d, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_gl_memory, count,
      NULL);
  gst_harness_play (h);
  for (gint i = 0; i < 6; i++) {
    GstBuffer *b = pull_within (h, 5000);
    GstCaps *caps = gst_pad_get_current_caps (h->sinkpad);
    fail_unless (b != NULL);
    check_buffer (b, caps);
    gst_caps_unref (caps);
    gst_buffer_unref (b);
  }
  fail_unless (g_atomic_int_get (&count[0]) >= 6);
  fail_unless_equals_int (g_atomic_int_get (&count[1]), 0);
  {
    GstStructure *st = stats_of (s);
    gboolean glmem = FALSE;
    gst_structure_get_boolean (st, "gl-memory", &glmem);
    fail_unless (glmem);
    gst_structure_free (st);
  }
  gst_object_unref (pad);
  gst_object_unref (d);
  gst_object_unref (s);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Stopped and started again and again (a server restarting its pipeline):
 * each run's scene context is a new one, and frames keep coming. */
GST_START_TEST (test_scene_restarts)
{
  GstElement *pipe = gst_parse_launch ("glreadbacksrc name=s ! "
      "video/x-raw,format=RGBA,width=160,height=120,framerate=60/1 ! "
      "appsink name=k sync=false", NULL);
  GstElement *s = gst_bin_get_by_name (GST_BIN (pipe), "s");
  GstElement *k = gst_bin_get_by_name (GST_BIN (pipe), "k");

  for (gint run = 0; run < 6; run++) {
    GstSample *sample;

    fail_unless (gst_element_set_state (pipe, GST_STATE_PLAYING) !=
        GST_STATE_CHANGE_FAILURE);
    sample = gst_app_sink_try_pull_sample (GST_APP_SINK (k),
        slack (5) * GST_SECOND);
    fail_unless (sample != NULL, "no frame in run %d", run);
    check_buffer (gst_sample_get_buffer (sample),
        gst_sample_get_caps (sample));
    gst_sample_unref (sample);
    fail_unless_equals_uint64 (stat (s, "submit-errors"), 0);
    fail_unless_equals_int (gst_element_set_state (pipe, GST_STATE_NULL),
        GST_STATE_CHANGE_SUCCESS);
  }
  gst_object_unref (k);
  gst_object_unref (s);
  gst_object_unref (pipe);
}

GST_END_TEST;

/* ---- an application's context ---- */

typedef struct
{
  GstGLDisplay *display;
  GstGLContext *ctx;
  GstElement *src;
  gint w, h;
  guint fbo, tex;
  gint heavy;                   /* blits of a big texture before submit */
  gboolean no_overwrite;        /* stop after the hand-over */
  guint big_fbo, big_tex;
  /* one call */
  guint64 n;
  gboolean use_texture;
  gboolean ok;
  gint64 submit_us;
} App;

static void
app_setup_cb (GstGLContext * ctx, gpointer data)
{
  App *app = data;
  const GstGLFuncs *gl = ctx->gl_vtable;

  gl->GenTextures (1, &app->tex);
  gl->BindTexture (GL_TEXTURE_2D, app->tex);
  gl->TexImage2D (GL_TEXTURE_2D, 0, GL_RGBA8, app->w, app->h, 0, GL_RGBA,
      GL_UNSIGNED_BYTE, NULL);
  gl->BindTexture (GL_TEXTURE_2D, 0);
  gl->GenFramebuffers (1, &app->fbo);
  gl->BindFramebuffer (GL_FRAMEBUFFER, app->fbo);
  gl->FramebufferTexture2D (GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0,
      GL_TEXTURE_2D, app->tex, 0);
  gl->GenTextures (1, &app->big_tex);
  gl->BindTexture (GL_TEXTURE_2D, app->big_tex);
  gl->TexImage2D (GL_TEXTURE_2D, 0, GL_RGBA8, 2048, 2048, 0, GL_RGBA,
      GL_UNSIGNED_BYTE, NULL);
  gl->BindTexture (GL_TEXTURE_2D, 0);
  gl->GenFramebuffers (1, &app->big_fbo);
  gl->BindFramebuffer (GL_FRAMEBUFFER, app->big_fbo);
  gl->FramebufferTexture2D (GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0,
      GL_TEXTURE_2D, app->big_tex, 0);
  gl->BindFramebuffer (GL_FRAMEBUFFER, 0);
}

static void
app_teardown_cb (GstGLContext * ctx, gpointer data)
{
  App *app = data;
  const GstGLFuncs *gl = ctx->gl_vtable;
  gl->DeleteFramebuffers (1, &app->fbo);
  gl->DeleteTextures (1, &app->tex);
  gl->DeleteFramebuffers (1, &app->big_fbo);
  gl->DeleteTextures (1, &app->big_tex);
}

/* The render loop's turn: draw frame n, hand it over, and go on drawing
 * at once - over the same framebuffer. */
static void
app_frame_cb (GstGLContext * ctx, gpointer data)
{
  App *app = data;
  const GstGLFuncs *gl = ctx->gl_vtable;
  gint64 t;

  gl->BindFramebuffer (GL_FRAMEBUFFER, app->fbo);
  draw_pattern (gl, app->w, app->h, app->n);
  for (gint i = 0; i < app->heavy; i++) {
    /* GPU work that is still running when the frame is handed over: a
     * scaled blit of a big texture, then the pattern again on top */
    gl->BindFramebuffer (GL_READ_FRAMEBUFFER, app->big_fbo);
    gl->BindFramebuffer (GL_DRAW_FRAMEBUFFER, app->fbo);
    gl->BlitFramebuffer (0, 0, 2048, 2048, 0, 0, app->w, app->h, GL_COLOR_BUFFER_BIT,
        GL_LINEAR);
    gl->BindFramebuffer (GL_FRAMEBUFFER, app->fbo);
  }
  if (app->heavy)
    draw_pattern (gl, app->w, app->h, app->n);
  t = g_get_monotonic_time ();
  if (app->use_texture) {
    gl->BindFramebuffer (GL_FRAMEBUFFER, 0);
    g_signal_emit_by_name (app->src, "submit-texture", app->tex, app->w, app->h,
        &app->ok);
  } else {
    g_signal_emit_by_name (app->src, "submit-fbo", app->fbo, app->w, app->h,
        &app->ok);
  }
  app->submit_us = g_get_monotonic_time () - t;
  if (app->no_overwrite)
    return;
  /* the loop goes on: the next drawing overwrites the framebuffer */
  gl->BindFramebuffer (GL_FRAMEBUFFER, app->fbo);
  draw_pattern (gl, app->w, app->h, app->n + 1000);
  gl->BindFramebuffer (GL_FRAMEBUFFER, 0);
}

static void
app_init_size (App * app, gint w, gint h)
{
  GError *err = NULL;

  memset (app, 0, sizeof *app);
  app->w = w;
  app->h = h;
  app->display = gst_gl_display_new ();
  app->ctx = gst_gl_context_new (app->display);
  fail_unless (gst_gl_context_create (app->ctx, NULL, &err), "%s",
      err ? err->message : "?");
  gst_gl_context_thread_add (app->ctx, app_setup_cb, app);
}

static void
app_resize_cb (GstGLContext * ctx, gpointer data)
{
  App *app = data;
  const GstGLFuncs *gl = ctx->gl_vtable;

  gl->BindTexture (GL_TEXTURE_2D, app->tex);
  gl->TexImage2D (GL_TEXTURE_2D, 0, GL_RGBA8, app->w, app->h, 0, GL_RGBA,
      GL_UNSIGNED_BYTE, NULL);
  gl->BindTexture (GL_TEXTURE_2D, 0);
}

/* The application's window changes size: so does its framebuffer. */
static void
app_resize (App * app, gint w, gint h)
{
  app->w = w;
  app->h = h;
  gst_gl_context_thread_add (app->ctx, app_resize_cb, app);
}

static void
app_init (App * app)
{
  app_init_size (app, W, H);
}

static void
app_give (App * app, GstElement * src)
{
  GstContext *c = gst_context_new (GST_GL_DISPLAY_CONTEXT_TYPE, TRUE);
  gst_context_set_gl_display (c, app->display);
  gst_element_set_context (src, c);
  gst_context_unref (c);
  c = gst_context_new ("gst.gl.app_context", TRUE);
  gst_structure_set (gst_context_writable_structure (c), "context",
      GST_TYPE_GL_CONTEXT, app->ctx, NULL);
  gst_element_set_context (src, c);
  gst_context_unref (c);
  app->src = src;
}

static gboolean
app_submit (App * app, guint64 n)
{
  app->n = n;
  gst_gl_context_thread_add (app->ctx, app_frame_cb, app);
  return app->ok;
}

static void
app_clear (App * app)
{
  if (app->ctx) {
    gst_gl_context_thread_add (app->ctx, app_teardown_cb, app);
    gst_clear_object (&app->ctx);
  }
  gst_clear_object (&app->display);
}

static GstHarness *
app_harness (App * app, const gchar * sink_caps)
{
  GstElement *src = gst_element_factory_make ("glreadbacksrc", NULL);
  GstHarness *h;

  fail_unless (src != NULL);
  gst_util_set_object_arg (G_OBJECT (src), "mode", "app");
  app_give (app, src);
  h = gst_harness_new_with_element (src, NULL, "src");
  gst_object_unref (src);
  gst_harness_set_sink_caps_str (h, sink_caps);
  gst_harness_play (h);
  return h;
}

static void
app_frames (gboolean use_texture)
{
  App app;
  GstHarness *h;
  GstGLContext *ectx = NULL;

  app_init (&app);
  app.use_texture = use_texture;
  h = app_harness (&app, "video/x-raw,format=RGBA");
  g_object_get (app.src, "context", &ectx, NULL);
  fail_unless (ectx != NULL);
  fail_unless (gst_gl_context_can_share (ectx, app.ctx),
      "the element's context is not shared with the application's");
  gst_object_unref (ectx);

  for (guint64 n = 1; n <= 8; n++) {
    GstBuffer *b;
    GstCaps *caps;
    fail_unless (app_submit (&app, n * 7));
    b = pull_within (h, 5000);
    fail_unless (b != NULL, "frame %" G_GUINT64_FORMAT " did not come", n);
    caps = gst_pad_get_current_caps (h->sinkpad);
    /* what was drawn at the hand-over, not what came after it */
    fail_unless_equals_uint64 (check_buffer (b, caps), n * 7);
    fail_unless_equals_uint64 (GST_BUFFER_OFFSET (b), n);
    gst_caps_unref (caps);
    gst_buffer_unref (b);
  }
  fail_unless_equals_uint64 (stat (app.src, "submitted"), 8);
  fail_unless_equals_uint64 (stat (app.src, "pushed"), 8);
  fail_unless_equals_uint64 (stat (app.src, "submit-errors"), 0);
  gst_harness_teardown (h);
  app_clear (&app);
}

GST_START_TEST (test_app_fbo_shared_context)
{
  app_frames (FALSE);
}

GST_END_TEST;

GST_START_TEST (test_app_texture)
{
  app_frames (TRUE);
}

GST_END_TEST;

/* Hands over frames until 6 of them come out at w x h (the first one of
 * a new size renegotiates and may be dropped); returns how many came. */
static guint64
app_frames_of_size (App * app, GstHarness * h, gint w, gint ht)
{
  guint64 got = 0;

  for (guint64 n = 1; n <= 40 && got < 6; n++) {
    GstBuffer *b;
    fail_unless (app_submit (app, n));
    b = pull_within (h, 1000);
    if (b) {
      GstCaps *caps = gst_pad_get_current_caps (h->sinkpad);
      GstVideoInfo info;
      fail_unless (gst_video_info_from_caps (&info, caps));
      fail_unless_equals_int (GST_VIDEO_INFO_WIDTH (&info), w);
      fail_unless_equals_int (GST_VIDEO_INFO_HEIGHT (&info), ht);
      fail_unless_equals_uint64 (check_buffer (b, caps), n);
      gst_caps_unref (caps);
      gst_buffer_unref (b);
      got++;
    }
  }
  return got;
}

/* The window changes size twice: the caps follow, every frame is whole. */
GST_START_TEST (test_app_resize)
{
  App app;
  GstHarness *h;

  app_init (&app);
  h = app_harness (&app, "video/x-raw,format=RGBA");
  fail_unless (app_frames_of_size (&app, h, W, H) >= 6);
  app_resize (&app, 640, 360);
  fail_unless (app_frames_of_size (&app, h, 640, 360) >= 6);
  app_resize (&app, 200, 100);
  fail_unless (app_frames_of_size (&app, h, 200, 100) >= 6);
  fail_unless_equals_uint64 (stat (app.src, "submit-errors"), 0);
  gst_harness_teardown (h);
  app_clear (&app);
}

GST_END_TEST;

/* mode=app into a GL element: the frames are blitted into GstGL textures
 * (no readback), the first one after the size is known. */
GST_START_TEST (test_app_gl_memory_passthrough)
{
  App app;
  GstHarness *h;
  GstElement *src, *d;
  GstPad *pad;
  gint count[2] = { 0, 0 };
  guint64 got = 0;

  app_init (&app);
  h = gst_harness_new_parse ("glreadbacksrc name=s mode=app ! capsfilter "
      "caps=\"video/x-raw(memory:GLMemory)\" ! gldownload name=d");
  src = gst_bin_get_by_name (GST_BIN (h->element), "s");
  d = gst_bin_get_by_name (GST_BIN (h->element), "d");
  app_give (&app, src);
  gst_harness_set_sink_caps_str (h, "video/x-raw,format=RGBA");
  pad = gst_element_get_static_pad (d, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_gl_memory, count,
      NULL);
  gst_harness_play (h);

  got = app_frames_of_size (&app, h, 320, 240);
  fail_unless (got >= 6, "%" G_GUINT64_FORMAT " GL-memory frames came", got);
  /* the window grows: new caps, new textures */
  app_resize (&app, 480, 272);
  got = app_frames_of_size (&app, h, 480, 272);
  fail_unless (got >= 6, "%" G_GUINT64_FORMAT " frames after the resize",
      got);
  fail_unless (g_atomic_int_get (&count[0]) >= 12);
  fail_unless_equals_int (g_atomic_int_get (&count[1]), 0);
  gst_object_unref (pad);
  gst_object_unref (d);
  gst_object_unref (src);
  gst_harness_teardown (h);
  app_clear (&app);
}

GST_END_TEST;

/* The pipeline stops taking frames: the render loop must not notice. And
 * with GPU work still running at the hand-over, the pipeline waits for
 * the fence before it reads (fence-waits) and gets the finished picture. */
GST_START_TEST (test_ring_never_stalls)
{
  App app;
  GstElement *pipe, *src, *sink;
  GstSample *sample;
  gint64 worst = 0;
  guint64 n_last = 0;

  /* full HD: reading it back takes long enough to be seen running */
  app_init_size (&app, 1920, 1080);
  pipe = gst_parse_launch ("glreadbacksrc name=s mode=app ring-size=3 ! "
      "capsfilter caps=video/x-raw,format=RGBA ! appsink name=k max-buffers=1 drop=false "
      "sync=false", NULL);
  src = gst_bin_get_by_name (GST_BIN (pipe), "s");
  sink = gst_bin_get_by_name (GST_BIN (pipe), "k");
  app_give (&app, src);
  fail_unless (gst_element_set_state (pipe, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);

  /* nobody pulls: appsink holds one, the streaming thread blocks in push
   * (no extra GPU work: on llvmpipe glReadPixels waits for the frame's own
   * rendering, which is not what is measured here) */
  for (guint64 n = 1; n <= 30; n++) {
    fail_unless (app_submit (&app, n));
    worst = MAX (worst, app.submit_us);
    n_last = n;
  }
  GST_INFO ("slowest submit %" G_GINT64_FORMAT " us", worst);
  fail_unless (worst < slack (250000), "a submit took %" G_GINT64_FORMAT
      " us", worst);
  fail_unless (stat (src, "dropped") > 0);

  /* now the pipeline takes them: what comes is whole, the newest last */
  for (gint i = 0; i < 3; i++) {
    GstBuffer *b;
    GstCaps *caps;
    guint64 n;
    sample = gst_app_sink_try_pull_sample (GST_APP_SINK (sink),
        slack (5) * GST_SECOND);
    fail_unless (sample != NULL);
    b = gst_sample_get_buffer (sample);
    caps = gst_sample_get_caps (sample);
    n = check_buffer (b, caps);
    fail_unless (n <= n_last);
    gst_sample_unref (sample);
  }
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (src);
  gst_object_unref (sink);
  gst_object_unref (pipe);
  app_clear (&app);
}

GST_END_TEST;

/* Each full-HD frame is wanted by the pipeline as soon as it is handed
 * over, after heavy GPU work: it must come whole. */
GST_START_TEST (test_full_hd_frames_whole)
{
  App app;
  GstHarness *h;

  app_init_size (&app, 1920, 1080);
  /* drawing over the framebuffer at once would make llvmpipe finish the
   * readback first (it orders writes after reads): not here */
  app.no_overwrite = TRUE;
  h = app_harness (&app, "video/x-raw,format=RGBA");
  for (guint64 n = 1; n <= 12; n++) {
    GstBuffer *b;
    GstCaps *caps;
    fail_unless (app_submit (&app, n));
    b = pull_within (h, 5000);
    fail_unless (b != NULL);
    caps = gst_pad_get_current_caps (h->sinkpad);
    fail_unless_equals_uint64 (check_buffer (b, caps), n);
    gst_caps_unref (caps);
    gst_buffer_unref (b);
  }
  /* On llvmpipe the readback of such a frame is usually complete before
   * the pipeline looks (fence-waits stays 0 here; the bench, with a real
   * scene, sees waits on most frames): logged, not asserted. */
  GST_INFO ("fence waits: %" G_GUINT64_FORMAT, stat (app.src, "fence-waits"));
  gst_harness_teardown (h);
  app_clear (&app);
}

GST_END_TEST;

/* ---- a real scene: the pipeline waits for the GPU ---- */

#define MAX_SCENE_FRAMES 40

typedef struct
{
  GstGLContext *ctx;
  GstElement *src;
  GlScene *scene, *side;
  gint w, h;
  guint64 n;
  gboolean ok;
  GError *error;
  /* the application's own fence after each frame's offscreen pass */
  GLsync side_done[MAX_SCENE_FRAMES + 1];
  /* pushed while that pass was still running on the GPU */
  gint early, checked;
  guint64 check_seq;
} SceneApp;

static void
scene_app_new_cb (GstGLContext * ctx, gpointer data)
{
  SceneApp *a = data;
  a->scene = gl_scene_new (ctx, a->w, a->h, 2, &a->error);
  if (a->scene)
    a->side = gl_scene_new (ctx, 1920, 1080, 16, &a->error);
}

static void
scene_app_free_cb (GstGLContext * ctx, gpointer data)
{
  SceneApp *a = data;
  for (guint i = 0; i <= MAX_SCENE_FRAMES; i++)
    if (a->side_done[i])
      ctx->gl_vtable->DeleteSync (a->side_done[i]);
  if (a->side)
    gl_scene_free (a->side);
  if (a->scene)
    gl_scene_free (a->scene);
}

/* The loop: an offscreen pass (a shadow map, say: 4096 lit cubes at
 * 1920x1080 into another framebuffer), then frame n into the one handed
 * over, the hand-over, and straight on to the next frame over it. The
 * offscreen pass is still on the GPU at the hand-over: the frame's fence
 * comes after it. */
static void
scene_app_frame_cb (GstGLContext * ctx, gpointer data)
{
  SceneApp *a = data;
  const GstGLFuncs *gl = ctx->gl_vtable;
  GlCamera cam;

  gl_camera_reset (&cam);
  gl_scene_render (a->side, &cam, a->n / 30.0, a->n, 0);
  a->side_done[a->n] = gl->FenceSync (GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
  gl->Flush ();
  gl_scene_render (a->scene, &cam, a->n / 30.0, a->n, 0);
  g_signal_emit_by_name (a->src, "submit-fbo", gl_scene_fbo (a->scene), a->w,
      a->h, &a->ok);
  gl_scene_render (a->scene, &cam, a->n / 30.0, a->n + 1000, 0);
}

static void
side_check_cb (GstGLContext * ctx, gpointer data)
{
  SceneApp *a = data;
  GLsync f = a->check_seq <= MAX_SCENE_FRAMES ? a->side_done[a->check_seq] :
      NULL;
  a->checked++;
  if (!f || ctx->gl_vtable->ClientWaitSync (f, 0, 0) == GL_TIMEOUT_EXPIRED)
    a->early++;
}

/* At the moment a frame leaves the element, everything the application
 * queued before handing it over has run on the GPU. */
static GstPadProbeReturn
side_done_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  SceneApp *a = data;
  a->check_seq = GST_BUFFER_OFFSET (GST_PAD_PROBE_INFO_BUFFER (info));
  gst_gl_context_thread_add (a->ctx, side_check_cb, a);
  return GST_PAD_PROBE_OK;
}

/* The demo's frame tag (examples/demo/scene.h): 24 bits and a check byte
 * in cell row 1; -1 when a cell is not clean black or white or the check
 * does not match. */
static gint64
read_demo_tag (GstBuffer * buf, GstCaps * caps)
{
  GstVideoInfo info;
  GstVideoFrame f;
  guint cell;
  guint32 word = 0;
  gint64 n;

  fail_unless (gst_video_info_from_caps (&info, caps));
  fail_unless (gst_video_frame_map (&f, &info, buf, GST_MAP_READ));
  cell = tag_cell_size (GST_VIDEO_INFO_WIDTH (&info),
      GST_VIDEO_INFO_HEIGHT (&info));
  for (guint b = 0; b < TAG_BITS; b++) {
    const guint8 *p = px (GST_VIDEO_FRAME_PLANE_DATA (&f, 0),
        GST_VIDEO_FRAME_PLANE_STRIDE (&f, 0), cell * (b + 1) + cell / 2,
        cell + cell / 2);
    if (p[0] == 255 && p[1] == 255 && p[2] == 255)
      word |= 1u << b;
    else if (p[0] || p[1] || p[2]) {
      gst_video_frame_unmap (&f);
      return -1;
    }
  }
  gst_video_frame_unmap (&f);
  n = word & 0xffffff;
  return tag_check ((guint32) n) == word >> 24 ? n : -1;
}

/* The ring's promise: nothing leaves before its fence signalled, so
 * when a frame is pushed everything the application queued before the
 * hand-over has run on the GPU, and the picture is the one handed over,
 * not the one drawn over it afterwards.
 *
 * GL memory: the hand-over queues a blit, which Mesa's llvmpipe runs on
 * its rasterizer threads after the offscreen pass - the streaming thread
 * gets there first and must wait (fence-waits). System memory: llvmpipe
 * completes all queued work inside glReadPixels (into a PBO too), so the
 * fence is signalled by the time it is looked at; on a GPU it is not. */
static void
waits_for_fence (gboolean gl_memory)
{
  SceneApp a = { 0 };
  App app;
  GstHarness *h;
  GstElement *src;
  GstPad *pad;
  guint64 waits;

  app_init_size (&app, 16, 16);
  a.ctx = app.ctx;
  a.w = 640;
  a.h = 360;
  gst_gl_context_thread_add (a.ctx, scene_app_new_cb, &a);
  fail_unless (a.side != NULL, "%s", a.error ? a.error->message : "?");
  if (gl_memory)
    h = gst_harness_new_parse ("glreadbacksrc name=s mode=app ! capsfilter "
        "caps=\"video/x-raw(memory:GLMemory)\" ! gldownload");
  else
    h = gst_harness_new_parse ("glreadbacksrc name=s mode=app");
  src = gst_bin_get_by_name (GST_BIN (h->element), "s");
  app_give (&app, src);
  a.src = src;
  gst_harness_set_sink_caps_str (h, "video/x-raw,format=RGBA");
  pad = gst_element_get_static_pad (src, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, side_done_probe, &a,
      NULL);
  gst_harness_play (h);
  for (a.n = 1; a.n <= MAX_SCENE_FRAMES && a.checked < 12; a.n++) {
    GstBuffer *b;
    GstCaps *caps;
    gst_gl_context_thread_add (a.ctx, scene_app_frame_cb, &a);
    fail_unless (a.ok);
    /* GL memory: the first frame is read back while the caps are set */
    b = pull_within (h, a.n == 1 && gl_memory ? 1000 : 10000);
    if (!b && a.n == 1)
      continue;
    fail_unless (b != NULL, "frame %" G_GUINT64_FORMAT " did not come", a.n);
    caps = gst_pad_get_current_caps (h->sinkpad);
    fail_unless_equals_int64 (read_demo_tag (b, caps), (gint64) a.n);
    gst_caps_unref (caps);
    gst_buffer_unref (b);
  }
  waits = stat (src, "fence-waits");
  GST_INFO ("%d frames pushed, %" G_GUINT64_FORMAT " fence waits", a.checked,
      waits);
  fail_unless (a.checked >= 12);
  fail_unless_equals_int (a.early, 0);
  if (gl_memory)
    fail_unless (waits >= 1, "the pipeline found only %" G_GUINT64_FORMAT
        " of %d fences unsignalled: the GPU work before the hand-over did "
        "not run on", waits, a.checked);
  gst_object_unref (pad);
  gst_object_unref (src);
  gst_harness_teardown (h);
  gst_gl_context_thread_add (a.ctx, scene_app_free_cb, &a);
  app_clear (&app);
}

GST_START_TEST (test_waits_for_fence_gl_memory)
{
  waits_for_fence (TRUE);
}

GST_END_TEST;

GST_START_TEST (test_waits_for_fence_system_memory)
{
  waits_for_fence (FALSE);
}

GST_END_TEST;

/* ---- errors ---- */

static gchar *
error_text (GstElement * pipe, GstMessageType type)
{
  GstBus *bus = gst_element_get_bus (pipe);
  gchar *text = pop_message_text (bus, type, slack (10) * GST_SECOND);
  gst_object_unref (bus);
  return text;
}

GST_START_TEST (test_unsupported_format)
{
  GstElement *pipe = gst_parse_launch ("glreadbacksrc ! capsfilter name=f "
      "! fakesink", NULL);
  GstElement *f = gst_bin_get_by_name (GST_BIN (pipe), "f");
  GstCaps *nv12 = gst_caps_from_string ("video/x-raw,format=NV12");
  gchar *text;

  g_object_set (f, "caps", nv12, NULL);
  gst_caps_unref (nv12);
  gst_object_unref (f);

  gst_element_set_state (pipe, GST_STATE_PLAYING);
  text = error_text (pipe, GST_MESSAGE_ERROR);
  fail_unless (text != NULL);
  GST_INFO ("%s", text);
  fail_unless (strstr (text, "RGBA") && strstr (text, "videoconvert"), "%s",
      text);
  g_free (text);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (pipe);
}

GST_END_TEST;

static void
submit_cb (GstGLContext * ctx, gpointer data)
{
  App *app = data;
  g_signal_emit_by_name (app->src, "submit-fbo", app->fbo, W, H, &app->ok);
}

/* A context that is current but not shared, no context at all, a
 * framebuffer that is not one, a size that is not one: FALSE, a warning
 * that says what to do, and the element keeps running. */
GST_START_TEST (test_submit_errors)
{
  GstElement *pipe, *src;
  App other;
  gboolean ok = TRUE;
  gchar *text;

  pipe = gst_parse_launch ("glreadbacksrc name=s mode=app ! fakesink", NULL);
  src = gst_bin_get_by_name (GST_BIN (pipe), "s");
  /* not started yet */
  g_signal_emit_by_name (src, "submit-fbo", 0, W, H, &ok);
  fail_if (ok);
  text = error_text (pipe, GST_MESSAGE_WARNING);
  fail_unless (text && strstr (text, "not started"), "%s", text);
  g_free (text);

  gst_element_set_state (pipe, GST_STATE_PLAYING);
  gst_element_get_state (pipe, NULL, NULL, slack (5) * GST_SECOND);

  /* from a thread without a current context (the app's context lost) */
  ok = TRUE;
  g_signal_emit_by_name (src, "submit-fbo", 0, W, H, &ok);
  fail_if (ok);
  /* the first warning of this element was posted already: once only */
  fail_unless_equals_uint64 (stat (src, "submit-errors"), 0);

  /* from a context the element was never given */
  app_init (&other);
  other.src = src;
  gst_gl_context_thread_add (other.ctx, submit_cb, &other);
  fail_if (other.ok);

  /* bad size */
  ok = TRUE;
  g_signal_emit_by_name (src, "submit-fbo", 0, 0, H, &ok);
  fail_if (ok);
  fail_unless_equals_uint64 (stat (src, "submitted"), 0);
  app_clear (&other);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (src);
  gst_object_unref (pipe);
}

GST_END_TEST;

typedef struct
{
  GstElement *src;
  guint fbo;
  gboolean ok;
} BadFbo;

static void
bad_fbo_cb (GstGLContext * ctx, gpointer data)
{
  BadFbo *b = data;
  g_signal_emit_by_name (b->src, "submit-fbo", b->fbo, W, H, &b->ok);
}

GST_START_TEST (test_submit_incomplete_framebuffer)
{
  App app;
  GstHarness *h;
  BadFbo bad = { 0 };
  GstBus *bus;
  GstMessage *m;
  GError *err = NULL;

  app_init (&app);
  h = app_harness (&app, "video/x-raw,format=RGBA");
  bus = gst_bus_new ();
  gst_element_set_bus (app.src, bus);
  bad.src = app.src;
  bad.fbo = 4242;               /* not a framebuffer */
  bad.ok = TRUE;
  gst_gl_context_thread_add (app.ctx, bad_fbo_cb, &bad);
  fail_if (bad.ok);
  m = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  fail_unless (m != NULL);
  gst_message_parse_warning (m, &err, NULL);
  fail_unless (strstr (err->message, "4242") != NULL, "%s", err->message);
  g_error_free (err);
  gst_message_unref (m);
  /* and the next good frame still goes through */
  fail_unless (app_submit (&app, 5));
  {
    GstBuffer *b = pull_within (h, 5000);
    GstCaps *caps = gst_pad_get_current_caps (h->sinkpad);
    fail_unless (b != NULL);
    fail_unless_equals_uint64 (check_buffer (b, caps), 5);
    gst_caps_unref (caps);
    gst_buffer_unref (b);
  }
  gst_element_set_bus (app.src, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  app_clear (&app);
}

GST_END_TEST;

/* The application's context goes away under a running pipeline: the
 * element keeps running (no crash, no frame), stops cleanly. */
GST_START_TEST (test_app_context_destroyed)
{
  App app;
  GstHarness *h;
  GstBuffer *b;

  app_init (&app);
  h = app_harness (&app, "video/x-raw,format=RGBA");
  fail_unless (app_submit (&app, 3));
  b = pull_within (h, 5000);
  fail_unless (b != NULL);
  gst_buffer_unref (b);
  fail_unless (app_submit (&app, 4));
  app_clear (&app);             /* destroys the context */
  b = pull_within (h, 2000);    /* frame 4 was fenced and flushed: it comes */
  if (b) {
    GstCaps *caps = gst_pad_get_current_caps (h->sinkpad);
    fail_unless_equals_uint64 (check_buffer (b, caps), 4);
    gst_caps_unref (caps);
    gst_buffer_unref (b);
  }
  fail_unless (pull_within (h, 300) == NULL);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* No GL at all: a clear error naming the way out. */
GST_START_TEST (test_no_gl)
{
  GstElement *pipe;
  gchar *text;

  g_setenv ("GST_GL_WINDOW", "x11", TRUE);
  g_setenv ("GST_GL_PLATFORM", "glx", TRUE);
  g_setenv ("DISPLAY", ":4242", TRUE);
  pipe = gst_parse_launch ("glreadbacksrc ! fakesink", NULL);
  gst_element_set_state (pipe, GST_STATE_PLAYING);
  text = error_text (pipe, GST_MESSAGE_ERROR);
  fail_unless (text != NULL);
  GST_INFO ("%s", text);
  fail_unless (strstr (text, "OpenGL") && strstr (text, "egl-device"), "%s",
      text);
  g_free (text);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (pipe);
}

GST_END_TEST;

static Suite *
glreadbacksrc_suite (void)
{
  Suite *s = suite_create ("glreadbacksrc");
  TCase *tc = tcase_create ("scene");
  TCase *ta = tcase_create ("app");
  TCase *te = tcase_create ("errors");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_scene_system_memory);
  tcase_add_test (tc, test_scene_gl_memory_passthrough);
  tcase_add_test (tc, test_scene_restarts);
  suite_add_tcase (s, ta);
  tcase_add_test (ta, test_app_fbo_shared_context);
  tcase_add_test (ta, test_app_texture);
  tcase_add_test (ta, test_app_gl_memory_passthrough);
  tcase_add_test (ta, test_app_resize);
  tcase_add_test (ta, test_waits_for_fence_gl_memory);
  tcase_add_test (ta, test_waits_for_fence_system_memory);
  tcase_add_test (ta, test_ring_never_stalls);
  tcase_add_test (ta, test_full_hd_frames_whole);
  tcase_add_test (ta, test_app_context_destroyed);
  suite_add_tcase (s, te);
  tcase_add_test (te, test_unsupported_format);
  tcase_add_test (te, test_submit_errors);
  tcase_add_test (te, test_submit_incomplete_framebuffer);
  tcase_add_test (te, test_no_gl);
  return s;
}

GST_CHECK_MAIN (glreadbacksrc);
