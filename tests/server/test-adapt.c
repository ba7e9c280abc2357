/* Unit tests: the controller, the ladder, the size hysteresis, the leg
 * decisions and the frame rate cap (server/vs-adapt.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gst/gst.h>
#include <string.h>
#include "vs-adapt.h"

static void
test_step_clean_link_climbs (void)
{
  VsLinkStats link = { 0 };
  guint kbps = 1000;

  /* The first clean second holds, then +8 % +20 a second. */
  kbps = vs_adapt_step (&link, kbps);
  g_assert_cmpuint (kbps, ==, 1000);
  kbps = vs_adapt_step (&link, kbps);
  g_assert_cmpuint (kbps, ==, 1100);
  kbps = vs_adapt_step (&link, kbps);
  g_assert_cmpuint (kbps, ==, 1208);
  g_assert_cmpuint (link.good_ticks, ==, 3);
  g_assert_cmpuint (link.bad_ticks, ==, 0);
}

static void
test_step_loss_drops_to_what_arrived (void)
{
  VsLinkStats link = {.loss = 0.2,.recv_kbps = 800 };
  guint kbps = vs_adapt_step (&link, 2000);

  /* min (2000 * (1 - 0.1), 800 * 0.85) */
  g_assert_cmpuint (kbps, ==, 680);
  g_assert_cmpuint (link.bad_ticks, ==, 1);
  g_assert_cmpuint (link.good_ticks, ==, 0);
}

static void
test_step_delay_trend_drops (void)
{
  VsLinkStats link = {.delay_trend = 5.0,.recv_kbps = 1000 };
  g_assert_cmpuint (vs_adapt_step (&link, 2000), ==, 850);
}

static void
test_step_some_loss_holds (void)
{
  VsLinkStats link = {.loss = 0.05,.recv_kbps = 100,.good_ticks = 5 };
  g_assert_cmpuint (vs_adapt_step (&link, 2000), ==, 2000);
  g_assert_cmpuint (link.bad_ticks, ==, 1);
  g_assert_cmpuint (link.good_ticks, ==, 0);
}

/* A 1 Mbit/s link: after the first congestion the target waits for the
 * queue to drain, then creeps towards the capacity it learnt instead of
 * climbing 8 % a second through it. */
static void
test_step_learns_capacity (void)
{
  VsLinkStats link = {.delay_trend = 8.0,.recv_kbps = 1000 };
  guint kbps = vs_adapt_step (&link, 2500);

  g_assert_cmpuint (kbps, ==, 850);
  g_assert_cmpfloat (link.capacity_kbps, ==, 1000);
  link.delay_trend = 0;
  link.recv_kbps = 850;
  /* two ticks of hold */
  g_assert_cmpuint (kbps = vs_adapt_step (&link, kbps), ==, 850);
  g_assert_cmpuint (kbps = vs_adapt_step (&link, kbps), ==, 850);
  /* then 2 % a second near the ceiling */
  g_assert_cmpuint (kbps = vs_adapt_step (&link, kbps), ==, 872);
  g_assert_cmpuint (kbps = vs_adapt_step (&link, kbps), ==, 894);
  /* Far below it (a new, lower figure for the encode): 8 % again. */
  g_assert_cmpuint (vs_adapt_step (&link, 400), ==, 452);
  /* Sending past the ceiling without trouble: the ceiling moves up (to
   * what arrived, not to the target). */
  link.recv_kbps = 1100;
  vs_adapt_step (&link, 1300);
  g_assert_cmpfloat (link.capacity_kbps, ==, 1100);
  /* 20 clean seconds: forgotten, 8 % a second again (until then no
   * further than 95 % of the ceiling: 1100 is over it already, it stays) */
  while (link.good_ticks < 19)
    vs_adapt_step (&link, 1100);
  g_assert_cmpfloat (link.capacity_kbps, >, 0);
  g_assert_cmpuint (vs_adapt_step (&link, 1100), ==, 1100);
  g_assert_cmpfloat (link.capacity_kbps, ==, 0);
  g_assert_cmpuint (vs_adapt_step (&link, 1100), ==, 1208);
}

