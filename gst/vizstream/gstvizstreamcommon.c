/* gst-vizstream: what shmframesrc and interactsink share.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvizstreamelements.h"

GParamSpec *
vizstream_param_spec_segment (void)
{
  return g_param_spec_string ("segment", "Segment",
      "Name of the renderer's shared segment (POSIX shm name)", NULL,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
}

gchar *
vizstream_take_segment_name (GstElement * element, const gchar ** segment)
{
  gchar *name;

  GST_OBJECT_LOCK (element);
  name = g_strdup (*segment);
  GST_OBJECT_UNLOCK (element);
  if (name == NULL || name[0] == '\0') {
    g_free (name);
    GST_ELEMENT_ERROR (element, RESOURCE, SETTINGS,
        ("No segment name given: set the 'segment' property to the name "
            "the renderer publishes under."), (NULL));
    return NULL;
  }
  return name;
}

gboolean
vizstream_sleep_until (GstObject * object, GCond * cond,
    const gboolean * flushing, gint64 end_us)
{
  gboolean ok;

  GST_OBJECT_LOCK (object);
  while (!*flushing && g_get_monotonic_time () < end_us)
    g_cond_wait_until (cond, GST_OBJECT_GET_LOCK (object), end_us);
  ok = !*flushing;
  GST_OBJECT_UNLOCK (object);
  return ok;
}
