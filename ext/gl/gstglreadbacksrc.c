/* glreadbacksrc: an application's OpenGL framebuffer -> pipeline.
 *
 * The application (or the element's own scene, mode=scene) hands over a
 * framebuffer or texture each frame with the "submit-fbo" / "submit-texture"
 * action signals, from its render thread with its GL context current. The
 * element then only queues GPU work in that context - a glReadPixels into a
 * pixel buffer object of its ring, or a blit into a GL-memory texture when
 * downstream takes memory:GLMemory - plus a fence and a flush, and returns.
 * The streaming thread waits for the fence in the element's own GL context
 * (shared with the application's) and maps the PBO, turning GL's bottom-up
 * rows into top-down ones during the one copy it makes anyway; or pushes the
 * texture with no readback at all.
 *
 * Slots: FREE -> SUBMITTING (the app thread owns it) -> PENDING (fenced) ->
 * READING (the streaming thread owns it) -> FREE. The streaming thread takes
 * the newest PENDING slot; older ones are dropped (a live source shows the
 * newest frame). A submit that finds no FREE slot reuses the oldest PENDING
 * one: the render loop never waits for the pipeline.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:element-glreadbacksrc
 * @title: glreadbacksrc
 *
 * A live source of an OpenGL application's frames: the application hands
 * a framebuffer or texture over with the "submit-fbo" / "submit-texture"
 * action signals and goes on; the readback completes while it renders the
 * next frame. GL memory downstream gets the frames with no readback.
 * mode=scene renders a built-in animated scene instead (glreadbackscene.c),
 * through the same path. See docs/glreadbacksrc.md.
 *
 * ## Example launch line
 * |[
 * GST_GL_WINDOW=egl-device gst-launch-1.0 glreadbacksrc ! videoconvert ! autovideosink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstglreadbacksrc.h"
#include "gstvizstreamglelements.h"
#include "glreadbackscene.h"

#include <gst/video/video.h>
#include <gst/gl/gl.h>
#include <gst/gl/gstglfuncs.h>

GST_DEBUG_CATEGORY_STATIC (gst_gl_readback_src_debug);
#define GST_CAT_DEFAULT gst_gl_readback_src_debug

#define DEFAULT_MODE GST_GL_READBACK_SRC_MODE_SCENE
#define DEFAULT_RING_SIZE 3
#define MIN_RING_SIZE 2
#define MAX_RING_SIZE 16
#define DEFAULT_FLIP TRUE
#define DEFAULT_FENCE_TIMEOUT 5000      /* ms */
#define MAX_APP_FBOS 4
#define WAIT_SLICE_NS (10 * GST_MSECOND)

#define SUPPORTED_GL_APIS \
  (GST_GL_API_OPENGL | GST_GL_API_OPENGL3 | GST_GL_API_GLES2)

#ifndef GL_PIXEL_PACK_BUFFER
#define GL_PIXEL_PACK_BUFFER 0x88EB
#endif
#ifndef GL_PIXEL_PACK_BUFFER_BINDING
#define GL_PIXEL_PACK_BUFFER_BINDING 0x88ED
#endif
#ifndef GL_STREAM_READ
#define GL_STREAM_READ 0x88E1
#endif
#ifndef GL_PACK_ROW_LENGTH
#define GL_PACK_ROW_LENGTH 0x0D02
#endif
#ifndef GL_READ_FRAMEBUFFER
#define GL_READ_FRAMEBUFFER 0x8CA8
#endif
#ifndef GL_DRAW_FRAMEBUFFER
#define GL_DRAW_FRAMEBUFFER 0x8CA9
#endif
#ifndef GL_READ_FRAMEBUFFER_BINDING
#define GL_READ_FRAMEBUFFER_BINDING 0x8CAA
#endif
#ifndef GL_DRAW_FRAMEBUFFER_BINDING
#define GL_DRAW_FRAMEBUFFER_BINDING 0x8CA6
#endif
#ifndef GL_MAP_READ_BIT
#define GL_MAP_READ_BIT 0x0001
#endif
#ifndef GL_SYNC_GPU_COMMANDS_COMPLETE
#define GL_SYNC_GPU_COMMANDS_COMPLETE 0x9117
#endif
#ifndef GL_ALREADY_SIGNALED
#define GL_ALREADY_SIGNALED 0x911A
#define GL_TIMEOUT_EXPIRED 0x911B
#define GL_CONDITION_SATISFIED 0x911C
#define GL_WAIT_FAILED 0x911D
#endif

typedef enum
{
  SLOT_FREE,
  SLOT_SUBMITTING,
  SLOT_PENDING,
  SLOT_READING,
} SlotState;

/* state under the element's lock; the rest belongs to the thread that has
 * the slot (SUBMITTING: the submitting thread, READING: the streaming
 * thread) or, FREE or PENDING, to whoever holds the lock */
typedef struct
{
  SlotState state;
  gboolean gl;                  /* a blit into glbuf's texture, not a PBO */
  guint pbo;
  gsize pbo_size;
  GstBuffer *glbuf;             /* GL-memory output: the texture to fill */
  GLsync fence;
  guint64 seq;
  GstClockTime pts;
  gint width, height;
} Slot;

/* Framebuffer objects are per context (not shared): the ones made in the
 * submitting context to read a texture or to blit into ours. */
typedef struct
{
  guintptr handle;
  guint read_fbo, draw_fbo;
} AppFbos;

struct _GstGLReadbackSrc
{
  GstPushSrc parent;

  /* properties under the object lock */
  GstGLReadbackSrcMode mode;
  guint ring_size;
  gint fps_n, fps_d;
  /* properties under lock (below): the streaming and submitting threads
   * read them while playing */
  gboolean flip;
  guint fence_timeout_ms;

  /* GstGL's context negotiation: display and other_context (the
   * application's) set by set_context() or start(), context by start();
   * while running (start() to stop()) they only are read */
  GstGLDisplay *display;
  GstGLContext *context;
  GstGLContext *other_context;

  /* the ring and what the threads share, under lock (cond: a slot changed
   * state, or flushing) */
  GMutex lock;
  GCond cond;
  Slot *slots;
  guint n_slots;
  gboolean running;
  gint flushing;                /* atomic too: read in the GL thread */
  guint64 seq, last_out;
  gboolean gl_output;
  gboolean have_caps;
  GstVideoInfo out_info;
  GstBufferPool *glpool;
  AppFbos app_fbos[MAX_APP_FBOS];
  gint frame_w, frame_h;        /* mode=app: the size caps follow */
  guintptr scene_gl_context;    /* the scene's context handle, or 0 */
  guint64 st_submitted, st_dropped, st_pushed, st_fence_waits;
  guint64 st_submit_errors;
  gboolean warned;

  /* the built-in scene (mode=scene): the streaming thread, and stop() once
   * it has ended */
  GlReadbackScene *scene;
};

enum
{
  PROP_0,
  PROP_MODE,
  PROP_RING_SIZE,
  PROP_FLIP,
  PROP_FENCE_TIMEOUT,
  PROP_FRAMERATE,
  PROP_CONTEXT,
  PROP_STATS,
};

enum
{
  SIGNAL_SUBMIT_FBO,
  SIGNAL_SUBMIT_TEXTURE,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

#define CAPS_STR(feature) \
  "video/x-raw" feature ", format = (string) RGBA, " \
  "width = " GST_VIDEO_SIZE_RANGE ", height = " GST_VIDEO_SIZE_RANGE ", " \
  "framerate = " GST_VIDEO_FPS_RANGE

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (CAPS_STR ("(" GST_CAPS_FEATURE_MEMORY_GL_MEMORY ")")
        ", texture-target = (string) 2D; " CAPS_STR ("")));

