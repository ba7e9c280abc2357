/* What the element suites share.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <gst/gst.h>
#include <unistd.h>

/* Timing bounds stretch by VZ_TEST_TIME_SCALE (the valgrind and sanitizer
 * runs set it): there everything is many times slower, and a failed check
 * in one-process mode would leave its pipeline running. */
static inline gint64
slack (gint64 v)
{
  const gchar *s = g_getenv ("VZ_TEST_TIME_SCALE");
  gint64 k = s ? g_ascii_strtoll (s, NULL, 10) : 1;
  return v * MAX (k, 1);
}

/* A segment name no other test (or process) uses. */
static inline gchar *
unique_name (const gchar * prefix)
{
  static gint counter;
  return g_strdup_printf ("%s-%d-%d", prefix, (int) getpid (),
      g_atomic_int_add (&counter, 1));
}

/* "message | debug" of the next error or warning on the bus (NULL when
 * none comes within timeout); free it. */
static inline gchar *
pop_message_text (GstBus * bus, GstMessageType type, GstClockTime timeout)
{
  GstMessage *m = gst_bus_timed_pop_filtered (bus, timeout, type);
  GError *err = NULL;
  gchar *dbg = NULL, *text;

  if (m == NULL)
    return NULL;
  if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR)
    gst_message_parse_error (m, &err, &dbg);
  else
    gst_message_parse_warning (m, &err, &dbg);
  text = g_strdup_printf ("%s | %s", err->message, dbg ? dbg : "");
  GST_INFO ("%s: %s", GST_MESSAGE_TYPE_NAME (m), text);
  g_error_free (err);
  g_free (dbg);
  gst_message_unref (m);
  return text;
}
