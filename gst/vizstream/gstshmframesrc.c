/* gst-vizstream: shmframesrc
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:element-shmframesrc
 * @title: shmframesrc
 *
 * Reads the newest frame of a renderer's shared frame ring (created with
 * the vizstream library, see docs/protocol.md) and pushes it as raw video.
 * It is a live source: it waits for the renderer to appear, sleeps until a
 * new frame is published, survives the renderer restarting under the same
 * name, and renegotiates caps when the renderer resizes.
 *
 * Navigation events reaching it from downstream (a click or a key press in
 * a video sink's window, or any element sending GstNavigation events) are
 * written into the renderer's event queue, so `shmframesrc ! videoconvert !
 * autovideosink` is an interactive viewer. Coordinates arrive in this
 * element's frame pixels: elements that scale (videoscale) translate
 * navigation events on their way upstream.
 *
 * Besides the renderer's own format it offers I420 and NV12 (BT.601,
 * limited range) for the RGB formats, converted with libyuv on the way
 * out of shared memory, when downstream asks for them: the renderer's
 * format comes first, so a downstream that takes RGB gets it unchanged.
 *
 * Each buffer carries the renderer's publish time as a
 * #GstReferenceTimestampMeta (`timestamp/x-unix`) and a custom meta named
 * `VizStreamFrameMeta` with the frame number; GST_BUFFER_OFFSET is the
 * frame number too.
 *
 * ## Example launch line
 * |[
 * vizstream-demo --segment viz --size 1280x720 &
 * gst-launch-1.0 shmframesrc segment=viz ! videoconvert ! autovideosink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstshmframesrc.h"
#include "gstvizstreamelements.h"

#include <gst/video/video.h>
#include <math.h>
#include <string.h>
#include <vizstream.h>

#ifdef HAVE_LIBYUV
#include <libyuv/convert.h>
#include <libyuv/convert_from_argb.h>
#include <libyuv/planar_functions.h>
#endif

GST_DEBUG_CATEGORY_STATIC (gst_shm_frame_src_debug);
#define GST_CAT_DEFAULT gst_shm_frame_src_debug

enum
{
  PROP_0,
  PROP_SEGMENT,
  PROP_RENDERER_TIMEOUT,
  PROP_KEEP_WAITING,
  PROP_MAX_FRAMERATE,
  PROP_REPEAT_AFTER,
  PROP_STATS,
};

#define DEFAULT_SEGMENT NULL
#define DEFAULT_RENDERER_TIMEOUT 0
#define DEFAULT_KEEP_WAITING TRUE
#define DEFAULT_MAX_FRAMERATE_N 0
#define DEFAULT_MAX_FRAMERATE_D 1

/* A segment that exists but stays unusable this long is an error (its
 * renderer may be half-way through creating it before that). */
#define INVALID_GRACE_NS (2 * GST_SECOND)
/* How often to look for a renderer that is not there (there is no
 * notification for a new shared-memory object). */
#define ABSENT_POLL_US (20 * G_TIME_SPAN_MILLISECOND)
/* Warn once when waiting this long for an absent renderer. */
#define ABSENT_WARN_NS (5 * GST_SECOND)
/* Reported latency when no frame-rate cap says more: one frame at 60 fps. */
#define DEFAULT_LATENCY (GST_SECOND / 60)

#define FORMATS "{ RGBA, BGRA, RGBx, BGRx, ARGB, ABGR, xRGB, xBGR, RGB, BGR, " \
    "GRAY8, GRAY16_LE }"

/* What libyuv produces: BT.601 matrix, limited range; chroma averaged over
 * 2x2 pixels, i.e. centred between them (the "jpeg" chroma site). */
#define YUV_COLORIMETRY "bt601"
#define YUV_CHROMA_SITE "jpeg"

#ifdef HAVE_LIBYUV
#define SRC_CAPS GST_VIDEO_CAPS_MAKE (FORMATS) "; " \
    GST_VIDEO_CAPS_MAKE ("{ I420, NV12 }") \
    ", colorimetry = (string) " YUV_COLORIMETRY \
    ", chroma-site = (string) " YUV_CHROMA_SITE
#else
#define SRC_CAPS GST_VIDEO_CAPS_MAKE (FORMATS)
#endif

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (SRC_CAPS));

/* The per-format step of the copy: the frame peeked, into the mapped
 * output buffer; a VZ_ result (VZ_ERR_TORN: the renderer reused the slot).
 * Chosen in set_caps. */
typedef int (*ShmCopyFunc) (GstShmFrameSrc * self, const VzFrame * f,
    GstVideoFrame * out);

#ifdef HAVE_LIBYUV
/* libyuv's converters, named by the word order of a little-endian 32-bit
 * pixel: its "ABGR" is R, G, B, A in memory (GStreamer's RGBA), its
 * "RGB24" B, G, R (GStreamer's BGR) and its "RAW" R, G, B. */
typedef int (*ToI420Func) (const uint8_t * src, int src_stride,
    uint8_t * y, int y_stride, uint8_t * u, int u_stride, uint8_t * v,
    int v_stride, int width, int height);
typedef int (*ToNV12Func) (const uint8_t * src, int src_stride,
    uint8_t * y, int y_stride, uint8_t * uv, int uv_stride, int width,
    int height);

typedef struct
{
  VzFormat format;
  ToI420Func to_i420;
  ToNV12Func to_nv12;           /* NULL: I420's converter, then U, V merged */
} ShmConversion;

/* *INDENT-OFF* */
static const ShmConversion conversions[] = {
  { VZ_FORMAT_RGBA, ABGRToI420,  ABGRToNV12 },
  { VZ_FORMAT_RGBX, ABGRToI420,  ABGRToNV12 },
  { VZ_FORMAT_BGRA, ARGBToI420,  ARGBToNV12 },
  { VZ_FORMAT_BGRX, ARGBToI420,  ARGBToNV12 },
  { VZ_FORMAT_ARGB, BGRAToI420,  NULL },
  { VZ_FORMAT_XRGB, BGRAToI420,  NULL },
  { VZ_FORMAT_ABGR, RGBAToI420,  NULL },
  { VZ_FORMAT_XBGR, RGBAToI420,  NULL },
  { VZ_FORMAT_RGB,  RAWToI420,   NULL },
  { VZ_FORMAT_BGR,  RGB24ToI420, NULL },
};
/* *INDENT-ON* */
#endif

struct _GstShmFrameSrc
{
  GstPushSrc parent;

  /* properties: the object lock */
  gchar *segment;
  guint64 renderer_timeout;
  gboolean keep_waiting;
  gint max_fps_n, max_fps_d;
  guint repeat_after;           /* ms, 0 = never */

  /* the object lock (shared with unlock()); reader is set and cleared by
   * the streaming thread (and stop()), which reads it without the lock */
  VzReader *reader;
  gboolean flushing;
  GCond cond;                   /* waited on with the object lock */

  /* copied from the properties in start() (the cap under the object
   * lock: get_caps reads it); constant while streaming */
  gchar *segment_name;
  guint64 timeout;
  gboolean keep_waiting_now;
  GstClockTime min_interval;    /* 0 = no cap */
  gint64 repeat_us;             /* 0 = never */
  gint cap_n, cap_d;

  /* written under the object lock (get_caps and the stats read them from
   * other threads); the streaming thread, their only writer, reads them
   * without it */
  GstVideoInfo info;            /* what is negotiated now */
  VzFormat cur_format;          /* the renderer's format it is for */
  gboolean have_info;
  VzFrame pending;              /* frame the next negotiation is for */
  gboolean have_pending;
  guint64 last_frame;           /* frame number of the last push */

