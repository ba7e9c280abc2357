/* libFuzzer target: the messages vizstream-server accepts from pages
 * (server/vs-signal.c), as WebSocket signalling and as data channel
 * messages. Whatever the bytes, a message or an error; no crash, no leak,
 * no g_critical (made fatal here).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <glib.h>

#include "vs-signal.h"

static void
fatal_log (const gchar * domain, GLogLevelFlags level, const gchar * msg,
    gpointer data)
{
  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_ERROR))
    abort ();
}

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  static gboolean init;
  static const VsSignalSource sources[] = { VS_SIGNAL_FROM_WEBSOCKET,
    VS_SIGNAL_FROM_CHANNEL
  };

  if (!init) {
    g_log_set_default_handler (fatal_log, NULL);
    init = TRUE;
  }
  for (gsize i = 0; i < G_N_ELEMENTS (sources); i++) {
    VsSignal sig;
    GError *err = NULL;

    if (vs_signal_parse ((const gchar *) data, size, sources[i], &sig,
            &err)) {
      g_assert (sig.type <= VS_SIGNAL_LAST);
      g_assert (sig.type != VS_SIGNAL_TEST_ERROR);
      g_assert (sig.type != VS_SIGNAL_ICE || sig.candidate);
      g_assert (sig.type != VS_SIGNAL_HELLO || sig.transport);
      vs_signal_clear (&sig);
    } else {
      g_assert (err && err->message[0]);
      g_error_free (err);
    }
  }
  return 0;
}
