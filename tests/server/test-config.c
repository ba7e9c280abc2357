/* Unit tests: option validation (server/vs-config.c) and the Origin
 * check (server/vs-http.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include "vs-config.h"
#include "vs-http.h"

static VsConfigResult
parse (VsConfig * cfg, gchar ** why, ...)
{
  GPtrArray *args = g_ptr_array_new ();
  GError *err = NULL;
  const gchar *a;
  va_list ap;
  VsConfigResult r;

  g_ptr_array_add (args, (gpointer) "vizstream-server");
  va_start (ap, why);
  while ((a = va_arg (ap, const gchar *)))
    g_ptr_array_add (args, (gpointer) a);
  va_end (ap);
  r = vs_config_parse (cfg, args->len, (const gchar * const *) args->pdata,
      NULL, &err);
  g_ptr_array_unref (args);
  g_assert_true ((r == VS_CONFIG_BAD) == (err != NULL));
  *why = err ? g_strdup (err->message) : NULL;
  g_clear_error (&err);
  return r;
}

static void
bad (const gchar * part, ...)
{
  VsConfig cfg;
  gchar *why = NULL;
  GPtrArray *args = g_ptr_array_new ();
  const gchar *a;
  va_list ap;
  GError *err = NULL;

  g_ptr_array_add (args, (gpointer) "vizstream-server");
  va_start (ap, part);
  while ((a = va_arg (ap, const gchar *)))
    g_ptr_array_add (args, (gpointer) a);
  va_end (ap);
  g_assert_cmpint (vs_config_parse (&cfg, args->len,
          (const gchar * const *) args->pdata, NULL, &err), ==, VS_CONFIG_BAD);
  why = g_strdup (err->message);
  if (!strstr (why, part))
    g_error ("'%s' does not say '%s'", why, part);
  g_free (why);
  g_error_free (err);
  g_ptr_array_unref (args);
  vs_config_clear (&cfg);
}

static void
test_defaults (void)
{
  VsConfig cfg;
  gchar *why;

  g_assert_cmpint (parse (&cfg, &why, "--segment", "s", NULL), ==,
      VS_CONFIG_RUN);
  g_assert_cmpstr (cfg.segment, ==, "s");
  g_assert_cmpstr (cfg.bind, ==, "127.0.0.1");
  g_assert_cmpuint (cfg.port, ==, 8080);
  g_assert_cmpint (cfg.codec, ==, VS_CODEC_H264);
  g_assert_cmpuint (cfg.bitrate, ==, 2500);
  g_assert_cmpuint (cfg.max_bitrate, ==, 2500);
  g_assert_cmpuint (cfg.min_bitrate, ==, 150);
  g_assert_cmpuint (cfg.max_fps, ==, 30);
  g_assert_cmpint (cfg.control, ==, VS_CONTROL_FIRST);
  g_assert_true (cfg.adapt);
  g_assert_false (cfg.allow_resize);
  g_assert_cmpuint (cfg.max_input_rate, ==, 250);
  vs_config_clear (&cfg);
}

static void
test_values (void)
{
  VsConfig cfg;
  gchar *why;
  guint k;

  g_assert_cmpint (parse (&cfg, &why, "--pipeline", "videotestsrc",
          "--codec", "VP8", "--bitrate", "4M", "--max-size", "640x360",
          "--profile", "low", "--control", "token", "--token", "x",
          "--allow-resize", "--no-adapt", "--bind", "::1", "--port", "0",
          NULL), ==, VS_CONFIG_RUN);
  g_assert_cmpint (cfg.codec, ==, VS_CODEC_VP8);
  g_assert_cmpuint (cfg.bitrate, ==, 4000);
  g_assert_cmpuint (cfg.max_fps, ==, 15);       /* the low profile */
  g_assert_cmpuint (cfg.max_width, ==, 640);
  g_assert_cmpint (cfg.control, ==, VS_CONTROL_TOKEN);
  g_assert_true (cfg.allow_resize);
  g_assert_false (cfg.adapt);
  vs_config_clear (&cfg);
  g_assert_true (vs_config_parse_kbps ("800k", &k) && k == 800);
  g_assert_true (vs_config_parse_kbps ("1.5M", &k) && k == 1500);
  g_assert_false (vs_config_parse_kbps ("fast", &k));
  g_assert_false (vs_config_parse_kbps ("200M", &k));
  g_assert_false (vs_config_parse_kbps ("0", &k));
}