  /* the streaming thread only (set_caps runs there: negotiation is
   * create()'s or the streaming loop's) */
  ShmCopyFunc copy;             /* the negotiated format's copy */
#ifdef HAVE_LIBYUV
  const ShmConversion *conversion;
  VzReadFunc convert;           /* conversion's, for the negotiated YUV */
#endif
  guint8 *scratch;              /* U and V before they are interleaved */
  gsize scratch_size;
  gint64 last_push_us;          /* g_get_monotonic_time of last push */
  gint64 next_slot_us;          /* the frame-rate cap's next slot (0: none) */
  GstClockTime last_pts;
  guint64 absent_since;         /* monotonic ns, 0 when present */
  guint64 invalid_since;
  gboolean warned_absent;

  /* navigation events -> the renderer's event queue: nav_lock, taken
   * before the object lock */
  GMutex nav_lock;
  VzProducer *producer;

  /* statistics: the object lock */
  guint64 events_sent, events_dropped;
  guint64 frames_read;
  guint64 frames_missed;
  guint64 torn_retries;
  guint64 stalled_waits;
  guint64 resizes;
  guint64 repeats;
  guint64 connects;
  guint64 latency_last, latency_sum, latency_max;
};

#define gst_shm_frame_src_parent_class parent_class
G_DEFINE_TYPE (GstShmFrameSrc, gst_shm_frame_src, GST_TYPE_PUSH_SRC);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (shmframesrc, "shmframesrc",
    GST_RANK_NONE, GST_TYPE_SHM_FRAME_SRC, vizstream_element_init (plugin));

static void gst_shm_frame_src_finalize (GObject * object);
static void gst_shm_frame_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_shm_frame_src_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static gboolean gst_shm_frame_src_start (GstBaseSrc * bsrc);
static gboolean gst_shm_frame_src_stop (GstBaseSrc * bsrc);
static gboolean gst_shm_frame_src_unlock (GstBaseSrc * bsrc);
static gboolean gst_shm_frame_src_unlock_stop (GstBaseSrc * bsrc);
static GstCaps *gst_shm_frame_src_get_caps (GstBaseSrc * bsrc,
    GstCaps * filter);
static gboolean gst_shm_frame_src_negotiate (GstBaseSrc * bsrc);
static gboolean gst_shm_frame_src_set_caps (GstBaseSrc * bsrc,
    GstCaps * caps);
static gboolean gst_shm_frame_src_decide_allocation (GstBaseSrc * bsrc,
    GstQuery * query);
static gboolean gst_shm_frame_src_query (GstBaseSrc * bsrc, GstQuery * query);
static gboolean gst_shm_frame_src_event (GstBaseSrc * bsrc, GstEvent * event);
static GstFlowReturn gst_shm_frame_src_create (GstPushSrc * psrc,
    GstBuffer ** buf);