#define GST_TYPE_GL_READBACK_SRC_MODE (gst_gl_readback_src_mode_get_type ())
static GType
gst_gl_readback_src_mode_get_type (void)
{
  static GType type;
  static const GEnumValue values[] = {
    {GST_GL_READBACK_SRC_MODE_SCENE,
        "The element renders a built-in animated test scene", "scene"},
    {GST_GL_READBACK_SRC_MODE_APP,
        "The application hands over frames (submit-fbo / submit-texture)",
        "app"},
    {0, NULL, NULL},
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstGLReadbackSrcMode", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

#define gst_gl_readback_src_parent_class parent_class
G_DEFINE_TYPE (GstGLReadbackSrc, gst_gl_readback_src, GST_TYPE_PUSH_SRC);
GST_ELEMENT_REGISTER_DEFINE (glreadbacksrc, "glreadbacksrc", GST_RANK_NONE,
    GST_TYPE_GL_READBACK_SRC);

static void gst_gl_readback_src_finalize (GObject * object);
static void gst_gl_readback_src_set_property (GObject * object,
    guint prop_id, const GValue * value, GParamSpec * pspec);
static void gst_gl_readback_src_get_property (GObject * object,
    guint prop_id, GValue * value, GParamSpec * pspec);
static gboolean gst_gl_readback_src_submit_fbo (GstGLReadbackSrc * src,
    guint fbo, gint width, gint height);
static gboolean gst_gl_readback_src_submit_texture (GstGLReadbackSrc * src,
    guint texture, gint width, gint height);
static void gst_gl_readback_src_set_context (GstElement * element,
    GstContext * context);
static gboolean gst_gl_readback_src_start (GstBaseSrc * bsrc);
static gboolean gst_gl_readback_src_stop (GstBaseSrc * bsrc);
static gboolean gst_gl_readback_src_unlock (GstBaseSrc * bsrc);
static gboolean gst_gl_readback_src_unlock_stop (GstBaseSrc * bsrc);
static gboolean gst_gl_readback_src_negotiate (GstBaseSrc * bsrc);
static GstCaps *gst_gl_readback_src_fixate (GstBaseSrc * bsrc,
    GstCaps * caps);
static gboolean gst_gl_readback_src_set_caps (GstBaseSrc * bsrc,
    GstCaps * caps);
static gboolean gst_gl_readback_src_decide_allocation (GstBaseSrc * bsrc,
    GstQuery * query);
static gboolean gst_gl_readback_src_query (GstBaseSrc * bsrc,
    GstQuery * query);
static GstFlowReturn gst_gl_readback_src_create (GstPushSrc * psrc,
    GstBuffer ** outbuf);

static void
gst_gl_readback_src_class_init (GstGLReadbackSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *bsrc_class = GST_BASE_SRC_CLASS (klass);
  GstPushSrcClass *psrc_class = GST_PUSH_SRC_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_gl_readback_src_debug, "glreadbacksrc", 0,
      "OpenGL framebuffer readback source");

  gobject_class->set_property = gst_gl_readback_src_set_property;
  gobject_class->get_property = gst_gl_readback_src_get_property;
  gobject_class->finalize = gst_gl_readback_src_finalize;

  /**
   * GstGLReadbackSrc:mode:
   *
   * Where frames come from: the element's built-in animated scene, rendered
   * in a GL context of its own at the negotiated rate (for gst-launch and
   * tests), or the application's "submit-fbo" / "submit-texture" calls.
   */
  g_object_class_install_property (gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode", "Where frames come from",
          GST_TYPE_GL_READBACK_SRC_MODE, DEFAULT_MODE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  /**
   * GstGLReadbackSrc:ring-size:
   *
   * Frames in flight between the render loop and the pipeline (pixel
   * buffer objects, or textures for GL-memory output). Two is the least
   * that never makes the render loop wait; more only help when the
   * pipeline's reads are bursty.
   */
  g_object_class_install_property (gobject_class, PROP_RING_SIZE,
      g_param_spec_uint ("ring-size", "Ring size",
          "Frames in flight between the render loop and the pipeline",
          MIN_RING_SIZE, MAX_RING_SIZE, DEFAULT_RING_SIZE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  /**
   * GstGLReadbackSrc:flip:
   *
   * The submitted framebuffer has GL's bottom-up rows (TRUE, the usual
   * case); FALSE when the application already draws upside down (a
   * y-inverted projection), so that rows are taken as they are.
   */
  g_object_class_install_property (gobject_class, PROP_FLIP,
      g_param_spec_boolean ("flip", "Flip",
          "Turn GL's bottom-up rows into top-down ones (during the copy that "
          "is made anyway)", DEFAULT_FLIP,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstGLReadbackSrc:fence-timeout:
   *
   * How long the streaming thread waits for a frame's GPU work (its
   * fence) before it posts an error: a context that was lost or hangs.
   */
  g_object_class_install_property (gobject_class, PROP_FENCE_TIMEOUT,
      g_param_spec_uint ("fence-timeout", "Fence timeout",
          "Milliseconds to wait for a frame's GPU work before an error (a "
          "lost or hung context)", 1, G_MAXUINT / 1000, DEFAULT_FENCE_TIMEOUT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstGLReadbackSrc:framerate:
   *
   * The rate advertised in the caps in mode=app (0/1: variable, frames
   * come when the application submits them). mode=scene uses the
   * negotiated rate (30/1 unless downstream asks otherwise).
   */
  g_object_class_install_property (gobject_class, PROP_FRAMERATE,
      gst_param_spec_fraction ("framerate", "Frame rate",
          "Frame rate advertised in mode=app (0/1: variable)", 0, 1, 1000, 1,
          0, 1, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  /**
   * GstGLReadbackSrc:context:
   *
   * The element's GL context (from READY to PAUSED on): an application
   * without a context of its own may render in it, through
   * gst_gl_context_thread_add(), and submit from there.
   */
  g_object_class_install_property (gobject_class, PROP_CONTEXT,
      g_param_spec_object ("context", "GL context",
          "The element's OpenGL context (shared with the application's)",
          GST_TYPE_GL_CONTEXT, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  /**
   * GstGLReadbackSrc:stats:
   *
   * submitted, pushed, dropped (frames the pipeline was too late for),
   * fence-waits (frames whose GPU work was still running when the
   * pipeline wanted them), submit-errors, gl-memory (the output path).
   */
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "submitted, pushed, dropped, fence-waits (frames whose GPU work "
          "was still running when the pipeline wanted them), submit-errors, "
          "gl-memory", GST_TYPE_STRUCTURE,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * GstGLReadbackSrc::submit-fbo:
   * @src: the element
   * @fbo: a framebuffer object of the current context (0: the default
   *   framebuffer), its colour attachment 0 / read buffer holding the frame
   * @width: the frame's width
   * @height: the frame's height
   *
   * Hands over a frame. Call from the render thread with the context the
   * frame was drawn in current (a context shared with the element's). Only
   * queues GPU work and returns: the framebuffer may be drawn over at once.
   * Bindings and pack state the call touches are restored.
   *
   * Returns: %TRUE if the frame was queued (or dropped because the pipeline
   * is behind); %FALSE on an error, also posted as a warning once.
   */
  signals[SIGNAL_SUBMIT_FBO] = g_signal_new_class_handler ("submit-fbo",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_gl_readback_src_submit_fbo), NULL, NULL, NULL,
      G_TYPE_BOOLEAN, 3, G_TYPE_UINT, G_TYPE_INT, G_TYPE_INT);
  /**
   * GstGLReadbackSrc::submit-texture:
   * @src: the element
   * @texture: a 2D RGBA texture of the current context's share group
   * @width: the frame's width
   * @height: the frame's height
   *
   * Like #GstGLReadbackSrc::submit-fbo, for a frame in a texture.
   */
  signals[SIGNAL_SUBMIT_TEXTURE] =
      g_signal_new_class_handler ("submit-texture", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_gl_readback_src_submit_texture), NULL, NULL, NULL,
      G_TYPE_BOOLEAN, 3, G_TYPE_UINT, G_TYPE_INT, G_TYPE_INT);

  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "OpenGL framebuffer readback source", "Source/Video",
      "Streams an application's OpenGL framebuffer: asynchronous readback "
      "through a ring of pixel buffer objects and fences, or GL memory",
      "gst-vizstream developers");
  element_class->set_context =
      GST_DEBUG_FUNCPTR (gst_gl_readback_src_set_context);

  bsrc_class->start = GST_DEBUG_FUNCPTR (gst_gl_readback_src_start);
  bsrc_class->stop = GST_DEBUG_FUNCPTR (gst_gl_readback_src_stop);
  bsrc_class->unlock = GST_DEBUG_FUNCPTR (gst_gl_readback_src_unlock);
  bsrc_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_gl_readback_src_unlock_stop);
  bsrc_class->negotiate = GST_DEBUG_FUNCPTR (gst_gl_readback_src_negotiate);
  bsrc_class->fixate = GST_DEBUG_FUNCPTR (gst_gl_readback_src_fixate);
  bsrc_class->set_caps = GST_DEBUG_FUNCPTR (gst_gl_readback_src_set_caps);
  bsrc_class->decide_allocation =
      GST_DEBUG_FUNCPTR (gst_gl_readback_src_decide_allocation);
  bsrc_class->query = GST_DEBUG_FUNCPTR (gst_gl_readback_src_query);
  psrc_class->create = GST_DEBUG_FUNCPTR (gst_gl_readback_src_create);

  gst_type_mark_as_plugin_api (GST_TYPE_GL_READBACK_SRC_MODE, 0);
}

static void
gst_gl_readback_src_init (GstGLReadbackSrc * src)
{
  g_mutex_init (&src->lock);
  g_cond_init (&src->cond);
  src->mode = DEFAULT_MODE;
  src->ring_size = DEFAULT_RING_SIZE;
  src->flip = DEFAULT_FLIP;
  src->fence_timeout_ms = DEFAULT_FENCE_TIMEOUT;
  src->fps_n = 0;
  src->fps_d = 1;
  gst_base_src_set_live (GST_BASE_SRC (src), TRUE);
  gst_base_src_set_format (GST_BASE_SRC (src), GST_FORMAT_TIME);
}

static void
gst_gl_readback_src_finalize (GObject * object)
{
  GstGLReadbackSrc *src = GST_GL_READBACK_SRC (object);

  gst_clear_object (&src->other_context);
  gst_clear_object (&src->display);
  g_mutex_clear (&src->lock);
  g_cond_clear (&src->cond);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_gl_readback_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstGLReadbackSrc *src = GST_GL_READBACK_SRC (object);

  GST_OBJECT_LOCK (src);
  switch (prop_id) {
    case PROP_MODE:
      src->mode = g_value_get_enum (value);
      break;
    case PROP_RING_SIZE:
      src->ring_size = g_value_get_uint (value);
      break;
    case PROP_FLIP:
      g_mutex_lock (&src->lock);
      src->flip = g_value_get_boolean (value);
      g_mutex_unlock (&src->lock);
      break;
    case PROP_FENCE_TIMEOUT:
      g_mutex_lock (&src->lock);
      src->fence_timeout_ms = g_value_get_uint (value);
      g_mutex_unlock (&src->lock);
      break;
    case PROP_FRAMERATE:
      src->fps_n = gst_value_get_fraction_numerator (value);
      src->fps_d = gst_value_get_fraction_denominator (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (src);
}

static GstStructure *
stats_new (GstGLReadbackSrc * src)
{
  GstStructure *s;

  g_mutex_lock (&src->lock);
  s = gst_structure_new ("glreadbacksrc-stats",
      "submitted", G_TYPE_UINT64, src->st_submitted,
      "pushed", G_TYPE_UINT64, src->st_pushed,
      "dropped", G_TYPE_UINT64, src->st_dropped,
      "fence-waits", G_TYPE_UINT64, src->st_fence_waits,
      "submit-errors", G_TYPE_UINT64, src->st_submit_errors,
      "gl-memory", G_TYPE_BOOLEAN, src->gl_output, NULL);
  g_mutex_unlock (&src->lock);
  return s;
}

static void
gst_gl_readback_src_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstGLReadbackSrc *src = GST_GL_READBACK_SRC (object);

  switch (prop_id) {
    case PROP_MODE:
      GST_OBJECT_LOCK (src);
      g_value_set_enum (value, src->mode);
      GST_OBJECT_UNLOCK (src);
      break;
    case PROP_RING_SIZE:
      GST_OBJECT_LOCK (src);
      g_value_set_uint (value, src->ring_size);
      GST_OBJECT_UNLOCK (src);
      break;
    case PROP_FLIP:
      g_mutex_lock (&src->lock);
      g_value_set_boolean (value, src->flip);
      g_mutex_unlock (&src->lock);
      break;
    case PROP_FENCE_TIMEOUT:
      g_mutex_lock (&src->lock);
      g_value_set_uint (value, src->fence_timeout_ms);
      g_mutex_unlock (&src->lock);
      break;
    case PROP_FRAMERATE:
      GST_OBJECT_LOCK (src);
      gst_value_set_fraction (value, src->fps_n, src->fps_d);
      GST_OBJECT_UNLOCK (src);
      break;
    case PROP_CONTEXT:
      GST_OBJECT_LOCK (src);
      g_value_set_object (value, src->context);
      GST_OBJECT_UNLOCK (src);
      break;
    case PROP_STATS:
      g_value_take_boxed (value, stats_new (src));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

/* ---- submitting (the application's thread, its context current) ---- */

static const gchar *
gl_error_name (GLenum e)
{
  switch (e) {
    case GL_INVALID_ENUM:
      return "GL_INVALID_ENUM";
    case GL_INVALID_VALUE:
      return "GL_INVALID_VALUE";
    case GL_INVALID_OPERATION:
      return "GL_INVALID_OPERATION";
    case GL_OUT_OF_MEMORY:
      return "GL_OUT_OF_MEMORY";
    case GL_INVALID_FRAMEBUFFER_OPERATION:
      return "GL_INVALID_FRAMEBUFFER_OPERATION";
    default:
      return "unknown GL error";
  }
}

static AppFbos *
app_fbos_for (GstGLReadbackSrc * src, const GstGLFuncs * gl, guintptr handle)
{
  AppFbos *free_one = NULL;
  guint i;

  for (i = 0; i < MAX_APP_FBOS; i++) {
    if (src->app_fbos[i].handle == handle)
      return &src->app_fbos[i];
    if (!src->app_fbos[i].handle && !free_one)
      free_one = &src->app_fbos[i];
  }
  if (!free_one)
    return NULL;
  free_one->handle = handle;
  gl->GenFramebuffers (1, &free_one->read_fbo);
  gl->GenFramebuffers (1, &free_one->draw_fbo);
  return free_one;
}

/* A submitting context is going away (current in this thread): its FBOs
 * are deleted, its entry freed. */
static void
forget_app_fbos_cb (GstGLContext * ctx, gpointer data)
{
  GstGLReadbackSrc *src = data;
  guintptr handle = gst_gl_context_get_gl_context (ctx);
  AppFbos gone = { 0 };
  guint i;

  g_mutex_lock (&src->lock);
  for (i = 0; i < MAX_APP_FBOS; i++) {
    if (src->app_fbos[i].handle == handle) {
      gone = src->app_fbos[i];
      memset (&src->app_fbos[i], 0, sizeof (AppFbos));
    }
  }
  g_mutex_unlock (&src->lock);
  if (gone.handle) {
    ctx->gl_vtable->DeleteFramebuffers (1, &gone.read_fbo);
    ctx->gl_vtable->DeleteFramebuffers (1, &gone.draw_fbo);
  }
}

/* Picks the slot a submit fills: a FREE one, else the oldest PENDING one
 * (its frame is dropped). Called with the lock. */
static Slot *
take_slot_locked (GstGLReadbackSrc * src, GLsync * stale_fence)
{
  Slot *best = NULL;
  guint i;

  *stale_fence = NULL;
  for (i = 0; i < src->n_slots; i++) {
    if (src->slots[i].state == SLOT_FREE)
      return &src->slots[i];
  }
  for (i = 0; i < src->n_slots; i++) {
    Slot *s = &src->slots[i];
    if (s->state == SLOT_PENDING && (!best || s->seq < best->seq))
      best = s;
  }
  if (best) {
    *stale_fence = best->fence;
    best->fence = NULL;
    src->st_dropped++;
  }
  return best;
}

static void
release_slot_locked (GstGLReadbackSrc * src, Slot * slot)
{
  slot->state = SLOT_FREE;
  g_cond_broadcast (&src->cond);
}

/* One hand-over, from the checks to the fence. */
typedef struct
{
  const gchar *what;            /* "submit-fbo" or "submit-texture" */
  guint fbo, texture;           /* the frame: a framebuffer or a texture */
  gint width, height;
  const GstGLFuncs *gl;
  Slot *slot;                   /* SUBMITTING: ours until published */
  AppFbos *fbos;                /* the submitting context's FBOs */
  guint tex_out;                /* GL-memory path: the texture to fill */
  gboolean flip;
  GstClockTime pts;
} Submission;

typedef enum
{
  RESERVE_OK,                   /* sub->slot is ours */
  RESERVE_DROPPED,              /* no room: the frame is dropped, counted */
  RESERVE_ERROR,
} ReserveResult;

/* Checks that a frame can be taken from the calling thread and reserves
 * the slot it goes into; picks the path (GL memory when the caps ask for
 * it and the frame has their size). */
static ReserveResult
submit_reserve (GstGLReadbackSrc * src, Submission * sub, GError ** error)
{
  GstGLPlatform platform;
  guintptr current;
  GLsync stale = NULL;
  gboolean use_gl;

  if (sub->width <= 0 || sub->height <= 0 || sub->width > 16384 ||
      sub->height > 16384) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "%s: %dx%d is not a frame size (1..16384)", sub->what, sub->width,
        sub->height);
    return RESERVE_ERROR;
  }

  g_mutex_lock (&src->lock);
  if (!src->running) {
    g_mutex_unlock (&src->lock);
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
        "%s: the element is not started (frames are taken from PAUSED on)",
        sub->what);
    return RESERVE_ERROR;
  }
  sub->gl = src->context->gl_vtable;
  platform = gst_gl_context_get_gl_platform (src->context);
  current = gst_gl_context_get_current_gl_context (platform);
  if (!current) {
    g_mutex_unlock (&src->lock);
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_FAILED,
        "%s: no GL context is current in this thread (call it from the "
        "render thread, with the context the frame was drawn in current; "
        "was the context lost or destroyed?)", sub->what);
    return RESERVE_ERROR;
  }
  if (!src->other_context &&
      current != gst_gl_context_get_gl_context (src->context) &&
      current != src->scene_gl_context) {
    g_mutex_unlock (&src->lock);
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "%s: the current GL context is not shared with glreadbacksrc's: "
        "give the element your context before it starts (a GstContext "
        "'gst.gl.app_context' holding gst_gl_context_new_wrapped(), see "
        "docs/glreadbacksrc.md)", sub->what);
    return RESERVE_ERROR;
  }
  sub->slot = take_slot_locked (src, &stale);
  if (!sub->slot) {
    /* all slots being read or submitted: cannot happen with ring >= 2 and
     * one submitting thread, but never wait */
    src->st_dropped++;
    g_mutex_unlock (&src->lock);
    return RESERVE_DROPPED;
  }
  sub->slot->state = SLOT_SUBMITTING;
  sub->flip = src->flip;
  use_gl = src->gl_output && src->have_caps &&
      sub->width == GST_VIDEO_INFO_WIDTH (&src->out_info) &&
      sub->height == GST_VIDEO_INFO_HEIGHT (&src->out_info);
  if (use_gl) {
    /* a texture of the pool of the current caps (an older one has the
     * old size) */
    if (sub->slot->glbuf && sub->slot->glbuf->pool == src->glpool)
      sub->tex_out = gst_gl_memory_get_texture_id ((GstGLMemory *)
          gst_buffer_peek_memory (sub->slot->glbuf, 0));
    if (!sub->tex_out) {
      /* the pipeline holds every texture: drop this frame */
      src->st_dropped++;
      release_slot_locked (src, sub->slot);
      g_mutex_unlock (&src->lock);
      if (stale)
        sub->gl->DeleteSync (stale);
      return RESERVE_DROPPED;
    }
  }
  sub->fbos = app_fbos_for (src, sub->gl, current);
  if (!sub->fbos) {
    src->st_submit_errors++;
    release_slot_locked (src, sub->slot);
  }
  g_mutex_unlock (&src->lock);

  if (stale)
    sub->gl->DeleteSync (stale);
  if (!sub->fbos) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "%s: frames come from more than %d GL contexts", sub->what,
        MAX_APP_FBOS);
    return RESERVE_ERROR;
  }
  return RESERVE_OK;
}

/* The frame's PTS: the running time at the hand-over. */
static GstClockTime
submit_running_time (GstGLReadbackSrc * src)
{
  GstClock *clock;
  GstClockTime now, base, pts = GST_CLOCK_TIME_NONE;

  GST_OBJECT_LOCK (src);
  clock = GST_ELEMENT_CLOCK (src) ? gst_object_ref (GST_ELEMENT_CLOCK (src))
      : NULL;
  GST_OBJECT_UNLOCK (src);
  if (clock) {
    now = gst_clock_get_time (clock);
    base = gst_element_get_base_time (GST_ELEMENT (src));
    if (now >= base)
      pts = now - base;
    gst_object_unref (clock);
  }
  return pts;
}

/* Binds the frame as GL_READ_FRAMEBUFFER (a texture through our read FBO),
 * the previous binding in *old_read; FALSE, everything restored, when it
 * cannot be read. */
static gboolean
submit_bind_source (Submission * sub, GLint * old_read, GError ** error)
{
  const GstGLFuncs *gl = sub->gl;
  GLenum status;

  gl->GetIntegerv (GL_READ_FRAMEBUFFER_BINDING, old_read);
  if (sub->texture) {
    gl->BindFramebuffer (GL_READ_FRAMEBUFFER, sub->fbos->read_fbo);
    gl->FramebufferTexture2D (GL_READ_FRAMEBUFFER, GL_COLOR_ATTACHMENT0,
        GL_TEXTURE_2D, sub->texture, 0);
  } else {
    gl->BindFramebuffer (GL_READ_FRAMEBUFFER, sub->fbo);
  }
  status = gl->CheckFramebufferStatus (GL_READ_FRAMEBUFFER);
  if (status == GL_FRAMEBUFFER_COMPLETE)
    return TRUE;

  if (sub->texture)
    gl->FramebufferTexture2D (GL_READ_FRAMEBUFFER, GL_COLOR_ATTACHMENT0,
        GL_TEXTURE_2D, 0, 0);
  gl->BindFramebuffer (GL_READ_FRAMEBUFFER, *old_read);
  while (gl->GetError () != GL_NO_ERROR);
  if (sub->texture)
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "submit-texture: texture %u cannot be read (framebuffer status "
        "0x%04x): is it a complete 2D RGBA texture of this context's share "
        "group?", sub->texture, status);
  else
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "submit-fbo: framebuffer %u is not complete (status 0x%04x)%s",
        sub->fbo, status, sub->fbo == 0 ? ": a surfaceless context has no "
        "default framebuffer, render into an FBO" : "");
  return FALSE;
}

static void
submit_unbind_source (Submission * sub, GLint old_read)
{
  if (sub->texture)
    sub->gl->FramebufferTexture2D (GL_READ_FRAMEBUFFER, GL_COLOR_ATTACHMENT0,
        GL_TEXTURE_2D, 0, 0);
  sub->gl->BindFramebuffer (GL_READ_FRAMEBUFFER, old_read);
}

/* System-memory path: glReadPixels into the slot's pixel buffer object,
 * queued (the streaming thread maps it once the fence signalled). */
static void
submit_read_into_pbo (Submission * sub)
{
  const GstGLFuncs *gl = sub->gl;
  Slot *slot = sub->slot;
  gsize size = (gsize) sub->width * sub->height * 4;
  GLint old_pack = 0, old_align = 4, old_row_length = 0;

  gl->GetIntegerv (GL_PIXEL_PACK_BUFFER_BINDING, &old_pack);
  gl->GetIntegerv (GL_PACK_ALIGNMENT, &old_align);
  gl->GetIntegerv (GL_PACK_ROW_LENGTH, &old_row_length);
  if (!slot->pbo)
    gl->GenBuffers (1, &slot->pbo);
  gl->BindBuffer (GL_PIXEL_PACK_BUFFER, slot->pbo);
  if (slot->pbo_size != size) {
    gl->BufferData (GL_PIXEL_PACK_BUFFER, size, NULL, GL_STREAM_READ);
    slot->pbo_size = size;
  }
  gl->PixelStorei (GL_PACK_ALIGNMENT, 4);
  gl->PixelStorei (GL_PACK_ROW_LENGTH, 0);
  gl->ReadPixels (0, 0, sub->width, sub->height, GL_RGBA, GL_UNSIGNED_BYTE,
      NULL);
  gl->PixelStorei (GL_PACK_ALIGNMENT, old_align);
  gl->PixelStorei (GL_PACK_ROW_LENGTH, old_row_length);
  gl->BindBuffer (GL_PIXEL_PACK_BUFFER, old_pack);
}

/* GL-memory path: a blit into the texture of the slot's GstGL buffer, no
 * readback at all. */
static void
submit_blit_into_texture (Submission * sub)
{
  const GstGLFuncs *gl = sub->gl;
  gint w = sub->width, h = sub->height;
  GLint old_draw = 0;

  gl->GetIntegerv (GL_DRAW_FRAMEBUFFER_BINDING, &old_draw);
  gl->BindFramebuffer (GL_DRAW_FRAMEBUFFER, sub->fbos->draw_fbo);
  gl->FramebufferTexture2D (GL_DRAW_FRAMEBUFFER, GL_COLOR_ATTACHMENT0,
      GL_TEXTURE_2D, sub->tex_out, 0);
  /* GstGL's textures keep the first row at t = 0, GL draws the top row
   * last: the blit that copies anyway also turns the picture over. */
  if (sub->flip)
    gl->BlitFramebuffer (0, 0, w, h, 0, h, w, 0, GL_COLOR_BUFFER_BIT,
        GL_NEAREST);
  else
    gl->BlitFramebuffer (0, 0, w, h, 0, 0, w, h, GL_COLOR_BUFFER_BIT,
        GL_NEAREST);
  gl->FramebufferTexture2D (GL_DRAW_FRAMEBUFFER, GL_COLOR_ATTACHMENT0,
      GL_TEXTURE_2D, 0, 0);
  gl->BindFramebuffer (GL_DRAW_FRAMEBUFFER, old_draw);
}

/* A fence after the queued work, and the slot PENDING for the streaming
 * thread. */
static void
submit_publish (GstGLReadbackSrc * src, Submission * sub)
{
  GLsync fence = sub->gl->FenceSync (GL_SYNC_GPU_COMMANDS_COMPLETE, 0);

  /* the fence must reach the GPU for another context to see it signal */
  sub->gl->Flush ();

  g_mutex_lock (&src->lock);
  sub->slot->fence = fence;
  sub->slot->gl = sub->tex_out != 0;
  sub->slot->width = sub->width;
  sub->slot->height = sub->height;
  sub->slot->pts = sub->pts;
  sub->slot->seq = ++src->seq;
  sub->slot->state = SLOT_PENDING;
  src->st_submitted++;
  g_cond_broadcast (&src->cond);
  g_mutex_unlock (&src->lock);
}

/* Queues a frame's readback (or blit) in the calling thread's context and
 * returns: TRUE when queued or dropped (the pipeline is behind). */
static gboolean
submit_frame (GstGLReadbackSrc * src, guint fbo, guint texture, gint width,
    gint height, GError ** error)
{
  Submission sub = {
    .what = texture ? "submit-texture" : "submit-fbo",
    .fbo = fbo,.texture = texture,.width = width,.height = height,
  };
  GLint old_read = 0;
  GLenum glerr;

  switch (submit_reserve (src, &sub, error)) {
    case RESERVE_OK:
      break;
    case RESERVE_DROPPED:
      return TRUE;
    case RESERVE_ERROR:
      return FALSE;
  }
  sub.pts = submit_running_time (src);

  while (sub.gl->GetError () != GL_NO_ERROR);   /* not ours to report */
  if (!submit_bind_source (&sub, &old_read, error))
    goto failed;
  if (sub.tex_out)
    submit_blit_into_texture (&sub);
  else
    submit_read_into_pbo (&sub);
  submit_unbind_source (&sub, old_read);

  glerr = sub.gl->GetError ();
  if (glerr != GL_NO_ERROR) {
    while (sub.gl->GetError () != GL_NO_ERROR);
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_READ,
        "%s: reading %dx%d RGBA from %s %u failed with %s (0x%04x): is the "
        "frame larger than the framebuffer?", sub.what, width, height,
        texture ? "texture" : "framebuffer", texture ? texture : fbo,
        gl_error_name (glerr), glerr);
    if (!sub.tex_out)
      sub.slot->pbo_size = 0;   /* reallocated next time */
    goto failed;
  }
  submit_publish (src, &sub);
  return TRUE;

failed:
  g_mutex_lock (&src->lock);
  src->st_submit_errors++;
  release_slot_locked (src, sub.slot);
  g_mutex_unlock (&src->lock);
  return FALSE;
}

/* The action signals' handlers: errors are posted as warnings once per
 * message, so a render loop that keeps submitting does not flood the bus. */
static gboolean
submit_common (GstGLReadbackSrc * src, guint fbo, guint texture, gint width,
    gint height)
{
  GError *err = NULL;

  if (submit_frame (src, fbo, texture, width, height, &err))
    return TRUE;
  GST_DEBUG_OBJECT (src, "%s", err->message);
  g_mutex_lock (&src->lock);
  if (!src->warned) {
    src->warned = TRUE;
    g_mutex_unlock (&src->lock);
    GST_ELEMENT_WARNING (src, RESOURCE, FAILED, ("%s", err->message),
        ("later failures of this kind are counted in the stats property"));
  } else {
    g_mutex_unlock (&src->lock);
  }
  g_error_free (err);
  return FALSE;
}

static gboolean
gst_gl_readback_src_submit_fbo (GstGLReadbackSrc * src, guint fbo,
    gint width, gint height)
{
  return submit_common (src, fbo, 0, width, height);
}

static gboolean
gst_gl_readback_src_submit_texture (GstGLReadbackSrc * src, guint texture,
    gint width, gint height)
{
  if (texture == 0) {
    GST_ELEMENT_WARNING (src, RESOURCE, SETTINGS,
        ("submit-texture: texture 0 is not a texture"), (NULL));
    return FALSE;
  }
  return submit_common (src, 0, texture, width, height);
}

/* ---- the built-in scene (mode=scene, glreadbackscene.c) ---- */

/* The scene hands its frames over as an application would. */
static void
scene_submit_cb (guint fbo, gint width, gint height, gpointer user_data)
{
  submit_common (user_data, fbo, 0, width, height);
}

/* The scene follows the negotiated size and rate (30/1 when variable). */
static void
scene_follow_caps (GstGLReadbackSrc * src)
{
  GstVideoInfo info;

  if (!src->scene)
    return;
  g_mutex_lock (&src->lock);
  info = src->out_info;
  g_mutex_unlock (&src->lock);
  gl_readback_scene_set_format (src->scene, GST_VIDEO_INFO_WIDTH (&info),
      GST_VIDEO_INFO_HEIGHT (&info), GST_VIDEO_INFO_FPS_N (&info),
      GST_VIDEO_INFO_FPS_D (&info));
}

static gboolean
scene_start (GstGLReadbackSrc * src)
{
  GError *err = NULL;
  GlReadbackScene *scene;

  if (src->scene)
    return TRUE;
  scene = gl_readback_scene_new (src->context, scene_submit_cb, src, &err);
  if (!scene) {
    GST_ELEMENT_ERROR (src, RESOURCE, NOT_FOUND,
        ("Could not create the scene's OpenGL context: %s", err->message),
        (NULL));
    g_clear_error (&err);
    return FALSE;
  }
  g_mutex_lock (&src->lock);
  src->scene_gl_context =
      gst_gl_context_get_gl_context (gl_readback_scene_get_context (scene));
  g_mutex_unlock (&src->lock);
  src->scene = scene;
  scene_follow_caps (src);
  gl_readback_scene_start (scene);
  return TRUE;
}

static void
scene_stop (GstGLReadbackSrc * src)
{
  GlReadbackScene *scene = g_steal_pointer (&src->scene);

  if (!scene)
    return;
  /* not under lock: a frame being submitted takes it */
  gl_readback_scene_stop (scene);
  /* the context goes: its FBOs with it, and its entry in app_fbos (the
   * next run's context may have the same handle) */
  gst_gl_context_thread_add (gl_readback_scene_get_context (scene),
      forget_app_fbos_cb, src);
  gl_readback_scene_free (scene);
  g_mutex_lock (&src->lock);
  src->scene_gl_context = 0;
  g_mutex_unlock (&src->lock);
}

/* ---- GL context ---- */

static gboolean
context_shares (GstGLReadbackSrc * src, GstGLContext * ctx)
{
  return !src->other_context || gst_gl_context_can_share (ctx,
      src->other_context);
}

static gboolean
ensure_context (GstGLReadbackSrc * src)
{
  GError *err = NULL;
  const GstGLFuncs *gl;
  gint maj = 0, min = 0;

  if (!gst_gl_ensure_element_data (src, &src->display, &src->other_context)) {
    GST_ELEMENT_ERROR (src, RESOURCE, NOT_FOUND,
        ("No OpenGL display"), ("on a machine without a GPU or a display, "
            "set GST_GL_WINDOW=egl-device (Mesa's llvmpipe)"));
    return FALSE;
  }
  gst_gl_display_filter_gl_api (src->display, SUPPORTED_GL_APIS);

  gst_gl_query_local_gl_context (GST_ELEMENT (src), GST_PAD_SRC,
      &src->context);
  if (src->context && !context_shares (src, src->context))
    gst_clear_object (&src->context);
  if (!src->context) {
    GST_OBJECT_LOCK (src->display);
    do {
      gst_clear_object (&src->context);
      src->context = gst_gl_display_get_gl_context_for_thread (src->display,
          NULL);
      if (src->context && !context_shares (src, src->context))
        gst_clear_object (&src->context);
      if (!src->context && !gst_gl_display_create_context (src->display,
              src->other_context, &src->context, &err)) {
        GST_OBJECT_UNLOCK (src->display);
        GST_ELEMENT_ERROR (src, RESOURCE, NOT_FOUND,
            ("No OpenGL context: %s", err ? err->message : "unknown error"),
            ("on a machine without a GPU or a display, set "
                "GST_GL_WINDOW=egl-device (Mesa's llvmpipe)%s",
                src->other_context ? "; or the application's context "
                "cannot be shared" : ""));
        g_clear_error (&err);
        return FALSE;
      }
    } while (!gst_gl_display_add_context (src->display, src->context));
    GST_OBJECT_UNLOCK (src->display);
  }

  gl = src->context->gl_vtable;
  gst_gl_context_get_gl_version (src->context, &maj, &min);
  if (!gl->FenceSync || !gl->ClientWaitSync || !gl->MapBufferRange ||
      !gl->BlitFramebuffer || !gl->GenFramebuffers ||
      !(gst_gl_context_check_gl_version (src->context,
              GST_GL_API_OPENGL | GST_GL_API_OPENGL3, 3, 0) ||
          gst_gl_context_check_gl_version (src->context, GST_GL_API_GLES2, 3,
              0))) {
    GST_ELEMENT_ERROR (src, RESOURCE, SETTINGS,
        ("glreadbacksrc needs OpenGL 3.2 or OpenGL ES 3.0 (pixel buffer "
            "objects, fences, framebuffer blits); this context has %s %d.%d",
            gst_gl_context_get_gl_api (src->context) & GST_GL_API_GLES2 ?
            "OpenGL ES" : "OpenGL", maj, min), (NULL));
    return FALSE;
  }
  GST_INFO_OBJECT (src, "GL context %" GST_PTR_FORMAT " (%d.%d), app context "
      "%" GST_PTR_FORMAT, src->context, maj, min, src->other_context);
  return TRUE;
}

static void
gst_gl_readback_src_set_context (GstElement * element, GstContext * context)
{
  GstGLReadbackSrc *src = GST_GL_READBACK_SRC (element);

  gst_gl_handle_set_context (element, context, &src->display,
      &src->other_context);
  if (src->display)
    gst_gl_display_filter_gl_api (src->display, SUPPORTED_GL_APIS);
  GST_ELEMENT_CLASS (parent_class)->set_context (element, context);
}

/* ---- GL-thread work of the streaming thread ---- */

typedef struct
{
  GstGLReadbackSrc *src;
  Slot *slot;
  GLsync *drop;                 /* fences of dropped frames to delete */
  guint n_drop;
  GstVideoFrame *frame;         /* system memory: where the rows go */
  gboolean flip;
  guint timeout_ms;
  gint result;                  /* 0 ok, 1 flushing, 2 timeout, 3 failed */
  gboolean waited;
} ReadJob;

static void
read_job_cb (GstGLContext * ctx, gpointer data)
{
  ReadJob *job = data;
  const GstGLFuncs *gl = ctx->gl_vtable;
  Slot *slot = job->slot;
  GLenum r;
  gint64 deadline;
  guint i;

  for (i = 0; i < job->n_drop; i++)
    gl->DeleteSync (job->drop[i]);

  /* the ring's promise: nothing leaves before its fence signalled */
  r = gl->ClientWaitSync (slot->fence, 0, 0);
  deadline = g_get_monotonic_time () + (gint64) job->timeout_ms * 1000;
  while (r == GL_TIMEOUT_EXPIRED) {
    job->waited = TRUE;
    if (g_atomic_int_get (&job->src->flushing)) {
      job->result = 1;
      break;
    }
    if (g_get_monotonic_time () > deadline) {
      job->result = 2;
      break;
    }
    r = gl->ClientWaitSync (slot->fence, 0, WAIT_SLICE_NS);
  }
  if (r == GL_WAIT_FAILED)
    job->result = 3;
  gl->DeleteSync (slot->fence);
  slot->fence = NULL;
  if (job->result)
    return;

  if (slot->gl) {
    GstMapInfo map;
    GstMemory *mem = gst_buffer_peek_memory (slot->glbuf, 0);
    /* tell GstGL the texture is newer than any other copy */
    if (gst_memory_map (mem, &map, GST_MAP_WRITE | GST_MAP_GL))
      gst_memory_unmap (mem, &map);
    return;
  } else {
    const guint8 *pixels;
    gsize row = (gsize) slot->width * 4;
    guint8 *dst = GST_VIDEO_FRAME_PLANE_DATA (job->frame, 0);
    gint stride = GST_VIDEO_FRAME_PLANE_STRIDE (job->frame, 0);
    gint y;

    gl->BindBuffer (GL_PIXEL_PACK_BUFFER, slot->pbo);
    pixels = gl->MapBufferRange (GL_PIXEL_PACK_BUFFER, 0, slot->pbo_size,
        GL_MAP_READ_BIT);
    if (!pixels) {
      gl->BindBuffer (GL_PIXEL_PACK_BUFFER, 0);
      job->result = 3;
      return;
    }
    /* GL's rows are bottom-up: turning them over costs nothing here, the
     * rows are copied out of the PBO one by one anyway */
    for (y = 0; y < slot->height; y++) {
      const guint8 *s = pixels + row * (job->flip ? slot->height - 1 - y : y);
      memcpy (dst + (gsize) stride * y, s, row);
    }
    gl->UnmapBuffer (GL_PIXEL_PACK_BUFFER);
    gl->BindBuffer (GL_PIXEL_PACK_BUFFER, 0);
  }
}

static void
ring_cleanup_cb (GstGLContext * ctx, gpointer data)
{
  GstGLReadbackSrc *src = data;
  const GstGLFuncs *gl = ctx->gl_vtable;
  guint i;

  for (i = 0; i < src->n_slots; i++) {
    Slot *s = &src->slots[i];
    if (s->fence)
      gl->DeleteSync (s->fence);
    if (s->pbo)
      gl->DeleteBuffers (1, &s->pbo);
    s->fence = NULL;
    s->pbo = 0;
    s->pbo_size = 0;
  }
}

static void
flush_cb (GstGLContext * ctx, gpointer data)
{
  /* textures just made here become visible to the other contexts */
  ctx->gl_vtable->Flush ();
}

/* Gives FREE slots a texture to blit into (GL-memory output). Streaming
 * thread, so the application's thread never allocates. */
static void
refill_gl_slots (GstGLReadbackSrc * src)
{
  GstBufferPool *pool;
  gboolean got = FALSE;
  guint i;

  g_mutex_lock (&src->lock);
  pool = src->glpool ? gst_object_ref (src->glpool) : NULL;
  g_mutex_unlock (&src->lock);
  if (!pool)
    return;
  for (i = 0; i < src->n_slots; i++) {
    GstBuffer *buf = NULL, *stale = NULL;
    GstBufferPoolAcquireParams params = {.flags =
          GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT
    };
    gboolean need;

    g_mutex_lock (&src->lock);
    if (src->slots[i].state == SLOT_FREE && src->slots[i].glbuf &&
        src->slots[i].glbuf->pool != pool)
      stale = g_steal_pointer (&src->slots[i].glbuf);
    need = src->slots[i].state == SLOT_FREE && !src->slots[i].glbuf;
    g_mutex_unlock (&src->lock);
    /* a texture of the caps before the last renegotiation */
    gst_clear_buffer (&stale);
    if (!need)
      continue;
    if (gst_buffer_pool_acquire_buffer (pool, &buf, &params) != GST_FLOW_OK) {
      GST_DEBUG_OBJECT (src, "no texture free for slot %u", i);
      continue;
    }
    g_mutex_lock (&src->lock);
    if (src->slots[i].state == SLOT_FREE && !src->slots[i].glbuf) {
      src->slots[i].glbuf = buf;
      buf = NULL;
      got = TRUE;
    }
    g_mutex_unlock (&src->lock);
    if (buf)
      gst_buffer_unref (buf);
  }
  if (got)
    gst_gl_context_thread_add (src->context, flush_cb, NULL);
  gst_object_unref (pool);
}

/* ---- negotiation and allocation ---- */

static GstCaps *
caps_for_size (GstGLReadbackSrc * src, gint w, gint h)
{
  GstCaps *caps = gst_pad_get_pad_template_caps (GST_BASE_SRC_PAD (src));
  gint fps_n, fps_d;

  GST_OBJECT_LOCK (src);
  fps_n = src->fps_n;
  fps_d = src->fps_d;
  GST_OBJECT_UNLOCK (src);
  caps = gst_caps_make_writable (caps);
  gst_caps_set_simple (caps, "width", G_TYPE_INT, w, "height", G_TYPE_INT, h,
      "framerate", GST_TYPE_FRACTION, fps_n, fps_d, "pixel-aspect-ratio",
      GST_TYPE_FRACTION, 1, 1, NULL);
  return caps;
}

static void
post_not_negotiated (GstGLReadbackSrc * src, GstCaps * offered)
{
  GstCaps *peer = gst_pad_peer_query_caps (GST_BASE_SRC_PAD (src), NULL);
  gchar *p = gst_caps_to_string (peer);

  GST_ELEMENT_ERROR (src, STREAM, FORMAT,
      ("glreadbacksrc produces RGBA (video/x-raw or GL memory), which the "
          "next element does not accept: put videoconvert (or glcolorconvert) "
          "after it"), ("downstream accepts %s; offered %" GST_PTR_FORMAT, p,
          offered));
  g_free (p);
  gst_caps_unref (peer);
}

/* App mode: caps follow the size of the frames handed over; GL memory
 * first when downstream takes it. Textures of the previous caps are
 * recognised by their pool and dropped (the frame in them too). */
static gboolean
negotiate_size (GstGLReadbackSrc * src, gint w, gint h)
{
  GstCaps *ours = caps_for_size (src, w, h);

  GstCaps *caps = gst_pad_peer_query_caps (GST_BASE_SRC_PAD (src), ours);
  gboolean ok;

  if (gst_caps_is_empty (caps)) {
    post_not_negotiated (src, ours);
    gst_caps_unref (ours);
    gst_caps_unref (caps);
    return FALSE;
  }
  gst_caps_unref (ours);
  caps = gst_caps_fixate (caps);
  ok = gst_base_src_set_caps (GST_BASE_SRC (src), caps);
  if (!ok)
    post_not_negotiated (src, caps);
  gst_caps_unref (caps);
  return ok;
}

static gboolean
gst_gl_readback_src_negotiate (GstBaseSrc * bsrc)
{
  GstGLReadbackSrc *src = GST_GL_READBACK_SRC (bsrc);
  GstGLReadbackSrcMode mode;

  GST_OBJECT_LOCK (src);
  mode = src->mode;
  GST_OBJECT_UNLOCK (src);
  if (mode == GST_GL_READBACK_SRC_MODE_APP) {
    gint w, h;
    g_mutex_lock (&src->lock);
    w = src->frame_w;
    h = src->frame_h;
    g_mutex_unlock (&src->lock);
    /* before the first frame the size is unknown: create() negotiates */
    return w > 0 ? negotiate_size (src, w, h) : TRUE;
  }
  if (!GST_BASE_SRC_CLASS (parent_class)->negotiate (bsrc)) {
    GstCaps *t = gst_pad_get_pad_template_caps (GST_BASE_SRC_PAD (src));
    post_not_negotiated (src, t);
    gst_caps_unref (t);
    return FALSE;
  }
  return TRUE;
}

static GstCaps *
gst_gl_readback_src_fixate (GstBaseSrc * bsrc, GstCaps * caps)
{
  GstStructure *s;

  caps = gst_caps_make_writable (caps);
  caps = gst_caps_truncate (caps);      /* the first: GL memory if taken */
  s = gst_caps_get_structure (caps, 0);
  gst_structure_fixate_field_nearest_int (s, "width", 1280);
  gst_structure_fixate_field_nearest_int (s, "height", 720);
  gst_structure_fixate_field_nearest_fraction (s, "framerate", 30, 1);
  if (gst_structure_has_field (s, "pixel-aspect-ratio"))
    gst_structure_fixate_field_nearest_fraction (s, "pixel-aspect-ratio", 1,
        1);
  return GST_BASE_SRC_CLASS (parent_class)->fixate (bsrc, caps);
}

static gboolean
gst_gl_readback_src_set_caps (GstBaseSrc * bsrc, GstCaps * caps)
{
  GstGLReadbackSrc *src = GST_GL_READBACK_SRC (bsrc);
  GstVideoInfo info;
  GstCapsFeatures *f = gst_caps_get_features (caps, 0);

  if (!gst_video_info_from_caps (&info, caps))
    return FALSE;
  g_mutex_lock (&src->lock);
  src->out_info = info;
  src->have_caps = TRUE;
  src->gl_output = f && gst_caps_features_contains (f,
      GST_CAPS_FEATURE_MEMORY_GL_MEMORY);
  g_mutex_unlock (&src->lock);
  scene_follow_caps (src);
  GST_INFO_OBJECT (src, "caps %" GST_PTR_FORMAT, caps);
  return TRUE;
}

static gboolean
gst_gl_readback_src_decide_allocation (GstBaseSrc * bsrc, GstQuery * query)
{
  GstGLReadbackSrc *src = GST_GL_READBACK_SRC (bsrc);
  GstCaps *caps;
  GstVideoInfo info;
  GstBufferPool *pool = NULL, *old;
  GstStructure *config;
  guint size, min = 0, max = 0;
  gboolean gl_output;

  gst_query_parse_allocation (query, &caps, NULL);
  GST_DEBUG_OBJECT (src, "allocation for %" GST_PTR_FORMAT, caps);
  if (!caps)
    return TRUE;                /* mode=app before the first frame */
  if (!gst_video_info_from_caps (&info, caps))
    return FALSE;
  g_mutex_lock (&src->lock);
  gl_output = src->gl_output;
  g_mutex_unlock (&src->lock);

  if (gst_query_get_n_allocation_pools (query) > 0)
    gst_query_parse_nth_allocation_pool (query, 0, &pool, &size, &min, &max);
  size = info.size;
  if (gl_output) {
    /* our own pool: its textures must live in our share group */
    gst_clear_object (&pool);
    pool = gst_gl_buffer_pool_new (src->context);
    min = MAX (min, src->n_slots + 2);
    max = 0;
  } else if (!pool || GST_IS_GL_BUFFER_POOL (pool)) {
    gst_clear_object (&pool);
    pool = gst_video_buffer_pool_new ();
  }
  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, caps, size, min, max);
  if (gst_query_find_allocation_meta (query, GST_VIDEO_META_API_TYPE, NULL))
    gst_buffer_pool_config_add_option (config,
        GST_BUFFER_POOL_OPTION_VIDEO_META);
  if (gl_output)
    gst_buffer_pool_config_add_option (config,
        GST_BUFFER_POOL_OPTION_GL_TEXTURE_TARGET_2D);
  if (!gst_buffer_pool_set_config (pool, config)) {
    GST_ELEMENT_ERROR (src, RESOURCE, SETTINGS,
        ("The buffer pool does not take %" GST_PTR_FORMAT, caps), (NULL));
    gst_object_unref (pool);
    return FALSE;
  }
  if (gst_query_get_n_allocation_pools (query) > 0)
    gst_query_set_nth_allocation_pool (query, 0, pool, size, min, max);
  else
    gst_query_add_allocation_pool (query, pool, size, min, max);

  g_mutex_lock (&src->lock);
  old = src->glpool;
  src->glpool = gl_output ? gst_object_ref (pool) : NULL;
  for (guint i = 0; i < src->n_slots; i++) {
    /* textures of the old size or pool go back */
    if (src->slots[i].state == SLOT_FREE && src->slots[i].glbuf)
      gst_clear_buffer (&src->slots[i].glbuf);
  }
  g_mutex_unlock (&src->lock);
  gst_clear_object (&old);
  gst_object_unref (pool);
  return TRUE;
}