static void
test_version (void)
{
  VsConfig cfg;
  gchar *why;

  g_assert_cmpint (parse (&cfg, &why, "--version", NULL), ==, VS_CONFIG_EXIT);
  vs_config_clear (&cfg);
}

static void
test_refusals (void)
{
  bad ("which renderer", NULL);
  bad ("--codec", "-s", "s", "--codec", "av1", NULL);
  bad ("--bitrate", "-s", "s", "--bitrate", "lots", NULL);
  bad ("--max-fps", "-s", "s", "--max-fps", "0", NULL);
  bad ("--max-size", "-s", "s", "--max-size", "1280", NULL);
  bad ("--max-size", "-s", "s", "--max-size", "8x8", NULL);
  bad ("--control wants", "-s", "s", "--control", "anyone", NULL);
  bad ("needs --token", "-s", "s", "--control", "token", NULL);
  bad ("--profile", "-s", "s", "--profile", "ultra", NULL);
  bad ("out of range", "-s", "s", "--port", "70000", NULL);
  bad ("--stun", "-s", "s", "--stun", "stun.example:3478", NULL);
  bad ("not 'http://x'", "-s", "s", "--turn", "http://x", NULL);
  bad ("--rtmp wants", "-s", "s", "--rtmp", "udp://x", NULL);
  bad ("--mjpeg-quality", "-s", "s", "--mjpeg-quality", "101", NULL);
  bad ("--max-input-rate", "-s", "s", "--max-input-rate", "0", NULL);
  bad ("--bind wants an IP address", "-s", "s", "--bind", "localhost", NULL);
  bad ("unexpected argument 'extra'", "-s", "s", "extra", NULL);
  bad ("Unknown option", "-s", "s", "--frobnicate", NULL);
}

static gchar *
secret_file (const gchar * dir, const gchar * name, const gchar * text,
    guint mode)
{
  gchar *path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  g_assert_cmpint (g_chmod (path, mode), ==, 0);
  return path;
}

