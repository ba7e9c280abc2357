/* vizstream-server: parsing of the messages pages send (vs-signal.h).
 * json-glib's accessors complain (g_critical) when a member has another
 * type than asked; here every member is checked before it is read.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-signal.h"

#include <string.h>
#include <json-glib/json-glib.h>

#define MAX_CANDIDATE 1024

static gboolean
member (JsonObject * o, const gchar * name, GType type, JsonNode ** out)
{
  JsonNode *n = json_object_get_member (o, name);
  if (!n || !JSON_NODE_HOLDS_VALUE (n))
    return FALSE;
  if (type == G_TYPE_DOUBLE) {
    GType vt = json_node_get_value_type (n);
    if (vt != G_TYPE_DOUBLE && vt != G_TYPE_INT64)
      return FALSE;
  } else if (json_node_get_value_type (n) != type) {
    return FALSE;
  }
  *out = n;
  return TRUE;
}

static gchar *
get_string (JsonObject * o, const gchar * name)
{
  JsonNode *n;
  return member (o, name, G_TYPE_STRING, &n) ?
      g_strdup (json_node_get_string (n)) : NULL;
}

static gboolean
get_int (JsonObject * o, const gchar * name, gint64 * v)
{
  JsonNode *n;
  if (!member (o, name, G_TYPE_INT64, &n))
    return FALSE;
  *v = json_node_get_int (n);
  return TRUE;
}

static gboolean
invalid (GError ** error, const gchar * message)
{
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, message);
  return FALSE;
}

/* The "vizstream" data channel: timing on/off, ping, keyframe. */
static gboolean
parse_channel (JsonObject * o, const gchar * type, VsSignal * out,
    GError ** error)
{
  JsonNode *n;

  if (g_str_equal (type, "timing")) {
    out->type = VS_SIGNAL_TIMING;
    if (member (o, "on", G_TYPE_BOOLEAN, &n))
      out->on = json_node_get_boolean (n);
  } else if (g_str_equal (type, "ping")) {
    out->type = VS_SIGNAL_PING;
    if (member (o, "t", G_TYPE_DOUBLE, &n))
      out->t = json_node_get_double (n);
  } else if (g_str_equal (type, "keyframe")) {
    out->type = VS_SIGNAL_KEYFRAME;
  } else {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "unknown message type '%.40s'", type);
    return FALSE;
  }
  return TRUE;
}

/* hello's "h264": at most 64 profile-level-ids (6 hex digits). */
#define MAX_H264_PROFILES 64

static gboolean
parse_h264_profiles (JsonObject * o, VsSignal * out, GError ** error)
{
  static const gchar *const main_decoders[][2] = {
    {"4d", "4d001f"}, {"640c", "640c1f"}, {"6400", "64001f"},
  };
  JsonNode *n = json_object_get_member (o, "h264");
  JsonArray *a;
  guint len;

  if (!n)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (n)
      || (len = json_array_get_length (a = json_node_get_array (n))) >
      MAX_H264_PROFILES)
    return invalid (error, "hello: h264 is a list of profile-level-ids");
  for (guint i = 0; i < len; i++) {
    JsonNode *e = json_array_get_element (a, i);
    const gchar *id;

    if (!JSON_NODE_HOLDS_VALUE (e)
        || json_node_get_value_type (e) != G_TYPE_STRING
        || strlen (id = json_node_get_string (e)) != 6
        || strspn (id, "0123456789abcdefABCDEF") != 6)
      return invalid (error, "hello: h264 is a list of profile-level-ids");
  }
  for (gsize m = 0; m < G_N_ELEMENTS (main_decoders) && !out->h264_main; m++)
    for (guint i = 0; i < len; i++)
      if (!g_ascii_strncasecmp (json_array_get_string_element (a, i),
              main_decoders[m][0], strlen (main_decoders[m][0]))) {
        out->h264_main = g_strdup (main_decoders[m][1]);
        break;
      }
  return TRUE;
}