static void
gst_shm_frame_src_class_init (GstShmFrameSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *basesrc_class = GST_BASE_SRC_CLASS (klass);
  GstPushSrcClass *pushsrc_class = GST_PUSH_SRC_CLASS (klass);

  gobject_class->finalize = gst_shm_frame_src_finalize;
  gobject_class->set_property = gst_shm_frame_src_set_property;
  gobject_class->get_property = gst_shm_frame_src_get_property;

  /**
   * GstShmFrameSrc:segment:
   *
   * Name of the renderer's shared segment (a POSIX shared-memory name,
   * with or without its leading '/').
   */
  g_object_class_install_property (gobject_class, PROP_SEGMENT,
      vizstream_param_spec_segment ());

  /**
   * GstShmFrameSrc:renderer-timeout:
   *
   * How long to wait for an absent renderer (not started yet, or gone and
   * not back) before posting an error, in nanoseconds; 0 waits forever.
   * A renderer that is there but publishes nothing new (a still scene) is
   * not absent.
   */
  g_object_class_install_property (gobject_class, PROP_RENDERER_TIMEOUT,
      g_param_spec_uint64 ("renderer-timeout", "Renderer timeout",
          "How long to wait for an absent renderer before an error, in ns "
          "(0 = forever)", 0, G_MAXUINT64, DEFAULT_RENDERER_TIMEOUT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstShmFrameSrc:keep-waiting:
   *
   * When the renderer closes its segment or dies: keep waiting for it to
   * come back under the same name and resume (TRUE), or end the stream
   * with EOS (FALSE).
   */
  g_object_class_install_property (gobject_class, PROP_KEEP_WAITING,
      g_param_spec_boolean ("keep-waiting", "Keep waiting",
          "When the renderer goes away, wait for it to come back (TRUE) or "
          "send EOS (FALSE)", DEFAULT_KEEP_WAITING,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstShmFrameSrc:max-framerate:
   *
   * Push at most this many frames per second (always the newest frame);
   * 0/1 pushes every new frame as soon as it is published.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_FRAMERATE,
      gst_param_spec_fraction ("max-framerate", "Maximum frame rate",
          "Push at most this many frames per second (0/1 = no cap)",
          0, 1, G_MAXINT, 1, DEFAULT_MAX_FRAMERATE_N,
          DEFAULT_MAX_FRAMERATE_D, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));

  /**
   * GstShmFrameSrc:repeat-after:
   *
   * When the renderer publishes nothing for this many milliseconds, push
   * its newest frame again (time-stamped now, counted in the stats'
   * repeats), and so on at this interval: an encoder asked for a key frame
   * for a new viewer, or a viewer joining an idle renderer, gets a picture
   * without waiting for the renderer to draw. 0: never (every buffer is a
   * new frame).
   */
  g_object_class_install_property (gobject_class, PROP_REPEAT_AFTER,
      g_param_spec_uint ("repeat-after", "Repeat after",
          "Push the newest frame again after this many ms without a new "
          "one (0 = never)", 0, 3600 * 1000, 0, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));

  /**
   * GstShmFrameSrc:stats:
   *
   * Statistics: frames-read (pushed), frames-missed (published by the
   * renderer but never pushed: skipped as older than the newest, or capped
   * away), torn-retries (reads redone because the renderer was writing the
   * slot), stalled-waits (short sleeps when it kept doing so: a renderer
   * that leaves its newest frame half-written), resizes (caps
   * renegotiations), repeats (the newest frame pushed again: see
   * repeat-after), renderer-connects,
   * last-frame-number, and the publish-to-push latency in ns:
   * latency-last, latency-average, latency-max; navigation events written
   * to the renderer's queue (events-sent) and not (events-dropped: no
   * renderer, no free lane, or an event that cannot be represented).
   */
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Frames read and missed, copy retries and stalls, resizes and the "
          "publish-to-push latency", GST_TYPE_STRUCTURE,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Shared-memory frame source", "Source/Video",
      "Reads the newest frame a renderer published into a vizstream "
      "shared segment", "gst-vizstream developers");

  basesrc_class->start = GST_DEBUG_FUNCPTR (gst_shm_frame_src_start);
  basesrc_class->stop = GST_DEBUG_FUNCPTR (gst_shm_frame_src_stop);
  basesrc_class->unlock = GST_DEBUG_FUNCPTR (gst_shm_frame_src_unlock);
  basesrc_class->unlock_stop =
      GST_DEBUG_FUNCPTR (gst_shm_frame_src_unlock_stop);
  basesrc_class->get_caps = GST_DEBUG_FUNCPTR (gst_shm_frame_src_get_caps);
  basesrc_class->negotiate = GST_DEBUG_FUNCPTR (gst_shm_frame_src_negotiate);
  basesrc_class->set_caps = GST_DEBUG_FUNCPTR (gst_shm_frame_src_set_caps);
  basesrc_class->decide_allocation =
      GST_DEBUG_FUNCPTR (gst_shm_frame_src_decide_allocation);
  basesrc_class->query = GST_DEBUG_FUNCPTR (gst_shm_frame_src_query);
  basesrc_class->event = GST_DEBUG_FUNCPTR (gst_shm_frame_src_event);
  pushsrc_class->create = GST_DEBUG_FUNCPTR (gst_shm_frame_src_create);

  GST_DEBUG_CATEGORY_INIT (gst_shm_frame_src_debug, "shmframesrc", 0,
      "vizstream shared-memory frame source");
}

static void
gst_shm_frame_src_init (GstShmFrameSrc * self)
{
  self->segment = g_strdup (DEFAULT_SEGMENT);
  self->renderer_timeout = DEFAULT_RENDERER_TIMEOUT;
  self->keep_waiting = DEFAULT_KEEP_WAITING;
  self->max_fps_n = DEFAULT_MAX_FRAMERATE_N;
  self->max_fps_d = DEFAULT_MAX_FRAMERATE_D;
  g_cond_init (&self->cond);
  g_mutex_init (&self->nav_lock);

  gst_base_src_set_live (GST_BASE_SRC (self), TRUE);
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
}

static void
gst_shm_frame_src_finalize (GObject * object)
{
  GstShmFrameSrc *self = GST_SHM_FRAME_SRC (object);

  g_free (self->segment);
  g_free (self->segment_name);
  if (self->scratch)
    g_aligned_free (self->scratch);
  g_cond_clear (&self->cond);
  g_mutex_clear (&self->nav_lock);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static GstStructure *
gst_shm_frame_src_make_stats (GstShmFrameSrc * self)
{
  GstStructure *s;

  GST_OBJECT_LOCK (self);
  s = gst_structure_new ("application/x-shmframesrc-stats",
      "frames-read", G_TYPE_UINT64, self->frames_read,
      "frames-missed", G_TYPE_UINT64, self->frames_missed,
      "torn-retries", G_TYPE_UINT64, self->torn_retries,
      "stalled-waits", G_TYPE_UINT64, self->stalled_waits,
      "resizes", G_TYPE_UINT64, self->resizes,
      "repeats", G_TYPE_UINT64, self->repeats,
      "renderer-connects", G_TYPE_UINT64, self->connects,
      "last-frame-number", G_TYPE_UINT64, self->last_frame,
      "latency-last", G_TYPE_UINT64, self->latency_last,
      "latency-average", G_TYPE_UINT64,
      self->frames_read ? self->latency_sum / self->frames_read : 0,
      "latency-max", G_TYPE_UINT64, self->latency_max,
      "events-sent", G_TYPE_UINT64, self->events_sent,
      "events-dropped", G_TYPE_UINT64, self->events_dropped, NULL);
  GST_OBJECT_UNLOCK (self);
  return s;
}

static void
gst_shm_frame_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstShmFrameSrc *self = GST_SHM_FRAME_SRC (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_SEGMENT:
      g_free (self->segment);
      self->segment = g_value_dup_string (value);
      break;
    case PROP_RENDERER_TIMEOUT:
      self->renderer_timeout = g_value_get_uint64 (value);
      break;
    case PROP_KEEP_WAITING:
      self->keep_waiting = g_value_get_boolean (value);
      break;
    case PROP_MAX_FRAMERATE:
      self->max_fps_n = gst_value_get_fraction_numerator (value);
      self->max_fps_d = gst_value_get_fraction_denominator (value);
      break;
    case PROP_REPEAT_AFTER:
      self->repeat_after = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_shm_frame_src_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstShmFrameSrc *self = GST_SHM_FRAME_SRC (object);

  if (prop_id == PROP_STATS) {
    g_value_take_boxed (value, gst_shm_frame_src_make_stats (self));
    return;
  }
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_SEGMENT:
      g_value_set_string (value, self->segment);
      break;
    case PROP_RENDERER_TIMEOUT:
      g_value_set_uint64 (value, self->renderer_timeout);
      break;
    case PROP_KEEP_WAITING:
      g_value_set_boolean (value, self->keep_waiting);
      break;
    case PROP_MAX_FRAMERATE:
      gst_value_set_fraction (value, self->max_fps_n, self->max_fps_d);
      break;
    case PROP_REPEAT_AFTER:
      g_value_set_uint (value, self->repeat_after);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_shm_frame_src_start (GstBaseSrc * bsrc)
{
  GstShmFrameSrc *self = GST_SHM_FRAME_SRC (bsrc);

  gchar *name = vizstream_take_segment_name (GST_ELEMENT (self),
      (const gchar **) &self->segment);

  if (name == NULL)
    return FALSE;
  g_free (self->segment_name);
  self->segment_name = name;
  GST_OBJECT_LOCK (self);
  self->timeout = self->renderer_timeout;
  self->keep_waiting_now = self->keep_waiting;
  self->cap_n = self->max_fps_n;
  self->cap_d = self->max_fps_d;
  self->min_interval = self->max_fps_n > 0 ?
      gst_util_uint64_scale_int (GST_SECOND, self->max_fps_d,
      self->max_fps_n) : 0;
  self->frames_read = self->frames_missed = self->torn_retries = 0;
  self->stalled_waits = 0;
  self->events_sent = self->events_dropped = 0;
  self->resizes = self->connects = self->repeats = 0;
  self->repeat_us = (gint64) self->repeat_after * 1000;
  self->latency_last = self->latency_sum = self->latency_max = 0;
  self->flushing = FALSE;
  self->have_info = FALSE;
  self->have_pending = FALSE;
  self->last_frame = 0;
  GST_OBJECT_UNLOCK (self);

  self->last_push_us = 0;
  self->next_slot_us = 0;
  self->last_pts = GST_CLOCK_TIME_NONE;
  self->absent_since = 0;
  self->invalid_since = 0;
  self->warned_absent = FALSE;
  return TRUE;
}

static void
gst_shm_frame_src_detach (GstShmFrameSrc * self)
{
  VzReader *reader;

  /* The producer lives in the reader's mapping: both go together, and
   * not while a navigation event is being written. */
  g_mutex_lock (&self->nav_lock);
  vz_producer_free (self->producer);
  self->producer = NULL;
  GST_OBJECT_LOCK (self);
  reader = self->reader;
  self->reader = NULL;
  GST_OBJECT_UNLOCK (self);
  vz_reader_close (reader);
  g_mutex_unlock (&self->nav_lock);
}

static gboolean
gst_shm_frame_src_stop (GstBaseSrc * bsrc)
{
  GstShmFrameSrc *self = GST_SHM_FRAME_SRC (bsrc);

  gst_shm_frame_src_detach (self);
  if (self->scratch)
    g_aligned_free (self->scratch);
  self->scratch = NULL;
  self->scratch_size = 0;
  return TRUE;
}

static gboolean
gst_shm_frame_src_unlock (GstBaseSrc * bsrc)
{
  GstShmFrameSrc *self = GST_SHM_FRAME_SRC (bsrc);

  GST_OBJECT_LOCK (self);
  self->flushing = TRUE;
  if (self->reader)
    vz_reader_interrupt (self->reader);
  g_cond_broadcast (&self->cond);
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_shm_frame_src_unlock_stop (GstBaseSrc * bsrc)
{
  GstShmFrameSrc *self = GST_SHM_FRAME_SRC (bsrc);

  GST_OBJECT_LOCK (self);
  self->flushing = FALSE;
  if (self->reader)
    vz_reader_clear_interrupt (self->reader);
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static GstVideoFormat
gst_shm_frame_src_video_format (VzFormat format)
{
  const char *name = vz_format_name (format);

  return name ? gst_video_format_from_string (name) :
      GST_VIDEO_FORMAT_UNKNOWN;
}

#ifdef HAVE_LIBYUV
static const ShmConversion *
gst_shm_frame_src_conversion (VzFormat format)
{
  for (guint i = 0; i < G_N_ELEMENTS (conversions); i++)
    if (conversions[i].format == format)
      return &conversions[i];
  return NULL;
}
#endif

static GstStructure *
gst_shm_frame_src_structure_for (GstShmFrameSrc * self, const gchar * format,
    guint width, guint height)
{
  GstStructure *s = gst_structure_new ("video/x-raw",
      "format", G_TYPE_STRING, format,
      "width", G_TYPE_INT, (gint) width,
      "height", G_TYPE_INT, (gint) height,
      "framerate", GST_TYPE_FRACTION, 0, 1,
      "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, NULL);

  /* The frame rate is variable (the renderer's); say the cap if any. */
  if (self->min_interval > 0)
    gst_structure_set (s, "max-framerate", GST_TYPE_FRACTION,
        self->cap_n, self->cap_d, NULL);
  return s;
}

/* The renderer's format first (what a downstream that takes anything
 * gets), then what it converts to. */
static GstCaps *
gst_shm_frame_src_caps_for (GstShmFrameSrc * self, VzFormat format,
    guint width, guint height)
{
  GstCaps *caps = gst_caps_new_empty ();

  gst_caps_append_structure (caps, gst_shm_frame_src_structure_for (self,
          vz_format_name (format), width, height));
#ifdef HAVE_LIBYUV
  if (gst_shm_frame_src_conversion (format)) {
    static const gchar *yuv[] = { "I420", "NV12" };

    for (guint i = 0; i < G_N_ELEMENTS (yuv); i++) {
      GstStructure *s = gst_shm_frame_src_structure_for (self, yuv[i], width,
          height);
      gst_structure_set (s, "colorimetry", G_TYPE_STRING, YUV_COLORIMETRY,
          "chroma-site", G_TYPE_STRING, YUV_CHROMA_SITE, NULL);
      gst_caps_append_structure (caps, s);
    }
  }
#endif
  return caps;
}

static GstCaps *
gst_shm_frame_src_get_caps (GstBaseSrc * bsrc, GstCaps * filter)
{
  GstShmFrameSrc *self = GST_SHM_FRAME_SRC (bsrc);
  GstCaps *caps;

  /* The frame being negotiated for, else what streams now, else anything
   * the template allows (before the first frame). */
  GST_OBJECT_LOCK (self);
  if (self->have_pending)
    caps = gst_shm_frame_src_caps_for (self, self->pending.format,
        self->pending.width, self->pending.height);
  else if (self->have_info)
    caps = gst_shm_frame_src_caps_for (self, self->cur_format,
        GST_VIDEO_INFO_WIDTH (&self->info),
        GST_VIDEO_INFO_HEIGHT (&self->info));
  else
    caps = gst_pad_get_pad_template_caps (GST_BASE_SRC_PAD (bsrc));
  GST_OBJECT_UNLOCK (self);

  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full (filter, caps,
        GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (caps);
    caps = tmp;
  }
  return caps;
}

static gboolean
gst_shm_frame_src_negotiate (GstBaseSrc * bsrc)
{
  GstShmFrameSrc *self = GST_SHM_FRAME_SRC (bsrc);

  /* Before the first frame we do not know what to offer: the streaming
   * loop asks anyway, and create() negotiates once a frame is there. A
   * reconfigure later offers what streams now (get_caps). */
  if (!self->have_pending && !self->have_info)
    return TRUE;
  return GST_BASE_SRC_CLASS (parent_class)->negotiate (bsrc);
}

/* ---- the per-format copies, picked in set_caps ---- */

/* The renderer's own format: the one copy, flipped on the way. */
static int
gst_shm_frame_src_copy_same (GstShmFrameSrc * self, const VzFrame * f,
    GstVideoFrame * out)
{
  return vz_reader_copy (self->reader, f, GST_VIDEO_FRAME_PLANE_DATA (out, 0),
      GST_VIDEO_FRAME_PLANE_STRIDE (out, 0), VZ_COPY_TOP_DOWN);
}

#ifdef HAVE_LIBYUV
/* The conversions run over the slot in place (vz_reader_read: leased and
 * checked for tearing like a copy), rows top-down: a bottom-up frame comes
 * with a negative stride, which libyuv reads backwards as it is. */
typedef struct
{
  GstShmFrameSrc *self;
  GstVideoFrame *out;
} ShmConvertTarget;

static int
gst_shm_frame_src_to_i420 (const void *pixels, ptrdiff_t stride,
    const VzFrame * f, void *user)
{
  ShmConvertTarget *t = user;

  t->self->conversion->to_i420 (pixels, (int) stride,
      GST_VIDEO_FRAME_PLANE_DATA (t->out, 0),
      GST_VIDEO_FRAME_PLANE_STRIDE (t->out, 0),
      GST_VIDEO_FRAME_PLANE_DATA (t->out, 1),
      GST_VIDEO_FRAME_PLANE_STRIDE (t->out, 1),
      GST_VIDEO_FRAME_PLANE_DATA (t->out, 2),
      GST_VIDEO_FRAME_PLANE_STRIDE (t->out, 2), (int) f->width,
      (int) f->height);
  return VZ_OK;
}

static int
gst_shm_frame_src_to_nv12 (const void *pixels, ptrdiff_t stride,
    const VzFrame * f, void *user)
{
  ShmConvertTarget *t = user;

  t->self->conversion->to_nv12 (pixels, (int) stride,
      GST_VIDEO_FRAME_PLANE_DATA (t->out, 0),
      GST_VIDEO_FRAME_PLANE_STRIDE (t->out, 0),
      GST_VIDEO_FRAME_PLANE_DATA (t->out, 1),
      GST_VIDEO_FRAME_PLANE_STRIDE (t->out, 1), (int) f->width,
      (int) f->height);
  return VZ_OK;
}

/* No direct converter: I420's, with U and V in scratch memory, then
 * interleaved (a quarter of the pixels, twice). */
static int
gst_shm_frame_src_to_nv12_via_i420 (const void *pixels, ptrdiff_t stride,
    const VzFrame * f, void *user)
{
  ShmConvertTarget *t = user;
  GstShmFrameSrc *self = t->self;
  gint cw = (f->width + 1) / 2, ch = (f->height + 1) / 2;
  gsize plane = (gsize) cw * ch;
  guint8 *u, *v;

  if (2 * plane > self->scratch_size) {
    if (self->scratch)
      g_aligned_free (self->scratch);
    self->scratch = g_aligned_alloc (2 * plane, 1, 64);
    self->scratch_size = 2 * plane;
  }
  u = self->scratch;
  v = u + plane;
  self->conversion->to_i420 (pixels, (int) stride,
      GST_VIDEO_FRAME_PLANE_DATA (t->out, 0),
      GST_VIDEO_FRAME_PLANE_STRIDE (t->out, 0), u, cw, v, cw, (int) f->width,
      (int) f->height);
  MergeUVPlane (u, cw, v, cw, GST_VIDEO_FRAME_PLANE_DATA (t->out, 1),
      GST_VIDEO_FRAME_PLANE_STRIDE (t->out, 1), cw, ch);
  return VZ_OK;
}

/* Any conversion: the one set_caps picked, over the slot in place. */
static int
gst_shm_frame_src_copy_converted (GstShmFrameSrc * self, const VzFrame * f,
    GstVideoFrame * out)
{
  ShmConvertTarget t = { self, out };

  return vz_reader_read (self->reader, f, VZ_COPY_TOP_DOWN, self->convert,
      &t);
}
#endif

/* The copy that makes `out` frames from the renderer's `in` frames; NULL
 * when there is none. */
static ShmCopyFunc
gst_shm_frame_src_pick_copy (GstShmFrameSrc * self, VzFormat in,
    GstVideoFormat out)
{
#ifdef HAVE_LIBYUV
  const ShmConversion *conv = gst_shm_frame_src_conversion (in);
#endif

  if (out == gst_shm_frame_src_video_format (in))
    return gst_shm_frame_src_copy_same;
#ifdef HAVE_LIBYUV
  self->conversion = conv;
  self->convert = NULL;
  if (conv && out == GST_VIDEO_FORMAT_I420)
    self->convert = gst_shm_frame_src_to_i420;
  else if (conv && out == GST_VIDEO_FORMAT_NV12)
    self->convert = conv->to_nv12 ? gst_shm_frame_src_to_nv12 :
        gst_shm_frame_src_to_nv12_via_i420;
  if (self->convert)
    return gst_shm_frame_src_copy_converted;
#endif
  return NULL;
}

static gboolean
gst_shm_frame_src_set_caps (GstBaseSrc * bsrc, GstCaps * caps)
{
  GstShmFrameSrc *self = GST_SHM_FRAME_SRC (bsrc);
  GstVideoInfo info;
  VzFormat format;
  ShmCopyFunc copy;

  if (!gst_video_info_from_caps (&info, caps)) {
    GST_ERROR_OBJECT (self, "invalid caps %" GST_PTR_FORMAT, caps);
    return FALSE;
  }
  /* The renderer's format these caps are for: the frame being negotiated
   * for, else (a reconfigure) what streams now. */
  GST_OBJECT_LOCK (self);
  format = self->have_pending ? self->pending.format : self->cur_format;
  GST_OBJECT_UNLOCK (self);
  copy = gst_shm_frame_src_pick_copy (self, format,
      GST_VIDEO_INFO_FORMAT (&info));
  if (copy == NULL) {
    GST_ERROR_OBJECT (self, "cannot make %" GST_PTR_FORMAT " from %s frames",
        caps, vz_format_name (format));
    return FALSE;
  }
  self->copy = copy;
  GST_OBJECT_LOCK (self);
  self->info = info;
  self->cur_format = format;
  self->have_info = TRUE;
  GST_OBJECT_UNLOCK (self);
  GST_DEBUG_OBJECT (self, "negotiated %" GST_PTR_FORMAT, caps);
  return TRUE;
}

static gboolean
gst_shm_frame_src_decide_allocation (GstBaseSrc * bsrc, GstQuery * query)
{
  GstBufferPool *pool = NULL;
  GstStructure *config;
  GstCaps *caps;
  GstVideoInfo info;
  guint size, min, max;
  gboolean update;

  gst_query_parse_allocation (query, &caps, NULL);
  /* Asked before the first frame (see negotiate): nothing to decide. */
  if (caps == NULL)
    return TRUE;
  if (!gst_video_info_from_caps (&info, caps))
    return FALSE;

  if (gst_query_get_n_allocation_pools (query) > 0) {
    gst_query_parse_nth_allocation_pool (query, 0, &pool, &size, &min, &max);
    size = MAX (size, info.size);
    update = TRUE;
  } else {
    size = info.size;
    min = max = 0;
    update = FALSE;
  }
  if (pool == NULL)
    pool = gst_video_buffer_pool_new ();

  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, caps, size, min, max);
  if (gst_query_find_allocation_meta (query, GST_VIDEO_META_API_TYPE, NULL))
    gst_buffer_pool_config_add_option (config,
        GST_BUFFER_POOL_OPTION_VIDEO_META);
  if (!gst_buffer_pool_set_config (pool, config)) {
    /* The downstream pool changed our request: take it if it fits. */
    config = gst_buffer_pool_get_config (pool);
    if (!gst_buffer_pool_config_validate_params (config, caps, size, min,
            max) || !gst_buffer_pool_set_config (pool, config)) {
      GST_WARNING_OBJECT (bsrc, "downstream pool refused our config; "
          "using our own");
      gst_object_unref (pool);
      pool = gst_video_buffer_pool_new ();
      config = gst_buffer_pool_get_config (pool);
      gst_buffer_pool_config_set_params (config, caps, size, min, max);
      if (!gst_buffer_pool_set_config (pool, config)) {
        gst_object_unref (pool);
        return FALSE;
      }
    }
  }
  if (update)
    gst_query_set_nth_allocation_pool (query, 0, pool, size, min, max);
  else
    gst_query_add_allocation_pool (query, pool, size, min, max);
  gst_object_unref (pool);

  return GST_BASE_SRC_CLASS (parent_class)->decide_allocation (bsrc, query);
}

static GstClockTime
gst_shm_frame_src_latency (GstShmFrameSrc * self)
{
  return MAX (DEFAULT_LATENCY, self->min_interval);
}

static gboolean
gst_shm_frame_src_query (GstBaseSrc * bsrc, GstQuery * query)
{
  GstShmFrameSrc *self = GST_SHM_FRAME_SRC (bsrc);

  if (GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    GstClockTime latency = gst_shm_frame_src_latency (self);
    /* Buffers are stamped with the renderer's publish time and leave us a
     * little later: at most a frame, at the cap or at 60 fps. */
    gst_query_set_latency (query, TRUE, latency, latency);
    return TRUE;
  }
  return GST_BASE_SRC_CLASS (parent_class)->query (bsrc, query);
}

/* ---- navigation events -> the renderer's event queue ---- */

static guint32
gst_shm_frame_src_modifiers (GstNavigationModifierType m)
{
  guint32 out = 0;

  if (m & GST_NAVIGATION_MODIFIER_SHIFT_MASK)
    out |= VZ_MOD_SHIFT;
  if (m & GST_NAVIGATION_MODIFIER_CONTROL_MASK)
    out |= VZ_MOD_CONTROL;
  if (m & GST_NAVIGATION_MODIFIER_MOD1_MASK)
    out |= VZ_MOD_ALT;
  if (m & GST_NAVIGATION_MODIFIER_META_MASK)
    out |= VZ_MOD_META;
  /* button1..5 masks sit at the same bits (8..12) in both. */
  out |= (guint32) m & (VZ_MOD_BUTTON1 | VZ_MOD_BUTTON2 | VZ_MOD_BUTTON3 |
      VZ_MOD_BUTTON4 | VZ_MOD_BUTTON5);
  return out;
}

/* A GstNavigation event as a VzEvent; FALSE for kinds the queue does not
 * carry (commands). */
static gboolean
gst_shm_frame_src_navigation_to_event (GstEvent * event, VzEvent * e)
{
  GstNavigationModifierType mods = 0;
  const gchar *key = NULL;
  gint button = 0;
  guint id = 0;

  memset (e, 0, sizeof *e);
  switch (gst_navigation_event_get_type (event)) {
    case GST_NAVIGATION_EVENT_MOUSE_MOVE:
      e->type = VZ_EVENT_POINTER_MOVE;
      gst_navigation_event_parse_mouse_move_event (event, &e->x, &e->y);
      break;
    case GST_NAVIGATION_EVENT_MOUSE_BUTTON_PRESS:
    case GST_NAVIGATION_EVENT_MOUSE_BUTTON_RELEASE:
      e->type = gst_navigation_event_get_type (event) ==
          GST_NAVIGATION_EVENT_MOUSE_BUTTON_PRESS ? VZ_EVENT_BUTTON_PRESS :
          VZ_EVENT_BUTTON_RELEASE;
      gst_navigation_event_parse_mouse_button_event (event, &button, &e->x,
          &e->y);
      e->button = button > 0 ? (guint32) button : 0;
      break;
    case GST_NAVIGATION_EVENT_MOUSE_SCROLL:
      e->type = VZ_EVENT_WHEEL;
      gst_navigation_event_parse_mouse_scroll_event (event, &e->x, &e->y,
          &e->delta_x, &e->delta_y);
      break;
    case GST_NAVIGATION_EVENT_KEY_PRESS:
    case GST_NAVIGATION_EVENT_KEY_RELEASE:
      e->type = gst_navigation_event_get_type (event) ==
          GST_NAVIGATION_EVENT_KEY_PRESS ? VZ_EVENT_KEY_PRESS :
          VZ_EVENT_KEY_RELEASE;
      if (!gst_navigation_event_parse_key_event (event, &key) || key == NULL
          || strlen (key) >= VZ_EVENT_TEXT_SIZE)
        return FALSE;
      g_strlcpy (e->text, key, sizeof e->text);
      break;
    case GST_NAVIGATION_EVENT_TOUCH_DOWN:
    case GST_NAVIGATION_EVENT_TOUCH_MOTION:
      e->type = gst_navigation_event_get_type (event) ==
          GST_NAVIGATION_EVENT_TOUCH_DOWN ? VZ_EVENT_TOUCH_DOWN :
          VZ_EVENT_TOUCH_MOTION;
      gst_navigation_event_parse_touch_event (event, &id, &e->x, &e->y,
          &e->pressure);
      e->touch_id = id;
      break;
    case GST_NAVIGATION_EVENT_TOUCH_UP:
      e->type = VZ_EVENT_TOUCH_UP;
      gst_navigation_event_parse_touch_up_event (event, &id, &e->x, &e->y);
      e->touch_id = id;
      break;
    default:
      return FALSE;
  }
  if (gst_navigation_event_parse_modifier_state (event, &mods))
    e->modifiers = gst_shm_frame_src_modifiers (mods);
  if (!isfinite (e->pressure))
    e->pressure = 0;
  return TRUE;
}

static void
gst_shm_frame_src_send_navigation (GstShmFrameSrc * self, GstEvent * event)
{
  VzEvent e;
  gboolean sent = FALSE;
  int rc = VZ_OK;

  if (!gst_shm_frame_src_navigation_to_event (event, &e)) {
    GST_DEBUG_OBJECT (self, "navigation event not carried: %" GST_PTR_FORMAT,
        event);
    return;
  }
  g_mutex_lock (&self->nav_lock);
  GST_OBJECT_LOCK (self);
  if (self->reader && self->producer == NULL) {
    rc = vz_producer_new (self->reader, &self->producer);
    if (rc != VZ_OK)
      self->producer = NULL;
  }
  GST_OBJECT_UNLOCK (self);
  if (rc != VZ_OK)
    GST_WARNING_OBJECT (self, "cannot send events to the renderer: %s",
        vz_last_error ());
  if (self->producer) {
    rc = vz_producer_push (self->producer, &e);
    sent = rc == VZ_OK;
    if (!sent)
      GST_WARNING_OBJECT (self, "event dropped: %s", vz_last_error ());
  }
  g_mutex_unlock (&self->nav_lock);

  GST_OBJECT_LOCK (self);
  if (sent)
    self->events_sent++;
  else
    self->events_dropped++;
  GST_OBJECT_UNLOCK (self);
  GST_LOG_OBJECT (self, "%s %s at %.1f,%.1f", sent ? "sent" : "dropped",
      vz_event_type_name (e.type), e.x, e.y);
}

static gboolean
gst_shm_frame_src_event (GstBaseSrc * bsrc, GstEvent * event)
{
  if (GST_EVENT_TYPE (event) == GST_EVENT_NAVIGATION) {
    gst_shm_frame_src_send_navigation (GST_SHM_FRAME_SRC (bsrc), event);
    return TRUE;
  }
  return GST_BASE_SRC_CLASS (parent_class)->event (bsrc, event);
}

/* ---- the streaming thread ---- */

/* create()'s steps say "nothing to push yet, go round again" (the renderer
 * is absent, or was lost and is waited for) with FLOW_AGAIN, and "the
 * frame changed under us" with FLOW_TORN. Never returned by create(). */
#define FLOW_AGAIN GST_FLOW_CUSTOM_SUCCESS
#define FLOW_TORN GST_FLOW_CUSTOM_SUCCESS_1

static void
gst_shm_frame_src_post_renderer (GstShmFrameSrc * self, const gchar * state,
    guint pid, const gchar * reason)
{
  GstStructure *s = gst_structure_new ("shmframesrc-renderer",
      "state", G_TYPE_STRING, state,
      "segment", G_TYPE_STRING, self->segment_name,
      "pid", G_TYPE_UINT, pid,
      "reason", G_TYPE_STRING, reason ? reason : "", NULL);

  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

/* Try to open the segment. GST_FLOW_OK with self->reader set when
 * attached; FLOW_AGAIN to come back later; an error flow (with an element
 * error posted) when it is hopeless. */
static GstFlowReturn
gst_shm_frame_src_try_attach (GstShmFrameSrc * self)
{
  VzReader *reader = NULL;
  VzSegmentInfo info;
  guint64 now = vz_monotonic_ns ();
  gboolean flushing;
  int rc;

  rc = vz_reader_open (self->segment_name,
      VZ_READER_EVENTS | VZ_READER_MESSAGES, &reader);
  if (rc == VZ_ERR_PERMISSION) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Cannot open segment '%s': it belongs to another user.",
            self->segment_name), ("%s", vz_last_error ()));
    return GST_FLOW_ERROR;
  }
  if (rc == VZ_ERR_NOT_FOUND || rc == VZ_ERR_CLOSED || rc == VZ_ERR_GONE) {
    /* The renderer is not there (yet, or any more). */
    self->invalid_since = 0;
    if (self->absent_since == 0)
      self->absent_since = now;
    if (self->timeout > 0 && now - self->absent_since >= self->timeout) {
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
          ("No renderer published segment '%s' within %" GST_TIME_FORMAT ".",
              self->segment_name, GST_TIME_ARGS (self->timeout)),
          ("%s", vz_last_error ()));
      return GST_FLOW_ERROR;
    }
    if (!self->warned_absent && now - self->absent_since >= ABSENT_WARN_NS) {
      self->warned_absent = TRUE;
      GST_ELEMENT_WARNING (self, RESOURCE, NOT_FOUND,
          ("Still waiting for a renderer to publish segment '%s'.",
              self->segment_name), ("%s", vz_last_error ()));
    }
    return FLOW_AGAIN;
  }
  if (rc != VZ_OK) {
    /* There, but unusable: give a renderer mid-creation a moment. */
    self->absent_since = 0;
    if (self->invalid_since == 0)
      self->invalid_since = now;
    if (now - self->invalid_since >= INVALID_GRACE_NS) {
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
          ("Segment '%s' is not a usable vizstream segment: %s.",
              self->segment_name, vz_strerror (rc)),
          ("%s", vz_last_error ()));
      return GST_FLOW_ERROR;
    }
    GST_DEBUG_OBJECT (self, "segment not usable yet: %s", vz_last_error ());
    return FLOW_AGAIN;
  }

  vz_reader_get_info (reader, &info);
  GST_OBJECT_LOCK (self);
  flushing = self->flushing;
  if (flushing)
    vz_reader_interrupt (reader);
  self->reader = reader;
  self->connects++;
  /* Frame numbers restart with a new renderer. */
  self->last_frame = 0;
  GST_OBJECT_UNLOCK (self);

  GST_INFO_OBJECT (self, "attached to '%s': renderer pid %u, up to %ux%u, "
      "%u slots", self->segment_name, info.writer_pid, info.max_width,
      info.max_height, info.slot_count);
  self->absent_since = 0;
  self->invalid_since = 0;
  self->warned_absent = FALSE;
  gst_shm_frame_src_post_renderer (self, "connected", info.writer_pid, NULL);
  return GST_FLOW_OK;
}

/* FLOW_AGAIN to wait for the next renderer, or EOS. */
static GstFlowReturn
gst_shm_frame_src_renderer_lost (GstShmFrameSrc * self, int rc)
{
  VzSegmentInfo info;

  vz_reader_get_info (self->reader, &info);
  GST_INFO_OBJECT (self, "renderer of '%s' went away: %s",
      self->segment_name, vz_last_error ());
  gst_shm_frame_src_post_renderer (self, "lost", info.writer_pid,
      vz_strerror (rc));
  gst_shm_frame_src_detach (self);
  if (!self->keep_waiting_now) {
    GST_INFO_OBJECT (self, "keep-waiting is off: end of stream");
    return GST_FLOW_EOS;
  }
  return FLOW_AGAIN;
}

static void
gst_shm_frame_src_add_metas (GstShmFrameSrc * self, GstBuffer * buf,
    const VzFrame * f)
{
  static GstCaps *unix_caps = NULL;
  GstCustomMeta *meta;

  if (g_once_init_enter (&unix_caps)) {
    GstCaps *c = gst_caps_new_empty_simple ("timestamp/x-unix");
    GST_MINI_OBJECT_FLAG_SET (c, GST_MINI_OBJECT_FLAG_MAY_BE_LEAKED);
    g_once_init_leave (&unix_caps, c);
  }
  gst_buffer_add_reference_timestamp_meta (buf, unix_caps,
      f->publish_unix_ns, GST_CLOCK_TIME_NONE);

  meta = gst_buffer_add_custom_meta (buf, VIZSTREAM_FRAME_META_NAME);
  if (meta) {
    gst_structure_set (gst_custom_meta_get_structure (meta),
        "frame-number", G_TYPE_UINT64, f->frame_number,
        "publish-time", G_TYPE_UINT64, f->publish_ns,
        "renderer-timestamp", G_TYPE_UINT64, f->timestamp_ns, NULL);
  }
  GST_BUFFER_OFFSET (buf) = f->frame_number;
  GST_BUFFER_OFFSET_END (buf) = f->frame_number + 1;
}

/* The renderer's publish time on the pipeline's running time. */
/* The frame-rate cap's slots are a grid one period apart: a push made
 * late in its slot (the renderer or this thread a little late) leaves the
 * next slot where it was. Counting a period from each push instead would
 * carry every delay over to the next frame, and with a renderer at the
 * cap's own rate the delays add up until a frame is skipped (5 % of the
 * frames at 1080p30 on a busy 2-core machine). A push more than a period
 * late starts a new grid. */
static void
gst_shm_frame_src_cap_slot_taken (GstShmFrameSrc * self)
{
  gint64 period = (gint64) (self->min_interval / GST_USECOND);

  if (period <= 0)
    return;
  if (self->next_slot_us == 0
      || self->last_push_us >= self->next_slot_us + period)
    self->next_slot_us = self->last_push_us + period;
  else
    self->next_slot_us += period;
}

static void
gst_shm_frame_src_timestamp (GstShmFrameSrc * self, GstBuffer * buf,
    const VzFrame * f)
{
  GstClock *clock = gst_element_get_clock (GST_ELEMENT (self));
  GstClockTime pts = GST_CLOCK_TIME_NONE;

  if (clock) {
    GstClockTime now = gst_clock_get_time (clock);
    GstClockTime base = gst_element_get_base_time (GST_ELEMENT (self));
    guint64 mono = vz_monotonic_ns ();
    /* A repeat is shown now: its age is not the frame's. */
    guint64 age = mono > f->publish_ns && f->frame_number != self->last_frame
        ? mono - f->publish_ns : 0;

    gst_object_unref (clock);
    if (now >= base) {
      GstClockTime running = now - base;
      pts = running > age ? running - age : 0;
      if (GST_CLOCK_TIME_IS_VALID (self->last_pts) && pts <= self->last_pts)
        pts = self->last_pts + 1;
      self->last_pts = pts;
    }
  }
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DTS (buf) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION (buf) = self->min_interval > 0 ?
      self->min_interval : GST_CLOCK_TIME_NONE;
}

static gboolean
gst_shm_frame_src_frame_matches_info (GstShmFrameSrc * self,
    const VzFrame * f)
{
  return self->have_info
      && GST_VIDEO_INFO_WIDTH (&self->info) == (gint) f->width
      && GST_VIDEO_INFO_HEIGHT (&self->info) == (gint) f->height
      && self->cur_format == f->format;
}

static gboolean
gst_shm_frame_src_is_flushing (GstShmFrameSrc * self)
{
  gboolean flushing;

  GST_OBJECT_LOCK (self);
  flushing = self->flushing;
  GST_OBJECT_UNLOCK (self);
  return flushing;
}

/* The renderer's messages (docs/protocol.md "Message area") as element
 * messages "vizstream-message" on the bus, text and number of lost ones:
 * the application (vizstream-server) forwards them to viewers. */
static void
gst_shm_frame_src_post_messages (GstShmFrameSrc * self)
{
  char buf[VZ_MESSAGE_MAX + 1];
  size_t len;
  guint64 skipped;

  while (vz_reader_read_message (self->reader, buf, sizeof buf, &len,
          &skipped) == VZ_OK && len > 0) {
    GstStructure *s = gst_structure_new ("vizstream-message",
        "text", G_TYPE_STRING, buf,
        "skipped", G_TYPE_UINT64, skipped, NULL);
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self), s));
  }
}

