/* vizstream-demo: a force-directed network layout, rendered on the CPU.
 *
 * A clustered random graph is laid out in 3D by springs (edges) and a
 * short-range repulsion found through a uniform grid (so a step is O(n),
 * not O(n^2)), then drawn with a perspective camera that spins slowly. The
 * whole frame costs a few milliseconds at 1280x720 on one core.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "scene.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLUSTERS 8u
#define GRID 16u                /* cells per axis */
#define WORLD 2.0f              /* layout lives in [-WORLD, WORLD]^3 */

/* ---- the layout ---- */

typedef struct
{
  float x, y, z;
} Vec3;

struct Scene
{
  unsigned n, n_edges;
  Vec3 *pos, *vel;
  uint8_t *cluster;
  uint32_t (*edges)[2];
  /* grid for the repulsion */
  int *cell_head, *next;
  /* per-frame projection scratch */
  float *sx, *sy, *sdepth;
  Vec3 anchor[CLUSTERS];        /* where each cluster gathers */
  float temperature;
};

static uint32_t
rng_next (uint32_t * s)
{
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *s = x;
}

static float
rng_unit (uint32_t * s)
{
  return (rng_next (s) >> 8) * (1.0f / 16777216.0f);
}

Scene *
scene_new (unsigned nodes, uint32_t seed)
{
  Scene *s = calloc (1, sizeof *s);
  uint32_t r = seed ? seed : 0x9e3779b9u;
  unsigned max_edges;

  if (s == NULL)
    return NULL;
  if (nodes < 2)
    nodes = 2;
  s->n = nodes;
  max_edges = nodes * 3;
  s->pos = calloc (nodes, sizeof (Vec3));
  s->vel = calloc (nodes, sizeof (Vec3));
  s->cluster = calloc (nodes, 1);
  s->edges = calloc (max_edges, sizeof *s->edges);
  s->cell_head = malloc (sizeof (int) * GRID * GRID * GRID);
  s->next = malloc (sizeof (int) * nodes);
  s->sx = malloc (sizeof (float) * nodes);
  s->sy = malloc (sizeof (float) * nodes);
  s->sdepth = malloc (sizeof (float) * nodes);
  if (!s->pos || !s->vel || !s->cluster || !s->edges || !s->cell_head
      || !s->next || !s->sx || !s->sy || !s->sdepth) {
    scene_free (s);
    return NULL;
  }

  for (unsigned i = 0; i < nodes; i++) {
    s->cluster[i] = (uint8_t) (i % CLUSTERS);
    s->pos[i].x = (rng_unit (&r) - 0.5f) * 2.0f;
    s->pos[i].y = (rng_unit (&r) - 0.5f) * 2.0f;
    s->pos[i].z = (rng_unit (&r) - 0.5f) * 2.0f;
  }
  /* Two links inside the cluster per node, and now and then a bridge. */
  for (unsigned i = 0; i < nodes && s->n_edges + 3 <= max_edges; i++) {
    for (int k = 0; k < 2; k++) {
      unsigned j = (rng_next (&r) % (nodes / CLUSTERS + 1)) * CLUSTERS
          + s->cluster[i];
      if (j < nodes && j != i) {
        s->edges[s->n_edges][0] = i;
        s->edges[s->n_edges][1] = j;
        s->n_edges++;
      }
    }
    if (rng_unit (&r) < 0.04f) {
      unsigned j = rng_next (&r) % nodes;
      if (j != i) {
        s->edges[s->n_edges][0] = i;
        s->edges[s->n_edges][1] = j;
        s->n_edges++;
      }
    }
  }
  /* Cluster anchors spread over a sphere (a golden-angle spiral). */
  for (unsigned c = 0; c < CLUSTERS; c++) {
    float y = 1.0f - 2.0f * (c + 0.5f) / CLUSTERS;
    float rad = sqrtf (1.0f - y * y), phi = 2.39996f * c;
    s->anchor[c].x = 1.1f * rad * cosf (phi);
    s->anchor[c].y = 1.1f * y;
    s->anchor[c].z = 1.1f * rad * sinf (phi);
  }
  s->temperature = 1.0f;
  return s;
}

void
scene_free (Scene * s)
{
  if (s == NULL)
    return;
  free (s->pos);
  free (s->vel);
  free (s->cluster);
  free (s->edges);
  free (s->cell_head);
  free (s->next);
  free (s->sx);
  free (s->sy);
  free (s->sdepth);
  free (s);
}

