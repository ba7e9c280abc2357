/* Tests of server/vs-launch.c with real processes: vizstream-demo making
 * its segment, shell renderers that never do, crash, ignore SIGTERM or
 * leave a child behind, and a server (this program as --helper) killed
 * with SIGKILL.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <vizstream.h>
#include "vs-launch.h"

static gchar *log_dir, *demo;

typedef struct
{
  GMainLoop *loop;
  gint ready, failed, exited;
  gchar *why, *tail;
} Watch;

static void
on_ready (VsLaunch * l, gpointer data)
{
  Watch *w = data;
  w->ready++;
  g_main_loop_quit (w->loop);
}

static void
note (Watch * w, const gchar * why, const gchar * tail)
{
  g_free (w->why);
  g_free (w->tail);
  w->why = g_strdup (why);
  w->tail = g_strdup (tail);
  g_main_loop_quit (w->loop);
}

static void
on_failed (VsLaunch * l, const gchar * why, const gchar * tail, gpointer data)
{
  ((Watch *) data)->failed++;
  note (data, why, tail);
}

static void
on_exited (VsLaunch * l, const gchar * why, const gchar * tail, gpointer data)
{
  ((Watch *) data)->exited++;
  note (data, why, tail);
}

static const VsLaunchHooks hooks = { on_ready, on_failed, on_exited };

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

/* Runs the loop until a hook quits it or ms pass. */
static void
run (Watch * w, guint ms)
{
  guint t = g_timeout_add (ms, quit_loop, w->loop);
  gint before = w->ready + w->failed + w->exited;
  g_main_loop_run (w->loop);
  if (w->ready + w->failed + w->exited != before)
    g_source_remove (t);
}

static void
watch_clear (Watch * w)
{
  g_main_loop_unref (w->loop);
  g_free (w->why);
  g_free (w->tail);
}

static VsLaunch *
start (Watch * w, const gchar * templ, guint timeout_s, guint grace_ms)
{
  gchar *session = vs_launch_new_session_id ();
  gchar *segment = g_strconcat ("vz-test-launch-", session, NULL);
  VsLaunchOptions o = {.templ = templ,.values = {segment, session, 320, 240},
    .log_dir = log_dir,.timeout_s = timeout_s,.grace_ms = grace_ms
  };
  GError *err = NULL;
  VsLaunch *l;

  memset (w, 0, sizeof *w);
  w->loop = g_main_loop_new (NULL, FALSE);
  l = vs_launch_start (&o, &hooks, w, &err);
  g_assert_no_error (err);
  g_assert_nonnull (l);
  g_assert_cmpint (getpgid (vs_launch_get_pid (l)), ==,
      vs_launch_get_pid (l));
  g_free (segment);
  g_free (session);
  return l;
}

/* Running (a zombie is not: it waits for its reaper only). */
static gboolean
alive (pid_t pid)
{
  gchar *path = g_strdup_printf ("/proc/%d/stat", (gint) pid), *text = NULL;
  gboolean yes = FALSE;

  if (g_file_get_contents (path, &text, NULL, NULL)) {
    const gchar *p = strrchr (text, ')');
    yes = p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
  }
  g_free (text);
  g_free (path);
  return yes;
}

/* Milliseconds until none of pids runs (the main loop turning: it reaps),
 * or -1 past ms. */
static gint
wait_gone (const pid_t * pids, guint n, guint ms)
{
  gint64 t0 = g_get_monotonic_time ();

  for (;;) {
    gboolean any = FALSE;
    for (guint i = 0; i < n; i++)
      any |= alive (pids[i]);
    if (!any)
      return (g_get_monotonic_time () - t0) / 1000;
    if (g_get_monotonic_time () - t0 > ms * G_TIME_SPAN_MILLISECOND)
      return -1;
    while (g_main_context_iteration (NULL, FALSE));
    g_usleep (10 * 1000);
  }
}

static pid_t
parent_of (pid_t pid)
{
  gchar *path = g_strdup_printf ("/proc/%d/stat", (gint) pid), *text = NULL;
  gint ppid = 0;

  if (g_file_get_contents (path, &text, NULL, NULL)) {
    const gchar *p = strrchr (text, ')');
    gchar state;
    if (!p || sscanf (p + 1, " %c %d", &state, &ppid) != 2)
      ppid = 0;
  }
  g_free (text);
  g_free (path);
  return ppid;
}