static gboolean
gst_gl_readback_src_query (GstBaseSrc * bsrc, GstQuery * query)
{
  GstGLReadbackSrc *src = GST_GL_READBACK_SRC (bsrc);

  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_CONTEXT:
      if (gst_gl_handle_context_query (GST_ELEMENT (src), query, src->display,
              src->context, src->other_context))
        return TRUE;
      break;
    case GST_QUERY_LATENCY:{
      GstClockTime min = 0;
      g_mutex_lock (&src->lock);
      if (src->have_caps && GST_VIDEO_INFO_FPS_N (&src->out_info) > 0)
        min = gst_util_uint64_scale (GST_SECOND,
            GST_VIDEO_INFO_FPS_D (&src->out_info),
            GST_VIDEO_INFO_FPS_N (&src->out_info));
      g_mutex_unlock (&src->lock);
      /* a frame is read back while the next one renders */
      gst_query_set_latency (query, TRUE, min, GST_CLOCK_TIME_NONE);
      return TRUE;
    }
    default:
      break;
  }
  return GST_BASE_SRC_CLASS (parent_class)->query (bsrc, query);
}

/* ---- streaming ---- */

typedef struct
{
  GLsync *fences;
  guint n;
} FenceList;

static void
delete_fences_cb (GstGLContext * ctx, gpointer data)
{
  FenceList *l = data;
  for (guint i = 0; i < l->n; i++)
    ctx->gl_vtable->DeleteSync (l->fences[i]);
}

