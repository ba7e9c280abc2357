/* Unit tests: the messages pages send, on the WebSocket and on the data
 * channel, and the pong the server builds (server/vs-signal.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <locale.h>
#include <string.h>
#include <gio/gio.h>
#include "vs-signal.h"

static gboolean
parse (const gchar * text, VsSignalSource src, VsSignal * sig, gchar ** why)
{
  GError *err = NULL;
  gboolean ok = vs_signal_parse (text, strlen (text), src, sig, &err);

  g_assert_true (ok == (err == NULL));
  if (why)
    *why = err ? g_strdup (err->message) : NULL;
  g_clear_error (&err);
  return ok;
}

static void
refused (const gchar * text, VsSignalSource src, const gchar * part)
{
  VsSignal sig;
  gchar *why = NULL;

  if (parse (text, src, &sig, &why))
    g_error ("'%s' was accepted", text);
  if (!strstr (why, part))
    g_error ("'%s': '%s' does not say '%s'", text, why, part);
  g_free (why);
}

static void
test_websocket_messages (void)
{
  VsSignal sig;

  g_assert_true (parse ("{\"type\":\"hello\",\"token\":\"t\",\"view_only\":"
          "true,\"transport\":\"ws\"}", VS_SIGNAL_FROM_WEBSOCKET, &sig, NULL));
  g_assert_cmpint (sig.type, ==, VS_SIGNAL_HELLO);
  g_assert_cmpstr (sig.token, ==, "t");
  g_assert_true (sig.view_only);
  g_assert_cmpstr (sig.transport, ==, "ws");
  vs_signal_clear (&sig);
  g_assert_true (parse ("{\"type\":\"hello\"}", VS_SIGNAL_FROM_WEBSOCKET,
          &sig, NULL));
  g_assert_cmpstr (sig.transport, ==, "webrtc");
  g_assert_null (sig.h264_main);
  vs_signal_clear (&sig);
  g_assert_true (parse ("{\"type\":\"ice\",\"candidate\":\"c\","
          "\"sdpMLineIndex\":0}", VS_SIGNAL_FROM_WEBSOCKET, &sig, NULL));
  g_assert_cmpstr (sig.candidate, ==, "c");
  vs_signal_clear (&sig);
  g_assert_true (parse ("{\"type\":\"ack\",\"n\":7}", VS_SIGNAL_FROM_WEBSOCKET,
          &sig, NULL));
  g_assert_cmpuint (sig.n, ==, 7);
  vs_signal_clear (&sig);
  /* The input's data is text: an escaped event name stays escaped here;
   * the input policy works on parsed events (vs-input.c). */
  g_assert_true (parse ("{\"type\":\"input\",\"data\":\"{\\\"event\\\":"
          "\\\"\\\\u0052esizeRequest\\\"}\"}", VS_SIGNAL_FROM_WEBSOCKET, &sig,
          NULL));
  g_assert_cmpstr (sig.data, ==, "{\"event\":\"\\u0052esizeRequest\"}");
  vs_signal_clear (&sig);
  g_assert_true (parse ("{\"type\":\"ping\",\"t\":12.5}",
          VS_SIGNAL_FROM_WEBSOCKET, &sig, NULL));
  g_assert_cmpfloat (sig.t, ==, 12.5);
  vs_signal_clear (&sig);
}

/* hello's "h264": the profile-level-id to offer for Main, or none. */
static void
test_hello_h264_profiles (void)
{
  static const struct
  {
    const gchar *list;
    const gchar *main;
  } cases[] = {
    /* Debian's Chromium: Main, no High */
    {"[\"42001f\",\"42e01f\",\"4d001f\",\"f4001f\"]", "4d001f"},
    /* a browser with Constrained High and no Main: High decodes Main */
    {"[\"42e01f\",\"640C1F\"]", "640c1f"},
    {"[\"64001f\",\"4D401F\"]", "4d001f"},
    {"[\"42e01f\",\"42001f\"]", NULL},  /* Firefox */
    {"[]", NULL},
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    VsSignal sig;
    gchar *text = g_strdup_printf ("{\"type\":\"hello\",\"h264\":%s}",
        cases[i].list);

    g_assert_true (parse (text, VS_SIGNAL_FROM_WEBSOCKET, &sig, NULL));
    g_assert_cmpstr (sig.h264_main, ==, cases[i].main);
    vs_signal_clear (&sig);
    g_free (text);
  }
  refused ("{\"type\":\"hello\",\"h264\":\"4d001f\"}",
      VS_SIGNAL_FROM_WEBSOCKET, "h264 is a list of profile-level-ids");
  refused ("{\"type\":\"hello\",\"h264\":[\"4d001\"]}",
      VS_SIGNAL_FROM_WEBSOCKET, "h264 is a list");
  refused ("{\"type\":\"hello\",\"h264\":[\"4d001g\"]}",
      VS_SIGNAL_FROM_WEBSOCKET, "h264 is a list");
  refused ("{\"type\":\"hello\",\"h264\":[4]}",
      VS_SIGNAL_FROM_WEBSOCKET, "h264 is a list");
  {
    GString *many = g_string_new ("{\"type\":\"hello\",\"h264\":[");
    for (guint i = 0; i < 65; i++)
      g_string_append_printf (many, "%s\"42e01f\"", i ? "," : "");
    g_string_append (many, "]}");
    refused (many->str, VS_SIGNAL_FROM_WEBSOCKET, "h264 is a list");
    g_string_free (many, TRUE);
  }
}

