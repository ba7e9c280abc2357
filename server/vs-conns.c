/* vizstream-server: connections (vs-conns.h).
 *
 * What libsoup 3.2 does, read in its source (tag 3.2.3,
 * libsoup/server/soup-server.c, soup-server-connection.c,
 * http1/soup-server-message-io-http1.c):
 * - "request-started" comes as soon as a connection is accepted, before
 *   any byte and before a TLS handshake, with its first (blank) message;
 *   on a kept-alive connection, when the first bytes of its next request
 *   arrive. soup_server_message_get_socket is the connection's GSocket:
 *   its identity here.
 * - "request-read" once a request is read; "request-finished" or
 *   "request-aborted" once its answer is written or failed (not for a
 *   connection taken from soup: WebSocket, /mjpeg). Right after
 *   "request-finished" soup closes the connection unless it is kept
 *   alive; then it waits for the next request, with no limit.
 * - An idle kept-alive connection that the client closes is never closed
 *   by soup (upstream d20c6601, in 3.3): the read that finds its end has
 *   nobody to tell. And every accepted GSocket keeps a reference that is
 *   never dropped (soup-listener.c, fixed in 3.4). So a connection is over
 *   when its socket is closed (g_socket_is_closed), which is looked at
 *   after each answer, when an address is at its cap, and every few
 *   seconds for connections taken from soup.
 * Ending one: one over the cap is closed in "request-started", before
 * soup's first read, which fails: soup lets go at once. One that soup
 * reads a request from is shut down (shutdown(2)): soup reads the end and
 * closes it itself, TLS or not. An idle one is taken from soup through
 * its last message and closed, or, when soup has already read its end,
 * closed under soup (which keeps that dead connection's objects, without
 * a descriptor, until it stops).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-conns.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define LOG_INTERVAL 5          /* seconds between summaries of refusals */
#define SWEEP_INTERVAL 5        /* seconds between looks at closed sockets */
#define REAP_DELAY 2            /* seconds soup has to close a shut socket */

typedef enum
{
  CONN_READING,                 /* a request awaited: --request-timeout */
  CONN_BUSY,                    /* being answered, or taken from soup */
  CONN_ANSWERED,                /* answered: closed or kept alive? (idle) */
  CONN_IDLE,                    /* kept alive, no request: --idle-timeout */
  CONN_SHUT                     /* shut down: soup closes it (REAP_DELAY) */
} ConnState;

typedef enum
{
  NEWS_REFUSED,                 /* over --max-connections-per-address */
  NEWS_TIMED_OUT,               /* no whole request in --request-timeout */
  NEWS_N
} News;

typedef struct _Addr Addr;

typedef struct
{
  VsConns *conns;
  Addr *addr;
  GList *link;                  /* in addr->conns */
  GSocket *socket;              /* a reference; the key in conns->conns */
  ConnState state;
  guint timer;                  /* the state's timeout or idle, or 0 */
  SoupServerMessage *last;      /* ANSWERED, IDLE: the answered request */
} Conn;

struct _Addr
{
  gchar *ip;
  GQueue conns;                 /* Conn*: open, or closed and not seen yet */
  /* the first refusal of a kind is told at once, the others counted and
   * summed up every LOG_INTERVAL while they go on */
  gboolean told[NEWS_N];
  guint untold[NEWS_N];
};

struct _VsConns
{
  const VsConfig *cfg;
  SoupServer *soup;
  gulong started_id, read_id, finished_id, aborted_id;
  GHashTable *conns;            /* GSocket* -> Conn* (owns it) */
  GHashTable *addrs;            /* ip -> Addr* (owns it) */
  guint sweep_id, log_id;
};

/* ---- the log ---- */

static void
tell (VsConns * conns, Addr * a, News what)
{
  const VsConfig *cfg = conns->cfg;

  if (cfg->quiet)
    return;
  if (a->told[what]) {
    a->untold[what]++;
    return;
  }
  a->told[what] = TRUE;
  if (what == NEWS_REFUSED)
    vs_log (cfg, "refused a connection from %s: %u open from there already "
        "(--max-connections-per-address)", a->ip, cfg->max_per_address);
  else
    vs_log (cfg, "closed a connection from %s: no whole request in %u s "
        "(--request-timeout)", a->ip, cfg->request_timeout);
}

static gboolean
addr_unused (Addr * a)
{
  return a->conns.length == 0 && !a->told[NEWS_REFUSED]
      && !a->told[NEWS_TIMED_OUT];
}

static gboolean
log_cb (gpointer data)
{
  VsConns *conns = data;
  const VsConfig *cfg = conns->cfg;
  GHashTableIter it;
  gpointer v;

  g_hash_table_iter_init (&it, conns->addrs);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    Addr *a = v;

    if (a->untold[NEWS_REFUSED])
      vs_log (cfg, "refused %u more connections from %s (over "
          "--max-connections-per-address %u)", a->untold[NEWS_REFUSED], a->ip,
          cfg->max_per_address);
    if (a->untold[NEWS_TIMED_OUT])
      vs_log (cfg, "closed %u more connections from %s: no whole request in "
          "%u s (--request-timeout)", a->untold[NEWS_TIMED_OUT], a->ip,
          cfg->request_timeout);
    /* a quiet interval: the next refusal is told at once again */
    for (News k = 0; k < NEWS_N; k++) {
      a->told[k] = a->untold[k] > 0;
      a->untold[k] = 0;
    }
    if (addr_unused (a))
      g_hash_table_iter_remove (&it);
  }
  return G_SOURCE_CONTINUE;
}

