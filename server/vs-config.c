/* vizstream-server: options (vs-config.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-config.h"
#include "vs-launch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gio/gio.h>
#include <gst/gst.h>

static gboolean bad (GError ** error, const gchar * format, ...)
    G_GNUC_PRINTF (2, 3);

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

gboolean
vs_config_parse_bytes (const gchar * s, guint64 * out)
{
  gchar *end;
  guint64 v = g_ascii_strtoull (s, &end, 10);
  guint shift = 0;

  if (end == s || !g_ascii_isdigit (*s))
    return FALSE;
  if (*end && strchr ("kK", *end))
    shift = 10, end++;
  else if (*end && strchr ("mM", *end))
    shift = 20, end++;
  else if (*end && strchr ("gG", *end))
    shift = 30, end++;
  if (*end != '\0' || v == 0 || v > (G_GUINT64_CONSTANT (1) << 50) >> shift)
    return FALSE;
  *out = v << shift;
  return TRUE;
}

gboolean
vs_config_read_secret (const gchar * path, const gchar * what, gchar ** out,
    GError ** error)
{
  struct stat st;
  gchar buf[4097];
  gboolean nul;
  ssize_t n;
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

  if (fd < 0)
    return bad (error, "cannot open the %s file '%s': %s", what, path,
        g_strerror (errno));
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
    close (fd);
    return bad (error, "the %s file '%s' is not a regular file", what, path);
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    close (fd);
    return bad (error, "the %s file '%s' is open to other users (mode %04o): "
        "chmod 600 it", what, path, (guint) (st.st_mode & 07777));
  }
  n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n < 0)
    return bad (error, "cannot read the %s file '%s': %s", what, path,
        g_strerror (errno));
  if (n == sizeof buf - 1)
    return bad (error, "the %s file '%s' is over 4096 bytes", what, path);
  buf[n] = '\0';
  nul = memchr (buf, '\0', n) != NULL;
  g_strchomp (buf);
  if (nul || buf[0] == '\0' || strpbrk (buf, "\r\n")) {
    explicit_bzero (buf, sizeof buf);
    return bad (error, "the %s file '%s' must hold one non-empty line", what,
        path);
  }
  *out = g_strdup (buf);
  explicit_bzero (buf, sizeof buf);
  return TRUE;
}

/* A secret from its file option, else from the environment variable, else
 * from the plain option (visible in ps: still accepted, with a warning). */
static gboolean
take_secret (gchar ** out, const gchar * file, const gchar * env,
    const gchar * plain, const gchar * what, const gchar * plain_option,
    GError ** error)
{
  const gchar *v = g_getenv (env);
  gint given = (file != NULL) + (v != NULL && *v) + (plain != NULL);

  if (given > 1)
    return bad (error, "the %s is given more than once (file, $%s or %s): "
        "give one", what, env, plain_option ? plain_option : "option");
  if (file)
    return vs_config_read_secret (file, what, out, error);
  if (v && *v) {
    *out = g_strdup (v);
    return TRUE;
  }
  if (plain) {
    if (!*plain)
      return bad (error, "%s wants a non-empty value", plain_option);
    g_printerr ("vizstream-server: warning: %s on the command line is "
        "visible to every local user (ps); prefer %s-file or $%s\n",
        plain_option, plain_option, env);
    *out = g_strdup (plain);
  }
  return TRUE;
}

void
vs_log (const VsConfig * cfg, const gchar * format, ...)
{
  va_list args;
  gchar *m;

  if (cfg->quiet)
    return;
  va_start (args, format);
  m = g_strdup_vprintf (format, args);
  va_end (args);
  /* Control characters from a peer (an address, a reason) never split
   * the line. */
  for (gchar * c = m; *c; c++)
    if ((guchar) * c < 0x20)
      *c = ' ';
  g_printerr ("%svizstream-server: %s%s%s\n", cfg->log_tty ? "\n" : "",
      cfg->log_stream_name && cfg->stream_name ? cfg->stream_name : "",
      cfg->log_stream_name && cfg->stream_name ? ": " : "", m);
  g_free (m);
}

