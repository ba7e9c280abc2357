/* vizstream-server: the program. Everything is in the server library
 * (docs/architecture.md); vs-embed.h is its one public header.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-embed.h"

int
main (int argc, char **argv)
{
  return vs_server_main (argc, argv, NULL);
}
