/* vizstream-server: one viewer (vs-viewer.h). Main loop only.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-viewer.h"
#include "vs-roles.h"
#include "vs-signal.h"
#include "vs-turn.h"

#include <string.h>

#define GST_CAT_DEFAULT vs_debug

#define MAX_BAD_MESSAGES 20

VsViewer *
vs_viewer_ref (VsViewer * viewer)
{
  g_atomic_int_inc (&viewer->ref);
  return viewer;
}

void
vs_viewer_unref (VsViewer * viewer)
{
  if (!g_atomic_int_dec_and_test (&viewer->ref))
    return;
  g_clear_object (&viewer->ws);
  g_free (viewer->address);
  g_free (viewer->transport);
  g_free (viewer->h264_main);
  g_free (viewer);
}

/* ---- to the page ---- */

void
vs_viewer_send_text (VsViewer * viewer, const gchar * text)
{
  if (viewer->ws && soup_websocket_connection_get_state (viewer->ws) ==
      SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text (viewer->ws, text);
}

static void
send_json (VsViewer * viewer, JsonNode * message)
{
  gchar *text = json_to_string (message, FALSE);
  vs_viewer_send_text (viewer, text);
  g_free (text);
}

static void
send_simple (VsViewer * viewer, const gchar * type, const gchar * key,
    const gchar * value)
{
  gchar *text = vs_signal_message (type, key, value);
  vs_viewer_send_text (viewer, text);
  g_free (text);
}

void
vs_viewer_send_error (VsViewer * viewer, const gchar * message)
{
  GST_INFO ("viewer %u: %s", viewer->id, message);
  send_simple (viewer, "error", "message", message);
}

void
vs_viewer_set_role (VsViewer * viewer, gboolean controls)
{
  if (viewer->role_sent && controls == viewer->controls)
    return;
  viewer->controls = controls;
  viewer->role_sent = TRUE;
  send_simple (viewer, "role", "role", controls ? "control" : "view");
}

/* The page's ICE servers: the server's own STUN and TURN servers, with
 * this viewer's TURN credential when there is a TURN secret. */
static void
add_ice_servers (JsonBuilder * b, const VsConfig * cfg,
    const VsTurnCredential * turn)
{
  json_builder_set_member_name (b, "ice_servers");
  json_builder_begin_array (b);
  if (cfg->stun) {
    /* stun://host:port -> stun:host:port */
    gchar *u = g_strconcat ("stun:", cfg->stun + strlen ("stun://"), NULL);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "urls");
    json_builder_add_string_value (b, u);
    json_builder_end_object (b);
    g_free (u);
  }
  for (gchar ** t = cfg->turn; t && *t; t++) {
    GUri *uri = g_uri_parse (*t, G_URI_FLAGS_HAS_PASSWORD, NULL);
    gchar *u = vs_turn_page_url (*t);
    const gchar *user = turn ? turn->username : uri ? g_uri_get_user (uri) :
        NULL;
    const gchar *pass = turn ? turn->password : uri ?
        g_uri_get_password (uri) : NULL;

    if (u) {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "urls");
      json_builder_add_string_value (b, u);
      if (user) {
        json_builder_set_member_name (b, "username");
        json_builder_add_string_value (b, user);
      }
      if (pass) {
        json_builder_set_member_name (b, "credential");
        json_builder_add_string_value (b, pass);
      }
      json_builder_end_object (b);
    }
    g_free (u);
    if (uri)
      g_uri_unref (uri);
  }
  json_builder_end_array (b);
}

static void
send_welcome (VsViewer * viewer, const VsTurnCredential * turn)
{
  const VsConfig *cfg = viewer->ctx->cfg;
  JsonBuilder *b = json_builder_new ();
  JsonNode *n;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "welcome");
  json_builder_set_member_name (b, "id");
  json_builder_add_int_value (b, viewer->id);
  json_builder_set_member_name (b, "codec");
  json_builder_add_string_value (b, cfg->codec == VS_CODEC_H264 ? "h264" :
      "vp8");
  json_builder_set_member_name (b, "resize");
  json_builder_add_boolean_value (b, cfg->allow_resize);
  json_builder_set_member_name (b, "version");
  json_builder_add_string_value (b, PACKAGE_VERSION);
  add_ice_servers (b, cfg, turn);
  json_builder_end_object (b);
  n = json_builder_get_root (b);
  send_json (viewer, n);
  json_node_unref (n);
  g_object_unref (b);
}