gboolean
vs_config_stream_name_ok (const gchar * name)
{
  gsize n = name ? strlen (name) : 0;

  if (n < 1 || n > 64)
    return FALSE;
  for (const gchar * c = name; *c; c++)
    if (!g_ascii_isalnum (*c) && *c != '_' && *c != '-')
      return FALSE;
  return TRUE;
}

void
vs_config_stream_clear (VsConfigStream * s)
{
  g_free (s->name);
  g_free (s->segment);
  if (s->token)
    explicit_bzero (s->token, strlen (s->token));
  g_free (s->token);
  memset (s, 0, sizeof *s);
}

gboolean
vs_config_parse_stream (const gchar * spec, VsConfigStream * out,
    GError ** error)
{
  gchar **parts = g_strsplit (spec, ",", -1);
  const gchar *eq = strchr (parts[0], '=');
  gboolean ok = TRUE;

  memset (out, 0, sizeof *out);
  out->segment = g_strdup (eq ? eq + 1 : parts[0]);
  out->name = eq ? g_strndup (parts[0], eq - parts[0]) :
      g_strdup (parts[0]);
  if (!*out->segment || strchr (out->segment, '/'))
    ok = bad (error, "--segment '%s': the segment wants 1 to 255 "
        "characters without '/'", spec);
  else if (!vs_config_stream_name_ok (out->name))
    ok = bad (error, eq ? "--segment '%s': a stream's name wants 1 to 64 of "
        "A-Z a-z 0-9 _ -" : "--segment '%s': the segment's name is no "
        "stream name (1 to 64 of A-Z a-z 0-9 _ -): give one, --segment "
        "NAME=SEGMENT", spec);
  for (gchar ** p = parts + 1; ok && *p; p++) {
    if (g_str_has_prefix (*p, "token-file=") && !out->token)
      ok = vs_config_read_secret (*p + 11, "token", &out->token, error);
    else
      ok = bad (error, "--segment '%s': unknown or repeated '%s' (it takes "
          "[NAME=]SEGMENT[,token-file=PATH])", spec, *p);
  }
  g_strfreev (parts);
  if (!ok)
    vs_config_stream_clear (out);
  return ok;
}

gchar *
vs_config_redact_url (const gchar * url)
{
  const gchar *rest = strstr (url, "://"), *host, *slash, *last;
  GString *out;

  if (!rest)
    return g_strdup ("***");
  out = g_string_new_len (url, rest + 3 - url);
  host = rest + 3;
  slash = host + strcspn (host, "/? ");
  /* user:password@ goes */
  for (const gchar * at = host; at < slash; at++)
    if (*at == '@')
      host = at + 1;
  g_string_append_len (out, host, slash - host);
  if (*slash == '/') {
    const gchar *end = slash + strcspn (slash, "? ");
    last = end;
    while (last > slash && last[-1] != '/')
      last--;
    g_string_append_len (out, slash, last - slash);
    if (last < end)
      g_string_append (out, "***");
  }
  return g_string_free (out, FALSE);
}

/* What the option table fills before the checks turn it into a VsConfig. */
typedef struct
{
  gchar *codec, *bitrate, *control, *max_size, *rtmp_bitrate;
  gchar *token, *token_file, *status_token_file, *turn_secret_file,
      *udp_ports, *record_max_size;
  gint port, max_fps, max_viewers, max_message, timeout, rtmp_key,
      mjpeg_quality, mjpeg_fps, max_input_rate, turn_ttl, request_timeout,
      idle_timeout, max_per_address, record_max_seconds, launch_timeout,
      max_sessions, session_idle_timeout;
  gboolean no_adapt, version;
  gchar **segments;
} RawOptions;