/* Feedback lags a second: one decrease, not one per stale report. */
static void
test_step_one_decrease_per_congestion (void)
{
  VsLinkStats link = {.loss = 0.5,.recv_kbps = 1000 };
  guint kbps = vs_adapt_step (&link, 2000);

  g_assert_cmpuint (kbps, ==, 850);
  g_assert_cmpuint (vs_adapt_step (&link, kbps), ==, 850);
  /* Still congested after the hold: down again. */
  link.recv_kbps = 600;
  g_assert_cmpuint (vs_adapt_step (&link, 850), ==, 510);
}

/* The encoder sends far less than its target (an easy picture): raising
 * the target tells nothing about the link. */
static void
test_step_no_increase_past_what_is_sent (void)
{
  VsLinkStats link = {.sent_kbps = 400,.recv_kbps = 400,.good_ticks = 5 };

  g_assert_cmpuint (vs_adapt_step (&link, 1000), ==, 1000);
  link.sent_kbps = 900;
  g_assert_cmpuint (vs_adapt_step (&link, 1000), ==, 1100);
}

/* Up to 95 % of the known capacity and no further. */
static void
test_step_ceiling (void)
{
  VsLinkStats link = {.capacity_kbps = 1000,.recv_kbps = 900,
    .sent_kbps = 900,.good_ticks = 5
  };

  g_assert_cmpuint (vs_adapt_step (&link, 900), ==, 923);
  g_assert_cmpuint (vs_adapt_step (&link, 923), ==, 946);
  g_assert_cmpuint (vs_adapt_step (&link, 946), ==, 950);
  g_assert_cmpuint (vs_adapt_step (&link, 950), ==, 950);
}

/* A standing queue: over 60 ms a congestion (no loss needed), 20-60 ms
 * the link is full: down to 95 % of what arrives at most, no increase. */
static void
test_step_queue (void)
{
  VsLinkStats link = {.queue_ms = 80,.recv_kbps = 1000,.good_ticks = 5 };

  g_assert_cmpuint (vs_adapt_step (&link, 1200), ==, 850);
  g_assert_cmpfloat (link.capacity_kbps, ==, 1000);
  g_assert_false (link.repair);  /* no loss: nothing to repair */

  memset (&link, 0, sizeof link);
  link.queue_ms = 40;
  link.recv_kbps = 900;
  link.good_ticks = 5;
  g_assert_cmpuint (vs_adapt_step (&link, 1000), ==, 855);
  g_assert_cmpfloat (link.capacity_kbps, ==, 900);
  g_assert_cmpuint (link.good_ticks, ==, 0);
  /* under what arrives already: stays */
  g_assert_cmpuint (vs_adapt_step (&link, 700), ==, 700);
}

/* A first figure from the start's burst (2500) is not averaged into the
 * capacity that a 300 kbit/s link shows. */
static void
test_step_capacity_far_off (void)
{
  VsLinkStats link = {.loss = 0.5,.recv_kbps = 280,.capacity_kbps = 2500 };

  g_assert_cmpuint (vs_adapt_step (&link, 2500), ==, 238);
  g_assert_cmpfloat (link.capacity_kbps, ==, 280);
}

/* Heavy loss: a key frame once the queue drained, the encode draining
 * until then; a queue still draining after the hold is not a second
 * congestion. */
static void
test_step_repair (void)
{
  VsLinkStats link = {.loss = 0.4,.recv_kbps = 1000,.queue_ms = 200 };
  guint kbps = vs_adapt_step (&link, 2500);

  g_assert_cmpuint (kbps, ==, 850);
  g_assert_true (link.repair);
  g_assert_true (link.drain);
  g_assert_false (link.key_now);
  link.loss = 0;
  g_assert_cmpuint (kbps = vs_adapt_step (&link, kbps), ==, 850);      /* hold */
  link.queue_ms = 90;           /* still draining */
  g_assert_cmpuint (kbps = vs_adapt_step (&link, kbps), ==, 850);
  g_assert_false (link.key_now);
  g_assert_true (link.drain);
  /* a target far above what arrives is cut even while draining */
  link.recv_kbps = 300;
  g_assert_cmpuint (vs_adapt_step (&link, kbps), ==, 255);
  link.recv_kbps = 1000;
  link.queue_ms = 5;
  vs_adapt_step (&link, kbps);
  g_assert_true (link.key_now);
  g_assert_false (link.repair);
  g_assert_false (link.drain);
  vs_adapt_step (&link, kbps);
  g_assert_false (link.key_now);        /* once */

  /* some loss left (5 %, retransmissions repair it) does not keep the
   * encode draining: the queue drained, the key frame goes */
  link.loss = 0.3;
  link.queue_ms = 100;
  vs_adapt_step (&link, kbps);
  g_assert_true (link.drain);
  link.loss = 0.05;
  link.queue_ms = 5;
  vs_adapt_step (&link, kbps);
  g_assert_true (link.key_now);
  g_assert_false (link.drain);

  /* the brake between ticks; the report that shows it drained ends it */
  vs_adapt_brake (&link);
  g_assert_true (link.drain);
  g_assert_true (vs_adapt_drained (&link));
  g_assert_false (link.drain);
  g_assert_false (vs_adapt_drained (&link));
}

