/* glreadbacksrc's built-in scene (mode=scene): what it draws, its GL
 * objects, its render loop. The pattern is described in glreadbackscene.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "glreadbackscene.h"

#include <gst/gl/gstglfuncs.h>

#define DEFAULT_FPS_N 30
#define DEFAULT_FPS_D 1

struct _GlReadbackScene
{
  GstGLContext *context;        /* ours, shared with the element's */
  GlReadbackSceneSubmitFunc submit;
  gpointer user_data;
  GThread *thread;              /* start() and free() only */

  /* what the render loop is told (lock; cond wakes the loop) */
  GMutex lock;
  GCond cond;
  gint width, height;
  gint fps_n, fps_d;
  gboolean stop;

  /* the scene's GL thread only */
  guint fbo, tex;
  gint tex_w, tex_h;
  guint64 frame;                /* the number drawn into the next frame */
};

/* ---- drawing ---- */

/* Frame n (glreadbackscene.h), drawn with scissored clears only: exact
 * colours on any GL. */
static void
scene_draw (const GstGLFuncs * gl, gint w, gint h, guint64 n)
{
  gint bar_w = MAX (w / 16, 1), i;

#define ROWS(y0, rows) (h - (y0) - (rows))
  gl->Disable (GL_SCISSOR_TEST);
  gl->Viewport (0, 0, w, h);
  gl->ClearColor ((n * 3 % 256) / 255.0f, 64 / 255.0f, 160 / 255.0f, 1.0f);
  gl->Clear (GL_COLOR_BUFFER_BIT);
  gl->Enable (GL_SCISSOR_TEST);
  gl->Scissor ((gint) (n * 8 % (guint) w), 0, bar_w, h);
  gl->ClearColor (1.0f, 1.0f, 1.0f, 1.0f);
  gl->Clear (GL_COLOR_BUFFER_BIT);
  if (h > 16) {
    gl->Scissor (0, ROWS (8, MAX (h / 8, 1)), MAX (w / 8, 1), MAX (h / 8, 1));
    gl->ClearColor (1.0f, 0.0f, 0.0f, 1.0f);
    gl->Clear (GL_COLOR_BUFFER_BIT);
  }
  for (i = 0; i < 32; i++) {
    gint x0 = i * w / 32, x1 = (i + 1) * w / 32;
    gfloat v = (n >> i) & 1 ? 1.0f : 0.0f;
    if (x1 <= x0)
      continue;
    gl->Scissor (x0, ROWS (0, MIN (8, h)), x1 - x0, MIN (8, h));
    gl->ClearColor (v, v, v, 1.0f);
    gl->Clear (GL_COLOR_BUFFER_BIT);
  }
  gl->Disable (GL_SCISSOR_TEST);
#undef ROWS
}

/* ---- GL objects (the scene's GL thread) ---- */

/* The framebuffer the frame is drawn into: a texture of the frame's size
 * as its colour attachment. */
