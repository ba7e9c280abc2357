/* Unit tests: TURN REST credentials and the TURN URLs made from them
 * (server/vs-turn.c). The expected passwords were computed apart, with
 * Python's hmac and OpenSSL:
 *
 *   printf %s '1700086400:viewer-7' \
 *     | openssl dgst -sha1 -hmac vizstream-secret -binary | base64
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <glib.h>
#include "vs-turn.h"

static void
check_mint (const gchar * secret, gint64 now, guint ttl, const gchar * name,
    const gchar * username, const gchar * password)
{
  VsTurnCredential c = { NULL, NULL };

  vs_turn_mint (secret, now, ttl, name, &c);
  g_assert_cmpstr (c.username, ==, username);
  g_assert_cmpstr (c.password, ==, password);
  vs_turn_credential_clear (&c);
  g_assert_null (c.username);
}

static void
test_mint (void)
{
  check_mint ("vizstream-secret", 1700000000, 86400, "viewer-7",
      "1700086400:viewer-7", "kdwo/S54ijnMZ5Fc5nNCDReUS4U=");
  check_mint ("s3cr3t", 1700000000, 60, "viewer-1",
      "1700000060:viewer-1", "zUNgDDczFldk51zfM9hg0Ihpgu0=");
  check_mint ("north", 3999913600, 86400, "viewer-4294967295",
      "4000000000:viewer-4294967295", "/SnAm8SrVRqtv0vV8tZsYqY1BzE=");
}

static void
check_uri (const gchar * uri, const gchar * user, const gchar * pass,
    const gchar * expect)
{
  VsTurnCredential c = { (gchar *) user, (gchar *) pass };
  gchar *out = vs_turn_uri_with_credential (uri, &c);

  g_assert_cmpstr (out, ==, expect);
  g_free (out);
}

static void
test_uri_with_credential (void)
{
  const gchar *colon;
  gchar *u, *p, *out;
  VsTurnCredential c = { (gchar *) "1700086400:viewer-7",
    (gchar *) "kd+o/S54ij=" };

  check_uri ("turn://127.0.0.1:13478", "1700086400:viewer-7",
      "kdwo/S54ijnMZ5Fc5nNCDReUS4U=",
      "turn://1700086400%3Aviewer-7:kdwo%2FS54ijnMZ5Fc5nNCDReUS4U%3D@"
      "127.0.0.1:13478");
  check_uri ("turns://turn.example.org?transport=tcp", "1:a", "+/=",
      "turns://1%3Aa:%2B%2F%3D@turn.example.org?transport=tcp");
  check_uri ("turn://[::1]:3478", "1:a", "b", "turn://1%3Aa:b@[::1]:3478");
  g_assert_null (vs_turn_uri_with_credential ("127.0.0.1:3478", &c));

  /* Read back as webrtcbin does: split at the first ':', unescape each. */
  out = vs_turn_uri_with_credential ("turn://h:1", &c);
  colon = strchr (out + strlen ("turn://"), ':');
  u = g_uri_unescape_segment (out + strlen ("turn://"), colon, NULL);
  p = g_uri_unescape_segment (colon + 1, strchr (colon, '@'), NULL);
  g_assert_cmpstr (u, ==, c.username);
  g_assert_cmpstr (p, ==, c.password);
  g_free (u);
  g_free (p);
  g_free (out);
}

static void
test_page_url (void)
{
  const struct
  {
    const gchar *uri, *url;
  } cases[] = {
    {"turn://127.0.0.1:13478", "turn:127.0.0.1:13478"},
    {"turn://user:pa%2Fss@turn.example.org", "turn:turn.example.org:3478"},
    {"turns://turn.example.org", "turns:turn.example.org:5349"},
    {"turn://h:3479?transport=tcp", "turn:h:3479?transport=tcp"},
    {"turn://h:3479?transport=udp", "turn:h:3479"},
    {"turn://[::1]:3478", "turn:[::1]:3478"},
    {"stun://h:3478", NULL},
    {"turn://", NULL},
    {"not a url", NULL},
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    gchar *url = vs_turn_page_url (cases[i].uri);
    g_assert_cmpstr (url, ==, cases[i].url);
    g_free (url);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/turn/mint", test_mint);
  g_test_add_func ("/turn/uri-with-credential", test_uri_with_credential);
  g_test_add_func ("/turn/page-url", test_page_url);
  return g_test_run ();
}
