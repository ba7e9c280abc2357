/* vizstream-server: a WebRTC viewer (vs-webrtc.h).
 *
 * Threads: webrtcbin's signals and the data channels' messages come on
 * webrtcbin's threads, the probes on streaming threads; they touch only
 * atomics and hand everything else to the main loop (defer()), holding a
 * reference on the peer. Hooks run on the main loop, only while the peer
 * is open.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-webrtc.h"
#include "vs-signal.h"
#include "vs-turn.h"

#include <string.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>
#include <gst/sdp/sdp.h>
#include <gst/rtp/rtp.h>
#include <gst/video/video.h>

#define GST_CAT_DEFAULT vs_debug

#define TWCC_URI \
  "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
/* Playout delay (min, max) on every packet: 0, 0 asks the browser to
 * show each frame as soon as it is decoded, with no jitter buffer target
 * of its own (Chromium: its low-latency rendering path), as cloud gaming
 * does; docs/performance.md "Browsers". */
#define PLAYOUT_DELAY_URI \
  "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"
#define PLAYOUT_DELAY_ID 2

struct _VsWebrtcPeer
{
  gint ref;                     /* atomic */
  gboolean closed;              /* main loop */
  guint id;
  const VsConfig *cfg;
  VsMedia *media;
  VsPeerHooks hooks;
  VsLeg leg;
  GstElement *bin, *queue, *pay, *rtpcaps, *setter, *webrtc;
  GstWebRTCDataChannel *status_channel;
  GstWebRTCDataChannel *input_channel;
  gint timing;                  /* atomic: send frame timing to the page */
  gint candidates;              /* atomic: local candidates gathered */
  gint relays;                  /* atomic: of which relayed (TURN) */
  guint timeout_id;
  gint braked;                  /* atomic: tell the main loop when drained */
  gchar plid[7];                /* H.264 profile-level-id offered */
  GMutex queue_lock;            /* queue_delay: rtpsession's thread, main */
  VsQueueDelay queue_delay;
};

static VsWebrtcPeer *
peer_ref (VsWebrtcPeer * peer)
{
  g_atomic_int_inc (&peer->ref);
  return peer;
}

static void
peer_unref (VsWebrtcPeer * peer)
{
  if (!g_atomic_int_dec_and_test (&peer->ref))
    return;
  if (peer->status_channel)
    g_object_unref (peer->status_channel);
  if (peer->input_channel)
    g_object_unref (peer->input_channel);
  gst_clear_object (&peer->bin);
  g_mutex_clear (&peer->queue_lock);
  g_free (peer);
}

/* ---- to the main loop (defer) ---- */

typedef enum
{
  DEFER_SEND, DEFER_INPUT, DEFER_CONNECTED, DEFER_KEY, DEFER_FAILED,
  DEFER_CHANNEL, DEFER_NO_RELAY, DEFER_BRAKE, DEFER_DRAINED
} DeferKind;

typedef struct
{
  VsWebrtcPeer *peer;
  DeferKind kind;
  gchar *text;
  gsize len;
} Deferred;

/* A message on the server's "vizstream" channel: timing, ping, keyframe. */
static void
on_channel_message (VsWebrtcPeer * peer, const gchar * text, gsize len)
{
  VsSignal sig;
  gchar *pong;

  if (!vs_signal_parse (text, len, VS_SIGNAL_FROM_CHANNEL, &sig, NULL))
    return;
  switch (sig.type) {
    case VS_SIGNAL_TIMING:
      g_atomic_int_set (&peer->timing, sig.on);
      break;
    case VS_SIGNAL_PING:
      pong = vs_signal_pong (sig.t, g_get_real_time () / 1000.0);
      if (peer->status_channel)
        g_signal_emit_by_name (peer->status_channel, "send-string", pong);
      g_free (pong);
      break;
    case VS_SIGNAL_KEYFRAME:
      vs_leg_request_key (&peer->leg);
      break;
    default:
      break;
  }
  vs_signal_clear (&sig);
}

/* libnice says nothing of a TURN server's refusal (401): a gathering
 * that ends without a relay address is what the server sees of it. */
static void
warn_no_relay (VsWebrtcPeer * peer)
{
  const VsConfig *cfg = peer->cfg;
  gchar *url = vs_turn_page_url (cfg->turn[0]);

  g_printerr ("\nvizstream-server: viewer %u: no relay address from the "
      "TURN server %s%s: it refused the credentials (%s) or cannot be "
      "reached\n", peer->id, url ? url : "?", cfg->turn[1] ? " (or the "
      "others)" : "", cfg->turn_secret ? "is the TURN secret the "
      "static-auth-secret of coturn?" : "the user:password of --turn");
  g_free (url);
}