/* ---- connections ---- */

static void
conn_free (Conn * c)
{
  if (c->timer)
    g_source_remove (c->timer);
  g_clear_object (&c->last);
  g_object_unref (c->socket);
  g_free (c);
}

static void
addr_free (Addr * a)
{
  g_queue_clear (&a->conns);
  g_free (a->ip);
  g_free (a);
}

/* Forgets c, keeping its address. */
static void
conn_forget (Conn * c)
{
  g_queue_delete_link (&c->addr->conns, c->link);
  g_hash_table_remove (c->conns->conns, c->socket);
}

/* Forgets c, and its address when nothing else is known of it. */
static void
conn_drop (Conn * c)
{
  VsConns *conns = c->conns;
  Addr *a = c->addr;

  conn_forget (c);
  if (addr_unused (a))
    g_hash_table_remove (conns->addrs, a->ip);
}

static void
conn_set (Conn * c, ConnState state, guint seconds, GSourceFunc expired)
{
  if (c->timer)
    g_source_remove (c->timer);
  c->state = state;
  c->timer = !expired ? 0 : seconds ? g_timeout_add_seconds (seconds,
      expired, c) : g_idle_add (expired, c);
}

/* Soup did not close a socket it read the end of: closed here. */
static gboolean
reap_cb (gpointer data)
{
  Conn *c = data;

  c->timer = 0;
  g_socket_close (c->socket, NULL);
  conn_drop (c);
  return G_SOURCE_REMOVE;
}

static gboolean
request_expired (gpointer data)
{
  Conn *c = data;

  c->timer = 0;
  if (g_socket_is_closed (c->socket)) {
    conn_drop (c);              /* the client left */
    return G_SOURCE_REMOVE;
  }
  tell (c->conns, c->addr, NEWS_TIMED_OUT);
  g_socket_shutdown (c->socket, TRUE, TRUE, NULL);
  conn_set (c, CONN_SHUT, REAP_DELAY, reap_cb);
  return G_SOURCE_REMOVE;
}

static gboolean
idle_expired (gpointer data)
{
  Conn *c = data;
  SoupServerMessage *last = g_steal_pointer (&c->last);
  GSocket *socket = g_object_ref (c->socket);
  GIOStream *stream;

  c->timer = 0;
  conn_drop (c);
  if (g_socket_is_closed (socket)) {
    /* closed by soup after all */
  } else if (g_socket_condition_check (socket, G_IO_IN | G_IO_ERR |
          G_IO_HUP) || soup_server_message_get_http_version (last) >
      SOUP_HTTP_1_1) {
    /* Soup read the client's end and lost the connection (its next
     * message is gone: taking it would crash): only its socket is left. */
    g_socket_close (socket, NULL);
  } else if ((stream = soup_server_message_steal_connection (last))) {
    g_io_stream_close (stream, NULL, NULL);
    g_object_unref (stream);
  }
  g_object_unref (last);
  g_object_unref (socket);
  return G_SOURCE_REMOVE;
}

/* After an answer soup has closed the connection, or keeps it alive. */
static gboolean
answered_cb (gpointer data)
{
  Conn *c = data;

  c->timer = 0;
  if (g_socket_is_closed (c->socket))
    conn_drop (c);
  else
    conn_set (c, CONN_IDLE, c->conns->cfg->idle_timeout, idle_expired);
  return G_SOURCE_REMOVE;
}

/* Forgets a's connections that soup, or whoever took them, closed. */
static void
addr_sweep (Addr * a)
{
  for (GList * l = a->conns.head, *next; l; l = next) {
    next = l->next;
    if (g_socket_is_closed (((Conn *) l->data)->socket))
      conn_forget (l->data);
  }
}

static gboolean
sweep_cb (gpointer data)
{
  VsConns *conns = data;
  GHashTableIter it;
  gpointer v;
  GSList *gone = NULL;

  g_hash_table_iter_init (&it, conns->conns);
  while (g_hash_table_iter_next (&it, NULL, &v))
    if (g_socket_is_closed (((Conn *) v)->socket))
      gone = g_slist_prepend (gone, v);
  g_slist_free_full (gone, (GDestroyNotify) conn_drop);
  return G_SOURCE_CONTINUE;
}

