/* gst-vizstream: the elements of the vizstreamgl plugin.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

GST_ELEMENT_REGISTER_DECLARE (glreadbacksrc);

G_END_DECLS