void
scene_view_reset (SceneView * v)
{
  v->yaw = 0.6f;
  v->pitch = 0.35f;
  v->zoom = 1.0f;
  v->pan_x = v->pan_y = 0.0f;
  v->paused = false;
  v->auto_spin = true;
}

static int
cell_of (float c)
{
  int i = (int) ((c + WORLD) * (GRID / (2.0f * WORLD)));
  return i < 0 ? 0 : i >= (int) GRID ? (int) GRID - 1 : i;
}

static void
layout_step (Scene * s)
{
  const float cutoff = 2.0f * WORLD / GRID;
  const float repulse = 0.0009f, spring = 0.02f, rest = 0.12f;
  const float gravity = 0.006f, damping = 0.82f;
  unsigned n = s->n;

  for (unsigned c = 0; c < GRID * GRID * GRID; c++)
    s->cell_head[c] = -1;
  for (unsigned i = 0; i < n; i++) {
    int c = (cell_of (s->pos[i].x) * GRID + cell_of (s->pos[i].y)) * GRID
        + cell_of (s->pos[i].z);
    s->next[i] = s->cell_head[c];
    s->cell_head[c] = (int) i;
  }

  /* Repulsion from the nodes of the 27 neighbouring cells. */
  for (unsigned i = 0; i < n; i++) {
    Vec3 p = s->pos[i], f = { 0, 0, 0 };
    int cx = cell_of (p.x), cy = cell_of (p.y), cz = cell_of (p.z);
    for (int dx = -1; dx <= 1; dx++)
      for (int dy = -1; dy <= 1; dy++)
        for (int dz = -1; dz <= 1; dz++) {
          int x = cx + dx, y = cy + dy, z = cz + dz;
          if (x < 0 || y < 0 || z < 0 || x >= (int) GRID || y >= (int) GRID
              || z >= (int) GRID)
            continue;
          for (int j = s->cell_head[(x * GRID + y) * GRID + z]; j >= 0;
              j = s->next[j]) {
            float ddx, ddy, ddz, d2;
            if ((unsigned) j == i)
              continue;
            ddx = p.x - s->pos[j].x;
            ddy = p.y - s->pos[j].y;
            ddz = p.z - s->pos[j].z;
            d2 = ddx * ddx + ddy * ddy + ddz * ddz + 1e-4f;
            if (d2 > cutoff * cutoff)
              continue;
            f.x += repulse * ddx / d2;
            f.y += repulse * ddy / d2;
            f.z += repulse * ddz / d2;
          }
        }
    {
      const Vec3 *a = &s->anchor[s->cluster[i]];
      s->vel[i].x += f.x + gravity * (a->x - p.x);
      s->vel[i].y += f.y + gravity * (a->y - p.y);
      s->vel[i].z += f.z + gravity * (a->z - p.z);
    }
  }
  /* Springs. */
  for (unsigned e = 0; e < s->n_edges; e++) {
    unsigned a = s->edges[e][0], b = s->edges[e][1];
    float dx = s->pos[b].x - s->pos[a].x, dy = s->pos[b].y - s->pos[a].y;
    float dz = s->pos[b].z - s->pos[a].z;
    float d = sqrtf (dx * dx + dy * dy + dz * dz) + 1e-5f;
    float k = spring * (d - rest) / d;
    s->vel[a].x += k * dx;
    s->vel[a].y += k * dy;
    s->vel[a].z += k * dz;
    s->vel[b].x -= k * dx;
    s->vel[b].y -= k * dy;
    s->vel[b].z -= k * dz;
  }
  for (unsigned i = 0; i < n; i++) {
    float t = s->temperature;
    s->vel[i].x *= damping;
    s->vel[i].y *= damping;
    s->vel[i].z *= damping;
    s->pos[i].x += s->vel[i].x * t;
    s->pos[i].y += s->vel[i].y * t;
    s->pos[i].z += s->vel[i].z * t;
  }
  /* Cool down to a slow breathing rather than a dead stop. */
  if (s->temperature > 0.15f)
    s->temperature *= 0.995f;
}

void
scene_step (Scene * s, SceneView * v)
{
  if (v->paused)
    return;
  layout_step (s);
  if (v->auto_spin)
    v->yaw += 0.01f;
}

