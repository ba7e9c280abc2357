/* GstHarness tests for interactsink: every event type into the renderer's
 * queue, messages and split lines, malformed and oversized input dropped
 * and counted, the renderer absent and back, coordinates, motion rate,
 * the input policy (allowed-events).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <string.h>
#include <unistd.h>

#include <vizstream.h>
#include "vz-check.h"
/* The flag values a server computes its mask with (not on the include
 * path of the suites: the header is the plugin's). */
#include "gstinteractsink.h"

static VzWriter *
make_writer (const gchar * name)
{
  VzWriterConfig c = {.max_width = 200,.max_height = 100,.format =
        VZ_FORMAT_RGBA
  };
  VzWriter *w = NULL;
  VzFrame f;
  fail_unless_equals_int (vz_writer_create (name, &c, &w), VZ_OK);
  /* One frame, so that normalized coordinates have a size to map to. */
  fail_unless_equals_int (vz_writer_acquire (w, &f), VZ_OK);
  fail_unless_equals_int (vz_writer_publish (w, &f, 0, 0), VZ_OK);
  return w;
}

/* The element is configured before the harness starts it (start() copies
 * the properties). Extra property name/value pairs, NULL-terminated. */
static GstHarness *
make_harness (const gchar * segment, GstBus ** bus, ...)
{
  GstElement *e = gst_element_factory_make ("interactsink", NULL);
  GstHarness *h;
  va_list ap;
  const gchar *first;

  fail_unless (e != NULL);
  g_object_set (e, "segment", segment, NULL);
  va_start (ap, bus);
  first = va_arg (ap, const gchar *);
  if (first)
    g_object_set_valist (G_OBJECT (e), first, ap);
  va_end (ap);
  if (bus) {
    *bus = gst_bus_new ();
    gst_element_set_bus (e, *bus);
  }
  h = gst_harness_new_with_element (e, "sink", NULL);
  gst_object_unref (e);
  gst_harness_set_src_caps_str (h, "application/x-json");
  return h;
}

static void
push_text (GstHarness * h, const gchar * text)
{
  fail_unless_equals_int (gst_harness_push (h,
          gst_buffer_new_memdup (text, strlen (text))), GST_FLOW_OK);
}

static guint64
stat_u64 (GstHarness * h, const gchar * field)
{
  GstStructure *s = NULL;
  guint64 v = 0;
  g_object_get (h->element, "stats", &s, NULL);
  fail_unless (gst_structure_get_uint64 (s, field, &v));
  gst_structure_free (s);
  return v;
}

static int
poll_all (VzWriter * w, VzEvent * out, int max)
{
  int n = vz_writer_poll_events (w, out, max);
  fail_unless (n >= 0);
  return n;
}

/* One message per event type, in VzEventType order (msgs[i] is type
 * i + 1). */
static const gchar *msgs[] = {
  "{\"event\":\"MouseMove\",\"x\":10,\"y\":20,\"modifier_state\":\"shift-mask\"}",
  "{\"event\":\"MouseButtonPress\",\"button\":1,\"x\":11,\"y\":21}",
  "{\"event\":\"MouseButtonRelease\",\"button\":1,\"x\":12,\"y\":22}",
  "{\"event\":\"MouseScroll\",\"x\":1,\"y\":2,\"delta_x\":0.5,\"delta_y\":-1}",
  "{\"event\":\"KeyPress\",\"key\":\"Return\",\"modifier_state\":\"control-mask+mod1-mask\"}",
  "{\"event\":\"KeyRelease\",\"key\":\"Return\"}",
  "{\"event\":\"TouchDown\",\"identifier\":3,\"x\":5,\"y\":6,\"pressure\":0.5}",
  "{\"event\":\"TouchMotion\",\"identifier\":3,\"x\":7,\"y\":8,\"pressure\":0.6}",
  "{\"event\":\"TouchUp\",\"identifier\":3,\"x\":9,\"y\":10}",
  "{\"event\":\"ResizeRequest\",\"width\":160,\"height\":90}",
  "{\"event\":\"Custom\",\"text\":\"hello\",\"viewer_id\":7}",
};

G_STATIC_ASSERT (G_N_ELEMENTS (msgs) == VZ_EVENT_LAST);

