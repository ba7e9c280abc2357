/* vizstream-server: one encode per codec, one webrtcbin per viewer.
 *
 * Threads: everything below runs on the main loop except the pad probes
 * (streaming threads) and webrtcbin's signal callbacks (its own threads);
 * those only touch atomics or hand work to the main loop with
 * g_main_context_invoke / g_idle_add, holding a viewer reference. */
#ifndef VS_SERVER_H
#define VS_SERVER_H

#include <gst/gst.h>
#include <libsoup/soup.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum { VS_CODEC_H264, VS_CODEC_VP8 } VsCodec;

typedef enum {
  VS_CONTROL_FIRST,             /* the oldest viewer (or a token holder) */
  VS_CONTROL_ALL,               /* everybody */
  VS_CONTROL_TOKEN,             /* token holders only (implied by --token) */
  VS_CONTROL_NONE               /* nobody: a broadcast */
} VsControlPolicy;

/* A program that embeds the server (examples/gl/vizstream-gldemo.c): it
 * gives the pipeline's source and takes the controlling viewers' input
 * itself, instead of a renderer's segment. */
typedef struct
{
  /* The source element (producing video/x-raw); called once, main loop. */
  GstElement *(*make_source) (gpointer data, GError ** error);
  /* A controlling viewer's input message as the page sent it: JSON
   * events, coordinates normalized to 0..1 (main loop). */
  gboolean (*input) (guint viewer_id, const gchar * text, gsize len,
      gpointer data);
  gpointer data;
} VsEmbed;

/* The server's main(): options as vizstream-server takes them. */
int vs_server_main (int argc, char **argv, const VsEmbed * embed);

typedef struct
{
  const VsEmbed *embed;
  gchar *segment;
  gchar *pipeline_desc;         /* --pipeline: replaces shmframesrc */
  gchar *bind;
  guint port;
  VsCodec codec;
  gchar *encoder;               /* --encoder: element name, or NULL = pick */
  guint bitrate;                /* start, kbit/s */
  guint min_bitrate, max_bitrate;
  guint max_fps;
  guint max_width, max_height;  /* 0 = the renderer's size */
  gchar *stun;
  gchar **turn;
  gchar **ice_addresses;
  gchar *token;
  VsControlPolicy control;
  gchar **origins;              /* extra allowed WebSocket origins */
  guint max_viewers;
  guint max_message;            /* bytes, signalling and data channel */
  guint negotiation_timeout;    /* seconds */
  gboolean allow_resize;
  gboolean adapt;               /* the bitrate controller */
  gboolean quiet;
  gchar *profile;
  gchar **rtmp;                 /* --rtmp URLs */
  guint rtmp_bitrate;           /* kbit/s */
  guint rtmp_key_interval;      /* seconds */
  guint mjpeg_quality;
  guint mjpeg_fps;
  guint max_input_rate;         /* input messages per second per viewer */
} VsConfig;

typedef struct _VsServer VsServer;
typedef struct _VsMedia VsMedia;
typedef struct _VsViewer VsViewer;
typedef struct _VsVariant VsVariant;
typedef struct _VsBroadcast VsBroadcast;

/* ---- the encode (vs-media.c) ---- */

VsMedia *vs_media_new (VsServer * server, const VsConfig * config,
    GError ** error);
void vs_media_free (VsMedia * media);
const gchar *vs_media_encoder_name (VsMedia * media);
/* Adds a viewer's branch (queue, payloader, webrtcbin) and starts
 * negotiating; offers and candidates go to vs_viewer_send(). */
gboolean vs_media_add_viewer (VsMedia * media, VsViewer * viewer,
    GError ** error);
void vs_media_remove_viewer (VsMedia * media, VsViewer * viewer);
/* The same encode over the viewer's WebSocket (binary messages), for
 * pages that cannot do WebRTC; acknowledgements bound what is in flight. */
gboolean vs_media_add_ws_viewer (VsMedia * media, VsViewer * viewer,
    GError ** error);
/* A viewer that only sends input (MJPEG pages). */
void vs_media_add_input_viewer (VsMedia * media, VsViewer * viewer);
void vs_media_ws_ack (VsMedia * media, VsViewer * viewer, guint32 seq);
void vs_media_set_remote_answer (VsMedia * media, VsViewer * viewer,
    const gchar * sdp, GError ** error);
void vs_media_add_remote_candidate (VsMedia * media, VsViewer * viewer,
    guint mline, const gchar * candidate);
/* The controlling viewer changed: the encoder follows its link. */
void vs_media_set_leader (VsMedia * media, VsViewer * viewer);
/* Fills a status object (fps, bitrate, renderer, per viewer). */
void vs_media_describe (VsMedia * media, JsonBuilder * b);
void vs_media_tick (VsMedia * media, gdouble * fps, gdouble * kbps,
    guint * target_kbps);

GstElement *vs_media_pipeline (VsMedia * media);
/* The frame rate cap both encodes and MJPEG use (a pad probe's verdict). */
gboolean vs_rate_cap_pass (GstClockTime * next, GstClockTime pts, guint fps);
GstElement *vs_media_rawtee (VsMedia * media);

/* ---- RTMP pushes and MJPEG (vs-broadcast.c) ---- */

VsBroadcast *vs_broadcast_new (VsServer * server, VsMedia * media,
    const VsConfig * config, GError ** error);
void vs_broadcast_free (VsBroadcast * bc);
void vs_broadcast_tick (VsBroadcast * bc, GString * line);
void vs_broadcast_describe (VsBroadcast * bc, JsonBuilder * b);
void vs_broadcast_mjpeg (VsBroadcast * bc, SoupServerMessage * msg);
void vs_broadcast_snapshot (VsBroadcast * bc, SoupServerMessage * msg);

/* ---- viewers and signalling (vs-server.c) ---- */

struct _VsViewer
{
  gint ref;
  guint id;
  VsServer *server;
  SoupWebsocketConnection *ws;
  gboolean controls;
  gboolean closed;
  gint64 joined_us;
  guint64 events_in, events_dropped, bytes_in;
  guint64 events_rate_limited;
  gdouble input_tokens;         /* token bucket, --max-input-rate */
  gint64 input_refill_us;
  /* owned by vs-media.c */
  gpointer media_priv;
};

VsViewer *vs_viewer_ref (VsViewer * viewer);
void vs_viewer_unref (VsViewer * viewer);
/* Sends a JSON object to the viewer's page (main loop only). */
void vs_viewer_send (VsViewer * viewer, JsonNode * message);
void vs_viewer_send_error (VsViewer * viewer, const gchar * message);
/* A data channel message from the page's "input" channel (main loop). */
void vs_viewer_input (VsViewer * viewer, const gchar * text, gsize len);
/* Ends a viewer's session (main loop); reason goes to its page. */
void vs_viewer_close (VsViewer * viewer, const gchar * reason);

const VsConfig *vs_server_config (VsServer * server);
/* Broadcast to every viewer's page. */
void vs_server_broadcast (VsServer * server, JsonNode * message);
void vs_server_fatal (VsServer * server, const gchar * message);

gboolean vs_media_push_input (VsMedia * media, VsViewer * viewer,
    const gchar * text, gsize len, GError ** error);
void vs_media_describe_viewer (VsMedia * media, VsViewer * viewer,
    JsonBuilder * b);

G_END_DECLS
#endif
