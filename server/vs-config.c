/* vizstream-server: options (vs-config.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-config.h"

#include <stdio.h>
#include <string.h>
#include <gio/gio.h>
#include <gst/gst.h>

#define VS_CONFIG_ERROR (vs_config_error_quark ())
static GQuark vs_config_error_quark (void);
G_DEFINE_QUARK (vs-config-error-quark, vs_config_error);

gboolean
vs_config_parse_kbps (const gchar * s, guint * out)
{
  gchar *end;
  gdouble v = g_ascii_strtod (s, &end);
  if (end == s || v <= 0)
    return FALSE;
  if (*end == 'M' || *end == 'm')
    v *= 1000, end++;
  else if (*end == 'k' || *end == 'K')
    end++;
  if (*end != '\0' || v > 100000 || v < 1)
    return FALSE;
  *out = (guint) v;
  return TRUE;
}

/* What the option table fills before the checks turn it into a VsConfig. */
typedef struct
{
  gchar *codec, *bitrate, *control, *max_size, *rtmp_bitrate;
  gint port, max_fps, max_viewers, max_message, timeout, rtmp_key,
      mjpeg_quality, mjpeg_fps, max_input_rate;
  gboolean no_adapt, version;
} RawOptions;

static void
raw_clear (RawOptions * o)
{
  g_free (o->codec);
  g_free (o->bitrate);
  g_free (o->control);
  g_free (o->max_size);
  g_free (o->rtmp_bitrate);
}

static gboolean
bad (GError ** error, const gchar * format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
bad (GError ** error, const gchar * format, ...)
{
  va_list args;
  gchar *m;

  va_start (args, format);
  m = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, VS_CONFIG_ERROR, 0, m);
  g_free (m);
  return FALSE;
}

static gboolean
has_scheme (gchar ** list, const gchar * a, const gchar * b, gchar ** which)
{
  for (gchar ** u = list; u && *u; u++)
    if (!g_str_has_prefix (*u, a) && !g_str_has_prefix (*u, b)) {
      *which = *u;
      return FALSE;
    }
  return TRUE;
}

/* Turns the raw options into cfg: defaults, profiles, ranges. */
static gboolean
validate (VsConfig * cfg, RawOptions * o, const VsEmbed * embed,
    GError ** error)
{
  gchar *which = NULL;

  cfg->codec = VS_CODEC_H264;
  if (o->codec && g_ascii_strcasecmp (o->codec, "vp8") == 0)
    cfg->codec = VS_CODEC_VP8;
  else if (o->codec && g_ascii_strcasecmp (o->codec, "h264") != 0)
    return bad (error, "--codec wants h264 or vp8");
  cfg->bitrate = 2500;
  cfg->min_bitrate = 150;
  if (cfg->profile && g_str_equal (cfg->profile, "low")) {
    cfg->bitrate = 300;
    cfg->min_bitrate = 80;
    cfg->max_width = 640;
    cfg->max_height = 360;
    o->max_fps = MIN (o->max_fps, 15);
  } else if (cfg->profile && !g_str_equal (cfg->profile, "default")) {
    return bad (error, "--profile wants low or default");
  }
  if (o->bitrate && !vs_config_parse_kbps (o->bitrate, &cfg->bitrate))
    return bad (error, "--bitrate wants kbit/s such as 2000, 800k or 4M");
  cfg->max_bitrate = cfg->bitrate;
  cfg->min_bitrate = MIN (cfg->min_bitrate, cfg->bitrate);
  if (o->max_fps < 1 || o->max_fps > 240)
    return bad (error, "--max-fps wants 1..240");
  cfg->max_fps = o->max_fps;
  if (o->max_size) {
    guint w, h;
    gchar tail;
    if (sscanf (o->max_size, "%ux%u%c", &w, &h, &tail) != 2 || w < 16
        || h < 16 || w > 16384 || h > 16384)
      return bad (error, "--max-size wants WxH, e.g. 1280x720");
    cfg->max_width = w;
    cfg->max_height = h;
  }
  cfg->control = VS_CONTROL_FIRST;
  if (o->control) {
    if (g_str_equal (o->control, "first"))
      cfg->control = VS_CONTROL_FIRST;
    else if (g_str_equal (o->control, "all"))
      cfg->control = VS_CONTROL_ALL;
    else if (g_str_equal (o->control, "token"))
      cfg->control = VS_CONTROL_TOKEN;
    else if (g_str_equal (o->control, "none"))
      cfg->control = VS_CONTROL_NONE;
    else
      return bad (error, "--control wants first, all, token or none");
  }
  if (cfg->control == VS_CONTROL_TOKEN && !cfg->token)
    return bad (error, "--control token needs --token");
  if (o->port < 0 || o->port > 65535 || o->max_viewers < 1
      || o->max_message < 1024 || o->timeout < 1)
    return bad (error, "--port, --max-viewers, --max-message or "
        "--negotiation-timeout out of range");
  cfg->embed = embed;
  if (!cfg->segment && !cfg->pipeline_desc && !(embed && embed->make_source))
    return bad (error, "which renderer? --segment NAME (or --pipeline DESC); "
        "see --help");
  if (cfg->stun && !g_str_has_prefix (cfg->stun, "stun://"))
    return bad (error, "--stun wants stun://host:port");
  if (!has_scheme (cfg->turn, "turn://", "turns://", &which))
    return bad (error, "--turn wants turn(s)://user:pass@host:port, not '%s'",
        which);
  cfg->rtmp_bitrate = 2500;
  if (o->rtmp_bitrate && !vs_config_parse_kbps (o->rtmp_bitrate,
          &cfg->rtmp_bitrate))
    return bad (error, "--rtmp-bitrate wants kbit/s");
  if (!has_scheme (cfg->rtmp, "rtmp://", "rtmps://", &which))
    return bad (error, "--rtmp wants rtmp://host[:port]/app/stream, not '%s'",
        which);
  if (o->rtmp_key < 1 || o->rtmp_key > 60 || o->mjpeg_quality < 1
      || o->mjpeg_quality > 100 || o->mjpeg_fps < 1 || o->mjpeg_fps > 120)
    return bad (error, "--rtmp-key-interval (1..60), --mjpeg-quality "
        "(1..100) or --mjpeg-fps (1..120) out of range");
  if (o->max_input_rate < 1 || o->max_input_rate > 100000)
    return bad (error, "--max-input-rate wants 1..100000");
  cfg->max_input_rate = o->max_input_rate;
  cfg->rtmp_key_interval = o->rtmp_key;
  cfg->mjpeg_quality = o->mjpeg_quality;
  cfg->mjpeg_fps = o->mjpeg_fps;
  cfg->port = o->port;
  cfg->max_viewers = o->max_viewers;
  cfg->max_message = o->max_message;
  cfg->negotiation_timeout = o->timeout;
  cfg->adapt = !o->no_adapt;
  if (!cfg->bind)
    cfg->bind = g_strdup ("127.0.0.1");
  {
    GInetAddress *ia = g_inet_address_new_from_string (cfg->bind);
    if (!ia)
      return bad (error, "--bind wants an IP address, not '%s'", cfg->bind);
    g_object_unref (ia);
  }
  cfg->test_hooks = g_strcmp0 (g_getenv ("VIZSTREAM_TEST_HOOKS"), "1") == 0;
  return TRUE;
}

