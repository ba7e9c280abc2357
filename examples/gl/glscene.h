/* The GL example's scene: a grid of lit, turning cubes drawn with
 * OpenGL 3.3 core into a framebuffer object, with the demo's frame-number
 * and events-applied tags (examples/demo/scene.h) so that tests can read
 * them back from the video.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef VG_GLSCENE_H
#define VG_GLSCENE_H

#include <gst/gl/gl.h>
#include <gst/gl/gstglfuncs.h>

G_BEGIN_DECLS

typedef struct _GlScene GlScene;

typedef struct
{
  float yaw, pitch;             /* radians */
  float distance;
} GlCamera;

/* With the context current. cubes: per side of the grid (cubes^3). */
GlScene *gl_scene_new (GstGLContext * context, int width, int height,
    unsigned cubes, GError ** error);
guint gl_scene_fbo (GlScene * scene);
void gl_scene_render (GlScene * scene, const GlCamera * camera, double t,
    guint64 frame, guint64 events_applied);
void gl_scene_free (GlScene * scene);
void gl_camera_reset (GlCamera * camera);

G_END_DECLS
#endif
