/* vizstream-server: every message the server parses from a page, and the
 * few it builds (docs/server.md, "Signalling").
 *
 * Parsed and type-checked in one place: what another party wrote never
 * reaches the server as anything but a VsSignal or an error for that
 * page. Pure: no GStreamer, no connections.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  /* on the WebSocket (/ws) */
  VS_SIGNAL_HELLO,
  VS_SIGNAL_ANSWER,
  VS_SIGNAL_ICE,
  VS_SIGNAL_PING,               /* also on the data channel */
  VS_SIGNAL_ACK,
  VS_SIGNAL_INPUT,
  /* on the "vizstream" data channel */
  VS_SIGNAL_TIMING,
  VS_SIGNAL_KEYFRAME,
  /* on the WebSocket, only with VIZSTREAM_TEST_HOOKS=1 */
  VS_SIGNAL_TEST_ERROR,
  VS_SIGNAL_LAST = VS_SIGNAL_TEST_ERROR
} VsSignalType;

/* Where a message came from: each place takes its own messages. */
typedef enum
{
  VS_SIGNAL_FROM_WEBSOCKET,
  VS_SIGNAL_FROM_CHANNEL,
  VS_SIGNAL_FROM_WEBSOCKET_TESTING      /* also test_error */
} VsSignalSource;

typedef struct
{
  VsSignalType type;
  gchar *token;                 /* hello, optional */
  gboolean view_only;           /* hello */
  gchar *transport;             /* hello: webrtc (default), ws or mjpeg */
  /* hello: from "h264", the profile-level-ids the page's WebRTC receiver
   * decodes: the one to offer it for Main profile (4d001f, else 640c1f or
   * 64001f: High decoders take Main), or NULL (constrained baseline). */
  gchar *h264_main;
  gchar *sdp;                   /* answer */
  gchar *candidate;             /* ice ("" ends gathering) */
  guint mline;                  /* ice, 0..16 */
  gdouble t;                    /* ping: the page's clock, ms */
  guint32 n;                    /* ack */
  gchar *data;                  /* input: event JSON text */
  gboolean on;                  /* timing */
  gboolean pipeline;            /* test_error: "where":"pipeline" */
} VsSignal;

/* FALSE with a message meant for the page that sent it. */
gboolean vs_signal_parse (const gchar * text, gsize len,
    VsSignalSource source, VsSignal * out, GError ** error);
void vs_signal_clear (VsSignal * s);

/* The answer to a ping: {"type":"pong","t":T,"server_ms":NOW}. */
gchar *vs_signal_pong (gdouble t, gdouble server_ms);

/* {"type":"ended","reason":R} and, for a session, "restart": where a new
 * one starts, relative to the stream's page (docs/server.md "Sessions"). */
gchar *vs_signal_ended (const gchar * reason, const gchar * restart);
/* The messages the server sends, as text: {"type":TYPE,KEY:VALUE} (role,
 * error, renderer, offer), and an ICE candidate. */
gchar *vs_signal_message (const gchar * type, const gchar * key,
    const gchar * value);
gchar *vs_signal_ice (const gchar * candidate, guint mline);

G_END_DECLS