static void
test_secrets (void)
{
  gchar *dir = g_dir_make_tmp ("vz-config-XXXXXX", NULL);
  gchar *good = secret_file (dir, "good", "s3cret \n", 0600);
  gchar *open = secret_file (dir, "open", "s3cret\n", 0644);
  gchar *empty = secret_file (dir, "empty", " \n", 0600);
  gchar *two = secret_file (dir, "two", "a\nb\n", 0400);
  gchar *why;
  VsConfig cfg;

  g_unsetenv ("VIZSTREAM_TOKEN");
  g_assert_cmpint (parse (&cfg, &why, "-s", "s", "--token-file", good,
          "--turn-secret-file", good, "--turn", "turn://127.0.0.1:3478",
          "--turn-ttl", "600", "--udp-ports", "50000-50010",
          "--request-timeout", "3", "--idle-timeout", "30",
          "--max-connections-per-address", "5", NULL), ==, VS_CONFIG_RUN);
  g_assert_cmpstr (cfg.token, ==, "s3cret");
  g_assert_cmpstr (cfg.turn_secret, ==, "s3cret");
  g_assert_cmpuint (cfg.turn_ttl, ==, 600);
  g_assert_cmpuint (cfg.udp_min, ==, 50000);
  g_assert_cmpuint (cfg.udp_max, ==, 50010);
  g_assert_cmpuint (cfg.request_timeout, ==, 3);
  g_assert_cmpuint (cfg.idle_timeout, ==, 30);
  g_assert_cmpuint (cfg.max_per_address, ==, 5);
  vs_config_clear (&cfg);

  g_setenv ("VIZSTREAM_TOKEN", "from-env", TRUE);
  g_assert_cmpint (parse (&cfg, &why, "-s", "s", NULL), ==, VS_CONFIG_RUN);
  g_assert_cmpstr (cfg.token, ==, "from-env");
  vs_config_clear (&cfg);
  bad ("more than once", "-s", "s", "--token-file", good, NULL);
  g_unsetenv ("VIZSTREAM_TOKEN");

  bad ("open to other users (mode 0644): chmod 600", "-s", "s",
      "--token-file", open, NULL);
  bad ("one non-empty line", "-s", "s", "--token-file", empty, NULL);
  bad ("one non-empty line", "-s", "s", "--token-file", two, NULL);
  bad ("cannot open the token file", "-s", "s", "--token-file",
      "/nonexistent/t", NULL);
  bad ("not a regular file", "-s", "s", "--status-token-file", dir, NULL);
  bad ("credentials are minted per viewer", "-s", "s", "--turn-secret-file",
      good, "--turn", "turn://u:p@127.0.0.1:3478", NULL);
  bad ("has no user:password@", "-s", "s", "--turn", "turn://127.0.0.1:3478",
      NULL);
  bad ("without --turn", "-s", "s", "--turn-secret-file", good, NULL);
  bad ("--udp-ports wants", "-s", "s", "--udp-ports", "60000-50000", NULL);
  bad ("--udp-ports wants", "-s", "s", "--udp-ports", "80-90", NULL);
  bad ("go together", "-s", "s", "--tls-cert", good, NULL);
  bad ("--request-timeout", "-s", "s", "--request-timeout", "0", NULL);

  for (const gchar * const *p = (const gchar *[]) { good, open, empty, two,
          NULL}; *p; p++)
    g_unlink (*p);
  g_rmdir (dir);
  g_free (good);
  g_free (open);
  g_free (empty);
  g_free (two);
  g_free (dir);
}

static void
test_redact (void)
{
  const gchar *cases[][2] = {
    {"rtmp://127.0.0.1:1935/live/s3cretkey", "rtmp://127.0.0.1:1935/live/***"},
    {"rtmps://u:p@a.example/app/key?x=1", "rtmps://a.example/app/***"},
    {"rtmp://h/app/key live=1", "rtmp://h/app/***"},
    {"rtmp://h/app/", "rtmp://h/app/"},
    {"rtmp://h", "rtmp://h"},
    {"nonsense", "***"},
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    gchar *r = vs_config_redact_url (cases[i][0]);
    g_assert_cmpstr (r, ==, cases[i][1]);
    g_free (r);
  }
}

static void
test_origin (void)
{
  gchar *star[] = { (gchar *) "*", NULL };
  gchar *one[] = { (gchar *) "https://viz.example", NULL };

  g_assert_true (vs_http_origin_allowed (NULL, NULL, "127.0.0.1:8080"));
  g_assert_true (vs_http_origin_allowed (NULL, "http://127.0.0.1:8080",
          "127.0.0.1:8080"));
  g_assert_true (vs_http_origin_allowed (NULL, "http://LOCALHOST:8080",
          "localhost:8080"));
  g_assert_false (vs_http_origin_allowed (NULL, "http://evil.example:8080",
          "127.0.0.1:8080"));
  g_assert_false (vs_http_origin_allowed (NULL, "http://127.0.0.1:9090",
          "127.0.0.1:8080"));
  g_assert_false (vs_http_origin_allowed (NULL, "null", "127.0.0.1:8080"));
  g_assert_true (vs_http_origin_allowed (one, "https://viz.example",
          "127.0.0.1:8080"));
  g_assert_false (vs_http_origin_allowed (one, "https://viz.example.evil",
          "127.0.0.1:8080"));
  g_assert_true (vs_http_origin_allowed (star, "http://anything", "h"));
  /* IPv6: Host keeps the brackets that GUri takes off the Origin's host. */
  g_assert_true (vs_http_origin_allowed (NULL, "http://[::1]:8080",
          "[::1]:8080"));
  g_assert_true (vs_http_origin_allowed (NULL, "https://[2001:DB8::1]",
          "[2001:db8::1]"));
  g_assert_false (vs_http_origin_allowed (NULL, "http://[::1]:9090",
          "[::1]:8080"));
  g_assert_false (vs_http_origin_allowed (NULL, "http://[::2]:8080",
          "[::1]:8080"));
  /* Behind a TLS proxy on another port: its Host must keep the port
   * (nginx's $http_host; $host drops it). */
  g_assert_true (vs_http_origin_allowed (NULL, "https://127.0.0.1:18443",
          "127.0.0.1:18443"));
  g_assert_false (vs_http_origin_allowed (NULL, "https://127.0.0.1:18443",
          "127.0.0.1"));
}

