/* vizstream-server: renderers on demand (vs-launch.h).
 *
 * Between fork and exec (the supervisor's whole life) only system calls
 * run: the server has other threads, whose locks (malloc's among them) a
 * forked child may find held. Everything the children need is made
 * before the fork.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE             /* close_range */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-launch.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <vizstream.h>

G_DEFINE_QUARK (vs-launch-error-quark, vs_launch_error);

#define DEFAULT_GRACE_MS 3000
#define POLL_MS 100             /* for the segment: cheap, and soon enough */
#define TAIL_LINES 20
#define TAIL_BYTES 8192

struct _VsLaunch
{
  VsLaunchHooks hooks;
  gpointer data;
  gchar *segment, *session;
  gchar *shm_path;              /* "/" segment */
  gchar *log_path;
  guint timeout_s, grace_ms;
  GPid pid;                     /* the supervisor; 0 once reaped */
  gint64 start_us, ready_us;
  guint poll_id, deadline_id, kill_id, watch_id;
  gboolean ready, failed;       /* the hook said so */
  gboolean stopped;             /* vs_launch_stop: no more hooks */
  gboolean ending;              /* SIGTERM sent to the supervisor */
  gchar *last_refusal;          /* why the segment was not valid yet */
};

/* Every launch not yet freed (main loop). */
static GList *launches;

static gboolean
fail (GError ** error, const gchar * format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
fail (GError ** error, const gchar * format, ...)
{
  va_list args;
  gchar *m;

  va_start (args, format);
  m = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, VS_LAUNCH_ERROR, 0, m);
  g_free (m);
  return FALSE;
}

/* ---- the template ---- */

static gboolean
valid_name (const gchar * s)
{
  gsize n = s ? strlen (s) : 0;

  if (n < 1 || n > 200 || !g_ascii_isalnum (s[0]))
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isalnum (s[i]) && !strchr ("._-", s[i]))
      return FALSE;
  return TRUE;
}

/* One argument of the split template, its placeholders filled in. */
static gboolean
fill (const gchar * arg, const VsLaunchValues * v, GString * out,
    GError ** error)
{
  const gchar *p = arg;

  while (*p) {
    const gchar *end;
    gsize n;

    if (p[0] == '{' && p[1] == '{') {
      g_string_append_c (out, '{');
      p += 2;
      continue;
    }
    if (p[0] != '{') {
      g_string_append_c (out, *p++);
      continue;
    }
    end = strchr (p, '}');
    if (!end)
      return fail (error, "--launch: an unclosed '{' in '%s' (write {{ for "
          "a literal {)", arg);
    n = end - p - 1;
    if (n == 7 && strncmp (p + 1, "segment", n) == 0)
      g_string_append (out, v->segment);
    else if (n == 7 && strncmp (p + 1, "session", n) == 0)
      g_string_append (out, v->session);
    else if (n == 5 && strncmp (p + 1, "width", n) == 0)
      g_string_append_printf (out, "%u", v->width);
    else if (n == 6 && strncmp (p + 1, "height", n) == 0)
      g_string_append_printf (out, "%u", v->height);
    else
      return fail (error, "--launch: unknown placeholder {%.*s}: the "
          "template may use {segment}, {session}, {width} and {height} "
          "(write {{ for a literal {)", (gint) MIN (n, 40), p + 1);
    p = end + 1;
  }
  return TRUE;
}

gchar **
vs_launch_expand (const gchar * templ, const VsLaunchValues * v,
    GError ** error)
{
  GError *err = NULL;
  gchar **argv = NULL;
  gint argc = 0;
  GPtrArray *out;

  if (!valid_name (v->segment) || !valid_name (v->session)) {
    fail (error, "--launch: a segment or session name must have 1 to 200 "
        "of A-Z a-z 0-9 . _ - and start with a letter or digit");
    return NULL;
  }
  if (v->width < 1 || v->width > VS_LAUNCH_MAX_SIZE || v->height < 1
      || v->height > VS_LAUNCH_MAX_SIZE) {
    fail (error, "--launch: {width} and {height} must be 1..%u, not %ux%u",
        VS_LAUNCH_MAX_SIZE, v->width, v->height);
    return NULL;
  }
  if (!templ || !g_shell_parse_argv (templ, &argc, &argv, &err)) {
    fail (error, "--launch: the command does not split into arguments: %s",
        err ? err->message : "none given");
    g_clear_error (&err);
    return NULL;
  }
  out = g_ptr_array_new_with_free_func (g_free);
  for (gint i = 0; i < argc; i++) {
    GString *s = g_string_new (NULL);
    if (!fill (argv[i], v, s, error)) {
      g_string_free (s, TRUE);
      g_ptr_array_unref (out);
      g_strfreev (argv);
      return NULL;
    }
    g_ptr_array_add (out, g_string_free (s, FALSE));
  }
  g_strfreev (argv);
  g_ptr_array_add (out, NULL);
  return (gchar **) g_ptr_array_free (out, FALSE);
}