/* The standing queue from feedback reports: one-way delay above the
 * least seen in ~30 s; a report's least; the tick's median. */
static void
test_queue_delay (void)
{
  VsQueueDelay q = { 0 };
  const gint64 ms = GST_MSECOND;
  gint64 local[4], remote[4];
  guint size[4] = { 1200, 1200, 1200, 1200 };
  const gint64 offset = 5000 * ms;      /* the clocks differ */

  /* empty: nothing */
  g_assert_cmpfloat (vs_queue_delay_tick (&q), ==, -1);
  /* 4 packets 10 ms apart, one-way 30 ms: the base */
  for (guint i = 0; i < 4; i++) {
    local[i] = i * 10 * ms;
    remote[i] = offset + local[i] + 30 * ms;
  }
  vs_queue_delay_report (&q, local, remote, size, 4);
  g_assert_cmpfloat (q.last_ms, ==, 0);
  /* 3 x 1200 bytes over 30 ms: 960 kbit/s */
  g_assert_cmpfloat_with_epsilon (q.last_kbps, 960, 0.5);
  /* a queue building: 50, 70, 90, 110 ms waits: the report's least */
  for (guint i = 0; i < 4; i++) {
    local[i] = (100 + i * 10) * ms;
    remote[i] = offset + local[i] + (80 + 20 * i) * ms;
  }
  vs_queue_delay_report (&q, local, remote, size, 4);
  g_assert_cmpfloat (q.last_ms, ==, 50);
  /* a burst in one report, clean in the next: the median of three */
  for (guint i = 0; i < 4; i++) {
    local[i] = (200 + i * 10) * ms;
    remote[i] = offset + local[i] + 30 * ms;
  }
  vs_queue_delay_report (&q, local, remote, size, 4);
  g_assert_cmpfloat (vs_queue_delay_tick (&q), ==, 0);
  g_assert_cmpfloat (vs_queue_delay_tick (&q), ==, -1);
  /* 40 s later the old base is forgotten: 60 ms one-way is the new base */
  for (guint i = 0; i < 4; i++) {
    local[i] = (40000 + i * 10) * ms;
    remote[i] = offset + local[i] + 60 * ms;
  }
  vs_queue_delay_report (&q, local, remote, size, 4);
  g_assert_cmpfloat (q.last_ms, ==, 0);
  /* but within the window it is not */
  for (guint i = 0; i < 4; i++) {
    local[i] = (41000 + i * 10) * ms;
    remote[i] = offset + local[i] + 90 * ms;
  }
  vs_queue_delay_report (&q, local, remote, size, 4);
  g_assert_cmpfloat (q.last_ms, ==, 30);
}

static void
test_ladder (void)
{
  VsLadder l = { 1280, 720, 30, 0.06, 1.0, FALSE };
  gdouble scale;
  guint fps;

  /* 2.5 Mbit/s at 720p30: 0.09 bpp, full size. */
  vs_adapt_ladder (&l, 2500, &scale, &fps);
  g_assert_cmpfloat (scale, ==, 1.0);
  g_assert_cmpuint (fps, ==, 30);
  /* 800 kbit/s: 24 fps, 3/4 would be 0.0646 bpp. */
  vs_adapt_ladder (&l, 800, &scale, &fps);
  g_assert_cmpuint (fps, ==, 24);
  g_assert_cmpfloat (scale, ==, 0.75);
  /* 300 kbit/s: 15 fps, half size. */
  vs_adapt_ladder (&l, 300, &scale, &fps);
  g_assert_cmpuint (fps, ==, 15);
  g_assert_cmpfloat (scale, ==, 0.5);
  /* 100 kbit/s: 10 fps, the smallest. */
  vs_adapt_ladder (&l, 100, &scale, &fps);
  g_assert_cmpuint (fps, ==, 10);
  g_assert_cmpfloat (scale, ==, 0.375);
  vs_adapt_ladder (&l, 20, &scale, &fps);
  g_assert_cmpfloat (scale, ==, 0.25);
  /* The lower encode never exceeds half size; VP8 wants more bits. */
  l.max_scale = 0.5;
  vs_adapt_ladder (&l, 5000, &scale, &fps);
  g_assert_cmpfloat (scale, ==, 0.5);
  l.max_scale = 1.0;
  l.bits_per_pixel = 0.08;
  vs_adapt_ladder (&l, 2000, &scale, &fps);
  g_assert_cmpfloat (scale, ==, 0.75);
  /* A frame rate cap below the ladder's wins. */
  l.max_fps = 5;
  vs_adapt_ladder (&l, 100, &scale, &fps);
  g_assert_cmpuint (fps, ==, 5);
}