static gboolean
deferred_run (gpointer data)
{
  Deferred *d = data;
  VsWebrtcPeer *peer = d->peer;

  if (!peer->closed) {
    switch (d->kind) {
      case DEFER_SEND:
        peer->hooks.send (d->text, peer->hooks.data);
        break;
      case DEFER_INPUT:
        peer->hooks.input (d->text, d->len, peer->hooks.data);
        break;
      case DEFER_CONNECTED:
        if (peer->timeout_id) {
          g_source_remove (peer->timeout_id);
          peer->timeout_id = 0;
        }
        vs_leg_request_key (&peer->leg);
        break;
      case DEFER_KEY:
        vs_leg_request_key (&peer->leg);
        break;
      case DEFER_BRAKE:
        vs_leg_brake (&peer->leg, d->len);
        g_atomic_int_set (&peer->braked, peer->leg.adapt.link.drain);
        break;
      case DEFER_DRAINED:
        vs_leg_drained (&peer->leg);
        break;
      case DEFER_FAILED:
        peer->hooks.failed (d->text, peer->hooks.data);
        break;
      case DEFER_CHANNEL:
        on_channel_message (peer, d->text, d->len);
        break;
      case DEFER_NO_RELAY:
        warn_no_relay (peer);
        break;
    }
  }
  g_free (d->text);
  peer_unref (peer);
  g_free (d);
  return G_SOURCE_REMOVE;
}

static void
defer (VsWebrtcPeer * peer, DeferKind kind, const gchar * text, gssize len)
{
  Deferred *d = g_new0 (Deferred, 1);

  d->peer = peer_ref (peer);
  d->kind = kind;
  if (text) {
    d->len = len < 0 ? strlen (text) : (gsize) len;
    d->text = g_strndup (text, d->len);
  } else if (len > 0) {
    d->len = len;               /* a number */
  }
  g_main_context_invoke (NULL, deferred_run, d);
}

/* ---- probes ---- */

static void
on_overrun (GstElement * queue, gpointer data)
{
  VsWebrtcPeer *peer = data;
  if (vs_leg_overrun (&peer->leg))
    defer (peer, DEFER_KEY, NULL, 0);
}

/* A picture loss indication from the browser comes up from webrtcbin as
 * a force-key-unit event: taken here and asked of the encode like any
 * other key frame, so that the requests of every viewer are coalesced
 * (one key frame per 200 ms at most: on a congested link each key frame
 * is a burst that can cause the next loss) and the viewer's gate drops
 * the delta frames it could not decode anyway. */
static GstPadProbeReturn
pli_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  VsWebrtcPeer *peer = data;

  if (!gst_video_event_is_force_key_unit (GST_PAD_PROBE_INFO_EVENT (info)))
    return GST_PAD_PROBE_OK;
  GST_INFO ("viewer %u: key frame asked for", peer->id);
  g_atomic_int_set (&peer->leg.need_key, 1);
  defer (peer, DEFER_KEY, NULL, 0);
  return GST_PAD_PROBE_DROP;
}

/* The encoder answers a key frame request with a downstream
 * force-key-unit event asking for all headers. rtph264pay (1.22 and
 * later, aggregate-mode zero-latency) then bundles its SPS/PPS ahead of
 * the frame's access unit delimiter, and the delimiter closes that bundle
 * as an access unit of its own, marker bit set: the browser takes the
 * SPS/PPS packet for a frame, fails to decode it and asks for a key frame
 * again (a PLI for each one: ~5 fps, key frames only). config-interval -1
 * already puts SPS/PPS before every IDR, in the frame; the event is
 * passed on without all-headers. */
static GstPadProbeReturn
key_unit_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  GstClockTime ts, stream_time, running_time;
  gboolean all_headers;
  guint count;

  if (!gst_video_event_is_force_key_unit (event)
      || !gst_video_event_parse_downstream_force_key_unit (event, &ts,
          &stream_time, &running_time, &all_headers, &count) || !all_headers)
    return GST_PAD_PROBE_OK;
  info->data = gst_video_event_new_downstream_force_key_unit (ts,
      stream_time, running_time, FALSE, count);
  gst_event_unref (event);
  return GST_PAD_PROBE_OK;
}

/* Frame timing for the page's latency figure: the RTP timestamp of each
 * frame with the renderer's publish time (and frame number). */
static GstPadProbeReturn
rtp_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  VsWebrtcPeer *peer = data;
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  GstBuffer *buf;
  VsTiming t;
  guint32 ts;
  gboolean marker;

  if (!g_atomic_int_get (&peer->timing) || !peer->status_channel)
    return GST_PAD_PROBE_OK;
  /* The payloader pushes a frame's packets as a list: its last one. */
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);
    guint n = gst_buffer_list_length (list);
    if (n == 0)
      return GST_PAD_PROBE_OK;
    buf = gst_buffer_list_get (list, n - 1);
  } else {
    buf = GST_PAD_PROBE_INFO_BUFFER (info);
  }
  if (!gst_rtp_buffer_map (buf, GST_MAP_READ, &rtp))
    return GST_PAD_PROBE_OK;
  ts = gst_rtp_buffer_get_timestamp (&rtp);
  marker = gst_rtp_buffer_get_marker (&rtp);
  gst_rtp_buffer_unmap (&rtp);
  if (marker && vs_media_lookup_timing (peer->media, vs_running_time (pad,
              GST_BUFFER_PTS (buf)), &t)) {
    gchar *msg = g_strdup_printf ("{\"type\":\"frame\",\"rtp\":%u,"
        "\"frame\":%" G_GUINT64_FORMAT ",\"publish_ms\":%.3f}", ts, t.frame,
        t.unix_ns / 1e6);
    g_signal_emit_by_name (peer->status_channel, "send-string", msg);
    g_free (msg);
  }
  return GST_PAD_PROBE_OK;
}

