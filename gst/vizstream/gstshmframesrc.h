/* gst-vizstream: shmframesrc, the newest frame of a renderer's shared
 * frame ring as video/x-raw.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/base/gstpushsrc.h>

G_BEGIN_DECLS

#define GST_TYPE_SHM_FRAME_SRC (gst_shm_frame_src_get_type ())
G_DECLARE_FINAL_TYPE (GstShmFrameSrc, gst_shm_frame_src, GST, SHM_FRAME_SRC,
    GstPushSrc);

G_END_DECLS
