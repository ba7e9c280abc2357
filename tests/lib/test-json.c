/* The JSON event format: what is written, what is read back, and what is
 * refused (and counted) without harm.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <vizstream.h>

#include <glib.h>
#include <string.h>

static VzJsonResult
parse (const gchar * text, VzEvent * out, gsize max)
{
  VzJsonResult res;
  g_assert_cmpint (vz_events_from_json (text, strlen (text), out, max, &res),
      ==, VZ_OK);
  return res;
}

static void
test_roundtrip (void)
{
  VzEvent in[VZ_EVENT_LAST], out[VZ_EVENT_LAST];
  GString *all = g_string_new (NULL);
  VzJsonResult res;

  for (int t = 1; t <= VZ_EVENT_LAST; t++) {
    VzEvent *e = &in[t - 1];
    char json[512];
    memset (e, 0, sizeof *e);
    e->type = t;
    e->x = 12.5;
    e->y = 7;
    e->button = 3;
    e->delta_y = -1.25;
    e->touch_id = 4;
    e->pressure = 0.5;
    e->width = 640;
    e->height = 480;
    e->viewer_id = 9;
    e->modifiers = VZ_MOD_CONTROL | VZ_MOD_BUTTON3;
    g_strlcpy (e->text, t == VZ_EVENT_CUSTOM ? "say \"hi\"\n\\ ünï" :
        "Return", sizeof e->text);
    g_assert_cmpint (vz_event_to_json (e, json, sizeof json), >, 0);
    g_assert_nonnull (strstr (json, "\"modifier_state\":"
            "\"control-mask+button3-mask\""));
    g_string_append_printf (all, "%s\n", json);
  }
  res = parse (all->str, out, G_N_ELEMENTS (out));
  g_assert_cmpuint (res.events, ==, VZ_EVENT_LAST);
  g_assert_cmpuint (res.invalid + res.malformed, ==, 0);
  for (int i = 0; i < VZ_EVENT_LAST; i++) {
    g_assert_cmpint (out[i].type, ==, in[i].type);
    g_assert_cmpuint (out[i].modifiers, ==, in[i].modifiers);
    g_assert_cmpuint (out[i].viewer_id, ==, 9);
    if (in[i].type == VZ_EVENT_KEY_PRESS || in[i].type == VZ_EVENT_CUSTOM)
      g_assert_cmpstr (out[i].text, ==, in[i].text);
    if (in[i].type == VZ_EVENT_POINTER_MOVE)
      g_assert_cmpfloat (out[i].x, ==, 12.5);
  }
  g_assert_cmpfloat (out[VZ_EVENT_WHEEL - 1].delta_y, ==, -1.25);
  g_assert_cmpuint (out[VZ_EVENT_BUTTON_PRESS - 1].button, ==, 3);
  g_assert_cmpuint (out[VZ_EVENT_RESIZE_REQUEST - 1].width, ==, 640);
  g_assert_cmpfloat (out[VZ_EVENT_TOUCH_MOTION - 1].pressure, ==, 0.5);
  g_string_free (all, TRUE);
}

static void
test_liberal_forms (void)
{
  VzEvent out[8];
  VzJsonResult res;

  /* webrtcsink's own messages, no modifier_state. */
  res = parse ("{\"event\":\"MouseMove\",\"x\":1,\"y\":2}", out, 8);
  g_assert_cmpuint (res.events, ==, 1);
  g_assert_cmpuint (out[0].modifiers, ==, 0);
  /* An array in one message, unknown fields and masks ignored. */
  res = parse (" [ {\"event\":\"KeyPress\",\"key\":\"a\",\"extra\":{\"n\":"
      "[1,2,{\"deep\":null}]}}, {\"event\":\"KeyRelease\",\"key\":\"a\","
      "\"modifier_state\":\"lock-mask+shift-mask\"} ] ", out, 8);
  g_assert_cmpuint (res.events, ==, 2);
  g_assert_cmpuint (out[1].modifiers, ==, VZ_MOD_SHIFT);
  /* Newline-delimited, with \u escapes and a surrogate pair. */
  res = parse ("{\"event\":\"Custom\",\"text\":\"\\u00e9\\ud83d\\ude00\"}\n"
      "{\"event\":\"MouseScroll\",\"x\":0,\"y\":0,\"delta_y\":-3e0}\n", out,
      8);
  g_assert_cmpuint (res.events, ==, 2);
  g_assert_cmpstr (out[0].text, ==, "\xc3\xa9\xf0\x9f\x98\x80");
  g_assert_cmpfloat (out[1].delta_y, ==, -3);
  /* A recording's time. */
  res = parse ("{\"event\":\"KeyPress\",\"key\":\"r\",\"time\":1.5}", out,
      8);
  g_assert_cmpuint (out[0].timestamp_ns, ==, 1500000000u);
}