/* The program as it will be run: a path as given, else found in PATH. */
static gchar *
find_program (const gchar * name, GError ** error)
{
  gchar *path;

  if (strchr (name, '/')) {
    if (g_file_test (name, G_FILE_TEST_IS_EXECUTABLE)
        && !g_file_test (name, G_FILE_TEST_IS_DIR))
      return g_strdup (name);
    fail (error, "--launch: '%s' is not an executable file", name);
    return NULL;
  }
  path = g_find_program_in_path (name);
  if (!path)
    fail (error, "--launch: no program '%s' in PATH", name);
  return path;
}

gboolean
vs_launch_check_template (const gchar * templ, GError ** error)
{
  const VsLaunchValues sample = { "vizstream-check", "0", 1280, 720 };
  gchar **argv = vs_launch_expand (templ, &sample, error);
  gchar **raw = NULL, *path;

  if (!argv)
    return FALSE;
  g_strfreev (argv);
  g_shell_parse_argv (templ, NULL, &raw, NULL);
  if (strchr (raw[0], '{')) {
    fail (error, "--launch: the program ('%s') must be named plainly, "
        "without placeholders", raw[0]);
    g_strfreev (raw);
    return FALSE;
  }
  path = find_program (raw[0], error);
  g_strfreev (raw);
  g_free (path);
  return path != NULL;
}

/* ---- the log and names ---- */

gchar *
vs_launch_default_log_dir (void)
{
  return g_build_filename (g_get_user_runtime_dir (), "vizstream-server",
      NULL);
}

gboolean
vs_launch_prepare_log_dir (const gchar * dir, GError ** error)
{
  struct stat st;
  gchar *probe;
  gint fd, e;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    return fail (error, "--launch-log-dir: cannot make '%s': %s", dir,
        g_strerror (errno));
  if (g_stat (dir, &st) != 0 || !S_ISDIR (st.st_mode))
    return fail (error, "--launch-log-dir: '%s' is not a directory", dir);
  if (st.st_uid != geteuid ())
    return fail (error, "--launch-log-dir: '%s' belongs to another user",
        dir);
  if (st.st_mode & 022)
    return fail (error, "--launch-log-dir: other users may write into '%s' "
        "(mode %04o): chmod go-w it", dir, (guint) (st.st_mode & 07777));
  probe = g_build_filename (dir, ".vizstream-launch-XXXXXX", NULL);
  fd = g_mkstemp (probe);
  e = errno;
  if (fd >= 0) {
    close (fd);
    g_unlink (probe);
  }
  g_free (probe);
  if (fd < 0)
    return fail (error, "--launch-log-dir: cannot write into '%s': %s", dir,
        g_strerror (e));
  return TRUE;
}