GST_START_TEST (test_every_event_type)
{
  gchar *name = unique_name ("vz-isink");
  VzWriter *w = make_writer (name);
  GstHarness *h = make_harness (name, NULL, "viewer-id", 5, NULL);
  VzEvent out[32];

  for (guint i = 0; i < G_N_ELEMENTS (msgs); i++)
    push_text (h, msgs[i]);
  fail_unless_equals_int (poll_all (w, out, 32), (int) G_N_ELEMENTS (msgs));
  for (int i = 0; i < (int) G_N_ELEMENTS (msgs); i++)
    fail_unless_equals_int (out[i].type, i + 1);
  fail_unless_equals_float (out[0].x, 10);
  fail_unless_equals_int (out[0].modifiers, VZ_MOD_SHIFT);
  fail_unless_equals_int (out[1].button, 1);
  fail_unless_equals_float (out[3].delta_x, 0.5);
  fail_unless_equals_string (out[4].text, "Return");
  fail_unless_equals_int (out[4].modifiers, VZ_MOD_CONTROL | VZ_MOD_ALT);
  fail_unless_equals_int (out[7].touch_id, 3);
  fail_unless_equals_int (out[9].width, 160);
  fail_unless_equals_string (out[10].text, "hello");
  /* viewer-id fills in where the message says nothing. */
  fail_unless_equals_int (out[0].viewer_id, 5);
  fail_unless_equals_int (out[10].viewer_id, 7);
  fail_unless_equals_uint64 (stat_u64 (h, "events-sent"), 11);
  gst_harness_teardown (h);
  vz_writer_close (w);
  g_free (name);
}

GST_END_TEST;

GST_START_TEST (test_arrays_and_split_lines)
{
  gchar *name = unique_name ("vz-isink");
  VzWriter *w = make_writer (name);
  GstHarness *h = make_harness (name, NULL, NULL);
  const gchar *stream = "{\"event\":\"KeyPress\",\"key\":\"a\"}\n"
      "{\"event\":\"KeyPress\",\"key\":\"b\"}\n{\"event\":\"KeyPress\","
      "\"key\":\"c\"}\n{\"event\":\"KeyPress\",\"key\":\"d\"}";
  VzEvent out[16];
  gsize len = strlen (stream);

  push_text (h, "[{\"event\":\"KeyPress\",\"key\":\"x\"},"
      "{\"event\":\"KeyRelease\",\"key\":\"x\"}]");
  fail_unless_equals_int (poll_all (w, out, 16), 2);
  /* A stream of lines cut at odd places, the last one without newline. */
  for (gsize off = 0; off < len; off += 7) {
    gsize n = MIN (7, len - off);
    fail_unless_equals_int (gst_harness_push (h,
            gst_buffer_new_memdup (stream + off, n)), GST_FLOW_OK);
  }
  fail_unless_equals_int (poll_all (w, out, 16), 3);
  gst_harness_push_event (h, gst_event_new_eos ());
  fail_unless_equals_int (poll_all (w, out, 16), 1);
  fail_unless_equals_string (out[0].text, "d");
  gst_harness_teardown (h);
  vz_writer_close (w);
  g_free (name);
}

GST_END_TEST;

static gint
count_warnings (GstBus * bus)
{
  gint n = 0;
  GstMessage *m;
  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING))) {
    n++;
    gst_message_unref (m);
  }
  return n;
}

GST_START_TEST (test_bad_input_dropped_and_counted)
{
  gchar *name = unique_name ("vz-isink");
  VzWriter *w = make_writer (name);
  GstBus *bus;
  GstHarness *h = make_harness (name, &bus, "max-message-size", 1024, NULL);
  GString *big = g_string_new ("{\"event\":\"Custom\",\"text\":\"");
  VzEvent out[8];

  push_text (h, "{\"event\":\"MouseMove\",\"x\":1,");   /* broken */
  push_text (h, "{\"event\":\"KeyPress\",\"key\":\"ok1\"}");
  push_text (h, "{\"event\":\"Fly\",\"x\":1}");
  push_text (h, "[1, 2, {\"event\":\"KeyPress\"}]");       /* not objects */
  push_text (h, "{\"event\":\"KeyPress\"}");    /* no key */
  while (big->len < 2000)
    g_string_append (big, "aaaaaaaaaa");
  g_string_append (big, "\"}");
  push_text (h, big->str);
  push_text (h, "{\"event\":\"KeyPress\",\"key\":\"ok2\"}");
  gst_harness_push_event (h, gst_event_new_eos ());

  fail_unless_equals_int (poll_all (w, out, 8), 2);
  fail_unless_equals_string (out[0].text, "ok1");
  fail_unless_equals_string (out[1].text, "ok2");
  fail_unless_equals_uint64 (stat_u64 (h, "malformed"), 2);
  fail_unless_equals_uint64 (stat_u64 (h, "invalid"), 2);
  fail_unless_equals_uint64 (stat_u64 (h, "oversized"), 1);
  fail_unless (count_warnings (bus) >= 3);
  g_string_free (big, TRUE);
  gst_harness_teardown (h);
  vz_writer_close (w);
  /* queued messages hold the element: drop them */
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
  g_free (name);
}