static gboolean
parse_websocket (JsonObject * o, const gchar * type, gboolean testing,
    VsSignal * out, GError ** error)
{
  JsonNode *n;
  gint64 i;

  if (g_str_equal (type, "hello")) {
    out->type = VS_SIGNAL_HELLO;
    out->token = get_string (o, "token");
    out->transport = get_string (o, "transport");
    if (member (o, "view_only", G_TYPE_BOOLEAN, &n))
      out->view_only = json_node_get_boolean (n);
    if (!out->transport)
      out->transport = g_strdup ("webrtc");
    if (!g_str_equal (out->transport, "webrtc")
        && !g_str_equal (out->transport, "ws")
        && !g_str_equal (out->transport, "mjpeg"))
      return invalid (error, "hello: transport is webrtc, ws or mjpeg");
    if (!parse_h264_profiles (o, out, error))
      return FALSE;
  } else if (g_str_equal (type, "answer")) {
    out->type = VS_SIGNAL_ANSWER;
    if (!(out->sdp = get_string (o, "sdp")))
      return invalid (error, "answer: no sdp");
  } else if (g_str_equal (type, "ice")) {
    out->type = VS_SIGNAL_ICE;
    out->candidate = get_string (o, "candidate");
    if (!out->candidate || !get_int (o, "sdpMLineIndex", &i) || i < 0
        || i > 16 || strlen (out->candidate) > MAX_CANDIDATE)
      return invalid (error, "ice: wants candidate and sdpMLineIndex");
    out->mline = (guint) i;
  } else if (g_str_equal (type, "ping")) {
    out->type = VS_SIGNAL_PING;
    if (member (o, "t", G_TYPE_DOUBLE, &n))
      out->t = json_node_get_double (n);
  } else if (g_str_equal (type, "ack")) {
    out->type = VS_SIGNAL_ACK;
    if (!get_int (o, "n", &i) || i < 0 || i > G_MAXUINT32)
      return invalid (error, "ack: wants n");
    out->n = (guint32) i;
  } else if (g_str_equal (type, "input")) {
    out->type = VS_SIGNAL_INPUT;
    if (!(out->data = get_string (o, "data")))
      return invalid (error, "input: wants data");
  } else if (testing && g_str_equal (type, "test_error")) {
    gchar *where = get_string (o, "where");
    out->type = VS_SIGNAL_TEST_ERROR;
    /* The stream's pipeline outside every viewer, not the viewer's bin. */
    out->pipeline = g_strcmp0 (where, "pipeline") == 0;
    g_free (where);
  } else {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "unknown message type '%.40s'", type);
    return FALSE;
  }
  return TRUE;
}

gboolean
vs_signal_parse (const gchar * text, gsize len, VsSignalSource source,
    VsSignal * out, GError ** error)
{
  JsonParser *parser = json_parser_new_immutable ();
  GError *err = NULL;
  JsonNode *root;
  JsonObject *o;
  gchar *type = NULL;
  gboolean ok = FALSE;

  memset (out, 0, sizeof *out);
  if (len > G_MAXSSIZE || !json_parser_load_from_data (parser, text,
          (gssize) len, &err)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "malformed JSON: %s", err ? err->message : "too long");
    g_clear_error (&err);
    goto out;
  }
  root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)
      || !(type = get_string (json_node_get_object (root), "type"))) {
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "a message is a JSON object with a \"type\"");
    goto out;
  }
  o = json_node_get_object (root);
  if (source == VS_SIGNAL_FROM_CHANNEL)
    ok = parse_channel (o, type, out, error);
  else
    ok = parse_websocket (o, type, source == VS_SIGNAL_FROM_WEBSOCKET_TESTING,
        out, error);
out:
  if (!ok)
    vs_signal_clear (out);
  g_free (type);
  g_object_unref (parser);
  return ok;
}

void
vs_signal_clear (VsSignal * s)
{
  g_free (s->token);
  g_free (s->transport);
  g_free (s->h264_main);
  g_free (s->sdp);
  g_free (s->candidate);
  g_free (s->data);
  memset (s, 0, sizeof *s);
}

gchar *
vs_signal_pong (gdouble t, gdouble server_ms)
{
  gchar a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];

  /* Locale-independent: a page parses this. */
  g_ascii_formatd (a, sizeof a, "%.3f", t);
  g_ascii_formatd (b, sizeof b, "%.3f", server_ms);
  return g_strdup_printf ("{\"type\":\"pong\",\"t\":%s,\"server_ms\":%s}",
      a, b);
}

/* Ends the object b holds: its text; b is freed. */
static gchar *
finish (JsonBuilder * b)
{
  JsonNode *n;
  gchar *text;

  json_builder_end_object (b);
  n = json_builder_get_root (b);
  text = json_to_string (n, FALSE);
  json_node_unref (n);
  g_object_unref (b);
  return text;
}

static gchar *
build (const gchar * type, const gchar * key, const gchar * value,
    const gchar * int_key, gint64 int_value)
{
  JsonBuilder *b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, type);
  json_builder_set_member_name (b, key);
  json_builder_add_string_value (b, value);
  if (int_key) {
    json_builder_set_member_name (b, int_key);
    json_builder_add_int_value (b, int_value);
  }
  return finish (b);
}

gchar *
vs_signal_message (const gchar * type, const gchar * key, const gchar * value)
{
  return build (type, key, value, NULL, 0);
}

gchar *
vs_signal_ended (const gchar * reason, const gchar * restart)
{
  JsonBuilder *b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "ended");
  json_builder_set_member_name (b, "reason");
  json_builder_add_string_value (b, reason);
  if (restart) {
    json_builder_set_member_name (b, "restart");
    json_builder_add_string_value (b, restart);
  }
  return finish (b);
}

gchar *
vs_signal_ice (const gchar * candidate, guint mline)
{
  return build ("ice", "candidate", candidate, "sdpMLineIndex", mline);
}
