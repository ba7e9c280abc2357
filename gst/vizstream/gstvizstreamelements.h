/* gst-vizstream: the elements of the vizstream plugin.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* Custom meta (GstCustomMeta) on every buffer shmframesrc pushes; fields:
 * frame-number (guint64), publish-time (guint64, CLOCK_MONOTONIC ns),
 * renderer-timestamp (guint64, the renderer's own ns). */
#define VIZSTREAM_FRAME_META_NAME "VizStreamFrameMeta"

GST_ELEMENT_REGISTER_DECLARE (shmframesrc);
GST_ELEMENT_REGISTER_DECLARE (interactsink);

/* Registers what every element needs (the frame meta) once. */
void vizstream_element_init (GstPlugin * plugin);

/* ---- shared by the elements, private to the plugin ---- */

/* The "segment" property's spec. */
GParamSpec *vizstream_param_spec_segment (void);
/* A copy of *segment (read under the element's object lock) for start();
 * NULL, with an element error posted, when no name was set. */
gchar *vizstream_take_segment_name (GstElement * element,
    const gchar ** segment);
/* Sleep on cond (with the object lock) until end_us (g_get_monotonic_time)
 * or *flushing; FALSE when flushing. */
gboolean vizstream_sleep_until (GstObject * object, GCond * cond,
    const gboolean * flushing, gint64 end_us);

G_END_DECLS