GST_END_TEST;

GST_START_TEST (test_absent_renderer_drop)
{
  gchar *name = unique_name ("vz-isink");
  GstHarness *h = make_harness (name, NULL, NULL);
  VzWriter *w;
  VzEvent out[8];

  push_text (h, "{\"event\":\"KeyPress\",\"key\":\"lost\"}");
  fail_unless_equals_uint64 (stat_u64 (h, "events-dropped"), 1);
  w = make_writer (name);
  push_text (h, "{\"event\":\"KeyPress\",\"key\":\"seen\"}");
  fail_unless_equals_int (poll_all (w, out, 8), 1);
  fail_unless_equals_string (out[0].text, "seen");
  /* The renderer goes and a new one comes: events follow it. */
  vz_writer_close (w);
  g_usleep (150 * 1000);
  w = make_writer (name);
  push_text (h, "{\"event\":\"KeyPress\",\"key\":\"again\"}");
  fail_unless_equals_int (poll_all (w, out, 8), 1);
  fail_unless_equals_string (out[0].text, "again");
  gst_harness_teardown (h);
  vz_writer_close (w);
  g_free (name);
}

GST_END_TEST;

typedef struct
{
  GstHarness *h;
  GstFlowReturn ret;
} PushJob;

static gpointer
push_in_thread (gpointer data)
{
  PushJob *job = data;
  const gchar *t = "{\"event\":\"KeyPress\",\"key\":\"waited\"}";
  job->ret = gst_harness_push (job->h, gst_buffer_new_memdup (t, strlen (t)));
  return NULL;
}

GST_START_TEST (test_absent_renderer_wait)
{
  gchar *name = unique_name ("vz-isink");
  GstHarness *h = make_harness (name, NULL, "when-absent", 1 /* wait */ ,
      NULL);
  PushJob job = { h, GST_FLOW_ERROR };
  GThread *t;
  VzWriter *w;
  VzEvent out[8];
  gint64 t0;

  t = g_thread_new ("push", push_in_thread, &job);
  g_usleep (200 * 1000);
  w = make_writer (name);
  g_thread_join (t);
  fail_unless_equals_int (job.ret, GST_FLOW_OK);
  fail_unless_equals_int (poll_all (w, out, 8), 1);
  fail_unless_equals_string (out[0].text, "waited");
  vz_writer_close (w);

  /* Waiting for a renderer that never comes must not hold up a stop. */
  t = g_thread_new ("push", push_in_thread, &job);
  g_usleep (200 * 1000);
  t0 = g_get_monotonic_time ();
  gst_element_set_state (h->element, GST_STATE_NULL);
  g_thread_join (t);
  fail_unless (g_get_monotonic_time () - t0 < slack (500 * 1000));
  fail_unless_equals_int (job.ret, GST_FLOW_FLUSHING);
  gst_harness_teardown (h);
  g_free (name);
}

GST_END_TEST;

GST_START_TEST (test_normalized_coordinates)
{
  gchar *name = unique_name ("vz-isink");
  VzWriter *w = make_writer (name);
  GstHarness *h = make_harness (name, NULL, "coordinates", 1 /* normalized */ ,
      NULL);
  VzEvent out[4];

  push_text (h, "{\"event\":\"MouseMove\",\"x\":0.5,\"y\":0.25}");
  fail_unless_equals_int (poll_all (w, out, 4), 1);
  fail_unless_equals_float (out[0].x, 100);     /* 200 x 100 frame */
  fail_unless_equals_float (out[0].y, 25);
  gst_harness_teardown (h);
  vz_writer_close (w);
  g_free (name);
}

GST_END_TEST;

