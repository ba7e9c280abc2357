/* gst-vizstream: the vizstream plugin (elements needing only GStreamer).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvizstreamelements.h"

#include <gst/video/video.h>

void
vizstream_element_init (GstPlugin * plugin)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    static const gchar *tags[] = { GST_META_TAG_VIDEO_STR, NULL };
    gst_meta_register_custom (VIZSTREAM_FRAME_META_NAME, tags, NULL, NULL,
        NULL);
    g_once_init_leave (&done, 1);
  }
}

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ret = FALSE;

  ret |= GST_ELEMENT_REGISTER (shmframesrc, plugin);
  ret |= GST_ELEMENT_REGISTER (interactsink, plugin);
  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, vizstream,
    "Remote interactive visualization: renderer frames and events through "
    "shared memory", plugin_init, PACKAGE_VERSION, "LGPL", PACKAGE_NAME,
    PACKAGE_ORIGIN)
