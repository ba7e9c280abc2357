/* vizstream-server: the shared encode and one webrtcbin per viewer.
 *
 *   source (shmframesrc | --pipeline) ! tee "raw"
 *     raw. ! queue(1, leaky) ! valve ! [rate cap] ! videoconvertscale
 *          ! caps(I420 [, size]) ! encoder ! caps ! tee "<variant>"
 *   per viewer:
 *     <variant>. ! queue(leaky) ! payloader ! caps(extmap twcc)
 *          [! capssetter(profile-level-id)] ! webrtcbin
 *
 * The encoded stream is split before the payloader so that a leaky queue
 * drops whole frames, each viewer has its own RTP sequence, and a viewer
 * can move between variants (the main encode and a lower one for viewers
 * that cannot keep up) without renegotiating. */
#include "vs-server.h"

#include <string.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>
#include <gst/sdp/sdp.h>
#include <gst/rtp/rtp.h>
#include <gst/video/video.h>
#include <gst/app/app.h>

GST_DEBUG_CATEGORY_EXTERN (vs_debug);
#define GST_CAT_DEFAULT vs_debug

#define TWCC_URI \
  "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
#define TIMING_RING 512

typedef struct
{
  const gchar *element;
  VsCodec codec;
  const gchar *bitrate_prop;
  guint bitrate_scale;          /* property units per kbit/s */
  gboolean hardware;
  const gchar *settings;        /* "prop=value prop=value" */
} VsEncoderInfo;

/* In order of preference: hardware first when it works here. */
static const VsEncoderInfo encoders[] = {
  {"nvh264enc", VS_CODEC_H264, "bitrate", 1, TRUE,
      "preset=low-latency-hp rc-mode=cbr zerolatency=true bframes=0"},
  {"vah264enc", VS_CODEC_H264, "bitrate", 1, TRUE,
      "rate-control=cbr b-frames=0"},
  {"vaapih264enc", VS_CODEC_H264, "bitrate", 1, TRUE,
      "rate-control=cbr"},
  {"x264enc", VS_CODEC_H264, "bitrate", 1, FALSE,
      "tune=zerolatency speed-preset=ultrafast vbv-buf-capacity=300 threads=2"},
  {"openh264enc", VS_CODEC_H264, "bitrate", 1000, FALSE,
      "complexity=low rate-control=bitrate"},
  {"vaapivp8enc", VS_CODEC_VP8, "bitrate", 1, TRUE, "rate-control=cbr"},
  {"vp8enc", VS_CODEC_VP8, "target-bitrate", 1000, FALSE,
        "deadline=1 cpu-used=8 threads=2 end-usage=cbr lag-in-frames=0 "
        "error-resilient=partitions undershoot=95 buffer-size=300 "
        "buffer-initial-size=200 buffer-optimal-size=250"},
};

struct _VsVariant
{
  VsMedia *media;
  const gchar *name;
  gboolean low;
  GstElement *queue, *valve, *convert, *caps, *enc, *enccaps, *tee;
  gint fps_cap;                 /* atomic: the frame rate cap */
  GstClockTime next_pts;        /* streaming thread */
  guint users;
  /* what the controller asked for */
  guint bitrate;                /* kbit/s */
  guint min_bitrate, max_bitrate;
  gdouble scale;                /* of the source size, 1.0 = as is */
  guint fps;
  guint width, height;          /* applied output size (0 = source) */
  gint64 last_resize_us;
  gint64 last_keyunit_us;
  gint pending_scale_votes;
  gdouble pending_scale;
  /* counters (streaming thread) */
  gint64 frames, bytes;
  gint64 tick_frames, tick_bytes;
  gint64 tick_us;
  gdouble fps_now, kbps_now;
};

typedef struct
{
  GstClockTime pts;
  guint64 frame;
  guint64 unix_ns;
} VsTiming;

struct _VsMedia
{
  VsServer *server;
  const VsConfig *cfg;
  const VsEncoderInfo *encoder;
  GstElement *pipeline;
  GstElement *source;
  GstElement *rawtee;
  VsVariant *main, *low;
  GList *viewers;               /* VsViewer*, ref held */
  VsViewer *leader;
  guint bus_watch;
  guint source_restart;
  gint src_width, src_height;   /* atomics, from caps */
  gchar *renderer_state;
  GMutex timing_lock;
  VsTiming timing[TIMING_RING];
  guint timing_pos;
};

typedef struct
{
  VsViewer *viewer;
  VsMedia *media;
  VsVariant *variant;
  GstPad *teepad;
  GstElement *queue, *pay, *rtpcaps, *setter, *webrtc;
  GstPad *webrtc_sink;
  GstWebRTCDataChannel *status_channel;
  GstWebRTCDataChannel *input_channel;
  gint need_key;                /* atomic: drop delta frames until a key */
  gint connected;               /* atomic */
  gint timing;                  /* atomic: send frame timing to the page */
  gint overruns;                /* atomic */
  guint timeout_id;
  gchar *state;
  /* link statistics (controller) */
  gdouble loss, recv_kbps, sent_kbps, delay_trend, rtt_ms;
  guint bad_ticks, good_ticks;
  gint64 low_since_us;
  guint low_backoff;
  /* input: appsrc ! interactsink, made on the first event */
  GstElement *input_pipe, *appsrc;
  /* WebSocket video: queue ! appsink instead of payloader + webrtcbin */
  GstElement *appsink;
  guint32 ws_seq, ws_acked;
  guint64 ws_dropped, ws_bytes;
} VsViewerMedia;

static void viewer_request_key (VsViewerMedia * vm);

static gboolean
element_has_property (GstElement * e, const gchar * name)
{
  return g_object_class_find_property (G_OBJECT_GET_CLASS (e), name) != NULL;
}

static void
apply_settings (GstElement * e, const gchar * settings)
{
  gchar **kv = g_strsplit (settings, " ", -1);
  for (gchar ** p = kv; *p; p++) {
    gchar *eq = strchr (*p, '=');
    if (!eq)
      continue;
    *eq = '\0';
    if (element_has_property (e, *p))
      gst_util_set_object_arg (G_OBJECT (e), *p, eq + 1);
  }
  g_strfreev (kv);
}

/* ---------------------------------------------------------------- encoder */

/* A hardware encoder is used only if it encodes a few frames here, in the
 * format browsers need; otherwise the next one is tried. */
static gboolean
encoder_works (const VsEncoderInfo * info)
{
  gchar *desc;
  GstElement *pipe;
  GstMessage *msg;
  gboolean ok = FALSE;
  GError *err = NULL;

  if (!gst_registry_check_feature_version (gst_registry_get (), info->element,
          1, 0, 0))
    return FALSE;
  if (!info->hardware)
    return TRUE;
  desc = g_strdup_printf ("videotestsrc num-buffers=5 ! "
      "video/x-raw,format=NV12,width=320,height=240,framerate=30/1 ! %s ! %s "
      "! fakesink", info->element, info->codec == VS_CODEC_H264 ?
      "video/x-h264,profile=constrained-baseline" : "video/x-vp8");
  pipe = gst_parse_launch (desc, &err);
  g_free (desc);
  if (!pipe) {
    g_clear_error (&err);
    return FALSE;
  }
  if (gst_element_set_state (pipe, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE) {
    GstBus *bus = gst_element_get_bus (pipe);
    msg = gst_bus_timed_pop_filtered (bus, 5 * GST_SECOND,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    ok = msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS;
    if (msg)
      gst_message_unref (msg);
    gst_object_unref (bus);
  }
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (pipe);
  return ok;
}

static const VsEncoderInfo *
pick_encoder (const VsConfig * cfg, GError ** error)
{
  for (gsize i = 0; i < G_N_ELEMENTS (encoders); i++) {
    const VsEncoderInfo *info = &encoders[i];
    if (info->codec != cfg->codec)
      continue;
    if (cfg->encoder) {
      if (g_str_equal (cfg->encoder, info->element)) {
        if (!gst_registry_check_feature_version (gst_registry_get (),
                info->element, 1, 0, 0))
          break;
        return info;
      }
      continue;
    }
    if (encoder_works (info))
      return info;
  }
  if (cfg->encoder)
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
        "encoder '%s' is not available for %s (known: nvh264enc, vah264enc, "
        "vaapih264enc, x264enc, openh264enc; vaapivp8enc, vp8enc)",
        cfg->encoder, cfg->codec == VS_CODEC_H264 ? "H.264" : "VP8");
  else
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
        "no %s encoder works here (install gstreamer1.0-plugins-ugly for "
        "x264enc or gstreamer1.0-plugins-good for vp8enc)",
        cfg->codec == VS_CODEC_H264 ? "H.264" : "VP8");
  return NULL;
}

static void
variant_set_bitrate (VsVariant * v, guint kbps)
{
  kbps = CLAMP (kbps, v->min_bitrate, v->max_bitrate);
  if (kbps == v->bitrate)
    return;
  v->bitrate = kbps;
  g_object_set (v->enc, v->media->encoder->bitrate_prop,
      (guint) (kbps * v->media->encoder->bitrate_scale), NULL);
}

