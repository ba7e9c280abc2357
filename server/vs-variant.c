/* vizstream-server: the encodes and their legs (vs-variant.h).
 *
 * Threads: the probes run on streaming threads and touch only atomics;
 * everything else runs on the main loop.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-variant.h"

#include <string.h>
#include <gst/video/video.h>

#define GST_CAT_DEFAULT vs_debug

struct _VsVariant
{
  VsEncodes *encodes;
  const gchar *name;
  gboolean low;
  GstElement *queue, *valve, *convert, *caps, *enc, *enccaps, *tee;
  gint fps_cap;                 /* atomic: the frame rate cap */
  guint64 next_pts;             /* the rate probe's (streaming thread) */
  guint users;
  /* what the controller asked for */
  guint bitrate;                /* kbit/s */
  guint min_bitrate, max_bitrate;
  gdouble scale;                /* of the source size, 1.0 = as is */
  guint fps;
  gdouble share;                /* of the source's frames encoded */
  guint draining;               /* kbit/s the encoder has meanwhile, 0 */
  guint width, height;          /* applied output size (0 = source) */
  VsScaleVote vote;
  gint64 last_keyunit_us;
  guint keyunit_timer;          /* a key frame asked for, to be sent */
  /* counters: atomics written by the probe, the rest by tick */
  gint64 frames, bytes;
  gint64 capped, busy;          /* frames dropped before the encoder */
  gint64 tick_frames, tick_bytes;
  gint64 tick_us;
  gdouble fps_now, kbps_now;
  /* H.264 profile (main loop), and the switch the streaming thread is to
   * make: PROFILE_* (atomic) */
  gboolean main_profile;
  guint baseline_users;         /* legs on it that do not decode Main */
  gint64 baseline_free_us;      /* since when none is, or 0 */
  gint profile_switch;
  /* atomics written by switch_probe: the profile the encoder was opened
   * for (PROFILE_*), reopenings, and one that the tick is to give its
   * bitrate again */
  gint profile_sent;
  gint profile_switches;
  gint reopened;
};

enum
{
  PROFILE_KEEP,
  PROFILE_BASELINE,
  PROFILE_MAIN
};

/* A constrained-baseline encode goes back to Main only after this long
 * with no leg that needs baseline (a page reloading, a viewer moving
 * between encodes, does not cost two switches). */
#define PROFILE_UP_US (5 * G_USEC_PER_SEC)

struct _VsEncodes
{
  VsMedia *media;
  const VsConfig *cfg;
  const VsEncoderInfo *encoder;
  VsVariant *main, *low;
  /* how much of the picture changes (the ladder's "still"): measured on
   * the raw frames entering the main encode (streaming thread), read as
   * motion_e4, the share x 10000 (atomic) */
  VsMotion motion;
  GstVideoInfo raw_info;
  gint raw_comp;                /* the component sampled, or -1: none */
  GstClockTime raw_pts;
  gint motion_e4;
  gint still;                   /* atomic: VsMotion's */
};

/* ---- settings ---- */

/* The part of the source's frames the frame rate cap lets through, once
 * the encoder has its caps: their frame rate, or for a source of
 * variable rate (shmframesrc: 0/1) their max-framerate, which x264enc
 * takes as the nominal rate. Before that, 1: x264enc opened with a
 * bitrate follows the frames' timestamps, and only a change of bitrate
 * while it runs (a reconfiguration) puts it on the nominal rate
 * (measured: a fixed 250 kbit/s at 15 of 30 fps sends 240, a target
 * lowered to 252 sends 125). */
static gdouble
variant_frame_share (VsVariant * v)
{
  GstPad *pad = gst_element_get_static_pad (v->enc, "sink");
  GstCaps *caps = pad ? gst_pad_get_current_caps (pad) : NULL;
  gint num = 0, den = 1;
  gdouble share = 1.0;

  if (caps) {
    const GstStructure *s = gst_caps_get_structure (caps, 0);
    if ((gst_structure_get_fraction (s, "framerate", &num, &den) && num > 0
            && den > 0) || (gst_structure_get_fraction (s, "max-framerate",
                &num, &den) && num > 0 && den > 0)) {
      if (v->fps < (gdouble) num / den)
        share = v->fps / ((gdouble) num / den);
    }
    gst_caps_unref (caps);
  }
  if (pad)
    gst_object_unref (pad);
  return share;
}

