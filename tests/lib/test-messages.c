/* Unit tests of the renderer -> viewers messages: the writer's checks
 * (size, UTF-8, one JSON object), the ring (order, overrun, the newest on
 * open), the reader's wake-up and its defence against a hostile area.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include <vizstream.h>
#include "vz-protocol.h"

#include <glib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static gchar *
unique_name (const gchar * what)
{
  static int counter;
  return g_strdup_printf ("vz-test-msg-%s-%d-%d", what, (int) getpid (),
      ++counter);
}

static VzWriter *
make_writer (const gchar * name)
{
  VzWriterConfig c = { 0 };
  VzWriter *writer = NULL;

  c.max_width = 64;
  c.max_height = 32;
  c.format = VZ_FORMAT_RGBA;
  g_assert_cmpint (vz_writer_create (name, &c, &writer), ==, VZ_OK);
  return writer;
}

static VzReader *
make_reader (const gchar * name, unsigned flags)
{
  VzReader *r = NULL;
  g_assert_cmpint (vz_reader_open (name, flags, &r), ==, VZ_OK);
  return r;
}

static gchar *
next_message (VzReader * r, guint64 * skipped)
{
  char buf[VZ_MESSAGE_MAX + 1];
  size_t len = 99;
  g_assert_cmpint (vz_reader_read_message (r, buf, sizeof buf, &len,
          skipped), ==, VZ_OK);
  return len ? g_strndup (buf, len) : NULL;
}

static void
test_refused_at_sender (void)
{
  gchar *name = unique_name ("refuse");
  VzWriter *w = make_writer (name);
  gchar *big = g_strnfill (VZ_MESSAGE_MAX + 1, ' ');
  const char *bad[] = { "", "[1,2]", "\"text\"", "{\"a\":}", "{\"a\":1} x",
    "{\"a\":\"\xff\"}", "{\"a\":1", "nul\0{}", "{\"a\":\"\xed\xa0\x80\"}",
  };

  big[0] = '{';
  big[VZ_MESSAGE_MAX] = '}';
  g_assert_cmpint (vz_writer_send_message (w, big, 0), ==, VZ_ERR_TOO_LARGE);
  g_assert_nonnull (strstr (vz_last_error (), "4097 bytes"));
  g_assert_nonnull (strstr (vz_last_error (), "4096"));
  /* exactly the limit is fine */
  big[VZ_MESSAGE_MAX - 1] = '}';
  g_assert_cmpint (vz_writer_send_message (w, big, VZ_MESSAGE_MAX), ==,
      VZ_OK);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    size_t len = i == 7 ? 7 : strlen (bad[i]);
    int rc = vz_writer_send_message (w, bad[i], len ? len : 1);
    if (len == 0)
      rc = vz_writer_send_message (w, bad[i], 0);
    g_assert_cmpint (rc, ==, VZ_ERR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (vz_last_error (), "JSON object")
        ? vz_last_error () : NULL);
  }
  g_assert_cmpuint (vz_writer_messages_sent (w), ==, 1);
  g_free (big);
  vz_writer_close (w);
  g_free (name);
}

static void
test_order_and_newest_on_open (void)
{
  gchar *name = unique_name ("order");
  VzWriter *w = make_writer (name);
  VzReader *r0, *r1;
  guint64 skipped = 7;
  gchar *m;

  r0 = make_reader (name, 0);
  g_assert_null (next_message (r0, &skipped));
  g_assert_cmpuint (skipped, ==, 0);
  g_assert_cmpint (vz_writer_send_message (w, "{\"progress\":1}", 0), ==,
      VZ_OK);
  g_assert_cmpint (vz_writer_send_message (w, " {\"status\":\"é\"} ", 0),
      ==, VZ_OK);
  m = next_message (r0, &skipped);
  g_assert_cmpstr (m, ==, "{\"progress\":1}");
  g_free (m);
  m = next_message (r0, &skipped);
  g_assert_cmpstr (m, ==, " {\"status\":\"é\"} ");
  g_free (m);
  g_assert_null (next_message (r0, NULL));

  /* a late reader starts at the newest: the current state */
  r1 = make_reader (name, 0);
  m = next_message (r1, NULL);
  g_assert_cmpstr (m, ==, " {\"status\":\"é\"} ");
  g_free (m);
  g_assert_null (next_message (r1, NULL));

  /* a reader far behind loses the oldest, keeps the newest 8 */
  for (int i = 0; i < 20; i++) {
    gchar *t = g_strdup_printf ("{\"n\":%d}", i);
    g_assert_cmpint (vz_writer_send_message (w, t, 0), ==, VZ_OK);
    g_free (t);
  }
  m = next_message (r0, &skipped);
  g_assert_cmpstr (m, ==, "{\"n\":12}");
  g_assert_cmpuint (skipped, ==, 12);
  g_free (m);
  for (int i = 13; i < 20; i++) {
    gchar *t = g_strdup_printf ("{\"n\":%d}", i);
    m = next_message (r0, &skipped);
    g_assert_cmpstr (m, ==, t);
    g_assert_cmpuint (skipped, ==, 0);
    g_free (m);
    g_free (t);
  }
  g_assert_null (next_message (r0, NULL));
  vz_reader_close (r0);
  vz_reader_close (r1);
  vz_writer_close (w);
  g_free (name);
}

