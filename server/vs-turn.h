/* vizstream-server: TURN REST credentials (coturn's use-auth-secret) and
 * the TURN URLs made from them, for the page and for webrtcbin. Pure: no
 * state, the clock is an argument.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One viewer's: username "EXPIRY:NAME" (EXPIRY in Unix seconds),
 * password base64 (HMAC-SHA1 (secret, username)). */
typedef struct
{
  gchar *username;
  gchar *password;
} VsTurnCredential;

/* Mints the credential NAME may use until now + ttl (seconds). */
void vs_turn_mint (const gchar * secret, gint64 now, guint ttl,
    const gchar * name, VsTurnCredential * out);
void vs_turn_credential_clear (VsTurnCredential * cred);

/* turn(s)://host[:port][?transport=...] and a credential ->
 * turn(s)://USER:PASS@host[:port][?transport=...], both escaped (the
 * username holds ':', the password may hold '/', '+', '='): webrtcbin
 * splits its user info at the first ':' and unescapes each half. */
gchar *vs_turn_uri_with_credential (const gchar * uri,
    const VsTurnCredential * cred);

/* turn(s)://[user:pass@]host[:port][?transport=tcp] -> the page's
 * RTCIceServer url, turn(s):host:port[?transport=tcp] (3478 or 5349 when
 * no port is given, IPv6 hosts in brackets); NULL if it does not parse. */
gchar *vs_turn_page_url (const gchar * uri);

G_END_DECLS
