/* A headless EGL context for the GL example and bench: EGL's device
 * platform (Mesa's llvmpipe on a machine without a GPU), OpenGL 3.3 core,
 * no surface (the application renders into its own framebuffer object),
 * wrapped for GStreamer so that glreadbacksrc shares it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef VG_EGL_HEADLESS_H
#define VG_EGL_HEADLESS_H

#include <gst/gst.h>
#include <gst/gl/gl.h>

G_BEGIN_DECLS

typedef struct
{
  gpointer display;             /* EGLDisplay */
  gpointer context;             /* EGLContext */
  GstGLDisplay *gst_display;
  GstGLContext *gst_context;    /* the EGL context, wrapped */
} VgEgl;

/* Creates the context (not current). */
gboolean vg_egl_open (VgEgl * egl, GError ** error);
/* Makes it current in (or releases it from) the calling thread. */
gboolean vg_egl_make_current (VgEgl * egl, gboolean current);
/* Hands the display and the context to a GL element (before it starts):
 * the GstContexts gst.gl.GLDisplay and gst.gl.app_context. */
void vg_egl_give_to (VgEgl * egl, GstElement * element);
void vg_egl_close (VgEgl * egl);

G_END_DECLS
#endif
