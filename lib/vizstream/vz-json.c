/* gst-vizstream: events as JSON, in the canonical form of docs/events.md
 * (the one GStreamer's webrtcsink uses on its "input" data channel).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include "vz-private.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct
{
  char *buf;
  size_t size, len;
  bool overflow;
} Out;

static void
out_printf (Out * o, const char *fmt, ...) VZ_PRINTF (2, 3);

static void
out_printf (Out * o, const char *fmt, ...)
{
  va_list ap;
  int n;

  if (o->overflow)
    return;
  va_start (ap, fmt);
  n = vsnprintf (o->buf + o->len, o->size - o->len, fmt, ap);
  va_end (ap);
  if (n < 0 || (size_t) n >= o->size - o->len)
    o->overflow = true;
  else
    o->len += (size_t) n;
}

static void
out_string (Out * o, const char *s)
{
  out_printf (o, "\"");
  for (; *s; s++) {
    unsigned char c = (unsigned char) *s;
    if (c == '"' || c == '\\')
      out_printf (o, "\\%c", c);
    else if (c < 0x20)
      out_printf (o, "\\u%04x", c);
    else
      out_printf (o, "%c", c);
  }
  out_printf (o, "\"");
}

static void
out_number (Out * o, const char *key, double v)
{
  /* Integers as integers ("x":12), others with enough digits. */
  if (v == (double) (long long) v && v > -1e15 && v < 1e15)
    out_printf (o, ",\"%s\":%lld", key, (long long) v);
  else
    out_printf (o, ",\"%s\":%.17g", key, v);
}

static const char *const event_names[] = {
  NULL, "MouseMove", "MouseButtonPress", "MouseButtonRelease",
  "MouseScroll", "KeyPress", "KeyRelease", "TouchDown", "TouchMotion",
  "TouchUp", "ResizeRequest", "Custom",
};

static const struct
{
  uint32_t bit;
  const char *name;
} modifier_names[] = {
  {VZ_MOD_SHIFT, "shift-mask"}, {VZ_MOD_CONTROL, "control-mask"},
  {VZ_MOD_ALT, "mod1-mask"}, {VZ_MOD_META, "meta-mask"},
  {VZ_MOD_BUTTON1, "button1-mask"}, {VZ_MOD_BUTTON2, "button2-mask"},
  {VZ_MOD_BUTTON3, "button3-mask"}, {VZ_MOD_BUTTON4, "button4-mask"},
  {VZ_MOD_BUTTON5, "button5-mask"},
};

int
vz_event_to_json (const VzEvent * e, char *buf, size_t size)
{
  Out o = { buf, size, 0, false };
  bool first = true;

  if (e == NULL || buf == NULL || size == 0)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT, "NULL argument");
  if ((unsigned) e->type < 1 || (unsigned) e->type > VZ_EVENT_LAST)
    return vz_fail (VZ_ERR_INVALID_ARGUMENT, "unknown event type %d",
        (int) e->type);
  buf[0] = '\0';
  out_printf (&o, "{\"event\":\"%s\"", event_names[e->type]);
  switch (e->type) {
    case VZ_EVENT_POINTER_MOVE:
      out_number (&o, "x", e->x);
      out_number (&o, "y", e->y);
      break;
    case VZ_EVENT_BUTTON_PRESS:
    case VZ_EVENT_BUTTON_RELEASE:
      out_printf (&o, ",\"button\":%u", e->button);
      out_number (&o, "x", e->x);
      out_number (&o, "y", e->y);
      break;
    case VZ_EVENT_WHEEL:
      out_number (&o, "x", e->x);
      out_number (&o, "y", e->y);
      out_number (&o, "delta_x", e->delta_x);
      out_number (&o, "delta_y", e->delta_y);
      break;
    case VZ_EVENT_KEY_PRESS:
    case VZ_EVENT_KEY_RELEASE:
      out_printf (&o, ",\"key\":");
      out_string (&o, e->text);
      break;
    case VZ_EVENT_TOUCH_DOWN:
    case VZ_EVENT_TOUCH_MOTION:
    case VZ_EVENT_TOUCH_UP:
      out_printf (&o, ",\"identifier\":%u", e->touch_id);
      out_number (&o, "x", e->x);
      out_number (&o, "y", e->y);
      if (e->type != VZ_EVENT_TOUCH_UP)
        out_number (&o, "pressure", e->pressure);
      break;
    case VZ_EVENT_RESIZE_REQUEST:
      out_printf (&o, ",\"width\":%u,\"height\":%u", e->width, e->height);
      break;
    case VZ_EVENT_CUSTOM:
      out_printf (&o, ",\"text\":");
      out_string (&o, e->text);
      break;
  }
  out_printf (&o, ",\"modifier_state\":\"");
  for (size_t i = 0; i < sizeof modifier_names / sizeof *modifier_names; i++)
    if (e->modifiers & modifier_names[i].bit) {
      out_printf (&o, "%s%s", first ? "" : "+", modifier_names[i].name);
      first = false;
    }
  out_printf (&o, "\"");
  if (e->viewer_id)
    out_printf (&o, ",\"viewer_id\":%u", e->viewer_id);
  out_printf (&o, "}");
  if (o.overflow)
    return vz_fail (VZ_ERR_TOO_LARGE, "JSON does not fit in %zu bytes", size);
  return (int) o.len;
}