/* A still picture (a pointer over a plot) keeps its size, at fewer
 * frames under 1.5 Mbit/s: the bench's best for that content per link. */
static void
test_ladder_still (void)
{
  VsLadder l = { 1280, 720, 30, 0.06, 1.0, TRUE };
  gdouble scale;
  guint fps;

  vs_adapt_ladder (&l, 850, &scale, &fps);
  g_assert_cmpfloat (scale, ==, 1.0);
  g_assert_cmpuint (fps, ==, 15);
  vs_adapt_ladder (&l, 255, &scale, &fps);
  g_assert_cmpfloat (scale, ==, 0.75);
  g_assert_cmpuint (fps, ==, 10);
  /* from 1.5 Mbit/s on, the frame rate of a moving picture, at half
   * its bits per pixel (moving: 0.75 at 1.5 Mbit/s) */
  vs_adapt_ladder (&l, 1500, &scale, &fps);
  g_assert_cmpfloat (scale, ==, 1.0);
  g_assert_cmpuint (fps, ==, 30);
  /* moving: as before */
  l.still = FALSE;
  vs_adapt_ladder (&l, 850, &scale, &fps);
  g_assert_cmpfloat (scale, ==, 0.75);
  g_assert_cmpuint (fps, ==, 24);
  vs_adapt_ladder (&l, 1500, &scale, &fps);
  g_assert_cmpfloat (scale, ==, 0.75);
  g_assert_cmpuint (fps, ==, 30);
}

/* The share of a frame's sample grid that changed, smoothed by time;
 * still under VS_LADDER_STILL, moving again over twice that. */
static void
test_motion (void)
{
  const guint w = 64, h = 32, stride = 64 * 4;
  const gdouble dt = 1.0 / 30;
  guint8 *frame = g_malloc0 (stride * h);
  VsMotion m = { 0 };

  /* moving until shown still: the first frame says nothing */
  g_assert_cmpfloat (vs_motion_frame (&m, frame, w, h, stride, 4, dt), ==,
      1.0);
  g_assert_false (m.still);
  for (int i = 0; i < 300; i++)
    vs_motion_frame (&m, frame, w, h, stride, 4, dt);
  g_assert_cmpfloat (m.last, ==, 0);
  g_assert_cmpfloat (m.share, <, 0.001);
  g_assert_true (m.still);
  /* one sample of the 8x4 grid (x 0, y 0) changes every frame: 1/32; a
   * change within VS_MOTION_DELTA, or off the grid, is not one */
  for (int i = 0; i < 300; i++) {
    frame[0] = (i % 2) ? 200 : 0;
    frame[4] = (i % 2) ? 200 : 0;       /* pixel 1: off the grid */
    frame[8 * 4] = (i % 2) ? VS_MOTION_DELTA : 0;       /* pixel 8: small */
    vs_motion_frame (&m, frame, w, h, stride, 4, dt);
  }
  g_assert_cmpfloat (m.last, ==, 1.0 / 32);
  g_assert_cmpfloat (ABS (m.share - 1.0 / 32), <, 0.001);
  g_assert_false (m.still);
  /* a new size starts the grid over, the share stays */
  vs_motion_frame (&m, frame, w / 2, h, stride, 4, dt);
  g_assert_cmpfloat (ABS (m.share - 1.0 / 32), <, 0.001);
  /* by time, not frames: the same picture repeated every 0.5 s is still
   * within about 4 s, as at 30 frames a second */
  vs_motion_frame (&m, frame, w / 2, h, stride, 4, 0.5);
  for (int i = 0; i < 8; i++)
    vs_motion_frame (&m, frame, w / 2, h, stride, 4, 0.5);
  g_assert_true (m.still);
  /* hysteresis: 1.5x the threshold is not moving yet, 2.5x is */
  m.share = 1.5 * VS_LADDER_STILL;
  vs_motion_frame (&m, frame, w / 2, h, stride, 4, 0);
  g_assert_true (m.still);
  m.share = 2.5 * VS_LADDER_STILL;
  vs_motion_frame (&m, frame, w / 2, h, stride, 4, 0);
  g_assert_false (m.still);
  vs_motion_clear (&m);
  g_free (frame);

  /* an odd size in a buffer of exactly its rows (ASan sees any read past
   * it): 17x9, one byte a sample, the last row not padded */
  {
    guint8 *odd = g_malloc (20 * 8 + 17);
    memset (odd, 7, 20 * 8 + 17);
    vs_motion_frame (&m, odd, 17, 9, 20, 1, dt);
    odd[20 * 8 + 16] = 200;     /* x 16, y 8: on the grid, the last byte */
    vs_motion_frame (&m, odd, 17, 9, 20, 1, dt);
    g_assert_cmpfloat (m.last, ==, 1.0 / 6);    /* a 3x2 grid */
    vs_motion_clear (&m);
    g_free (odd);
  }
}

