/* vizstream-server: adaptation to the link, as pure functions (no
 * GStreamer, no clock of their own): the congestion controller's step,
 * the ladder from a bitrate to a size and frame rate, the hysteresis on
 * size changes, the decision which encode a viewer follows or steers, and
 * the frame rate cap. The variants (vs-variant.c) apply what they decide;
 * tests/server/test-adapt.c checks them.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A viewer's link as transport-cc feedback describes it, and the
 * controller's memory of it. */
typedef struct
{
  gdouble loss;                 /* 0..1 */
  gdouble recv_kbps, sent_kbps;
  gdouble delay_trend;          /* ms, average delta of delta */
  guint bad_ticks, good_ticks;
  /* the controller's memory */
  gdouble capacity_kbps;        /* what the link delivered when full, 0 =
                                 * not known yet */
  guint hold_ticks;             /* no increase until the queue drained */
} VsLinkStats;

/* One step (once a second) of a loss and delay based controller in the
 * spirit of GCC: the new target bitrate for current, kbit/s.
 *
 * Congestion (loss over 10 % or a growing delay): down to 85 % of what
 * arrived, which is then the link's known capacity, and a hold of 2 s for
 * the queue to drain. A clean link: up 8 % a second while far below the
 * known capacity, but only 2 % a second within 15 % of it, so the
 * target creeps up to the ceiling instead of crashing through it. After
 * 20 clean seconds the ceiling is forgotten (the link may have grown). */
guint vs_adapt_step (VsLinkStats * link, guint current_kbps);

typedef struct
{
  guint src_width, src_height;  /* the source's size */
  guint max_fps;
  gdouble bits_per_pixel;       /* 0.06 H.264, 0.08 VP8 */
  gdouble max_scale;            /* 1.0, 0.5 for the lower encode */
} VsLadder;

/* The largest picture (scale of the source) and frame rate for kbps. */
void vs_adapt_ladder (const VsLadder * ladder, guint kbps, gdouble * scale,
    guint * fps);

/* A new size costs a key frame: it is taken only after being wanted for
 * 2 ticks running (going down) or 3 (going up), and not more than every
 * 4 s. */
typedef struct
{
  gdouble pending;
  gint votes;
  gint64 last_change_us;
} VsScaleVote;

/* TRUE when the scale should become wanted now. */
gboolean vs_adapt_scale_vote (VsScaleVote * vote, gdouble current,
    gdouble wanted, gint64 now_us);

/* Which encode a viewer's link steers or follows. */
typedef struct
{
  VsLinkStats link;
  gint64 low_since_us;
  guint low_backoff;
} VsLegAdapt;

typedef struct
{
  gboolean steers;              /* the controlling viewer (or the only one) */
  gboolean on_low;              /* it follows the lower encode */
  guint main_kbps, low_kbps;    /* the encodes' targets now */
  guint low_users;              /* viewers on the lower encode */
  gint64 now_us;
} VsAdaptInput;

typedef struct
{
  gboolean to_main, to_low;     /* move the viewer */
  guint steer_main_kbps;        /* 0: leave the main encode */
  guint steer_low_kbps;         /* 0: leave the lower encode */
} VsAdaptDecision;

void vs_adapt_decide (VsLegAdapt * leg, const VsAdaptInput * in,
    VsAdaptDecision * out);

/* A frame rate cap that keeps the source's timestamps: slots one period
 * apart; a frame passes when it is at most a quarter of a period before
 * the next slot, and a late one does not move the slots (a source at the
 * cap's own rate, timestamps jittering, loses no frame). A jump back or
 * of more than a second starts over. */
gboolean vs_rate_cap_pass (guint64 * next_pts, guint64 pts, guint fps);

G_END_DECLS
