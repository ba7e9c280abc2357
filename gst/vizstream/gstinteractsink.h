/* gst-vizstream: interactsink, JSON event messages into a renderer's event
 * queue.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/base/gstbasesink.h>

G_BEGIN_DECLS

#define GST_TYPE_INTERACT_SINK (gst_interact_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstInteractSink, gst_interact_sink, GST, INTERACT_SINK,
    GstBaseSink);

G_END_DECLS