GST_START_TEST (test_motion_rate)
{
  gchar *name = unique_name ("vz-isink");
  VzWriter *w = make_writer (name);
  GstHarness *h = make_harness (name, NULL, "motion-rate", 10, NULL);
  VzEvent out[32];

  for (int i = 0; i < 20; i++) {
    gchar *m = g_strdup_printf ("{\"event\":\"MouseMove\",\"x\":%d,\"y\":0}",
        i);
    push_text (h, m);
    g_free (m);
  }
  push_text (h, "{\"event\":\"MouseButtonRelease\",\"button\":1,\"x\":19,"
      "\"y\":0}");
  /* The first motion, the newest one before the release, the release. */
  fail_unless_equals_int (poll_all (w, out, 32), 3);
  fail_unless_equals_float (out[0].x, 0);
  fail_unless_equals_float (out[1].x, 19);
  fail_unless_equals_int (out[2].type, VZ_EVENT_BUTTON_RELEASE);
  fail_unless_equals_uint64 (stat_u64 (h, "motion-coalesced"), 18);
  gst_harness_teardown (h);
  vz_writer_close (w);
  g_free (name);
}

GST_END_TEST;

/* ---- the input policy: allowed-events ---- */

/* The flags type a server relies on: registered under its name, one flag
 * per event type with the name of docs/events.md as nick, each
 * 1 << (VzEventType - 1); the string form works (gst-launch). */
GST_START_TEST (test_allowed_events_flags)
{
  static const gchar *nicks[] = { "mouse-move", "mouse-button-press",
    "mouse-button-release", "mouse-scroll", "key-press", "key-release",
    "touch-down", "touch-motion", "touch-up", "resize-request", "custom"
  };
  static const guint header[] = { GST_INTERACT_SINK_EVENT_MOUSE_MOVE,
    GST_INTERACT_SINK_EVENT_MOUSE_BUTTON_PRESS,
    GST_INTERACT_SINK_EVENT_MOUSE_BUTTON_RELEASE,
    GST_INTERACT_SINK_EVENT_MOUSE_SCROLL, GST_INTERACT_SINK_EVENT_KEY_PRESS,
    GST_INTERACT_SINK_EVENT_KEY_RELEASE, GST_INTERACT_SINK_EVENT_TOUCH_DOWN,
    GST_INTERACT_SINK_EVENT_TOUCH_MOTION, GST_INTERACT_SINK_EVENT_TOUCH_UP,
    GST_INTERACT_SINK_EVENT_RESIZE_REQUEST, GST_INTERACT_SINK_EVENT_CUSTOM
  };
  GstElement *e = gst_element_factory_make ("interactsink", NULL);
  GParamSpec *pspec;
  GFlagsClass *fc;
  GType t;
  guint mask = 0;

  fail_unless (e != NULL);
  t = g_type_from_name (GST_INTERACT_SINK_EVENTS_TYPE_NAME);
  fail_unless (t != 0 && G_TYPE_IS_FLAGS (t));
  pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (e),
      "allowed-events");
  fail_unless (pspec != NULL && G_PARAM_SPEC_VALUE_TYPE (pspec) == t);
  fail_unless_equals_int (G_PARAM_SPEC_FLAGS (pspec)->default_value,
      GST_INTERACT_SINK_EVENTS_ALL);
  fail_unless (pspec->flags & GST_PARAM_MUTABLE_PLAYING);
  fc = g_type_class_ref (t);
  fail_unless_equals_int (fc->n_values, VZ_EVENT_LAST);
  fail_unless_equals_int (fc->mask, GST_INTERACT_SINK_EVENTS_ALL);
  for (guint i = 0; i < G_N_ELEMENTS (nicks); i++) {
    GFlagsValue *v = g_flags_get_value_by_nick (fc, nicks[i]);
    fail_unless (v != NULL, "no flag %s", nicks[i]);
    fail_unless_equals_int (v->value, header[i]);
    fail_unless_equals_int (v->value,
        GST_INTERACT_SINK_EVENT_FROM_VZ (VZ_EVENT_POINTER_MOVE + i));
  }
  g_type_class_unref (fc);

  g_object_get (e, "allowed-events", &mask, NULL);
  fail_unless_equals_int (mask, GST_INTERACT_SINK_EVENTS_ALL);
  gst_util_set_object_arg (G_OBJECT (e), "allowed-events",
      "key-press+resize-request");
  g_object_get (e, "allowed-events", &mask, NULL);
  fail_unless_equals_int (mask, GST_INTERACT_SINK_EVENT_KEY_PRESS |
      GST_INTERACT_SINK_EVENT_RESIZE_REQUEST);
  /* as a server sets it: a guint computed from VzEventType */
  g_object_set (e, "allowed-events",
      GST_INTERACT_SINK_EVENT_FROM_VZ (VZ_EVENT_CUSTOM), NULL);
  g_object_get (e, "allowed-events", &mask, NULL);
  fail_unless_equals_int (mask, GST_INTERACT_SINK_EVENT_CUSTOM);
  gst_object_unref (e);
}