/* ---- drawing ---- */

typedef struct
{
  unsigned bpp;
  uint8_t r, g, b, a;           /* byte offsets; a = 0xff if none */
} Packing;

static Packing
packing_for (VzFormat f)
{
  switch (f) {
    case VZ_FORMAT_RGBA:
    case VZ_FORMAT_RGBX:
      return (Packing) {
      4, 0, 1, 2, 3};
    case VZ_FORMAT_BGRA:
    case VZ_FORMAT_BGRX:
      return (Packing) {
      4, 2, 1, 0, 3};
    case VZ_FORMAT_ARGB:
    case VZ_FORMAT_XRGB:
      return (Packing) {
      4, 1, 2, 3, 0};
    case VZ_FORMAT_ABGR:
    case VZ_FORMAT_XBGR:
      return (Packing) {
      4, 3, 2, 1, 0};
    case VZ_FORMAT_RGB:
      return (Packing) {
      3, 0, 1, 2, 0xff};
    case VZ_FORMAT_BGR:
      return (Packing) {
      3, 2, 1, 0, 0xff};
    default:
      return (Packing) {
      0, 0, 0, 0, 0xff};
  }
}

typedef struct
{
  uint8_t *data;
  uint32_t w, h, stride;
  Packing pk;
} Canvas;

static inline void
put (const Canvas * c, int x, int y, const uint8_t rgb[3])
{
  uint8_t *p;
  if ((unsigned) x >= c->w || (unsigned) y >= c->h)
    return;
  p = c->data + (size_t) y * c->stride + (size_t) x * c->pk.bpp;
  p[c->pk.r] = rgb[0];
  p[c->pk.g] = rgb[1];
  p[c->pk.b] = rgb[2];
  if (c->pk.a != 0xff)
    p[c->pk.a] = 0xff;
}

static void
fill_rect (const Canvas * c, int x0, int y0, int w, int h,
    const uint8_t rgb[3])
{
  for (int y = y0; y < y0 + h; y++)
    for (int x = x0; x < x0 + w; x++)
      put (c, x, y, rgb);
}

static void
fill_background (const Canvas * c)
{
  size_t bpp = c->pk.bpp;

  /* A vertical gradient: one pixel per row, spread by doubling memcpy. */
  for (uint32_t y = 0; y < c->h; y++) {
    uint8_t *row = c->data + (size_t) y * c->stride;
    float t = (float) y / (float) (c->h > 1 ? c->h - 1 : 1);
    uint8_t rgb[3] = { (uint8_t) (12 + 10 * t), (uint8_t) (16 + 14 * t),
      (uint8_t) (34 + 30 * t)
    };
    size_t done = 1;

    put (c, 0, (int) y, rgb);
    while (done < c->w) {
      size_t n = done < c->w - done ? done : c->w - done;
      memcpy (row + done * bpp, row, n * bpp);
      done += n;
    }
  }
}

static void
draw_line (const Canvas * c, int x0, int y0, int x1, int y1,
    const uint8_t rgb[3])
{
  int dx = abs (x1 - x0), sx = x0 < x1 ? 1 : -1;
  int dy = -abs (y1 - y0), sy = y0 < y1 ? 1 : -1;
  int err = dx + dy, steps = 0;

  /* Lines far off-screen are clipped by put(); bound the walk anyway. */
  if (dx > 4 * (int) c->w || -dy > 4 * (int) c->h)
    return;
  for (;;) {
    put (c, x0, y0, rgb);
    if ((x0 == x1 && y0 == y1) || ++steps > 100000)
      break;
    int e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x0 += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y0 += sy;
    }
  }
}

static void
draw_disc (const Canvas * c, int cx, int cy, int r, const uint8_t rgb[3])
{
  for (int y = -r; y <= r; y++)
    for (int x = -r; x <= r; x++)
      if (x * x + y * y <= r * r + r)
        put (c, cx + x, cy + y, rgb);
}

static const uint8_t palette[CLUSTERS][3] = {
  {255, 99, 71}, {255, 193, 37}, {124, 252, 0}, {0, 206, 209},
  {30, 144, 255}, {186, 85, 211}, {255, 105, 180}, {240, 240, 240},
};