static gboolean
add_playout_delay (GstBuffer ** buf, guint idx, gpointer data)
{
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  /* 12 bits min, 12 bits max, in 10 ms units: 0 and 0 */
  static const guint8 zero[3] = { 0, 0, 0 };

  *buf = gst_buffer_make_writable (*buf);
  if (gst_rtp_buffer_map (*buf, GST_MAP_READWRITE, &rtp)) {
    gst_rtp_buffer_add_extension_onebyte_header (&rtp, PLAYOUT_DELAY_ID,
        zero, sizeof zero);
    gst_rtp_buffer_unmap (&rtp);
  }
  return TRUE;
}

static GstPadProbeReturn
playout_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList *list =
        gst_buffer_list_make_writable (GST_PAD_PROBE_INFO_BUFFER_LIST (info));
    gst_buffer_list_foreach (list, add_playout_delay, NULL);
    info->data = list;
  } else {
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
    add_playout_delay (&buf, 0, NULL);
    info->data = buf;
  }
  return GST_PAD_PROBE_OK;
}

/* rtpsession sends each transport-cc feedback report upstream as an
 * RTPTWCCPackets event: every packet's departure and arrival, the
 * controller's standing-queue figure (vs-adapt.h). Nothing upstream
 * wants it. */
static GstPadProbeReturn
twcc_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  VsWebrtcPeer *peer = data;
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  const GstStructure *s;
  const GValue *packets;
  gint64 local[256], remote[256];
  guint size[256];
  guint n = 0, len;
  gdouble queue_ms, kbps;

  if (GST_EVENT_TYPE (event) != GST_EVENT_CUSTOM_UPSTREAM
      || !(s = gst_event_get_structure (event))
      || !gst_structure_has_name (s, "RTPTWCCPackets"))
    return GST_PAD_PROBE_OK;
  packets = gst_structure_get_value (s, "packets");
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS;
  /* a GValueArray (deprecated, its type macro warns: by name) */
  if (packets && g_str_equal (G_VALUE_TYPE_NAME (packets), "GValueArray")) {
    GValueArray *array = g_value_get_boxed (packets);
    len = array ? array->n_values : 0;
    for (guint i = 0; i < len && n < G_N_ELEMENTS (local); i++) {
      const GstStructure *p =
          gst_value_get_structure (g_value_array_get_nth (array, i));
      guint64 l, r;
      guint bytes = 0;
      gboolean lost = TRUE;
      if (p && gst_structure_get_uint64 (p, "local-ts", &l)
          && gst_structure_get_uint64 (p, "remote-ts", &r)
          && gst_structure_get_boolean (p, "lost", &lost) && !lost
          && GST_CLOCK_TIME_IS_VALID (l) && GST_CLOCK_TIME_IS_VALID (r)) {
        gst_structure_get_uint (p, "size", &bytes);
        local[n] = l;
        remote[n] = r;
        size[n] = bytes;
        n++;
      }
    }
  }
  G_GNUC_END_IGNORE_DEPRECATIONS;
  if (n == 0)
    return GST_PAD_PROBE_DROP;
  g_mutex_lock (&peer->queue_lock);
  vs_queue_delay_report (&peer->queue_delay, local, remote, size, n);
  queue_ms = peer->queue_delay.last_ms;
  kbps = peer->queue_delay.last_kbps;
  g_mutex_unlock (&peer->queue_lock);
  /* the main loop decides (it knows whether this viewer steers and
   * whether its encode drains already) */
  if (queue_ms > VS_QUEUE_BRAKE_MS && kbps > 0)
    defer (peer, DEFER_BRAKE, NULL, (gsize) kbps);
  else if (queue_ms < VS_QUEUE_FULL_MS
      && g_atomic_int_compare_and_exchange (&peer->braked, 1, 0))
    defer (peer, DEFER_DRAINED, NULL, 0);
  return GST_PAD_PROBE_DROP;
}

/* A viewer that has not connected yet holds its queue's thread inside
 * webrtcbin (RTP waits for DTLS there); a serialized query, such as the
 * allocation query the encoder sends through the tee when another viewer
 * joins, would wait in that queue until this viewer connects or leaves,
 * and the encoder with it: every other viewer stalls. Nothing in this
 * bin needs those queries; they are answered here. */
static GstPadProbeReturn
query_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  GstQuery *query = GST_PAD_PROBE_INFO_QUERY (info);

  if (!GST_QUERY_IS_SERIALIZED (query))
    return GST_PAD_PROBE_OK;
  return GST_PAD_PROBE_HANDLED;
}

