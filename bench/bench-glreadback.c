/* bench-glreadback: what streaming costs a GL render loop. One run, the
 * same scene and loop three ways, at each size:
 *   off    render only;
 *   async  render + glreadbacksrc's submit-fbo (glReadPixels into a PBO of
 *          the ring + fence; the pipeline, glreadbacksrc ! system-memory
 *          caps ! fakesink, maps it and copies);
 *   sync   render + glReadPixels into memory + the same copy into a pooled
 *          buffer pushed to appsrc ! fakesink (what an application does
 *          without glreadbacksrc).
 * The loop keeps one frame in flight (it waits for the previous frame's
 * fence, as a swap would), and prints frames per second, the time the
 * loop spends in the hand-over, and the ratios.
 *
 *   bench-glreadback [--frames N] [--cubes N] [--rate FPS]
 *                    [--sizes 1280x720,1920x1080]
 *                    [--only async|sync]   (and off: for a profiler)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <string.h>

#include <gst/gst.h>
#include <gst/app/gstappsrc.h>

#include "egl-headless.h"
#include "glscene.h"

#ifndef GL_SYNC_GPU_COMMANDS_COMPLETE
#define GL_SYNC_GPU_COMMANDS_COMPLETE 0x9117
#endif
#ifndef GL_SYNC_FLUSH_COMMANDS_BIT
#define GL_SYNC_FLUSH_COMMANDS_BIT 0x00000001
#endif

typedef enum { MODE_OFF, MODE_ASYNC, MODE_SYNC, N_MODES } Mode;
static const char *mode_names[] = { "off", "async", "sync" };
#define ELEMENT_MODE(m) ((m) == MODE_ASYNC)

typedef struct
{
  double fps;
  double handover_ms;           /* mean time in submit / readpixels+push */
  guint64 pushed, dropped, fence_waits;
} Result;

