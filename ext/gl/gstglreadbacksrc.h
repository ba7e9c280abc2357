/* glreadbacksrc: an application's OpenGL framebuffer -> pipeline, read back
 * asynchronously through a ring of pixel buffer objects and fences.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/base/gstpushsrc.h>

G_BEGIN_DECLS

#define GST_TYPE_GL_READBACK_SRC (gst_gl_readback_src_get_type ())
G_DECLARE_FINAL_TYPE (GstGLReadbackSrc, gst_gl_readback_src, GST,
    GL_READBACK_SRC, GstPushSrc);

/* The "mode" property (registered as "GstGLReadbackSrcMode"). */
typedef enum
{
  GST_GL_READBACK_SRC_MODE_SCENE = 0,   /* the element's own animated scene */
  GST_GL_READBACK_SRC_MODE_APP = 1,     /* frames handed over by the app */
} GstGLReadbackSrcMode;

G_END_DECLS
