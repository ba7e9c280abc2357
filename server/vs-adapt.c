/* vizstream-server: adaptation to the link (vs-adapt.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vs-adapt.h"

#include <math.h>
#include <string.h>

#include <gst/gst.h>
#include <stdlib.h>

#define HOLD_TICKS 2             /* after a decrease */
#define NEAR_CAPACITY 0.85      /* of the known capacity: probe slowly */
#define CEILING 0.95            /* of the known capacity: no further */
#define FORGET_TICKS 20         /* clean ticks that make it forget it */
#define BUCKET_NS (4 * GST_SECOND)      /* x VS_QUEUE_BUCKETS: the base's window */

void
vs_queue_delay_report (VsQueueDelay * q, const gint64 * local_ns,
    const gint64 * remote_ns, const guint * size, guint n)
{
  gint64 least = G_MAXINT64, base = G_MAXINT64;
  gint64 first = G_MAXINT64, last = G_MININT64;
  guint64 bytes = 0, first_size = 0;

  for (guint i = 0; i < n; i++) {
    gint64 owd = remote_ns[i] - local_ns[i];
    if (!q->started) {
      for (guint b = 0; b < VS_QUEUE_BUCKETS; b++)
        q->bucket_min[b] = G_MAXINT64;
      q->bucket_start = local_ns[i];
      q->started = TRUE;
    }
    /* a new bucket every BUCKET_NS of departures: the oldest is dropped
     * (all of them after a silence longer than the window) */
    if (local_ns[i] - q->bucket_start >= BUCKET_NS * VS_QUEUE_BUCKETS) {
      for (guint b = 0; b < VS_QUEUE_BUCKETS; b++)
        q->bucket_min[b] = G_MAXINT64;
      q->bucket_start = local_ns[i];
    }
    while (local_ns[i] - q->bucket_start >= BUCKET_NS) {
      q->bucket = (q->bucket + 1) % VS_QUEUE_BUCKETS;
      q->bucket_min[q->bucket] = G_MAXINT64;
      q->bucket_start += BUCKET_NS;
    }
    q->bucket_min[q->bucket] = MIN (q->bucket_min[q->bucket], owd);
    least = MIN (least, owd);
    bytes += size[i];
    if (remote_ns[i] < first) {
      first = remote_ns[i];
      first_size = size[i];
    }
    last = MAX (last, remote_ns[i]);
  }
  /* the first packet's bytes arrived before the span began */
  q->last_kbps = n > 1 && last - first >= 20 * GST_MSECOND ?
      (bytes - first_size) * 8e6 / (last - first) : 0;
  if (least == G_MAXINT64)
    return;
  for (guint b = 0; b < VS_QUEUE_BUCKETS; b++)
    base = MIN (base, q->bucket_min[b]);
  q->last_ms = (least - base) / 1e6;
  /* nobody took them for a while (the viewer not measured): old news */
  if (q->n_reports == VS_QUEUE_REPORTS)
    q->n_reports = 0;
  q->reports[q->n_reports++] = q->last_ms;
}

void
vs_adapt_brake (VsLinkStats * link)
{
  link->repair = TRUE;
  link->drain = TRUE;
}

gboolean
vs_adapt_drained (VsLinkStats * link)
{
  if (!link->repair)
    return FALSE;
  link->repair = link->drain = FALSE;
  return TRUE;
}

static gint
cmp_double (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;
  return x < y ? -1 : x > y;
}

gdouble
vs_queue_delay_tick (VsQueueDelay * q)
{
  gdouble median;

  if (q->n_reports == 0)
    return -1;
  qsort (q->reports, q->n_reports, sizeof (gdouble), cmp_double);
  median = q->n_reports % 2 ? q->reports[q->n_reports / 2] :
      0.5 * (q->reports[q->n_reports / 2 - 1] + q->reports[q->n_reports / 2]);
  q->n_reports = 0;
  return median;
}

