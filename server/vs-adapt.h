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
  gdouble queue_ms;             /* standing queue on the path, ms (below) */
  guint bad_ticks, good_ticks;
  /* the controller's memory */
  gdouble capacity_kbps;        /* what the link delivered when full, 0 =
                                 * not known yet */
  guint hold_ticks;             /* no increase until the queue drained */
  gboolean repair;              /* lost more than retransmission repairs */
  gboolean key_now;             /* out: the viewer wants a key frame now */
  gboolean drain;               /* out: send less until the queue drained */
} VsLinkStats;

/* The standing queue on the path to a viewer, from transport-cc
 * feedback: each packet's one-way delay (its arrival on the viewer's
 * clock minus its departure on ours: the clocks' offset is unknown but
 * constant) above the least one-way delay seen in the last ~30 s is the
 * time it waited in a queue. A feedback report's least such wait is the
 * queue that stood through the report (a key frame's burst raises the
 * others, not that one); the tick takes the median of its reports, so a
 * burst that drains within the second does not count. The loss and
 * delta-of-delta figures see a queue only once it overflows or grows
 * fast: a target a few per cent over the link fills a 100 ms queue in
 * seconds with both clean. */
#define VS_QUEUE_BUCKETS 8
#define VS_QUEUE_REPORTS 64
typedef struct
{
  gint64 bucket_min[VS_QUEUE_BUCKETS];  /* least one-way delay, ns */
  gint64 bucket_start;          /* departure that began the current one */
  guint bucket;
  gboolean started;
  gdouble reports[VS_QUEUE_REPORTS];    /* this tick's, ms */
  guint n_reports;
  gdouble last_ms;              /* the newest report's queue */
  gdouble last_kbps;            /* what arrived over its span, 0: unknown */
} VsQueueDelay;

/* A feedback report: the departures (our clock), arrivals (the
 * viewer's) and sizes (bytes) of its n packets that arrived, ns. */
void vs_queue_delay_report (VsQueueDelay * q, const gint64 * local_ns,
    const gint64 * remote_ns, const guint * size, guint n);
/* The median queue of the reports since the last call, ms; -1: none. */
gdouble vs_queue_delay_tick (VsQueueDelay * q);

/* One step (once a second) of a loss and delay based controller in the
 * spirit of GCC: the new target bitrate for current, kbit/s.
 *
 * Congestion (loss over 10 %, a growing delay or a standing queue over
 * 60 ms): down to 85 % of what arrived, which is then the link's known
 * capacity, and a hold of 2 s for the queue to drain. A queue of 20-60 ms:
 * the link is full, what arrives is its capacity; down to 95 % of it at
 * most, which drains the queue without a cut. A clean link: up 8 % a
 * second while far below the known capacity, then 2 % a second up to 95 %
 * of it and no further. After 20 clean seconds the ceiling is forgotten
 * (the link may have grown): probing at the full pace again, the queue
 * stops it before any loss.
 *
 * A congestion with heavy loss (over 10 %) leaves the viewer with frames
 * it cannot decode: retransmissions into a full queue are lost too, and
 * Chromium asks for a key frame only after 3 s without a decodable frame
 * (measured: the PLI 3.8 s after a step down from 3 to 1 Mbit/s). So
 * once the queue has drained (under 20 ms, loss back under 10 %: a link
 * with some loss left, which retransmissions repair, does not keep the
 * encode draining), key_now asks
 * for one: sent into a full queue it would be lost as well. Until then
 * (drain) the encode sends half its target: at 85 % of the link a full
 * 200 ms queue takes seconds to drain (measured: 3 s after a step down,
 * the x264 reconfiguration and a new size's key frame overshooting), at
 * half of it well under a second; the ladder still sees the target, so
 * the picture's size does not change for that. */
#define VS_QUEUE_FULL_MS 20.0
#define VS_QUEUE_CONGESTED_MS 60.0
/* A report's queue this deep is an overflowing link (a 100 ms tbf holds
 * ~230 ms at 1 Mbit/s): the viewer steering an encode brakes at once
 * (vs_adapt_brake) instead of at the next tick, up to a second later. */
#define VS_QUEUE_BRAKE_MS 150.0
/* The brake: repair (and drain) as a heavy loss does; the encode drains
 * at half of what arrived in the report (what the link carries now). */
void vs_adapt_brake (VsLinkStats * link);
/* A report's queue under VS_QUEUE_FULL_MS while repairing: drained, the
 * key frame now (TRUE), not at the next tick. */
gboolean vs_adapt_drained (VsLinkStats * link);
guint vs_adapt_step (VsLinkStats * link, guint current_kbps);

typedef struct
{
  guint src_width, src_height;  /* the source's size */
  guint max_fps;
  gdouble bits_per_pixel;       /* VS_LADDER_BPP_* */
  gdouble max_scale;            /* 1.0, 0.5 for the lower encode */
  gboolean still;               /* VsMotion's */
} VsLadder;

#define VS_LADDER_BPP_H264 0.06
#define VS_LADDER_BPP_VP8 0.08
/* A picture of which less than this changes from frame to frame (a
 * still plot with a pointer moving over it: 0.0002; the demo 0.13, a
 * turning mesh 0.06) is "still": the ladder gives it half the bits per
 * pixel (it keeps its size: scaling back up blurs its lines and text,
 * while a still picture costs few bits at any size), and under
 * VS_LADDER_STILL_KBPS 15 frames a second at most, 10 under 500 kbit/s
 * (a still picture's bits go further at fewer frames; above, the frame
 * rate of a moving one: SSIM gains little there and does not see the
 * pointer's smoothness). docs/performance.md, "The picture a viewer
 * gets per link". */
#define VS_LADDER_STILL 0.01
#define VS_LADDER_STILL_KBPS 1500

/* The largest picture (scale of the source) and frame rate for kbps. */
void vs_adapt_ladder (const VsLadder * ladder, guint kbps, gdouble * scale,
    guint * fps);

/* How much of the picture changes from frame to frame: the share of a
 * sparse grid of samples (every VS_MOTION_STEP-th pixel of every
 * VS_MOTION_STEP-th row of one 8-bit component: luma, or green) that
 * moved by more than VS_MOTION_DELTA since the frame before, smoothed
 * over about VS_MOTION_SECONDS (by the frames' timestamps: a renderer
 * that only repeats its picture every 500 ms counts as still as soon as
 * one drawing 30 frames a second). still: under VS_LADDER_STILL, and
 * moving again only over twice that (a picture whose motion hovers near
 * it does not flip the ladder at every tick). */
#define VS_MOTION_STEP 8
#define VS_MOTION_DELTA 6
#define VS_MOTION_SECONDS 1.0
typedef struct
{
  guint8 *grid;
  guint cols, rows;
  gboolean primed;              /* grid holds the previous frame */
  gdouble last;                 /* the last frame's share */
  gdouble share;                /* smoothed, 0..1; 1 until measured */
  gboolean still;
} VsMotion;

void vs_motion_clear (VsMotion * m);
/* One frame's component (width x height samples, stride bytes a row,
 * pstride bytes from one sample to the next), dt_s seconds after the
 * frame before (its timestamps; capped at 1 s): returns the smoothed
 * share. A new size starts the grid over, the share stays. */
gdouble vs_motion_frame (VsMotion * m, const guint8 * plane, guint width,
    guint height, gsize stride, guint pstride, gdouble dt_s);

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
