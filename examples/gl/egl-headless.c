/* See egl-headless.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <string.h>
#include <gst/gl/egl/gstgldisplay_egl_device.h>

#include "egl-headless.h"

gboolean
vg_egl_open (VgEgl * egl, GError ** error)
{
  PFNEGLQUERYDEVICESEXTPROC query_devices = (PFNEGLQUERYDEVICESEXTPROC)
      eglGetProcAddress ("eglQueryDevicesEXT");
  PFNEGLGETPLATFORMDISPLAYEXTPROC get_display =
      (PFNEGLGETPLATFORMDISPLAYEXTPROC)
      eglGetProcAddress ("eglGetPlatformDisplayEXT");
  EGLDeviceEXT devices[8];
  EGLint n = 0, major, minor, n_configs = 0;
  EGLDisplay dpy = EGL_NO_DISPLAY;
  EGLConfig config;
  EGLContext ctx;
  static const EGLint config_attribs[] = {
    EGL_RED_SIZE, 8, EGL_GREEN_SIZE, 8, EGL_BLUE_SIZE, 8, EGL_ALPHA_SIZE, 8,
    EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT, EGL_SURFACE_TYPE, 0, EGL_NONE
  };
  static const EGLint ctx_attribs[] = {
    EGL_CONTEXT_MAJOR_VERSION, 3, EGL_CONTEXT_MINOR_VERSION, 3,
    EGL_CONTEXT_OPENGL_PROFILE_MASK, EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
    EGL_NONE
  };
  EGLint i;

  memset (egl, 0, sizeof *egl);
  if (!query_devices || !get_display) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
        "EGL has no device platform (EGL_EXT_device_enumeration, "
        "EGL_EXT_platform_device): install Mesa's libegl-mesa0");
    return FALSE;
  }
  if (!query_devices (G_N_ELEMENTS (devices), devices, &n) || n == 0) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
        "no EGL device (not even Mesa's software one)");
    return FALSE;
  }
  /* The first device that initializes: a GPU if there is one, else
   * llvmpipe (Mesa lists the software device last). */
  for (i = 0; i < n; i++) {
    dpy = get_display (EGL_PLATFORM_DEVICE_EXT, devices[i], NULL);
    if (dpy != EGL_NO_DISPLAY && eglInitialize (dpy, &major, &minor))
      break;
    dpy = EGL_NO_DISPLAY;
  }
  if (dpy == EGL_NO_DISPLAY) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
        "none of %d EGL devices initializes (0x%x)", n, eglGetError ());
    return FALSE;
  }
  if (!eglBindAPI (EGL_OPENGL_API) ||
      !eglChooseConfig (dpy, config_attribs, &config, 1, &n_configs) ||
      n_configs < 1) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
        "no RGBA8 OpenGL EGL config (0x%x)", eglGetError ());
    return FALSE;
  }
  ctx = eglCreateContext (dpy, config, EGL_NO_CONTEXT, ctx_attribs);
  if (ctx == EGL_NO_CONTEXT) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
        "cannot create an OpenGL 3.3 core context (0x%x)", eglGetError ());
    return FALSE;
  }
  egl->display = dpy;
  egl->context = ctx;
  egl->gst_display = GST_GL_DISPLAY (gst_gl_display_egl_device_new_with_egl_device
      (devices[i]));
  egl->gst_context = gst_gl_context_new_wrapped (egl->gst_display,
      (guintptr) ctx, GST_GL_PLATFORM_EGL, GST_GL_API_OPENGL3);
  /* GstGL reads the wrapped context's config and functions now, before
   * any element creates a context shared with it */
  if (!eglMakeCurrent (dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx) ||
      !gst_gl_context_activate (egl->gst_context, TRUE) ||
      !gst_gl_context_fill_info (egl->gst_context, error)) {
    if (error && !*error)
      g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_FAILED,
          "the EGL context does not become current (0x%x)", eglGetError ());
    vg_egl_close (egl);
    return FALSE;
  }
  gst_gl_context_activate (egl->gst_context, FALSE);
  eglMakeCurrent (dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
  return TRUE;
}

gboolean
vg_egl_make_current (VgEgl * egl, gboolean current)
{
  if (!current) {
    gst_gl_context_activate (egl->gst_context, FALSE);
    return eglMakeCurrent (egl->display, EGL_NO_SURFACE, EGL_NO_SURFACE,
        EGL_NO_CONTEXT);
  }
  if (!eglMakeCurrent (egl->display, EGL_NO_SURFACE, EGL_NO_SURFACE,
          egl->context))
    return FALSE;
  /* GstGL's idea of the current context, for its calls in this thread */
  return gst_gl_context_activate (egl->gst_context, TRUE);
}

void
vg_egl_give_to (VgEgl * egl, GstElement * element)
{
  GstContext *c = gst_context_new (GST_GL_DISPLAY_CONTEXT_TYPE, TRUE);
  GstStructure *s;

  gst_context_set_gl_display (c, egl->gst_display);
  gst_element_set_context (element, c);
  gst_context_unref (c);
  c = gst_context_new ("gst.gl.app_context", TRUE);
  s = gst_context_writable_structure (c);
  gst_structure_set (s, "context", GST_TYPE_GL_CONTEXT, egl->gst_context,
      NULL);
  gst_element_set_context (element, c);
  gst_context_unref (c);
}

void
vg_egl_close (VgEgl * egl)
{
  gst_clear_object (&egl->gst_context);
  gst_clear_object (&egl->gst_display);
  if (egl->display) {
    eglMakeCurrent (egl->display, EGL_NO_SURFACE, EGL_NO_SURFACE,
        EGL_NO_CONTEXT);
    eglDestroyContext (egl->display, egl->context);
    /* the display is Mesa's, shared with GstGL's: not terminated here */
  }
  egl->display = egl->context = NULL;
}