VsConfigResult
vs_config_parse (VsConfig * cfg, gint argc, const gchar * const *argv,
    const VsEmbed * embed, GError ** error)
{
  RawOptions o = {
    .port = 8080,.max_fps = 30,.max_viewers = 16,.max_message = 65536,
    .timeout = 20,.rtmp_key = 2,.mjpeg_quality = 80,.mjpeg_fps = 15,
    .max_input_rate = 250,
  };
  const GOptionEntry entries[] = {
    {"segment", 's', 0, G_OPTION_ARG_STRING, &cfg->segment,
        "The renderer's shared segment (frames in, events out)", "NAME"},
    {"port", 'p', 0, G_OPTION_ARG_INT, &o.port,
        "HTTP port (default 8080; 0 picks a free one)", "PORT"},
    {"bind", 'b', 0, G_OPTION_ARG_STRING, &cfg->bind,
        "Address to listen on (default 127.0.0.1; 0.0.0.0 for all)", "ADDR"},
    {"codec", 'c', 0, G_OPTION_ARG_STRING, &o.codec,
        "h264 (default) or vp8", "CODEC"},
    {"encoder", 0, 0, G_OPTION_ARG_STRING, &cfg->encoder,
        "Encoder element (default: a hardware one that works, else x264enc "
          "or vp8enc)", "ELEMENT"},
    {"bitrate", 0, 0, G_OPTION_ARG_STRING, &o.bitrate,
        "Starting and largest bitrate, kbit/s (e.g. 2000, 800k, 4M; "
          "default 2500)", "RATE"},
    {"max-fps", 0, 0, G_OPTION_ARG_INT, &o.max_fps,
        "Frames per second at most (default 30)", "FPS"},
    {"max-size", 0, 0, G_OPTION_ARG_STRING, &o.max_size,
        "Largest frame sent, e.g. 1280x720 (default: the renderer's)", "WxH"},
    {"profile", 0, 0, G_OPTION_ARG_STRING, &cfg->profile,
        "low: 640x360 at 15 fps in about 300 kbit/s, for slow links",
        "PROFILE"},
    {"no-adapt", 0, 0, G_OPTION_ARG_NONE, &o.no_adapt,
        "Keep the bitrate fixed (no congestion control)", NULL},
    {"stun", 0, 0, G_OPTION_ARG_STRING, &cfg->stun,
        "STUN server, stun://host:port", "URI"},
    {"turn", 0, 0, G_OPTION_ARG_STRING_ARRAY, &cfg->turn,
        "TURN server, turn(s)://user:password@host:port (repeatable)", "URI"},
    {"ice-address", 0, 0, G_OPTION_ARG_STRING_ARRAY, &cfg->ice_addresses,
        "Gather ICE candidates only on this local address (repeatable)",
        "ADDR"},
    {"token", 0, 0, G_OPTION_ARG_STRING, &cfg->token,
        "Viewers presenting this token (?token=...) control", "TOKEN"},
    {"control", 0, 0, G_OPTION_ARG_STRING, &o.control,
        "Who controls: first (default), all, token, none", "POLICY"},
    {"allow-resize", 0, 0, G_OPTION_ARG_NONE, &cfg->allow_resize,
        "Let the controlling page ask the renderer for its window size",
        NULL},
    {"allow-origin", 0, 0, G_OPTION_ARG_STRING_ARRAY, &cfg->origins,
        "Also accept pages from this origin (repeatable; * for any)",
        "ORIGIN"},
    {"max-viewers", 0, 0, G_OPTION_ARG_INT, &o.max_viewers,
        "Viewers at once (default 16)", "N"},
    {"max-message", 0, 0, G_OPTION_ARG_INT, &o.max_message,
        "Largest signalling or input message, bytes (default 65536)", "BYTES"},
    {"max-input-rate", 0, 0, G_OPTION_ARG_INT, &o.max_input_rate,
        "Input messages a viewer may send per second (default 250)", "N"},
    {"negotiation-timeout", 0, 0, G_OPTION_ARG_INT, &o.timeout,
        "Seconds a viewer has to connect (default 20)", "S"},
    {"pipeline", 0, 0, G_OPTION_ARG_STRING, &cfg->pipeline_desc,
        "A source description instead of shmframesrc, e.g. "
          "'videotestsrc is-live=true'", "DESC"},
    {"rtmp", 0, 0, G_OPTION_ARG_STRING_ARRAY, &cfg->rtmp,
        "Also push H.264 to this RTMP URL, e.g. rtmp://127.0.0.1/live/viz "
          "(repeatable; reconnects by itself)", "URL"},
    {"rtmp-bitrate", 0, 0, G_OPTION_ARG_STRING, &o.rtmp_bitrate,
        "RTMP bitrate, kbit/s (default 2500)", "RATE"},
    {"rtmp-key-interval", 0, 0, G_OPTION_ARG_INT, &o.rtmp_key,
        "Seconds between RTMP key frames (default 2)", "S"},
    {"mjpeg-quality", 0, 0, G_OPTION_ARG_INT, &o.mjpeg_quality,
        "JPEG quality of /mjpeg and /snapshot.jpg, 1..100 (default 80)", "Q"},
    {"mjpeg-fps", 0, 0, G_OPTION_ARG_INT, &o.mjpeg_fps,
        "Frames per second on /mjpeg at most (default 15)", "FPS"},
    {"quiet", 'q', 0, G_OPTION_ARG_NONE, &cfg->quiet,
        "No status line", NULL},
    {"version", 0, 0, G_OPTION_ARG_NONE, &o.version, "Print the version",
        NULL},
    {NULL}
  };
  GOptionContext *ctx;
  gchar **parsed = g_new0 (gchar *, argc + 1);
  gboolean ok;
  VsConfigResult result = VS_CONFIG_BAD;

  memset (cfg, 0, sizeof *cfg);
  for (gint i = 0; i < argc; i++)
    parsed[i] = g_strdup (argv[i]);
  ctx = g_option_context_new ("- stream a renderer to browsers over WebRTC");
  g_option_context_set_summary (ctx,
      "Serves a page on http://BIND:PORT/ that shows the renderer publishing "
      "into the shared\nsegment NAME and sends the page's mouse, wheel, "
      "keyboard and touch events back to it.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  ok = g_option_context_parse_strv (ctx, &parsed, error);
  g_option_context_free (ctx);
  if (ok && parsed[0] && parsed[1])
    ok = bad (error, "unexpected argument '%s'", parsed[1]);
  if (ok && o.version)
    result = VS_CONFIG_EXIT;
  else if (ok && validate (cfg, &o, embed, error))
    result = VS_CONFIG_RUN;
  g_strfreev (parsed);
  raw_clear (&o);
  return result;
}

void
vs_config_clear (VsConfig * cfg)
{
  g_free (cfg->segment);
  g_free (cfg->pipeline_desc);
  g_free (cfg->bind);
  g_free (cfg->encoder);
  g_free (cfg->stun);
  g_strfreev (cfg->turn);
  g_strfreev (cfg->ice_addresses);
  g_free (cfg->token);
  g_strfreev (cfg->origins);
  g_free (cfg->profile);
  g_strfreev (cfg->rtmp);
  memset (cfg, 0, sizeof *cfg);
}