static void
scene_ensure_target (GlReadbackScene * scene, const GstGLFuncs * gl, gint w,
    gint h)
{
  if (!scene->fbo) {
    gl->GenFramebuffers (1, &scene->fbo);
    gl->GenTextures (1, &scene->tex);
  }
  gl->BindTexture (GL_TEXTURE_2D, scene->tex);
  if (scene->tex_w != w || scene->tex_h != h) {
    gl->TexImage2D (GL_TEXTURE_2D, 0, GL_RGBA8, w, h, 0, GL_RGBA,
        GL_UNSIGNED_BYTE, NULL);
    gl->TexParameteri (GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
    gl->TexParameteri (GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    scene->tex_w = w;
    scene->tex_h = h;
  }
  gl->BindTexture (GL_TEXTURE_2D, 0);
  gl->BindFramebuffer (GL_FRAMEBUFFER, scene->fbo);
  gl->FramebufferTexture2D (GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0,
      GL_TEXTURE_2D, scene->tex, 0);
}

static void
scene_render_cb (GstGLContext * ctx, gpointer data)
{
  GlReadbackScene *scene = data;
  const GstGLFuncs *gl = ctx->gl_vtable;
  gint w, h;
  GLint old_fbo = 0;

  g_mutex_lock (&scene->lock);
  w = scene->width;
  h = scene->height;
  g_mutex_unlock (&scene->lock);
  if (w <= 0 || h <= 0)
    return;

  gl->GetIntegerv (GL_FRAMEBUFFER_BINDING, &old_fbo);
  scene_ensure_target (scene, gl, w, h);
  scene_draw (gl, w, h, scene->frame);
  scene->submit (scene->fbo, w, h, scene->user_data);
  gl->BindFramebuffer (GL_FRAMEBUFFER, old_fbo);
  scene->frame++;
}

static void
scene_cleanup_cb (GstGLContext * ctx, gpointer data)
{
  GlReadbackScene *scene = data;
  const GstGLFuncs *gl = ctx->gl_vtable;

  if (scene->fbo)
    gl->DeleteFramebuffers (1, &scene->fbo);
  if (scene->tex)
    gl->DeleteTextures (1, &scene->tex);
  scene->fbo = scene->tex = 0;
  scene->tex_w = scene->tex_h = 0;
}

/* ---- the render loop ---- */

/* Renders frames at the set rate on the wall clock, like an application's
 * render loop: it never waits for the pipeline. */
static gpointer
scene_thread_func (gpointer data)
{
  GlReadbackScene *scene = data;
  gint64 start = g_get_monotonic_time ();
  guint64 n = 0;

  g_mutex_lock (&scene->lock);
  while (!scene->stop) {
    gint fps_n = scene->fps_n, fps_d = scene->fps_d;
    gint64 due;

    if (fps_n <= 0 || fps_d <= 0) {
      fps_n = DEFAULT_FPS_N;
      fps_d = DEFAULT_FPS_D;
    }
    due = start + (gint64) gst_util_uint64_scale (n, fps_d * G_USEC_PER_SEC,
        fps_n);
    if (g_get_monotonic_time () < due) {
      g_cond_wait_until (&scene->cond, &scene->lock, due);
      continue;
    }
    g_mutex_unlock (&scene->lock);
    gst_gl_context_thread_add (scene->context, scene_render_cb, scene);
    n++;
    if (g_get_monotonic_time () - due > G_USEC_PER_SEC) {
      /* far behind (a slow machine): start counting again from now */
      start = g_get_monotonic_time ();
      n = 0;
    }
    g_mutex_lock (&scene->lock);
  }
  g_mutex_unlock (&scene->lock);
  return NULL;
}

/* ---- API ---- */

GlReadbackScene *
gl_readback_scene_new (GstGLContext * share, GlReadbackSceneSubmitFunc submit,
    gpointer user_data, GError ** error)
{
  GlReadbackScene *scene;
  GstGLDisplay *display = gst_gl_context_get_display (share);
  GstGLContext *context = gst_gl_context_new (display);

  gst_object_unref (display);
  if (!gst_gl_context_create (context, share, error)) {
    gst_object_unref (context);
    return NULL;
  }
  scene = g_new0 (GlReadbackScene, 1);
  scene->context = context;
  scene->submit = submit;
  scene->user_data = user_data;
  g_mutex_init (&scene->lock);
  g_cond_init (&scene->cond);
  return scene;
}

GstGLContext *
gl_readback_scene_get_context (GlReadbackScene * scene)
{
  return scene->context;
}

void
gl_readback_scene_set_format (GlReadbackScene * scene, gint width,
    gint height, gint fps_n, gint fps_d)
{
  g_mutex_lock (&scene->lock);
  scene->width = width;
  scene->height = height;
  scene->fps_n = fps_n;
  scene->fps_d = fps_d;
  /* a new rate applies at once, not after the frame due at the old one */
  g_cond_broadcast (&scene->cond);
  g_mutex_unlock (&scene->lock);
}

void
gl_readback_scene_start (GlReadbackScene * scene)
{
  if (scene->thread)
    return;
  g_mutex_lock (&scene->lock);
  scene->stop = FALSE;
  g_mutex_unlock (&scene->lock);
  scene->thread = g_thread_new ("glreadback-scene", scene_thread_func, scene);
}

void
gl_readback_scene_stop (GlReadbackScene * scene)
{
  if (!scene->thread)
    return;
  g_mutex_lock (&scene->lock);
  scene->stop = TRUE;
  g_cond_broadcast (&scene->cond);
  g_mutex_unlock (&scene->lock);
  g_thread_join (scene->thread);
  scene->thread = NULL;
}

void
gl_readback_scene_free (GlReadbackScene * scene)
{
  gl_readback_scene_stop (scene);
  gst_gl_context_thread_add (scene->context, scene_cleanup_cb, scene);
  gst_object_unref (scene->context);
  g_mutex_clear (&scene->lock);
  g_cond_clear (&scene->cond);
  g_free (scene);
}