/* Output size for a scale of the source, within --max-size, even. */
static void
variant_size (VsVariant * v, gdouble scale, guint * w, guint * h)
{
  const VsConfig *cfg = v->media->cfg;
  gdouble sw = g_atomic_int_get (&v->media->src_width);
  gdouble sh = g_atomic_int_get (&v->media->src_height);
  gdouble fit = 1.0;

  *w = *h = 0;
  if (sw <= 0 || sh <= 0)
    return;
  if (cfg->max_width && sw * scale > cfg->max_width)
    fit = MIN (fit, cfg->max_width / (sw * scale));
  if (cfg->max_height && sh * scale > cfg->max_height)
    fit = MIN (fit, cfg->max_height / (sh * scale));
  scale *= fit;
  if (scale >= 0.999)
    return;
  *w = MAX (16, ((guint) (sw * scale)) & ~1u);
  *h = MAX (16, ((guint) (sh * scale)) & ~1u);
}

static void
variant_apply_caps (VsVariant * v)
{
  guint w, h;
  GstCaps *caps;

  variant_size (v, v->scale, &w, &h);
  caps = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING,
      v->media->encoder->hardware ? "NV12" : "I420", NULL);
  if (w && h)
    gst_caps_set_simple (caps, "width", G_TYPE_INT, (gint) w, "height",
        G_TYPE_INT, (gint) h, NULL);
  g_object_set (v->caps, "caps", caps, NULL);
  gst_caps_unref (caps);
  v->width = w;
  v->height = h;
  v->last_resize_us = g_get_monotonic_time ();
  GST_INFO ("variant %s: size %ux%u (scale %.2f)", v->name, w, h, v->scale);
}

static void
variant_set_fps (VsVariant * v, guint fps)
{
  fps = MAX (1, fps);
  if (fps == v->fps)
    return;
  v->fps = fps;
  g_atomic_int_set (&v->fps_cap, (gint) fps);
}

static void
vs_variant_request_key (VsVariant * v)
{
  GstPad *pad;
  gint64 now = g_get_monotonic_time ();

  /* Several viewers asking at once get one key frame. */
  if (now - v->last_keyunit_us < 200 * G_TIME_SPAN_MILLISECOND)
    return;
  v->last_keyunit_us = now;
  pad = gst_element_get_static_pad (v->enc, "src");
  gst_pad_send_event (pad, gst_video_event_new_upstream_force_key_unit
      (GST_CLOCK_TIME_NONE, TRUE, 0));
  gst_object_unref (pad);
}

/* A frame rate cap that keeps the renderer's timestamps (the page's
 * latency figure needs them; videorate would put frames on its own grid):
 * a frame passes when it is at least 80 % of a period after the last one
 * that passed (renderer frames come with jitter). A jump back or of more
 * than a second (a new renderer) starts over. */
gboolean
vs_rate_cap_pass (GstClockTime * next, GstClockTime pts, guint fps)
{
  if (!GST_CLOCK_TIME_IS_VALID (pts))
    return TRUE;
  if (GST_CLOCK_TIME_IS_VALID (*next) && pts < *next
      && *next - pts < GST_SECOND)
    return FALSE;
  *next = pts + (GstClockTime) (GST_SECOND / MAX (fps, 1) * 0.8);
  return TRUE;
}

static GstPadProbeReturn
variant_rate_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  VsVariant *v = data;
  return vs_rate_cap_pass (&v->next_pts,
      GST_BUFFER_PTS (GST_PAD_PROBE_INFO_BUFFER (info)),
      (guint) g_atomic_int_get (&v->fps_cap)) ?
      GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
}

static GstPadProbeReturn
variant_count_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  VsVariant *v = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  g_atomic_pointer_add (&v->frames, 1);
  g_atomic_pointer_add (&v->bytes, (gssize) gst_buffer_get_size (buf));
  return GST_PAD_PROBE_OK;
}

static void variant_sync (VsVariant * v);

static VsVariant *
variant_new (VsMedia * media, gboolean low, GError ** error)
{
  const VsConfig *cfg = media->cfg;
  VsVariant *v = g_new0 (VsVariant, 1);
  GstCaps *caps;
  GstPad *pad;

  v->media = media;
  v->low = low;
  v->name = low ? "low" : "main";
  v->queue = gst_element_factory_make ("queue", NULL);
  v->valve = gst_element_factory_make ("valve", NULL);
  v->convert = gst_element_factory_make ("videoconvertscale", NULL);
  v->caps = gst_element_factory_make ("capsfilter", NULL);
  v->enc = gst_element_factory_make (media->encoder->element, NULL);
  v->enccaps = gst_element_factory_make ("capsfilter", NULL);
  v->tee = gst_element_factory_make ("tee", NULL);
  if (!v->queue || !v->valve || !v->convert || !v->caps || !v->enc
      || !v->enccaps || !v->tee) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
        "missing GStreamer elements (queue, valve, "
        "videoconvertscale, %s): run scripts/install-deps.sh",
        media->encoder->element);
    g_free (v);
    return NULL;
  }
  /* Never more than the newest frame waiting for the encoder. */
  g_object_set (v->queue, "max-size-buffers", 1, "max-size-bytes", 0,
      "max-size-time", (guint64) 0, "leaky", 2, NULL);
  g_object_set (v->valve, "drop", TRUE, NULL);
  v->next_pts = GST_CLOCK_TIME_NONE;
  g_object_set (v->convert, "n-threads", 2, NULL);
  apply_settings (v->enc, media->encoder->settings);
  if (element_has_property (v->enc, "key-int-max"))
    g_object_set (v->enc, "key-int-max", 4 * MAX (cfg->max_fps, 1), NULL);
  if (element_has_property (v->enc, "keyframe-max-dist"))
    g_object_set (v->enc, "keyframe-max-dist", 4 * MAX (cfg->max_fps, 1),
        NULL);
  if (element_has_property (v->enc, "gop-size"))
    g_object_set (v->enc, "gop-size", 4 * MAX (cfg->max_fps, 1), NULL);
  caps = cfg->codec == VS_CODEC_H264 ?
      gst_caps_from_string ("video/x-h264,profile=constrained-baseline,"
      "stream-format=byte-stream,alignment=au") :
      gst_caps_new_empty_simple ("video/x-vp8");
  g_object_set (v->enccaps, "caps", caps, NULL);
  gst_caps_unref (caps);
  g_object_set (v->tee, "allow-not-linked", TRUE, NULL);

  if (low) {
    v->max_bitrate = MAX (cfg->min_bitrate, MIN (cfg->max_bitrate / 4, 600));
    v->min_bitrate = cfg->min_bitrate;
    v->scale = 0.5;
    v->fps = 0;
    variant_set_fps (v, MIN (cfg->max_fps, 15));
  } else {
    v->max_bitrate = cfg->max_bitrate;
    v->min_bitrate = cfg->min_bitrate;
    v->scale = 1.0;
    variant_set_fps (v, cfg->max_fps);
  }
  v->bitrate = 0;
  variant_set_bitrate (v, low ? v->max_bitrate : cfg->bitrate);
  v->width = v->height = 0;
  variant_apply_caps (v);

  gst_bin_add_many (GST_BIN (media->pipeline), v->queue, v->valve,
      v->convert, v->caps, v->enc, v->enccaps, v->tee, NULL);
  if (!gst_element_link_many (v->queue, v->valve, v->convert,
          v->caps, v->enc, v->enccaps, v->tee, NULL)) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
        "cannot link the %s encode chain (%s)", v->name,
        media->encoder->element);
    return NULL;
  }
  pad = gst_element_get_static_pad (v->valve, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, variant_rate_probe, v,
      NULL);
  gst_object_unref (pad);
  pad = gst_element_get_static_pad (v->enccaps, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, variant_count_probe, v,
      NULL);
  gst_object_unref (pad);
  v->tick_us = g_get_monotonic_time ();
  return v;
}

/* Brings a chain up, then links it to the source's tee (a running tee
 * pushing into a queue still in NULL would get FLUSHING back and stop the
 * source). */
static gboolean
variant_attach (VsVariant * v, gboolean running, GError ** error)
{
  if (running)
    variant_sync (v);
  if (!gst_element_link (v->media->rawtee, v->queue)) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
        "cannot link the source to the %s encode chain", v->name);
    return FALSE;
  }
  return TRUE;
}

static void
variant_sync (VsVariant * v)
{
  GstElement *chain[] = { v->tee, v->enccaps, v->enc, v->caps, v->convert,
    v->valve, v->queue
  };
  for (gsize i = 0; i < G_N_ELEMENTS (chain); i++)
    gst_element_sync_state_with_parent (chain[i]);
}

static void
variant_use (VsVariant * v, gint delta)
{
  v->users += delta;
  g_object_set (v->valve, "drop", v->users == 0, NULL);
}

static void
variant_tick (VsVariant * v)
{
  gint64 now = g_get_monotonic_time ();
  gint64 frames = g_atomic_pointer_get (&v->frames);
  gint64 bytes = g_atomic_pointer_get (&v->bytes);
  gdouble dt = (now - v->tick_us) / 1e6;

  if (dt <= 0)
    return;
  v->fps_now = (frames - v->tick_frames) / dt;
  v->kbps_now = (bytes - v->tick_bytes) * 8.0 / 1000.0 / dt;
  v->tick_frames = frames;
  v->tick_bytes = bytes;
  v->tick_us = now;
}

