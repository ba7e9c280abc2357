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

void vizstream_element_init (GstPlugin * plugin);

GST_ELEMENT_REGISTER_DECLARE (shmframesrc);
GST_ELEMENT_REGISTER_DECLARE (interactsink);

G_END_DECLS