static void
raw_clear (RawOptions * o)
{
  g_free (o->codec);
  g_free (o->bitrate);
  g_free (o->control);
  g_free (o->max_size);
  g_free (o->rtmp_bitrate);
  if (o->token)
    explicit_bzero (o->token, strlen (o->token));
  g_free (o->token);
  g_free (o->token_file);
  g_free (o->status_token_file);
  g_free (o->turn_secret_file);
  g_free (o->udp_ports);
  g_free (o->record_max_size);
  g_strfreev (o->segments);
}

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

/* The recordings' directory must take a file now: said at the start, not
 * when the first frame comes. A file made and removed tells what the
 * permission bits do not (root, a read-only mount). */
static gboolean
check_record_dir (const gchar * dir, GError ** error)
{
  gchar *probe;
  gint fd, e;

  if (!g_file_test (dir, G_FILE_TEST_EXISTS))
    return bad (error, "--record wants a directory this user can write "
        "into: '%s' does not exist", dir);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    return bad (error, "--record wants a directory this user can write "
        "into: '%s' is not a directory", dir);
  probe = g_build_filename (dir, ".vizstream-record-XXXXXX", NULL);
  fd = g_mkstemp (probe);
  e = errno;
  if (fd >= 0) {
    close (fd);
    unlink (probe);
  }
  g_free (probe);
  if (fd < 0)
    return bad (error, "--record wants a directory this user can write "
        "into: cannot write into '%s': %s", dir, g_strerror (e));
  return TRUE;
}

/* The streams: one per --segment, names unique; one named "main" for
 * --pipeline or an embedder without --segment. What stays one per server
 * (RTMP, Janus, recording, --pipeline, an embedder) wants one stream. */
static gboolean
parse_streams (VsConfig * cfg, RawOptions * o, const VsEmbed * embed,
    GError ** error)
{
  guint n = o->segments ? g_strv_length (o->segments) : 0;

  if (cfg->launch) {
    /* Sessions are streams of their own, made from a segment. */
    const gchar *one = cfg->pipeline_desc ? "--pipeline" :
        embed && embed->make_source ? "an embedding program" :
        cfg->rtmp ? "--rtmp" : cfg->janus_rtp ? "--janus-rtp" :
        cfg->janus_url ? "--janus-url" : cfg->record_dir ? "--record" : NULL;
    if (one)
      return bad (error, "--launch does not go with %s (docs/server.md "
          "\"Sessions\")", one);
  }
  if (!n && !cfg->pipeline_desc && !(embed && embed->make_source)
      && !cfg->launch)
    return bad (error, "which renderer? --segment NAME (or --pipeline DESC, "
        "or --launch CMD); see --help");
  cfg->streams = g_new0 (VsConfigStream, MAX (n, 1));
  if (!n && cfg->launch)
    return TRUE;                /* sessions only: no stream at start */
  for (guint i = 0; i < n; i++) {
    if (!vs_config_parse_stream (o->segments[i], &cfg->streams[i], error))
      return FALSE;
    cfg->n_streams++;
    for (guint j = 0; j < i; j++)
      if (g_str_equal (cfg->streams[j].name, cfg->streams[i].name))
        return bad (error, "two streams named '%s': give each --segment its "
            "own name (--segment NAME=SEGMENT)", cfg->streams[i].name);
  }
  if (!n) {
    cfg->streams[0].name = g_strdup ("main");
    cfg->n_streams = 1;
  }
  cfg->segment = g_strdup (cfg->streams[0].segment);
  if (n > 1) {
    const gchar *one = cfg->pipeline_desc ? "--pipeline" :
        embed && embed->make_source ? "an embedding program" :
        cfg->rtmp ? "--rtmp" : cfg->janus_rtp ? "--janus-rtp" :
        cfg->janus_url ? "--janus-url" : cfg->record_dir ? "--record" : NULL;
    if (one)
      return bad (error, "%s serves one stream: give one --segment with it "
          "(docs/server.md \"Several streams\")", one);
  }
  return TRUE;
}