static Result
run (VgEgl * egl, GlScene * scene, int w, int h, Mode mode, int frames,
    int rate)
{
  const GstGLFuncs *gl = egl->gst_context->gl_vtable;
  GstElement *pipe = NULL, *src = NULL;
  GstBufferPool *pool = NULL;
  GLsync prev = NULL;
  GlCamera cam;
  guint8 *pixels = NULL;
  gint64 t0 = 0, spent = 0, due = 0;
  Result r = { 0 };
  gsize row = (gsize) w * 4;

  gl_camera_reset (&cam);
  if (ELEMENT_MODE (mode)) {
    /* system memory, as an encoder takes it (fakesink alone would take
     * GL memory: no readback at all) */
    pipe = gst_parse_launch ("glreadbacksrc name=src mode=app ring-size=3 ! "
        "capsfilter caps=video/x-raw,format=RGBA ! fakesink sync=false",
        NULL);
    src = gst_bin_get_by_name (GST_BIN (pipe), "src");
    vg_egl_give_to (egl, src);
  } else if (mode == MODE_SYNC) {
    GstCaps *caps = gst_caps_new_simple ("video/x-raw", "format",
        G_TYPE_STRING, "RGBA", "width", G_TYPE_INT, w, "height", G_TYPE_INT,
        h, "framerate", GST_TYPE_FRACTION, 0, 1, NULL);
    pipe = gst_parse_launch ("appsrc name=src is-live=true format=time "
        "do-timestamp=true ! fakesink sync=false", NULL);
    src = gst_bin_get_by_name (GST_BIN (pipe), "src");
    g_object_set (src, "caps", caps, NULL);
    /* buffers from a pool, as glreadbacksrc's are */
    pool = gst_buffer_pool_new ();
    {
      GstStructure *config = gst_buffer_pool_get_config (pool);
      gst_buffer_pool_config_set_params (config, caps, row * h, 4, 0);
      gst_buffer_pool_set_config (pool, config);
      gst_buffer_pool_set_active (pool, TRUE);
    }
    gst_caps_unref (caps);
    pixels = g_malloc (row * h);
  }
  if (pipe) {
    /* the loop's thread has the context current: GstGL must not think
     * its own context is; release while the pipeline starts */
    vg_egl_make_current (egl, FALSE);
    gst_element_set_state (pipe, GST_STATE_PLAYING);
    gst_element_get_state (pipe, NULL, NULL, 5 * GST_SECOND);
    vg_egl_make_current (egl, TRUE);
  }

  /* warm-up frames, then the timed ones */
  for (int i = -10; i < frames; i++) {
    gint64 a;
    if (i == 0)
      t0 = due = g_get_monotonic_time ();
    gl_scene_render (scene, &cam, i / 60.0, (guint64) (i + 10), 0);
    a = g_get_monotonic_time ();
    if (ELEMENT_MODE (mode)) {
      gboolean ok;
      g_signal_emit_by_name (src, "submit-fbo", gl_scene_fbo (scene), w, h,
          &ok);
    } else if (mode == MODE_SYNC) {
      GstBuffer *buf = NULL;
      GstMapInfo map;
      gst_buffer_pool_acquire_buffer (pool, &buf, NULL);
      gl->BindFramebuffer (GL_READ_FRAMEBUFFER, gl_scene_fbo (scene));
      gl->ReadPixels (0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, pixels);
      gl->BindFramebuffer (GL_READ_FRAMEBUFFER, 0);
      gst_buffer_map (buf, &map, GST_MAP_WRITE);
      for (int y = 0; y < h; y++)
        memcpy (map.data + row * y, pixels + row * (h - 1 - y), row);
      gst_buffer_unmap (buf, &map);
      gst_app_src_push_buffer (GST_APP_SRC (src), buf);
    }
    if (i >= 0)
      spent += g_get_monotonic_time () - a;
    /* one frame in flight, as with a swap chain */
    if (prev) {
      gl->ClientWaitSync (prev, GL_SYNC_FLUSH_COMMANDS_BIT, GST_SECOND);
      gl->DeleteSync (prev);
    }
    prev = gl->FenceSync (GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
    gl->Flush ();
    if (rate > 0 && i >= 0) {
      /* an application's loop at its target rate (vsync) */
      due += G_USEC_PER_SEC / rate;
      if (g_get_monotonic_time () < due)
        g_usleep (due - g_get_monotonic_time ());
    }
  }
  if (prev) {
    gl->ClientWaitSync (prev, GL_SYNC_FLUSH_COMMANDS_BIT, GST_SECOND);
    gl->DeleteSync (prev);
  }
  r.fps = frames / ((g_get_monotonic_time () - t0) / 1e6);
  r.handover_ms = spent / 1000.0 / frames;
  if (ELEMENT_MODE (mode)) {
    GstStructure *s;
    g_usleep (200000);
    g_object_get (src, "stats", &s, NULL);
    gst_structure_get_uint64 (s, "pushed", &r.pushed);
    gst_structure_get_uint64 (s, "dropped", &r.dropped);
    gst_structure_get_uint64 (s, "fence-waits", &r.fence_waits);
    gst_structure_free (s);
  }
  if (pipe) {
    vg_egl_make_current (egl, FALSE);
    gst_element_set_state (pipe, GST_STATE_NULL);
    vg_egl_make_current (egl, TRUE);
    gst_object_unref (src);
    gst_object_unref (pipe);
  }
  if (pool) {
    gst_buffer_pool_set_active (pool, FALSE);
    gst_object_unref (pool);
  }
  g_free (pixels);
  return r;
}

int
main (int argc, char **argv)
{
  int frames = 150, cubes = 6, rate = 60, only = -1;
  const char *sizes = "1280x720,1920x1080";
  VgEgl egl;
  GError *err = NULL;
  gchar **list;

  for (int i = 1; i + 1 < argc; i += 2) {
    if (g_str_equal (argv[i], "--frames"))
      frames = atoi (argv[i + 1]);
    else if (g_str_equal (argv[i], "--cubes"))
      cubes = atoi (argv[i + 1]);
    else if (g_str_equal (argv[i], "--rate"))
      rate = atoi (argv[i + 1]);
    else if (g_str_equal (argv[i], "--sizes"))
      sizes = argv[i + 1];
    else if (g_str_equal (argv[i], "--only")) {
      for (int m = 0; m < N_MODES; m++)
        if (g_str_equal (argv[i + 1], mode_names[m]))
          only = m;
    }
  }
  gst_init (&argc, &argv);
  if (!vg_egl_open (&egl, &err)) {
    g_printerr ("bench-glreadback: %s\n", err->message);
    return 1;
  }
  vg_egl_make_current (&egl, TRUE);
  printf ("GL render loop, %d frames, %d^3 cubes, one frame in flight; "
      "renderer: %s\n", frames, cubes,
      (const char *) egl.gst_context->gl_vtable->GetString (GL_RENDERER));
  list = g_strsplit (sizes, ",", -1);
  for (gchar ** sz = list; *sz; sz++) {
    int w, h;
    GlScene *scene;
    Result r[N_MODES];
    if (sscanf (*sz, "%dx%d", &w, &h) != 2)
      continue;
    scene = gl_scene_new (egl.gst_context, w, h, cubes, &err);
    if (!scene) {
      g_printerr ("bench-glreadback: %s\n", err->message);
      return 1;
    }
    for (int paced = 0; paced < 2; paced++) {
    int rt = paced ? rate : 0;
    if (paced)
      printf ("  paced at %d fps (the loop sleeps to its target, as with "
          "vsync):\n", rate);
    else
      printf ("  unpaced (as fast as the machine renders):\n");
    /* off, pbo, blit, sync, then off again: the reference brackets the
     * rest */
    for (int m = 0; m < N_MODES; m++)
      r[m] = only < 0 || m == only || m == MODE_OFF ?
          run (&egl, scene, w, h, m, frames, rt) : r[MODE_OFF];
    {
      Result again = run (&egl, scene, w, h, MODE_OFF, frames, rt);
      r[0].fps = (r[0].fps + again.fps) / 2;
    }
    for (int m = 0; m < N_MODES; m++) {
      printf ("  %dx%d %-5s %7.1f fps  hand-over %6.2f ms/frame", w, h,
          mode_names[m], r[m].fps, r[m].handover_ms);
      if (ELEMENT_MODE (m))
        printf ("  (pushed %" G_GUINT64_FORMAT ", dropped %" G_GUINT64_FORMAT
            ", fence waits %" G_GUINT64_FORMAT ")", r[m].pushed, r[m].dropped,
            r[m].fence_waits);
      printf ("\n");
    }
    printf ("  %dx%d frame rate kept (of off):", w, h);
    for (int m = 1; m < N_MODES; m++)
      printf (" %s %.2fx", mode_names[m], r[m].fps / r[0].fps);
    printf ("; vs sync:");
    for (int m = 1; m < MODE_SYNC; m++)
      printf (" %s %.2fx", mode_names[m], r[m].fps / r[MODE_SYNC].fps);
    printf ("\n");
    }
    gl_scene_free (scene);
  }
  g_strfreev (list);
  vg_egl_make_current (&egl, FALSE);
  vg_egl_close (&egl);
  return 0;
}