static void
variant_push_bitrate (VsVariant * v)
{
  if (v->bitrate == 0)
    return;
  v->share = variant_frame_share (v);
  if (v->draining) {
    vs_encoder_set_bitrate (v->encodes->encoder, v->enc,
        MIN (v->draining, v->bitrate), v->share);
    return;
  }
  GST_INFO ("variant %s: %u kbit/s, %u fps, %.2f of the frames", v->name,
      v->bitrate, v->fps, v->share);
  vs_encoder_set_bitrate (v->encodes->encoder, v->enc, v->bitrate, v->share);
}

static void
variant_set_bitrate (VsVariant * v, guint kbps)
{
  kbps = CLAMP (kbps, v->min_bitrate, v->max_bitrate);
  if (kbps == v->bitrate)
    return;
  v->bitrate = kbps;
  variant_push_bitrate (v);
}

/* Output size for a scale of the source, within --max-size, even. */
static void
variant_size (VsVariant * v, gdouble scale, guint * w, guint * h)
{
  const VsConfig *cfg = v->encodes->cfg;
  guint srcw, srch;
  gdouble sw, sh, fit = 1.0;

  vs_media_source_size (v->encodes->media, &srcw, &srch);
  sw = srcw;
  sh = srch;
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
      vs_encoder_input_format (v->encodes->encoder), NULL);
  if (w && h)
    gst_caps_set_simple (caps, "width", G_TYPE_INT, (gint) w, "height",
        G_TYPE_INT, (gint) h, NULL);
  g_object_set (v->caps, "caps", caps, NULL);
  gst_caps_unref (caps);
  v->width = w;
  v->height = h;
  v->vote.last_change_us = g_get_monotonic_time ();
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
  variant_push_bitrate (v);
}

/* Less to the encoder while a viewer's queue drains (vs-adapt.h): kbps,
 * or half the target if 0; FALSE: the target again. The target, and the
 * ladder's size, stay. */
static void
variant_drain (VsVariant * v, gboolean drain, guint kbps)
{
  guint was = v->draining;

  if (!drain)
    v->draining = 0;
  else if (!was || kbps)
    v->draining = MAX (v->min_bitrate, kbps ? kbps : v->bitrate / 2);
  if (v->draining == was)
    return;
  GST_INFO ("variant %s: %s %u kbit/s", v->name, drain ? "draining at" :
      "drained, back to", drain ? v->draining : v->bitrate);
  variant_push_bitrate (v);
}

/* The bitrate, and the size and frame rate the ladder gives for it. */
static void
variant_steer (VsVariant * v, guint kbps)
{
  VsLadder ladder = {
    .max_fps = v->encodes->cfg->max_fps,
    .bits_per_pixel = v->encodes->cfg->codec == VS_CODEC_VP8 ?
        VS_LADDER_BPP_VP8 : VS_LADDER_BPP_H264,
    .max_scale = v->low ? 0.5 : 1.0,
  };
  gdouble scale;
  guint fps;

  vs_media_source_size (v->encodes->media, &ladder.src_width,
      &ladder.src_height);
  ladder.still = g_atomic_int_get (&v->encodes->still);
  variant_set_bitrate (v, kbps);
  vs_adapt_ladder (&ladder, v->bitrate, &scale, &fps);
  variant_set_fps (v, fps);
  if (vs_adapt_scale_vote (&v->vote, v->scale, scale,
          g_get_monotonic_time ())) {
    v->scale = scale;
    variant_apply_caps (v);
  }
}

static void
send_key_unit (VsVariant * v)
{
  GstPad *pad = gst_element_get_static_pad (v->enc, "src");

  v->last_keyunit_us = g_get_monotonic_time ();
  GST_INFO ("variant %s: key frame", v->name);
  gst_pad_send_event (pad, gst_video_event_new_upstream_force_key_unit
      (GST_CLOCK_TIME_NONE, TRUE, 0));
  gst_object_unref (pad);
}

static gboolean
key_unit_later (gpointer data)
{
  VsVariant *v = data;

  v->keyunit_timer = 0;
  send_key_unit (v);
  return G_SOURCE_REMOVE;
}

