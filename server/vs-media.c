/* vizstream-server: the media core (vs-media.h).
 *
 * Threads: the probe on the raw tee runs on the source's streaming
 * thread (atomics and the timing lock); everything else on the main loop.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-media.h"

#include <gst/video/video.h>

GST_DEBUG_CATEGORY (vs_debug);
#define GST_CAT_DEFAULT vs_debug

#define TIMING_RING 512

typedef struct
{
  GstElement *branch;
  VsBranchError on_error;
  gpointer data;
} Branch;

struct _VsMedia
{
  const VsConfig *cfg;
  VsMediaHooks hooks;
  GstElement *pipeline;
  GstElement *source;
  GstElement *rawcaps;          /* the format the encoder takes, preferred */
  GstElement *rawtee;
  GList *branches;              /* Branch*, main loop */
  guint bus_watch;
  guint source_restart;
  gint src_width, src_height;   /* atomics, from caps */
  gint src_format;              /* atomic GstVideoFormat, from caps */
  gchar *renderer_state;        /* main loop */
  GMutex timing_lock;           /* guards timing, timing_pos */
  VsTiming timing[TIMING_RING];
  guint timing_pos;
};

/* ---- timing ---- */

GstClockTime
vs_running_time (GstPad * pad, GstClockTime pts)
{
  GstEvent *ev = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  const GstSegment *seg;
  GstClockTime rt = pts;

  /* Encoders shift timestamps (x264enc by 1000 hours) along with their
   * segment: frames are matched by running time. */
  if (ev) {
    gst_event_parse_segment (ev, &seg);
    if (seg->format == GST_FORMAT_TIME)
      rt = gst_segment_to_running_time (seg, GST_FORMAT_TIME, pts);
    gst_event_unref (ev);
  }
  return rt;
}

static void
note_caps (VsMedia * media, GstEvent * ev)
{
  GstCaps *caps;
  GstVideoInfo vinfo;
  gint w, h;

  gst_event_parse_caps (ev, &caps);
  if (!gst_video_info_from_caps (&vinfo, caps))
    return;
  w = GST_VIDEO_INFO_WIDTH (&vinfo);
  h = GST_VIDEO_INFO_HEIGHT (&vinfo);
  g_atomic_int_set (&media->src_format, GST_VIDEO_INFO_FORMAT (&vinfo));
  if (g_atomic_int_get (&media->src_width) == w
      && g_atomic_int_get (&media->src_height) == h)
    return;
  g_atomic_int_set (&media->src_width, w);
  g_atomic_int_set (&media->src_height, h);
  /* To the main loop through the bus. */
  gst_element_post_message (media->rawtee,
      gst_message_new_application (GST_OBJECT (media->rawtee),
          gst_structure_new ("vs-source-size", "width", G_TYPE_INT, w,
              "height", G_TYPE_INT, h, NULL)));
}

static void
note_frame (VsMedia * media, GstPad * pad, GstBuffer * buf)
{
  static GstCaps *unix_caps;
  GstReferenceTimestampMeta *ref;
  GstCustomMeta *meta;
  VsTiming t = { vs_running_time (pad, GST_BUFFER_PTS (buf)), 0, 0 };

  if (g_once_init_enter (&unix_caps))
    g_once_init_leave (&unix_caps,
        gst_caps_new_empty_simple ("timestamp/x-unix"));
  ref = gst_buffer_get_reference_timestamp_meta (buf, unix_caps);
  t.unix_ns = ref ? ref->timestamp : (guint64) g_get_real_time () * 1000;
  meta = gst_buffer_get_custom_meta (buf, "VizStreamFrameMeta");
  if (meta)
    gst_structure_get_uint64 (gst_custom_meta_get_structure (meta),
        "frame-number", &t.frame);
  GST_LOG ("raw frame %" G_GUINT64_FORMAT " at %" GST_TIME_FORMAT, t.frame,
      GST_TIME_ARGS (t.running_time));
  g_mutex_lock (&media->timing_lock);
  media->timing[media->timing_pos++ % TIMING_RING] = t;
  g_mutex_unlock (&media->timing_lock);
}

static GstPadProbeReturn
raw_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  VsMedia *media = data;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    note_frame (media, pad, GST_PAD_PROBE_INFO_BUFFER (info));
  else if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_CAPS)
    note_caps (media, GST_PAD_PROBE_INFO_EVENT (info));
  return GST_PAD_PROBE_OK;
}