/* Fences of frames never read: deleted in our context (sync objects are
 * shared with the application's). */
static void
delete_fences (GstGLReadbackSrc * src, GLsync * fences, guint n)
{
  FenceList l = { fences, n };
  if (n)
    gst_gl_context_thread_add (src->context, delete_fences_cb, &l);
}

/* A slot the streaming thread took but will not push: back to FREE, its
 * fence deleted with those of the frames dropped before it (drop has room
 * for one more: at most ring-size fences). */
static void
abandon_slot (GstGLReadbackSrc * src, Slot * slot, GLsync * drop,
    guint n_drop, gboolean count_dropped)
{
  g_mutex_lock (&src->lock);
  if (slot->fence)
    drop[n_drop++] = slot->fence;
  slot->fence = NULL;
  src->st_dropped += count_dropped;
  release_slot_locked (src, slot);
  g_mutex_unlock (&src->lock);
  delete_fences (src, drop, n_drop);
}

static GstFlowReturn
gst_gl_readback_src_create (GstPushSrc * psrc, GstBuffer ** outbuf)
{
  GstGLReadbackSrc *src = GST_GL_READBACK_SRC (psrc);
  GstGLReadbackSrcMode mode;

  GST_OBJECT_LOCK (src);
  mode = src->mode;
  GST_OBJECT_UNLOCK (src);
  if (mode == GST_GL_READBACK_SRC_MODE_SCENE && !scene_start (src))
    return GST_FLOW_ERROR;

  for (;;) {
    Slot *slot = NULL;
    GLsync drop[MAX_RING_SIZE];
    ReadJob job = { 0 };
    GstBuffer *buf = NULL;
    GstVideoFrame frame;
    gboolean have, gl_output, mismatch;
    guint i;

    refill_gl_slots (src);

    g_mutex_lock (&src->lock);
    for (;;) {
      if (src->flushing) {
        g_mutex_unlock (&src->lock);
        return GST_FLOW_FLUSHING;
      }
      for (i = 0; i < src->n_slots; i++) {
        Slot *s = &src->slots[i];
        if (s->state == SLOT_PENDING && (!slot || s->seq > slot->seq))
          slot = s;
      }
      if (slot)
        break;
      g_cond_wait (&src->cond, &src->lock);
    }
    slot->state = SLOT_READING;
    for (i = 0; i < src->n_slots; i++) {
      Slot *s = &src->slots[i];
      if (s->state == SLOT_PENDING) {
        drop[job.n_drop++] = s->fence;
        s->fence = NULL;
        s->state = SLOT_FREE;
        src->st_dropped++;
      }
    }
    src->last_out = slot->seq;
    have = src->have_caps;
    gl_output = src->gl_output;
    mismatch = !have || slot->width != GST_VIDEO_INFO_WIDTH (&src->out_info)
        || slot->height != GST_VIDEO_INFO_HEIGHT (&src->out_info);
    job.flip = src->flip;
    job.timeout_ms = src->fence_timeout_ms;
    g_mutex_unlock (&src->lock);

    if (mismatch) {
      if (mode == GST_GL_READBACK_SRC_MODE_APP) {
        g_mutex_lock (&src->lock);
        src->frame_w = slot->width;
        src->frame_h = slot->height;
        g_mutex_unlock (&src->lock);
        /* caps and a buffer pool for the new size */
        if (!gst_base_src_negotiate (GST_BASE_SRC (src)))
          job.result = -1;
      } else {
        /* the scene follows the caps; an old-size frame is dropped */
        job.result = -2;
      }
      g_mutex_lock (&src->lock);
      gl_output = src->gl_output;
      g_mutex_unlock (&src->lock);
    }
    if (!job.result && slot->gl != gl_output)
      job.result = -2;          /* made for the other memory: drop it */
    if (!job.result && slot->gl) {
      g_mutex_lock (&src->lock);
      if (!slot->glbuf || slot->glbuf->pool != src->glpool)
        job.result = -2;        /* a texture of the caps before these */
      g_mutex_unlock (&src->lock);
    }

    if (!job.result && !slot->gl) {
      GstBufferPool *pool = gst_base_src_get_buffer_pool (GST_BASE_SRC (src));
      GstFlowReturn fr = GST_FLOW_ERROR;
      if (!pool)
        GST_ELEMENT_ERROR (src, CORE, NEGOTIATION, ("No buffer pool"), (NULL));
      else {
        fr = gst_buffer_pool_acquire_buffer (pool, &buf, NULL);
        gst_object_unref (pool);
      }
      if (fr != GST_FLOW_OK || !gst_video_frame_map (&frame, &src->out_info,
              buf, GST_MAP_WRITE)) {
        gst_clear_buffer (&buf);
        abandon_slot (src, slot, drop, job.n_drop, FALSE);
        return fr == GST_FLOW_OK ? GST_FLOW_ERROR : fr;
      }
      job.frame = &frame;
    }

    if (job.result) {
      /* only the fences to delete */
      abandon_slot (src, slot, drop, job.n_drop, job.result == -2);
      if (job.result == -1)
        return GST_FLOW_NOT_NEGOTIATED;
      continue;
    }

    job.src = src;
    job.slot = slot;
    job.drop = drop;
    gst_gl_context_thread_add (src->context, read_job_cb, &job);
    if (job.frame)
      gst_video_frame_unmap (&frame);

    g_mutex_lock (&src->lock);
    if (job.waited)
      src->st_fence_waits++;
    if (!job.result && slot->gl) {
      buf = slot->glbuf;
      slot->glbuf = NULL;
    }
    release_slot_locked (src, slot);
    if (!job.result)
      src->st_pushed++;
    g_mutex_unlock (&src->lock);

    if (job.result) {
      gst_clear_buffer (&buf);
      if (job.result == 1)
        return GST_FLOW_FLUSHING;
      if (job.result == 2)
        GST_ELEMENT_ERROR (src, RESOURCE, READ,
            ("GL readback did not complete: the fence of frame %"
                G_GUINT64_FORMAT " was not signalled after %u ms",
                slot->seq, job.timeout_ms),
            ("the application's GL context was lost, hung or destroyed "
                "before its commands ran (fence-timeout property)"));
      else
        GST_ELEMENT_ERROR (src, RESOURCE, READ,
            ("GL readback failed: waiting for the fence or mapping the "
                "pixel buffer of frame %" G_GUINT64_FORMAT " failed (GL "
                "context lost?)", slot->seq), (NULL));
      return GST_FLOW_ERROR;
    }

    GST_BUFFER_PTS (buf) = slot->pts;
    GST_BUFFER_DTS (buf) = GST_CLOCK_TIME_NONE;
    GST_BUFFER_OFFSET (buf) = slot->seq;
    if (GST_VIDEO_INFO_FPS_N (&src->out_info) > 0)
      GST_BUFFER_DURATION (buf) = gst_util_uint64_scale (GST_SECOND,
          GST_VIDEO_INFO_FPS_D (&src->out_info),
          GST_VIDEO_INFO_FPS_N (&src->out_info));
    *outbuf = buf;
    return GST_FLOW_OK;
  }
}