/* ------------------------------------------------------------ controller */

/* Size and frame rate for a bitrate: the largest picture that still gets
 * about 0.06 bits per pixel (0.08 for VP8) at the chosen rate. */
static void
ladder (VsVariant * v, guint kbps, gdouble * scale, guint * fps)
{
  static const gdouble scales[] = { 1.0, 0.75, 0.5, 0.375, 0.25 };
  const VsConfig *cfg = v->media->cfg;
  gdouble sw = MAX (1, g_atomic_int_get (&v->media->src_width));
  gdouble sh = MAX (1, g_atomic_int_get (&v->media->src_height));
  gdouble bpp = cfg->codec == VS_CODEC_VP8 ? 0.08 : 0.06;
  guint f = cfg->max_fps;

  if (kbps < 250)
    f = MIN (f, 10);
  else if (kbps < 500)
    f = MIN (f, 15);
  else if (kbps < 900)
    f = MIN (f, 24);
  *fps = MAX (f, 1);
  *scale = scales[G_N_ELEMENTS (scales) - 1];
  for (gsize i = 0; i < G_N_ELEMENTS (scales); i++) {
    gdouble px = sw * scales[i] * sh * scales[i] * *fps;
    if (kbps * 1000.0 / px >= bpp) {
      *scale = scales[i];
      break;
    }
  }
  if (v->low)
    *scale = MIN (*scale, 0.5);
}

static void
variant_steer (VsVariant * v, guint kbps)
{
  gdouble scale;
  guint fps;
  gint64 now = g_get_monotonic_time ();

  variant_set_bitrate (v, kbps);
  ladder (v, v->bitrate, &scale, &fps);
  variant_set_fps (v, fps);
  if (scale == v->scale) {
    v->pending_scale_votes = 0;
    return;
  }
  /* A new size costs a key frame: only after it is wanted for 3 ticks
   * running (2 going down), and not more than every 4 s. */
  if (scale != v->pending_scale) {
    v->pending_scale = scale;
    v->pending_scale_votes = 0;
  }
  v->pending_scale_votes++;
  if (v->pending_scale_votes < (scale < v->scale ? 2 : 3)
      || now - v->last_resize_us < 4 * G_TIME_SPAN_SECOND)
    return;
  v->scale = scale;
  v->pending_scale_votes = 0;
  variant_apply_caps (v);
}

static GObject *
viewer_rtp_session (VsViewerMedia * vm)
{
  GstElement *rtpbin = gst_bin_get_by_name (GST_BIN (vm->webrtc), "rtpbin");
  GObject *session = NULL;

  if (!rtpbin)
    return NULL;
  g_signal_emit_by_name (rtpbin, "get-session", 0, &session);
  gst_object_unref (rtpbin);
  return session;
}

/* Reads the link from transport-cc feedback: what arrived, what was lost,
 * whether queues are building (delay trend). */
static gboolean
viewer_measure (VsViewerMedia * vm)
{
  GObject *session;
  GstStructure *s = NULL;
  gdouble d;
  gint64 i64;
  guint u;

  if (!vm->webrtc || !g_atomic_int_get (&vm->connected))
    return FALSE;
  session = viewer_rtp_session (vm);
  if (!session)
    return FALSE;
  g_object_get (session, "twcc-stats", &s, NULL);
  g_object_unref (session);
  if (!s)
    return FALSE;
  GST_LOG ("viewer %u twcc %" GST_PTR_FORMAT, vm->viewer->id, s);
  if (!gst_structure_get_uint (s, "packets-sent", &u) || u == 0) {
    gst_structure_free (s);
    return FALSE;
  }
  if (gst_structure_get_double (s, "packet-loss-pct", &d))
    vm->loss = d / 100.0;
  if (gst_structure_get_uint (s, "bitrate-recv", &u))
    vm->recv_kbps = u / 1000.0;
  if (gst_structure_get_uint (s, "bitrate-sent", &u))
    vm->sent_kbps = u / 1000.0;
  if (gst_structure_get_int64 (s, "avg-delta-of-delta", &i64))
    vm->delay_trend = i64 / 1e6;        /* ms */
  gst_structure_free (s);
  return TRUE;
}

/* One step of a loss and delay based controller (in the spirit of GCC):
 * multiplicative decrease to what actually arrived when packets are lost or
 * queues build, slow multiplicative increase when the link is clean. */
static guint
controller_step (VsViewerMedia * vm, guint current)
{
  gdouble target = current;

  if (vm->loss > 0.10 || vm->delay_trend > 2.0) {
    gdouble got = vm->recv_kbps > 0 ? vm->recv_kbps : current;
    target = MIN (current * (1.0 - 0.5 * MIN (vm->loss, 0.5)), got * 0.85);
    vm->bad_ticks++;
    vm->good_ticks = 0;
  } else if (vm->loss > 0.02) {
    vm->bad_ticks++;
    vm->good_ticks = 0;
  } else {
    vm->good_ticks++;
    vm->bad_ticks = 0;
    /* Up only while what we send actually gets through. */
    if (vm->good_ticks >= 2)
      target = current * 1.08 + 20;
  }
  return (guint) target;
}

static void viewer_move (VsViewerMedia * vm, VsVariant * to);
static VsVariant *media_low_variant (VsMedia * media);

void
vs_media_tick (VsMedia * media, gdouble * fps, gdouble * kbps,
    guint * target_kbps)
{
  gint64 now = g_get_monotonic_time ();

  variant_tick (media->main);
  if (media->low)
    variant_tick (media->low);

  for (GList * l = media->viewers; l; l = l->next) {
    VsViewer *viewer = l->data;
    VsViewerMedia *vm = viewer->media_priv;
    if (!vm || !viewer_measure (vm) || !media->cfg->adapt)
      continue;
    if (viewer == media->leader || (!media->leader
            && vm->variant == media->main && media->main->users == 1)) {
      /* The controlling viewer steers the main encode. */
      if (vm->variant != media->main)
        viewer_move (vm, media->main);
      variant_steer (media->main, controller_step (vm, media->main->bitrate));
    } else if (vm->variant == media->main) {
      controller_step (vm, media->main->bitrate);
      /* Cannot keep up with the main encode for 3 s: the lower one. */
      if (vm->bad_ticks >= 3) {
        VsVariant *low = media_low_variant (media);
        if (low) {
          viewer_move (vm, low);
          vm->low_since_us = now;
          vm->bad_ticks = vm->good_ticks = 0;
        }
      }
    } else {
      guint step = controller_step (vm, vm->variant->bitrate);
      if (vm->variant->users == 1)
        variant_steer (vm->variant, step);
      /* Clean for a while: try the main encode again (waiting longer
       * each time it did not work out). */
      if (vm->good_ticks >= 10 && now - vm->low_since_us >
          (gint64) (10 + 10 * vm->low_backoff) * G_TIME_SPAN_SECOND) {
        vm->low_backoff = MIN (vm->low_backoff + 1, 6);
        viewer_move (vm, media->main);
        vm->bad_ticks = vm->good_ticks = 0;
      }
    }
  }
  if (fps)
    *fps = media->main->fps_now;
  if (kbps)
    *kbps = media->main->kbps_now + (media->low ? media->low->kbps_now : 0);
  if (target_kbps)
    *target_kbps = media->main->bitrate;
}

/* ----------------------------------------------------------------- source */

/* Frames are matched by running time: encoders shift timestamps (x264enc
 * by 1000 hours) along with their segment. */
static GstClockTime
running_time (GstPad * pad, GstClockTime pts)
{
  GstEvent *ev = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  const GstSegment *seg;
  GstClockTime rt = pts;

  if (ev) {
    gst_event_parse_segment (ev, &seg);
    if (seg->format == GST_FORMAT_TIME)
      rt = gst_segment_to_running_time (seg, GST_FORMAT_TIME, pts);
    gst_event_unref (ev);
  }
  return rt;
}

static GstPadProbeReturn
raw_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  VsMedia *media = data;

  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT (info);
    if (GST_EVENT_TYPE (ev) == GST_EVENT_CAPS) {
      GstCaps *caps;
      GstVideoInfo vinfo;
      gst_event_parse_caps (ev, &caps);
      if (gst_video_info_from_caps (&vinfo, caps)) {
        gboolean changed =
            g_atomic_int_get (&media->src_width) != GST_VIDEO_INFO_WIDTH (&vinfo)
            || g_atomic_int_get (&media->src_height) !=
            GST_VIDEO_INFO_HEIGHT (&vinfo);
        g_atomic_int_set (&media->src_width, GST_VIDEO_INFO_WIDTH (&vinfo));
        g_atomic_int_set (&media->src_height, GST_VIDEO_INFO_HEIGHT (&vinfo));
        if (changed) {
          GstStructure *s = gst_structure_new ("vs-source-size", "width",
              G_TYPE_INT, GST_VIDEO_INFO_WIDTH (&vinfo), "height", G_TYPE_INT,
              GST_VIDEO_INFO_HEIGHT (&vinfo), NULL);
          gst_element_post_message (media->rawtee,
              gst_message_new_application (GST_OBJECT (media->rawtee), s));
        }
      }
    }
  } else if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    static GstCaps *unix_caps;
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
    GstReferenceTimestampMeta *ref;
    GstCustomMeta *meta;
    VsTiming t = { running_time (pad, GST_BUFFER_PTS (buf)), 0, 0 };

    if (g_once_init_enter (&unix_caps))
      g_once_init_leave (&unix_caps,
          gst_caps_new_empty_simple ("timestamp/x-unix"));
    ref = gst_buffer_get_reference_timestamp_meta (buf, unix_caps);
    if (ref)
      t.unix_ns = ref->timestamp;
    meta = gst_buffer_get_custom_meta (buf, "VizStreamFrameMeta");
    if (meta)
      gst_structure_get_uint64 (gst_custom_meta_get_structure (meta),
          "frame-number", &t.frame);
    if (!ref)
      t.unix_ns = g_get_real_time () * 1000;
    GST_LOG ("raw frame %" G_GUINT64_FORMAT " pts %" GST_TIME_FORMAT, t.frame,
        GST_TIME_ARGS (t.pts));
    g_mutex_lock (&media->timing_lock);
    media->timing[media->timing_pos++ % TIMING_RING] = t;
    g_mutex_unlock (&media->timing_lock);
  }
  return GST_PAD_PROBE_OK;
}

