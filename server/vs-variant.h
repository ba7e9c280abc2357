/* vizstream-server: the encodes ("variants") and the legs that follow
 * them.
 *
 *   raw tee ! [bin "encode-main"] queue(1, leaky) ! valve ! [fps cap]
 *       ! videoconvertscale ! caps(I420 [, size]) ! encoder ! caps ! tee
 *
 * The main encode always exists; a lower one (half size, 15 fps) is made
 * when a viewer first needs it. A leg is a viewer's bin hanging off one
 * encode's tee: it gets key frames on request, only whole GOPs after a
 * loss (the key-frame gate), and moves between encodes without
 * renegotiating. vs_encodes_adapt() applies vs-adapt.c's decisions.
 *
 * H.264 profile: an encode whose encoder can (x264enc) sends Main while
 * every leg on it decodes Main, constrained baseline as soon as one does
 * not; back to Main 5 s after the last such leg left. The switch
 * reopens the encoder on its own streaming thread (a key frame for
 * everyone).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include "vs-adapt.h"
#include "vs-encoder.h"
#include "vs-media.h"

G_BEGIN_DECLS

typedef struct _VsVariant VsVariant;
typedef struct _VsEncodes VsEncodes;

VsEncodes *vs_encodes_new (VsMedia * media, const VsConfig * cfg,
    GError ** error);
void vs_encodes_free (VsEncodes * e);
const gchar *vs_encodes_encoder_name (VsEncodes * e);
/* The source has a new size: every encode's caps follow. */
void vs_encodes_source_size (VsEncodes * e);
/* Once a second: frame and byte counters. */
void vs_encodes_tick (VsEncodes * e, gdouble * fps, gdouble * kbps,
    guint * target_kbps);
void vs_encodes_describe (VsEncodes * e, JsonBuilder * b);

/* A viewer's share of an encode. Fields: set by its transport on the
 * main loop; need_key, connected, overruns are atomics. */
typedef struct
{
  VsEncodes *encodes;
  VsVariant *variant;
  GstElement *bin;              /* the viewer's bin, a "sink" pad */
  GstPad *teepad;
  gint need_key;                /* drop delta frames until a key frame */
  gint connected;               /* frames may flow */
  gint overruns;
  guint repairs;                /* key frames after heavy loss (main loop) */
  struct _VsVariant *steered;   /* the encode it steered at the last tick */
  gboolean measured;            /* link set this tick (WebRTC) */
  VsLegAdapt adapt;
  /* It decodes Main profile H.264: set by its transport before
   * vs_leg_attach. An encode sends Main only while every leg on it does
   * (else constrained baseline), and a leg that does not never gets a
   * Main frame: its gate holds them. */
  gboolean main_ok;
  gboolean stream_main;         /* the gate's: the caps say Main */
} VsLeg;

void vs_leg_init (VsLeg * leg, VsEncodes * e, GstElement * bin);
/* The key-frame gate on gate_pad (a pad inside the bin after its queue),
 * then the bin joins the main encode's tee. The bin must be in the
 * pipeline already. */
void vs_leg_attach (VsLeg * leg, GstPad * gate_pad);
void vs_leg_detach (VsLeg * leg);
/* Asks its encode for a key frame (several legs at once get one). */
void vs_leg_request_key (VsLeg * leg);
/* Its queue overflows (vs_adapt_brake) while the link carries
 * arrived_kbps: if it steers its encode, that sends half of it until the
 * queue drained. */
void vs_leg_brake (VsLeg * leg, gdouble arrived_kbps);
/* Its queue drained: the encode's bitrate back, and a key frame. */
void vs_leg_drained (VsLeg * leg);
/* The same, the leg's delta frames flowing meanwhile: for a relay (a
 * Janus edge) whose other receivers lost nothing. */
void vs_leg_request_key_relayed (VsLeg * leg);
/* The leg's queue overflowed (streaming thread): TRUE when the caller
 * should ask for a key frame on the main loop. */
gboolean vs_leg_overrun (VsLeg * leg);
const gchar *vs_leg_variant_name (VsLeg * leg);

/* One controller tick over the legs measured this tick. leader is the
 * controlling viewer's leg; has_leader says whether there is such a
 * viewer at all (it may have no leg: video over the WebSocket, MJPEG):
 * without one, a leg alone on the main encode steers it. */
void vs_encodes_adapt (VsEncodes * e, VsLeg ** legs, guint n_legs,
    VsLeg * leader, gboolean has_leader);

G_END_DECLS
