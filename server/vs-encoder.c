/* vizstream-server: encoder selection (vs-encoder.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-encoder.h"

#include <string.h>

/* In order of preference: hardware first when it works here. */
static const VsEncoderInfo encoders[] = {
  {"nvh264enc", VS_CODEC_H264, "bitrate", 1, TRUE,
      "preset=low-latency-hp rc-mode=cbr zerolatency=true bframes=0"},
  {"vah264enc", VS_CODEC_H264, "bitrate", 1, TRUE,
      "rate-control=cbr b-frames=0"},
  {"vaapih264enc", VS_CODEC_H264, "bitrate", 1, TRUE,
      "rate-control=cbr"},
  /* veryfast: the most picture per bit within the CPU budget (0.76x
   * ultrafast's bits at SSIM 0.95 for 17 ms per 1080p frame, one core
   * being 33; docs/performance.md "Encoder settings") */
  {"x264enc", VS_CODEC_H264, "bitrate", 1, FALSE,
      "tune=zerolatency speed-preset=veryfast threads=2", TRUE, 300, TRUE},
  {"openh264enc", VS_CODEC_H264, "bitrate", 1000, FALSE,
      "complexity=low rate-control=bitrate"},
  {"vaapivp8enc", VS_CODEC_VP8, "bitrate", 1, TRUE, "rate-control=cbr"},
  /* The fastest fixed speed, -16: -8 needs 0.88x its bits at the same
   * SSIM (17.2 vs 13.5 ms per 1080p frame), but added 8-10 ms to the
   * glass-to-glass p50 (44-46 vs 36 ms; docs/performance.md "Encoder
   * settings"), and VP8 is the codec chosen for its latency; one thread (a
   * second one spins on 2 cores and cost 35-40 % of a core instead of 21 %
   * at 720p30), buffers and key frames as webrtcsink has them: key frames
   * only when asked for (new viewers, PLI); docs/performance.md
   * "Browsers". */
  {"vp8enc", VS_CODEC_VP8, "target-bitrate", 1000, FALSE,
        "deadline=1 cpu-used=-16 threads=1 end-usage=cbr lag-in-frames=0 "
        "undershoot=95 buffer-size=150 buffer-initial-size=100 "
        "buffer-optimal-size=120 keyframe-mode=disabled max-intra-bitrate=250"},
};

static gboolean
has_property (GstElement * e, const gchar * name)
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
    if (has_property (e, *p))
      gst_util_set_object_arg (G_OBJECT (e), *p, eq + 1);
  }
  g_strfreev (kv);
}

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

const VsEncoderInfo *
vs_encoder_pick (const VsConfig * cfg, GError ** error)
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

void
vs_encoder_configure (const VsEncoderInfo * info, GstElement * enc,
    guint max_fps)
{
  guint gop = 4 * MAX (max_fps, 1);

  apply_settings (enc, info->settings);
  if (info->vbv_ms)
    g_object_set (enc, "vbv-buf-capacity", info->vbv_ms, NULL);
  if (has_property (enc, "key-int-max"))
    g_object_set (enc, "key-int-max", gop, NULL);
  if (has_property (enc, "keyframe-max-dist"))
    g_object_set (enc, "keyframe-max-dist", gop, NULL);
  if (has_property (enc, "gop-size"))
    g_object_set (enc, "gop-size", gop, NULL);
}

void
vs_encoder_set_bitrate (const VsEncoderInfo * info, GstElement * enc,
    guint kbps, gdouble share)
{
  gdouble given = kbps;

  if (info->nominal_rate && share > 0 && share < 1) {
    given = kbps / share;
    /* the same bytes as vbv_ms at what is really sent */
    g_object_set (enc, "vbv-buf-capacity", MAX (1, (guint) (info->vbv_ms *
                share)), NULL);
  } else if (info->vbv_ms) {
    g_object_set (enc, "vbv-buf-capacity", info->vbv_ms, NULL);
  }
  g_object_set (enc, info->bitrate_prop, (guint) (given * info->bitrate_scale),
      NULL);
}

const gchar *
vs_encoder_input_format (const VsEncoderInfo * info)
{
  return info->hardware ? "NV12" : "I420";
}

GstCaps *
vs_encoder_output_caps (const VsEncoderInfo * info, gboolean main)
{
  if (info->codec != VS_CODEC_H264)
    return gst_caps_new_empty_simple ("video/x-vp8");
  return gst_caps_new_simple ("video/x-h264", "profile", G_TYPE_STRING,
      main && info->main_profile ? "main" : "constrained-baseline",
      "stream-format", G_TYPE_STRING, "byte-stream", "alignment",
      G_TYPE_STRING, "au", NULL);
}
