/* libFuzzer target: the JSON event parser (what viewers send).
 * Property: never crashes or reads past the input; every event it accepts
 * writes back as JSON that parses to the same event type.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <vizstream.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  VzEvent ev[16], back[1];
  VzJsonResult res, res2;
  /* An exact-size heap copy, so ASan sees any read past the end. */
  char *copy = malloc (size ? size : 1);

  memcpy (copy, data, size);
  if (vz_events_from_json (copy, size, ev, 16, &res) != VZ_OK)
    abort ();
  if (res.events > 16)
    abort ();
  for (size_t i = 0; i < res.events; i++) {
    char json[512];
    int n = vz_event_to_json (&ev[i], json, sizeof json);
    if (n <= 0)
      abort ();
    if (vz_events_from_json (json, (size_t) n, back, 1, &res2) != VZ_OK
        || res2.events != 1 || back[0].type != ev[i].type)
      abort ();
  }
  free (copy);
  return 0;
}