gboolean
vs_media_lookup_timing (VsMedia * media, GstClockTime running_time,
    VsTiming * out)
{
  gboolean found = FALSE;

  g_mutex_lock (&media->timing_lock);
  for (guint i = 0; i < TIMING_RING && i < media->timing_pos; i++) {
    VsTiming *t = &media->timing[(media->timing_pos - 1 - i) % TIMING_RING];
    if (t->running_time == running_time) {
      *out = *t;
      found = TRUE;
      break;
    }
  }
  g_mutex_unlock (&media->timing_lock);
  return found;
}

void
vs_media_source_size (VsMedia * media, guint * width, guint * height)
{
  *width = (guint) g_atomic_int_get (&media->src_width);
  *height = (guint) g_atomic_int_get (&media->src_height);
}

/* ---- the bus ---- */

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
  if (!state || g_strcmp0 (media->renderer_state, state) == 0)
    return;
  g_free (media->renderer_state);
  media->renderer_state = g_strdup (state);
  if (media->hooks.renderer_state)
    media->hooks.renderer_state (state, why, media->hooks.data);
}

static Branch *
branch_of (VsMedia * media, GstObject * src)
{
  for (GList * l = media->branches; l; l = l->next) {
    Branch *b = l->data;
    if (src == GST_OBJECT (b->branch)
        || gst_object_has_as_ancestor (src, GST_OBJECT (b->branch)))
      return b;
  }
  return NULL;
}

static void
handle_error (VsMedia * media, GstMessage * msg)
{
  GstObject *src = GST_MESSAGE_SRC (msg);
  GError *err;
  gchar *dbg;
  Branch *branch;

  gst_message_parse_error (msg, &err, &dbg);
  GST_WARNING ("error from %s: %s (%s)", GST_MESSAGE_SRC_NAME (msg),
      err->message, dbg);
  if (!gst_object_has_as_ancestor (src, GST_OBJECT (media->pipeline))) {
    /* Posted by a branch already taken out (a viewer's second error, or
     * one from its way to NULL): its owner knows. */
    GST_INFO ("ignored: %s is no longer in the pipeline",
        GST_MESSAGE_SRC_NAME (msg));
  } else if (src == GST_OBJECT (media->source)
      || gst_object_has_as_ancestor (src, GST_OBJECT (media->source))) {
    /* A hostile or broken segment: say so, try again later. */
    set_renderer_state (media, "error", err->message);
    if (!media->source_restart)
      media->source_restart = g_timeout_add_seconds (2, restart_source,
          media);
  } else if ((branch = branch_of (media, src)) && branch->on_error) {
    /* The owner removes the branch (and so this entry). */
    branch->on_error (err->message, branch->data);
  } else if (media->hooks.fatal) {
    gchar *m = g_strdup_printf ("%s: %s", GST_MESSAGE_SRC_NAME (msg),
        err->message);
    media->hooks.fatal (m, media->hooks.data);
    g_free (m);
  }
  g_error_free (err);
  g_free (dbg);
}