/* ---- input ---- */

/* A token bucket per viewer: --max-input-rate messages a second, as many
 * at once; a flood is cut down here and costs nobody else. */
static gboolean
take_input_token (VsViewer * viewer)
{
  gint64 now = g_get_monotonic_time ();
  gdouble rate = viewer->ctx->cfg->max_input_rate;

  if (!viewer->input_refill_us)
    viewer->input_tokens = rate;
  else
    viewer->input_tokens = MIN (rate, viewer->input_tokens +
        (now - viewer->input_refill_us) * rate / G_TIME_SPAN_SECOND);
  viewer->input_refill_us = now;
  if (viewer->input_tokens < 1.0)
    return FALSE;
  viewer->input_tokens -= 1.0;
  return TRUE;
}

static void
on_input (VsViewer * viewer, const gchar * text, gsize len)
{
  GError *err = NULL;

  viewer->bytes_in += len;
  if (!viewer->controls || !viewer->input) {
    /* View-only: dropped and counted, the page knows its role. */
    viewer->events_dropped++;
    viewer->ctx->view_only_dropped++;
    return;
  }
  if (len > viewer->ctx->cfg->max_message) {
    viewer->events_dropped++;
    return;
  }
  if (!take_input_token (viewer)) {
    viewer->events_rate_limited++;
    viewer->events_dropped++;
    return;
  }
  viewer->events_in++;
  /* Which event types get through is decided on the parsed events
   * (vs-input.c, interactsink's allowed-events). */
  if (!vs_input_push (viewer->input, text, len, &err)) {
    viewer->events_dropped++;
    if (err) {
      GST_INFO ("viewer %u input: %s", viewer->id, err->message);
      g_error_free (err);
    }
  } else if (viewer->ctx->hooks.input) {
    viewer->ctx->hooks.input (viewer, text, len, viewer->ctx->hooks.data);
  }
}

/* ---- transport news ---- */

static void
peer_send (const gchar * text, gpointer data)
{
  vs_viewer_send_text (data, text);
}

static void
peer_input (const gchar * text, gsize len, gpointer data)
{
  on_input (data, text, len);
}

static void
peer_failed (const gchar * reason, gpointer data)
{
  vs_viewer_close (data, reason);
}

static gboolean
start_transport (VsViewer * viewer, const VsTurnCredential * turn,
    GError ** error)
{
  VsViewerContext *ctx = viewer->ctx;
  VsPeerHooks hooks = { peer_send, peer_input, peer_failed, viewer };

  viewer->input = vs_input_new (ctx->cfg, viewer->id);
  /* MJPEG pages take /mjpeg; this connection carries their input. */
  if (g_str_equal (viewer->transport, "mjpeg"))
    return TRUE;
  if (g_str_equal (viewer->transport, "ws"))
    viewer->wsv = vs_ws_video_new (viewer->id, ctx->media, ctx->encodes,
        viewer->ws, peer_failed, viewer, error);
  else
    viewer->rtc = vs_webrtc_peer_new (viewer->id, ctx->cfg, turn,
        viewer->h264_main, ctx->media, ctx->encodes, &hooks, error);
  return viewer->wsv || viewer->rtc;
}

/* ---- signalling ---- */

static void
bad_message (VsViewer * viewer, const gchar * why)
{
  vs_viewer_send_error (viewer, why);
  if (++viewer->bad_messages >= MAX_BAD_MESSAGES)
    vs_viewer_close (viewer, "too many malformed messages");
}

/* coturn's use-auth-secret: "EXPIRY:viewer-N", valid --turn-ttl seconds
 * (a page that reconnects says hello again and gets a new one). */
static void
mint_turn (VsViewer * viewer, VsTurnCredential * turn)
{
  const VsConfig *cfg = viewer->ctx->cfg;
  gchar name[32];

  g_snprintf (name, sizeof name, "viewer-%u", viewer->id);
  vs_turn_mint (cfg->turn_secret, g_get_real_time () / G_USEC_PER_SEC,
      cfg->turn_ttl, name, turn);
}

