/* vizstream-server: see vs-server.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-server.h"

int
main (int argc, char **argv)
{
  return vs_server_main (argc, argv, NULL);
}