/* --launch and its options: the template checked, the log directory made
 * now rather than at the first session. Unset: G_MININT. */
static gboolean
check_launch (VsConfig * cfg, RawOptions * o, GError ** error)
{
  if (!cfg->launch) {
    if (o->launch_timeout != G_MININT || o->max_sessions != G_MININT
        || o->session_idle_timeout != G_MININT || cfg->launch_log_dir)
      return bad (error, "--launch-timeout, --max-sessions, "
          "--session-idle-timeout and --launch-log-dir go with --launch CMD");
    return TRUE;
  }
  cfg->launch_timeout = o->launch_timeout == G_MININT ? 20 : o->launch_timeout;
  cfg->max_sessions = o->max_sessions == G_MININT ? 8 : o->max_sessions;
  cfg->session_idle_timeout = o->session_idle_timeout == G_MININT ? 60 :
      o->session_idle_timeout;
  if (o->launch_timeout != G_MININT && (o->launch_timeout < 1
          || o->launch_timeout > 600))
    return bad (error, "--launch-timeout wants 1..600 seconds");
  if (o->max_sessions != G_MININT && (o->max_sessions < 1
          || o->max_sessions > 1000))
    return bad (error, "--max-sessions wants 1..1000");
  if (o->session_idle_timeout != G_MININT && (o->session_idle_timeout < 1
          || o->session_idle_timeout > 86400))
    return bad (error, "--session-idle-timeout wants 1..86400 seconds");
  if (!vs_launch_check_template (cfg->launch, error))
    return FALSE;
  if (!cfg->launch_log_dir)
    cfg->launch_log_dir = vs_launch_default_log_dir ();
  return vs_launch_prepare_log_dir (cfg->launch_log_dir, error);
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
  if (!take_secret (&cfg->token, o->token_file, "VIZSTREAM_TOKEN", o->token,
          "token", "--token", error)
      || !take_secret (&cfg->status_token, o->status_token_file,
          "VIZSTREAM_STATUS_TOKEN", NULL, "status token", NULL, error)
      || !take_secret (&cfg->turn_secret, o->turn_secret_file,
          "VIZSTREAM_TURN_SECRET", NULL, "TURN secret", NULL, error))
    return FALSE;
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
  if (!parse_streams (cfg, o, embed, error))
    return FALSE;
  if (cfg->control == VS_CONTROL_TOKEN)
    for (guint i = 0; i < cfg->n_streams; i++)
      if (!cfg->token && !cfg->streams[i].token)
        return bad (error, "--control token needs --token (or a "
            "token-file= on every --segment)");
  if (o->port < 0 || o->port > 65535 || o->max_viewers < 1
      || o->max_message < 1024 || o->timeout < 1)
    return bad (error, "--port, --max-viewers, --max-message or "
        "--negotiation-timeout out of range");
  cfg->embed = embed;
  if (cfg->stun && !g_str_has_prefix (cfg->stun, "stun://"))
    return bad (error, "--stun wants stun://host:port");
  if (!has_scheme (cfg->turn, "turn://", "turns://", &which))
    return bad (error, "--turn wants turn(s)://user:pass@host:port, not '%s'",
        which);
  for (gchar ** u = cfg->turn; u && *u; u++) {
    gboolean has_user = strchr (*u, '@') != NULL;
    if (cfg->turn_secret && has_user)
      return bad (error, "with a TURN secret, --turn wants turn(s)://host:port "
          "(credentials are minted per viewer), not '%s'", *u);
    if (!cfg->turn_secret && !has_user)
      return bad (error, "--turn '%s' has no user:password@; give them, or "
          "--turn-secret-file for coturn's use-auth-secret", *u);
  }
  if (cfg->turn_secret && !cfg->turn)
    return bad (error, "a TURN secret without --turn turn(s)://host:port");
  if (o->turn_ttl < 60 || o->turn_ttl > 7 * 86400)
    return bad (error, "--turn-ttl wants 60..604800 seconds");
  cfg->turn_ttl = o->turn_ttl;
  if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL))
    return bad (error, "--tls-cert and --tls-key go together");
  if (o->udp_ports) {
    guint a, b;
    gchar tail;
    if (sscanf (o->udp_ports, "%u-%u%c", &a, &b, &tail) != 2 || a < 1024
        || b > 65535 || a > b)
      return bad (error, "--udp-ports wants MIN-MAX within 1024..65535, "
          "e.g. 50000-50100");
    cfg->udp_min = a;
    cfg->udp_max = b;
  }
  if (o->request_timeout < 1 || o->request_timeout > 3600
      || o->idle_timeout < 1 || o->idle_timeout > 86400
      || o->max_per_address < 1 || o->max_per_address > 100000)
    return bad (error, "--request-timeout (1..3600), --idle-timeout "
        "(1..86400) or --max-connections-per-address (1..100000) out of "
        "range");
  cfg->request_timeout = o->request_timeout;
  cfg->idle_timeout = o->idle_timeout;
  cfg->max_per_address = o->max_per_address;
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
  for (gchar ** t = cfg->janus_rtp; t && *t; t++) {
    GSocketConnectable *a = g_network_address_parse (*t, 0, NULL);
    guint port = a ? g_network_address_get_port (G_NETWORK_ADDRESS (a)) : 0;
    g_clear_object (&a);
    if (port == 0 || port == 65535)
      return bad (error, "--janus-rtp wants HOST:PORT (RTCP on PORT+1), e.g. "
          "127.0.0.1:15004, not '%s'", *t);
  }
  for (gchar ** u = cfg->janus_url; u && *u; u++) {
    GUri *uri = g_uri_parse (*u, G_URI_FLAGS_NONE, NULL);
    const gchar *s = uri ? g_uri_get_scheme (uri) : NULL;
    gboolean ok = (*u)[0] == '/' || (uri && g_uri_get_host (uri) &&
        *g_uri_get_host (uri) && (g_str_equal (s, "http") ||
            g_str_equal (s, "https") || g_str_equal (s, "ws") ||
            g_str_equal (s, "wss")));
    if (uri)
      g_uri_unref (uri);
    if (!ok || strpbrk (*u, " ;,'\"\\"))
      return bad (error, "--janus-url wants Janus's API as browsers reach it, "
          "http(s)://HOST:PORT/janus, ws(s)://... or /PATH, not '%s'", *u);
  }
  if (cfg->janus_mountpoint && !cfg->janus_url)
    return bad (error, "--janus-mountpoint goes with --janus-url");
  if (cfg->janus_mountpoint < 0 || cfg->janus_mountpoint > G_MAXINT32)
    return bad (error, "--janus-mountpoint wants 1..2147483647");
  cfg->janus_mountpoint = MAX (cfg->janus_mountpoint, 1);
  if (!cfg->record_dir && (o->record_max_size
          || o->record_max_seconds != G_MININT))
    return bad (error, "--record-max-size and --record-max-seconds go with "
        "--record DIR");
  cfg->record_max_bytes = G_GUINT64_CONSTANT (1) << 30;
  if (o->record_max_size && (!vs_config_parse_bytes (o->record_max_size,
              &cfg->record_max_bytes) || cfg->record_max_bytes < 1 << 20))
    return bad (error, "--record-max-size wants bytes from 1M, e.g. 500M or "
        "2G, not '%s'", o->record_max_size);
  if (o->record_max_seconds == G_MININT)
    o->record_max_seconds = 3600;
  if (o->record_max_seconds < 1 || o->record_max_seconds > 7 * 86400)
    return bad (error, "--record-max-seconds wants 1..604800");
  cfg->record_max_seconds = o->record_max_seconds;
  if (cfg->record_dir && !check_record_dir (cfg->record_dir, error))
    return FALSE;
  if (!check_launch (cfg, o, error))
    return FALSE;
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
  cfg->log_tty = isatty (2);
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
    .max_input_rate = 250,.turn_ttl = 86400,.request_timeout = 10,
    .idle_timeout = 60,.max_per_address = 64,.record_max_seconds = G_MININT,
    .launch_timeout = G_MININT,.max_sessions = G_MININT,
    .session_idle_timeout = G_MININT,
  };
  const GOptionEntry entries[] = {
    {"segment", 's', 0, G_OPTION_ARG_STRING_ARRAY, &o.segments,
        "The renderer's shared segment (frames in, events out); again for "
        "another stream at /s/NAME/", "[NAME=]SEGMENT[,token-file=PATH]"},
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
        "TURN server, turn(s)://user:password@host:port, or turn(s)://host:port "
          "with --turn-secret-file (repeatable)", "URI"},
    {"turn-secret-file", 0, 0, G_OPTION_ARG_FILENAME, &o.turn_secret_file,
        "coturn's static-auth-secret: per-viewer TURN credentials for the "
          "--turn servers (or $VIZSTREAM_TURN_SECRET)", "FILE"},
    {"turn-ttl", 0, 0, G_OPTION_ARG_INT, &o.turn_ttl,
        "Seconds a minted TURN credential lives (default 86400)", "S"},
    {"udp-ports", 0, 0, G_OPTION_ARG_STRING, &o.udp_ports,
        "WebRTC uses only these ports (UDP, and TCP for ICE-TCP), e.g. "
          "50000-50100: one per viewer", "MIN-MAX"},
    {"tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &cfg->tls_cert,
        "Serve HTTPS and WSS with this PEM certificate (chain)", "FILE"},
    {"tls-key", 0, 0, G_OPTION_ARG_FILENAME, &cfg->tls_key,
        "The PEM private key of --tls-cert", "FILE"},
    {"request-timeout", 0, 0, G_OPTION_ARG_INT, &o.request_timeout,
        "Seconds a client has to send a request's headers (default 10)", "S"},
    {"idle-timeout", 0, 0, G_OPTION_ARG_INT, &o.idle_timeout,
        "Seconds an idle keep-alive connection stays open (default 60)", "S"},
    {"max-connections-per-address", 0, 0, G_OPTION_ARG_INT,
          &o.max_per_address,
        "Connections at once from one address (default 64)", "N"},
    {"ice-address", 0, 0, G_OPTION_ARG_STRING_ARRAY, &cfg->ice_addresses,
        "Gather ICE candidates only on this local address (repeatable)",
        "ADDR"},
    {"token-file", 0, 0, G_OPTION_ARG_FILENAME, &o.token_file,
        "Only viewers presenting the token in this file (?token=...) "
          "control; chmod 600 (or $VIZSTREAM_TOKEN)", "FILE"},
    {"token", 0, 0, G_OPTION_ARG_STRING, &o.token,
        "The token itself (visible in ps: prefer --token-file)", "TOKEN"},
    {"status-token-file", 0, 0, G_OPTION_ARG_FILENAME, &o.status_token_file,
        "/status also answers this token (or $VIZSTREAM_STATUS_TOKEN)",
        "FILE"},
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
    {"janus-rtp", 0, 0, G_OPTION_ARG_STRING_ARRAY, &cfg->janus_rtp,
        "Also send the main encode as RTP to a Janus Streaming mountpoint "
          "(RTCP on PORT+1; repeatable, one per Janus)", "HOST:PORT"},
    {"janus-url", 0, 0, G_OPTION_ARG_STRING_ARRAY, &cfg->janus_url,
        "Janus's API as browsers reach it: spectators at /watch "
          "(repeatable: each page picks one)", "URL"},
    {"janus-mountpoint", 0, 0, G_OPTION_ARG_INT64, &cfg->janus_mountpoint,
        "The Streaming mountpoint /watch plays (default 1)", "ID"},
    {"record", 0, 0, G_OPTION_ARG_FILENAME, &cfg->record_dir,
        "Record the main encode into DIR (Matroska, no re-encoding) with the "
          "controlling viewers' input beside it (JSON lines)", "DIR"},
    {"record-max-size", 0, 0, G_OPTION_ARG_STRING, &o.record_max_size,
        "A new recording file past this size (e.g. 500M, 2G; default 1G)",
        "SIZE"},
    {"record-max-seconds", 0, 0, G_OPTION_ARG_INT, &o.record_max_seconds,
        "A new recording file past this length (default 3600)", "S"},
    {"rtmp-bitrate", 0, 0, G_OPTION_ARG_STRING, &o.rtmp_bitrate,
        "RTMP bitrate, kbit/s (default 2500)", "RATE"},
    {"rtmp-key-interval", 0, 0, G_OPTION_ARG_INT, &o.rtmp_key,
        "Seconds between RTMP key frames (default 2)", "S"},
    {"mjpeg-quality", 0, 0, G_OPTION_ARG_INT, &o.mjpeg_quality,
        "JPEG quality of /mjpeg and /snapshot.jpg, 1..100 (default 80)", "Q"},
    {"mjpeg-fps", 0, 0, G_OPTION_ARG_INT, &o.mjpeg_fps,
        "Frames per second on /mjpeg at most (default 15)", "FPS"},
    {"launch", 0, 0, G_OPTION_ARG_STRING, &cfg->launch,
        "Start a renderer per session (a visit to /new) with this "
          "command; {segment}, {session}, {width}, {height} are filled in",
        "CMD"},
    {"launch-timeout", 0, 0, G_OPTION_ARG_INT, &o.launch_timeout,
        "Seconds a launched renderer has to make its segment (default 20)",
        "S"},
    {"max-sessions", 0, 0, G_OPTION_ARG_INT, &o.max_sessions,
        "Launched sessions at once (default 8)", "N"},
    {"session-idle-timeout", 0, 0, G_OPTION_ARG_INT,
          &o.session_idle_timeout,
        "Seconds a launched session lives on after its last viewer leaves "
          "(default 60)", "S"},
    {"launch-log-dir", 0, 0, G_OPTION_ARG_FILENAME, &cfg->launch_log_dir,
        "The launched renderers' output, SESSION.log (default "
          "$XDG_RUNTIME_DIR/vizstream-server)", "DIR"},
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
  for (guint i = 0; i < cfg->n_streams; i++)
    vs_config_stream_clear (&cfg->streams[i]);
  g_free (cfg->streams);
  g_free (cfg->segment);
  g_free (cfg->pipeline_desc);
  g_free (cfg->bind);
  g_free (cfg->encoder);
  g_free (cfg->stun);
  g_strfreev (cfg->turn);
  g_strfreev (cfg->ice_addresses);
  if (cfg->token)
    explicit_bzero (cfg->token, strlen (cfg->token));
  g_free (cfg->token);
  g_free (cfg->status_token);
  if (cfg->turn_secret)
    explicit_bzero (cfg->turn_secret, strlen (cfg->turn_secret));
  g_free (cfg->turn_secret);
  g_free (cfg->tls_cert);
  g_free (cfg->tls_key);
  g_strfreev (cfg->origins);
  g_free (cfg->profile);
  g_strfreev (cfg->rtmp);
  g_strfreev (cfg->janus_rtp);
  g_strfreev (cfg->janus_url);
  g_free (cfg->record_dir);
  g_free (cfg->launch);
  g_free (cfg->launch_log_dir);
  memset (cfg, 0, sizeof *cfg);
}
