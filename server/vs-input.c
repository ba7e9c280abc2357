/* vizstream-server: input to the renderer (vs-input.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-input.h"

#include <gio/gio.h>
#include <gst/gst.h>
#include <gst/app/app.h>
#include <vizstream.h>

#define MAX_EVENTS 256

struct _VsInput
{
  const VsConfig *cfg;
  guint viewer_id;
  guint mask;
  GstElement *pipe, *appsrc, *sink;     /* made on the first message */
  guint64 refused;              /* embedded path */
};

guint
vs_input_allowed_mask (const VsConfig * cfg)
{
  guint all = (1u << VZ_EVENT_LAST) - 1;
  if (!cfg->allow_resize)
    all &= ~(1u << (VZ_EVENT_RESIZE_REQUEST - 1));
  return all;
}

VsInput *
vs_input_new (const VsConfig * cfg, guint viewer_id)
{
  VsInput *in = g_new0 (VsInput, 1);

  in->cfg = cfg;
  in->viewer_id = viewer_id;
  in->mask = vs_input_allowed_mask (cfg);
  return in;
}

/* The embedding program gets parsed, allowed events only. */
static gboolean
push_embedded (VsInput * in, const gchar * text, gsize len, GError ** error)
{
  VzEvent *ev = g_new (VzEvent, MAX_EVENTS);
  VzJsonResult res;
  gsize n = 0;

  if (vz_events_from_json (text, len, ev, MAX_EVENTS, &res) != VZ_OK) {
    g_free (ev);
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "input is not events");
    return FALSE;
  }
  for (gsize i = 0; i < res.events; i++) {
    if (in->mask & (1u << (ev[i].type - 1)))
      ev[n++] = ev[i];
    else
      in->refused++;
  }
  if (n)
    in->cfg->embed->input (in->viewer_id, ev, n, in->cfg->embed->data);
  g_free (ev);
  return TRUE;
}

static gboolean
make_pipe (VsInput * in, GError ** error)
{
  in->pipe = gst_pipeline_new (NULL);
  in->appsrc = gst_element_factory_make ("appsrc", NULL);
  in->sink = gst_element_factory_make ("interactsink", NULL);
  /* Ours as well as the bin's, whatever happens next. */
  if (in->appsrc)
    gst_object_ref_sink (in->appsrc);
  if (in->sink)
    gst_object_ref_sink (in->sink);
  if (!in->appsrc || !in->sink) {
    g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
        "interactsink or appsrc missing");
    goto fail;
  }
  g_object_set (in->appsrc, "is-live", TRUE, "format", GST_FORMAT_TIME,
      "do-timestamp", TRUE, "max-bytes", (guint64) 4 << 20, "block", FALSE,
      NULL);
  g_object_set (in->sink, "segment", in->cfg->segment, "viewer-id",
      in->viewer_id, "coordinates", 1 /* normalized */ , "max-message-size",
      in->cfg->max_message, "allowed-events", in->mask, "sync", FALSE,
      "async", FALSE, NULL);
  gst_bin_add_many (GST_BIN (in->pipe), in->appsrc, in->sink, NULL);
  gst_element_link (in->appsrc, in->sink);
  if (gst_element_set_state (in->pipe, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE,
        "the input pipeline does not start");
    goto fail;
  }
  return TRUE;
fail:
  if (in->pipe)
    gst_element_set_state (in->pipe, GST_STATE_NULL);
  gst_clear_object (&in->pipe);
  gst_clear_object (&in->appsrc);
  gst_clear_object (&in->sink);
  return FALSE;
}

gboolean
vs_input_push (VsInput * in, const gchar * text, gsize len, GError ** error)
{
  if (in->cfg->embed && in->cfg->embed->input)
    return push_embedded (in, text, len, error);
  if (!in->cfg->segment) {
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
        "no renderer segment to send events to");
    return FALSE;
  }
  if (!in->pipe && !make_pipe (in, error))
    return FALSE;
  return gst_app_src_push_buffer (GST_APP_SRC (in->appsrc),
      gst_buffer_new_memdup (text, len)) == GST_FLOW_OK;
}

guint64
vs_input_refused (VsInput * in)
{
  guint64 refused = in->refused;
  GstStructure *s = NULL;
  guint64 u;

  if (in->sink) {
    g_object_get (in->sink, "stats", &s, NULL);
    if (s && gst_structure_get_uint64 (s, "refused", &u))
      refused += u;
    if (s)
      gst_structure_free (s);
  }
  return refused;
}

void
vs_input_free (VsInput * in)
{
  if (!in)
    return;
  if (in->pipe)
    gst_element_set_state (in->pipe, GST_STATE_NULL);
  gst_clear_object (&in->pipe);
  gst_clear_object (&in->appsrc);
  gst_clear_object (&in->sink);
  g_free (in);
}
