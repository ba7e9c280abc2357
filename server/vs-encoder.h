/* vizstream-server: encoder selection (the table of known encoders, the
 * first that works here, made with the settings we use).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "vs-config.h"

G_BEGIN_DECLS

typedef struct
{
  const gchar *element;
  VsCodec codec;
  const gchar *bitrate_prop;
  guint bitrate_scale;          /* property units per kbit/s */
  gboolean hardware;
  const gchar *settings;        /* "prop=value prop=value" */
  /* Its rate control gives each frame bitrate / the caps' frame rate
   * (x264enc with tune=zerolatency): when only some frames reach it, it
   * is given more, and its VBV (vbv_ms) less time, to send what it is
   * asked for. */
  gboolean nominal_rate;
  guint vbv_ms;
  /* Encodes Main profile (CABAC: 0.89x constrained baseline's bits at
   * the same SSIM) and switches between the two while it runs: browsers
   * that decode Main get it (docs/server.md, "H.264 profile"). */
  gboolean main_profile;
} VsEncoderInfo;

/* --encoder if given and present, else the first of the table for the
 * codec that works here (hardware ones must encode a test picture). */
const VsEncoderInfo *vs_encoder_pick (const VsConfig * cfg, GError ** error);

/* Our settings on an encoder of the table: low latency, a key frame at
 * most every 4 s of max_fps frames. */
void vs_encoder_configure (const VsEncoderInfo * info, GstElement * enc,
    guint max_fps);
/* share: the part of the caps' frames that reach the encoder (a frame
 * rate cap below the source's), 0..1. */
void vs_encoder_set_bitrate (const VsEncoderInfo * info, GstElement * enc,
    guint kbps, gdouble share);
/* Raw format the encoder is fed (I420, NV12 for hardware). */
const gchar *vs_encoder_input_format (const VsEncoderInfo * info);
/* Caps after the encoder: H.264 (Main profile if main and the encoder
 * has it, else constrained baseline) or VP8. */
GstCaps *vs_encoder_output_caps (const VsEncoderInfo * info, gboolean main);

G_END_DECLS