/* Every process whose group is pgid. */
static GArray *
group_members (pid_t pgid)
{
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (pid_t));
  GDir *d = g_dir_open ("/proc", 0, NULL);
  const gchar *name;

  while ((name = g_dir_read_name (d))) {
    gchar *path, *text = NULL;
    if (!g_ascii_isdigit (name[0]))
      continue;
    path = g_build_filename ("/proc", name, "stat", NULL);
    if (g_file_get_contents (path, &text, NULL, NULL)) {
      const gchar *p = strrchr (text, ')');
      gchar state;
      gint ppid, pgrp;
      if (p && sscanf (p + 1, " %c %d %d", &state, &ppid, &pgrp) == 3
          && pgrp == pgid && state != 'Z') {
        pid_t pid = atoi (name);
        g_array_append_val (pids, pid);
      }
    }
    g_free (text);
    g_free (path);
  }
  g_dir_close (d);
  return pids;
}

static gboolean
segment_exists (const gchar * segment)
{
  gchar *path = g_strconcat ("/", segment, NULL);
  gint fd = shm_open (path, O_RDONLY, 0);
  g_free (path);
  if (fd >= 0)
    close (fd);
  return fd >= 0;
}

/* The "pids A B" line a shell renderer printed into its log (after the
 * server's head line, which quotes the command). */
static void
read_pids (const gchar * text, pid_t * a, pid_t * b)
{
  const gchar *p = strstr (text, "\npids ");
  gint x = 0, y = 0;
  g_assert_nonnull (p);
  g_assert_cmpint (sscanf (p + 1, "pids %d %d", &x, &y), >=, 1);
  *a = x;
  *b = y;
}

static gchar *
wait_log (VsLaunch * l, const gchar * what)
{
  gint64 t0 = g_get_monotonic_time ();
  gchar *text = NULL;

  while (g_get_monotonic_time () - t0 < 10 * G_TIME_SPAN_SECOND) {
    g_free (text);
    text = NULL;
    g_file_get_contents (vs_launch_get_log_path (l), &text, NULL, NULL);
    if (text && strstr (text, what))
      return text;
    while (g_main_context_iteration (NULL, FALSE));
    g_usleep (20 * 1000);
  }
  g_error ("the log '%s' never said '%s': %s", vs_launch_get_log_path (l),
      what, text);
  return NULL;
}

static gchar *
demo_template (void)
{
  gchar *q = g_shell_quote (demo);
  gchar *t = g_strdup_printf ("%s --segment {segment} --size {width}x{height}"
      " --fps 30 --nodes 200 --quiet", q);
  g_free (q);
  return t;
}

/* The renderer's own pid, as it wrote it into its segment. */
static pid_t
writer_pid (const gchar * segment, guint * width)
{
  VzReader *r = NULL;
  VzSegmentInfo info;

  g_assert_cmpint (vz_reader_open (segment, 0, &r), ==, VZ_OK);
  vz_reader_get_info (r, &info);
  vz_reader_close (r);
  if (width)
    *width = info.max_width;
  return info.writer_pid;
}

/* ---- the tests ---- */