/* Several viewers asking at once get one key frame; a request within
 * 200 ms of the last one is sent when the 200 ms are over, never lost (a
 * viewer waiting for a key frame drops everything else until then). */
static void
variant_request_key (VsVariant * v)
{
  gint64 since = g_get_monotonic_time () - v->last_keyunit_us;

  if (since >= 200 * G_TIME_SPAN_MILLISECOND)
    send_key_unit (v);
  else if (!v->keyunit_timer)
    v->keyunit_timer = g_timeout_add (MAX (1,
            (200 * G_TIME_SPAN_MILLISECOND - since) / 1000), key_unit_later,
        v);
}

static void
variant_use (VsVariant * v, gint delta)
{
  v->users += delta;
  g_object_set (v->valve, "drop", v->users == 0, NULL);
}

/* Main while no leg on it needs constrained baseline: down at once (that
 * leg waits for it), up after PROFILE_UP_US (from the tick). The switch
 * itself is made by switch_probe, on the next frame. */
static void
variant_check_profile (VsVariant * v)
{
  gint64 now = g_get_monotonic_time ();
  gboolean want;

  if (!v->encodes->encoder->main_profile)
    return;
  want = v->baseline_users == 0;
  if (!want)
    v->baseline_free_us = 0;
  else if (!v->baseline_free_us)
    v->baseline_free_us = now;
  if (want == v->main_profile || (want
          && now - v->baseline_free_us < PROFILE_UP_US))
    return;
  v->main_profile = want;
  GST_INFO ("variant %s: H.264 %s from the next frame", v->name,
      want ? "main" : "constrained-baseline");
  g_atomic_int_set (&v->profile_switch, want ? PROFILE_MAIN :
      PROFILE_BASELINE);
}

static void
variant_leg_profile (VsVariant * v, VsLeg * leg, gint delta)
{
  if (leg->main_ok)
    return;
  v->baseline_users += delta;
  variant_check_profile (v);
}

/* ---- probes ---- */

static GstPadProbeReturn
rate_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  VsVariant *v = data;
  if (vs_rate_cap_pass (&v->next_pts,
          GST_BUFFER_PTS (GST_PAD_PROBE_INFO_BUFFER (info)),
          (guint) g_atomic_int_get (&v->fps_cap)))
    return GST_PAD_PROBE_OK;
  g_atomic_pointer_add (&v->capped, 1);
  return GST_PAD_PROBE_DROP;
}

/* The queue before the encode is full: the encode has not taken the
 * previous frame yet, and the older of the two is dropped. */
static void
on_busy (GstElement * queue, gpointer data)
{
  VsVariant *v = data;
  g_atomic_pointer_add (&v->busy, 1);
}

static GstPadProbeReturn
count_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  VsVariant *v = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  g_atomic_pointer_add (&v->frames, 1);
  g_atomic_pointer_add (&v->bytes, (gssize) gst_buffer_get_size (buf));
  return GST_PAD_PROBE_OK;
}

/* Before the encoder, on its streaming thread (nothing else feeds it):
 * a profile switch asked for by the main loop. x264enc reads the profile
 * from its downstream caps only when it opens, which a caps event of the
 * same size does not make it do: it is closed (READY) and reopened, and
 * the sticky events go to it again before this frame (gst_pad_push
 * checks them after its probes). Not while the pipeline is changing
 * state (stopping): the switch waits. */
static GstPadProbeReturn
switch_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  VsVariant *v = data;
  gint to = g_atomic_int_get (&v->profile_switch);
  GstElement *pipeline = vs_media_bin (v->encodes->media);
  GstCaps *caps;

  if (to == PROFILE_KEEP || GST_STATE_TARGET (pipeline) != GST_STATE_PLAYING)
    return GST_PAD_PROBE_OK;
  if (!g_atomic_int_compare_and_exchange (&v->profile_switch, to,
          PROFILE_KEEP))
    return GST_PAD_PROBE_OK;    /* changed meanwhile: the next frame */
  /* down and up again before a frame came: nothing to do */
  if (to == g_atomic_int_get (&v->profile_sent))
    return GST_PAD_PROBE_OK;
  g_atomic_int_set (&v->profile_sent, to);
  g_atomic_int_inc (&v->profile_switches);
  g_atomic_int_set (&v->reopened, 1);
  caps = vs_encoder_output_caps (v->encodes->encoder, to == PROFILE_MAIN);
  g_object_set (v->enccaps, "caps", caps, NULL);
  gst_caps_unref (caps);
  gst_element_set_state (v->enc, GST_STATE_READY);
  if (!gst_element_sync_state_with_parent (v->enc))
    GST_WARNING ("variant %s: the encoder did not restart", v->name);
  return GST_PAD_PROBE_OK;
}

