/* vizstream-demo: a force-directed network layout rendered on the CPU, the
 * caption of its controls, and the frame-number and events tags that tests
 * read (also drawn by examples/gl and checked by the glreadbacksrc suite).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <vizstream.h>

/* ---- the scene ---- */

typedef struct Scene Scene;

typedef struct
{
  float yaw, pitch;             /* radians */
  float zoom;                   /* 1 = fit */
  float pan_x, pan_y;           /* in units of the frame's height */
  bool paused;                  /* layout and spin stop */
  bool auto_spin;
} SceneView;

Scene *scene_new (unsigned nodes, uint32_t seed);
void scene_free (Scene * scene);

/* One layout step and one step of the spin (unless paused). */
void scene_step (Scene * scene, SceneView * view);

/* Draw into a 4-byte-per-pixel frame (RGBA, BGRA, RGBx, BGRx, ARGB, ABGR,
 * xRGB, xBGR) or a 3-byte one (RGB, BGR). */
void scene_render (const Scene * scene, const SceneView * view,
    uint8_t * data, uint32_t width, uint32_t height, uint32_t stride,
    VzFormat format);

void scene_view_reset (SceneView * view);

/* ---- the caption ---- */

/* A one-line caption at the bottom of the frame, on a darkened band, in a
 * small built-in bitmap font (lower case, digits, ":+-/,.'()"). Items are
 * "key: action" separated by two spaces; each key stands out. Draws
 * nothing and returns false when the line does not fit the frame. */
bool caption_draw (uint8_t * data, uint32_t width, uint32_t height,
    uint32_t stride, VzFormat format, const char *text);

/* ---- the tags (vizstream-demo --tags) ---- */

/* The frame-number tag at the frame's top-left corner, what tests and
 * benches read: 32 square cells in a row (24 bits of frame number, LSB
 * first, then an 8-bit check), each white for 1 and black for 0, on a grey
 * band one cell tall; then the number in digits below. Cell size: see
 * tag_cell_size. */
#define TAG_BITS 32u
unsigned tag_cell_size (uint32_t width, uint32_t height);
uint8_t tag_check (uint32_t number);
/* A second row of cells, cell rows 5 to 7 (band) with the bits in row 6:
 * the number of events the demo has applied, the same 24+8 bit word. A
 * page sees its event take effect when this number changes. */
void tag_draw_events (uint8_t * data, uint32_t width, uint32_t height,
    uint32_t stride, VzFormat format, uint64_t events);
void tag_draw (uint8_t * data, uint32_t width, uint32_t height,
    uint32_t stride, VzFormat format, uint64_t frame_number);
