/* vizstream-server: Janus edges and the spectators' page (vs-janus.h).
 *
 * Threads: the probes and the queue's overrun signal run on streaming
 * threads; they touch only atomics and hand key-frame requests to the main
 * loop holding a reference on the edge. Everything else runs on the main
 * loop.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-janus.h"

#include <string.h>
#include <gio/gio.h>
#include <gst/video/video.h>

#define GST_CAT_DEFAULT vs_debug

/* Debian's libjs-janus-gateway and libjs-webrtc-adapter (janus.js wants
 * adapter's browser detection). */
#define JANUS_JS "/usr/share/javascript/janus-gateway/janus.js"
#define ADAPTER_JS "/usr/share/javascript/webrtc-adapter/adapter.js"

typedef struct
{
  gint ref;                     /* atomic */
  VsJanusSet *set;
  gchar *target;                /* HOST:PORT as given */
  guint index;
  /* main loop */
  gboolean closed;
  GSocket *socket;              /* RTP and RTCP out, Janus's RTCP in */
  GstElement *bin;              /* NULL while waiting to retry */
  GstElement *queue;            /* the bin's */
  VsLeg leg;
  gchar *state;
  gchar *error;
  guint retry_id;
  guint backoff;                /* seconds */
  guint restarts;
  guint quiet_ticks;
  gint64 tick_packets, tick_bytes, tick_rtcp;
  gdouble kbps;
  gint64 last_rtcp_us;
  /* atomics, from the streaming threads */
  gint64 packets, bytes;        /* into the RTP udpsink */
  gint64 rtcp_in;               /* RTCP packets from Janus */
  gint key_requests;            /* PLI and FIR from Janus */
} VsJanusEdge;

struct _VsJanusSet
{
  VsMedia *media;
  VsEncodes *encodes;
  const VsConfig *cfg;
  GPtrArray *edges;             /* VsJanusEdge* */
};

static VsJanusEdge *
edge_ref (VsJanusEdge * j)
{
  g_atomic_int_inc (&j->ref);
  return j;
}

static void
edge_unref (VsJanusEdge * j)
{
  if (!g_atomic_int_dec_and_test (&j->ref))
    return;
  g_free (j->target);
  g_free (j->state);
  g_free (j->error);
  g_free (j);
}

static void
set_state (VsJanusEdge * j, const gchar * state, const gchar * why)
{
  if (g_strcmp0 (j->state, state) == 0)
    return;
  g_free (j->state);
  j->state = g_strdup (state);
  vs_log (j->set->cfg, "janus %s: %s%s%s", j->target, state,
      why ? ": " : "", why ? why : "");
}

/* ---- key frames: from the streaming threads to the encode ---- */

static gboolean
key_request_run (gpointer data)
{
  VsJanusEdge *j = data;

  if (!j->closed && j->bin)
    vs_leg_request_key_relayed (&j->leg);
  edge_unref (j);
  return G_SOURCE_REMOVE;
}

static void
key_request (VsJanusEdge * j)
{
  g_main_context_invoke (NULL, key_request_run, edge_ref (j));
}

/* Janus's PLI or FIR, turned by rtpsession into an upstream force-key-unit
 * event: asked of the encode like every viewer's (coalesced, at most one
 * key frame per 200 ms), without holding back this leg's delta frames:
 * the edge's other spectators lost nothing. */
static GstPadProbeReturn
pli_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  VsJanusEdge *j = data;

  if (!gst_video_event_is_force_key_unit (GST_PAD_PROBE_INFO_EVENT (info)))
    return GST_PAD_PROBE_OK;
  g_atomic_int_inc (&j->key_requests);
  key_request (j);
  return GST_PAD_PROBE_DROP;
}

/* The queue dropped frames: every spectator of the edge lost them, so the
 * leg waits for a key frame (the gate) and asks for one. */
