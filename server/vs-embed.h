/* vizstream-server as a library: the one public header.
 *
 * A program that embeds the server (examples/gl/vizstream-gldemo.c) gives
 * the pipeline's source and takes the controlling viewers' input itself,
 * instead of a renderer's segment; everything else is the server as
 * vizstream-server runs it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include <vizstream.h>

G_BEGIN_DECLS

typedef struct
{
  /* The source element (producing video/x-raw); called once, main loop. */
  GstElement *(*make_source) (gpointer data, GError ** error);
  /* A controlling viewer's events, parsed (docs/events.md) and filtered
   * by the server's input policy (no ResizeRequest without
   * --allow-resize); coordinates normalized to 0..1. Main loop. */
  void (*input) (guint viewer_id, const VzEvent * events, gsize n_events,
      gpointer data);
  gpointer data;
} VsEmbed;

/* The server's main(): options as vizstream-server takes them. Returns
 * the exit status (0, 1 cannot start, 2 bad options). */
int vs_server_main (int argc, char **argv, const VsEmbed * embed);

G_END_DECLS
