/* See glscene.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>

#include "glscene.h"
#include "scene.h"

struct _GlScene
{
  const GstGLFuncs *gl;
  int width, height;
  unsigned cubes;
  GLuint fbo, color, depth;
  GLuint program, vao, vbo;
  GLint u_mvp, u_model, u_t, u_n;
  void (*DrawArraysInstanced) (GLenum mode, GLint first, GLsizei count,
      GLsizei instances);
};

static const char *vs_src =
    "#version 330 core\n"
    "layout(location = 0) in vec3 pos;\n"
    "layout(location = 1) in vec3 nrm;\n"
    "uniform mat4 mvp;\n"
    "uniform mat4 model;\n"
    "uniform float t;\n"
    "uniform int n;\n"
    "out vec3 v_nrm;\n"
    "out vec3 v_col;\n"
    "void main () {\n"
    "  int i = gl_InstanceID;\n"
    "  vec3 g = vec3 (i % n, (i / n) % n, i / (n * n));\n"
    "  vec3 c = (g - 0.5 * float (n - 1)) * 2.5;\n"
    "  float s = 0.6 + 0.3 * sin (t * 2.0 + dot (g, vec3 (0.7, 1.3, 0.9)));\n"
    "  gl_Position = mvp * vec4 (pos * s + c, 1.0);\n"
    "  v_nrm = mat3 (model) * nrm;\n"
    "  v_col = 0.25 + 0.75 * g / max (float (n - 1), 1.0);\n"
    "}\n";

static const char *fs_src =
    "#version 330 core\n"
    "in vec3 v_nrm;\n"
    "in vec3 v_col;\n"
    "out vec4 color;\n"
    "void main () {\n"
    "  vec3 l = normalize (vec3 (0.4, 0.8, 0.6));\n"
    "  float d = max (dot (normalize (v_nrm), l), 0.0);\n"
    "  color = vec4 (v_col * (0.25 + 0.75 * d), 1.0);\n"
    "}\n";

typedef float Mat4[16];         /* column-major */

static void
mat4_mul (Mat4 r, const Mat4 a, const Mat4 b)
{
  Mat4 t;
  for (int c = 0; c < 4; c++)
    for (int row = 0; row < 4; row++) {
      float s = 0;
      for (int k = 0; k < 4; k++)
        s += a[k * 4 + row] * b[c * 4 + k];
      t[c * 4 + row] = s;
    }
  memcpy (r, t, sizeof t);
}

static void
mat4_perspective (Mat4 m, float fovy, float aspect, float near, float far)
{
  float f = 1.0f / tanf (fovy / 2);
  memset (m, 0, sizeof (Mat4));
  m[0] = f / aspect;
  m[5] = f;
  m[10] = (far + near) / (near - far);
  m[11] = -1;
  m[14] = 2 * far * near / (near - far);
}

static void
mat4_rotation (Mat4 m, float yaw, float pitch)
{
  float cy = cosf (yaw), sy = sinf (yaw), cp = cosf (pitch), sp = sinf (pitch);
  /* pitch about x after yaw about y */
  Mat4 ry = { cy, 0, -sy, 0, 0, 1, 0, 0, sy, 0, cy, 0, 0, 0, 0, 1 };
  Mat4 rx = { 1, 0, 0, 0, 0, cp, sp, 0, 0, -sp, cp, 0, 0, 0, 0, 1 };
  mat4_mul (m, rx, ry);
}

static GLuint
compile (const GstGLFuncs * gl, GLenum type, const char *src, GError ** error)
{
  GLuint s = gl->CreateShader (type);
  GLint ok = 0;
  gl->ShaderSource (s, 1, &src, NULL);
  gl->CompileShader (s);
  gl->GetShaderiv (s, GL_COMPILE_STATUS, &ok);
  if (!ok) {
    char log[512] = "";
    gl->GetShaderInfoLog (s, sizeof log, NULL, log);
    g_set_error (error, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_FAILED,
        "shader: %s", log);
    gl->DeleteShader (s);
    return 0;
  }
  return s;
}

void
gl_camera_reset (GlCamera * camera)
{
  camera->yaw = 0.6f;
  camera->pitch = 0.35f;
  camera->distance = 1.0f;
}