/* --record: defaults, sizes, the directory checked at the start. */
static void
test_record (void)
{
  gchar *dir = g_dir_make_tmp ("vs-record-XXXXXX", NULL);
  gchar *file = g_build_filename (dir, "plain", NULL);
  VsConfig cfg;
  gchar *why;
  guint64 b;

  g_assert_cmpint (parse (&cfg, &why, "-s", "s", "--record", dir, NULL), ==,
      VS_CONFIG_RUN);
  g_assert_cmpuint (cfg.record_max_bytes, ==, G_GUINT64_CONSTANT (1) << 30);
  g_assert_cmpuint (cfg.record_max_seconds, ==, 3600);
  vs_config_clear (&cfg);
  g_assert_cmpint (parse (&cfg, &why, "-s", "s", "--record", dir,
          "--record-max-size", "500M", "--record-max-seconds", "60", NULL), ==,
      VS_CONFIG_RUN);
  g_assert_cmpuint (cfg.record_max_bytes, ==, 500 << 20);
  g_assert_cmpuint (cfg.record_max_seconds, ==, 60);
  vs_config_clear (&cfg);
  g_assert_true (vs_config_parse_bytes ("2G", &b) && b == 2u << 30);
  g_assert_true (vs_config_parse_bytes ("1048576", &b) && b == 1 << 20);
  g_assert_false (vs_config_parse_bytes ("1.5G", &b));
  g_assert_false (vs_config_parse_bytes ("-1M", &b));
  g_assert_false (vs_config_parse_bytes ("0", &b));
  g_assert_false (vs_config_parse_bytes ("99999999999G", &b));
  g_assert_true (g_file_set_contents (file, "", 0, NULL));
  bad ("does not exist", "-s", "s", "--record", "/nonexistent/rec", NULL);
  bad ("is not a directory", "-s", "s", "--record", file, NULL);
  bad ("--record-max-size wants", "-s", "s", "--record", dir,
      "--record-max-size", "100k", NULL);
  bad ("--record-max-seconds wants", "-s", "s", "--record", dir,
      "--record-max-seconds", "-5", NULL);
  bad ("go with --record", "-s", "s", "--record-max-size", "1G", NULL);
  g_unlink (file);
  g_rmdir (dir);
  g_free (file);
  g_free (dir);
}

/* $XDG_RUNTIME_DIR for this process (GLib reads it once), set in main. */
static gchar *runtime;