void
scene_render (const Scene * s, const SceneView * v, uint8_t * data,
    uint32_t width, uint32_t height, uint32_t stride, VzFormat format)
{
  Canvas c = { data, width, height, stride, packing_for (format) };
  float cy_ = cosf (v->yaw), sy_ = sinf (v->yaw);
  float cp = cosf (v->pitch), sp = sinf (v->pitch);
  float scale = 0.34f * (float) height * v->zoom;
  float ox = width * 0.5f + v->pan_x * height;
  float oy = height * 0.5f + v->pan_y * height;
  Scene *m = (Scene *) s;       /* projection scratch only */

  if (c.pk.bpp == 0)
    return;
  fill_background (&c);

  for (unsigned i = 0; i < s->n; i++) {
    Vec3 p = s->pos[i];
    float x = cy_ * p.x + sy_ * p.z;
    float z = -sy_ * p.x + cy_ * p.z;
    float y = cp * p.y - sp * z;
    float depth = sp * p.y + cp * z + 4.0f;
    float persp = 3.0f / (depth > 0.5f ? depth : 0.5f);
    m->sx[i] = ox + x * scale * persp;
    m->sy[i] = oy - y * scale * persp;
    m->sdepth[i] = persp;
  }
  for (unsigned e = 0; e < s->n_edges; e++) {
    unsigned a = s->edges[e][0], b = s->edges[e][1];
    const uint8_t *pc = palette[s->cluster[a]];
    uint8_t dim[3] = { pc[0] / 2, pc[1] / 2, pc[2] / 2 };
    draw_line (&c, (int) m->sx[a], (int) m->sy[a], (int) m->sx[b],
        (int) m->sy[b], dim);
  }
  for (unsigned i = 0; i < s->n; i++) {
    int r = (int) (1.0f + 1.6f * m->sdepth[i] * v->zoom *
        (float) height / 720.0f);
    draw_disc (&c, (int) m->sx[i], (int) m->sy[i], r > 6 ? 6 : r,
        palette[s->cluster[i]]);
  }
}

/* ---- text ---- */

/* A small bitmap font: FONT_W x FONT_H cells, rows top to bottom, '#' set.
 * Lower case, digits and the punctuation the caption and the frame counter
 * use; rows 0-1 hold ascenders, 2-6 the x-height (6 the baseline), 7-8
 * descenders. Anything else draws as a space. */
#define FONT_W 5
#define FONT_H 9
#define FONT_ADVANCE (FONT_W + 1)