GlScene *
gl_scene_new (GstGLContext * context, int width, int height, unsigned cubes,
    GError ** error)
{
  const GstGLFuncs *gl = context->gl_vtable;
  GlScene *s = g_new0 (GlScene, 1);
  GLuint vs, fs;
  GLint ok = 0;
  /* a cube: 6 faces x 2 triangles, position + normal */
  float v[36 * 6];
  static const float faces[6][3] = { {1, 0, 0}, {-1, 0, 0}, {0, 1, 0},
  {0, -1, 0}, {0, 0, 1}, {0, 0, -1}
  };
  int k = 0;

  s->gl = gl;
  s->DrawArraysInstanced = gst_gl_context_get_proc_address (context,
      "glDrawArraysInstanced");
  if (!s->DrawArraysInstanced) {
    g_set_error (error, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_FAILED,
        "no glDrawArraysInstanced (OpenGL 3.1)");
    g_free (s);
    return NULL;
  }
  s->width = width;
  s->height = height;
  s->cubes = MAX (cubes, 1);
  for (int f = 0; f < 6; f++) {
    const float *n = faces[f];
    /* two axes spanning the face */
    float a[3] = { n[1] != 0 || n[2] != 0, n[0] != 0, 0 };
    float b[3] = { n[1] * a[2] - n[2] * a[1], n[2] * a[0] - n[0] * a[2],
      n[0] * a[1] - n[1] * a[0]
    };
    static const float q[6][2] = { {-1, -1}, {1, -1}, {1, 1}, {-1, -1},
    {1, 1}, {-1, 1}
    };
    for (int p = 0; p < 6; p++) {
      for (int c = 0; c < 3; c++)
        v[k++] = 0.5f * (n[c] + q[p][0] * a[c] + q[p][1] * b[c]);
      for (int c = 0; c < 3; c++)
        v[k++] = n[c];
    }
  }

  vs = compile (gl, GL_VERTEX_SHADER, vs_src, error);
  fs = vs ? compile (gl, GL_FRAGMENT_SHADER, fs_src, error) : 0;
  if (!fs) {
    if (vs)
      gl->DeleteShader (vs);
    g_free (s);
    return NULL;
  }
  s->program = gl->CreateProgram ();
  gl->AttachShader (s->program, vs);
  gl->AttachShader (s->program, fs);
  gl->LinkProgram (s->program);
  gl->DeleteShader (vs);
  gl->DeleteShader (fs);
  gl->GetProgramiv (s->program, GL_LINK_STATUS, &ok);
  if (!ok) {
    g_set_error (error, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_FAILED,
        "the scene's program does not link");
    gl->DeleteProgram (s->program);
    g_free (s);
    return NULL;
  }
  s->u_mvp = gl->GetUniformLocation (s->program, "mvp");
  s->u_model = gl->GetUniformLocation (s->program, "model");
  s->u_t = gl->GetUniformLocation (s->program, "t");
  s->u_n = gl->GetUniformLocation (s->program, "n");

  gl->GenVertexArrays (1, &s->vao);
  gl->BindVertexArray (s->vao);
  gl->GenBuffers (1, &s->vbo);
  gl->BindBuffer (GL_ARRAY_BUFFER, s->vbo);
  gl->BufferData (GL_ARRAY_BUFFER, sizeof v, v, GL_STATIC_DRAW);
  gl->VertexAttribPointer (0, 3, GL_FLOAT, GL_FALSE, 6 * sizeof (float),
      (void *) 0);
  gl->VertexAttribPointer (1, 3, GL_FLOAT, GL_FALSE, 6 * sizeof (float),
      (void *) (3 * sizeof (float)));
  gl->EnableVertexAttribArray (0);
  gl->EnableVertexAttribArray (1);
  gl->BindVertexArray (0);
  gl->BindBuffer (GL_ARRAY_BUFFER, 0);

  gl->GenTextures (1, &s->color);
  gl->BindTexture (GL_TEXTURE_2D, s->color);
  gl->TexImage2D (GL_TEXTURE_2D, 0, GL_RGBA8, width, height, 0, GL_RGBA,
      GL_UNSIGNED_BYTE, NULL);
  gl->TexParameteri (GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
  gl->TexParameteri (GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  gl->BindTexture (GL_TEXTURE_2D, 0);
  gl->GenRenderbuffers (1, &s->depth);
  gl->BindRenderbuffer (GL_RENDERBUFFER, s->depth);
  gl->RenderbufferStorage (GL_RENDERBUFFER, GL_DEPTH_COMPONENT24, width,
      height);
  gl->GenFramebuffers (1, &s->fbo);
  gl->BindFramebuffer (GL_FRAMEBUFFER, s->fbo);
  gl->FramebufferTexture2D (GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0,
      GL_TEXTURE_2D, s->color, 0);
  gl->FramebufferRenderbuffer (GL_FRAMEBUFFER, GL_DEPTH_ATTACHMENT,
      GL_RENDERBUFFER, s->depth);
  if (gl->CheckFramebufferStatus (GL_FRAMEBUFFER) != GL_FRAMEBUFFER_COMPLETE) {
    g_set_error (error, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_FAILED,
        "the scene's %dx%d framebuffer is not complete", width, height);
    gl->BindFramebuffer (GL_FRAMEBUFFER, 0);
    gl_scene_free (s);
    return NULL;
  }
  gl->BindFramebuffer (GL_FRAMEBUFFER, 0);
  return s;
}

guint
gl_scene_fbo (GlScene * s)
{
  return s->fbo;
}

/* A rectangle in image rows (row 0 at the top) filled by a scissored
 * clear: exact colours, so the tag survives to the last bit. */
static void
fill (GlScene * s, int x, int y, int w, int h, float v)
{
  const GstGLFuncs *gl = s->gl;
  gl->Scissor (x, s->height - y - h, w, h);
  gl->ClearColor (v, v, v, 1.0f);
  gl->Clear (GL_COLOR_BUFFER_BIT);
}

/* The demo's tag (examples/demo/scene.c tag_word): a grey band three
 * cells tall at cell row `row`, the 24-bit number and its check byte as
 * white/black cells in the middle row. */
static void
tag_word_gl (GlScene * s, unsigned cell, unsigned row, guint32 number)
{
  guint32 n = number & 0xffffff;
  guint32 word = n | ((guint32) tag_check (n) << 24);

  fill (s, 0, cell * row, cell * (TAG_BITS + 2), cell * 3, 128 / 255.0f);
  for (unsigned b = 0; b < TAG_BITS; b++)
    fill (s, cell * (b + 1), cell * (row + 1), cell, cell,
        (word >> b) & 1 ? 1.0f : 0.0f);
}

void
gl_scene_render (GlScene * s, const GlCamera * cam, double t, guint64 frame,
    guint64 events_applied)
{
  const GstGLFuncs *gl = s->gl;
  Mat4 proj, rot, spin, model, view, mvp;
  float extent = 2.5f * s->cubes;
  unsigned cell = tag_cell_size (s->width, s->height);

  gl->BindFramebuffer (GL_FRAMEBUFFER, s->fbo);
  gl->Viewport (0, 0, s->width, s->height);
  gl->ClearColor (0.08f, 0.09f, 0.12f, 1.0f);
  gl->ClearDepth (1.0);
  gl->Clear (GL_COLOR_BUFFER_BIT | GL_DEPTH_BUFFER_BIT);
  gl->Enable (GL_DEPTH_TEST);

  mat4_perspective (proj, 0.9f, (float) s->width / s->height, 0.5f,
      extent * 8);
  mat4_rotation (spin, (float) (t * 0.3), 0);
  mat4_rotation (rot, cam->yaw, cam->pitch);
  mat4_mul (model, rot, spin);
  memcpy (view, (Mat4) {
      1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, -extent * 1.2f * cam->distance,
      1}, sizeof view);
  mat4_mul (mvp, view, model);
  mat4_mul (mvp, proj, mvp);

  gl->UseProgram (s->program);
  gl->UniformMatrix4fv (s->u_mvp, 1, GL_FALSE, mvp);
  gl->UniformMatrix4fv (s->u_model, 1, GL_FALSE, model);
  gl->Uniform1f (s->u_t, (float) t);
  gl->Uniform1i (s->u_n, (GLint) s->cubes);
  gl->BindVertexArray (s->vao);
  s->DrawArraysInstanced (GL_TRIANGLES, 0, 36,
      (GLsizei) (s->cubes * s->cubes * s->cubes));
  gl->BindVertexArray (0);
  gl->UseProgram (0);
  gl->Disable (GL_DEPTH_TEST);

  if (cell) {
    gl->Enable (GL_SCISSOR_TEST);
    tag_word_gl (s, cell, 0, (guint32) frame);
    if (cell * 8 <= (unsigned) s->height)
      tag_word_gl (s, cell, 5, (guint32) events_applied);
    gl->Disable (GL_SCISSOR_TEST);
  }
  gl->BindFramebuffer (GL_FRAMEBUFFER, 0);
}

void
gl_scene_free (GlScene * s)
{
  const GstGLFuncs *gl = s->gl;

  if (s->fbo)
    gl->DeleteFramebuffers (1, &s->fbo);
  if (s->depth)
    gl->DeleteRenderbuffers (1, &s->depth);
  if (s->color)
    gl->DeleteTextures (1, &s->color);
  if (s->vbo)
    gl->DeleteBuffers (1, &s->vbo);
  if (s->vao)
    gl->DeleteVertexArrays (1, &s->vao);
  if (s->program)
    gl->DeleteProgram (s->program);
  g_free (s);
}