static void
on_overrun (GstElement * queue, gpointer data)
{
  VsJanusEdge *j = data;

  if (vs_leg_overrun (&j->leg))
    key_request (j);
}

static GstPadProbeReturn
count_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  VsJanusEdge *j = data;
  gsize bytes = 0;
  guint n = 1;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);
    n = gst_buffer_list_length (list);
    bytes = gst_buffer_list_calculate_size (list);
  } else {
    bytes = gst_buffer_get_size (GST_PAD_PROBE_INFO_BUFFER (info));
  }
  g_atomic_pointer_add (&j->packets, (gssize) n);
  g_atomic_pointer_add (&j->bytes, (gssize) bytes);
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
rtcp_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  VsJanusEdge *j = data;
  g_atomic_pointer_add (&j->rtcp_in, 1);
  return GST_PAD_PROBE_OK;
}

static void
add_probe (GstElement * e, const gchar * pad_name, GstPadProbeType type,
    GstPadProbeCallback cb, VsJanusEdge * j)
{
  GstPad *pad = gst_element_get_static_pad (e, pad_name);
  gst_pad_add_probe (pad, type, cb, j, NULL);
  gst_object_unref (pad);
}

/* ---- an edge's life ---- */

static void edge_fail (VsJanusEdge * j, const gchar * why);

static void
on_bin_error (const gchar * message, gpointer data)
{
  VsJanusEdge *j = data;

  if (!j->closed)
    edge_fail (j, message);
}

/* HOST of HOST:PORT, an IPv4 address preferred (a Janus on 127.0.0.1 is
 * not reached through "localhost"'s ::1). */
static GInetAddress *
resolve (const gchar * host, GError ** error)
{
  GResolver *resolver = g_resolver_get_default ();
  GList *ips = g_resolver_lookup_by_name (resolver, host, NULL, error);
  GInetAddress *out = NULL;

  g_object_unref (resolver);
  for (GList * l = ips; l && !out; l = l->next)
    if (g_inet_address_get_family (l->data) == G_SOCKET_FAMILY_IPV4)
      out = g_object_ref (l->data);
  if (!out && ips)
    out = g_object_ref (ips->data);
  g_resolver_free_addresses (ips);
  return out;
}

/* The one socket, bound to a free port of the address's family. */
static GSocket *
open_socket (GInetAddress * ip, GError ** error)
{
  GSocketFamily family = g_inet_address_get_family (ip);
  GSocket *sock = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM,
      G_SOCKET_PROTOCOL_UDP, error);
  GInetAddress *any;
  GSocketAddress *local;
  gboolean ok;

  if (!sock)
    return NULL;
  any = g_inet_address_new_any (family);
  local = g_inet_socket_address_new (any, 0);
  ok = g_socket_bind (sock, local, FALSE, error);
  g_object_unref (local);
  g_object_unref (any);
  if (!ok)
    g_clear_object (&sock);
  return sock;
}