guint
vs_adapt_step (VsLinkStats * link, guint current)
{
  gdouble target = current;
  gboolean draining = link->drain;

  link->key_now = FALSE;
  if (link->loss > 0.10)
    link->repair = TRUE;
  else if (link->repair && link->queue_ms <= VS_QUEUE_FULL_MS) {
    link->repair = FALSE;
    link->key_now = TRUE;
  }
  link->drain = link->repair;
  if (link->loss > 0.10 || link->delay_trend > 2.0
      || link->queue_ms > VS_QUEUE_CONGESTED_MS) {
    link->bad_ticks++;
    link->good_ticks = 0;
    /* Feedback lags: the second after a decrease still reports what came
     * before it. One decrease, then wait for the queue to drain (as long
     * as the encode drains it, vs_adapt_brake, and the target is near what
     * arrives: a decrease on the first seconds' burst figures is not). */
    if (link->hold_ticks == HOLD_TICKS) {
      link->hold_ticks--;
      return current;
    }
    if (link->hold_ticks > 0 && draining && link->loss <= 0.10
        && (link->recv_kbps <= 0 || current <= 1.2 * link->recv_kbps))
      return current;
    /* Multiplicative decrease to what actually arrived: while the link
     * is full, that is its capacity. */
    {
      gdouble got = link->recv_kbps > 0 ? link->recv_kbps : current;
      /* averaged with what it was, unless that is far off (the first
       * seconds' bursts, a link that shrank) */
      link->capacity_kbps = link->capacity_kbps > 0
          && link->capacity_kbps < 1.5 * got ?
          0.5 * link->capacity_kbps + 0.5 * got : got;
      target = MIN (current * (1.0 - 0.5 * MIN (link->loss, 0.5)),
          got * 0.85);
    }
    link->hold_ticks = HOLD_TICKS;
  } else if (link->loss > 0.02) {
    link->bad_ticks++;
    link->good_ticks = 0;
  } else if (link->queue_ms > VS_QUEUE_FULL_MS) {
    /* Full but not overflowing: what arrives is the capacity; a little
     * under it drains the queue without a cut (and no key frame for a
     * new size). */
    link->good_ticks = 0;
    if (link->hold_ticks > 0)
      link->hold_ticks--;       /* the last decrease's queue, draining */
    else if (link->recv_kbps > 0) {
      link->capacity_kbps = link->recv_kbps;
      target = MIN (current, CEILING * link->recv_kbps);
    }
  } else {
    link->good_ticks++;
    link->bad_ticks = 0;
    if (link->hold_ticks > 0) {
      link->hold_ticks--;
    } else if (link->good_ticks >= 2 && (link->sent_kbps <= 0
            || current < 2.0 * link->sent_kbps + 100)) {
      /* Up only while what we send actually gets through, and while the
       * encoder uses a fair part of what it has (a target far above what
       * it sends proves nothing about the link and ends in a burst when
       * the picture gets busy); slowly near the ceiling. */
      if (link->capacity_kbps > 0
          && current >= NEAR_CAPACITY * link->capacity_kbps)
        target = MAX (current, MIN (current * 1.02 + 5,
                CEILING * link->capacity_kbps));
      else
        target = current * 1.08 + 20;
    }
    /* More got through than the ceiling: it was low. */
    if (link->capacity_kbps > 0 && link->recv_kbps > link->capacity_kbps)
      link->capacity_kbps = link->recv_kbps;
    /* Clean for long: the link may have grown; forget the ceiling and
     * probe at the full pace again. */
    if (link->good_ticks >= FORGET_TICKS)
      link->capacity_kbps = 0;
  }
  return (guint) target;
}

void
vs_adapt_ladder (const VsLadder * ladder, guint kbps, gdouble * scale,
    guint * fps)
{
  static const gdouble scales[] = { 1.0, 0.75, 0.5, 0.375, 0.25 };
  gdouble sw = MAX (1, ladder->src_width);
  gdouble sh = MAX (1, ladder->src_height);
  guint f = ladder->max_fps;
  gdouble bpp = ladder->bits_per_pixel;

  if (ladder->still)
    bpp /= 2;
  if (ladder->still && kbps < VS_LADDER_STILL_KBPS) {
    /* still: the size first (a cursor over a plot: 1280x720 at 15 fps
     * on 850 kbit/s, SSIM 0.83 against 0.76 at 960x540 and 24 fps) */
    f = MIN (f, kbps < 500 ? 10 : 15);
  } else if (kbps < 250)
    f = MIN (f, 10);
  else if (kbps < 500)
    f = MIN (f, 15);
  else if (kbps < 900)
    f = MIN (f, 24);
  *fps = MAX (f, 1);
  *scale = scales[G_N_ELEMENTS (scales) - 1];
  for (gsize i = 0; i < G_N_ELEMENTS (scales); i++) {
    gdouble px = sw * scales[i] * sh * scales[i] * *fps;
    if (kbps * 1000.0 / px >= bpp) {
      *scale = scales[i];
      break;
    }
  }
  if (ladder->max_scale > 0)
    *scale = MIN (*scale, ladder->max_scale);
}

void
vs_motion_clear (VsMotion * m)
{
  g_free (m->grid);
  memset (m, 0, sizeof *m);
}