static void
on_hello (VsViewer * viewer, VsSignal * sig)
{
  const VsConfig *cfg = viewer->ctx->cfg;
  VsTurnCredential turn = { NULL, NULL };
  GError *err = NULL;
  gboolean started;

  if (viewer->joined) {
    vs_viewer_send_error (viewer, "hello: already said");
    return;
  }
  viewer->joined = TRUE;
  viewer->view_only = sig->view_only;
  viewer->transport = g_strdup (sig->transport);
  viewer->h264_main = g_strdup (sig->h264_main);
  if (sig->token && *sig->token) {
    /* A wrong token: view only for the life of this connection (a hello
     * is said once). */
    if (vs_roles_token_matches (cfg->token, sig->token))
      viewer->has_token = TRUE;
    else {
      vs_viewer_send_error (viewer, "the token is not valid: view only");
      vs_log (cfg, "viewer %u (%s) presented a wrong token: view only",
          viewer->id, viewer->address);
    }
  }
  /* One TURN credential, for the page and for the server's side. */
  if (cfg->turn_secret)
    mint_turn (viewer, &turn);
  send_welcome (viewer, turn.username ? &turn : NULL);
  viewer->ctx->hooks.joined (viewer, viewer->ctx->hooks.data);
  started = start_transport (viewer, turn.username ? &turn : NULL, &err);
  vs_turn_credential_clear (&turn);
  if (!started) {
    vs_viewer_close (viewer, err->message);
    g_error_free (err);
    return;
  }
  vs_log (cfg, "viewer %u (%s) joined over %s, %s", viewer->id,
      viewer->address, viewer->transport,
      viewer->controls ? "controlling" : "view only");
}

static void
on_answer (VsViewer * viewer, const gchar * sdp)
{
  GError *err = NULL;
  gchar *m;

  if (!viewer->rtc) {
    bad_message (viewer, "answer: no WebRTC session");
    return;
  }
  vs_webrtc_peer_set_answer (viewer->rtc, sdp, &err);
  if (err) {
    m = g_strdup_printf ("answer: %s", err->message);
    bad_message (viewer, m);
    g_free (m);
    g_error_free (err);
  }
}

static void
on_test_error (VsViewer * viewer, gboolean pipeline)
{
  if (pipeline) {
    /* From the raw tee: outside every branch, the stream cannot go on. */
    GstElement *tee = gst_bin_get_by_name (GST_BIN (vs_media_bin
            (viewer->ctx->media)), "raw");
    GError *err = g_error_new_literal (GST_STREAM_ERROR,
        GST_STREAM_ERROR_FAILED, "test_error in the pipeline");
    gst_element_post_message (tee, gst_message_new_error (GST_OBJECT (tee),
            err, "test_error"));
    g_error_free (err);
    gst_object_unref (tee);
  } else if (viewer->rtc)
    vs_webrtc_peer_post_test_error (viewer->rtc);
  else if (viewer->wsv)
    vs_ws_video_post_test_error (viewer->wsv);
  else
    bad_message (viewer, "test_error: no transport");
}

static void
dispatch (VsViewer * viewer, VsSignal * sig)
{
  gchar *pong;

  if (sig->type == VS_SIGNAL_HELLO) {
    on_hello (viewer, sig);
    return;
  }
  if (!viewer->joined) {
    bad_message (viewer, "say hello first");
    return;
  }
  switch (sig->type) {
    case VS_SIGNAL_ANSWER:
      on_answer (viewer, sig->sdp);
      break;
    case VS_SIGNAL_ICE:
      /* The empty candidate ends gathering. */
      if (*sig->candidate && viewer->rtc)
        vs_webrtc_peer_add_candidate (viewer->rtc, sig->mline,
            sig->candidate);
      break;
    case VS_SIGNAL_PING:
      pong = vs_signal_pong (sig->t, g_get_real_time () / 1000.0);
      vs_viewer_send_text (viewer, pong);
      g_free (pong);
      break;
    case VS_SIGNAL_ACK:
      if (viewer->wsv)
        vs_ws_video_ack (viewer->wsv, sig->n);
      break;
    case VS_SIGNAL_INPUT:
      /* Input over the WebSocket (pages without a data channel). */
      if (viewer->rtc)
        bad_message (viewer, "input: on the data channel, not here");
      else
        on_input (viewer, sig->data, strlen (sig->data));
      break;
    case VS_SIGNAL_TEST_ERROR:
      on_test_error (viewer, sig->pipeline);
      break;
    default:
      bad_message (viewer, "not a signalling message");
      break;
  }
}

