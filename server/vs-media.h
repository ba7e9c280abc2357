/* vizstream-server: the media core. One pipeline:
 *
 *   source (shmframesrc | --pipeline | embedded)
 *       ! capsfilter (the encoder's format preferred) ! tee "raw" ! branches
 *
 * It owns the source, the raw tee, the bus and the timing ring (which
 * frame was published when). Everything else joins as a branch: a bin
 * added with vs_media_add_branch() whose errors go to its owner only
 * (a viewer's bin: that viewer closes) and whose teardown is one call.
 * News goes up through VsMediaHooks.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include "vs-config.h"

G_BEGIN_DECLS

/* shmframesrc's repeat-after: an idle renderer's newest frame again (ms). */
#define VS_MEDIA_REPEAT_MS 500

GST_DEBUG_CATEGORY_EXTERN (vs_debug);

typedef struct _VsMedia VsMedia;

typedef struct
{
  /* The renderer came, went or failed (state: waiting, running, gone,
   * error, pipeline, application). */
  void (*renderer_state) (const gchar * state, const gchar * why,
      gpointer data);
  /* The source's frame size changed. */
  void (*source_size) (guint width, guint height, gpointer data);
  /* The renderer sent a message (JSON object text, checked by the
   * library; docs/protocol.md "Message area"). */
  void (*message) (const gchar * json, gpointer data);
  /* An error outside any branch: the server cannot go on. */
  void (*fatal) (const gchar * message, gpointer data);
  gpointer data;
} VsMediaHooks;

/* An error from inside a branch (main loop). */
typedef void (*VsBranchError) (const gchar * message, gpointer data);

/* An element to make: a factory (NULL: none) and where it goes. */
typedef struct
{
  const gchar *factory;
  GstElement **out;
} VsElementSpec;

/* Makes them all (floating, for a bin to take) or none: when one factory
 * is missing the others are dropped, every out is NULL and error names
 * what is missing and what installs it. */
gboolean vs_make_elements (const VsElementSpec * specs, gsize n,
    GError ** error);

typedef struct
{
  GstClockTime running_time;
  guint64 frame;
  guint64 unix_ns;
} VsTiming;

VsMedia *vs_media_new (const VsConfig * cfg, const VsMediaHooks * hooks,
    GError ** error);
gboolean vs_media_start (VsMedia * media, GError ** error);
void vs_media_free (VsMedia * media);

/* Adds a branch (a bin, or any element) to the pipeline; errors posted
 * from inside it call on_error (if given) instead of stopping the server.
 * Not linked yet. */
void vs_media_add_branch (VsMedia * media, GstElement * branch,
    VsBranchError on_error, gpointer data);
/* Stops it and takes it out: one call, whatever it holds. */
void vs_media_remove_branch (VsMedia * media, GstElement * branch);
/* Brings a branch to the pipeline's state, then links the raw tee to its
 * sink pad (a running tee pushing into a branch still in NULL would get
 * FLUSHING back and stop the source). */
gboolean vs_media_link_raw (VsMedia * media, GstElement * branch);

/* shmframesrc built with libyuv gives this raw format (I420, NV12),
 * converting in its one copy: the encode's converter then passes frames
 * through. Other sources keep theirs. Before the start. */
void vs_media_prefer_format (VsMedia * media, const gchar * format);

/* The pipeline, for the server's own chains (the encodes): an error
 * there stops the server. */
GstElement *vs_media_bin (VsMedia * media);

void vs_media_source_size (VsMedia * media, guint * width, guint * height);
/* The frame published at this running time (the raw tee's). */
gboolean vs_media_lookup_timing (VsMedia * media, GstClockTime running_time,
    VsTiming * out);
/* A buffer's running time on a pad (from its segment). */
GstClockTime vs_running_time (GstPad * pad, GstClockTime pts);

void vs_media_describe (VsMedia * media, JsonBuilder * b);

G_END_DECLS