/* ---- negotiation ---- */

static gchar *
fix_h264_offer (const gchar * sdp)
{
  /* Browsers match H.264 by profile; say level 3.1 (what every browser
   * accepts) whatever level the encoder picked for a big frame, and allow
   * level asymmetry. */
  GRegex *re = g_regex_new ("profile-level-id=(42e0|4d00|640c|6400)"
      "[0-9a-fA-F]{2}", 0, 0, NULL);
  gchar *out = g_regex_replace (re, sdp, -1, 0,
      "profile-level-id=\\g<1>1f;level-asymmetry-allowed=1", 0, NULL);
  g_regex_unref (re);
  return out;
}

/* With --udp-ports, a gathering that finds no free port in the range
 * fails inside webrtcbin without a word: no candidate ever comes and the
 * page would wait for the negotiation timeout. The host candidates are
 * found while the local description is set, and webrtcbin hands them out
 * in a task queued then; a task queued after it (get-stats, whose reply
 * is not used) runs once they are all out: none by then means none at
 * all. (Without a range, a page that gets no candidate falls back to the
 * WebSocket when ICE does not connect.) */
static void
on_gathering_checked (GstPromise * promise, gpointer data)
{
  VsWebrtcPeer *peer = data;
  const VsConfig *cfg = peer->cfg;
  gchar *why;

  gst_promise_unref (promise);
  if (g_atomic_int_get (&peer->candidates) == 0) {
    /* libnice takes one UDP port (and one TCP port, ICE-TCP) of the range
     * on each local address per viewer: the range holds as many viewers
     * as it has ports. */
    why = g_strdup_printf ("no UDP ports left: --udp-ports %u-%u holds %u "
        "viewers", cfg->udp_min, cfg->udp_max,
        cfg->udp_max - cfg->udp_min + 1);
    defer (peer, DEFER_FAILED, why, -1);
    g_free (why);
  }
  peer_unref (peer);
}

static void
on_local_description_set (GstPromise * promise, gpointer data)
{
  VsWebrtcPeer *peer = data;

  gst_promise_unref (promise);
  g_signal_emit_by_name (peer->webrtc, "get-stats", NULL,
      gst_promise_new_with_change_func (on_gathering_checked, peer, NULL));
}

static void
on_offer_created (GstPromise * promise, gpointer data)
{
  VsWebrtcPeer *peer = data;
  GstWebRTCSessionDescription *offer = NULL;
  gchar *text, *msg;

  if (gst_promise_wait (promise) == GST_PROMISE_RESULT_REPLIED)
    gst_structure_get (gst_promise_get_reply (promise), "offer",
        GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, NULL);
  gst_promise_unref (promise);
  if (!offer) {
    defer (peer, DEFER_FAILED, "offer not created", -1);
    peer_unref (peer);
    return;
  }
  g_signal_emit_by_name (peer->webrtc, "set-local-description", offer,
      peer->cfg->udp_min ? gst_promise_new_with_change_func
      (on_local_description_set, peer_ref (peer), NULL) : NULL);
  text = gst_sdp_message_as_text (offer->sdp);
  if (peer->cfg->codec == VS_CODEC_H264) {
    gchar *fixed = fix_h264_offer (text);
    g_free (text);
    text = fixed;
  }
  gst_webrtc_session_description_free (offer);
  msg = vs_signal_message ("offer", "sdp", text);
  defer (peer, DEFER_SEND, msg, -1);
  g_free (msg);
  g_free (text);
  peer_unref (peer);
}

static void
on_negotiation_needed (GstElement * webrtc, gpointer data)
{
  VsWebrtcPeer *peer = data;
  GstPromise *p = gst_promise_new_with_change_func (on_offer_created,
      peer_ref (peer), NULL);
  g_signal_emit_by_name (webrtc, "create-offer", NULL, p);
}

static void
on_ice_candidate (GstElement * webrtc, guint mline, gchar * candidate,
    gpointer data)
{
  VsWebrtcPeer *peer = data;
  gchar *msg = vs_signal_ice (candidate, mline);

  g_atomic_int_inc (&peer->candidates);
  if (strstr (candidate, " typ relay"))
    g_atomic_int_inc (&peer->relays);
  defer (data, DEFER_SEND, msg, -1);
  g_free (msg);
}

static void
on_connection_state (GObject * webrtc, GParamSpec * pspec, gpointer data)
{
  VsWebrtcPeer *peer = data;
  GstWebRTCPeerConnectionState state;

  g_object_get (webrtc, "connection-state", &state, NULL);
  GST_INFO ("viewer %u: connection state %d", peer->id, state);
  if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED) {
    g_atomic_int_set (&peer->leg.connected, 1);
    defer (peer, DEFER_CONNECTED, NULL, 0);
  } else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED) {
    defer (peer, DEFER_FAILED, "connection failed", -1);
  } else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_DISCONNECTED ||
      state == GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED) {
    g_atomic_int_set (&peer->leg.connected, 0);
  }
}