/* Step 1: a renderer, then a frame newer than the last one pushed (and
 * the frame-rate cap's leave to take it). */
static GstFlowReturn
gst_shm_frame_src_wait_frame (GstShmFrameSrc * self)
{
  GstFlowReturn ret;
  gint64 timeout_ns;
  int rc;

  if (gst_shm_frame_src_is_flushing (self))
    return GST_FLOW_FLUSHING;

  if (self->reader == NULL) {
    ret = gst_shm_frame_src_try_attach (self);
    if (ret == FLOW_AGAIN && !vizstream_sleep_until (GST_OBJECT (self),
            &self->cond, &self->flushing,
            g_get_monotonic_time () + ABSENT_POLL_US))
      return GST_FLOW_FLUSHING;
    if (ret != GST_FLOW_OK)
      return ret;
  }

  /* The frame-rate cap: not before the next slot (cap_slot_taken). */
  if (self->next_slot_us > 0 && g_get_monotonic_time () < self->next_slot_us
      && !vizstream_sleep_until (GST_OBJECT (self), &self->cond,
          &self->flushing, self->next_slot_us))
    return GST_FLOW_FLUSHING;

  /* With repeat-after, a wait that ends without a new frame takes the
   * newest again (step 6 sees the same frame number: a repeat). The
   * renderer's messages are posted on the bus as they come. */
  do {
    gst_shm_frame_src_post_messages (self);
    timeout_ns = -1;
    if (self->repeat_us > 0 && self->last_push_us > 0)
      timeout_ns = MAX (0, self->last_push_us + self->repeat_us -
          g_get_monotonic_time ()) * 1000;
    rc = vz_reader_wait (self->reader, self->last_frame, timeout_ns);
  } while (rc == VZ_MESSAGE_WAITING);
  gst_shm_frame_src_post_messages (self);
  if (rc == VZ_OK || rc == VZ_ERR_TIMEOUT)
    return GST_FLOW_OK;
  if (rc == VZ_ERR_INTERRUPTED)
    return GST_FLOW_FLUSHING;
  if (rc == VZ_ERR_CLOSED || rc == VZ_ERR_GONE)
    return gst_shm_frame_src_renderer_lost (self, rc);
  GST_ELEMENT_ERROR (self, RESOURCE, READ,
      ("Waiting for frames on segment '%s' failed.", self->segment_name),
      ("%s", vz_last_error ()));
  return GST_FLOW_ERROR;
}