static gboolean
gst_gl_readback_src_unlock (GstBaseSrc * bsrc)
{
  GstGLReadbackSrc *src = GST_GL_READBACK_SRC (bsrc);

  g_mutex_lock (&src->lock);
  g_atomic_int_set (&src->flushing, TRUE);
  g_cond_broadcast (&src->cond);
  g_mutex_unlock (&src->lock);
  return TRUE;
}

static gboolean
gst_gl_readback_src_unlock_stop (GstBaseSrc * bsrc)
{
  GstGLReadbackSrc *src = GST_GL_READBACK_SRC (bsrc);

  g_mutex_lock (&src->lock);
  g_atomic_int_set (&src->flushing, FALSE);
  g_mutex_unlock (&src->lock);
  return TRUE;
}

static gboolean
gst_gl_readback_src_start (GstBaseSrc * bsrc)
{
  GstGLReadbackSrc *src = GST_GL_READBACK_SRC (bsrc);
  guint ring;

  if (!ensure_context (src))
    return FALSE;
  GST_OBJECT_LOCK (src);
  ring = src->ring_size;
  GST_OBJECT_UNLOCK (src);

  g_mutex_lock (&src->lock);
  src->slots = g_new0 (Slot, ring);
  src->n_slots = ring;
  src->seq = src->last_out = 0;
  src->have_caps = FALSE;
  src->frame_w = src->frame_h = 0;
  src->gl_output = FALSE;
  gst_video_info_init (&src->out_info);
  src->st_submitted = src->st_dropped = src->st_pushed = 0;
  src->st_fence_waits = src->st_submit_errors = 0;
  src->warned = FALSE;
  /* the previous run's submitting contexts may be gone and their handles
   * reused: FBO names are looked up again (an application context that
   * lives on keeps two empty FBOs of the last run) */
  memset (src->app_fbos, 0, sizeof (src->app_fbos));
  g_atomic_int_set (&src->flushing, FALSE);
  src->running = TRUE;
  g_mutex_unlock (&src->lock);
  return TRUE;
}

static gboolean
gst_gl_readback_src_stop (GstBaseSrc * bsrc)
{
  GstGLReadbackSrc *src = GST_GL_READBACK_SRC (bsrc);
  guint i;

  scene_stop (src);
  /* no submit is in progress once this is FALSE: a submitting thread holds
   * its slot in SUBMITTING, wait for it */
  g_mutex_lock (&src->lock);
  src->running = FALSE;
  for (;;) {
    gboolean busy = FALSE;
    for (i = 0; i < src->n_slots; i++)
      busy |= src->slots[i].state == SLOT_SUBMITTING;
    if (!busy)
      break;
    g_cond_wait (&src->cond, &src->lock);
  }
  g_mutex_unlock (&src->lock);

  if (src->context && src->slots)
    gst_gl_context_thread_add (src->context, ring_cleanup_cb, src);
  g_mutex_lock (&src->lock);
  for (i = 0; i < src->n_slots; i++)
    gst_clear_buffer (&src->slots[i].glbuf);
  g_clear_pointer (&src->slots, g_free);
  src->n_slots = 0;
  gst_clear_object (&src->glpool);
  src->have_caps = FALSE;
  g_mutex_unlock (&src->lock);
  gst_clear_object (&src->context);
  return TRUE;
}