static void
test_template (void)
{
  const VsLaunchValues v = { "seg-1", "abc", 640, 480 };
  VsLaunchValues bad = v;
  const gchar *expected[] = { "prog", "--title", "a b seg-1", "-s", "seg-1",
    "--size=640x480", "{x}", "$(id) abc;", NULL
  };
  const gchar *bad_names[] = { "a b", "x;rm -rf /", "-rf", "", "a/b",
    "$(id)", "seg'1", NULL
  };
  GError *err = NULL;
  gchar **argv, *long_name, *a, *b;

  argv = vs_launch_expand ("prog --title 'a b {segment}' -s {segment} "
      "--size={width}x{height} {{x} '$(id) {session};'", &v, &err);
  g_assert_no_error (err);
  g_assert_cmpstrv (argv, expected);
  g_strfreev (argv);

  /* A value is never more than part of one argument: a name with
   * anything but A-Z a-z 0-9 . _ - (or a leading -) is refused. */
  for (guint i = 0; bad_names[i]; i++) {
    bad.segment = bad_names[i];
    g_assert_null (vs_launch_expand ("prog {segment}", &bad, &err));
    g_assert_nonnull (strstr (err->message, "segment or session name"));
    g_clear_error (&err);
    bad.segment = v.segment;
    bad.session = bad_names[i];
    g_assert_null (vs_launch_expand ("prog {session}", &bad, &err));
    g_clear_error (&err);
    bad.session = v.session;
  }
  long_name = g_strnfill (201, 'a');
  bad.segment = long_name;
  g_assert_null (vs_launch_expand ("prog", &bad, &err));
  g_clear_error (&err);
  g_free (long_name);
  bad = v;
  bad.width = 0;
  g_assert_null (vs_launch_expand ("prog", &bad, &err));
  g_assert_nonnull (strstr (err->message, "1..16384"));
  g_clear_error (&err);
  bad = v;
  bad.height = 16385;
  g_assert_null (vs_launch_expand ("prog", &bad, &err));
  g_clear_error (&err);

  g_assert_null (vs_launch_expand ("prog {port}", &v, &err));
  g_assert_nonnull (strstr (err->message, "unknown placeholder {port}"));
  g_clear_error (&err);
  g_assert_null (vs_launch_expand ("prog --json {\"a\":1}", &v, &err));
  g_assert_nonnull (strstr (err->message, "write {{ for a literal {"));
  g_clear_error (&err);
  g_assert_null (vs_launch_expand ("prog {segment", &v, &err));
  g_assert_nonnull (strstr (err->message, "unclosed"));
  g_clear_error (&err);
  g_assert_null (vs_launch_expand ("prog 'open", &v, &err));
  g_assert_nonnull (strstr (err->message, "does not split"));
  g_clear_error (&err);
  g_assert_null (vs_launch_expand ("", &v, &err));
  g_clear_error (&err);

  g_assert_true (vs_launch_check_template ("sh -c 'echo {segment}'", &err));
  g_assert_no_error (err);
  g_assert_false (vs_launch_check_template ("{segment} x", &err));
  g_assert_nonnull (strstr (err->message, "named plainly"));
  g_clear_error (&err);
  g_assert_false (vs_launch_check_template ("vz-no-such-program", &err));
  g_assert_nonnull (strstr (err->message, "no program"));
  g_clear_error (&err);

  a = vs_launch_new_session_id ();
  b = vs_launch_new_session_id ();
  g_assert_cmpuint (strlen (a), ==, 32);
  g_assert_cmpuint (strspn (a, "0123456789abcdef"), ==, 32);
  g_assert_cmpstr (a, !=, b);
  g_free (a);
  g_free (b);
}

