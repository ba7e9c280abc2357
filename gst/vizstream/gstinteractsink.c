/* gst-vizstream: interactsink
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:element-interactsink
 * @title: interactsink
 *
 * Takes event messages in the JSON format of docs/events.md (data-channel
 * text from an appsrc, a file of JSON lines, a WebSocket bridge) and
 * writes the events into the renderer's event queue in the named segment.
 * Malformed, invalid or oversized messages are dropped with a warning and
 * counted; they never stop the pipeline. Buffers may hold one message, an
 * array of events, or any piece of a stream of JSON lines (lines split
 * across buffers are put back together). "allowed-events" is an input
 * policy: event types it leaves out are refused (counted, never an error).
 *
 * ## Example launch lines
 * |[
 * # replay a recorded session with its original timing
 * gst-launch-1.0 filesrc location=session.jsonl ! interactsink segment=viz timing=recorded
 * # type events by hand
 * gst-launch-1.0 fdsrc ! interactsink segment=viz
 * # a viewer who may point and click, nothing else
 * gst-launch-1.0 fdsrc ! interactsink segment=viz \
 *     allowed-events=mouse-move+mouse-button-press+mouse-button-release
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstinteractsink.h"
#include "gstvizstreamelements.h"

#include <string.h>
#include <vizstream.h>

GST_DEBUG_CATEGORY_STATIC (gst_interact_sink_debug);
#define GST_CAT_DEFAULT gst_interact_sink_debug

#define GST_TYPE_INTERACT_SINK_WHEN_ABSENT (gst_interact_sink_when_absent_get_type ())
#define GST_TYPE_INTERACT_SINK_COORDINATES (gst_interact_sink_coordinates_get_type ())
#define GST_TYPE_INTERACT_SINK_TIMING (gst_interact_sink_timing_get_type ())

typedef enum
{
  WHEN_ABSENT_DROP,
  WHEN_ABSENT_WAIT,
} WhenAbsent;

typedef enum
{
  COORDINATES_PIXELS,
  COORDINATES_NORMALIZED,
} Coordinates;

typedef enum
{
  TIMING_NONE,
  TIMING_RECORDED,
} Timing;

enum
{
  PROP_0,
  PROP_SEGMENT,
  PROP_VIEWER_ID,
  PROP_COORDINATES,
  PROP_MOTION_RATE,
  PROP_WHEN_ABSENT,
  PROP_MAX_MESSAGE_SIZE,
  PROP_TIMING,
  PROP_ALLOWED_EVENTS,
  PROP_STATS,
};

#define DEFAULT_SEGMENT NULL
#define DEFAULT_VIEWER_ID 0
#define DEFAULT_COORDINATES COORDINATES_PIXELS
#define DEFAULT_MOTION_RATE 0
#define DEFAULT_WHEN_ABSENT WHEN_ABSENT_DROP
#define DEFAULT_MAX_MESSAGE_SIZE 65536
#define DEFAULT_TIMING TIMING_NONE
#define DEFAULT_ALLOWED_EVENTS GST_INTERACT_SINK_EVENTS_ALL

/* How often to look for a renderer that is absent. */
#define ABSENT_POLL_US (20 * G_TIME_SPAN_MILLISECOND)
#define MAX_EVENTS_PER_PARSE 256

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS_ANY);

struct _GstInteractSink
{
  GstBaseSink parent;

  /* properties, under the object lock; allowed_events is also read without
   * it (g_atomic_int_get) by the streaming thread: it may change while
   * playing */
  guint allowed_events;         /* GstInteractSinkEvents */
  gchar *segment;
  guint viewer_id;
  Coordinates coordinates;
  guint motion_rate;
  WhenAbsent when_absent;
  guint max_message_size;
  Timing timing;

  /* streaming thread only (copied from the properties in start()) */
  gchar *segment_name;
  guint viewer;
  Coordinates coords;
  gint64 motion_interval_us;
  WhenAbsent absent_mode;
  gsize max_size;
  Timing timing_mode;
  VzReader *reader;
  VzProducer *producer;
  gboolean checked;             /* renderer checked for this message */
  GByteArray *pending;          /* an unfinished line */
  VzEvent held_motion;          /* rate-limited motion not yet sent */
  gboolean have_held_motion;
  gint64 last_motion_us;
  gint64 replay_start_us;
  guint64 replay_first_ns;
  gboolean replay_started;
  VzEvent *events;