gdouble
vs_motion_frame (VsMotion * m, const guint8 * plane, guint width,
    guint height, gsize stride, guint pstride, gdouble dt_s)
{
  guint cols = (width + VS_MOTION_STEP - 1) / VS_MOTION_STEP;
  guint rows = (height + VS_MOTION_STEP - 1) / VS_MOTION_STEP;
  guint changed = 0;

  if (!cols || !rows)
    return m->share;
  if (!m->grid)
    m->share = 1.0;             /* moving until shown still */
  if (cols != m->cols || rows != m->rows) {
    g_free (m->grid);
    m->grid = g_malloc ((gsize) cols * rows);
    m->cols = cols;
    m->rows = rows;
    m->primed = FALSE;
  }
  for (guint y = 0; y < rows; y++) {
    const guint8 *row = plane + (gsize) y * VS_MOTION_STEP * stride;
    guint8 *g = m->grid + (gsize) y * cols;
    for (guint x = 0; x < cols; x++) {
      guint8 v = row[(gsize) x * VS_MOTION_STEP * pstride];
      if (m->primed && ABS ((gint) v - (gint) g[x]) > VS_MOTION_DELTA)
        changed++;
      g[x] = v;
    }
  }
  if (m->primed) {
    m->last = (gdouble) changed / ((gdouble) cols * rows);
    m->share += (m->last - m->share) * (1.0 - exp (-CLAMP (dt_s, 0.0,
                1.0) / VS_MOTION_SECONDS));
  }
  m->primed = TRUE;
  if (m->share < VS_LADDER_STILL)
    m->still = TRUE;
  else if (m->share > 2 * VS_LADDER_STILL)
    m->still = FALSE;
  return m->share;
}

gboolean
vs_adapt_scale_vote (VsScaleVote * vote, gdouble current, gdouble wanted,
    gint64 now_us)
{
  if (wanted == current) {
    vote->votes = 0;
    return FALSE;
  }
  if (wanted != vote->pending) {
    vote->pending = wanted;
    vote->votes = 0;
  }
  vote->votes++;
  if (vote->votes < (wanted < current ? 2 : 3)
      || now_us - vote->last_change_us < 4 * G_TIME_SPAN_SECOND)
    return FALSE;
  vote->votes = 0;
  vote->last_change_us = now_us;
  return TRUE;
}

void
vs_adapt_decide (VsLegAdapt * leg, const VsAdaptInput * in,
    VsAdaptDecision * out)
{
  VsLinkStats *link = &leg->link;
  guint kbps;

  out->to_main = out->to_low = FALSE;
  out->steer_main_kbps = out->steer_low_kbps = 0;
  if (in->steers) {
    /* The controlling viewer steers the main encode. */
    out->to_main = in->on_low;
    kbps = vs_adapt_step (link, in->main_kbps);
    out->steer_main_kbps = MAX (1, kbps);
  } else if (!in->on_low) {
    vs_adapt_step (link, in->main_kbps);
    /* Cannot keep up with the main encode for 3 s: the lower one. */
    if (link->bad_ticks >= 3) {
      out->to_low = TRUE;
      leg->low_since_us = in->now_us;
      link->bad_ticks = link->good_ticks = 0;
    }
  } else {
    kbps = vs_adapt_step (link, in->low_kbps);
    if (in->low_users == 1)
      out->steer_low_kbps = MAX (1, kbps);
    /* Clean for a while: try the main encode again (waiting longer each
     * time it did not work out). */
    if (link->good_ticks >= 10 && in->now_us - leg->low_since_us >
        (gint64) (10 + 10 * leg->low_backoff) * G_TIME_SPAN_SECOND) {
      leg->low_backoff = MIN (leg->low_backoff + 1, 6);
      out->to_main = TRUE;
      link->bad_ticks = link->good_ticks = 0;
    }
  }
}

gboolean
vs_rate_cap_pass (guint64 * next, guint64 pts, guint fps)
{
  guint64 period = GST_SECOND / MAX (fps, 1), early = period / 4;

  if (!GST_CLOCK_TIME_IS_VALID (pts))
    return TRUE;
  if (!GST_CLOCK_TIME_IS_VALID (*next) || pts + GST_SECOND < *next
      || pts >= *next + GST_SECOND) {
    *next = pts + period;
    return TRUE;
  }
  if (pts + early < *next)
    return FALSE;
  /* The next slot: a frame late by less than a period does not move the
   * grid (the next frame on time still passes); one later than that
   * starts a new one. */
  if (pts < *next + period)
    *next += period;
  else
    *next = pts + period;
  return TRUE;
}