/* The component motion_probe samples: green of RGB, luma else; -1 (no
 * measure: the ladder's moving rules) for tiled and packed-in-words
 * layouts and for components deeper than 8 bits, where a byte of a row
 * is not a sample. */
static gint
motion_component (const GstVideoInfo * info)
{
  const GstVideoFormatInfo *f = info->finfo;
  gint c = GST_VIDEO_FORMAT_INFO_IS_RGB (f) && GST_VIDEO_INFO_N_COMPONENTS
      (info) >= 3 ? 1 : 0;

  if (GST_VIDEO_FORMAT_INFO_IS_TILED (f) || GST_VIDEO_FORMAT_INFO_IS_COMPLEX
      (f) || GST_VIDEO_FORMAT_INFO_DEPTH (f, c) != 8
      || GST_VIDEO_FORMAT_INFO_PSTRIDE (f, c) <= 0)
    return -1;
  return c;
}

/* Every raw frame into the main encode (whether or not anybody watches):
 * how much of the picture changes. */
static GstPadProbeReturn
motion_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  VsEncodes *e = data;
  GstBuffer *buf;
  GstVideoFrame frame;
  gdouble dt = 1.0 / 30;
  gint c;

  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
    GstCaps *caps;

    if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
      gst_event_parse_caps (event, &caps);
      e->raw_comp = gst_video_info_from_caps (&e->raw_info, caps) ?
          motion_component (&e->raw_info) : -1;
    }
    return GST_PAD_PROBE_OK;
  }
  buf = GST_PAD_PROBE_INFO_BUFFER (info);
  if ((c = e->raw_comp) < 0
      || !gst_video_frame_map (&frame, &e->raw_info, buf, GST_MAP_READ))
    return GST_PAD_PROBE_OK;
  if (GST_BUFFER_PTS_IS_VALID (buf) && GST_CLOCK_TIME_IS_VALID (e->raw_pts)
      && GST_BUFFER_PTS (buf) >= e->raw_pts)
    dt = (GST_BUFFER_PTS (buf) - e->raw_pts) / (gdouble) GST_SECOND;
  e->raw_pts = GST_BUFFER_PTS (buf);
  vs_motion_frame (&e->motion, GST_VIDEO_FRAME_COMP_DATA (&frame, c),
      GST_VIDEO_FRAME_COMP_WIDTH (&frame, c),
      GST_VIDEO_FRAME_COMP_HEIGHT (&frame, c),
      GST_VIDEO_FRAME_COMP_STRIDE (&frame, c),
      GST_VIDEO_FRAME_COMP_PSTRIDE (&frame, c), dt);
  gst_video_frame_unmap (&frame);
  g_atomic_int_set (&e->motion_e4, (gint) (e->motion.share * 10000 + 0.5));
  g_atomic_int_set (&e->still, e->motion.still);
  return GST_PAD_PROBE_OK;
}

static void
add_probe (GstElement * e, const gchar * pad_name, GstPadProbeCallback cb,
    gpointer data)
{
  GstPad *pad = gst_element_get_static_pad (e, pad_name);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, cb, data, NULL);
  gst_object_unref (pad);
}

/* ---- life ---- */

static void
variant_free (VsVariant * v)
{
  if (v->keyunit_timer)
    g_source_remove (v->keyunit_timer);
  g_free (v);
}

/* A chain that could not be linked: out of the pipeline, and gone. */
static VsVariant *
variant_discard (VsVariant * v)
{
  GstElement *pipeline = vs_media_bin (v->encodes->media);
  GstElement *chain[] = { v->tee, v->enccaps, v->enc, v->caps, v->convert,
    v->valve, v->queue
  };

  for (gsize i = 0; i < G_N_ELEMENTS (chain); i++) {
    gst_element_set_locked_state (chain[i], TRUE);
    gst_element_set_state (chain[i], GST_STATE_NULL);
    gst_bin_remove (GST_BIN (pipeline), chain[i]);
  }
  variant_free (v);
  return NULL;
}