/* Step 2: the newest frame's description (FLOW_TORN while the renderer
 * writes it). */
static GstFlowReturn
gst_shm_frame_src_peek_newest (GstShmFrameSrc * self, VzFrame * f)
{
  int rc = vz_reader_peek (self->reader, f);

  if (rc == VZ_OK)
    return GST_FLOW_OK;
  if (rc == VZ_ERR_TORN)
    return FLOW_TORN;
  GST_ELEMENT_ERROR (self, STREAM, FORMAT,
      ("The renderer of segment '%s' published an impossible frame.",
          self->segment_name), ("%s", vz_last_error ()));
  return GST_FLOW_ERROR;
}

/* Step 3: caps for the frame, renegotiated when its size or format is not
 * what streams now (a resize, a restarted renderer); a buffer of the old
 * caps goes. */
static GstFlowReturn
gst_shm_frame_src_caps_for_frame (GstShmFrameSrc * self, const VzFrame * f,
    GstBuffer ** buf)
{
  gboolean had_info = self->have_info, res;

  if (gst_shm_frame_src_frame_matches_info (self, f))
    return GST_FLOW_OK;

  gst_clear_buffer (buf);
  GST_OBJECT_LOCK (self);
  self->pending = *f;
  self->have_pending = TRUE;
  GST_OBJECT_UNLOCK (self);
  GST_INFO_OBJECT (self, "frame %" G_GUINT64_FORMAT " is %ux%u %s: "
      "(re)negotiating", f->frame_number, f->width, f->height,
      vz_format_name (f->format));
  res = gst_base_src_negotiate (GST_BASE_SRC (self));
  GST_OBJECT_LOCK (self);
  self->have_pending = FALSE;
  GST_OBJECT_UNLOCK (self);
  if (!res || !gst_shm_frame_src_frame_matches_info (self, f)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("Downstream does not accept %ux%u %s frames from segment '%s'.",
            f->width, f->height, vz_format_name (f->format),
            self->segment_name), (NULL));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (had_info) {
    GST_OBJECT_LOCK (self);
    self->resizes++;
    GST_OBJECT_UNLOCK (self);
  }
  return GST_FLOW_OK;
}

