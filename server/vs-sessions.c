/* vizstream-server: sessions (vs-sessions.h).
 *
 *   /new -> starting (the creator's request paused) -> ready: stream
 *     added, 303 -> serving -> ended (idle, renderer exit, server stop)
 *
 * A session is in the table from /new until its end, so --max-sessions
 * counts the starting ones too. Its stream is looked at once a second:
 * no viewer since SESSION_IDLE seconds ends it (from ready on, so a
 * session nobody opened ends too); its stream gone (failed, removed)
 * ends it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-sessions.h"
#include "vs-launch.h"
#include "vs-roles.h"

#include <string.h>

typedef struct _Session Session;

struct _VsSessions
{
  VsSessionsStreams streams;
  const VsConfig *cfg;
  VsHttp *http;
  GHashTable *sessions;         /* id -> Session* (owned) */
  guint tick;
};

struct _Session
{
  VsSessions *owner;
  gchar *id, *segment, *token;
  VsLaunch *launch;             /* until the session ends */
  SoupServerMessage *creator;   /* paused until ready or failed; a ref */
  gboolean serving;             /* its stream was added */
  gint64 empty_since;           /* monotonic µs; 0: watched */
};

static void
session_free (Session * s)
{
  if (s->launch)
    vs_launch_stop (s->launch);
  g_clear_object (&s->creator);
  g_free (s->id);
  g_free (s->segment);
  if (s->token)
    explicit_bzero (s->token, strlen (s->token));
  g_free (s->token);
  g_free (s);
}

/* ---- answers ---- */

static void
answer_page (SoupServerMessage * msg, guint status, const gchar * title,
    const gchar * text, const gchar * detail)
{
  SoupMessageHeaders *rh = soup_server_message_get_response_headers (msg);
  gchar *t = g_markup_escape_text (title, -1);
  gchar *x = g_markup_escape_text (text, -1);
  gchar *d = detail && *detail ? g_markup_escape_text (detail, -1) : NULL;
  gchar *page = g_strdup_printf ("<!DOCTYPE html>\n<html lang=\"en\">\n"
      "<head><meta charset=\"utf-8\"><title>%s</title>"
      "<link rel=\"icon\" href=\"data:,\"></head>\n<body>\n<h1>%s</h1>\n"
      "<p id=\"why\">%s</p>\n%s%s%s<p><a href=\"./\">back</a></p>\n"
      "</body>\n</html>\n", t, t, x,
      d ? "<p>The renderer's last lines:</p>\n<pre id=\"log\">" : "",
      d ? d : "", d ? "</pre>\n" : "");

  soup_message_headers_replace (rh, "Content-Security-Policy",
      "default-src 'none'");
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "text/html; charset=utf-8",
      SOUP_MEMORY_TAKE, page, strlen (page));
  g_free (t);
  g_free (x);
  g_free (d);
}

/* The creator's paused request, answered now. */
static void
answer_creator (Session * s, guint status, const gchar * title,
    const gchar * text, const gchar * detail)
{
  SoupServerMessage *msg = s->creator;

  if (!msg)
    return;
  s->creator = NULL;
  if (status == 303) {
    /* Relative: it holds under a proxy's sub-path. The token in the
     * fragment never reaches a server or a proxy's log. */
    gchar *to = g_strdup_printf ("s/%s/#token=%s", s->id, s->token);
    soup_message_headers_replace (soup_server_message_get_response_headers
        (msg), "Location", to);
    soup_server_message_set_status (msg, 303, NULL);
    soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC,
        "see other\n", 10);
    explicit_bzero (to, strlen (to));
    g_free (to);
  } else {
    answer_page (msg, status, title, text, detail);
  }
  soup_server_message_unpause (msg);
  g_object_unref (msg);
}

/* ---- ends ---- */

/* Ends it: its stream removed (pages told reason), its renderer ended. */
static void
session_end (Session * s, const gchar * reason)
{
  VsSessions *sessions = s->owner;

  vs_log (sessions->cfg, "session %s ended: %s", s->id, reason);
  if (s->serving)
    sessions->streams.remove (s->id, reason, sessions->streams.data);
  s->serving = FALSE;
  answer_creator (s, 503, "The session ended", reason, NULL);
  g_hash_table_remove (sessions->sessions, s->id);      /* frees s */
}

