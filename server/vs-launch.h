/* vizstream-server: renderers on demand (--launch), one process each.
 *
 * A session's renderer is the --launch template with {segment}, {session},
 * {width} and {height} put in its arguments (split first, filled in after:
 * no shell, and a value is never more than part of one argument), run as
 *
 *   server --fork--> supervisor (its own process group, subreaper,
 *                    |            parent-death signal SIGTERM)
 *                    +--fork/exec--> renderer (leads a process group of its
 *                                    own; stdin /dev/null, stdout and
 *                                    stderr appended to DIR/SESSION.log)
 *
 * The supervisor is a few system calls between fork and _exit, no exec.
 * It ends the renderer's group, SIGTERM then SIGKILL after the grace
 * period, when it gets SIGTERM (the server's stop, or the kernel's
 * parent-death signal when the server dies, even by SIGKILL) and when the
 * renderer exits (what it left behind goes with it); being the subreaper,
 * it waits for every descendant, unlinks the session's segment, and exits
 * as the renderer did (the same status or signal). So a wrapper
 * (xvfb-run, a shell script) cannot outlive its session or the server.
 *
 * The server polls for the segment (every 100 ms, vz_reader_open) until it
 * is valid: ready; or the renderer exits first, or --launch-timeout passes:
 * failed (the group is then ended). Stopping is SIGTERM to the supervisor,
 * SIGKILL to it if it is still there a second past the grace period (the
 * renderer then gets SIGKILL as its parent-death signal); once reaped the
 * segment is unlinked if it is still there.
 *
 * Threads: the main loop only; vs_launch_start must be called from the
 * thread that lives as long as the server (the parent-death signal follows
 * the thread that forked, not the process).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define VS_LAUNCH_ERROR (vs_launch_error_quark ())
GQuark vs_launch_error_quark (void);

#define VS_LAUNCH_MAX_SIZE 16384        /* {width}, {height}: 1..this */

/* What a template's placeholders stand for. segment and session: 1..200 of
 * [A-Za-z0-9._-], starting with a letter or digit. */
typedef struct
{
  const gchar *segment;
  const gchar *session;
  guint width, height;
} VsLaunchValues;

/* The template as given to --launch: it splits (g_shell_parse_argv), it
 * uses only the four placeholders ({{ is a literal {), its program is
 * plain text and can be found (PATH, or a path to an executable). */
gboolean vs_launch_check_template (const gchar * templ, GError ** error);

/* The command line for these values (g_strfreev), or NULL with error set
 * (a bad template, a value out of its range or with other characters). */
gchar **vs_launch_expand (const gchar * templ, const VsLaunchValues * values,
    GError ** error);

/* $XDG_RUNTIME_DIR/vizstream-server (GLib falls back to ~/.cache when it
 * is unset). */
gchar *vs_launch_default_log_dir (void);

/* Makes dir (mode 0700) if it is missing, then checks that it is a
 * directory of this user that nobody else may read or write into, and that
 * a file can be created in it. */
gboolean vs_launch_prepare_log_dir (const gchar * dir, GError ** error);

/* A fresh session id: 32 lower-case hex digits from getrandom(). */
gchar *vs_launch_new_session_id (void);

typedef struct _VsLaunch VsLaunch;

/* News of one launch, on the main loop. At most one of ready or failed,
 * then at most one exited (only after ready); none once vs_launch_stop has
 * been called. The VsLaunch stays valid through the hook and after it
 * until vs_launch_stop; a hook may call vs_launch_stop itself. */
typedef struct
{
  /* The segment is there and valid: the session can be served. */
  void (*ready) (VsLaunch * launch, gpointer data);
  /* Never ready: why is one sentence (it exited first, with its status;
   * no valid segment within the timeout; its program could not run);
   * log_tail the log's last lines (may be ""). The renderer is being
   * ended already; the segment is unlinked when it is gone. */
  void (*failed) (VsLaunch * launch, const gchar * why,
      const gchar * log_tail, gpointer data);
  /* Ended by itself after ready (exit status or signal in why). */
  void (*exited) (VsLaunch * launch, const gchar * why,
      const gchar * log_tail, gpointer data);
} VsLaunchHooks;

typedef struct
{
  const gchar *templ;           /* checked by vs_launch_check_template */
  VsLaunchValues values;
  const gchar *log_dir;         /* prepared by vs_launch_prepare_log_dir */
  guint timeout_s;              /* for a valid segment */
  guint grace_ms;               /* SIGTERM -> SIGKILL; 0: 3000 */
} VsLaunchOptions;

/* Starts the renderer: a fresh log DIR/SESSION.log (0600, appended), the
 * environment plus VIZSTREAM_SEGMENT, VIZSTREAM_SESSION, VIZSTREAM_WIDTH,
 * VIZSTREAM_HEIGHT, less the server's secrets ($VIZSTREAM_TOKEN,
 * $VIZSTREAM_STATUS_TOKEN, $VIZSTREAM_TURN_SECRET). NULL with error set
 * when it cannot (bad values, the segment name already exists, the log,
 * fork); once it returns non-NULL every outcome comes through the hooks. */
VsLaunch *vs_launch_start (const VsLaunchOptions * options,
    const VsLaunchHooks * hooks, gpointer data, GError ** error);

/* The end of the caller's use: no hook is called any more. The renderer's
 * group gets SIGTERM, SIGKILL after the grace period; once the supervisor
 * is reaped, the segment is unlinked if it is still there and launch is
 * freed (on the main loop; at once when it is gone already). */
void vs_launch_stop (VsLaunch * launch);

/* The server's SIGTERM/SIGINT path: every launch not yet reaped (stopped
 * ones too) is ended as by vs_launch_stop, at once; all are reaped, their
 * segments unlinked and freed before this returns (the longest grace
 * period, plus a second at most). No hooks. Handles are invalid
 * afterwards. */
void vs_launch_stop_all_now (void);

/* The supervisor's pid; 0 once reaped. */
GPid vs_launch_get_pid (const VsLaunch * launch);
const gchar *vs_launch_get_segment (const VsLaunch * launch);
const gchar *vs_launch_get_session (const VsLaunch * launch);
const gchar *vs_launch_get_log_path (const VsLaunch * launch);
/* Seconds from start to ready (-1 before). */
gdouble vs_launch_get_ready_seconds (const VsLaunch * launch);

G_END_DECLS