/* Step 4: a buffer to copy into, from the negotiated pool (kept across
 * retries). */
static GstFlowReturn
gst_shm_frame_src_output_buffer (GstShmFrameSrc * self, GstBuffer ** buf)
{
  GstBufferPool *pool;
  GstFlowReturn ret;

  if (*buf)
    return GST_FLOW_OK;
  pool = gst_base_src_get_buffer_pool (GST_BASE_SRC (self));
  if (pool == NULL) {
    *buf = gst_buffer_new_allocate (NULL, self->info.size, NULL);
    return *buf ? GST_FLOW_OK : GST_FLOW_ERROR;
  }
  ret = gst_buffer_pool_acquire_buffer (pool, buf, NULL);
  gst_object_unref (pool);
  return ret;
}

/* Step 5: the copy in the negotiated format (self->copy), top-down
 * (FLOW_TORN when the renderer reused the slot meanwhile: the newer frame
 * is there). */
static GstFlowReturn
gst_shm_frame_src_copy_frame (GstShmFrameSrc * self, const VzFrame * f,
    GstBuffer * buf)
{
  GstVideoFrame vframe;
  int rc;

  if (!gst_video_frame_map (&vframe, &self->info, buf, GST_MAP_WRITE)) {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
        ("Could not map an output buffer."), (NULL));
    return GST_FLOW_ERROR;
  }
  rc = self->copy (self, f, &vframe);
  gst_video_frame_unmap (&vframe);
  if (rc == VZ_OK)
    return GST_FLOW_OK;
  if (rc == VZ_ERR_TORN) {
    GST_LOG_OBJECT (self, "frame %" G_GUINT64_FORMAT " torn, retrying",
        f->frame_number);
    return FLOW_TORN;
  }
  GST_ELEMENT_ERROR (self, RESOURCE, READ,
      ("Could not copy a frame from segment '%s'.", self->segment_name),
      ("%s", vz_last_error ()));
  return GST_FLOW_ERROR;
}