static void
test_websocket_refusals (void)
{
  refused ("{", VS_SIGNAL_FROM_WEBSOCKET, "malformed JSON");
  refused ("[1]", VS_SIGNAL_FROM_WEBSOCKET, "JSON object");
  refused ("{\"type\":3}", VS_SIGNAL_FROM_WEBSOCKET, "JSON object");
  refused ("{\"type\":\"hello\",\"transport\":\"carrier-pigeon\"}",
      VS_SIGNAL_FROM_WEBSOCKET, "transport");
  refused ("{\"type\":\"answer\",\"sdp\":5}", VS_SIGNAL_FROM_WEBSOCKET,
      "no sdp");
  refused ("{\"type\":\"ice\",\"candidate\":\"c\",\"sdpMLineIndex\":99}",
      VS_SIGNAL_FROM_WEBSOCKET, "sdpMLineIndex");
  refused ("{\"type\":\"ack\",\"n\":-1}", VS_SIGNAL_FROM_WEBSOCKET, "wants n");
  refused ("{\"type\":\"input\"}", VS_SIGNAL_FROM_WEBSOCKET, "wants data");
  /* Channel messages and the test hook are not signalling. */
  refused ("{\"type\":\"timing\",\"on\":true}", VS_SIGNAL_FROM_WEBSOCKET,
      "unknown message type 'timing'");
  refused ("{\"type\":\"test_error\"}", VS_SIGNAL_FROM_WEBSOCKET,
      "unknown message type");
}

static void
test_channel_messages (void)
{
  VsSignal sig;

  g_assert_true (parse ("{\"type\":\"timing\",\"on\":true}",
          VS_SIGNAL_FROM_CHANNEL, &sig, NULL));
  g_assert_cmpint (sig.type, ==, VS_SIGNAL_TIMING);
  g_assert_true (sig.on);
  vs_signal_clear (&sig);
  /* A wrong type is no value, never a json-glib critical. */
  g_assert_true (parse ("{\"type\":\"timing\",\"on\":\"yes\"}",
          VS_SIGNAL_FROM_CHANNEL, &sig, NULL));
  g_assert_false (sig.on);
  vs_signal_clear (&sig);
  g_assert_true (parse ("{\"type\":\"keyframe\"}", VS_SIGNAL_FROM_CHANNEL,
          &sig, NULL));
  g_assert_cmpint (sig.type, ==, VS_SIGNAL_KEYFRAME);
  vs_signal_clear (&sig);
  g_assert_true (parse ("{\"type\":\"ping\",\"t\":3}", VS_SIGNAL_FROM_CHANNEL,
          &sig, NULL));
  g_assert_cmpfloat (sig.t, ==, 3.0);
  vs_signal_clear (&sig);
  refused ("{\"type\":\"hello\"}", VS_SIGNAL_FROM_CHANNEL, "unknown");
  refused ("{\"type\":\"ping\",\"t\":[]}x", VS_SIGNAL_FROM_CHANNEL,
      "malformed");
}

static void
test_test_hook_only_when_testing (void)
{
  VsSignal sig;

  g_assert_true (parse ("{\"type\":\"test_error\"}",
          VS_SIGNAL_FROM_WEBSOCKET_TESTING, &sig, NULL));
  g_assert_cmpint (sig.type, ==, VS_SIGNAL_TEST_ERROR);
  vs_signal_clear (&sig);
}

static void
test_pong (void)
{
  gchar *pong;

  setlocale (LC_NUMERIC, "de_DE.UTF-8");        /* a comma, if installed */
  pong = vs_signal_pong (12.5, 1000.25);
  g_assert_cmpstr (pong, ==,
      "{\"type\":\"pong\",\"t\":12.500,\"server_ms\":1000.250}");
  g_free (pong);
  setlocale (LC_NUMERIC, "C");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/signal/websocket", test_websocket_messages);
  g_test_add_func ("/signal/websocket-refusals", test_websocket_refusals);
  g_test_add_func ("/signal/hello-h264", test_hello_h264_profiles);
  g_test_add_func ("/signal/channel", test_channel_messages);
  g_test_add_func ("/signal/test-hook", test_test_hook_only_when_testing);
  g_test_add_func ("/signal/pong", test_pong);
  return g_test_run ();
}