static gboolean
tick_cb (gpointer data)
{
  VsSessions *sessions = data;
  GHashTableIter it;
  gpointer v;
  GSList *idle = NULL, *gone = NULL;
  gint64 now = g_get_monotonic_time ();

  g_hash_table_iter_init (&it, sessions->sessions);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    Session *s = v;
    VsStream *stream;
    if (!s->serving)
      continue;
    if (!(stream = sessions->streams.find (s->id, sessions->streams.data))) {
      s->serving = FALSE;       /* removed by the server: it failed */
      gone = g_slist_prepend (gone, s);
    } else if (vs_stream_n_viewers (stream)) {
      s->empty_since = 0;
    } else if (!s->empty_since) {
      s->empty_since = now;
    } else if (now - s->empty_since >=
        (gint64) sessions->cfg->session_idle_timeout * G_USEC_PER_SEC) {
      idle = g_slist_prepend (idle, s);
    }
  }
  for (GSList * l = gone; l; l = l->next)
    session_end (l->data, "its stream failed");
  for (GSList * l = idle; l; l = l->next) {
    gchar *why = g_strdup_printf ("nobody watched it for %u s "
        "(--session-idle-timeout)", sessions->cfg->session_idle_timeout);
    session_end (l->data, why);
    g_free (why);
  }
  g_slist_free (gone);
  g_slist_free (idle);
  return G_SOURCE_CONTINUE;
}

/* ---- the renderer's news ---- */

static void
launch_ready (VsLaunch * launch, gpointer data)
{
  Session *s = data;
  VsSessions *sessions = s->owner;
  VsStreamSpec spec = { s->id, s->segment, s->token, TRUE, "../../new" };
  GError *err = NULL;

  if (!sessions->streams.add (&spec, &err, sessions->streams.data)) {
    vs_log (sessions->cfg, "session %s: %s", s->id, err->message);
    answer_creator (s, 500, "The session could not start", err->message,
        NULL);
    g_error_free (err);
    session_end (s, "its stream could not start");
    return;
  }
  s->serving = TRUE;
  s->empty_since = g_get_monotonic_time ();
  vs_log (sessions->cfg, "session %s ready in %.2f s (segment %s, log %s)",
      s->id, vs_launch_get_ready_seconds (launch), s->segment,
      vs_launch_get_log_path (launch));
  answer_creator (s, 303, NULL, NULL, NULL);
}

static void
launch_failed (VsLaunch * launch, const gchar * why, const gchar * log_tail,
    gpointer data)
{
  Session *s = data;

  /* No valid segment in time: the gateway timed out; else it failed. */
  answer_creator (s, strstr (why, "within") ? 504 : 502,
      "The renderer did not start", why, log_tail);
  session_end (s, why);
}

static void
launch_exited (VsLaunch * launch, const gchar * why, const gchar * log_tail,
    gpointer data)
{
  gchar *reason = g_strdup_printf ("the renderer %s", why);

  session_end (data, reason);
  g_free (reason);
}

/* ---- /new ---- */

static gboolean
parse_size (const gchar * text, guint def, guint * out)
{
  guint64 v;

  if (!text || !*text) {
    *out = def;
    return TRUE;
  }
  if (!g_ascii_string_to_unsigned (text, 10, VS_SESSION_MIN_SIZE,
          VS_SESSION_MAX_SIZE, &v, NULL))
    return FALSE;
  *out = v;
  return TRUE;
}

/* With a server token, only who has it starts renderers: Authorization:
 * Bearer T, or token=T in the form (or the query). */
static gboolean
may_create (VsSessions * sessions, SoupServerMessage * msg,
    GHashTable * query)
{
  const gchar *auth;

  if (!sessions->cfg->token)
    return TRUE;
  auth = soup_message_headers_get_one (soup_server_message_get_request_headers
      (msg), "Authorization");
  if (auth && g_ascii_strncasecmp (auth, "Bearer ", 7) == 0) {
    auth += 7;
    while (*auth == ' ')
      auth++;
    return vs_roles_token_matches (sessions->cfg->token, auth);
  }
  return query && vs_roles_token_matches (sessions->cfg->token,
      g_hash_table_lookup (query, "token"));
}