/* A torn read: count it and go round again, at once the first few times
 * in a row, then after a short sleep (the library's back-off: a renderer
 * that leaves its newest frame half-written must not cost us a core, and
 * its next proper publish wakes us). */
static GstFlowReturn
gst_shm_frame_src_back_off (GstShmFrameSrc * self, guint torn_in_a_row)
{
  int rc = vz_reader_backoff (self->reader, torn_in_a_row);

  GST_OBJECT_LOCK (self);
  self->torn_retries++;
  if (rc == 1)
    self->stalled_waits++;
  GST_OBJECT_UNLOCK (self);
  if (rc == 1)
    GST_LOG_OBJECT (self, "renderer stalled mid-frame (%u torn reads in a "
        "row): slept", torn_in_a_row);
  if (rc >= 0)
    return FLOW_AGAIN;
  if (rc == VZ_ERR_INTERRUPTED)
    return GST_FLOW_FLUSHING;
  if (rc == VZ_ERR_CLOSED || rc == VZ_ERR_GONE)
    return gst_shm_frame_src_renderer_lost (self, rc);
  GST_ELEMENT_ERROR (self, RESOURCE, READ,
      ("Waiting for frames on segment '%s' failed.", self->segment_name),
      ("%s", vz_last_error ()));
  return GST_FLOW_ERROR;
}