  /* under the object lock (cond waits with it) */
  gboolean flushing;
  GCond cond;
  guint64 messages, events_sent, events_dropped, malformed, invalid;
  guint64 oversized, motion_coalesced, refused;
};

/* The flags are 1 << (VzEventType - 1): the header promises it. */
G_STATIC_ASSERT (VZ_EVENT_LAST == 11);
G_STATIC_ASSERT (GST_INTERACT_SINK_EVENTS_ALL ==
    (1u << VZ_EVENT_LAST) - 1);
G_STATIC_ASSERT (GST_INTERACT_SINK_EVENT_MOUSE_MOVE ==
    GST_INTERACT_SINK_EVENT_FROM_VZ (VZ_EVENT_POINTER_MOVE));
G_STATIC_ASSERT (GST_INTERACT_SINK_EVENT_MOUSE_BUTTON_PRESS ==
    GST_INTERACT_SINK_EVENT_FROM_VZ (VZ_EVENT_BUTTON_PRESS));
G_STATIC_ASSERT (GST_INTERACT_SINK_EVENT_MOUSE_BUTTON_RELEASE ==
    GST_INTERACT_SINK_EVENT_FROM_VZ (VZ_EVENT_BUTTON_RELEASE));
G_STATIC_ASSERT (GST_INTERACT_SINK_EVENT_MOUSE_SCROLL ==
    GST_INTERACT_SINK_EVENT_FROM_VZ (VZ_EVENT_WHEEL));
G_STATIC_ASSERT (GST_INTERACT_SINK_EVENT_KEY_PRESS ==
    GST_INTERACT_SINK_EVENT_FROM_VZ (VZ_EVENT_KEY_PRESS));
G_STATIC_ASSERT (GST_INTERACT_SINK_EVENT_KEY_RELEASE ==
    GST_INTERACT_SINK_EVENT_FROM_VZ (VZ_EVENT_KEY_RELEASE));
G_STATIC_ASSERT (GST_INTERACT_SINK_EVENT_TOUCH_DOWN ==
    GST_INTERACT_SINK_EVENT_FROM_VZ (VZ_EVENT_TOUCH_DOWN));
G_STATIC_ASSERT (GST_INTERACT_SINK_EVENT_TOUCH_MOTION ==
    GST_INTERACT_SINK_EVENT_FROM_VZ (VZ_EVENT_TOUCH_MOTION));
G_STATIC_ASSERT (GST_INTERACT_SINK_EVENT_TOUCH_UP ==
    GST_INTERACT_SINK_EVENT_FROM_VZ (VZ_EVENT_TOUCH_UP));
G_STATIC_ASSERT (GST_INTERACT_SINK_EVENT_RESIZE_REQUEST ==
    GST_INTERACT_SINK_EVENT_FROM_VZ (VZ_EVENT_RESIZE_REQUEST));
G_STATIC_ASSERT (GST_INTERACT_SINK_EVENT_CUSTOM ==
    GST_INTERACT_SINK_EVENT_FROM_VZ (VZ_EVENT_CUSTOM));

/* Indexed by VzEventType - 1; nicks: the names of docs/events.md,
 * lowercase and dashed. */
static const GFlagsValue event_flags[] = {
  {GST_INTERACT_SINK_EVENT_MOUSE_MOVE, "MouseMove (pointer motion)",
      "mouse-move"},
  {GST_INTERACT_SINK_EVENT_MOUSE_BUTTON_PRESS, "MouseButtonPress",
      "mouse-button-press"},
  {GST_INTERACT_SINK_EVENT_MOUSE_BUTTON_RELEASE, "MouseButtonRelease",
      "mouse-button-release"},
  {GST_INTERACT_SINK_EVENT_MOUSE_SCROLL, "MouseScroll (wheel)",
      "mouse-scroll"},
  {GST_INTERACT_SINK_EVENT_KEY_PRESS, "KeyPress", "key-press"},
  {GST_INTERACT_SINK_EVENT_KEY_RELEASE, "KeyRelease", "key-release"},
  {GST_INTERACT_SINK_EVENT_TOUCH_DOWN, "TouchDown", "touch-down"},
  {GST_INTERACT_SINK_EVENT_TOUCH_MOTION, "TouchMotion", "touch-motion"},
  {GST_INTERACT_SINK_EVENT_TOUCH_UP, "TouchUp", "touch-up"},
  {GST_INTERACT_SINK_EVENT_RESIZE_REQUEST,
      "ResizeRequest (a viewer asks for another frame size)",
      "resize-request"},
  {GST_INTERACT_SINK_EVENT_CUSTOM, "Custom (application text)", "custom"},
  {0, NULL, NULL},
};