static gboolean
make_bin (VsJanusEdge * j, const gchar * host, guint port, GError ** error)
{
  const VsConfig *cfg = j->set->cfg;
  gboolean h264 = cfg->codec == VS_CODEC_H264;
  GstElement *pay, *session, *rtpsink, *rtcpsink, *rtcpsrc;
  GstCaps *caps;
  GstPad *pad;
  gchar name[32];

  {
    const VsElementSpec specs[] = {
      {"queue", &j->queue}, {h264 ? "rtph264pay" : "rtpvp8pay", &pay},
      {"rtpsession", &session}, {"udpsink", &rtpsink},
      {"udpsink", &rtcpsink}, {"udpsrc", &rtcpsrc},
    };
    if (!vs_make_elements (specs, G_N_ELEMENTS (specs), error))
      return FALSE;
  }
  g_snprintf (name, sizeof name, "janus%u", j->index);
  j->bin = gst_object_ref_sink (gst_bin_new (name));
  gst_bin_add_many (GST_BIN (j->bin), j->queue, pay, session, rtpsink,
      rtcpsink, rtcpsrc, NULL);

  /* Never holds the encode back: 300 ms of frames at most. */
  g_object_set (j->queue, "max-size-buffers", 0, "max-size-bytes", 0,
      "max-size-time", (guint64) 300 * GST_MSECOND, "leaky", 2, NULL);
  g_signal_connect (j->queue, "overrun", G_CALLBACK (on_overrun), j);
  /* SPS and PPS before every key frame: a spectator joins at any one. */
  g_object_set (pay, "pt", 96, "mtu", 1200, NULL);
  if (h264)
    g_object_set (pay, "config-interval", -1, NULL);
  else
    g_object_set (pay, "picture-id-mode", 2, NULL);
  /* AVPF: Janus's PLI is a reduced-size RTCP packet; a sender report every
   * second or so tells a restarted Janus where to send it. */
  gst_util_set_object_arg (G_OBJECT (session), "rtp-profile", "avpf");
  g_object_set (session, "rtcp-min-interval", (guint64) GST_SECOND, NULL);
  g_object_set (rtpsink, "socket", j->socket, "close-socket", FALSE,
      "host", host, "port", (gint) port, "sync", FALSE, "async", FALSE,
      NULL);
  g_object_set (rtcpsink, "socket", j->socket, "close-socket", FALSE,
      "host", host, "port", (gint) port + 1, "sync", FALSE, "async", FALSE,
      NULL);
  caps = gst_caps_new_empty_simple ("application/x-rtcp");
  g_object_set (rtcpsrc, "socket", j->socket, "close-socket", FALSE,
      "caps", caps, NULL);
  gst_caps_unref (caps);

  if (!gst_element_link (j->queue, pay)
      || !gst_element_link_pads (pay, "src", session, "send_rtp_sink")
      || !gst_element_link_pads (session, "send_rtp_src", rtpsink, "sink")
      || !gst_element_link_pads (session, "send_rtcp_src", rtcpsink, "sink")
      || !gst_element_link_pads (rtcpsrc, "src", session, "recv_rtcp_sink")) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
        "cannot link the Janus leg's elements");
    g_signal_handlers_disconnect_by_data (j->queue, j);
    gst_clear_object (&j->bin);
    j->queue = NULL;
    return FALSE;
  }
  pad = gst_element_get_static_pad (j->queue, "sink");
  gst_element_add_pad (j->bin, gst_ghost_pad_new ("sink", pad));
  gst_object_unref (pad);
  add_probe (j->queue, "src", GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, pli_probe,
      j);
  add_probe (rtpsink, "sink", GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_BUFFER_LIST, count_probe, j);
  add_probe (rtcpsrc, "src", GST_PAD_PROBE_TYPE_BUFFER, rtcp_probe, j);

  vs_leg_init (&j->leg, j->set->encodes, j->bin);
  /* Frames flow at once, from the first key frame on. */
  j->leg.connected = 1;
  vs_media_add_branch (j->set->media, j->bin, on_bin_error, j);
  pad = gst_element_get_static_pad (j->queue, "src");
  vs_leg_attach (&j->leg, pad);
  gst_object_unref (pad);
  vs_leg_request_key (&j->leg);
  return TRUE;
}

static gboolean
edge_start (VsJanusEdge * j, GError ** error)
{
  GSocketConnectable *addr = g_network_address_parse (j->target, 0, error);
  GInetAddress *ip = NULL;
  gchar *host = NULL;
  gboolean ok = FALSE;

  if (addr && (ip = resolve (g_network_address_get_hostname
              (G_NETWORK_ADDRESS (addr)), error))
      && (j->socket = open_socket (ip, error))) {
    host = g_inet_address_to_string (ip);
    ok = make_bin (j, host, g_network_address_get_port (G_NETWORK_ADDRESS
            (addr)), error);
  }
  if (!ok && j->socket) {
    g_socket_close (j->socket, NULL);
    g_clear_object (&j->socket);
  }
  g_free (host);
  g_clear_object (&ip);
  g_clear_object (&addr);
  return ok;
}