static void
test_ready_and_stop (void)
{
  gchar *templ = demo_template (), *segment, *text, *env, *envp;
  gint64 t0 = g_get_monotonic_time ();
  GStatBuf st;
  Watch w;
  VsLaunch *l;
  pid_t pids[2];
  guint width = 0;
  gsize len;
  gint ms;

  g_setenv ("VIZSTREAM_TOKEN", "not-for-renderers", TRUE);
  l = start (&w, templ, 10, 0);
  g_unsetenv ("VIZSTREAM_TOKEN");
  run (&w, 15000);
  g_assert_cmpint (w.ready, ==, 1);
  g_assert_cmpint (w.failed + w.exited, ==, 0);
  g_printerr ("ready after %.3f s (launch to hook %.3f s)\n",
      vs_launch_get_ready_seconds (l),
      (g_get_monotonic_time () - t0) / 1e6);
  segment = g_strdup (vs_launch_get_segment (l));
  pids[0] = vs_launch_get_pid (l);
  pids[1] = writer_pid (segment, &width);
  g_assert_cmpuint (width, ==, 320);
  /* The renderer is the supervisor's child, leading its own group. */
  g_assert_cmpint (parent_of (pids[1]), ==, pids[0]);
  g_assert_cmpint (getpgid (pids[1]), ==, pids[1]);
  /* Its environment: the session, not the server's secrets. */
  env = g_strdup_printf ("/proc/%d/environ", (gint) pids[1]);
  g_assert_true (g_file_get_contents (env, &envp, &len, NULL));
  for (gsize i = 0; i < len; i++)
    if (envp[i] == '\0')
      envp[i] = '\n';
  text = g_strdup_printf ("VIZSTREAM_SEGMENT=%s\n", segment);
  g_assert_nonnull (strstr (envp, text));
  g_assert_nonnull (strstr (envp, "VIZSTREAM_WIDTH=320\n"));
  g_assert_nonnull (strstr (envp, "VIZSTREAM_HEIGHT=240\n"));
  g_assert_null (strstr (envp, "not-for-renderers"));
  g_free (text);
  g_free (envp);
  g_free (env);
  /* The log: private, the command at its head. */
  g_assert_cmpint (g_stat (vs_launch_get_log_path (l), &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 0777, ==, 0600);
  g_assert_true (g_file_get_contents (vs_launch_get_log_path (l), &text,
          NULL, NULL));
  g_assert_true (g_str_has_prefix (text, "---- vizstream-server "));
  g_assert_nonnull (strstr (text, "--size 320x240"));
  g_free (text);

  t0 = g_get_monotonic_time ();
  vs_launch_stop (l);
  ms = wait_gone (pids, 2, 5000);
  g_assert_cmpint (ms, >=, 0);
  g_printerr ("stopped in %d ms\n", ms);
  g_assert_false (segment_exists (segment));
  g_free (segment);
  g_free (templ);
  watch_clear (&w);
}

static void
test_never_ready (void)
{
  Watch w;
  VsLaunch *l;
  pid_t pids[3];
  gint ms;

  /* The shell forks a child: the whole group must go. */
  l = start (&w, "sh -c 'sleep 300 & echo \"pids $$ $!\"; wait'", 1, 0);
  pids[0] = vs_launch_get_pid (l);
  run (&w, 5000);
  g_assert_cmpint (w.failed, ==, 1);
  g_assert_cmpint (w.ready + w.exited, ==, 0);
  g_assert_nonnull (strstr (w.why, "made no valid segment"));
  g_assert_nonnull (strstr (w.why, "within 1 s"));
  g_assert_nonnull (strstr (w.why, vs_launch_get_segment (l)));
  /* The log got its output. */
  read_pids (w.tail, &pids[1], &pids[2]);
  /* The background child is in the renderer's group, unless the group's
   * end (begun at the timeout, before the hook) already took it. */
  {
    pid_t pgid = getpgid (pids[2]);
    gint e = errno;
    if (pgid < 0)
      g_assert_cmpint (e, ==, ESRCH);
    else
      g_assert_cmpint (pgid, ==, pids[1]);
  }
  ms = wait_gone (pids, 3, 5000);
  g_assert_cmpint (ms, >=, 0);
  g_printerr ("group ended %d ms after the timeout\n", ms);
  /* No hook after failed, even when it is reaped. */
  g_assert_cmpint (w.exited, ==, 0);
  vs_launch_stop (l);
  watch_clear (&w);
}

static void
test_exits_before_ready (void)
{
  Watch w;
  VsLaunch *l;
  pid_t pids[2];

  /* What it leaves behind goes with it. */
  l = start (&w, "sh -c 'sleep 300 & echo \"pids $$ $!\"; "
      "echo \"no display here\" >&2; exit 3'", 10, 0);
  run (&w, 5000);
  g_assert_cmpint (w.failed, ==, 1);
  g_assert_nonnull (strstr (w.why, "exited with status 3 before its "
          "segment"));
  g_assert_nonnull (strstr (w.tail, "no display here"));
  g_assert_cmpint (vs_launch_get_pid (l), ==, 0);
  read_pids (w.tail, &pids[0], &pids[1]);
  g_assert_false (alive (pids[0]));
  g_assert_false (alive (pids[1]));
  vs_launch_stop (l);
  watch_clear (&w);
}

static void
test_crash_after_ready (void)
{
  gchar *templ = demo_template (), *segment;
  Watch w;
  VsLaunch *l;
  pid_t pid;

  l = start (&w, templ, 10, 0);
  run (&w, 15000);
  g_assert_cmpint (w.ready, ==, 1);
  segment = g_strdup (vs_launch_get_segment (l));
  pid = writer_pid (segment, NULL);
  g_assert_cmpint (kill (pid, SIGSEGV), ==, 0);
  run (&w, 5000);
  g_assert_cmpint (w.exited, ==, 1);
  g_assert_cmpint (w.failed, ==, 0);
  g_assert_nonnull (strstr (w.why, "killed by signal 11"));
  /* A crashed writer leaves its segment: unlinked for it. */
  g_assert_false (segment_exists (segment));
  vs_launch_stop (l);
  g_free (segment);
  g_free (templ);
  watch_clear (&w);
}

/* vizstream.Publisher dies of SIGTERM (Python's default) without closing
 * its segment: stop unlinks it. The template reads the segment's name from
 * the environment. */
static void
test_python_publisher_stopped (void)
{
  const gchar *templ = "/usr/bin/python3 -c 'import os, time, vizstream; "
      "p = vizstream.Publisher(os.environ[\"VIZSTREAM_SEGMENT\"], {width}, "
      "{height}); f = bytes({width} * {height} * 4)\nwhile True:\n"
      "  p.publish(f); time.sleep(0.03)'";
  gchar *segment, *lib;
  Watch w;
  VsLaunch *l;
  pid_t pids[2];
  guint width = 0;

  lib = g_build_filename (g_getenv ("VZ_BUILD_ROOT"), "lib", "vizstream",
      "libvizstream.so.0", NULL);
  g_setenv ("VIZSTREAM_LIB", lib, TRUE);
  g_free (lib);
  lib = g_build_filename (g_getenv ("VZ_SOURCE_ROOT"), "python", NULL);
  g_setenv ("PYTHONPATH", lib, TRUE);
  g_free (lib);
  l = start (&w, templ, 20, 0);
  run (&w, 25000);
  if (w.failed)
    g_error ("%s: %s", w.why, w.tail);
  g_assert_cmpint (w.ready, ==, 1);
  segment = g_strdup (vs_launch_get_segment (l));
  pids[0] = vs_launch_get_pid (l);
  pids[1] = writer_pid (segment, &width);
  g_assert_cmpuint (width, ==, 320);
  vs_launch_stop (l);
  g_assert_cmpint (wait_gone (pids, 2, 5000), >=, 0);
  g_assert_false (segment_exists (segment));
  g_free (segment);
  watch_clear (&w);
}

static void
test_stop_ignoring_sigterm (void)
{
  Watch w;
  VsLaunch *l;
  pid_t pids[3];
  gchar *text;
  gint ms;

  l = start (&w, "sh -c 'trap \"\" TERM; echo \"pids $$\"; "
      "exec sleep 300'", 30, 1000);
  pids[0] = vs_launch_get_pid (l);
  text = wait_log (l, "\npids ");
  read_pids (text, &pids[1], &pids[2]);
  g_free (text);
  vs_launch_stop (l);
  ms = wait_gone (pids, 2, 6000);
  g_printerr ("a renderer ignoring SIGTERM ended after %d ms (grace "
      "1000 ms)\n", ms);
  g_assert_cmpint (ms, >=, 900);
  g_assert_cmpint (ms, <, 3000);
  g_assert_cmpint (w.ready + w.failed + w.exited, ==, 0);
  watch_clear (&w);
}

/* A supervisor that cannot act (stopped here): the server kills it a
 * second past the grace period, the renderer dies with it (its
 * parent-death signal), and the server unlinks the segment left. */
static void
test_supervisor_stuck (void)
{
  gchar *templ = demo_template (), *segment;
  Watch w;
  VsLaunch *l;
  pid_t pids[2];
  gint64 t0;
  gint ms;

  l = start (&w, templ, 10, 500);
  run (&w, 15000);
  g_assert_cmpint (w.ready, ==, 1);
  segment = g_strdup (vs_launch_get_segment (l));
  pids[0] = vs_launch_get_pid (l);
  pids[1] = writer_pid (segment, NULL);
  g_assert_cmpint (kill (pids[0], SIGSTOP), ==, 0);
  t0 = g_get_monotonic_time ();
  vs_launch_stop (l);
  ms = wait_gone (pids, 2, 5000);
  g_printerr ("a stuck supervisor and its renderer killed after %d ms "
      "(grace 500 ms)\n", ms);
  g_assert_cmpint (ms, >=, 1400);
  while (segment_exists (segment)
      && g_get_monotonic_time () - t0 < 5 * G_TIME_SPAN_SECOND) {
    g_main_context_iteration (NULL, FALSE);
    g_usleep (10 * 1000);
  }
  g_assert_false (segment_exists (segment));
  g_free (segment);
  g_free (templ);
  watch_clear (&w);
}

static void
test_stop_all_now (void)
{
  gchar *templ = demo_template (), *segment, *text;
  Watch w1, w2;
  VsLaunch *l1, *l2;
  pid_t pids[4], unused;
  gint64 t0;
  gint ms;

  l1 = start (&w1, templ, 10, 1000);
  run (&w1, 15000);
  g_assert_cmpint (w1.ready, ==, 1);
  segment = g_strdup (vs_launch_get_segment (l1));
  l2 = start (&w2, "sh -c 'trap \"\" TERM; echo \"pids $$\"; "
      "exec sleep 300'", 30, 1000);
  text = wait_log (l2, "\npids ");
  read_pids (text, &pids[3], &unused);
  g_free (text);
  pids[0] = vs_launch_get_pid (l1);
  pids[1] = vs_launch_get_pid (l2);
  pids[2] = writer_pid (segment, NULL);

  t0 = g_get_monotonic_time ();
  vs_launch_stop_all_now ();
  ms = (g_get_monotonic_time () - t0) / 1000;
  g_printerr ("stop_all_now returned after %d ms (grace 1000 ms)\n", ms);
  g_assert_cmpint (ms, >=, 900);
  g_assert_cmpint (ms, <, 3000);
  /* Reaped, not zombies: gone altogether. */
  for (guint i = 0; i < 4; i++)
    g_assert_false (alive (pids[i]));
  g_assert_cmpint (kill (pids[0], 0), ==, -1);
  g_assert_cmpint (kill (pids[1], 0), ==, -1);
  g_assert_false (segment_exists (segment));
  g_assert_cmpint (w1.failed + w1.exited + w2.ready + w2.failed + w2.exited,
      ==, 0);
  g_free (segment);
  g_free (templ);
  watch_clear (&w1);
  watch_clear (&w2);
}

/* --helper TEMPLATE: a server that launches one renderer (grace 1 s),
 * says "ready PID SEGMENT" and waits to be killed. */
static G_GNUC_NORETURN void
on_helper_failed (VsLaunch * l, const gchar * why, const gchar * tail,
    gpointer data)
{
  g_print ("failed %s\n", why);
  exit (1);
}

static void
on_helper_ready (VsLaunch * l, gpointer data)
{
  g_print ("ready %d %s\n", (gint) vs_launch_get_pid (l),
      vs_launch_get_segment (l));
}

static gint
helper_main (const gchar * templ)
{
  const VsLaunchHooks h = { on_helper_ready, on_helper_failed,
    on_helper_failed
  };
  gchar *session = vs_launch_new_session_id ();
  gchar *segment = g_strconcat ("vz-test-launch-", session, NULL);
  VsLaunchOptions o = {.templ = templ,.values = {segment, session, 320, 240},
    .log_dir = log_dir,.timeout_s = 10,.grace_ms = 1000
  };
  GError *err = NULL;

  setvbuf (stdout, NULL, _IOLBF, 0);
  if (!vs_launch_start (&o, &h, NULL, &err)) {
    g_print ("failed %s\n", err->message);
    return 1;
  }
  g_main_loop_run (g_main_loop_new (NULL, FALSE));
  return 0;
}

static void
test_server_killed (void)
{
  gchar *q = g_shell_quote (demo);
  /* A wrapper with a child ignoring SIGTERM: the supervisor must end the
   * whole group, not only its direct child. */
  gchar *templ = g_strdup_printf ("sh -c 'trap \"\" TERM; sleep 300 & "
      "exec %s --segment \"$0\" --quiet --nodes 200' {segment}", q);
  gchar *self = g_file_read_link ("/proc/self/exe", NULL);
  const gchar *argv[] = { self, "--helper", templ, log_dir, NULL };
  gchar line[512], segment[256];
  GError *err = NULL;
  GPid helper;
  gint out, n = 0, sup = 0, ms;
  pid_t pid;
  GArray *members;
  struct pollfd pfd;

  g_assert_true (g_spawn_async_with_pipes (NULL, (gchar **) argv, NULL,
          G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &helper, NULL, &out, NULL,
          &err));
  g_assert_no_error (err);
  pfd.fd = out;
  pfd.events = POLLIN;
  while (n < (gint) sizeof line - 1 && !memchr (line, '\n', n)) {
    gssize r;
    g_assert_cmpint (poll (&pfd, 1, 15000), ==, 1);
    r = read (out, line + n, sizeof line - 1 - n);
    g_assert_cmpint (r, >, 0);
    n += r;
  }
  line[n] = '\0';
  if (sscanf (line, "ready %d %255s", &sup, segment) != 2)
    g_error ("the helper said: %s", line);
  /* The renderer's group: demo (exec'd by the shell) and sleep. */
  pid = writer_pid (segment, NULL);
  members = group_members (pid);
  g_assert_cmpuint (members->len, ==, 2);
  g_assert_cmpint (parent_of (pid), ==, sup);
  g_array_append_val (members, sup);

  g_assert_cmpint (kill (helper, SIGKILL), ==, 0);
  g_assert_cmpint (waitpid (helper, NULL, 0), ==, helper);
  ms = wait_gone ((pid_t *) members->data, members->len, 6000);
  g_printerr ("after the server's SIGKILL its renderers ended in %d ms "
      "(grace 1000 ms)\n", ms);
  g_assert_cmpint (ms, >=, 0);
  g_assert_false (segment_exists (segment));
  g_array_unref (members);
  close (out);
  g_spawn_close_pid (helper);
  g_free (self);
  g_free (templ);
  g_free (q);
}

int
main (int argc, char **argv)
{
  const struct rlimit no_core = { 0, 0 };
  const gchar *build = g_getenv ("VZ_BUILD_ROOT");
  GError *err = NULL;
  gint r;

  /* The crash test's renderer dumps no core. */
  setrlimit (RLIMIT_CORE, &no_core);
  if (argc == 4 && g_str_equal (argv[1], "--helper")) {
    log_dir = argv[3];
    return helper_main (argv[2]);
  }
  if (!build || !g_getenv ("VZ_SOURCE_ROOT"))
    g_error ("VZ_BUILD_ROOT or VZ_SOURCE_ROOT is not set: run through meson "
        "test");
  demo = g_build_filename (build, "examples", "demo", "vizstream-demo", NULL);
  log_dir = g_dir_make_tmp ("vs-launch-logs-XXXXXX", NULL);
  g_assert_true (vs_launch_prepare_log_dir (log_dir, &err));
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/launch/template", test_template);
  g_test_add_func ("/launch/ready_and_stop", test_ready_and_stop);
  g_test_add_func ("/launch/never_ready", test_never_ready);
  g_test_add_func ("/launch/exits_before_ready", test_exits_before_ready);
  g_test_add_func ("/launch/crash_after_ready", test_crash_after_ready);
  g_test_add_func ("/launch/python_publisher_stopped",
      test_python_publisher_stopped);
  g_test_add_func ("/launch/stop_ignoring_sigterm",
      test_stop_ignoring_sigterm);
  g_test_add_func ("/launch/supervisor_stuck", test_supervisor_stuck);
  g_test_add_func ("/launch/stop_all_now", test_stop_all_now);
  g_test_add_func ("/launch/server_killed", test_server_killed);
  r = g_test_run ();
  if (r == 0) {
    GDir *d = g_dir_open (log_dir, 0, NULL);
    const gchar *name;
    while (d && (name = g_dir_read_name (d))) {
      gchar *p = g_build_filename (log_dir, name, NULL);
      g_unlink (p);
      g_free (p);
    }
    if (d)
      g_dir_close (d);
    g_rmdir (log_dir);
  }
  g_free (demo);
  return r;
}