static void
new_cb (SoupServerMessage * msg, GHashTable * query, gpointer data)
{
  VsSessions *sessions = data;
  const VsConfig *cfg = sessions->cfg;
  VsLaunchHooks hooks = { launch_ready, launch_failed, launch_exited };
  VsLaunchOptions opts = { 0 };
  GError *err = NULL;
  guint width, height;
  Session *s;

  if (!may_create (sessions, msg, query)) {
    soup_message_headers_replace (soup_server_message_get_response_headers
        (msg), "WWW-Authenticate", "Bearer realm=\"vizstream\"");
    answer_page (msg, 401, "A token is needed", "This server starts "
        "sessions only for who has its token: Authorization: Bearer TOKEN, "
        "or token=TOKEN in the form.", NULL);
    return;
  }
  if (!parse_size (query ? g_hash_table_lookup (query, "width") : NULL,
          VS_SESSION_DEFAULT_WIDTH, &width)
      || !parse_size (query ? g_hash_table_lookup (query, "height") : NULL,
          VS_SESSION_DEFAULT_HEIGHT, &height)) {
    gchar *why = g_strdup_printf ("width and height want %u..%u pixels",
        VS_SESSION_MIN_SIZE, VS_SESSION_MAX_SIZE);
    answer_page (msg, 400, "Bad size", why, NULL);
    g_free (why);
    return;
  }
  if (g_hash_table_size (sessions->sessions) >= cfg->max_sessions) {
    gchar *why = g_strdup_printf ("This server runs %u sessions already "
        "(--max-sessions): try again when one has ended.",
        cfg->max_sessions);
    vs_log (cfg, "refused a session: %u running (--max-sessions)",
        cfg->max_sessions);
    soup_message_headers_replace (soup_server_message_get_response_headers
        (msg), "Retry-After", "30");
    answer_page (msg, 503, "Too many sessions", why, NULL);
    g_free (why);
    return;
  }

  s = g_new0 (Session, 1);
  s->owner = sessions;
  s->id = vs_launch_new_session_id ();
  s->token = vs_launch_new_session_id ();
  s->segment = g_strconcat ("vizstream-session-", s->id, NULL);
  opts.templ = cfg->launch;
  opts.values.segment = s->segment;
  opts.values.session = s->id;
  opts.values.width = width;
  opts.values.height = height;
  opts.log_dir = cfg->launch_log_dir;
  opts.timeout_s = cfg->launch_timeout;
  if (!(s->launch = vs_launch_start (&opts, &hooks, s, &err))) {
    vs_log (cfg, "session %s could not start: %s", s->id, err->message);
    answer_page (msg, 500, "The renderer did not start", err->message, NULL);
    g_error_free (err);
    session_free (s);
    return;
  }
  g_hash_table_insert (sessions->sessions, s->id, s);
  vs_log (cfg, "session %s starting (%ux%u, pid %d, log %s)", s->id, width,
      height, (int) vs_launch_get_pid (s->launch),
      vs_launch_get_log_path (s->launch));
  s->creator = g_object_ref (msg);
  soup_server_message_pause (msg);
}

/* ---- life ---- */

VsSessions *
vs_sessions_new (const VsSessionsStreams * streams, const VsConfig * cfg,
    VsHttp * http)
{
  VsSessions *sessions = g_new0 (VsSessions, 1);

  sessions->streams = *streams;
  sessions->cfg = cfg;
  sessions->http = http;
  sessions->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      (GDestroyNotify) session_free);
  sessions->tick = g_timeout_add_seconds (1, tick_cb, sessions);
  vs_http_set_new_handler (http, new_cb, sessions);
  return sessions;
}

void
vs_sessions_free (VsSessions * sessions)
{
  GHashTableIter it;
  gpointer v;

  if (!sessions)
    return;
  g_source_remove (sessions->tick);
  vs_http_set_new_handler (sessions->http, NULL, NULL);
  g_hash_table_iter_init (&it, sessions->sessions);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    Session *s = v;
    if (s->serving)
      sessions->streams.remove (s->id, "the server is stopping",
          sessions->streams.data);
    s->serving = FALSE;
    answer_creator (s, 503, "The server is stopping",
        "The server stopped before the renderer was ready.", NULL);
  }
  /* Every group ended and reaped at once, not on a loop that is over. */
  vs_launch_stop_all_now ();
  g_hash_table_iter_init (&it, sessions->sessions);
  while (g_hash_table_iter_next (&it, NULL, &v))
    ((Session *) v)->launch = NULL;     /* invalid after stop_all_now */
  g_hash_table_unref (sessions->sessions);
  g_free (sessions);
}

guint
vs_sessions_count (VsSessions * sessions)
{
  return g_hash_table_size (sessions->sessions);
}