static void
edge_stop (VsJanusEdge * j)
{
  if (j->bin) {
    vs_leg_detach (&j->leg);
    g_signal_handlers_disconnect_by_data (j->queue, j);
    vs_media_remove_branch (j->set->media, j->bin);
    j->queue = NULL;
    gst_clear_object (&j->bin);
  }
  if (j->socket) {
    g_socket_close (j->socket, NULL);
    g_clear_object (&j->socket);
  }
}

static gboolean
edge_retry (gpointer data)
{
  VsJanusEdge *j = data;
  GError *err = NULL;

  j->retry_id = 0;
  j->restarts++;
  if (edge_start (j, &err)) {
    j->quiet_ticks = 0;
    set_state (j, "waiting for frames", NULL);
  } else {
    edge_fail (j, err->message);
    g_error_free (err);
  }
  return G_SOURCE_REMOVE;
}

/* Its bin gone, a new one in 1, 2, 4 ... 30 s. */
static void
edge_fail (VsJanusEdge * j, const gchar * why)
{
  gchar *state;

  edge_stop (j);
  g_free (j->error);
  j->error = g_strdup (why);
  j->backoff = j->backoff ? MIN (j->backoff * 2, 30) : 1;
  state = g_strdup_printf ("retrying in %u s", j->backoff);
  set_state (j, state, why);
  g_free (state);
  j->retry_id = g_timeout_add_seconds (j->backoff, edge_retry, j);
}

/* ---- the set ---- */

VsJanusSet *
vs_janus_new (VsMedia * media, VsEncodes * encodes, const VsConfig * cfg)
{
  VsJanusSet *set = g_new0 (VsJanusSet, 1);

  set->media = media;
  set->encodes = encodes;
  set->cfg = cfg;
  set->edges = g_ptr_array_new ();
  for (gchar ** t = cfg->janus_rtp; t && *t; t++) {
    VsJanusEdge *j = g_new0 (VsJanusEdge, 1);
    GError *err = NULL;

    j->ref = 1;
    j->set = set;
    j->target = g_strdup (*t);
    j->index = set->edges->len;
    g_ptr_array_add (set->edges, j);
    /* A Janus that cannot be reached yet (a name that does not resolve)
     * is retried; the server starts anyway. */
    if (edge_start (j, &err)) {
      set_state (j, "waiting for frames", NULL);
    } else {
      edge_fail (j, err->message);
      g_error_free (err);
    }
  }
  return set;
}

void
vs_janus_free (VsJanusSet * set)
{
  if (!set)
    return;
  for (guint i = 0; i < set->edges->len; i++) {
    VsJanusEdge *j = g_ptr_array_index (set->edges, i);
    j->closed = TRUE;
    if (j->retry_id)
      g_source_remove (j->retry_id);
    edge_stop (j);
    edge_unref (j);
  }
  g_ptr_array_unref (set->edges);
  g_free (set);
}

void
vs_janus_tick (VsJanusSet * set, GString * line)
{
  guint sending = 0;

  for (guint i = 0; i < set->edges->len; i++) {
    VsJanusEdge *j = g_ptr_array_index (set->edges, i);
    gint64 packets = g_atomic_pointer_get (&j->packets);
    gint64 bytes = g_atomic_pointer_get (&j->bytes);
    gint64 rtcp = g_atomic_pointer_get (&j->rtcp_in);

    j->kbps = (bytes - j->tick_bytes) * 8 / 1000.0;
    if (j->bin) {
      /* A renderer that publishes nothing for a while is not a failure:
       * a state change after 5 s, not a log line a second. */
      if (packets > j->tick_packets) {
        j->quiet_ticks = 0;
        j->backoff = 0;
        set_state (j, "sending", NULL);
      } else if (++j->quiet_ticks >= 5) {
        set_state (j, "waiting for frames", NULL);
      }
    }
    if (rtcp > j->tick_rtcp) {
      if (!j->last_rtcp_us)
        vs_log (set->cfg, "janus %s: Janus answers (its key-frame requests "
            "reach the encoder)", j->target);
      j->last_rtcp_us = g_get_monotonic_time ();
    }
    sending += j->bin && g_str_equal (j->state, "sending");
    j->tick_packets = packets;
    j->tick_bytes = bytes;
    j->tick_rtcp = rtcp;
  }
  if (line && set->edges->len)
    g_string_append_printf (line, " | janus %u/%u sending", sending,
        set->edges->len);
}