static const struct
{
  char ch;
  char rows[FONT_H * (FONT_W + 1)];
} font[] = {
  /* *INDENT-OFF* */
  {'a', ".....|.....|.###.|....#|.####|#...#|.####|.....|....."},
  {'b', "#....|#....|####.|#...#|#...#|#...#|####.|.....|....."},
  {'c', ".....|.....|.####|#....|#....|#....|.####|.....|....."},
  {'d', "....#|....#|.####|#...#|#...#|#...#|.####|.....|....."},
  {'e', ".....|.....|.###.|#...#|#####|#....|.###.|.....|....."},
  {'f', "..##.|.#...|####.|.#...|.#...|.#...|.#...|.....|....."},
  {'g', ".....|.....|.####|#...#|#...#|#...#|.####|....#|.###."},
  {'h', "#....|#....|####.|#...#|#...#|#...#|#...#|.....|....."},
  {'i', "..#..|.....|.##..|..#..|..#..|..#..|.###.|.....|....."},
  {'j', "...#.|.....|..##.|...#.|...#.|...#.|...#.|#..#.|.##.."},
  {'k', "#....|#....|#..#.|#.#..|##...|#.#..|#..#.|.....|....."},
  {'l', ".##..|..#..|..#..|..#..|..#..|..#..|.###.|.....|....."},
  {'m', ".....|.....|##.#.|#.#.#|#.#.#|#.#.#|#.#.#|.....|....."},
  {'n', ".....|.....|####.|#...#|#...#|#...#|#...#|.....|....."},
  {'o', ".....|.....|.###.|#...#|#...#|#...#|.###.|.....|....."},
  {'p', ".....|.....|####.|#...#|#...#|#...#|####.|#....|#...."},
  {'q', ".....|.....|.####|#...#|#...#|#...#|.####|....#|....#"},
  {'r', ".....|.....|#.##.|##..#|#....|#....|#....|.....|....."},
  {'s', ".....|.....|.####|#....|.###.|....#|####.|.....|....."},
  {'t', ".#...|.#...|####.|.#...|.#...|.#..#|..##.|.....|....."},
  {'u', ".....|.....|#...#|#...#|#...#|#...#|.####|.....|....."},
  {'v', ".....|.....|#...#|#...#|#...#|.#.#.|..#..|.....|....."},
  {'w', ".....|.....|#...#|#...#|#.#.#|#.#.#|.#.#.|.....|....."},
  {'x', ".....|.....|#...#|.#.#.|..#..|.#.#.|#...#|.....|....."},
  {'y', ".....|.....|#...#|#...#|#...#|#...#|.####|....#|.###."},
  {'z', ".....|.....|#####|...#.|..#..|.#...|#####|.....|....."},
  {'0', ".###.|#...#|#..##|#.#.#|##..#|#...#|.###.|.....|....."},
  {'1', "..#..|.##..|..#..|..#..|..#..|..#..|.###.|.....|....."},
  {'2', ".###.|#...#|....#|...#.|..#..|.#...|#####|.....|....."},
  {'3', "####.|....#|....#|.###.|....#|....#|####.|.....|....."},
  {'4', "...#.|..##.|.#.#.|#..#.|#####|...#.|...#.|.....|....."},
  {'5', "#####|#....|####.|....#|....#|#...#|.###.|.....|....."},
  {'6', "..##.|.#...|#....|####.|#...#|#...#|.###.|.....|....."},
  {'7', "#####|....#|...#.|..#..|.#...|.#...|.#...|.....|....."},
  {'8', ".###.|#...#|#...#|.###.|#...#|#...#|.###.|.....|....."},
  {'9', ".###.|#...#|#...#|.####|....#|...#.|.##..|.....|....."},
  {':', ".....|.....|.....|..#..|.....|.....|..#..|.....|....."},
  {'+', ".....|.....|..#..|..#..|#####|..#..|..#..|.....|....."},
  {'-', ".....|.....|.....|.....|.###.|.....|.....|.....|....."},
  {'/', "....#|....#|...#.|..#..|.#...|#....|#....|.....|....."},
  {',', ".....|.....|.....|.....|.....|.....|..#..|.#...|....."},
  {'.', ".....|.....|.....|.....|.....|.....|..#..|.....|....."},
  {'\'', "..#..|..#..|.....|.....|.....|.....|.....|.....|....."},
  {'(', "...#.|..#..|.#...|.#...|.#...|..#..|...#.|.....|....."},
  {')', ".#...|..#..|...#.|...#.|...#.|..#..|.#...|.....|....."},
  /* *INDENT-ON* */
};

/* One glyph with its top-left corner at (x, y), each font pixel px wide. */
static void
glyph_draw (const Canvas * c, int x, int y, int px, char ch,
    const uint8_t rgb[3])
{
  for (size_t i = 0; i < sizeof font / sizeof font[0]; i++) {
    if (font[i].ch != ch)
      continue;
    for (int row = 0; row < FONT_H; row++)
      for (int col = 0; col < FONT_W; col++)
        if (font[i].rows[row * (FONT_W + 1) + col] == '#')
          fill_rect (c, x + col * px, y + row * px, px, px, rgb);
    return;
  }
}

static void
text_draw (const Canvas * c, int x, int y, int px, const char *text,
    const uint8_t rgb[3])
{
  for (; *text; text++, x += FONT_ADVANCE * px)
    glyph_draw (c, x, y, px, *text, rgb);
}

/* Halve the brightness of a rectangle: a translucent band under text. */
static void
shade_rect (const Canvas * c, int x0, int y0, int w, int h)
{
  for (int y = y0 < 0 ? 0 : y0; y < y0 + h && y < (int) c->h; y++) {
    uint8_t *p = c->data + (size_t) y * c->stride;
    for (int x = x0 < 0 ? 0 : x0; x < x0 + w && x < (int) c->w; x++) {
      uint8_t *q = p + (size_t) x * c->pk.bpp;
      q[c->pk.r] >>= 1;
      q[c->pk.g] >>= 1;
      q[c->pk.b] >>= 1;
    }
  }
}