static VsVariant *
variant_new (VsEncodes * e, gboolean low, gboolean running, GError ** error)
{
  const VsConfig *cfg = e->cfg;
  GstElement *pipeline = NULL;
  VsVariant *v = g_new0 (VsVariant, 1);
  GstCaps *caps;

  v->encodes = e;
  v->low = low;
  v->name = low ? "low" : "main";
  {
    const VsElementSpec specs[] = {
      {"queue", &v->queue}, {"valve", &v->valve},
      {"videoconvertscale", &v->convert}, {"capsfilter", &v->caps},
      {e->encoder->element, &v->enc}, {"capsfilter", &v->enccaps},
      {"tee", &v->tee},
    };
    if (!vs_make_elements (specs, G_N_ELEMENTS (specs), error)) {
      variant_free (v);
      return NULL;
    }
  }
  vs_encoder_configure (e->encoder, v->enc, cfg->max_fps);
  /* Never more than the newest frame waiting for the encoder. */
  g_object_set (v->queue, "max-size-buffers", 1, "max-size-bytes", 0,
      "max-size-time", (guint64) 0, "leaky", 2, NULL);
  g_signal_connect (v->queue, "overrun", G_CALLBACK (on_busy), v);
  g_object_set (v->valve, "drop", TRUE, NULL);
  v->next_pts = GST_CLOCK_TIME_NONE;
  g_object_set (v->convert, "n-threads", 2, NULL);
  /* Main until a leg that needs baseline comes */
  v->main_profile = e->encoder->main_profile;
  v->profile_sent = v->main_profile ? PROFILE_MAIN : PROFILE_BASELINE;
  caps = vs_encoder_output_caps (e->encoder, v->main_profile);
  g_object_set (v->enccaps, "caps", caps, NULL);
  gst_caps_unref (caps);
  g_object_set (v->tee, "allow-not-linked", TRUE, NULL);

  v->min_bitrate = cfg->min_bitrate;
  if (low) {
    v->max_bitrate = MAX (cfg->min_bitrate, MIN (cfg->max_bitrate / 4, 600));
    v->scale = 0.5;
    variant_set_fps (v, MIN (cfg->max_fps, 15));
  } else {
    v->max_bitrate = cfg->max_bitrate;
    v->scale = 1.0;
    variant_set_fps (v, cfg->max_fps);
  }
  variant_set_bitrate (v, low ? v->max_bitrate : cfg->bitrate);
  variant_apply_caps (v);

  /* The chain is the pipeline's own: an error in an encode is the
   * server's, not a viewer's. */
  pipeline = vs_media_bin (e->media);
  gst_bin_add_many (GST_BIN (pipeline), v->queue, v->valve, v->convert,
      v->caps, v->enc, v->enccaps, v->tee, NULL);
  if (!gst_element_link_many (v->queue, v->valve, v->convert, v->caps,
          v->enc, v->enccaps, v->tee, NULL)) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
        "cannot link the %s encode chain (%s)", v->name, e->encoder->element);
    return variant_discard (v);
  }
  add_probe (v->valve, "src", rate_probe, v);
  add_probe (v->enccaps, "src", count_probe, v);
  if (e->encoder->main_profile)
    add_probe (v->caps, "src", switch_probe, v);
  v->tick_us = g_get_monotonic_time ();
  if (running) {
    GstElement *chain[] = { v->tee, v->enccaps, v->enc, v->caps, v->convert,
      v->valve
    };
    for (gsize i = 0; i < G_N_ELEMENTS (chain); i++)
      gst_element_sync_state_with_parent (chain[i]);
  }
  if (!vs_media_link_raw (e->media, v->queue)) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
        "cannot link the source to the %s encode chain", v->name);
    return variant_discard (v);
  }
  return v;
}