GType
gst_interact_sink_events_get_type (void)
{
  static GType type = 0;

  if (g_once_init_enter (&type))
    g_once_init_leave (&type,
        g_flags_register_static (GST_INTERACT_SINK_EVENTS_TYPE_NAME,
            event_flags));
  return type;
}

static GType
gst_interact_sink_when_absent_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {WHEN_ABSENT_DROP, "Drop events (counted) until a renderer is there",
        "drop"},
    {WHEN_ABSENT_WAIT, "Hold the stream until a renderer is there", "wait"},
    {0, NULL, NULL},
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type,
        g_enum_register_static ("GstInteractSinkWhenAbsent", values));
  return type;
}

static GType
gst_interact_sink_coordinates_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {COORDINATES_PIXELS, "x/y are pixels of the renderer's frame", "pixels"},
    {COORDINATES_NORMALIZED, "x/y are 0..1 across the renderer's frame",
        "normalized"},
    {0, NULL, NULL},
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type,
        g_enum_register_static ("GstInteractSinkCoordinates", values));
  return type;
}

static GType
gst_interact_sink_timing_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {TIMING_NONE, "Deliver events as soon as they arrive", "none"},
    {TIMING_RECORDED, "Deliver events at their recorded \"time\" "
          "(seconds), relative to the first one", "recorded"},
    {0, NULL, NULL},
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type,
        g_enum_register_static ("GstInteractSinkTiming", values));
  return type;
}

#define gst_interact_sink_parent_class parent_class
G_DEFINE_TYPE (GstInteractSink, gst_interact_sink, GST_TYPE_BASE_SINK);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (interactsink, "interactsink",
    GST_RANK_NONE, GST_TYPE_INTERACT_SINK, vizstream_element_init (plugin));

static void gst_interact_sink_finalize (GObject * object);
static void gst_interact_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_interact_sink_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static gboolean gst_interact_sink_start (GstBaseSink * bsink);
static gboolean gst_interact_sink_stop (GstBaseSink * bsink);
static gboolean gst_interact_sink_unlock (GstBaseSink * bsink);
static gboolean gst_interact_sink_unlock_stop (GstBaseSink * bsink);
static gboolean gst_interact_sink_event (GstBaseSink * bsink,
    GstEvent * event);
static GstFlowReturn gst_interact_sink_render (GstBaseSink * bsink,
    GstBuffer * buffer);