static gboolean
bus_cb (GstBus * bus, GstMessage * msg, gpointer data)
{
  VsMedia *media = data;
  const GstStructure *s = gst_message_get_structure (msg);

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ERROR:
      handle_error (media, msg);
      break;
    case GST_MESSAGE_ELEMENT:
      if (gst_structure_has_name (s, "shmframesrc-renderer"))
        set_renderer_state (media, gst_structure_get_string (s, "state"),
            gst_structure_get_string (s, "reason"));
      else if (gst_structure_has_name (s, "vizstream-message")
          && media->hooks.message
          && gst_structure_get_string (s, "text"))
        media->hooks.message (gst_structure_get_string (s, "text"),
            media->hooks.data);
      break;
    case GST_MESSAGE_APPLICATION:
      if (gst_structure_has_name (s, "vs-source-size")
          && media->hooks.source_size)
        media->hooks.source_size (g_atomic_int_get (&media->src_width),
            g_atomic_int_get (&media->src_height), media->hooks.data);
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

/* ---- branches ---- */

void
vs_media_add_branch (VsMedia * media, GstElement * branch,
    VsBranchError on_error, gpointer data)
{
  Branch *b = g_new0 (Branch, 1);

  b->branch = gst_object_ref (branch);
  b->on_error = on_error;
  b->data = data;
  media->branches = g_list_prepend (media->branches, b);
  gst_bin_add (GST_BIN (media->pipeline), branch);
}

void
vs_media_remove_branch (VsMedia * media, GstElement * branch)
{
  for (GList * l = media->branches; l; l = l->next) {
    Branch *b = l->data;
    if (b->branch != branch)
      continue;
    media->branches = g_list_delete_link (media->branches, l);
    gst_element_set_locked_state (branch, TRUE);
    gst_element_set_state (branch, GST_STATE_NULL);
    gst_bin_remove (GST_BIN (media->pipeline), branch);
    gst_object_unref (b->branch);
    g_free (b);
    return;
  }
}

/* shmframesrc offers the renderer's format first and the formats it can
 * convert into after it: a preference downstream does not change its
 * choice (the querying element's order wins), so the encoder's format is
 * asked for outright, only of a shmframesrc that can convert (built with
 * libyuv); the gray formats it cannot convert pass as they are. */
void
vs_media_prefer_format (VsMedia * media, const gchar * format)
{
  GstElementFactory *f = gst_element_get_factory (media->source);
  GstCaps *want = gst_caps_new_simple ("video/x-raw", "format",
      G_TYPE_STRING, format, NULL);
  gboolean can = FALSE;

  if (f && g_str_equal (GST_OBJECT_NAME (f), "shmframesrc")) {
    for (const GList * l = gst_element_factory_get_static_pad_templates (f);
        l; l = l->next) {
      GstCaps *t = gst_static_pad_template_get_caps (l->data);
      can |= gst_caps_can_intersect (t, want);
      gst_caps_unref (t);
    }
  }
  if (can) {
    gst_caps_append (want, gst_caps_from_string
        ("video/x-raw,format=GRAY8; video/x-raw,format=GRAY16_LE"));
    g_object_set (media->rawcaps, "caps", want, NULL);
    GST_INFO ("raw frames as %" GST_PTR_FORMAT, want);
  }
  gst_caps_unref (want);
}

GstElement *
vs_media_bin (VsMedia * media)
{
  return media->pipeline;
}

gboolean
vs_media_link_raw (VsMedia * media, GstElement * branch)
{
  gst_element_sync_state_with_parent (branch);
  return gst_element_link (media->rawtee, branch);
}

/* ---- elements ---- */

gboolean
vs_make_elements (const VsElementSpec * specs, gsize n, GError ** error)
{
  GString *missing = NULL;

  for (gsize i = 0; i < n; i++) {
    *specs[i].out = specs[i].factory ?
        gst_element_factory_make (specs[i].factory, NULL) : NULL;
    if (specs[i].factory && !*specs[i].out) {
      if (!missing)
        missing = g_string_new (specs[i].factory);
      else
        g_string_append_printf (missing, ", %s", specs[i].factory);
    }
  }
  if (!missing)
    return TRUE;
  for (gsize i = 0; i < n; i++)
    if (*specs[i].out)
      gst_object_unref (gst_object_ref_sink (*specs[i].out));
  for (gsize i = 0; i < n; i++)
    *specs[i].out = NULL;
  g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
      "missing GStreamer elements (%s): run scripts/install-deps.sh",
      missing->str);
  g_string_free (missing, TRUE);
  return FALSE;
}

/* ---- life ---- */

static GstElement *
make_source (const VsConfig * cfg, GError ** error)
{
  GstElement *source;

  if (cfg->embed && cfg->embed->make_source && !cfg->pipeline_desc)
    return cfg->embed->make_source (cfg->embed->data, error);
  if (cfg->pipeline_desc) {
    source = gst_parse_bin_from_description (cfg->pipeline_desc, TRUE, error);
    if (!source)
      g_prefix_error (error, "--pipeline: ");
    return source;
  }
  source = gst_element_factory_make ("shmframesrc", "source");
  if (!source) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
        "the shmframesrc element is not found: set GST_PLUGIN_PATH to "
        "gst-vizstream's plugin directory, or install it");
    return NULL;
  }
  /* An idle renderer's picture is pushed again every half second: a viewer
   * joining (its key frame) or an encoder restarting never waits for the
   * renderer to draw. */
  g_object_set (source, "segment", cfg->segment, "keep-waiting", TRUE,
      "repeat-after", VS_MEDIA_REPEAT_MS, NULL);
  if (cfg->max_fps)
    g_object_set (source, "max-framerate", cfg->max_fps, 1, NULL);
  return source;
}