static void
test_scale_vote (void)
{
  VsScaleVote v = { 0 };
  gint64 t = 100 * G_TIME_SPAN_SECOND;

  /* Down: the second tick running, once 4 s passed since the last. */
  g_assert_false (vs_adapt_scale_vote (&v, 1.0, 0.5, t));
  g_assert_true (vs_adapt_scale_vote (&v, 1.0, 0.5, t + G_TIME_SPAN_SECOND));
  /* Up again at once: too soon even after 3 votes. */
  t += 2 * G_TIME_SPAN_SECOND;
  g_assert_false (vs_adapt_scale_vote (&v, 0.5, 1.0, t));
  g_assert_false (vs_adapt_scale_vote (&v, 0.5, 1.0, t));
  g_assert_false (vs_adapt_scale_vote (&v, 0.5, 1.0, t));
  t += 10 * G_TIME_SPAN_SECOND;
  g_assert_true (vs_adapt_scale_vote (&v, 0.5, 1.0, t));
  /* Wanting what it has resets the votes. */
  t += 10 * G_TIME_SPAN_SECOND;
  g_assert_false (vs_adapt_scale_vote (&v, 1.0, 0.5, t));
  g_assert_false (vs_adapt_scale_vote (&v, 1.0, 1.0, t));
  g_assert_false (vs_adapt_scale_vote (&v, 1.0, 0.5, t));
  g_assert_true (vs_adapt_scale_vote (&v, 1.0, 0.5, t));
}

static void
test_decide_leader_steers_main (void)
{
  VsLegAdapt leg = { 0 };
  VsAdaptInput in = {.steers = TRUE,.on_low = TRUE,.main_kbps = 1000 };
  VsAdaptDecision d;

  vs_adapt_decide (&leg, &in, &d);
  g_assert_true (d.to_main);
  g_assert_false (d.to_low);
  g_assert_cmpuint (d.steer_main_kbps, ==, 1000);
  g_assert_cmpuint (d.steer_low_kbps, ==, 0);
}

static void
test_decide_slow_follower_goes_low_and_back (void)
{
  VsLegAdapt leg = { 0 };
  VsAdaptInput in = {.main_kbps = 2500,.low_kbps = 600,.now_us = 0 };
  VsAdaptDecision d;

  leg.link.loss = 0.2;
  for (gint i = 0; i < 2; i++) {
    vs_adapt_decide (&leg, &in, &d);
    g_assert_false (d.to_low);
    g_assert_cmpuint (d.steer_main_kbps, ==, 0);        /* never steers */
  }
  vs_adapt_decide (&leg, &in, &d);
  g_assert_true (d.to_low);
  /* On the lower encode alone: it steers it; clean for 10 s but not 10 s
   * on it yet: stays. */
  in.on_low = TRUE;
  in.low_users = 1;
  leg.link.loss = 0;
  for (gint i = 1; i <= 10; i++) {
    in.now_us = i * G_TIME_SPAN_SECOND;
    vs_adapt_decide (&leg, &in, &d);
    g_assert_false (d.to_main);
    g_assert_cmpuint (d.steer_low_kbps, >, 0);
  }
  in.now_us = 11 * G_TIME_SPAN_SECOND;
  vs_adapt_decide (&leg, &in, &d);
  g_assert_true (d.to_main);
  g_assert_cmpuint (leg.low_backoff, ==, 1);
  /* Shared lower encode: not steered by one viewer. */
  in.low_users = 2;
  vs_adapt_decide (&leg, &in, &d);
  g_assert_cmpuint (d.steer_low_kbps, ==, 0);
}