VsEncodes *
vs_encodes_new (VsMedia * media, const VsConfig * cfg, GError ** error)
{
  VsEncodes *e = g_new0 (VsEncodes, 1);

  e->media = media;
  e->cfg = cfg;
  e->motion_e4 = 10000;         /* moving until shown still */
  e->raw_comp = -1;
  e->raw_pts = GST_CLOCK_TIME_NONE;
  e->encoder = vs_encoder_pick (cfg, error);
  if (e->encoder)
    vs_media_prefer_format (media, vs_encoder_input_format (e->encoder));
  if (!e->encoder || !(e->main = variant_new (e, FALSE, FALSE, error))) {
    vs_encodes_free (e);
    return NULL;
  }
  {
    GstPad *pad = gst_element_get_static_pad (e->main->queue, "sink");
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
        GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, motion_probe, e, NULL);
    gst_object_unref (pad);
  }
  return e;
}

void
vs_encodes_free (VsEncodes * e)
{
  if (!e)
    return;
  /* The elements belong to the pipeline (vs_media_free). */
  vs_motion_clear (&e->motion);
  g_clear_pointer (&e->main, variant_free);
  g_clear_pointer (&e->low, variant_free);
  g_free (e);
}

const gchar *
vs_encodes_encoder_name (VsEncodes * e)
{
  return e->encoder->element;
}

static VsVariant *
encodes_low (VsEncodes * e)
{
  GError *err = NULL;

  if (!e->low && !(e->low = variant_new (e, TRUE, TRUE, &err))) {
    GST_WARNING ("no low variant: %s", err->message);
    g_clear_error (&err);
  }
  return e->low;
}

void
vs_encodes_source_size (VsEncodes * e)
{
  variant_apply_caps (e->main);
  if (e->low)
    variant_apply_caps (e->low);
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
  /* the source's frame rate is known (or changed) only now; a reopened
   * encoder (a profile switch) is given its bitrate again, a
   * reconfiguration, which keeps its rate control on the nominal frame
   * rate whatever the open did */
  if (variant_frame_share (v) != v->share
      || g_atomic_int_compare_and_exchange (&v->reopened, 1, 0))
    variant_push_bitrate (v);
  variant_check_profile (v);
}

void
vs_encodes_tick (VsEncodes * e, gdouble * fps, gdouble * kbps,
    guint * target_kbps)
{
  variant_tick (e->main);
  if (e->low)
    variant_tick (e->low);
  *fps = e->main->fps_now;
  *kbps = e->main->kbps_now + (e->low ? e->low->kbps_now : 0);
  *target_kbps = e->main->bitrate;
}

static void
describe_variant (JsonBuilder * b, VsVariant * v)
{
  guint sw, sh;

  vs_media_source_size (v->encodes->media, &sw, &sh);
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
  json_builder_add_int_value (b, v->width ? v->width : sw);
  json_builder_set_member_name (b, "height");
  json_builder_add_int_value (b, v->height ? v->height : sh);
  json_builder_set_member_name (b, "frames");
  json_builder_add_int_value (b, g_atomic_pointer_get (&v->frames));
  /* Frames of the source that this encode did not take: above its frame
   * rate cap, or the encode still busy with the previous one. */
  json_builder_set_member_name (b, "dropped_rate_cap");
  json_builder_add_int_value (b, g_atomic_pointer_get (&v->capped));
  json_builder_set_member_name (b, "dropped_busy");
  json_builder_add_int_value (b, g_atomic_pointer_get (&v->busy));
  if (v->encodes->cfg->codec == VS_CODEC_H264) {
    json_builder_set_member_name (b, "profile");
    json_builder_add_string_value (b, g_atomic_int_get (&v->profile_sent) ==
        PROFILE_MAIN ? "main" : "constrained-baseline");
    json_builder_set_member_name (b, "profile_switches");
    json_builder_add_int_value (b, g_atomic_int_get (&v->profile_switches));
  }
  json_builder_end_object (b);
}

void
vs_encodes_describe (VsEncodes * e, JsonBuilder * b)
{
  json_builder_set_member_name (b, "encoder");
  json_builder_add_string_value (b, e->encoder->element);
  /* the ladder's "still" below VS_LADDER_STILL */
  json_builder_set_member_name (b, "motion");
  json_builder_add_double_value (b, g_atomic_int_get (&e->motion_e4) /
      10000.0);
  json_builder_set_member_name (b, "still");
  json_builder_add_boolean_value (b, g_atomic_int_get (&e->still));
  json_builder_set_member_name (b, "tee_pads");
  json_builder_add_int_value (b, e->main->tee->numsrcpads +
      (e->low ? e->low->tee->numsrcpads : 0));
  json_builder_set_member_name (b, "variants");
  json_builder_begin_array (b);
  describe_variant (b, e->main);
  if (e->low)
    describe_variant (b, e->low);
  json_builder_end_array (b);
}