VsMedia *
vs_media_new (const VsConfig * cfg, const VsMediaHooks * hooks,
    GError ** error)
{
  VsMedia *media = g_new0 (VsMedia, 1);
  GstBus *bus;
  GstPad *pad;

  media->cfg = cfg;
  media->hooks = *hooks;
  g_mutex_init (&media->timing_lock);
  media->pipeline = gst_pipeline_new ("vizstream-server");
  media->source = make_source (cfg, error);
  if (!media->source) {
    if (error && !*error)
      g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_FAILED,
          "the application made no source element");
    goto fail;
  }
  media->rawcaps = gst_element_factory_make ("capsfilter", "rawcaps");
  media->rawtee = gst_element_factory_make ("tee", "raw");
  g_object_set (media->rawtee, "allow-not-linked", TRUE, NULL);
  gst_bin_add_many (GST_BIN (media->pipeline), media->source, media->rawcaps,
      media->rawtee, NULL);
  if (!gst_element_link_many (media->source, media->rawcaps, media->rawtee,
          NULL)) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
        "the source does not link (does it produce video/x-raw?)");
    goto fail;
  }
  pad = gst_element_get_static_pad (media->rawtee, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, raw_probe, media, NULL);
  gst_object_unref (pad);
  bus = gst_pipeline_get_bus (GST_PIPELINE (media->pipeline));
  media->bus_watch = gst_bus_add_watch (bus, bus_cb, media);
  gst_object_unref (bus);
  media->renderer_state = g_strdup (cfg->pipeline_desc ? "pipeline" :
      cfg->embed && cfg->embed->make_source ? "application" : "waiting");
  return media;

fail:
  vs_media_free (media);
  return NULL;
}

gboolean
vs_media_start (VsMedia * media, GError ** error)
{
  if (gst_element_set_state (media->pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE,
        "the pipeline does not start (GST_DEBUG=3 tells why)");
    return FALSE;
  }
  return TRUE;
}

void
vs_media_free (VsMedia * media)
{
  if (!media)
    return;
  while (media->branches)
    vs_media_remove_branch (media,
        ((Branch *) media->branches->data)->branch);
  if (media->pipeline) {
    gst_element_set_state (media->pipeline, GST_STATE_NULL);
    gst_object_unref (media->pipeline);
  }
  if (media->bus_watch)
    g_source_remove (media->bus_watch);
  if (media->source_restart)
    g_source_remove (media->source_restart);
  g_free (media->renderer_state);
  g_mutex_clear (&media->timing_lock);
  g_free (media);
}

void
vs_media_describe (VsMedia * media, JsonBuilder * b)
{
  json_builder_set_member_name (b, "renderer");
  json_builder_add_string_value (b, media->renderer_state);
  json_builder_set_member_name (b, "source_width");
  json_builder_add_int_value (b, g_atomic_int_get (&media->src_width));
  json_builder_set_member_name (b, "source_height");
  json_builder_add_int_value (b, g_atomic_int_get (&media->src_height));
  /* The raw frames' format: I420 when shmframesrc converts for the
   * encoder (vs_media_prefer_format). */
  json_builder_set_member_name (b, "source_format");
  json_builder_add_string_value (b, g_atomic_int_get (&media->src_format) ?
      gst_video_format_to_string (g_atomic_int_get (&media->src_format)) :
      NULL);
  /* shmframesrc's: frames pushed, and published but never pushed. */
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (media->source),
          "stats")) {
    GstStructure *st = NULL;
    guint64 read = 0, missed = 0;

    g_object_get (media->source, "stats", &st, NULL);
    if (st) {
      gst_structure_get_uint64 (st, "frames-read", &read);
      gst_structure_get_uint64 (st, "frames-missed", &missed);
      gst_structure_free (st);
    }
    json_builder_set_member_name (b, "source_frames");
    json_builder_add_int_value (b, read);
    json_builder_set_member_name (b, "source_missed");
    json_builder_add_int_value (b, missed);
  }
  /* What the viewers hold: back to the same figure when they are gone. */
  json_builder_set_member_name (b, "elements");
  json_builder_add_int_value (b, GST_BIN_NUMCHILDREN (media->pipeline));
}