static void
test_rate_cap (void)
{
  guint64 next = GST_CLOCK_TIME_NONE;
  guint passed = 0;

  /* 60 fps in, a cap of 30: every other frame. */
  for (guint i = 0; i < 60; i++)
    passed += vs_rate_cap_pass (&next, i * GST_SECOND / 60, 30);
  g_assert_cmpuint (passed, ==, 30);
  /* Just after a frame that passed: dropped. A jump forward, or back by
   * more than a second (a new renderer), starts over at once. */
  g_assert_false (vs_rate_cap_pass (&next, 59 * GST_SECOND / 60 + 1, 30));
  g_assert_true (vs_rate_cap_pass (&next, 10 * GST_SECOND, 30));
  g_assert_true (vs_rate_cap_pass (&next, 0, 30));
  /* No timestamp: passes. */
  g_assert_true (vs_rate_cap_pass (&next, GST_CLOCK_TIME_NONE, 30));

  /* 30 fps in at a cap of 30, every third frame 10 ms late (a renderer
   * that publishes late now and then): all pass. Measuring a period from
   * the late one dropped the next one, on time. */
  next = GST_CLOCK_TIME_NONE;
  passed = 0;
  for (guint i = 0; i < 90; i++)
    passed += vs_rate_cap_pass (&next, 20 * GST_SECOND + i * GST_SECOND / 30
        + (i % 3 == 1 ? 10 * GST_MSECOND : 0), 30);
  g_assert_cmpuint (passed, ==, 90);
  /* ... and a frame 30 ms late (most of a period): the next still passes. */
  g_assert_true (vs_rate_cap_pass (&next, 23 * GST_SECOND + 30 * GST_MSECOND,
          30));
  g_assert_true (vs_rate_cap_pass (&next, 23 * GST_SECOND + GST_SECOND / 30,
          30));
  /* 30 fps in at a cap of 20 (the ladder's): 2 of 3. */
  next = GST_CLOCK_TIME_NONE;
  passed = 0;
  for (guint i = 0; i < 90; i++)
    passed += vs_rate_cap_pass (&next, i * GST_SECOND / 30, 20);
  g_assert_cmpuint (passed, ==, 60);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/adapt/step/clean-climbs", test_step_clean_link_climbs);
  g_test_add_func ("/adapt/step/loss", test_step_loss_drops_to_what_arrived);
  g_test_add_func ("/adapt/step/delay", test_step_delay_trend_drops);
  g_test_add_func ("/adapt/step/some-loss-holds", test_step_some_loss_holds);
  g_test_add_func ("/adapt/step/learns-capacity", test_step_learns_capacity);
  g_test_add_func ("/adapt/step/one-decrease",
      test_step_one_decrease_per_congestion);
  g_test_add_func ("/adapt/step/not-past-what-is-sent",
      test_step_no_increase_past_what_is_sent);
  g_test_add_func ("/adapt/step/ceiling", test_step_ceiling);
  g_test_add_func ("/adapt/step/queue", test_step_queue);
  g_test_add_func ("/adapt/step/capacity-far-off",
      test_step_capacity_far_off);
  g_test_add_func ("/adapt/step/repair", test_step_repair);
  g_test_add_func ("/adapt/queue-delay", test_queue_delay);
  g_test_add_func ("/adapt/ladder", test_ladder);
  g_test_add_func ("/adapt/scale-vote", test_scale_vote);
  g_test_add_func ("/adapt/decide/leader", test_decide_leader_steers_main);
  g_test_add_func ("/adapt/decide/low-and-back",
      test_decide_slow_follower_goes_low_and_back);
  g_test_add_func ("/adapt/rate-cap", test_rate_cap);
  g_test_add_func ("/adapt/ladder-still", test_ladder_still);
  g_test_add_func ("/adapt/motion", test_motion);
  return g_test_run ();
}