static void
test_launch (void)
{
  VsConfig cfg;
  gchar *why, *dir = g_dir_make_tmp ("vs-launch-XXXXXX", NULL);
  gchar *logs = g_build_filename (dir, "logs", NULL);
  gchar *open_dir = g_build_filename (dir, "open", NULL);
  gchar *def = g_build_filename (runtime, "vizstream-server", NULL);
  GStatBuf st;

  /* The default log directory: made private under $XDG_RUNTIME_DIR. */
  g_assert_cmpint (parse (&cfg, &why, "-s", "s", NULL), ==, VS_CONFIG_RUN);
  g_assert_null (cfg.launch);
  g_assert_null (cfg.launch_log_dir);
  vs_config_clear (&cfg);
  g_assert_cmpint (parse (&cfg, &why, "-s", "s", "--launch",
          "true --segment {segment} --size {width}x{height}", NULL), ==,
      VS_CONFIG_RUN);
  g_assert_cmpstr (cfg.launch, ==,
      "true --segment {segment} --size {width}x{height}");
  g_assert_cmpuint (cfg.launch_timeout, ==, 20);
  g_assert_cmpuint (cfg.max_sessions, ==, 8);
  g_assert_cmpuint (cfg.session_idle_timeout, ==, 60);
  g_assert_cmpstr (cfg.launch_log_dir, ==, def);
  g_assert_cmpint (g_stat (def, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 0777, ==, 0700);
  vs_config_clear (&cfg);
  g_assert_cmpint (parse (&cfg, &why, "-s", "s", "--launch", "true",
          "--launch-timeout", "5", "--max-sessions", "2",
          "--session-idle-timeout", "300", "--launch-log-dir", logs, NULL), ==,
      VS_CONFIG_RUN);
  g_assert_cmpuint (cfg.launch_timeout, ==, 5);
  g_assert_cmpuint (cfg.max_sessions, ==, 2);
  g_assert_cmpuint (cfg.session_idle_timeout, ==, 300);
  g_assert_cmpstr (cfg.launch_log_dir, ==, logs);
  g_assert_true (g_file_test (logs, G_FILE_TEST_IS_DIR));
  vs_config_clear (&cfg);

  bad ("unknown placeholder {port}", "-s", "s", "--launch",
      "true --port {port}", NULL);
  bad ("unclosed '{'", "-s", "s", "--launch", "true {segment", NULL);
  bad ("does not split", "-s", "s", "--launch", "true 'open", NULL);
  bad ("does not split", "-s", "s", "--launch", "  ", NULL);
  bad ("no program 'vizstream-no-such-renderer' in PATH", "-s", "s",
      "--launch", "vizstream-no-such-renderer {segment}", NULL);
  bad ("named plainly", "-s", "s", "--launch", "{segment}", NULL);
  bad ("'/nonexistent/renderer' is not an executable", "-s", "s",
      "--launch", "/nonexistent/renderer", NULL);
  bad ("--launch-timeout wants 1..600", "-s", "s", "--launch", "true",
      "--launch-timeout", "0", NULL);
  bad ("--max-sessions wants 1..1000", "-s", "s", "--launch", "true",
      "--max-sessions", "1001", NULL);
  bad ("--session-idle-timeout wants 1..86400", "-s", "s", "--launch",
      "true", "--session-idle-timeout", "-1", NULL);
  bad ("go with --launch", "-s", "s", "--max-sessions", "4", NULL);
  bad ("go with --launch", "-s", "s", "--launch-log-dir", logs, NULL);
  g_assert_cmpint (g_mkdir (open_dir, 0777), ==, 0);
  g_assert_cmpint (g_chmod (open_dir, 0777), ==, 0);
  bad ("other users may write into", "-s", "s", "--launch", "true",
      "--launch-log-dir", open_dir, NULL);

  g_rmdir (open_dir);
  g_rmdir (logs);
  g_rmdir (def);
  g_rmdir (dir);
  g_free (open_dir);
  g_free (def);
  g_free (logs);
  g_free (dir);
}

int
main (int argc, char **argv)
{
  gint r;

  runtime = g_dir_make_tmp ("vs-config-run-XXXXXX", NULL);
  g_setenv ("XDG_RUNTIME_DIR", runtime, TRUE);
  gst_init (NULL, NULL);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/config/defaults", test_defaults);
  g_test_add_func ("/config/values", test_values);
  g_test_add_func ("/config/version", test_version);
  g_test_add_func ("/config/refusals", test_refusals);
  g_test_add_func ("/config/secrets", test_secrets);
  g_test_add_func ("/config/redact", test_redact);
  g_test_add_func ("/config/origin", test_origin);
  g_test_add_func ("/config/record", test_record);
  g_test_add_func ("/config/launch", test_launch);
  r = g_test_run ();
  g_rmdir (runtime);
  g_free (runtime);
  return r;
}