static void
on_gathering_state (GObject * webrtc, GParamSpec * pspec, gpointer data)
{
  VsWebrtcPeer *peer = data;
  GstWebRTCICEGatheringState state;

  g_object_get (webrtc, "ice-gathering-state", &state, NULL);
  if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE && peer->cfg->turn
      && g_atomic_int_get (&peer->candidates) > 0
      && g_atomic_int_get (&peer->relays) == 0)
    defer (peer, DEFER_NO_RELAY, NULL, 0);
}

static void
on_input_message (GstWebRTCDataChannel * channel, gchar * text, gpointer data)
{
  if (text)
    defer (data, DEFER_INPUT, text, -1);
}

static void
on_input_data (GstWebRTCDataChannel * channel, GBytes * bytes, gpointer data)
{
  gsize len;
  const gchar *d = bytes ? g_bytes_get_data (bytes, &len) : NULL;
  if (d)
    defer (data, DEFER_INPUT, d, len);
}

static void
on_status_message (GstWebRTCDataChannel * channel, gchar * text,
    gpointer data)
{
  if (text && strlen (text) < 1024)
    defer (data, DEFER_CHANNEL, text, -1);
}

static void
on_data_channel (GstElement * webrtc, GstWebRTCDataChannel * channel,
    gpointer data)
{
  VsWebrtcPeer *peer = data;
  gchar *label = NULL;

  g_object_get (channel, "label", &label, NULL);
  /* Set once, on webrtcbin's thread, before any message on it. */
  if (g_strcmp0 (label, "input") == 0 && !peer->input_channel) {
    peer->input_channel = g_object_ref (channel);
    g_signal_connect (channel, "on-message-string",
        G_CALLBACK (on_input_message), peer);
    g_signal_connect (channel, "on-message-data", G_CALLBACK (on_input_data),
        peer);
  } else {
    GST_INFO ("viewer %u: ignoring data channel '%s'", peer->id, label);
  }
  g_free (label);
}

static gboolean
negotiation_timeout (gpointer data)
{
  VsWebrtcPeer *peer = data;

  peer->timeout_id = 0;
  peer->hooks.failed ("negotiation did not finish in time", peer->hooks.data);
  return G_SOURCE_REMOVE;
}

/* ---- the bin ---- */

static void
on_bin_error (const gchar * message, gpointer data)
{
  VsWebrtcPeer *peer = data;
  if (!peer->closed)
    peer->hooks.failed (message, peer->hooks.data);
}

static gboolean
make_elements (VsWebrtcPeer * peer, GError ** error)
{
  const VsConfig *cfg = peer->cfg;
  gboolean h264 = cfg->codec == VS_CODEC_H264;
  gchar name[32];

  g_snprintf (name, sizeof name, "viewer%u", peer->id);
  peer->bin = gst_object_ref_sink (gst_bin_new (name));
  {
    const VsElementSpec specs[] = {
      {"webrtcbin", &peer->webrtc}, {"queue", &peer->queue},
      {h264 ? "rtph264pay" : "rtpvp8pay", &peer->pay},
      {"capsfilter", &peer->rtpcaps},
      {h264 ? "capssetter" : NULL, &peer->setter},
    };
    if (!vs_make_elements (specs, G_N_ELEMENTS (specs), error))
      return FALSE;
  }
  gst_bin_add_many (GST_BIN (peer->bin), peer->queue, peer->pay,
      peer->rtpcaps, peer->webrtc, NULL);
  if (peer->setter)
    gst_bin_add (GST_BIN (peer->bin), peer->setter);
  return TRUE;
}

/* Retransmissions (the transceiver does NACK) are kept for at most
 * RTX_HISTORY_MS: a packet asked for later than that would arrive after
 * the frame it belongs to is due (docs/performance.md "One viewer behind
 * a slow link": unbounded, on a congested link they took the link over).
 * webrtcbin makes rtprtxsend without a clock rate, without which its
 * time limit does nothing: the video's (payload 96, 90 kHz) is given. */
#define RTX_HISTORY_MS 250

static void
on_deep_element_added (GstBin * bin, GstBin * sub, GstElement * e,
    gpointer data)
{
  GstElementFactory *f = gst_element_get_factory (e);
  GstStructure *rates;

  if (!f || !g_str_equal (GST_OBJECT_NAME (f), "rtprtxsend"))
    return;
  rates = gst_structure_new ("application/x-rtp-clock-rate-map", "96",
      G_TYPE_UINT, 90000, NULL);
  g_object_set (e, "clock-rate-map", rates, "max-size-time", RTX_HISTORY_MS,
      NULL);
  gst_structure_free (rates);
}