static gboolean
media_lookup_timing (VsMedia * media, GstClockTime pts, VsTiming * out)
{
  gboolean found = FALSE;

  g_mutex_lock (&media->timing_lock);
  for (guint i = 0; i < TIMING_RING && i < media->timing_pos; i++) {
    VsTiming *t = &media->timing[(media->timing_pos - 1 - i) % TIMING_RING];
    if (t->pts == pts) {
      *out = *t;
      found = TRUE;
      break;
    }
  }
  g_mutex_unlock (&media->timing_lock);
  return found;
}

static gboolean
restart_source (gpointer data)
{
  VsMedia *media = data;

  media->source_restart = 0;
  GST_INFO ("restarting the source");
  gst_element_set_state (media->source, GST_STATE_NULL);
  gst_element_sync_state_with_parent (media->source);
  return G_SOURCE_REMOVE;
}

static void
set_renderer_state (VsMedia * media, const gchar * state, const gchar * why)
{
  JsonBuilder *b;
  JsonNode *n;

  if (g_strcmp0 (media->renderer_state, state) == 0)
    return;
  g_free (media->renderer_state);
  media->renderer_state = g_strdup (state);
  if (!media->cfg->quiet)
    g_printerr ("\nvizstream-server: renderer %s%s%s\n", state,
        why && *why ? ": " : "", why ? why : "");
  b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "renderer");
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, state);
  json_builder_end_object (b);
  n = json_builder_get_root (b);
  vs_server_broadcast (media->server, n);
  json_node_unref (n);
  g_object_unref (b);
}

static gboolean
bus_cb (GstBus * bus, GstMessage * msg, gpointer data)
{
  VsMedia *media = data;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ERROR:{
      GError *err;
      gchar *dbg;
      gst_message_parse_error (msg, &err, &dbg);
      GST_WARNING ("error from %s: %s (%s)", GST_MESSAGE_SRC_NAME (msg),
          err->message, dbg);
      if (gst_object_has_as_ancestor (GST_MESSAGE_SRC (msg),
              GST_OBJECT (media->source))
          || GST_MESSAGE_SRC (msg) == GST_OBJECT (media->source)) {
        /* A hostile or broken segment: say so, try again later. */
        set_renderer_state (media, "error", err->message);
        if (!media->source_restart)
          media->source_restart = g_timeout_add_seconds (2, restart_source,
              media);
      } else {
        gboolean in_viewer = FALSE;
        for (GList * l = media->viewers; l; l = l->next) {
          VsViewer *viewer = l->data;
          VsViewerMedia *vm = viewer->media_priv;
          if (vm && vm->webrtc
              && gst_object_has_as_ancestor (GST_MESSAGE_SRC (msg),
                  GST_OBJECT (vm->webrtc))) {
            in_viewer = TRUE;
            vs_viewer_close (viewer, err->message);
            break;
          }
        }
        if (!in_viewer) {
          gchar *m = g_strdup_printf ("%s: %s", GST_MESSAGE_SRC_NAME (msg),
              err->message);
          vs_server_fatal (media->server, m);
          g_free (m);
        }
      }
      g_error_free (err);
      g_free (dbg);
      break;
    }
    case GST_MESSAGE_ELEMENT:{
      const GstStructure *s = gst_message_get_structure (msg);
      if (gst_structure_has_name (s, "shmframesrc-renderer"))
        set_renderer_state (media, gst_structure_get_string (s, "state"),
            gst_structure_get_string (s, "reason"));
      break;
    }
    case GST_MESSAGE_APPLICATION:{
      const GstStructure *s = gst_message_get_structure (msg);
      if (gst_structure_has_name (s, "vs-source-size")) {
        variant_apply_caps (media->main);
        if (media->low)
          variant_apply_caps (media->low);
      }
      break;
    }
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

VsMedia *
vs_media_new (VsServer * server, const VsConfig * cfg, GError ** error)
{
  VsMedia *media = g_new0 (VsMedia, 1);
  GstBus *bus;
  GstPad *pad;

  media->server = server;
  media->cfg = cfg;
  g_mutex_init (&media->timing_lock);
  media->encoder = pick_encoder (cfg, error);
  if (!media->encoder)
    goto fail;
  media->pipeline = gst_pipeline_new ("vizstream-server");
  if (cfg->embed && cfg->embed->make_source && !cfg->pipeline_desc) {
    media->source = cfg->embed->make_source (cfg->embed->data, error);
    if (!media->source)
      goto fail;
  } else if (cfg->pipeline_desc) {
    media->source = gst_parse_bin_from_description (cfg->pipeline_desc, TRUE,
        error);
    if (!media->source) {
      g_prefix_error (error, "--pipeline: ");
      goto fail;
    }
  } else {
    media->source = gst_element_factory_make ("shmframesrc", "source");
    if (!media->source) {
      g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
          "the shmframesrc element is not found: set GST_PLUGIN_PATH to "
          "gst-vizstream's plugin directory, or install it");
      goto fail;
    }
    g_object_set (media->source, "segment", cfg->segment, "keep-waiting",
        TRUE, NULL);
    if (cfg->max_fps)
      g_object_set (media->source, "max-framerate", cfg->max_fps, 1, NULL);
  }
  media->rawtee = gst_element_factory_make ("tee", "raw");
  g_object_set (media->rawtee, "allow-not-linked", TRUE, NULL);
  gst_bin_add_many (GST_BIN (media->pipeline), media->source, media->rawtee,
      NULL);
  if (!gst_element_link (media->source, media->rawtee)) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
        "the source does not link (does it produce video/x-raw?)");
    goto fail;
  }
  pad = gst_element_get_static_pad (media->rawtee, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, raw_probe, media, NULL);
  gst_object_unref (pad);
  media->main = variant_new (media, FALSE, error);
  if (!media->main || !variant_attach (media->main, FALSE, error))
    goto fail;

  bus = gst_pipeline_get_bus (GST_PIPELINE (media->pipeline));
  media->bus_watch = gst_bus_add_watch (bus, bus_cb, media);
  gst_object_unref (bus);
  if (gst_element_set_state (media->pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE,
        "the pipeline does not start (GST_DEBUG=3 tells why)");
    goto fail;
  }
  media->renderer_state = g_strdup (cfg->pipeline_desc ? "pipeline" :
      cfg->embed && cfg->embed->make_source ? "application" : "waiting");
  return media;

fail:
  vs_media_free (media);
  return NULL;
}

static void viewer_media_free (VsViewerMedia * vm);

void
vs_media_free (VsMedia * media)
{
  if (!media)
    return;
  while (media->viewers)
    vs_media_remove_viewer (media, media->viewers->data);
  if (media->pipeline) {
    gst_element_set_state (media->pipeline, GST_STATE_NULL);
    gst_object_unref (media->pipeline);
  }
  if (media->bus_watch)
    g_source_remove (media->bus_watch);
  if (media->source_restart)
    g_source_remove (media->source_restart);
  g_free (media->main);
  g_free (media->low);
  g_free (media->renderer_state);
  g_mutex_clear (&media->timing_lock);
  g_free (media);
}

GstElement *
vs_media_pipeline (VsMedia * media)
{
  return media->pipeline;
}

GstElement *
vs_media_rawtee (VsMedia * media)
{
  return media->rawtee;
}

const gchar *
vs_media_encoder_name (VsMedia * media)
{
  return media->encoder->element;
}

static VsVariant *
media_low_variant (VsMedia * media)
{
  GError *err = NULL;

  if (media->low)
    return media->low;
  media->low = variant_new (media, TRUE, &err);
  if (!media->low || !variant_attach (media->low, TRUE, &err)) {
    GST_WARNING ("no low variant: %s", err->message);
    g_clear_error (&err);
    return NULL;
  }
  return media->low;
}

/* ------------------------------------------------------------- viewers */

typedef struct
{
  VsViewer *viewer;
  JsonNode *message;
  gchar *text;
  gsize len;
  gint kind;
} Deferred;