static void
test_refused_and_counted (void)
{
  VzEvent out[8];
  VzJsonResult res;

  /* A broken value costs itself and the rest of the line where the parser
   * noticed (an unfinished object runs on into the next line, as JSON
   * allows): the lines after it are read. */
  res = parse ("{\"event\":\"MouseMove\",\"x\":1,\"y\":2}\n"
      "{\"event\":\"MouseMove\",\"x\":1,\n"
      "not json at all\n"
      "{\"event\":\"KeyPress\",\"key\":\"b\"}\n", out, 8);
  g_assert_cmpuint (res.events, ==, 2);
  g_assert_cmpuint (res.malformed, ==, 1);
  g_assert_nonnull (strstr (res.last_error, "malformed JSON"));
  g_assert_cmpstr (out[1].text, ==, "b");

  /* Well-formed but not events. */
  res = parse ("{\"x\":1}\n"
      "{\"event\":\"Teleport\"}\n"
      "{\"event\":\"MouseMove\",\"x\":\"1\",\"y\":2}\n"
      "{\"event\":\"MouseMove\",\"x\":1}\n"
      "{\"event\":\"MouseButtonPress\",\"button\":0,\"x\":1,\"y\":1}\n"
      "{\"event\":\"MouseButtonPress\",\"button\":1.5,\"x\":1,\"y\":1}\n"
      "{\"event\":\"KeyPress\"}\n"
      "{\"event\":\"ResizeRequest\",\"width\":0,\"height\":10}\n"
      "{\"event\":\"TouchDown\",\"x\":1,\"y\":1}\n", out, 8);
  g_assert_cmpuint (res.events, ==, 0);
  g_assert_cmpuint (res.invalid, ==, 9);

  /* Oversized strings, numbers out of range, bad escapes, deep nesting. */
  {
    GString *s = g_string_new ("{\"event\":\"KeyPress\",\"key\":\"");
    for (int i = 0; i < 300; i++)
      g_string_append_c (s, 'k');
    g_string_append (s, "\"}\n{\"event\":\"MouseMove\",\"x\":1e999,\"y\":0}\n"
        "{\"event\":\"Custom\",\"text\":\"\\ud800\"}\n"
        "{\"event\":\"Custom\",\"text\":\"\\u0000\"}\n"
        "{\"event\":\"MouseMove\",\"x\":01,\"y\":0}\n");
    for (int i = 0; i < 100; i++)
      g_string_append_c (s, '[');
    g_string_append (s, "\n");
    res = parse (s->str, out, 8);
    g_assert_cmpuint (res.events, ==, 0);
    g_assert_cmpuint (res.invalid + res.malformed, ==, 6);
    g_string_free (s, TRUE);
  }

  /* More events than room: counted, not written past max. */
  res = parse ("[{\"event\":\"KeyPress\",\"key\":\"a\"},"
      "{\"event\":\"KeyPress\",\"key\":\"b\"},"
      "{\"event\":\"KeyPress\",\"key\":\"c\"}]", out, 2);
  g_assert_cmpuint (res.events, ==, 2);
  g_assert_cmpuint (res.overflow, ==, 1);

  /* Nothing at all is fine; text without a NUL is read by length only. */
  res = parse ("  \n ", out, 8);
  g_assert_cmpuint (res.events + res.malformed, ==, 0);
  {
    const char raw[] = "{\"event\":\"KeyPress\",\"key\":\"a\"}XXXX";
    g_assert_cmpint (vz_events_from_json (raw, 31, out, 8, &res), ==, VZ_OK);
    g_assert_cmpuint (res.events, ==, 1);
    g_assert_cmpint (vz_events_from_json (raw, 20, out, 8, &res), ==, VZ_OK);
    g_assert_cmpuint (res.malformed, ==, 1);
  }
}

/* Regressions from fuzz-json (tests/fuzz): each input that once crashed. */
static void
test_fuzz_regressions (void)
{
  /* Huge coordinates were converted to long long before the range check
   * when written back (undefined behaviour). */
  VzEvent out[2];
  VzJsonResult res;
  char json[512];

  res = parse ("{\"event\":\"TouchDown\",\"identifier\":2,\"x\":5"
      "1111111111111111111111111111,\"y\":2,\"pressure\":5.5}", out, 2);
  g_assert_cmpuint (res.events, ==, 1);
  g_assert_cmpfloat (out[0].pressure, ==, 1.0);        /* clamped */
  g_assert_cmpint (vz_event_to_json (&out[0], json, sizeof json), >, 0);
  res = parse (json, out + 1, 1);
  g_assert_cmpuint (res.events, ==, 1);
  g_assert_cmpfloat (out[1].x, ==, out[0].x);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/json/roundtrip", test_roundtrip);
  g_test_add_func ("/json/liberal-forms", test_liberal_forms);
  g_test_add_func ("/json/refused-and-counted", test_refused_and_counted);
  g_test_add_func ("/json/fuzz-regressions", test_fuzz_regressions);
  return g_test_run ();
}