static void
gst_interact_sink_class_init (GstInteractSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *basesink_class = GST_BASE_SINK_CLASS (klass);

  gobject_class->finalize = gst_interact_sink_finalize;
  gobject_class->set_property = gst_interact_sink_set_property;
  gobject_class->get_property = gst_interact_sink_get_property;

  /**
   * GstInteractSink:segment:
   *
   * Name of the renderer's shared segment (as on shmframesrc).
   */
  g_object_class_install_property (gobject_class, PROP_SEGMENT,
      vizstream_param_spec_segment ());
  /**
   * GstInteractSink:viewer-id:
   *
   * Viewer id stamped on events that carry none (0: keep what they say).
   */
  g_object_class_install_property (gobject_class, PROP_VIEWER_ID,
      g_param_spec_uint ("viewer-id", "Viewer id",
          "Viewer id for events that carry none (0 = leave as is)", 0,
          G_MAXUINT32, DEFAULT_VIEWER_ID, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  /**
   * GstInteractSink:coordinates:
   *
   * How x/y in the messages are to be read: pixels of the renderer's frame,
   * or 0..1 across it (mapped with the size of the newest frame).
   */
  g_object_class_install_property (gobject_class, PROP_COORDINATES,
      g_param_spec_enum ("coordinates", "Coordinates",
          "How x/y in messages are meant", GST_TYPE_INTERACT_SINK_COORDINATES,
          DEFAULT_COORDINATES, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  /**
   * GstInteractSink:motion-rate:
   *
   * At most this many pointer-motion events per second reach the renderer
   * (the newest position wins; a following button or key event flushes
   * it); 0 sends every one.
   */
  g_object_class_install_property (gobject_class, PROP_MOTION_RATE,
      g_param_spec_uint ("motion-rate", "Motion rate",
          "Pointer-motion events per second at most (0 = all)", 0, 10000,
          DEFAULT_MOTION_RATE, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  /**
   * GstInteractSink:when-absent:
   *
   * With no renderer (not started, or gone): drop events, counted, or hold
   * the stream until one is there.
   */
  g_object_class_install_property (gobject_class, PROP_WHEN_ABSENT,
      g_param_spec_enum ("when-absent", "When absent",
          "What to do with events while there is no renderer",
          GST_TYPE_INTERACT_SINK_WHEN_ABSENT, DEFAULT_WHEN_ABSENT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  /**
   * GstInteractSink:max-message-size:
   *
   * Messages (and unfinished lines) larger than this are dropped with a
   * warning.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_MESSAGE_SIZE,
      g_param_spec_uint ("max-message-size", "Maximum message size",
          "Larger messages are dropped (bytes)", 64, 16 * 1024 * 1024,
          DEFAULT_MAX_MESSAGE_SIZE, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  /**
   * GstInteractSink:timing:
   *
   * none: deliver events as they come; recorded: at their "time" field
   * (seconds since the recording began), to replay a session faithfully.
   */
  g_object_class_install_property (gobject_class, PROP_TIMING,
      g_param_spec_enum ("timing", "Timing", "When to deliver events",
          GST_TYPE_INTERACT_SINK_TIMING, DEFAULT_TIMING,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  /**
   * GstInteractSink:allowed-events:
   *
   * The input policy: the event types that reach the renderer. Others are
   * refused after parsing (so a name written with JSON escapes is the same
   * name), counted in stats as "refused", logged, never an error. May
   * change while playing (a viewer gains or loses control); a held
   * pointer motion (motion-rate) is refused too once mouse-move is not
   * allowed. The flags are 1 << (VzEventType - 1) (gstinteractsink.h).
   */
  g_object_class_install_property (gobject_class, PROP_ALLOWED_EVENTS,
      g_param_spec_flags ("allowed-events", "Allowed events",
          "Event types passed to the renderer; others are refused (counted)",
          GST_TYPE_INTERACT_SINK_EVENTS, DEFAULT_ALLOWED_EVENTS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstInteractSink:stats:
   *
   * messages (buffers), events-sent, events-dropped (no renderer, or no
   * free lane), malformed (not JSON), invalid (JSON but no valid event),
   * oversized, motion-coalesced (by motion-rate), refused (by
   * allowed-events).
   */
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Messages, events sent and dropped, malformed input",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class,
      "Interaction event sink", "Sink",
      "Writes JSON event messages into a vizstream renderer's event queue",
      "gst-vizstream developers");

  basesink_class->start = GST_DEBUG_FUNCPTR (gst_interact_sink_start);
  basesink_class->stop = GST_DEBUG_FUNCPTR (gst_interact_sink_stop);
  basesink_class->unlock = GST_DEBUG_FUNCPTR (gst_interact_sink_unlock);
  basesink_class->unlock_stop =
      GST_DEBUG_FUNCPTR (gst_interact_sink_unlock_stop);
  basesink_class->event = GST_DEBUG_FUNCPTR (gst_interact_sink_event);
  basesink_class->render = GST_DEBUG_FUNCPTR (gst_interact_sink_render);

  GST_DEBUG_CATEGORY_INIT (gst_interact_sink_debug, "interactsink", 0,
      "vizstream interaction event sink");
  gst_type_mark_as_plugin_api (GST_TYPE_INTERACT_SINK_WHEN_ABSENT, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_INTERACT_SINK_COORDINATES, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_INTERACT_SINK_TIMING, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_INTERACT_SINK_EVENTS, 0);
}

static void
gst_interact_sink_init (GstInteractSink * self)
{
  self->segment = g_strdup (DEFAULT_SEGMENT);
  self->viewer_id = DEFAULT_VIEWER_ID;
  self->coordinates = DEFAULT_COORDINATES;
  self->motion_rate = DEFAULT_MOTION_RATE;
  self->when_absent = DEFAULT_WHEN_ABSENT;
  self->max_message_size = DEFAULT_MAX_MESSAGE_SIZE;
  self->timing = DEFAULT_TIMING;
  self->allowed_events = DEFAULT_ALLOWED_EVENTS;
  g_cond_init (&self->cond);
  /* Events are delivered when they arrive, not on the clock. */
  gst_base_sink_set_sync (GST_BASE_SINK (self), FALSE);
}

static void
gst_interact_sink_finalize (GObject * object)
{
  GstInteractSink *self = GST_INTERACT_SINK (object);

  g_free (self->segment);
  g_free (self->segment_name);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_interact_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstInteractSink *self = GST_INTERACT_SINK (object);
  gboolean policy_changed = FALSE;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_SEGMENT:
      g_free (self->segment);
      self->segment = g_value_dup_string (value);
      break;
    case PROP_VIEWER_ID:
      self->viewer_id = g_value_get_uint (value);
      break;
    case PROP_COORDINATES:
      self->coordinates = g_value_get_enum (value);
      break;
    case PROP_MOTION_RATE:
      self->motion_rate = g_value_get_uint (value);
      break;
    case PROP_WHEN_ABSENT:
      self->when_absent = g_value_get_enum (value);
      break;
    case PROP_MAX_MESSAGE_SIZE:
      self->max_message_size = g_value_get_uint (value);
      break;
    case PROP_TIMING:
      self->timing = g_value_get_enum (value);
      break;
    case PROP_ALLOWED_EVENTS:
      g_atomic_int_set (&self->allowed_events, g_value_get_flags (value));
      policy_changed = TRUE;
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
  /* not under the lock: logging an object takes it */
  if (policy_changed)
    GST_INFO_OBJECT (self, "allowed-events now 0x%03x",
        (guint) g_atomic_int_get (&self->allowed_events));
}

static void
gst_interact_sink_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstInteractSink *self = GST_INTERACT_SINK (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_SEGMENT:
      g_value_set_string (value, self->segment);
      break;
    case PROP_VIEWER_ID:
      g_value_set_uint (value, self->viewer_id);
      break;
    case PROP_COORDINATES:
      g_value_set_enum (value, self->coordinates);
      break;
    case PROP_MOTION_RATE:
      g_value_set_uint (value, self->motion_rate);
      break;
    case PROP_WHEN_ABSENT:
      g_value_set_enum (value, self->when_absent);
      break;
    case PROP_MAX_MESSAGE_SIZE:
      g_value_set_uint (value, self->max_message_size);
      break;
    case PROP_TIMING:
      g_value_set_enum (value, self->timing);
      break;
    case PROP_ALLOWED_EVENTS:
      g_value_set_flags (value, self->allowed_events);
      break;
    case PROP_STATS:
      g_value_take_boxed (value, gst_structure_new
          ("application/x-interactsink-stats",
              "messages", G_TYPE_UINT64, self->messages,
              "events-sent", G_TYPE_UINT64, self->events_sent,
              "events-dropped", G_TYPE_UINT64, self->events_dropped,
              "malformed", G_TYPE_UINT64, self->malformed,
              "invalid", G_TYPE_UINT64, self->invalid,
              "oversized", G_TYPE_UINT64, self->oversized,
              "motion-coalesced", G_TYPE_UINT64, self->motion_coalesced,
              "refused", G_TYPE_UINT64, self->refused, NULL));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_interact_sink_start (GstBaseSink * bsink)
{
  GstInteractSink *self = GST_INTERACT_SINK (bsink);

  gchar *name = vizstream_take_segment_name (GST_ELEMENT (self),
      (const gchar **) &self->segment);

  if (name == NULL)
    return FALSE;
  g_free (self->segment_name);
  self->segment_name = name;
  GST_OBJECT_LOCK (self);
  self->viewer = self->viewer_id;
  self->coords = self->coordinates;
  self->motion_interval_us = self->motion_rate ?
      G_USEC_PER_SEC / self->motion_rate : 0;
  self->absent_mode = self->when_absent;
  self->max_size = self->max_message_size;
  self->timing_mode = self->timing;
  self->messages = self->events_sent = self->events_dropped = 0;
  self->malformed = self->invalid = self->oversized = 0;
  self->motion_coalesced = self->refused = 0;
  self->flushing = FALSE;
  GST_OBJECT_UNLOCK (self);

  self->pending = g_byte_array_new ();
  self->events = g_new0 (VzEvent, MAX_EVENTS_PER_PARSE);
  self->have_held_motion = FALSE;
  self->last_motion_us = 0;
  self->replay_started = FALSE;
  return TRUE;
}

static void
gst_interact_sink_detach (GstInteractSink * self)
{
  vz_producer_free (self->producer);
  self->producer = NULL;
  vz_reader_close (self->reader);
  self->reader = NULL;
}

static gboolean
gst_interact_sink_stop (GstBaseSink * bsink)
{
  GstInteractSink *self = GST_INTERACT_SINK (bsink);

  gst_interact_sink_detach (self);
  g_clear_pointer (&self->pending, g_byte_array_unref);
  g_clear_pointer (&self->events, g_free);
  return TRUE;
}

static gboolean
gst_interact_sink_unlock (GstBaseSink * bsink)
{
  GstInteractSink *self = GST_INTERACT_SINK (bsink);

  GST_OBJECT_LOCK (self);
  self->flushing = TRUE;
  g_cond_broadcast (&self->cond);
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_interact_sink_unlock_stop (GstBaseSink * bsink)
{
  GstInteractSink *self = GST_INTERACT_SINK (bsink);

  GST_OBJECT_LOCK (self);
  self->flushing = FALSE;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

/* A producer on a live renderer, or NULL (absent). */
static VzProducer *
gst_interact_sink_producer (GstInteractSink * self)
{
  int rc;

  /* Once per message (not per event: three system calls): a message
   * written into a renderer that has just closed or died would be lost
   * without a word. */
  if (self->reader && !self->checked) {
    self->checked = TRUE;
    if (vz_reader_check_writer (self->reader) != VZ_OK) {
      GST_INFO_OBJECT (self, "renderer gone: %s", vz_last_error ());
      gst_interact_sink_detach (self);
    }
  }
  if (self->reader == NULL) {
    rc = vz_reader_open (self->segment_name, VZ_READER_EVENTS,
        &self->reader);
    if (rc != VZ_OK) {
      GST_LOG_OBJECT (self, "no renderer: %s", vz_last_error ());
      self->reader = NULL;
      return NULL;
    }
  }
  if (self->producer == NULL) {
    rc = vz_producer_new (self->reader, &self->producer);
    if (rc != VZ_OK) {
      GST_ELEMENT_WARNING (self, RESOURCE, BUSY,
          ("Cannot send events to the renderer of '%s'.",
              self->segment_name), ("%s", vz_last_error ()));
      self->producer = NULL;
      return NULL;
    }
    GST_INFO_OBJECT (self, "sending events to '%s'", self->segment_name);
  }
  return self->producer;
}

/* GST_FLOW_FLUSHING when interrupted while waiting for a renderer. */
static GstFlowReturn
gst_interact_sink_send (GstInteractSink * self, VzEvent * e)
{
  VzProducer *p;

  for (;;) {
    p = gst_interact_sink_producer (self);
    if (p || self->absent_mode == WHEN_ABSENT_DROP)
      break;
    if (!vizstream_sleep_until (GST_OBJECT (self), &self->cond,
            &self->flushing, g_get_monotonic_time () + ABSENT_POLL_US))
      return GST_FLOW_FLUSHING;
    self->checked = FALSE;
  }
  if (self->viewer && e->viewer_id == 0)
    e->viewer_id = self->viewer;
  if (self->coords == COORDINATES_NORMALIZED && self->reader) {
    VzFrame f;
    if (vz_reader_peek (self->reader, &f) == VZ_OK) {
      e->x *= f.width;
      e->y *= f.height;
    }
  }
  e->timestamp_ns = 0;          /* stamped now by the producer */
  if (p && vz_producer_push (p, e) == VZ_OK) {
    GST_OBJECT_LOCK (self);
    self->events_sent++;
    GST_OBJECT_UNLOCK (self);
    return GST_FLOW_OK;
  }
  GST_OBJECT_LOCK (self);
  self->events_dropped++;
  GST_OBJECT_UNLOCK (self);
  return GST_FLOW_OK;
}

/* The input policy (allowed-events), on parsed events: how the name was
 * written in the message (JSON escapes) makes no difference. */
static gboolean
gst_interact_sink_allowed (GstInteractSink * self, const VzEvent * e)
{
  guint allowed = (guint) g_atomic_int_get (&self->allowed_events);

  if (e->type >= 1 && e->type <= VZ_EVENT_LAST
      && (allowed & GST_INTERACT_SINK_EVENT_FROM_VZ (e->type)))
    return TRUE;
  GST_LOG_OBJECT (self, "refused a %s event (allowed-events 0x%03x)",
      e->type >= 1 && e->type <= VZ_EVENT_LAST ?
      event_flags[e->type - 1].value_nick : "unknown", allowed);
  GST_OBJECT_LOCK (self);
  self->refused++;
  GST_OBJECT_UNLOCK (self);
  return FALSE;
}

static GstFlowReturn
gst_interact_sink_flush_held_motion (GstInteractSink * self)
{
  if (!self->have_held_motion)
    return GST_FLOW_OK;
  self->have_held_motion = FALSE;
  /* held under an older policy */
  if (!gst_interact_sink_allowed (self, &self->held_motion))
    return GST_FLOW_OK;
  self->last_motion_us = g_get_monotonic_time ();
  return gst_interact_sink_send (self, &self->held_motion);
}

static GstFlowReturn
gst_interact_sink_deliver (GstInteractSink * self, VzEvent * e)
{
  GstFlowReturn ret;

  if (self->timing_mode == TIMING_RECORDED) {
    if (!self->replay_started) {
      self->replay_started = TRUE;
      self->replay_start_us = g_get_monotonic_time ();
      self->replay_first_ns = e->timestamp_ns;
    } else if (e->timestamp_ns > self->replay_first_ns) {
      gint64 due = self->replay_start_us +
          (gint64) ((e->timestamp_ns - self->replay_first_ns) / 1000);
      if (!vizstream_sleep_until (GST_OBJECT (self), &self->cond,
              &self->flushing, due))
        return GST_FLOW_FLUSHING;
    }
  }

  if (self->motion_interval_us > 0 && e->type == VZ_EVENT_POINTER_MOVE) {
    gint64 now = g_get_monotonic_time ();
    if (now - self->last_motion_us < self->motion_interval_us) {
      if (self->have_held_motion) {
        GST_OBJECT_LOCK (self);
        self->motion_coalesced++;
        GST_OBJECT_UNLOCK (self);
      }
      self->held_motion = *e;
      self->have_held_motion = TRUE;
      return GST_FLOW_OK;
    }
    self->have_held_motion = FALSE;
    self->last_motion_us = now;
    return gst_interact_sink_send (self, e);
  }
  /* Anything else goes after the motion it followed. */
  if ((ret = gst_interact_sink_flush_held_motion (self)) != GST_FLOW_OK)
    return ret;
  return gst_interact_sink_send (self, e);
}

/* Parse text and deliver what it holds; counts what it refuses. */
static GstFlowReturn
gst_interact_sink_parse (GstInteractSink * self, const char *text, gsize len)
{
  VzJsonResult res;
  GstFlowReturn ret = GST_FLOW_OK;

  vz_events_from_json (text, len, self->events, MAX_EVENTS_PER_PARSE, &res);
  if (res.malformed || res.invalid || res.overflow) {
    GST_OBJECT_LOCK (self);
    self->malformed += res.malformed;
    self->invalid += res.invalid + res.overflow;
    GST_OBJECT_UNLOCK (self);
    GST_ELEMENT_WARNING (self, STREAM, DECODE,
        ("Dropped %" G_GSIZE_FORMAT " malformed and %" G_GSIZE_FORMAT
            " invalid event message(s).", res.malformed,
            res.invalid + res.overflow), ("%s", res.last_error));
  }
  for (gsize i = 0; i < res.events && ret == GST_FLOW_OK; i++) {
    if (gst_interact_sink_allowed (self, &self->events[i]))
      ret = gst_interact_sink_deliver (self, &self->events[i]);
  }
  return ret;
}

static void
gst_interact_sink_oversized (GstInteractSink * self, gsize size)
{
  GST_OBJECT_LOCK (self);
  self->oversized++;
  GST_OBJECT_UNLOCK (self);
  GST_ELEMENT_WARNING (self, STREAM, DECODE,
      ("Dropped an event message of %" G_GSIZE_FORMAT " bytes (more than "
          "max-message-size, %" G_GSIZE_FORMAT ").", size, self->max_size),
      (NULL));
}

/* A buffer with no newline that ends like a JSON object or array is a
 * whole message (a data-channel message); otherwise a piece of a line. */
static gboolean
gst_interact_sink_ends_message (const guint8 * data, gsize size)
{
  while (size > 0 && (data[size - 1] == ' ' || data[size - 1] == '\t'
          || data[size - 1] == '\r'))
    size--;
  return size > 0 && (data[size - 1] == '}' || data[size - 1] == ']');
}

static GstFlowReturn
gst_interact_sink_render (GstBaseSink * bsink, GstBuffer * buffer)
{
  GstInteractSink *self = GST_INTERACT_SINK (bsink);
  GstFlowReturn ret = GST_FLOW_OK;
  GstMapInfo map;
  const guint8 *nl;
  gsize cut;

  GST_OBJECT_LOCK (self);
  self->messages++;
  GST_OBJECT_UNLOCK (self);
  self->checked = FALSE;
  if (!gst_buffer_map (buffer, &map, GST_MAP_READ)) {
    GST_ELEMENT_WARNING (self, RESOURCE, READ, ("Could not map a buffer."),
        (NULL));
    return GST_FLOW_OK;
  }
  /* A whole message (the data-channel case) or a piece of a stream of
   * lines (files, pipes): complete lines are parsed, the rest waits. */
  if (memchr (map.data, '\n', map.size) == NULL
      && gst_interact_sink_ends_message (map.data, map.size)
      && (self->pending->len == 0 || map.data[0] == '{'
          || map.data[0] == '[')) {
    /* A whole message after an unfinished one: that one was broken (a
     * truncated data-channel message), not the start of a line. */
    if (self->pending->len > 0) {
      gst_interact_sink_parse (self, (const char *) self->pending->data,
          self->pending->len);
      g_byte_array_set_size (self->pending, 0);
    }
    if (map.size > self->max_size)
      gst_interact_sink_oversized (self, map.size);
    else
      ret = gst_interact_sink_parse (self, (const char *) map.data, map.size);
    gst_buffer_unmap (buffer, &map);
    return ret;
  }
  g_byte_array_append (self->pending, map.data, map.size);
  gst_buffer_unmap (buffer, &map);

  nl = NULL;
  for (gsize i = self->pending->len; i > 0; i--)
    if (self->pending->data[i - 1] == '\n') {
      nl = self->pending->data + i - 1;
      break;
    }
  if (nl) {
    cut = (gsize) (nl - self->pending->data) + 1;
    /* Each line is its own message for the size limit. */
    {
      const guint8 *line = self->pending->data, *end = line + cut;
      while (line < end && ret == GST_FLOW_OK) {
        const guint8 *eol = memchr (line, '\n', (gsize) (end - line));
        gsize l = (gsize) (eol - line);
        if (l > self->max_size)
          gst_interact_sink_oversized (self, l);
        else if (l > 0)
          ret = gst_interact_sink_parse (self, (const char *) line, l);
        line = eol + 1;
      }
    }
    g_byte_array_remove_range (self->pending, 0, (guint) cut);
  }
  if (self->pending->len > self->max_size) {
    gst_interact_sink_oversized (self, self->pending->len);
    g_byte_array_set_size (self->pending, 0);
  }
  return ret;
}

static gboolean
gst_interact_sink_event (GstBaseSink * bsink, GstEvent * event)
{
  GstInteractSink *self = GST_INTERACT_SINK (bsink);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    /* The last line may have no newline; held motion goes out too. */
    if (self->pending && self->pending->len > 0) {
      gst_interact_sink_parse (self, (const char *) self->pending->data,
          self->pending->len);
      g_byte_array_set_size (self->pending, 0);
    }
    gst_interact_sink_flush_held_motion (self);
    if (self->producer)
      vz_producer_flush (self->producer);
  } else if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP) {
    if (self->pending)
      g_byte_array_set_size (self->pending, 0);
    self->replay_started = FALSE;
  }
  return GST_BASE_SINK_CLASS (parent_class)->event (bsink, event);
}
