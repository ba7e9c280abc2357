/* What the element suites share. */
#ifndef VZ_CHECK_H
#define VZ_CHECK_H

#include <glib.h>
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

#endif