enum { DEFER_SEND, DEFER_INPUT, DEFER_CONNECTED, DEFER_KEY, DEFER_FAILED,
  DEFER_CONTROL
};

static gboolean
deferred_run (gpointer data)
{
  Deferred *d = data;
  VsViewer *viewer = d->viewer;
  VsViewerMedia *vm = viewer->media_priv;

  if (!viewer->closed && vm) {
    switch (d->kind) {
      case DEFER_SEND:
        vs_viewer_send (viewer, d->message);
        break;
      case DEFER_INPUT:
        vs_viewer_input (viewer, d->text, d->len);
        break;
      case DEFER_CONNECTED:
        if (vm->timeout_id) {
          g_source_remove (vm->timeout_id);
          vm->timeout_id = 0;
        }
        viewer_request_key (vm);
        break;
      case DEFER_KEY:
        viewer_request_key (vm);
        break;
      case DEFER_FAILED:
        vs_viewer_close (viewer, d->text);
        break;
      case DEFER_CONTROL:{
        /* The page's own requests on the status channel. */
        JsonParser *p = json_parser_new ();
        if (json_parser_load_from_data (p, d->text, d->len, NULL)
            && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p))) {
          JsonObject *o = json_node_get_object (json_parser_get_root (p));
          const gchar *type = json_object_get_string_member_with_default (o,
              "type", "");
          if (g_str_equal (type, "timing"))
            g_atomic_int_set (&vm->timing,
                json_object_get_boolean_member_with_default (o, "on", FALSE));
          else if (g_str_equal (type, "ping") && vm->status_channel) {
            gchar *pong = g_strdup_printf ("{\"type\":\"pong\",\"t\":%.3f,"
                "\"server_ms\":%.3f}",
                json_object_get_double_member_with_default (o, "t", 0),
                g_get_real_time () / 1000.0);
            g_signal_emit_by_name (vm->status_channel, "send-string", pong);
            g_free (pong);
          } else if (g_str_equal (type, "keyframe"))
            viewer_request_key (vm);
        }
        g_object_unref (p);
        break;
      }
    }
  }
  if (d->message)
    json_node_unref (d->message);
  g_free (d->text);
  vs_viewer_unref (viewer);
  g_free (d);
  return G_SOURCE_REMOVE;
}

static void
defer (VsViewer * viewer, gint kind, JsonNode * message, const gchar * text,
    gssize len)
{
  Deferred *d = g_new0 (Deferred, 1);
  d->viewer = vs_viewer_ref (viewer);
  d->kind = kind;
  d->message = message;
  if (text) {
    d->len = len < 0 ? strlen (text) : (gsize) len;
    d->text = g_strndup (text, d->len);
  }
  g_main_context_invoke (NULL, deferred_run, d);
}

static void
viewer_request_key (VsViewerMedia * vm)
{
  g_atomic_int_set (&vm->need_key, 1);
  vs_variant_request_key (vm->variant);
}

/* Before the viewer is connected, and after its queue overflowed, delta
 * frames are dropped until a key frame: a decoder never gets a frame whose
 * reference it did not see. */
static GstPadProbeReturn
viewer_queue_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  VsViewerMedia *vm = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);

  /* Before the connection key frames only: the payloader learns the
   * stream's parameters from them, and webrtcbin its caps for the offer. */
  if (!g_atomic_int_get (&vm->connected))
    return GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT) ?
        GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
  if (g_atomic_int_get (&vm->need_key)) {
    if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT))
      return GST_PAD_PROBE_DROP;
    g_atomic_int_set (&vm->need_key, 0);
  }
  return GST_PAD_PROBE_OK;
}

static void
viewer_overrun_cb (GstElement * queue, gpointer data)
{
  VsViewerMedia *vm = data;
  g_atomic_int_inc (&vm->overruns);
  if (!g_atomic_int_get (&vm->need_key)) {
    g_atomic_int_set (&vm->need_key, 1);
    defer (vm->viewer, DEFER_KEY, NULL, NULL, 0);
  }
}

/* Frame timing for the page's latency figure: the RTP timestamp of each
 * frame with the renderer's publish time (and frame number). */
static GstPadProbeReturn
viewer_rtp_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  VsViewerMedia *vm = data;
  GstBuffer *buf;
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  VsTiming t;
  guint32 ts;
  gboolean marker;

  if (!g_atomic_int_get (&vm->timing) || !vm->status_channel)
    return GST_PAD_PROBE_OK;
  /* The payloader pushes a frame's packets as a list: its last one. */
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);
    guint n = gst_buffer_list_length (list);
    if (n == 0)
      return GST_PAD_PROBE_OK;
    buf = gst_buffer_list_get (list, n - 1);
  } else {
    buf = GST_PAD_PROBE_INFO_BUFFER (info);
  }
  if (!gst_rtp_buffer_map (buf, GST_MAP_READ, &rtp))
    return GST_PAD_PROBE_OK;
  ts = gst_rtp_buffer_get_timestamp (&rtp);
  marker = gst_rtp_buffer_get_marker (&rtp);
  gst_rtp_buffer_unmap (&rtp);
  if (marker && media_lookup_timing (vm->media, running_time (pad,
              GST_BUFFER_PTS (buf)), &t)) {
    gchar *msg = g_strdup_printf ("{\"type\":\"frame\",\"rtp\":%u,"
        "\"frame\":%" G_GUINT64_FORMAT ",\"publish_ms\":%.3f}", ts, t.frame,
        t.unix_ns / 1e6);
    g_signal_emit_by_name (vm->status_channel, "send-string", msg);
    g_free (msg);
  }
  return GST_PAD_PROBE_OK;
}

static gchar *
fix_h264_offer (const gchar * sdp)
{
  /* Browsers match H.264 by profile; say constrained baseline level 3.1
   * (what every browser accepts) whatever level the encoder picked for a
   * big frame, and allow level asymmetry. */
  GRegex *re = g_regex_new ("profile-level-id=42e0[0-9a-fA-F]{2}", 0, 0, NULL);
  gchar *out = g_regex_replace_literal (re, sdp, -1, 0,
      "profile-level-id=42e01f;level-asymmetry-allowed=1", 0, NULL);
  g_regex_unref (re);
  return out;
}

static void
on_offer_created (GstPromise * promise, gpointer data)
{
  VsViewerMedia *vm = data;
  const GstStructure *reply;
  GstWebRTCSessionDescription *offer = NULL;
  JsonBuilder *b;
  gchar *text;

  if (gst_promise_wait (promise) != GST_PROMISE_RESULT_REPLIED) {
    gst_promise_unref (promise);
    defer (vm->viewer, DEFER_FAILED, NULL, "offer not created", -1);
    return;
  }
  reply = gst_promise_get_reply (promise);
  gst_structure_get (reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
      &offer, NULL);
  gst_promise_unref (promise);
  if (!offer) {
    defer (vm->viewer, DEFER_FAILED, NULL, "offer not created", -1);
    return;
  }
  g_signal_emit_by_name (vm->webrtc, "set-local-description", offer, NULL);
  text = gst_sdp_message_as_text (offer->sdp);
  if (vm->media->cfg->codec == VS_CODEC_H264) {
    gchar *fixed = fix_h264_offer (text);
    g_free (text);
    text = fixed;
  }
  gst_webrtc_session_description_free (offer);
  b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "offer");
  json_builder_set_member_name (b, "sdp");
  json_builder_add_string_value (b, text);
  json_builder_end_object (b);
  defer (vm->viewer, DEFER_SEND, json_builder_get_root (b), NULL, 0);
  g_object_unref (b);
  g_free (text);
}

static void
on_negotiation_needed (GstElement * webrtc, gpointer data)
{
  VsViewerMedia *vm = data;
  GstPromise *p = gst_promise_new_with_change_func (on_offer_created, vm,
      NULL);
  g_signal_emit_by_name (webrtc, "create-offer", NULL, p);
}

static void
on_ice_candidate (GstElement * webrtc, guint mline, gchar * candidate,
    gpointer data)
{
  VsViewerMedia *vm = data;
  JsonBuilder *b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "ice");
  json_builder_set_member_name (b, "candidate");
  json_builder_add_string_value (b, candidate);
  json_builder_set_member_name (b, "sdpMLineIndex");
  json_builder_add_int_value (b, mline);
  json_builder_end_object (b);
  defer (vm->viewer, DEFER_SEND, json_builder_get_root (b), NULL, 0);
  g_object_unref (b);
}

static void
on_connection_state (GObject * webrtc, GParamSpec * pspec, gpointer data)
{
  VsViewerMedia *vm = data;
  GstWebRTCPeerConnectionState state;

  g_object_get (webrtc, "connection-state", &state, NULL);
  GST_INFO ("viewer %u: connection state %d", vm->viewer->id, state);
  if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED) {
    g_atomic_int_set (&vm->connected, 1);
    defer (vm->viewer, DEFER_CONNECTED, NULL, NULL, 0);
  } else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED) {
    defer (vm->viewer, DEFER_FAILED, NULL, "connection failed", -1);
  } else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_DISCONNECTED ||
      state == GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED) {
    g_atomic_int_set (&vm->connected, 0);
  }
}