bool
caption_draw (uint8_t * data, uint32_t width, uint32_t height,
    uint32_t stride, VzFormat format, const char *text)
{
  static const uint8_t key_rgb[3] = { 255, 214, 102 };
  static const uint8_t rgb[3] = { 215, 220, 230 };
  Canvas c = { data, width, height, stride, packing_for (format) };
  int len = (int) strlen (text), px, text_w, band_h, x, y;
  bool key = true;

  if (c.pk.bpp == 0 || len == 0)
    return false;
  /* Font pixels as large as 1/360 of the height allows, smaller if the
   * line would not fit with a margin of two characters each side. */
  px = (int) height / 360 > 1 ? (int) height / 360 : 1;
  while (px > 1 && (len + 4) * FONT_ADVANCE * px > (int) width)
    px--;
  text_w = len * FONT_ADVANCE * px - px;
  if ((len + 4) * FONT_ADVANCE * px > (int) width
      || (FONT_H + 4) * px > (int) height / 4)
    return false;
  band_h = (FONT_H + 4) * px;
  shade_rect (&c, 0, (int) height - band_h, (int) width, band_h);
  x = ((int) width - text_w) / 2;
  y = (int) height - band_h + 2 * px;
  /* "key: action  key: action": each key (up to its colon) stands out. */
  for (int i = 0; i < len; i++, x += FONT_ADVANCE * px) {
    if (i >= 2 && text[i] != ' ' && text[i - 1] == ' ' && text[i - 2] == ' ')
      key = true;
    glyph_draw (&c, x, y, px, text[i], key ? key_rgb : rgb);
    if (text[i] == ':')
      key = false;
  }
  return true;
}

/* ---- the tags (vizstream-demo --tags) ---- */

unsigned
tag_cell_size (uint32_t width, uint32_t height)
{
  /* Big enough to survive a lossy codec, small enough to fit. */
  unsigned cell = width / (TAG_BITS + 8);
  if (cell > 16)
    cell = 16;
  if (cell > height / 4)
    cell = height / 4;
  return cell;
}

uint8_t
tag_check (uint32_t number)
{
  return (uint8_t) (((number & 0xff) + ((number >> 8) & 0xff)
          + ((number >> 16) & 0xff)) ^ 0xa5);
}

/* A grey band 3 cells tall from cell row `row`, with the 24-bit number
 * and its check as white/black cells in the band's middle row. */
static void
tag_word (Canvas * c, unsigned cell, unsigned row, uint32_t number)
{
  static const uint8_t white[3] = { 255, 255, 255 }, black[3] = { 0, 0, 0 };
  static const uint8_t grey[3] = { 128, 128, 128 };
  uint32_t n = number & 0xffffff;
  uint32_t word = n | ((uint32_t) tag_check (n) << 24);

  fill_rect (c, 0, (int) (cell * row), (int) (cell * (TAG_BITS + 2)),
      (int) cell * 3, grey);
  for (unsigned b = 0; b < TAG_BITS; b++)
    fill_rect (c, (int) (cell * (b + 1)), (int) (cell * (row + 1)),
        (int) cell, (int) cell, (word >> b) & 1 ? white : black);
}

void
tag_draw (uint8_t * data, uint32_t width, uint32_t height, uint32_t stride,
    VzFormat format, uint64_t frame_number)
{
  Canvas c = { data, width, height, stride, packing_for (format) };
  unsigned cell = tag_cell_size (width, height);
  static const uint8_t white[3] = { 255, 255, 255 };
  char text[24];
  int px;

  if (cell == 0 || c.pk.bpp == 0)
    return;
  tag_word (&c, cell, 0, (uint32_t) frame_number);

  /* The number for people, in the two cell rows under the cells. */
  snprintf (text, sizeof text, "%llu", (unsigned long long) frame_number);
  px = (int) cell * 2 / FONT_H > 1 ? (int) cell * 2 / FONT_H : 1;
  text_draw (&c, (int) cell, (int) cell * 3 + ((int) cell * 2 - FONT_H * px)
      / 2, px, text, white);
}

void
tag_draw_events (uint8_t * data, uint32_t width, uint32_t height,
    uint32_t stride, VzFormat format, uint64_t events)
{
  Canvas c = { data, width, height, stride, packing_for (format) };
  unsigned cell = tag_cell_size (width, height);

  if (cell == 0 || c.pk.bpp == 0 || cell * 8 > height)
    return;
  tag_word (&c, cell, 5, (uint32_t) events);
}
