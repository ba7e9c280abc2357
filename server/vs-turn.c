/* vizstream-server: TURN REST credentials and URLs (vs-turn.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "vs-turn.h"

#include <string.h>

void
vs_turn_mint (const gchar * secret, gint64 now, guint ttl,
    const gchar * name, VsTurnCredential * out)
{
  GHmac *hmac;
  guint8 digest[20];
  gsize len = sizeof digest;

  out->username = g_strdup_printf ("%" G_GINT64_FORMAT ":%s", now + ttl,
      name);
  hmac = g_hmac_new (G_CHECKSUM_SHA1, (const guchar *) secret,
      strlen (secret));
  g_hmac_update (hmac, (const guchar *) out->username, -1);
  g_hmac_get_digest (hmac, digest, &len);
  g_hmac_unref (hmac);
  out->password = g_base64_encode (digest, len);
}

void
vs_turn_credential_clear (VsTurnCredential * cred)
{
  g_clear_pointer (&cred->username, g_free);
  g_clear_pointer (&cred->password, g_free);
}

gchar *
vs_turn_uri_with_credential (const gchar * uri,
    const VsTurnCredential * cred)
{
  const gchar *rest = strstr (uri, "://");
  gchar *user, *pass, *out;

  if (!rest)
    return NULL;
  rest += 3;
  /* Everything but the unreserved characters escaped. */
  user = g_uri_escape_string (cred->username, NULL, FALSE);
  pass = g_uri_escape_string (cred->password, NULL, FALSE);
  out = g_strdup_printf ("%.*s%s:%s@%s", (gint) (rest - uri), uri, user,
      pass, rest);
  g_free (user);
  g_free (pass);
  return out;
}

gchar *
vs_turn_page_url (const gchar * uri)
{
  GUri *u = g_uri_parse (uri, G_URI_FLAGS_HAS_PASSWORD, NULL);
  const gchar *host, *query, *scheme;
  gboolean tls;
  gint port;
  gchar *out;

  if (!u)
    return NULL;
  scheme = g_uri_get_scheme (u);
  host = g_uri_get_host (u);
  if (!host || !*host || (g_strcmp0 (scheme, "turn") != 0
          && g_strcmp0 (scheme, "turns") != 0)) {
    g_uri_unref (u);
    return NULL;
  }
  tls = g_str_equal (scheme, "turns");
  port = g_uri_get_port (u) > 0 ? g_uri_get_port (u) : tls ? 5349 : 3478;
  query = g_uri_get_query (u);
  out = g_strdup_printf ("%s:%s%s%s:%d%s", scheme,
      strchr (host, ':') ? "[" : "", host, strchr (host, ':') ? "]" : "",
      port, query && strstr (query, "transport=tcp") ? "?transport=tcp" : "");
  g_uri_unref (u);
  return out;
}