static void
on_input_message (GstWebRTCDataChannel * channel, gchar * text, gpointer data)
{
  VsViewerMedia *vm = data;
  if (text)
    defer (vm->viewer, DEFER_INPUT, NULL, text, -1);
}

static void
on_input_data (GstWebRTCDataChannel * channel, GBytes * bytes, gpointer data)
{
  VsViewerMedia *vm = data;
  gsize len;
  const gchar *d = g_bytes_get_data (bytes, &len);
  if (d)
    defer (vm->viewer, DEFER_INPUT, NULL, d, len);
}

static void
on_status_message (GstWebRTCDataChannel * channel, gchar * text,
    gpointer data)
{
  VsViewerMedia *vm = data;
  if (text && strlen (text) < 1024)
    defer (vm->viewer, DEFER_CONTROL, NULL, text, -1);
}

static void
on_data_channel (GstElement * webrtc, GstWebRTCDataChannel * channel,
    gpointer data)
{
  VsViewerMedia *vm = data;
  gchar *label = NULL;

  g_object_get (channel, "label", &label, NULL);
  if (g_strcmp0 (label, "input") == 0 && !vm->input_channel) {
    vm->input_channel = g_object_ref (channel);
    g_signal_connect (channel, "on-message-string",
        G_CALLBACK (on_input_message), vm);
    g_signal_connect (channel, "on-message-data", G_CALLBACK (on_input_data),
        vm);
  } else {
    GST_INFO ("viewer %u: ignoring data channel '%s'", vm->viewer->id, label);
  }
  g_free (label);
}

static gboolean
negotiation_timeout (gpointer data)
{
  VsViewerMedia *vm = data;
  vm->timeout_id = 0;
  vs_viewer_close (vm->viewer, "negotiation did not finish in time");
  return G_SOURCE_REMOVE;
}

static GstCaps *
rtp_caps (const VsConfig * cfg)
{
  GstCaps *caps = gst_caps_new_simple ("application/x-rtp",
      "media", G_TYPE_STRING, "video",
      "payload", G_TYPE_INT, 96,
      "extmap-1", G_TYPE_STRING, TWCC_URI, NULL);
  return caps;
}

/* A viewer's share of the media: made, filled by one of the add functions
 * below, given back by viewer_media_free(). */
static VsViewerMedia *
viewer_media_new (VsMedia * media, VsViewer * viewer)
{
  VsViewerMedia *vm = g_new0 (VsViewerMedia, 1);

  vm->viewer = viewer;
  vm->media = media;
  vm->variant = media->main;
  viewer->media_priv = vm;
  return vm;
}

/* Elements not all made (a plugin missing): nothing was added anywhere. */
static gboolean
viewer_media_discard (VsViewerMedia * vm, GError ** error,
    const gchar * missing)
{
  GstElement **els[] = { &vm->webrtc, &vm->queue, &vm->pay, &vm->rtpcaps,
    &vm->setter, &vm->appsink
  };

  g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
      "missing %s: run scripts/install-deps.sh", missing);
  for (gsize i = 0; i < G_N_ELEMENTS (els); i++)
    gst_clear_object (els[i]);
  vm->viewer->media_priv = NULL;
  g_free (vm);
  return FALSE;
}

/* The viewer's queue: a viewer that cannot take what we send loses
 * frames, never stalls the encode (300 ms of frames at most). */
static GstElement *
viewer_queue_new (void)
{
  GstElement *q = gst_element_factory_make ("queue", NULL);
  if (q)
    g_object_set (q, "max-size-buffers", 0, "max-size-bytes", 0,
        "max-size-time", (guint64) 300 * GST_MSECOND, "leaky", 2, NULL);
  return q;
}

/* Its branch runs: the key-frame gate on its queue, then the queue joins
 * the encode's tee, and the viewer the media's list. */
static void
viewer_attach (VsViewerMedia * vm)
{
  GstPad *pad = gst_element_get_static_pad (vm->queue, "src");

  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, viewer_queue_probe, vm,
      NULL);
  gst_object_unref (pad);
  vm->teepad = gst_element_request_pad_simple (vm->variant->tee, "src_%u");
  pad = gst_element_get_static_pad (vm->queue, "sink");
  gst_pad_link (vm->teepad, pad);
  gst_object_unref (pad);
  variant_use (vm->variant, +1);
  variant_sync (vm->variant);
  vm->media->viewers = g_list_append (vm->media->viewers,
      vs_viewer_ref (vm->viewer));
}

gboolean
vs_media_add_viewer (VsMedia * media, VsViewer * viewer, GError ** error)
{
  const VsConfig *cfg = media->cfg;
  VsViewerMedia *vm = viewer_media_new (media, viewer);
  GstWebRTCRTPTransceiver *trans = NULL;
  GstCaps *caps;
  GstPad *pad;
  gchar name[32];

  g_atomic_int_set (&vm->need_key, 1);

  g_snprintf (name, sizeof name, "viewer%u", viewer->id);
  vm->webrtc = gst_element_factory_make ("webrtcbin", name);
  vm->queue = viewer_queue_new ();
  vm->pay = gst_element_factory_make (cfg->codec == VS_CODEC_H264 ?
      "rtph264pay" : "rtpvp8pay", NULL);
  vm->rtpcaps = gst_element_factory_make ("capsfilter", NULL);
  if (cfg->codec == VS_CODEC_H264)
    vm->setter = gst_element_factory_make ("capssetter", NULL);
  if (!vm->webrtc || !vm->queue || !vm->pay || !vm->rtpcaps ||
      (cfg->codec == VS_CODEC_H264 && !vm->setter))
    return viewer_media_discard (vm, error,
        "webrtcbin, rtp payloaders or capssetter");
  g_signal_connect (vm->queue, "overrun", G_CALLBACK (viewer_overrun_cb), vm);
  g_object_set (vm->pay, "mtu", 1200, NULL);
  if (cfg->codec == VS_CODEC_H264)
    g_object_set (vm->pay, "config-interval", -1, "aggregate-mode", 1, NULL);
  else
    g_object_set (vm->pay, "picture-id-mode", 2, NULL);
  caps = rtp_caps (cfg);
  g_object_set (vm->rtpcaps, "caps", caps, NULL);
  gst_caps_unref (caps);
  if (vm->setter) {
    caps = gst_caps_from_string ("application/x-rtp,"
        "profile-level-id=(string)42e01f,packetization-mode=(string)1");
    g_object_set (vm->setter, "caps", caps, "join", TRUE, "replace", FALSE,
        NULL);
    gst_caps_unref (caps);
  }

  g_object_set (vm->webrtc, "bundle-policy",
      GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, "latency", 50, NULL);
  if (cfg->stun)
    g_object_set (vm->webrtc, "stun-server", cfg->stun, NULL);
  for (gchar ** t = cfg->turn; t && *t; t++) {
    gboolean ok = FALSE;
    g_signal_emit_by_name (vm->webrtc, "add-turn-server", *t, &ok);
    if (!ok)
      GST_WARNING ("TURN server '%s' refused by webrtcbin", *t);
  }
  {
    GstWebRTCICE *ice = NULL;
    g_object_get (vm->webrtc, "ice-agent", &ice, NULL);
    if (ice) {
      for (gchar ** a = cfg->ice_addresses; a && *a; a++) {
        gboolean ok = FALSE;
        g_signal_emit_by_name (ice, "add-local-ip-address", *a, &ok);
        if (!ok)
          GST_WARNING ("ICE address '%s' refused", *a);
      }
      /* ICE over TCP too, for networks that block UDP. */
      if (g_object_class_find_property (G_OBJECT_GET_CLASS (ice), "ice-tcp"))
        g_object_set (ice, "ice-tcp", TRUE, "ice-udp", TRUE, NULL);
      gst_object_unref (ice);
    }
  }
  g_signal_connect (vm->webrtc, "on-negotiation-needed",
      G_CALLBACK (on_negotiation_needed), vm);
  g_signal_connect (vm->webrtc, "on-ice-candidate",
      G_CALLBACK (on_ice_candidate), vm);
  g_signal_connect (vm->webrtc, "notify::connection-state",
      G_CALLBACK (on_connection_state), vm);
  g_signal_connect (vm->webrtc, "on-data-channel",
      G_CALLBACK (on_data_channel), vm);

  gst_bin_add_many (GST_BIN (media->pipeline), vm->queue, vm->pay,
      vm->rtpcaps, vm->webrtc, NULL);
  if (vm->setter)
    gst_bin_add (GST_BIN (media->pipeline), vm->setter);
  gst_element_link_many (vm->queue, vm->pay, vm->rtpcaps, NULL);
  if (vm->setter)
    gst_element_link (vm->rtpcaps, vm->setter);
  vm->webrtc_sink = gst_element_request_pad_simple (vm->webrtc, "sink_%u");
  pad = gst_element_get_static_pad (vm->setter ? vm->setter : vm->rtpcaps,
      "src");
  if (gst_pad_link (pad, vm->webrtc_sink) != GST_PAD_LINK_OK) {
    gst_object_unref (pad);
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
        "cannot link to webrtcbin");
    vs_media_remove_viewer (media, viewer);
    return FALSE;
  }
  gst_object_unref (pad);
  g_object_get (vm->webrtc_sink, "transceiver", &trans, NULL);
  if (trans) {
    g_object_set (trans, "direction",
        GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, "do-nack", TRUE, NULL);
    gst_object_unref (trans);
  }
  pad = gst_element_get_static_pad (vm->pay, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_BUFFER_LIST, viewer_rtp_probe, vm, NULL);
  gst_object_unref (pad);

  /* The server's own channel (status, timing, clock), made before the
   * offer so that the offer carries SCTP and the page can open "input". */
  gst_element_sync_state_with_parent (vm->webrtc);
  g_signal_emit_by_name (vm->webrtc, "create-data-channel", "vizstream", NULL,
      &vm->status_channel);
  if (vm->status_channel)
    g_signal_connect (vm->status_channel, "on-message-string",
        G_CALLBACK (on_status_message), vm);

  gst_element_sync_state_with_parent (vm->queue);
  gst_element_sync_state_with_parent (vm->pay);
  gst_element_sync_state_with_parent (vm->rtpcaps);
  if (vm->setter)
    gst_element_sync_state_with_parent (vm->setter);
  viewer_attach (vm);
  vs_variant_request_key (vm->variant);
  vm->timeout_id = g_timeout_add_seconds (cfg->negotiation_timeout,
      negotiation_timeout, vm);
  return TRUE;
}