/* Step 6: metas, timestamps and statistics of the frame about to go. */
static void
gst_shm_frame_src_finish (GstShmFrameSrc * self, GstBuffer * buf,
    const VzFrame * f)
{
  guint64 now, latency;

  gst_shm_frame_src_add_metas (self, buf, f);
  gst_shm_frame_src_timestamp (self, buf, f);

  now = vz_monotonic_ns ();
  latency = now > f->publish_ns ? now - f->publish_ns : 0;
  GST_OBJECT_LOCK (self);
  if (f->frame_number == self->last_frame) {
    /* A repeat (repeat-after): not a frame read, no latency. */
    self->repeats++;
    GST_OBJECT_UNLOCK (self);
    self->last_push_us = g_get_monotonic_time ();
    return;
  }
  if (f->frame_number > self->last_frame + 1)
    self->frames_missed += f->frame_number - self->last_frame - 1;
  self->frames_read++;
  self->latency_last = latency;
  self->latency_sum += latency;
  self->latency_max = MAX (self->latency_max, latency);
  self->last_frame = f->frame_number;
  GST_OBJECT_UNLOCK (self);
  self->last_push_us = g_get_monotonic_time ();
  gst_shm_frame_src_cap_slot_taken (self);
  GST_LOG_OBJECT (self, "frame %" G_GUINT64_FORMAT " pts %" GST_TIME_FORMAT,
      f->frame_number, GST_TIME_ARGS (GST_BUFFER_PTS (buf)));
}

/* The newest frame, copied once, in named steps. A torn read, an absent
 * renderer or a lost one goes round again, through step 1 and its
 * flushing check. */
static GstFlowReturn
gst_shm_frame_src_create (GstPushSrc * psrc, GstBuffer ** outbuf)
{
  GstShmFrameSrc *self = GST_SHM_FRAME_SRC (psrc);
  GstBuffer *buf = NULL;
  GstFlowReturn ret;
  guint torn = 0;
  VzFrame f;

  do {
    ret = gst_shm_frame_src_wait_frame (self);
    if (ret == GST_FLOW_OK)
      ret = gst_shm_frame_src_peek_newest (self, &f);
    if (ret == GST_FLOW_OK)
      ret = gst_shm_frame_src_caps_for_frame (self, &f, &buf);
    if (ret == GST_FLOW_OK)
      ret = gst_shm_frame_src_output_buffer (self, &buf);
    if (ret == GST_FLOW_OK)
      ret = gst_shm_frame_src_copy_frame (self, &f, buf);
    if (ret == FLOW_TORN)
      ret = gst_shm_frame_src_back_off (self, ++torn);
  } while (ret == FLOW_AGAIN);

  if (ret != GST_FLOW_OK) {
    gst_clear_buffer (&buf);
    return ret;
  }
  gst_shm_frame_src_finish (self, buf, &f);
  *outbuf = buf;
  return GST_FLOW_OK;
}