gchar *
vs_launch_new_session_id (void)
{
  guint8 b[16];
  gsize got = 0;

  while (got < sizeof b) {
    ssize_t n = getrandom (b + got, sizeof b - got, 0);
    if (n < 0 && errno != EINTR)
      g_error ("getrandom: %s", g_strerror (errno));
    if (n > 0)
      got += n;
  }
  return g_strdup_printf ("%02x%02x%02x%02x%02x%02x%02x%02x"
      "%02x%02x%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
      b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* The log's last lines, valid UTF-8 ("" when empty or unreadable). */
static gchar *
log_tail (const gchar * path)
{
  gchar buf[TAIL_BYTES + 1];
  const gchar *start;
  gssize n = 0;
  guint lines = 0;
  gint fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

  if (fd >= 0) {
    off_t size = lseek (fd, 0, SEEK_END);
    if (size > 0 && lseek (fd, MAX (size - TAIL_BYTES, 0), SEEK_SET) >= 0)
      n = read (fd, buf, TAIL_BYTES);
    close (fd);
  }
  n = MAX (n, 0);
  buf[n] = '\0';
  while (n > 0 && buf[n - 1] == '\n')
    buf[--n] = '\0';
  start = buf + n;
  while (start > buf && lines < TAIL_LINES)
    if (*--start == '\n')
      lines++;
  if (*start == '\n')
    start++;
  return g_utf8_make_valid (start, buf + n - start);
}

/* "exited with status 3", "was killed by signal 9 (Killed)". */
static gchar *
describe_status (gint status)
{
  if (WIFEXITED (status))
    return g_strdup_printf ("exited with status %d", WEXITSTATUS (status));
  if (WIFSIGNALED (status))
    return g_strdup_printf ("was killed by signal %d (%s)", WTERMSIG (status),
        g_strsignal (WTERMSIG (status)));
  return g_strdup_printf ("ended (wait status 0x%x)", (guint) status);
}

/* ---- the children (between fork and exec: system calls only) ---- */

typedef struct
{
  const gchar *path;
  gchar **argv, **envp;
  gint null_fd, log_fd;
  pid_t server;
  const gchar *shm_path;
  guint grace_ms;
} Plan;

static void
say (const gchar * a, const gchar * b, const gchar * c)
{
  /* stderr is the log; a short write there is of no consequence */
  if (write (2, a, strlen (a)) && write (2, b, strlen (b))
      && write (2, c, strlen (c))) {
  }
}

static const gchar *
errno_text (gint e)
{
  switch (e) {
    case ENOENT:
      return "no such file";
    case EACCES:
      return "permission denied";
    case ENOEXEC:
      return "not an executable format";
    case ENOMEM:
      return "out of memory";
    case E2BIG:
      return "arguments too long";
    default:
      return "cannot execute";
  }
}

static void
close_from (gint first)
{
  if (close_range (first, ~0U, 0) != 0)
    for (gint fd = first; fd < 65536; fd++)
      close (fd);
}

static gint64
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static G_GNUC_NORETURN void
run_renderer (const Plan * p, pid_t supervisor)
{
  struct sigaction dfl = {.sa_handler = SIG_DFL };
  sigset_t none;

  setpgid (0, 0);
  /* If the supervisor is killed outright, so is the renderer. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != supervisor)
    _exit (125);
  /* Ignored signals stay ignored through exec: the renderer starts with
   * the defaults, and nothing blocked. */
  for (gint sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      sigaction (sig, &dfl, NULL);
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  execve (p->path, p->argv, p->envp);
  say ("vizstream-server: cannot run ", p->path, ": ");
  say (errno_text (errno), "\n", "");
  _exit (127);
}

/* The supervisor: see vs-launch.h. All signals are blocked (since before
 * the fork) and taken with sigtimedwait. */
static G_GNUC_NORETURN void
supervise (const Plan * p)
{
  struct sigaction dfl = {.sa_handler = SIG_DFL };
  pid_t self = getpid (), renderer;
  sigset_t all;
  gint status = 0;
  gboolean renderer_done = FALSE, ending = FALSE, killed = FALSE;
  gint64 deadline = 0;

  /* Out of the server's group: a terminal's ^C or ^Z is the server's to
   * handle. */
  setpgid (0, 0);
  /* Set, then look: a server that died before prctl is noticed too. */
  prctl (PR_SET_PDEATHSIG, SIGTERM);
  if (getppid () != p->server)
    _exit (125);
  /* Orphans of the renderer come to us: we can wait for them all. */
  prctl (PR_SET_CHILD_SUBREAPER, 1);
  sigaction (SIGCHLD, &dfl, NULL);
  dup2 (p->null_fd, 0);
  dup2 (p->log_fd, 1);
  dup2 (p->log_fd, 2);
  close_from (3);
  renderer = fork ();
  if (renderer == 0)
    run_renderer (p, self);
  if (renderer < 0) {
    say ("vizstream-server: cannot start ", p->path, ": fork failed\n");
    _exit (127);
  }
  /* Also here: a SIGTERM to the group must reach it from now on. Its id
   * stays the renderer's while one of the group lives, reaped or not. */
  setpgid (renderer, renderer);
  sigfillset (&all);
  for (;;) {
    struct timespec wait_ts, *wait = NULL;
    siginfo_t info;
    gint st, sig;
    pid_t w;

    while ((w = waitpid (-1, &st, WNOHANG)) > 0)
      if (w == renderer) {
        status = st;
        renderer_done = TRUE;
      }
    if (w < 0 && errno == ECHILD)
      break;                    /* the renderer and all it left are gone */
    if (renderer_done && !ending) {
      /* What the renderer left behind ends with it. */
      ending = TRUE;
      kill (-renderer, SIGTERM);
      deadline = now_ms () + p->grace_ms;
    }
    if (ending) {
      gint64 left = deadline - now_ms ();
      if (left <= 0 && !killed) {
        kill (-renderer, SIGKILL);
        killed = TRUE;
        deadline = now_ms () + p->grace_ms;
        left = p->grace_ms;
      } else if (left <= 0) {
        break;                  /* left the group (setsid): not ours */
      }
      wait_ts.tv_sec = left / 1000;
      wait_ts.tv_nsec = (left % 1000) * 1000000;
      wait = &wait_ts;
    }
    sig = sigtimedwait (&all, &info, wait);
    /* The server's stop, or its death (the parent-death signal). */
    if ((sig == SIGTERM || sig == SIGINT || sig == SIGHUP) && !ending) {
      ending = TRUE;
      kill (-renderer, SIGTERM);
      deadline = now_ms () + p->grace_ms;
    }
  }
  /* The session's name, fresh and checked absent at the start: nobody
   * else's. A renderer that died without closing left it. */
  shm_unlink (p->shm_path);
  if (WIFSIGNALED (status)) {
    struct rlimit none = { 0, 0 };
    sigset_t one;
    gint sig = WTERMSIG (status);

    setrlimit (RLIMIT_CORE, &none);
    sigaction (sig, &dfl, NULL);
    sigemptyset (&one);
    sigaddset (&one, sig);
    kill (self, sig);
    sigprocmask (SIG_UNBLOCK, &one, NULL);
    _exit (128 + sig);
  }
  _exit (WIFEXITED (status) ? WEXITSTATUS (status) : 127);
}

/* ---- one launch, on the main loop ---- */

static void
clear_timers (VsLaunch * l)
{
  g_clear_handle_id (&l->poll_id, g_source_remove);
  g_clear_handle_id (&l->deadline_id, g_source_remove);
  g_clear_handle_id (&l->kill_id, g_source_remove);
}

static void
launch_free (VsLaunch * l)
{
  clear_timers (l);
  g_clear_handle_id (&l->watch_id, g_source_remove);
  launches = g_list_remove (launches, l);
  g_free (l->segment);
  g_free (l->session);
  g_free (l->shm_path);
  g_free (l->log_path);
  g_free (l->last_refusal);
  g_free (l);
}

/* The supervisor's own SIGKILL to the group comes at the grace period;
 * past this one more, the supervisor itself is stuck (stopped, say). */
#define SUPERVISOR_SLACK_MS 1000

static gboolean
on_grace_over (gpointer data)
{
  VsLaunch *l = data;

  l->kill_id = 0;
  if (l->pid)
    kill (l->pid, SIGKILL);
  return G_SOURCE_REMOVE;
}

/* The supervisor ends the renderer's group; we see that it does. Its pid
 * is ours to signal until we reap it. */
static void
end_renderer (VsLaunch * l)
{
  if (!l->pid || l->ending)
    return;
  l->ending = TRUE;
  kill (l->pid, SIGTERM);
  l->kill_id = g_timeout_add (l->grace_ms + SUPERVISOR_SLACK_MS,
      on_grace_over, l);
}

static void
on_reaped (GPid pid, gint status, gpointer data)
{
  VsLaunch *l = data;
  gchar *how, *why, *tail;

  l->watch_id = 0;
  l->pid = 0;
  clear_timers (l);
  /* The supervisor unlinks it; not when it was killed with the rest. */
  shm_unlink (l->shm_path);
  g_spawn_close_pid (pid);
  if (l->stopped) {
    launch_free (l);
    return;
  }
  if (l->failed)
    return;
  how = describe_status (status);
  tail = log_tail (l->log_path);
  if (l->ready) {
    why = g_strdup_printf ("the renderer %s", how);
    l->hooks.exited (l, why, tail, l->data);
  } else {
    l->failed = TRUE;
    why = g_strdup_printf ("the renderer %s before its segment '%s' was "
        "ready", how, l->segment);
    l->hooks.failed (l, why, tail, l->data);
  }
  /* l may be freed now (a hook may stop it). */
  g_free (how);
  g_free (why);
  g_free (tail);
}

static gboolean
on_poll (gpointer data)
{
  VsLaunch *l = data;
  VzReader *r = NULL;

  if (vz_reader_open (l->segment, 0, &r) != VZ_OK) {
    g_free (l->last_refusal);
    l->last_refusal = g_strdup (vz_last_error ());
    return G_SOURCE_CONTINUE;
  }
  vz_reader_close (r);
  l->poll_id = 0;
  g_clear_handle_id (&l->deadline_id, g_source_remove);
  l->ready = TRUE;
  l->ready_us = g_get_monotonic_time ();
  l->hooks.ready (l, l->data);
  return G_SOURCE_REMOVE;
}

static gboolean
on_deadline (gpointer data)
{
  VsLaunch *l = data;
  gchar *why, *tail;

  l->deadline_id = 0;
  g_clear_handle_id (&l->poll_id, g_source_remove);
  l->failed = TRUE;
  end_renderer (l);
  why = g_strdup_printf ("the renderer made no valid segment '%s' within "
      "%u s%s%s%s", l->segment, l->timeout_s,
      l->last_refusal ? " (" : "", l->last_refusal ? l->last_refusal : "",
      l->last_refusal ? ")" : "");
  tail = log_tail (l->log_path);
  l->hooks.failed (l, why, tail, l->data);
  /* l may be freed now. */
  g_free (why);
  g_free (tail);
  return G_SOURCE_REMOVE;
}

/* The environment: the server's, less its secrets, plus the session. */
static gchar **
make_env (const VsLaunchValues * v)
{
  static const gchar *const secrets[] = { "VIZSTREAM_TOKEN",
    "VIZSTREAM_STATUS_TOKEN", "VIZSTREAM_TURN_SECRET"
  };
  gchar **env = g_get_environ (), num[16];

  for (guint i = 0; i < G_N_ELEMENTS (secrets); i++)
    env = g_environ_unsetenv (env, secrets[i]);
  env = g_environ_setenv (env, "VIZSTREAM_SEGMENT", v->segment, TRUE);
  env = g_environ_setenv (env, "VIZSTREAM_SESSION", v->session, TRUE);
  g_snprintf (num, sizeof num, "%u", v->width);
  env = g_environ_setenv (env, "VIZSTREAM_WIDTH", num, TRUE);
  g_snprintf (num, sizeof num, "%u", v->height);
  env = g_environ_setenv (env, "VIZSTREAM_HEIGHT", num, TRUE);
  return env;
}

static gint
open_log (const gchar * path, gchar ** argv, GError ** error)
{
  gint fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC
      | O_NOFOLLOW, 0600);
  GDateTime *now;
  gchar *when, *cmd, *head;

  if (fd < 0) {
    fail (error, "cannot open the renderer's log '%s': %s", path,
        g_strerror (errno));
    return -1;
  }
  now = g_date_time_new_now_local ();
  when = g_date_time_format_iso8601 (now);
  cmd = g_strjoinv (" ", argv);
  head = g_strdup_printf ("---- vizstream-server %s: %s\n", when, cmd);
  if (write (fd, head, strlen (head)) < 0) {
    /* reported by the renderer's own writes, if at all */
  }
  g_free (head);
  g_free (cmd);
  g_free (when);
  g_date_time_unref (now);
  return fd;
}

VsLaunch *
vs_launch_start (const VsLaunchOptions * o, const VsLaunchHooks * hooks,
    gpointer data, GError ** error)
{
  gchar **argv, **envp, *path, *shm_path, *log_name, *log_path;
  gint null_fd, log_fd, fd;
  sigset_t all, old;
  VsLaunch *l;
  Plan plan;
  pid_t pid;

  argv = vs_launch_expand (o->templ, &o->values, error);
  if (!argv)
    return NULL;
  path = find_program (argv[0], error);
  if (!path) {
    g_strfreev (argv);
    return NULL;
  }
  /* A fresh name only: what is there now is not this session's. */
  shm_path = g_strconcat ("/", o->values.segment, NULL);
  fd = shm_open (shm_path, O_RDONLY | O_CLOEXEC, 0);
  if (fd >= 0 || errno != ENOENT) {
    if (fd >= 0)
      close (fd);
    fail (error, "the segment name '%s' is in use already",
        o->values.segment);
    g_free (shm_path);
    g_free (path);
    g_strfreev (argv);
    return NULL;
  }
  log_name = g_strconcat (o->values.session, ".log", NULL);
  log_path = g_build_filename (o->log_dir, log_name, NULL);
  g_free (log_name);
  null_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  log_fd = null_fd < 0 ? -1 : open_log (log_path, argv, error);
  if (null_fd < 0 || log_fd < 0) {
    if (null_fd < 0)
      fail (error, "cannot open /dev/null: %s", g_strerror (errno));
    else
      close (null_fd);
    g_free (log_path);
    g_free (shm_path);
    g_free (path);
    g_strfreev (argv);
    return NULL;
  }
  envp = make_env (&o->values);
  plan = (Plan) {
  .path = path,.argv = argv,.envp = envp,.null_fd = null_fd,.log_fd =
        log_fd,.server = getpid (),.shm_path = shm_path,.grace_ms =
        o->grace_ms ? o->grace_ms : DEFAULT_GRACE_MS};

  /* The supervisor starts with every signal blocked: no handler of ours
   * runs in it. */
  sigfillset (&all);
  pthread_sigmask (SIG_SETMASK, &all, &old);
  pid = fork ();
  if (pid == 0)
    supervise (&plan);
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  close (null_fd);
  close (log_fd);
  g_strfreev (envp);
  g_strfreev (argv);
  g_free (path);
  if (pid < 0) {
    fail (error, "cannot start the renderer: %s", g_strerror (errno));
    g_free (log_path);
    g_free (shm_path);
    return NULL;
  }
  /* As the supervisor does: settled whichever runs first. */
  setpgid (pid, pid);

  l = g_new0 (VsLaunch, 1);
  l->hooks = *hooks;
  l->data = data;
  l->segment = g_strdup (o->values.segment);
  l->session = g_strdup (o->values.session);
  l->shm_path = shm_path;
  l->log_path = log_path;
  l->timeout_s = o->timeout_s;
  l->grace_ms = plan.grace_ms;
  l->pid = pid;
  l->start_us = g_get_monotonic_time ();
  l->watch_id = g_child_watch_add (pid, on_reaped, l);
  l->poll_id = g_timeout_add (POLL_MS, on_poll, l);
  l->deadline_id = g_timeout_add_seconds (o->timeout_s, on_deadline, l);
  launches = g_list_prepend (launches, l);
  return l;
}

void
vs_launch_stop (VsLaunch * l)
{
  if (!l)
    return;
  l->stopped = TRUE;
  if (!l->pid) {
    launch_free (l);
    return;
  }
  g_clear_handle_id (&l->poll_id, g_source_remove);
  g_clear_handle_id (&l->deadline_id, g_source_remove);
  end_renderer (l);
}

void
vs_launch_stop_all_now (void)
{
  guint grace = 0;
  gint64 deadline;
  gboolean killed = FALSE;

  /* From here we reap, not GLib's child watch. */
  for (GList * i = launches; i; i = i->next) {
    VsLaunch *l = i->data;
    g_clear_handle_id (&l->watch_id, g_source_remove);
    clear_timers (l);
    l->stopped = TRUE;
    grace = MAX (grace, l->grace_ms);
    if (l->pid && !l->ending)
      kill (l->pid, SIGTERM);
    l->ending = TRUE;
  }
  deadline = g_get_monotonic_time () + (grace + SUPERVISOR_SLACK_MS)
      * G_TIME_SPAN_MILLISECOND;
  for (;;) {
    gboolean left = FALSE;
    for (GList * i = launches; i; i = i->next) {
      VsLaunch *l = i->data;
      if (l->pid && waitpid (l->pid, NULL, WNOHANG) != 0)
        l->pid = 0;             /* reaped (or not ours to reap any more) */
      left |= l->pid != 0;
    }
    if (!left)
      break;
    if (!killed && g_get_monotonic_time () >= deadline) {
      for (GList * i = launches; i; i = i->next) {
        VsLaunch *l = i->data;
        if (l->pid)
          kill (l->pid, SIGKILL);
      }
      killed = TRUE;
    }
    g_usleep (20 * 1000);
  }
  while (launches) {
    VsLaunch *l = launches->data;
    shm_unlink (l->shm_path);
    launch_free (l);
  }
}

GPid
vs_launch_get_pid (const VsLaunch * l)
{
  return l->pid;
}

const gchar *
vs_launch_get_segment (const VsLaunch * l)
{
  return l->segment;
}

const gchar *
vs_launch_get_session (const VsLaunch * l)
{
  return l->session;
}

const gchar *
vs_launch_get_log_path (const VsLaunch * l)
{
  return l->log_path;
}

gdouble
vs_launch_get_ready_seconds (const VsLaunch * l)
{
  return l->ready ? (l->ready_us - l->start_us) / 1e6 : -1;
}