/* ------------------------------------------------- video over WebSocket */

/* Each encoded frame is one binary WebSocket message: a 24-byte header
 * (docs/server.md) and the frame as the encoder made it (H.264 Annex B,
 * or a VP8 frame), for the page's WebCodecs VideoDecoder. At most
 * WS_IN_FLIGHT frames are unacknowledged: past that, frames are dropped
 * until the next key frame, which is asked for. */
#define WS_IN_FLIGHT 6
#define WS_HEADER 24

typedef struct
{
  VsViewer *viewer;
  GBytes *frame;
  gboolean key;
} WsFrame;

static gboolean
ws_frame_send (gpointer data)
{
  WsFrame *f = data;
  VsViewer *viewer = f->viewer;
  VsViewerMedia *vm = viewer->media_priv;

  if (!viewer->closed && vm && viewer->ws &&
      soup_websocket_connection_get_state (viewer->ws) ==
      SOUP_WEBSOCKET_STATE_OPEN) {
    if (vm->ws_seq - vm->ws_acked >= WS_IN_FLIGHT ||
        (g_atomic_int_get (&vm->need_key) && !f->key)) {
      vm->ws_dropped++;
      if (!g_atomic_int_get (&vm->need_key))
        viewer_request_key (vm);
    } else {
      gsize len;
      guint8 *d = (guint8 *) g_bytes_get_data (f->frame, &len);
      if (f->key)
        g_atomic_int_set (&vm->need_key, 0);
      vm->ws_seq++;
      GST_WRITE_UINT32_LE (d + 4, vm->ws_seq);
      vm->ws_bytes += len;
      soup_websocket_connection_send_binary (viewer->ws, d, len);
    }
  }
  g_bytes_unref (f->frame);
  vs_viewer_unref (viewer);
  g_free (f);
  return G_SOURCE_REMOVE;
}

static GstFlowReturn
ws_sample (GstAppSink * sink, gpointer data)
{
  VsViewerMedia *vm = data;
  GstSample *sample = gst_app_sink_pull_sample (sink);
  GstBuffer *buf;
  GstMapInfo map;
  VsTiming t = { 0, 0, 0 };
  const GstSegment *seg;
  WsFrame *f;
  guint8 *d;

  if (!sample)
    return GST_FLOW_OK;
  buf = gst_sample_get_buffer (sample);
  seg = gst_sample_get_segment (sample);
  if (seg && seg->format == GST_FORMAT_TIME)
    media_lookup_timing (vm->media, gst_segment_to_running_time (seg,
            GST_FORMAT_TIME, GST_BUFFER_PTS (buf)), &t);
  if (gst_buffer_map (buf, &map, GST_MAP_READ)) {
    gdouble publish_ms = t.unix_ns / 1e6;
    d = g_malloc (WS_HEADER + map.size);
    memset (d, 0, WS_HEADER);
    d[0] = 1;                   /* version */
    f = g_new0 (WsFrame, 1);
    f->key = !GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT);
    d[1] = f->key ? 1 : 0;
    GST_WRITE_UINT32_LE (d + 8, (guint32) t.frame);
    GST_WRITE_DOUBLE_LE (d + 16, publish_ms);
    memcpy (d + WS_HEADER, map.data, map.size);
    gst_buffer_unmap (buf, &map);
    f->viewer = vs_viewer_ref (vm->viewer);
    f->frame = g_bytes_new_take (d, WS_HEADER + map.size);
    g_main_context_invoke (NULL, ws_frame_send, f);
  }
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

void
vs_media_ws_ack (VsMedia * media, VsViewer * viewer, guint32 seq)
{
  VsViewerMedia *vm = viewer->media_priv;
  if (vm && vm->appsink && seq <= vm->ws_seq && seq > vm->ws_acked)
    vm->ws_acked = seq;
}

void
vs_media_add_input_viewer (VsMedia * media, VsViewer * viewer)
{
  viewer_media_new (media, viewer);
  media->viewers = g_list_append (media->viewers, vs_viewer_ref (viewer));
}

gboolean
vs_media_add_ws_viewer (VsMedia * media, VsViewer * viewer, GError ** error)
{
  VsViewerMedia *vm = viewer_media_new (media, viewer);
  GstAppSinkCallbacks cb = { NULL, NULL, ws_sample };

  vm->queue = viewer_queue_new ();
  vm->appsink = gst_element_factory_make ("appsink", NULL);
  if (!vm->queue || !vm->appsink)
    return viewer_media_discard (vm, error, "queue or appsink");
  g_object_set (vm->appsink, "sync", FALSE, "async", FALSE, "max-buffers", 4,
      "drop", TRUE, NULL);
  gst_app_sink_set_callbacks (GST_APP_SINK (vm->appsink), &cb, vm, NULL);
  gst_bin_add_many (GST_BIN (media->pipeline), vm->queue, vm->appsink, NULL);
  gst_element_link (vm->queue, vm->appsink);
  gst_element_sync_state_with_parent (vm->appsink);
  gst_element_sync_state_with_parent (vm->queue);
  g_atomic_int_set (&vm->connected, 1);
  g_atomic_int_set (&vm->need_key, 1);
  viewer_attach (vm);
  viewer_request_key (vm);
  return TRUE;
}

/* Moves a viewer's branch to another encode: unlinked and relinked while
 * no buffer passes, then the new encode sends a key frame. */
typedef struct
{
  VsViewerMedia *vm;
  GstElement *oldtee;
  GstPad *oldpad;
  GstPad *newpad;
} MoveData;

static gboolean
move_release (gpointer data)
{
  MoveData *md = data;
  gst_element_release_request_pad (md->oldtee, md->oldpad);
  gst_object_unref (md->oldpad);
  gst_object_unref (md->oldtee);
  g_free (md);
  return G_SOURCE_REMOVE;
}

static GstPadProbeReturn
move_probe (GstPad * teepad, GstPadProbeInfo * info, gpointer data)
{
  MoveData *md = data;
  GstPad *sink = gst_element_get_static_pad (md->vm->queue, "sink");

  gst_pad_unlink (teepad, sink);
  g_atomic_int_set (&md->vm->need_key, 1);
  gst_pad_link (md->newpad, sink);
  gst_object_unref (sink);
  /* A tee pad is released outside its own streaming thread. */
  g_idle_add (move_release, md);
  return GST_PAD_PROBE_REMOVE;
}

static void
viewer_move (VsViewerMedia * vm, VsVariant * to)
{
  MoveData *md;

  if (vm->variant == to)
    return;
  GST_INFO ("viewer %u: %s -> %s encode", vm->viewer->id, vm->variant->name,
      to->name);
  md = g_new0 (MoveData, 1);
  md->vm = vm;
  md->oldtee = gst_object_ref (vm->variant->tee);
  md->oldpad = vm->teepad;
  md->newpad = gst_element_request_pad_simple (to->tee, "src_%u");
  variant_use (vm->variant, -1);
  variant_use (to, +1);
  vm->variant = to;
  vm->teepad = gst_object_ref (md->newpad);
  gst_pad_add_probe (md->oldpad, GST_PAD_PROBE_TYPE_IDLE, move_probe, md,
      NULL);
  vs_variant_request_key (to);
}