GST_END_TEST;

/* Every event type through the filter allowing all, then with
 * resize-request left out: only the ResizeRequest is dropped, and counted
 * as refused, with no warning. */
GST_START_TEST (test_allowed_events_every_type)
{
  const guint masks[] = { GST_INTERACT_SINK_EVENTS_ALL,
    GST_INTERACT_SINK_EVENTS_ALL & ~GST_INTERACT_SINK_EVENT_RESIZE_REQUEST
  };

  for (guint m = 0; m < G_N_ELEMENTS (masks); m++) {
    gchar *name = unique_name ("vz-isink");
    VzWriter *w = make_writer (name);
    GstBus *bus;
    GstHarness *h = make_harness (name, &bus, "allowed-events", masks[m],
        NULL);
    gboolean all = masks[m] == GST_INTERACT_SINK_EVENTS_ALL;
    VzEvent out[32];
    int n, expect_type = 0;

    for (guint i = 0; i < G_N_ELEMENTS (msgs); i++)
      push_text (h, msgs[i]);
    n = poll_all (w, out, 32);
    fail_unless_equals_int (n, all ? VZ_EVENT_LAST : VZ_EVENT_LAST - 1);
    for (int i = 0; i < n; i++) {
      expect_type++;
      if (expect_type == VZ_EVENT_RESIZE_REQUEST && !all)
        expect_type++;
      fail_unless_equals_int (out[i].type, expect_type);
    }
    fail_unless_equals_uint64 (stat_u64 (h, "events-sent"), n);
    fail_unless_equals_uint64 (stat_u64 (h, "refused"), all ? 0 : 1);
    fail_unless_equals_uint64 (stat_u64 (h, "invalid"), 0);
    fail_unless_equals_int (count_warnings (bus), 0);
    fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR) == NULL);
    gst_harness_teardown (h);
    vz_writer_close (w);
    gst_bus_set_flushing (bus, TRUE);
    gst_object_unref (bus);
    g_free (name);
  }
}

GST_END_TEST;

/* The filter looks at the parsed event, not at the text: a name written
 * with a JSON escape is the same ResizeRequest. The policy changes while
 * playing. */
GST_START_TEST (test_allowed_events_escaped_name)
{
  const gchar *escaped =
      "{\"event\":\"\\u0052esizeRequest\",\"width\":210,\"height\":160}";
  gchar *name = unique_name ("vz-isink");
  VzWriter *w = make_writer (name);
  GstHarness *h = make_harness (name, NULL, "allowed-events",
      GST_INTERACT_SINK_EVENTS_ALL & ~GST_INTERACT_SINK_EVENT_RESIZE_REQUEST,
      NULL);
  VzEvent out[8];

  push_text (h, escaped);
  push_text (h, "{\"event\":\"ResizeRequest\",\"width\":220,\"height\":170}");
  push_text (h, "{\"event\":\"KeyPress\",\"key\":\"a\"}");
  fail_unless_equals_int (poll_all (w, out, 8), 1);
  fail_unless_equals_int (out[0].type, VZ_EVENT_KEY_PRESS);
  fail_unless_equals_uint64 (stat_u64 (h, "refused"), 2);
  fail_unless_equals_uint64 (stat_u64 (h, "invalid"), 0);
  fail_unless_equals_uint64 (stat_u64 (h, "malformed"), 0);

  g_object_set (h->element, "allowed-events",
      GST_INTERACT_SINK_EVENT_RESIZE_REQUEST, NULL);
  push_text (h, escaped);
  push_text (h, "{\"event\":\"KeyPress\",\"key\":\"b\"}");
  fail_unless_equals_int (poll_all (w, out, 8), 1);
  fail_unless_equals_int (out[0].type, VZ_EVENT_RESIZE_REQUEST);
  fail_unless_equals_int (out[0].width, 210);
  fail_unless_equals_int (out[0].height, 160);
  fail_unless_equals_uint64 (stat_u64 (h, "refused"), 3);
  fail_unless_equals_uint64 (stat_u64 (h, "events-sent"), 2);
  gst_harness_teardown (h);
  vz_writer_close (w);
  g_free (name);
}

