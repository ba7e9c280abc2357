/* glreadbacksrc's built-in scene (mode=scene), private to the plugin.
 *
 * The element is its own application: the scene renders an animated test
 * pattern in a GL context of its own, shared with the element's, at a
 * given rate on the wall clock, and hands every frame over through a
 * callback exactly as an application calls "submit-fbo". It never waits
 * for the pipeline. (The model: gst-plugins-base's gltestsrc.c, the
 * drawing apart from gstgltestsrc.c.)
 *
 * Frame n, in image rows (row 0 at the top):
 *   background (3n mod 256, 64, 160);
 *   a white bar 1/16 of the width wide at x = 8n mod width;
 *   a red block, rows 8 .. 8 + h/8, columns 0 .. w/8 (shows orientation);
 *   rows 0..7: n's low 32 bits, bit i white or black in column block
 *   i*w/32 .. (i+1)*w/32 (least significant first).
 * The frames are drawn with GL's bottom-up rows, like an application's.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gl/gl.h>

G_BEGIN_DECLS

typedef struct _GlReadbackScene GlReadbackScene;

/* Called in the scene's GL thread, its context current, for each frame:
 * the frame is in fbo (colour attachment 0), width x height. */
typedef void (*GlReadbackSceneSubmitFunc) (guint fbo, gint width,
    gint height, gpointer user_data);

/* A scene with a GL context of its own shared with share (not rendering
 * until gl_readback_scene_start()); NULL with error set when the context
 * cannot be made. */
GlReadbackScene *gl_readback_scene_new (GstGLContext * share,
    GlReadbackSceneSubmitFunc submit, gpointer user_data, GError ** error);

/* The scene's context: frames are submitted with it current. */
GstGLContext *gl_readback_scene_get_context (GlReadbackScene * scene);

/* The size and rate of the frames from now on (any thread). A size of 0
 * renders nothing; a rate of 0 means 30/1. */
void gl_readback_scene_set_format (GlReadbackScene * scene, gint width,
    gint height, gint fps_n, gint fps_d);

/* Starts the render loop (a thread of its own). */
void gl_readback_scene_start (GlReadbackScene * scene);

/* Stops the render loop; once it returns no frame is being submitted and
 * none will be. */
void gl_readback_scene_stop (GlReadbackScene * scene);

/* Stops the render loop, deletes the scene's GL objects in its context and
 * frees it (the context too). */
void gl_readback_scene_free (GlReadbackScene * scene);

G_END_DECLS