static void
on_ws_message (SoupWebsocketConnection * ws, gint type, GBytes * message,
    gpointer data)
{
  VsViewer *viewer = data;
  VsSignal sig;
  gsize len;
  const gchar *text = g_bytes_get_data (message, &len);
  GError *err = NULL;

  if (type != SOUP_WEBSOCKET_DATA_TEXT) {
    bad_message (viewer, "signalling messages are JSON text");
    return;
  }
  if (!vs_signal_parse (text, len, viewer->ctx->cfg->test_hooks ?
          VS_SIGNAL_FROM_WEBSOCKET_TESTING : VS_SIGNAL_FROM_WEBSOCKET, &sig,
          &err)) {
    bad_message (viewer, err->message);
    g_error_free (err);
    return;
  }
  vs_viewer_ref (viewer);
  dispatch (viewer, &sig);
  vs_viewer_unref (viewer);
  vs_signal_clear (&sig);
}

static void
on_ws_closed (SoupWebsocketConnection * ws, gpointer data)
{
  vs_viewer_close (data, NULL);
}

/* ---- life ---- */

VsViewer *
vs_viewer_new (VsViewerContext * ctx, guint id, SoupWebsocketConnection * ws,
    const gchar * address)
{
  VsViewer *viewer = g_new0 (VsViewer, 1);

  viewer->ref = 1;
  viewer->id = id;
  viewer->ctx = ctx;
  viewer->ws = g_object_ref (ws);
  viewer->address = g_strdup (address);
  viewer->joined_us = g_get_monotonic_time ();
  soup_websocket_connection_set_max_incoming_payload_size (ws,
      ctx->cfg->max_message);
  soup_websocket_connection_set_keepalive_interval (ws, 5);
  viewer->message_id = g_signal_connect (ws, "message",
      G_CALLBACK (on_ws_message), viewer);
  viewer->closed_id = g_signal_connect (ws, "closed",
      G_CALLBACK (on_ws_closed), viewer);
  return viewer;
}

void
vs_viewer_close (VsViewer * viewer, const gchar * reason)
{
  if (viewer->closed)
    return;
  viewer->closed = TRUE;
  vs_viewer_ref (viewer);
  vs_log (viewer->ctx->cfg, "viewer %u (%s) left%s%s", viewer->id,
      viewer->address, reason ? ": " : "", reason ? reason : "");
  g_signal_handler_disconnect (viewer->ws, viewer->message_id);
  g_signal_handler_disconnect (viewer->ws, viewer->closed_id);
  if (reason)
    vs_viewer_send_error (viewer, reason);
  if (soup_websocket_connection_get_state (viewer->ws) ==
      SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (viewer->ws, reason ?
        SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION : SOUP_WEBSOCKET_CLOSE_NORMAL,
        reason);
  g_clear_pointer (&viewer->rtc, vs_webrtc_peer_close);
  g_clear_pointer (&viewer->wsv, vs_ws_video_close);
  g_clear_pointer (&viewer->input, vs_input_free);
  viewer->ctx->hooks.closed (viewer, viewer->ctx->hooks.data);
  vs_viewer_unref (viewer);
}

VsLeg *
vs_viewer_leg (VsViewer * viewer)
{
  return viewer->rtc ? vs_webrtc_peer_leg (viewer->rtc) : NULL;
}

VsLeg *
vs_viewer_measure (VsViewer * viewer)
{
  if (!viewer->rtc || !vs_webrtc_peer_measure (viewer->rtc))
    return NULL;
  return vs_webrtc_peer_leg (viewer->rtc);
}

void
vs_viewer_describe (VsViewer * viewer, JsonBuilder * b)
{
  json_builder_set_member_name (b, "id");
  json_builder_add_int_value (b, viewer->id);
  json_builder_set_member_name (b, "role");
  json_builder_add_string_value (b, viewer->controls ? "control" : "view");
  json_builder_set_member_name (b, "events");
  json_builder_add_int_value (b, viewer->events_in);
  json_builder_set_member_name (b, "events_dropped");
  json_builder_add_int_value (b, viewer->events_dropped);
  json_builder_set_member_name (b, "events_rate_limited");
  json_builder_add_int_value (b, viewer->events_rate_limited);
  json_builder_set_member_name (b, "events_refused");
  json_builder_add_int_value (b, viewer->input ?
      vs_input_refused (viewer->input) : 0);
  if (!viewer->joined)
    return;
  json_builder_set_member_name (b, "transport");
  json_builder_add_string_value (b, viewer->transport);
  if (viewer->rtc)
    vs_webrtc_peer_describe (viewer->rtc, b);
  else if (viewer->wsv)
    vs_ws_video_describe (viewer->wsv, b);
}