static void
test_wait_wakes_for_messages (void)
{
  gchar *name = unique_name ("wait");
  VzWriter *w = make_writer (name);
  VzReader *plain = make_reader (name, 0);
  VzReader *r = make_reader (name, VZ_READER_MESSAGES);
  gchar *m;

  g_assert_cmpint (vz_reader_wait (r, 0, 20 * 1000000), ==, VZ_ERR_TIMEOUT);
  g_assert_cmpint (vz_writer_send_message (w, "{\"a\":[1,{\"b\":null}]}",
          0), ==, VZ_OK);
  g_assert_cmpint (vz_reader_wait (r, 0, 1000000000), ==,
      VZ_MESSAGE_WAITING);
  /* without the flag a wait is for frames only, as before */
  g_assert_cmpint (vz_reader_wait (plain, 0, 20 * 1000000), ==,
      VZ_ERR_TIMEOUT);
  m = next_message (r, NULL);
  g_assert_cmpstr (m, ==, "{\"a\":[1,{\"b\":null}]}");
  g_free (m);
  g_assert_cmpint (vz_reader_wait (r, 0, 20 * 1000000), ==, VZ_ERR_TIMEOUT);
  vz_reader_close (plain);
  vz_reader_close (r);
  vz_writer_close (w);
  g_free (name);
}

/* Another process of the same user can write anything into the area. */
static void
test_hostile_area (void)
{
  gchar *name = unique_name ("hostile");
  gchar *path = g_strdup_printf ("/%s", name);
  VzWriter *w = make_writer (name);
  VzReader *r;
  VzHeader *h;
  VzMessagesHeader *mh;
  VzMessageSlot *slot;
  struct stat st;
  guint64 skipped;
  gchar *m;
  int fd;

  g_assert_cmpint (vz_writer_send_message (w, "{\"ok\":1}", 0), ==, VZ_OK);
  fd = shm_open (path, O_RDWR, 0);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (fstat (fd, &st), ==, 0);
  h = mmap (NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  g_assert_true (h != MAP_FAILED);
  g_assert_cmpuint (h->messages_offset % 4096, ==, 0);
  g_assert_cmpuint (h->messages_offset + h->messages_size, ==,
      h->total_size);
  mh = (VzMessagesHeader *) ((guint8 *) h + h->messages_offset);
  slot = (VzMessageSlot *) ((guint8 *) mh + VZ_MESSAGES_HEADER_SIZE);

  r = make_reader (name, 0);
  /* invalid text in a slot: skipped, never handed out */
  memcpy ((guint8 *) slot + 64, "{\"ok\":}", 7);
  slot->length = 7;
  g_assert_null (next_message (r, &skipped));
  g_assert_cmpuint (skipped, ==, 1);
  /* an impossible length, a number from elsewhere, a slot left odd */
  mh->sent = 2;
  slot[0].number = 2;           /* slot 1 is at +stride: write it raw */
  {
    VzMessageSlot *s1 = (VzMessageSlot *) ((guint8 *) slot
        + VZ_MESSAGE_SLOT_STRIDE);
    s1->number = 2;
    s1->length = 1u << 30;
  }
  g_assert_null (next_message (r, &skipped));
  g_assert_cmpuint (skipped, ==, 1);
  mh->sent = 3;
  {
    VzMessageSlot *s2 = (VzMessageSlot *) ((guint8 *) slot
        + 2 * VZ_MESSAGE_SLOT_STRIDE);
    s2->seq = 1;                /* odd forever */
    s2->number = 3;
    s2->length = 2;
    memcpy ((guint8 *) s2 + 64, "{}", 2);
  }
  g_assert_null (next_message (r, &skipped));
  g_assert_cmpuint (skipped, ==, 1);
  /* sent going backwards: nothing, no loop */
  mh->sent = 1;
  g_assert_null (next_message (r, &skipped));
  mh->sent = 3;
  vz_reader_close (r);

  /* an impossible area header refuses the segment, with the reason */
  mh->slot_count = 1000;
  g_assert_cmpint (vz_reader_open (name, 0, &r), ==, VZ_ERR_BAD_HEADER);
  g_assert_nonnull (strstr (vz_last_error (), "message area"));
  mh->slot_count = 8;
  h->messages_offset = h->slots_offset;        /* overlaps the slots */
  g_assert_cmpint (vz_reader_open (name, 0, &r), ==, VZ_ERR_BAD_HEADER);
  h->messages_offset = h->total_size;  /* past the end */
  g_assert_cmpint (vz_reader_open (name, 0, &r), ==, VZ_ERR_TRUNCATED);
  /* no area at all (a writer that predates it): no messages */
  h->messages_offset = 0;
  h->messages_size = 0;
  r = make_reader (name, VZ_READER_MESSAGES);
  m = next_message (r, NULL);
  g_assert_null (m);
  g_assert_cmpint (vz_reader_wait (r, 0, 10 * 1000000), ==, VZ_ERR_TIMEOUT);
  vz_reader_close (r);

  munmap (h, st.st_size);
  close (fd);
  vz_writer_close (w);
  g_free (path);
  g_free (name);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/messages/refused-at-sender", test_refused_at_sender);
  g_test_add_func ("/messages/order-and-newest-on-open",
      test_order_and_newest_on_open);
  g_test_add_func ("/messages/wait-wakes", test_wait_wakes_for_messages);
  g_test_add_func ("/messages/hostile-area", test_hostile_area);
  return g_test_run ();
}