/* ---- legs ---- */

void
vs_leg_init (VsLeg * leg, VsEncodes * e, GstElement * bin)
{
  memset (leg, 0, sizeof *leg);
  leg->encodes = e;
  leg->variant = e->main;
  leg->bin = bin;
  leg->need_key = 1;
}

/* Before the viewer is connected key frames only (the payloader learns
 * the stream's parameters from them, webrtcbin its caps for the offer);
 * after a loss, delta frames are dropped until a key frame: a decoder
 * never gets a frame whose reference it did not see. */
static GstPadProbeReturn
gate_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  VsLeg *leg = data;
  gboolean delta;

  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
    GstCaps *caps;

    if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
      const gchar *profile;
      gst_event_parse_caps (event, &caps);
      profile = gst_structure_get_string (gst_caps_get_structure (caps, 0),
          "profile");
      leg->stream_main = !g_strcmp0 (profile, "main");
    }
    return GST_PAD_PROBE_OK;
  }
  /* Main frames (sent before its encode switched, or still queued) for a
   * leg that cannot decode them: none, then a key frame of the new
   * profile. */
  if (leg->stream_main && !leg->main_ok) {
    g_atomic_int_set (&leg->need_key, 1);
    return GST_PAD_PROBE_DROP;
  }
  delta = GST_BUFFER_FLAG_IS_SET (GST_PAD_PROBE_INFO_BUFFER (info),
      GST_BUFFER_FLAG_DELTA_UNIT);
  if (!g_atomic_int_get (&leg->connected))
    return delta ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
  if (g_atomic_int_get (&leg->need_key)) {
    if (delta)
      return GST_PAD_PROBE_DROP;
    g_atomic_int_set (&leg->need_key, 0);
  }
  return GST_PAD_PROBE_OK;
}

void
vs_leg_attach (VsLeg * leg, GstPad * gate_pad)
{
  GstPad *sink = gst_element_get_static_pad (leg->bin, "sink");

  gst_pad_add_probe (gate_pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, gate_probe, leg, NULL);
  gst_element_sync_state_with_parent (leg->bin);
  leg->teepad = gst_element_request_pad_simple (leg->variant->tee, "src_%u");
  gst_pad_link (leg->teepad, sink);
  gst_object_unref (sink);
  variant_use (leg->variant, +1);
  variant_leg_profile (leg->variant, leg, +1);
}

void
vs_leg_detach (VsLeg * leg)
{
  GstPad *sink;

  if (!leg->teepad)
    return;
  sink = gst_element_get_static_pad (leg->bin, "sink");
  gst_pad_unlink (leg->teepad, sink);
  gst_object_unref (sink);
  gst_element_release_request_pad (leg->variant->tee, leg->teepad);
  gst_clear_object (&leg->teepad);
  variant_use (leg->variant, -1);
  variant_leg_profile (leg->variant, leg, -1);
}

void
vs_leg_request_key (VsLeg * leg)
{
  g_atomic_int_set (&leg->need_key, 1);
  variant_request_key (leg->variant);
}

void
vs_leg_brake (VsLeg * leg, gdouble arrived_kbps)
{
  if (!leg->steered || leg->adapt.link.drain)
    return;
  vs_adapt_brake (&leg->adapt.link);
  variant_drain (leg->steered, TRUE, (guint) (arrived_kbps / 2));
}

void
vs_leg_drained (VsLeg * leg)
{
  if (!vs_adapt_drained (&leg->adapt.link))
    return;
  if (leg->steered)
    variant_drain (leg->steered, FALSE, 0);
  leg->repairs++;
  vs_leg_request_key (leg);
}

void
vs_leg_request_key_relayed (VsLeg * leg)
{
  variant_request_key (leg->variant);
}

gboolean
vs_leg_overrun (VsLeg * leg)
{
  g_atomic_int_inc (&leg->overruns);
  if (g_atomic_int_get (&leg->need_key))
    return FALSE;
  g_atomic_int_set (&leg->need_key, 1);
  return TRUE;
}

