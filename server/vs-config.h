/* vizstream-server: options (the option table, defaults, validation).
 *
 * The lowest module of the server: it calls nothing of the others.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "vs-embed.h"

G_BEGIN_DECLS

typedef enum { VS_CODEC_H264, VS_CODEC_VP8 } VsCodec;

typedef enum
{
  VS_CONTROL_FIRST,             /* the oldest viewer (or a token holder) */
  VS_CONTROL_ALL,               /* everybody */
  VS_CONTROL_TOKEN,             /* token holders only (implied by --token) */
  VS_CONTROL_NONE               /* nobody: a broadcast */
} VsControlPolicy;

/* A stream given on the command line: --segment [NAME=]SEGMENT
 * [,token-file=PATH] (docs/server.md "Several streams"). */
typedef struct
{
  gchar *name;                  /* [A-Za-z0-9_-]{1,64}: /s/NAME/ */
  gchar *segment;
  gchar *token;                 /* its own token, or NULL: the server's */
} VsConfigStream;

/* Every setting, validated; read-only once the server runs. A stream runs
 * with a copy of its server's (vs-stream.c) in which segment, token and
 * stream_name are its own. */
typedef struct
{
  const VsEmbed *embed;
  gchar *segment;               /* the first stream's (the only one's) */
  VsConfigStream *streams;      /* --segment, in order */
  guint n_streams;              /* 1 with --pipeline or an embedder */
  const gchar *stream_name;     /* a stream's copy: its name */
  gboolean log_stream_name;     /* a stream's copy: "NAME: " before its logs */
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
  gchar *token;                 /* --token-file, $VIZSTREAM_TOKEN, --token */
  gchar *status_token;          /* /status also answers this (NULL: token) */
  VsControlPolicy control;
  gchar **origins;              /* extra allowed WebSocket origins */
  guint max_viewers;
  guint max_message;            /* bytes, signalling and data channel */
  guint negotiation_timeout;    /* seconds */
  gboolean allow_resize;
  gboolean adapt;               /* the bitrate controller */
  gboolean quiet;
  gboolean log_tty;             /* stderr is a terminal (a status line) */
  gchar *profile;
  gchar **rtmp;                 /* --rtmp URLs */
  guint rtmp_bitrate;           /* kbit/s */
  guint rtmp_key_interval;      /* seconds */
  guint mjpeg_quality;
  guint mjpeg_fps;
  guint max_input_rate;         /* input messages per second per viewer */
  gboolean test_hooks;          /* VIZSTREAM_TEST_HOOKS=1: tests only */
  /* Internet deployment (docs/deploy.md). */
  gchar *turn_secret;           /* coturn use-auth-secret; --turn has no user */
  guint turn_ttl;               /* seconds a minted TURN credential lives */
  gchar *tls_cert, *tls_key;    /* PEM files: HTTPS and WSS */
  guint udp_min, udp_max;       /* --udp-ports; 0 = any */
  guint request_timeout;        /* seconds to finish a request's headers */
  guint idle_timeout;           /* seconds an idle keep-alive connection lives */
  guint max_per_address;        /* connections at once from one address */
  /* Janus edges and their spectators (docs/broadcast.md). */
  gchar **janus_rtp;            /* --janus-rtp HOST:PORT, RTCP on PORT+1 */
  gchar **janus_url;            /* Janus APIs as /watch's browsers reach them */
  gint64 janus_mountpoint;      /* the Streaming mountpoint /watch plays */
  /* Recording (docs/broadcast.md). */
  gchar *record_dir;            /* --record: NULL = off */
  guint64 record_max_bytes;     /* --record-max-size: a new file past it */
  guint record_max_seconds;     /* --record-max-seconds: likewise */
  /* Renderers on demand (vs-launch.h). */
  gchar *launch;                /* --launch template; NULL = off */
  guint launch_timeout;         /* seconds for a valid segment */
  guint max_sessions;           /* launched sessions at once */
  guint session_idle_timeout;   /* seconds a session outlives its viewers */
  gchar *launch_log_dir;        /* the renderers' logs, SESSION.log */
} VsConfig;

typedef enum
{
  VS_CONFIG_RUN,                /* valid: start the server */
  VS_CONFIG_EXIT,               /* --version printed: exit 0 */
  VS_CONFIG_BAD                 /* error set: exit 2 */
} VsConfigResult;

/* Parses the command line (argv is not modified; GStreamer's own options
 * are taken too) into cfg, with defaults and every check. On
 * VS_CONFIG_BAD, error says what the user should change. */
VsConfigResult vs_config_parse (VsConfig * cfg, gint argc,
    const gchar * const *argv, const VsEmbed * embed, GError ** error);
void vs_config_clear (VsConfig * cfg);

/* One line in the server's log (stderr; journald keeps it as one entry):
 * a viewer joining or leaving, a refusal, a state change. Nothing with
 * --quiet. On a terminal it goes above the status line. */
void vs_log (const VsConfig * cfg, const gchar * format, ...)
    G_GNUC_PRINTF (2, 3);

/* A URL as it may be shown (logs, /status): no user or password, no query,
 * and the last path segment (an RTMP stream key) replaced by "***". */
gchar *vs_config_redact_url (const gchar * url);

/* Reads a secret (a token, a TURN secret) from path: a regular file that
 * neither its group nor others may read, one line, not empty; trailing
 * white space goes. */
gboolean vs_config_read_secret (const gchar * path, const gchar * what,
    gchar ** out, GError ** error);

/* A stream's name: 1 to 64 of A-Z a-z 0-9 _ - (it goes into URLs). */
gboolean vs_config_stream_name_ok (const gchar * name);
/* Parses one --segment value ([NAME=]SEGMENT[,token-file=PATH]) into
 * out (cleared with vs_config_stream_clear). */
gboolean vs_config_parse_stream (const gchar * spec, VsConfigStream * out,
    GError ** error);
void vs_config_stream_clear (VsConfigStream * s);

/* "2000", "800k", "4M" -> kbit/s (1..100000). */
gboolean vs_config_parse_kbps (const gchar * s, guint * out);
/* "1048576", "500M", "2G" (K, M, G: powers of 1024) -> bytes. */
gboolean vs_config_parse_bytes (const gchar * s, guint64 * out);

G_END_DECLS