GST_END_TEST;

/* A mask allowing nothing: nothing reaches the renderer, every event is
 * counted as refused, and nothing is an error or a warning. */
GST_START_TEST (test_allowed_events_none)
{
  gchar *name = unique_name ("vz-isink");
  VzWriter *w = make_writer (name);
  GstBus *bus;
  GstHarness *h = make_harness (name, &bus, "allowed-events", 0, NULL);
  GString *lines = g_string_new (NULL);
  VzEvent out[32];

  for (guint i = 0; i < G_N_ELEMENTS (msgs); i++)
    push_text (h, msgs[i]);
  /* the same as a stream of lines and as an array */
  for (guint i = 0; i < G_N_ELEMENTS (msgs); i++)
    g_string_append_printf (lines, "%s\n", msgs[i]);
  push_text (h, lines->str);
  push_text (h, "[{\"event\":\"KeyPress\",\"key\":\"x\"},"
      "{\"event\":\"KeyRelease\",\"key\":\"x\"}]");
  gst_harness_push_event (h, gst_event_new_eos ());
  fail_unless_equals_int (poll_all (w, out, 32), 0);
  fail_unless_equals_uint64 (stat_u64 (h, "events-sent"), 0);
  fail_unless_equals_uint64 (stat_u64 (h, "refused"),
      2 * G_N_ELEMENTS (msgs) + 2);
  fail_unless_equals_int (count_warnings (bus), 0);
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR) == NULL);
  g_string_free (lines, TRUE);
  gst_harness_teardown (h);
  vz_writer_close (w);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
  g_free (name);
}

GST_END_TEST;

/* Motion held back by motion-rate is refused when mouse-move stops being
 * allowed before it goes out. */
GST_START_TEST (test_allowed_events_held_motion)
{
  gchar *name = unique_name ("vz-isink");
  VzWriter *w = make_writer (name);
  GstHarness *h = make_harness (name, NULL, "motion-rate", 1, NULL);
  VzEvent out[8];

  push_text (h, "{\"event\":\"MouseMove\",\"x\":1,\"y\":0}");
  push_text (h, "{\"event\":\"MouseMove\",\"x\":2,\"y\":0}");  /* held */
  g_object_set (h->element, "allowed-events",
      GST_INTERACT_SINK_EVENTS_ALL & ~GST_INTERACT_SINK_EVENT_MOUSE_MOVE,
      NULL);
  push_text (h, "{\"event\":\"MouseButtonPress\",\"button\":1,\"x\":2,"
      "\"y\":0}");
  fail_unless_equals_int (poll_all (w, out, 8), 2);
  fail_unless_equals_int (out[0].type, VZ_EVENT_POINTER_MOVE);
  fail_unless_equals_float (out[0].x, 1);
  fail_unless_equals_int (out[1].type, VZ_EVENT_BUTTON_PRESS);
  fail_unless_equals_uint64 (stat_u64 (h, "refused"), 1);
  gst_harness_teardown (h);
  vz_writer_close (w);
  g_free (name);
}

GST_END_TEST;

static Suite *
interactsink_suite (void)
{
  Suite *s = suite_create ("interactsink");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_every_event_type);
  tcase_add_test (tc, test_arrays_and_split_lines);
  tcase_add_test (tc, test_bad_input_dropped_and_counted);
  tcase_add_test (tc, test_absent_renderer_drop);
  tcase_add_test (tc, test_absent_renderer_wait);
  tcase_add_test (tc, test_normalized_coordinates);
  tcase_add_test (tc, test_motion_rate);
  tcase_add_test (tc, test_allowed_events_flags);
  tcase_add_test (tc, test_allowed_events_every_type);
  tcase_add_test (tc, test_allowed_events_escaped_name);
  tcase_add_test (tc, test_allowed_events_none);
  tcase_add_test (tc, test_allowed_events_held_motion);
  return s;
}

GST_CHECK_MAIN (interactsink);