const gchar *
vs_leg_variant_name (VsLeg * leg)
{
  return leg->variant->name;
}

/* Moving a leg: unlinked and relinked while no buffer passes, then the new
 * encode sends a key frame. */
typedef struct
{
  VsLeg *leg;
  GstElement *oldtee;
  GstPad *oldpad;
  GstPad *newpad;
  GstPad *sink;
} MoveData;

static gboolean
move_release (gpointer data)
{
  MoveData *md = data;
  gst_element_release_request_pad (md->oldtee, md->oldpad);
  gst_object_unref (md->oldpad);
  gst_object_unref (md->oldtee);
  gst_object_unref (md->newpad);
  gst_object_unref (md->sink);
  g_free (md);
  return G_SOURCE_REMOVE;
}

static GstPadProbeReturn
move_probe (GstPad * teepad, GstPadProbeInfo * info, gpointer data)
{
  MoveData *md = data;

  gst_pad_unlink (teepad, md->sink);
  g_atomic_int_set (&md->leg->need_key, 1);
  gst_pad_link (md->newpad, md->sink);
  /* A tee pad is released outside its own streaming thread. */
  g_idle_add (move_release, md);
  return GST_PAD_PROBE_REMOVE;
}

static void
leg_move (VsLeg * leg, VsVariant * to)
{
  MoveData *md;

  if (!to || leg->variant == to || !leg->teepad)
    return;
  GST_INFO ("leg %p: %s -> %s encode", leg, leg->variant->name, to->name);
  md = g_new0 (MoveData, 1);
  md->leg = leg;
  md->oldtee = gst_object_ref (leg->variant->tee);
  md->oldpad = leg->teepad;
  md->newpad = gst_element_request_pad_simple (to->tee, "src_%u");
  md->sink = gst_element_get_static_pad (leg->bin, "sink");
  variant_use (leg->variant, -1);
  variant_leg_profile (leg->variant, leg, -1);
  variant_use (to, +1);
  variant_leg_profile (to, leg, +1);
  leg->variant = to;
  leg->teepad = gst_object_ref (md->newpad);
  gst_pad_add_probe (md->oldpad, GST_PAD_PROBE_TYPE_IDLE, move_probe, md,
      NULL);
  variant_request_key (to);
}

void
vs_encodes_adapt (VsEncodes * e, VsLeg ** legs, guint n_legs, VsLeg * leader,
    gboolean has_leader)
{
  gint64 now = g_get_monotonic_time ();
  gboolean steered_drains[2] = { FALSE, FALSE };        /* main, low */

  for (guint i = 0; i < n_legs; i++) {
    VsLeg *leg = legs[i];
    VsAdaptDecision d;
    VsAdaptInput in = {
      .steers = leg == leader || (!has_leader && leg->variant == e->main
          && e->main->users == 1),
      .on_low = leg->variant != e->main,
      .main_kbps = e->main->bitrate,
      .low_kbps = e->low ? e->low->bitrate : 0,
      .low_users = e->low ? e->low->users : 0,
      .now_us = now,
    };

    vs_adapt_decide (&leg->adapt, &in, &d);
    leg->steered = NULL;
    if (d.to_main)
      leg_move (leg, e->main);
    if (d.to_low)
      leg_move (leg, encodes_low (e));
    if (d.steer_main_kbps)
      leg->steered = e->main;
    else if (d.steer_low_kbps && e->low)
      leg->steered = e->low;
    if (leg->steered) {
      variant_steer (leg->steered, d.steer_main_kbps ? d.steer_main_kbps :
          d.steer_low_kbps);
      variant_drain (leg->steered, leg->adapt.link.drain, 0);
      if (leg->steered->draining)
        steered_drains[leg->steered == e->low] = TRUE;
    }
    /* after the bitrate is back: the key frame is encoded at it */
    if (leg->adapt.link.key_now && !d.to_main && !d.to_low) {
      leg->repairs++;
      vs_leg_request_key (leg);
    }
  }
  /* An encode nobody steers now (its viewer left, or it has several and
   * no leader) does not stay draining for a viewer that no longer steers
   * it. */
  if (e->main->draining && !steered_drains[0])
    variant_drain (e->main, FALSE, 0);
  if (e->low && e->low->draining && !steered_drains[1])
    variant_drain (e->low, FALSE, 0);
}