static void
configure_elements (VsWebrtcPeer * peer, const VsTurnCredential * turn)
{
  const VsConfig *cfg = peer->cfg;
  GstCaps *caps;
  GstWebRTCICE *ice = NULL;

  /* A viewer that cannot take what we send loses frames, never stalls
   * the encode (300 ms of frames at most). */
  g_object_set (peer->queue, "max-size-buffers", 0, "max-size-bytes", 0,
      "max-size-time", (guint64) 300 * GST_MSECOND, "leaky", 2, NULL);
  g_signal_connect (peer->queue, "overrun", G_CALLBACK (on_overrun), peer);
  g_object_set (peer->pay, "mtu", 1200, NULL);
  if (cfg->codec == VS_CODEC_H264)
    g_object_set (peer->pay, "config-interval", -1, "aggregate-mode", 1,
        NULL);
  else
    g_object_set (peer->pay, "picture-id-mode", 2, NULL);
  caps = gst_caps_new_simple ("application/x-rtp", "media", G_TYPE_STRING,
      "video", "payload", G_TYPE_INT, 96, "extmap-1", G_TYPE_STRING, TWCC_URI,
      "extmap-2", G_TYPE_STRING, PLAYOUT_DELAY_URI, NULL);
  g_object_set (peer->rtpcaps, "caps", caps, NULL);
  gst_caps_unref (caps);
  if (peer->setter) {
    /* what the page decodes, whatever profile its encode sends now: a
     * Main decoder takes constrained baseline too */
    caps = gst_caps_new_simple ("application/x-rtp", "profile-level-id",
        G_TYPE_STRING, peer->plid, "packetization-mode", G_TYPE_STRING, "1",
        NULL);
    g_object_set (peer->setter, "caps", caps, "join", TRUE, "replace", FALSE,
        NULL);
    gst_caps_unref (caps);
  }

  g_object_set (peer->webrtc, "bundle-policy",
      GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, "latency", 50, NULL);
  if (cfg->stun)
    g_object_set (peer->webrtc, "stun-server", cfg->stun, NULL);
  for (gchar ** t = cfg->turn; t && *t; t++) {
    /* With a TURN secret: this viewer's credential, the page's too. */
    gchar *uri = turn ? vs_turn_uri_with_credential (*t, turn) : NULL;
    gboolean ok = FALSE;

    g_signal_emit_by_name (peer->webrtc, "add-turn-server", uri ? uri : *t,
        &ok);
    if (!ok)
      GST_WARNING ("TURN server '%s' refused by webrtcbin", *t);
    g_free (uri);
  }
  g_object_get (peer->webrtc, "ice-agent", &ice, NULL);
  if (ice) {
    for (gchar ** a = cfg->ice_addresses; a && *a; a++) {
      gboolean ok = FALSE;
      g_signal_emit_by_name (ice, "add-local-ip-address", *a, &ok);
      if (!ok)
        GST_WARNING ("ICE address '%s' refused", *a);
    }
    /* ICE over TCP too, for networks that block UDP. */
    if (g_object_class_find_property (G_OBJECT_GET_CLASS (ice), "ice-tcp"))
      g_object_set (ice, "ice-tcp", TRUE, "ice-udp", TRUE, NULL);
    if (cfg->udp_min) {
      GObject *agent = NULL;

      g_object_set (ice, "min-rtp-port", cfg->udp_min, "max-rtp-port",
          cfg->udp_max, NULL);
      /* libnice's UPnP would listen on more ports (SSDP on 1900, an HTTP
       * server) and ask the router for port mappings: not with a fixed
       * range and the firewall rules written for it (docs/deploy.md). */
      if (g_object_class_find_property (G_OBJECT_GET_CLASS (ice), "agent"))
        g_object_get (ice, "agent", &agent, NULL);
      if (agent && g_object_class_find_property (G_OBJECT_GET_CLASS (agent),
              "upnp"))
        g_object_set (agent, "upnp", FALSE, NULL);
      g_clear_object (&agent);
    }
    gst_object_unref (ice);
  }
  g_signal_connect (peer->webrtc, "deep-element-added",
      G_CALLBACK (on_deep_element_added), peer);
  g_signal_connect (peer->webrtc, "on-negotiation-needed",
      G_CALLBACK (on_negotiation_needed), peer);
  g_signal_connect (peer->webrtc, "on-ice-candidate",
      G_CALLBACK (on_ice_candidate), peer);
  g_signal_connect (peer->webrtc, "notify::connection-state",
      G_CALLBACK (on_connection_state), peer);
  g_signal_connect (peer->webrtc, "notify::ice-gathering-state",
      G_CALLBACK (on_gathering_state), peer);
  g_signal_connect (peer->webrtc, "on-data-channel",
      G_CALLBACK (on_data_channel), peer);
}

