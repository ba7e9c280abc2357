/* vizstream-server: a WebRTC viewer, in one bin of its own:
 *
 *   [bin "viewerN"] queue(leaky, 300 ms) ! rtph264pay|rtpvp8pay
 *       ! caps(transport-cc extension) [! capssetter(profile-level-id)]
 *       ! webrtcbin
 *
 * hanging off an encode's tee (a VsLeg). An error anywhere in the bin
 * closes this viewer only (VsPeerHooks.failed); teardown is one removal.
 * webrtcbin's callbacks come on its own threads: they are moved to the
 * main loop before any hook runs.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include "vs-variant.h"
#include "vs-turn.h"

G_BEGIN_DECLS

/* What a viewer's transport tells its viewer (main loop, never after
 * the transport was closed). */
typedef struct
{
  /* A signalling message for the page (an offer, a candidate). */
  void (*send) (const gchar * text, gpointer data);
  /* Events from the page's "input" data channel. */
  void (*input) (const gchar * text, gsize len, gpointer data);
  /* The transport cannot go on: close the viewer. */
  void (*failed) (const gchar * reason, gpointer data);
  gpointer data;
} VsPeerHooks;

typedef struct _VsWebrtcPeer VsWebrtcPeer;

/* Made, added to the pipeline and negotiating (the offer comes through
 * hooks->send). turn: this viewer's TURN credential for every --turn
 * server (a TURN secret), or NULL (their own user:password). h264_main:
 * the profile-level-id to offer to a page that decodes Main profile
 * (vs_signal_h264_main), or NULL: constrained baseline (42e01f). */
VsWebrtcPeer *vs_webrtc_peer_new (guint id, const VsConfig * cfg,
    const VsTurnCredential * turn, const gchar * h264_main,
    VsMedia * media, VsEncodes * encodes, const VsPeerHooks * hooks,
    GError ** error);
/* Takes its bin out of the pipeline and drops it (main loop). */
void vs_webrtc_peer_close (VsWebrtcPeer * peer);

void vs_webrtc_peer_set_answer (VsWebrtcPeer * peer, const gchar * sdp,
    GError ** error);
void vs_webrtc_peer_add_candidate (VsWebrtcPeer * peer, guint mline,
    const gchar * candidate);
/* Reads the link from transport-cc feedback into its leg; FALSE when
 * there is nothing to read yet. */
gboolean vs_webrtc_peer_measure (VsWebrtcPeer * peer);
VsLeg *vs_webrtc_peer_leg (VsWebrtcPeer * peer);
void vs_webrtc_peer_describe (VsWebrtcPeer * peer, JsonBuilder * b);
/* Tests (VIZSTREAM_TEST_HOOKS=1): an error posted by the payloader. */
void vs_webrtc_peer_post_test_error (VsWebrtcPeer * peer);

G_END_DECLS