void
vs_janus_describe (VsJanusSet * set, JsonBuilder * b)
{
  gint64 now = g_get_monotonic_time ();

  json_builder_set_member_name (b, "janus");
  json_builder_begin_array (b);
  for (guint i = 0; i < set->edges->len; i++) {
    VsJanusEdge *j = g_ptr_array_index (set->edges, i);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "target");
    json_builder_add_string_value (b, j->target);
    json_builder_set_member_name (b, "state");
    json_builder_add_string_value (b, j->state);
    json_builder_set_member_name (b, "packets");
    json_builder_add_int_value (b, g_atomic_pointer_get (&j->packets));
    json_builder_set_member_name (b, "bytes");
    json_builder_add_int_value (b, g_atomic_pointer_get (&j->bytes));
    json_builder_set_member_name (b, "kbps");
    json_builder_add_double_value (b, j->kbps);
    json_builder_set_member_name (b, "key_requests");
    json_builder_add_int_value (b, g_atomic_int_get (&j->key_requests));
    json_builder_set_member_name (b, "rtcp_received");
    json_builder_add_int_value (b, g_atomic_pointer_get (&j->rtcp_in));
    json_builder_set_member_name (b, "last_rtcp_s");
    if (j->last_rtcp_us)
      json_builder_add_double_value (b, (now - j->last_rtcp_us) / 1e6);
    else
      json_builder_add_null_value (b);
    json_builder_set_member_name (b, "overruns");
    json_builder_add_int_value (b, g_atomic_int_get (&j->leg.overruns));
    json_builder_set_member_name (b, "restarts");
    json_builder_add_int_value (b, j->restarts);
    json_builder_set_member_name (b, "last_error");
    json_builder_add_string_value (b, j->error);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
}

/* ---- the spectators' page ---- */

static void
respond (SoupServerMessage * msg, guint status, const gchar * type,
    const gchar * data, gsize len, SoupMemoryUse use)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, type, use, data, len);
}

static void
respond_text (SoupServerMessage * msg, guint status, const gchar * text)
{
  respond (msg, status, "text/plain; charset=utf-8", text, strlen (text),
      SOUP_MEMORY_COPY);
}

/* scheme://host[:port] of a Janus URL, for the page's connect-src; NULL
 * for a path on this server. */
static gchar *
url_origin (const gchar * url)
{
  GUri *uri = url[0] == '/' ? NULL : g_uri_parse (url, G_URI_FLAGS_NONE,
      NULL);
  gchar *out;

  if (!uri)
    return NULL;
  out = g_uri_join (G_URI_FLAGS_NONE, g_uri_get_scheme (uri), NULL,
      g_uri_get_host (uri), g_uri_get_port (uri), "", NULL, NULL);
  g_uri_unref (uri);
  return out;
}

/* The main page's policy, but the page may also talk to the Janus edges
 * (another origin: their HTTP or WebSocket API); only this page. */