/* A connection soup has just accepted: tracked, or refused (NULL). */
static Conn *
conn_accepted (VsConns * conns, GSocket * socket)
{
  GSocketAddress *sa = g_socket_get_remote_address (socket, NULL);
  gchar *ip;
  Addr *a;
  Conn *c;

  if (!G_IS_INET_SOCKET_ADDRESS (sa)) {
    g_clear_object (&sa);       /* gone already: soup finds out */
    return NULL;
  }
  ip = g_inet_address_to_string (g_inet_socket_address_get_address
      (G_INET_SOCKET_ADDRESS (sa)));
  g_object_unref (sa);
  if (!(a = g_hash_table_lookup (conns->addrs, ip))) {
    a = g_new0 (Addr, 1);
    a->ip = ip;
    g_queue_init (&a->conns);
    g_hash_table_insert (conns->addrs, a->ip, a);
  } else {
    g_free (ip);
  }
  if (a->conns.length >= conns->cfg->max_per_address)
    addr_sweep (a);
  if (a->conns.length >= conns->cfg->max_per_address) {
    /* soup's first read fails, and it lets go at once */
    g_socket_close (socket, NULL);
    tell (conns, a, NEWS_REFUSED);
    return NULL;
  }
  c = g_new0 (Conn, 1);
  c->conns = conns;
  c->addr = a;
  c->socket = g_object_ref (socket);
  g_queue_push_tail (&a->conns, c);
  c->link = a->conns.tail;
  g_hash_table_insert (conns->conns, socket, c);
  return c;
}

static void
request_started (SoupServer * soup, SoupServerMessage * msg, gpointer data)
{
  VsConns *conns = data;
  GSocket *socket = soup_server_message_get_socket (msg);
  Conn *c;

  if (!socket)
    return;                     /* not from a listener */
  if ((c = g_hash_table_lookup (conns->conns, socket)))
    g_clear_object (&c->last);  /* the next request of a kept-alive one */
  else
    c = conn_accepted (conns, socket);
  if (c && c->state != CONN_SHUT)
    conn_set (c, CONN_READING, conns->cfg->request_timeout,
        request_expired);
}

static void
request_read (SoupServer * soup, SoupServerMessage * msg, gpointer data)
{
  VsConns *conns = data;
  GSocket *socket = soup_server_message_get_socket (msg);
  Conn *c = socket ? g_hash_table_lookup (conns->conns, socket) : NULL;

  if (c && c->state == CONN_READING)
    conn_set (c, CONN_BUSY, 0, NULL);
}

static void
request_done (SoupServer * soup, SoupServerMessage * msg, gpointer data)
{
  VsConns *conns = data;
  GSocket *socket = soup_server_message_get_socket (msg);
  Conn *c = socket ? g_hash_table_lookup (conns->conns, socket) : NULL;

  if (!c || c->state == CONN_SHUT)
    return;
  g_set_object (&c->last, msg);
  conn_set (c, CONN_ANSWERED, 0, answered_cb);
}

/* ---- life ---- */

/* libsoup 3.2's listener stops accepting for good the first time
 * accept(2) fails (soup-listener.c, listen_watch), as it does when the
 * process is out of descriptors: take all the hard limit allows
 * (systemd's soft limit is 1024). */
static void
raise_fd_limit (void)
{
  struct rlimit r;

  if (getrlimit (RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit (RLIMIT_NOFILE, &r);
  }
}

VsConns *
vs_conns_new (SoupServer * soup, const VsConfig * cfg)
{
  VsConns *conns = g_new0 (VsConns, 1);

  raise_fd_limit ();
  conns->cfg = cfg;
  conns->soup = soup;
  conns->conns = g_hash_table_new_full (NULL, NULL, NULL,
      (GDestroyNotify) conn_free);
  conns->addrs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      (GDestroyNotify) addr_free);
  conns->started_id = g_signal_connect (soup, "request-started",
      G_CALLBACK (request_started), conns);
  conns->read_id = g_signal_connect (soup, "request-read",
      G_CALLBACK (request_read), conns);
  conns->finished_id = g_signal_connect (soup, "request-finished",
      G_CALLBACK (request_done), conns);
  conns->aborted_id = g_signal_connect (soup, "request-aborted",
      G_CALLBACK (request_done), conns);
  conns->sweep_id = g_timeout_add_seconds (SWEEP_INTERVAL, sweep_cb, conns);
  conns->log_id = g_timeout_add_seconds (LOG_INTERVAL, log_cb, conns);
  return conns;
}

void
vs_conns_listening (VsConns * conns)
{
  GSList *listeners = soup_server_get_listeners (conns->soup);

  /* Soup listens with GSocket's queue of 10: under a flood, anybody
   * else's connection finds it full and waits a second to try again.
   * listen(2) again sets a longer one (GSocket will not, once listening). */
  for (GSList * l = listeners; l; l = l->next)
    listen (g_socket_get_fd (l->data), SOMAXCONN);
  g_slist_free (listeners);
}

void
vs_conns_free (VsConns * conns)
{
  if (!conns)
    return;
  g_signal_handler_disconnect (conns->soup, conns->started_id);
  g_signal_handler_disconnect (conns->soup, conns->read_id);
  g_signal_handler_disconnect (conns->soup, conns->finished_id);
  g_signal_handler_disconnect (conns->soup, conns->aborted_id);
  g_source_remove (conns->sweep_id);
  g_source_remove (conns->log_id);
  g_hash_table_destroy (conns->conns);
  g_hash_table_destroy (conns->addrs);
  g_free (conns);
}