/* queue ! pay ! rtpcaps [! setter] ! webrtcbin, a ghost "sink" pad. */
static gboolean
link_elements (VsWebrtcPeer * peer, GError ** error)
{
  GstWebRTCRTPTransceiver *trans = NULL;
  GstPad *pad, *wsink;
  GstPadLinkReturn ret;

  gst_element_link_many (peer->queue, peer->pay, peer->rtpcaps, NULL);
  if (peer->setter)
    gst_element_link (peer->rtpcaps, peer->setter);
  wsink = gst_element_request_pad_simple (peer->webrtc, "sink_%u");
  pad = gst_element_get_static_pad (peer->setter ? peer->setter :
      peer->rtpcaps, "src");
  ret = gst_pad_link (pad, wsink);
  gst_object_unref (pad);
  if (ret != GST_PAD_LINK_OK) {
    gst_object_unref (wsink);
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
        "cannot link to webrtcbin");
    return FALSE;
  }
  g_object_get (wsink, "transceiver", &trans, NULL);
  gst_object_unref (wsink);
  if (trans) {
    g_object_set (trans, "direction",
        GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, "do-nack", TRUE, NULL);
    gst_object_unref (trans);
  }
  pad = gst_element_get_static_pad (peer->queue, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM, query_probe,
      NULL, NULL);
  gst_element_add_pad (peer->bin, gst_ghost_pad_new ("sink", pad));
  gst_object_unref (pad);
  pad = gst_element_get_static_pad (peer->queue, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, pli_probe, peer,
      NULL);
  gst_object_unref (pad);
  if (peer->cfg->codec == VS_CODEC_H264) {
    pad = gst_element_get_static_pad (peer->pay, "sink");
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
        key_unit_probe, NULL, NULL);
    gst_object_unref (pad);
  }
  pad = gst_element_get_static_pad (peer->pay, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_BUFFER_LIST, rtp_probe, peer, NULL);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_BUFFER_LIST, playout_probe, NULL, NULL);
  gst_object_unref (pad);
  pad = gst_element_get_static_pad (peer->setter ? peer->setter :
      peer->rtpcaps, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, twcc_probe,
      peer, NULL);
  gst_object_unref (pad);
  return TRUE;
}

VsWebrtcPeer *
vs_webrtc_peer_new (guint id, const VsConfig * cfg,
    const VsTurnCredential * turn, const gchar * h264_main,
    VsMedia * media, VsEncodes * encodes, const VsPeerHooks * hooks,
    GError ** error)
{
  VsWebrtcPeer *peer = g_new0 (VsWebrtcPeer, 1);
  GstPad *pad;

  peer->ref = 1;
  peer->id = id;
  g_mutex_init (&peer->queue_lock);
  peer->cfg = cfg;
  peer->media = media;
  peer->hooks = *hooks;
  if (!make_elements (peer, error)) {
    peer_unref (peer);
    return NULL;
  }
  vs_leg_init (&peer->leg, encodes, peer->bin);
  peer->leg.main_ok = h264_main != NULL;
  g_strlcpy (peer->plid, h264_main ? h264_main : "42e01f", sizeof peer->plid);
  configure_elements (peer, turn);
  if (!link_elements (peer, error)) {
    peer->closed = TRUE;
    g_signal_handlers_disconnect_by_data (peer->webrtc, peer);
    g_signal_handlers_disconnect_by_data (peer->queue, peer);
    peer_unref (peer);
    return NULL;
  }
  vs_media_add_branch (media, peer->bin, on_bin_error, peer);
  /* The server's own channel (status, timing, clock), made before the
   * offer so that the offer carries SCTP and the page can open "input";
   * webrtcbin must be running for it. */
  gst_element_sync_state_with_parent (peer->bin);
  g_signal_emit_by_name (peer->webrtc, "create-data-channel", "vizstream",
      NULL, &peer->status_channel);
  if (peer->status_channel)
    g_signal_connect (peer->status_channel, "on-message-string",
        G_CALLBACK (on_status_message), peer);
  pad = gst_element_get_static_pad (peer->queue, "src");
  vs_leg_attach (&peer->leg, pad);
  gst_object_unref (pad);
  vs_leg_request_key (&peer->leg);
  peer->timeout_id = g_timeout_add_seconds (cfg->negotiation_timeout,
      negotiation_timeout, peer);
  return peer;
}

void
vs_webrtc_peer_close (VsWebrtcPeer * peer)
{
  if (!peer || peer->closed)
    return;
  peer->closed = TRUE;
  if (peer->timeout_id)
    g_source_remove (peer->timeout_id);
  peer->timeout_id = 0;
  vs_leg_detach (&peer->leg);
  g_signal_handlers_disconnect_by_data (peer->webrtc, peer);
  g_signal_handlers_disconnect_by_data (peer->queue, peer);
  if (peer->status_channel)
    g_signal_handlers_disconnect_by_data (peer->status_channel, peer);
  if (peer->input_channel)
    g_signal_handlers_disconnect_by_data (peer->input_channel, peer);
  /* One removal: the bin stops sinks first (webrtcbin releases the
   * queue's thread), then it leaves the pipeline. */
  vs_media_remove_branch (peer->media, peer->bin);
  peer_unref (peer);
}

/* ---- signalling ---- */