static void
watch_policy (const VsConfig * cfg, SoupServerMessage * msg)
{
  GString *csp = g_string_new ("default-src 'self'; connect-src 'self'");

  for (gchar ** u = cfg->janus_url; u && *u; u++) {
    gchar *origin = url_origin (*u);
    if (origin)
      g_string_append_printf (csp, " %s", origin);
    g_free (origin);
  }
  g_string_append (csp, "; style-src 'self'; img-src 'self' data:; "
      "media-src 'self' blob:");
  soup_message_headers_replace (soup_server_message_get_response_headers
      (msg), "Content-Security-Policy", csp->str);
  g_string_free (csp, TRUE);
}

static void
serve_resource (SoupServerMessage * msg, const gchar * name,
    const gchar * type)
{
  gchar *path = g_strconcat ("/org/vizstream/server/page/", name, NULL);
  GBytes *bytes = g_resources_lookup_data (path,
      G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);

  g_free (path);
  if (!bytes) {
    respond_text (msg, 500, "page missing from the build\n");
    return;
  }
  respond (msg, 200, type, g_bytes_get_data (bytes, NULL),
      g_bytes_get_size (bytes), SOUP_MEMORY_COPY);
  g_bytes_unref (bytes);
}

static void
serve_file (SoupServerMessage * msg, const gchar * file, const gchar * pkg)
{
  gchar *text = NULL, *why;
  gsize len = 0;

  if (g_file_get_contents (file, &text, &len, NULL)) {
    respond (msg, 200, "text/javascript; charset=utf-8", text, len,
        SOUP_MEMORY_TAKE);
    return;
  }
  why = g_strdup_printf ("%s is missing: apt-get install %s\n", file, pkg);
  respond_text (msg, 404, why);
  g_free (why);
}

static void
serve_config (const VsConfig * cfg, SoupServerMessage * msg)
{
  JsonBuilder *b = json_builder_new ();
  JsonNode *n;
  gchar *text;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "janus");
  json_builder_begin_array (b);
  for (gchar ** u = cfg->janus_url; u && *u; u++)
    json_builder_add_string_value (b, *u);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "mountpoint");
  json_builder_add_int_value (b, cfg->janus_mountpoint);
  json_builder_end_object (b);
  n = json_builder_get_root (b);
  text = json_to_string (n, FALSE);
  json_node_unref (n);
  g_object_unref (b);
  respond (msg, 200, "application/json", text, strlen (text),
      SOUP_MEMORY_TAKE);
}

gboolean
vs_janus_serve (const VsConfig * cfg, SoupServerMessage * msg,
    const gchar * path)
{
  if (!g_str_equal (path, "/watch") && !g_str_has_prefix (path, "/watch/"))
    return FALSE;
  if (!cfg->janus_url) {
    respond_text (msg, 404, "no spectators' page: this server runs without "
        "--janus-url\n");
  } else if (g_str_equal (path, "/watch")) {
    watch_policy (cfg, msg);
    serve_resource (msg, "watch.html", "text/html; charset=utf-8");
  } else if (g_str_equal (path, "/watch/")) {
    /* The page's URLs are relative to /watch (a proxy may add a prefix). */
    soup_message_headers_replace (soup_server_message_get_response_headers
        (msg), "Location", "../watch");
    soup_server_message_set_status (msg, 302, NULL);
  } else if (g_str_equal (path, "/watch/watch.js")) {
    serve_resource (msg, "watch.js", "text/javascript; charset=utf-8");
  } else if (g_str_equal (path, "/watch/watch.css")) {
    serve_resource (msg, "watch.css", "text/css; charset=utf-8");
  } else if (g_str_equal (path, "/watch/config")) {
    serve_config (cfg, msg);
  } else if (g_str_equal (path, "/watch/janus.js")) {
    serve_file (msg, JANUS_JS, "libjs-janus-gateway");
  } else if (g_str_equal (path, "/watch/adapter.js")) {
    serve_file (msg, ADAPTER_JS, "libjs-webrtc-adapter");
  } else {
    respond_text (msg, 404, "not found\n");
  }
  return TRUE;
}