static void
viewer_media_free (VsViewerMedia * vm)
{
  VsMedia *media = vm->media;
  /* webrtcbin first: until negotiated it holds the queue's thread, which
   * must be released before the queue can stop. */
  GstElement *elements[] = { vm->webrtc, vm->setter, vm->rtpcaps, vm->pay,
    vm->appsink, vm->queue
  };

  if (vm->timeout_id)
    g_source_remove (vm->timeout_id);
  if (vm->teepad) {
    GstPad *sink = gst_element_get_static_pad (vm->queue, "sink");
    GstElement *tee = vm->variant->tee;
    gst_pad_unlink (vm->teepad, sink);
    gst_object_unref (sink);
    gst_element_release_request_pad (tee, vm->teepad);
    gst_object_unref (vm->teepad);
    variant_use (vm->variant, -1);
  }
  if (vm->webrtc)
    g_signal_handlers_disconnect_by_data (vm->webrtc, vm);
  if (vm->queue)
    g_signal_handlers_disconnect_by_data (vm->queue, vm);
  if (vm->status_channel) {
    g_signal_handlers_disconnect_by_data (vm->status_channel, vm);
    g_object_unref (vm->status_channel);
  }
  if (vm->input_channel) {
    g_signal_handlers_disconnect_by_data (vm->input_channel, vm);
    g_object_unref (vm->input_channel);
  }
  for (gsize i = 0; i < G_N_ELEMENTS (elements); i++) {
    if (!elements[i])
      continue;
    gst_element_set_locked_state (elements[i], TRUE);
    gst_element_set_state (elements[i], GST_STATE_NULL);
    gst_bin_remove (GST_BIN (media->pipeline), elements[i]);
  }
  if (vm->webrtc_sink)
    gst_object_unref (vm->webrtc_sink);
  if (vm->input_pipe) {
    gst_element_set_state (vm->input_pipe, GST_STATE_NULL);
    gst_object_unref (vm->input_pipe);
  }
  g_free (vm->state);
  g_free (vm);
}

void
vs_media_remove_viewer (VsMedia * media, VsViewer * viewer)
{
  VsViewerMedia *vm = viewer->media_priv;
  GList *l = g_list_find (media->viewers, viewer);

  if (vm) {
    viewer->media_priv = NULL;
    viewer_media_free (vm);
  }
  if (media->leader == viewer)
    media->leader = NULL;
  if (l) {
    media->viewers = g_list_delete_link (media->viewers, l);
    vs_viewer_unref (viewer);
  }
}

void
vs_media_set_remote_answer (VsMedia * media, VsViewer * viewer,
    const gchar * sdp, GError ** error)
{
  VsViewerMedia *vm = viewer->media_priv;
  GstSDPMessage *msg = NULL;
  GstWebRTCSessionDescription *answer;
  GstPromise *p;

  if (!vm || !vm->webrtc) {
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
        "no WebRTC session");
    return;
  }
  if (gst_sdp_message_new_from_text (sdp, &msg) != GST_SDP_OK || !msg
      || gst_sdp_message_medias_len (msg) == 0) {
    if (msg)
      gst_sdp_message_free (msg);
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "the answer is not an SDP with media");
    return;
  }
  answer = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_ANSWER,
      msg);
  p = gst_promise_new ();
  g_signal_emit_by_name (vm->webrtc, "set-remote-description", answer, p);
  gst_promise_interrupt (p);
  gst_promise_unref (p);
  gst_webrtc_session_description_free (answer);
}

void
vs_media_add_remote_candidate (VsMedia * media, VsViewer * viewer,
    guint mline, const gchar * candidate)
{
  VsViewerMedia *vm = viewer->media_priv;
  if (vm && vm->webrtc)
    g_signal_emit_by_name (vm->webrtc, "add-ice-candidate", mline, candidate);
}

void
vs_media_set_leader (VsMedia * media, VsViewer * viewer)
{
  media->leader = viewer;
}

/* Events of a controlling viewer go to the renderer's event queue through
 * interactsink (normalized coordinates: the page sends 0..1). */
gboolean
vs_media_push_input (VsMedia * media, VsViewer * viewer, const gchar * text,
    gsize len, GError ** error)
{
  VsViewerMedia *vm = viewer->media_priv;
  GstBuffer *buf;

  if (!vm)
    return FALSE;
  if (media->cfg->embed && media->cfg->embed->input)
    return media->cfg->embed->input (viewer->id, text, len,
        media->cfg->embed->data);
  if (!media->cfg->segment) {
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
        "no renderer segment to send events to");
    return FALSE;
  }
  if (!vm->input_pipe) {
    GstElement *sink;
    vm->input_pipe = gst_pipeline_new (NULL);
    vm->appsrc = gst_element_factory_make ("appsrc", NULL);
    sink = gst_element_factory_make ("interactsink", NULL);
    if (!vm->appsrc || !sink) {
      g_set_error_literal (error, GST_CORE_ERROR,
          GST_CORE_ERROR_MISSING_PLUGIN, "interactsink or appsrc missing");
      gst_clear_object (&vm->input_pipe);
      gst_clear_object (&vm->appsrc);
      gst_clear_object (&sink);
      return FALSE;
    }
    g_object_set (vm->appsrc, "is-live", TRUE, "format", GST_FORMAT_TIME,
        "do-timestamp", TRUE, "max-bytes", (guint64) 4 << 20, "block", FALSE,
        NULL);
    g_object_set (sink, "segment", media->cfg->segment, "viewer-id",
        viewer->id, "coordinates", 1 /* normalized */ , "max-message-size",
        media->cfg->max_message, "sync", FALSE, "async", FALSE, NULL);
    gst_bin_add_many (GST_BIN (vm->input_pipe), vm->appsrc, sink, NULL);
    gst_element_link (vm->appsrc, sink);
    if (gst_element_set_state (vm->input_pipe, GST_STATE_PLAYING) ==
        GST_STATE_CHANGE_FAILURE) {
      g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE,
          "the input pipeline does not start");
      gst_clear_object (&vm->input_pipe);
      return FALSE;
    }
  }
  buf = gst_buffer_new_memdup (text, len);
  return gst_app_src_push_buffer (GST_APP_SRC (vm->appsrc), buf) ==
      GST_FLOW_OK;
}

static void
describe_variant (JsonBuilder * b, VsVariant * v)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, v->name);
  json_builder_set_member_name (b, "viewers");
  json_builder_add_int_value (b, v->users);
  json_builder_set_member_name (b, "target_kbps");
  json_builder_add_int_value (b, v->bitrate);
  json_builder_set_member_name (b, "kbps");
  json_builder_add_double_value (b, v->kbps_now);
  json_builder_set_member_name (b, "fps");
  json_builder_add_double_value (b, v->fps_now);
  json_builder_set_member_name (b, "max_fps");
  json_builder_add_int_value (b, v->fps);
  json_builder_set_member_name (b, "width");
  json_builder_add_int_value (b, v->width ? v->width :
      (guint) g_atomic_int_get (&v->media->src_width));
  json_builder_set_member_name (b, "height");
  json_builder_add_int_value (b, v->height ? v->height :
      (guint) g_atomic_int_get (&v->media->src_height));
  json_builder_set_member_name (b, "frames");
  json_builder_add_int_value (b, g_atomic_pointer_get (&v->frames));
  json_builder_end_object (b);
}

void
vs_media_describe (VsMedia * media, JsonBuilder * b)
{
  json_builder_set_member_name (b, "encoder");
  json_builder_add_string_value (b, media->encoder->element);
  json_builder_set_member_name (b, "renderer");
  json_builder_add_string_value (b, media->renderer_state);
  json_builder_set_member_name (b, "source_width");
  json_builder_add_int_value (b, g_atomic_int_get (&media->src_width));
  json_builder_set_member_name (b, "source_height");
  json_builder_add_int_value (b, g_atomic_int_get (&media->src_height));
  /* What the viewers hold: back to the same figures when they are gone. */
  json_builder_set_member_name (b, "elements");
  json_builder_add_int_value (b, GST_BIN_NUMCHILDREN (media->pipeline));
  json_builder_set_member_name (b, "tee_pads");
  json_builder_add_int_value (b, media->main->tee->numsrcpads +
      (media->low ? media->low->tee->numsrcpads : 0));
  json_builder_set_member_name (b, "variants");
  json_builder_begin_array (b);
  describe_variant (b, media->main);
  if (media->low)
    describe_variant (b, media->low);
  json_builder_end_array (b);
}

void
vs_media_describe_viewer (VsMedia * media, VsViewer * viewer, JsonBuilder * b)
{
  VsViewerMedia *vm = viewer->media_priv;

  if (!vm)
    return;
  json_builder_set_member_name (b, "connected");
  json_builder_add_boolean_value (b, g_atomic_int_get (&vm->connected));
  json_builder_set_member_name (b, "variant");
  json_builder_add_string_value (b, vm->variant->name);
  json_builder_set_member_name (b, "loss");
  json_builder_add_double_value (b, vm->loss);
  json_builder_set_member_name (b, "recv_kbps");
  json_builder_add_double_value (b, vm->recv_kbps);
  json_builder_set_member_name (b, "sent_kbps");
  json_builder_add_double_value (b, vm->sent_kbps);
  json_builder_set_member_name (b, "delay_trend_ms");
  json_builder_add_double_value (b, vm->delay_trend);
  json_builder_set_member_name (b, "overruns");
  json_builder_add_int_value (b, g_atomic_int_get (&vm->overruns));
  json_builder_set_member_name (b, "transport");
  json_builder_add_string_value (b, vm->appsink ? "ws" : vm->webrtc ?
      "webrtc" : "mjpeg");
  if (vm->appsink) {
    json_builder_set_member_name (b, "ws_frames");
    json_builder_add_int_value (b, vm->ws_seq);
    json_builder_set_member_name (b, "ws_dropped");
    json_builder_add_int_value (b, vm->ws_dropped);
    json_builder_set_member_name (b, "ws_bytes");
    json_builder_add_int_value (b, vm->ws_bytes);
  }
}