void
vs_webrtc_peer_set_answer (VsWebrtcPeer * peer, const gchar * sdp,
    GError ** error)
{
  GstSDPMessage *msg = NULL;
  GstWebRTCSessionDescription *answer;
  GstPromise *p;

  if (gst_sdp_message_new_from_text (sdp, &msg) != GST_SDP_OK || !msg
      || gst_sdp_message_medias_len (msg) == 0) {
    if (msg)
      gst_sdp_message_free (msg);
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "the answer is not an SDP with media");
    return;
  }
  answer = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_ANSWER,
      msg);
  p = gst_promise_new ();
  g_signal_emit_by_name (peer->webrtc, "set-remote-description", answer, p);
  gst_promise_interrupt (p);
  gst_promise_unref (p);
  gst_webrtc_session_description_free (answer);
}

void
vs_webrtc_peer_add_candidate (VsWebrtcPeer * peer, guint mline,
    const gchar * candidate)
{
  g_signal_emit_by_name (peer->webrtc, "add-ice-candidate", mline, candidate);
}

/* ---- link ---- */

static GObject *
rtp_session (VsWebrtcPeer * peer)
{
  GstElement *rtpbin = gst_bin_get_by_name (GST_BIN (peer->webrtc),
      "rtpbin");
  GObject *session = NULL;

  if (!rtpbin)
    return NULL;
  g_signal_emit_by_name (rtpbin, "get-session", 0, &session);
  gst_object_unref (rtpbin);
  return session;
}

gboolean
vs_webrtc_peer_measure (VsWebrtcPeer * peer)
{
  VsLinkStats *link = &peer->leg.adapt.link;
  GstStructure *s = NULL;
  GObject *session;
  gdouble d;
  gint64 i64;
  guint u;

  if (!g_atomic_int_get (&peer->leg.connected)
      || !(session = rtp_session (peer)))
    return FALSE;
  g_object_get (session, "twcc-stats", &s, NULL);
  g_object_unref (session);
  if (!s)
    return FALSE;
  GST_LOG ("viewer %u twcc %" GST_PTR_FORMAT, peer->id, s);
  if (!gst_structure_get_uint (s, "packets-sent", &u) || u == 0) {
    gst_structure_free (s);
    return FALSE;
  }
  if (gst_structure_get_double (s, "packet-loss-pct", &d))
    link->loss = d / 100.0;
  if (gst_structure_get_uint (s, "bitrate-recv", &u))
    link->recv_kbps = u / 1000.0;
  if (gst_structure_get_uint (s, "bitrate-sent", &u))
    link->sent_kbps = u / 1000.0;
  if (gst_structure_get_int64 (s, "avg-delta-of-delta", &i64))
    link->delay_trend = i64 / 1e6;      /* ms */
  gst_structure_free (s);
  g_mutex_lock (&peer->queue_lock);
  d = vs_queue_delay_tick (&peer->queue_delay);
  g_mutex_unlock (&peer->queue_lock);
  /* no report this second (nothing sent): no queue seen */
  link->queue_ms = MAX (d, 0);
  /* a repair the tick ended: the next drained report is not one */
  if (!link->repair)
    g_atomic_int_set (&peer->braked, 0);
  return TRUE;
}

VsLeg *
vs_webrtc_peer_leg (VsWebrtcPeer * peer)
{
  return &peer->leg;
}

void
vs_webrtc_peer_describe (VsWebrtcPeer * peer, JsonBuilder * b)
{
  const VsLinkStats *link = &peer->leg.adapt.link;

  json_builder_set_member_name (b, "connected");
  json_builder_add_boolean_value (b, g_atomic_int_get (&peer->leg.connected));
  json_builder_set_member_name (b, "variant");
  json_builder_add_string_value (b, vs_leg_variant_name (&peer->leg));
  json_builder_set_member_name (b, "loss");
  json_builder_add_double_value (b, link->loss);
  json_builder_set_member_name (b, "recv_kbps");
  json_builder_add_double_value (b, link->recv_kbps);
  json_builder_set_member_name (b, "sent_kbps");
  json_builder_add_double_value (b, link->sent_kbps);
  json_builder_set_member_name (b, "delay_trend_ms");
  json_builder_add_double_value (b, link->delay_trend);
  json_builder_set_member_name (b, "queue_ms");
  json_builder_add_double_value (b, link->queue_ms);
  json_builder_set_member_name (b, "overruns");
  json_builder_add_int_value (b, g_atomic_int_get (&peer->leg.overruns));
  json_builder_set_member_name (b, "repair_key_frames");
  json_builder_add_int_value (b, peer->leg.repairs);
  if (peer->cfg->codec == VS_CODEC_H264) {
    json_builder_set_member_name (b, "h264_profile_level_id");
    json_builder_add_string_value (b, peer->plid);
  }
}

void
vs_webrtc_peer_post_test_error (VsWebrtcPeer * peer)
{
  GError *err = g_error_new_literal (GST_STREAM_ERROR,
      GST_STREAM_ERROR_FAILED, "test hook: an error inside a viewer's bin");
  gst_element_post_message (peer->pay,
      gst_message_new_error (GST_OBJECT (peer->pay), err, "test_error"));
  g_error_free (err);
}
