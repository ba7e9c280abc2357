/* gst-vizstream: events as JSON, in the canonical form of docs/events.md
 * (the one GStreamer's webrtcsink uses on its "input" data channel).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include "vz-private.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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
  /* Range first: converting a huge double to an integer is undefined
   * (found by fuzz-json; regression in tests/lib/test-json.c). */
  if (v > -1e15 && v < 1e15 && v == (double) (long long) v)
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

/* ------------------------------------------------------------------ */
/* Reading: a strict JSON parser, liberal about what surrounds events  */
/* ------------------------------------------------------------------ */

#define MAX_DEPTH 32

typedef struct
{
  const char *p, *end;
  char err[160];
} Parser;

static bool
fail_at (Parser * ps, const char *what)
{
  if (ps->err[0] == '\0')
    snprintf (ps->err, sizeof ps->err, "%s", what);
  return false;
}

static void
skip_ws (Parser * ps)
{
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'
          || *ps->p == '\n' || *ps->p == '\r'))
    ps->p++;
}

static int
hex4 (const char *s)
{
  int v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= c - '0';
    else if (c >= 'a' && c <= 'f')
      v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v |= c - 'A' + 10;
    else
      return -1;
  }
  return v;
}

/* A string into out (NUL-terminated, truncation reported through
 * *too_long); out may be NULL to skip it. */
static bool
parse_string (Parser * ps, char *out, size_t size, bool *too_long)
{
  size_t n = 0;

  if (ps->p >= ps->end || *ps->p != '"')
    return fail_at (ps, "expected a string");
  ps->p++;
  while (ps->p < ps->end && *ps->p != '"') {
    unsigned char c = (unsigned char) *ps->p++;
    char buf[4];
    size_t blen = 0;
    if (c < 0x20)
      return fail_at (ps, "control character in a string");
    if (c != '\\') {
      buf[blen++] = (char) c;
    } else {
      if (ps->p >= ps->end)
        return fail_at (ps, "unfinished escape");
      c = (unsigned char) *ps->p++;
      switch (c) {
        case '"':
        case '\\':
        case '/':
          buf[blen++] = (char) c;
          break;
        case 'b':
          buf[blen++] = '\b';
          break;
        case 'f':
          buf[blen++] = '\f';
          break;
        case 'n':
          buf[blen++] = '\n';
          break;
        case 'r':
          buf[blen++] = '\r';
          break;
        case 't':
          buf[blen++] = '\t';
          break;
        case 'u':{
          int cp;
          if (ps->end - ps->p < 4 || (cp = hex4 (ps->p)) < 0)
            return fail_at (ps, "bad \\u escape");
          ps->p += 4;
          if (cp >= 0xd800 && cp <= 0xdbff) {
            int lo;
            if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u'
                || (lo = hex4 (ps->p + 2)) < 0xdc00 || lo > 0xdfff)
              return fail_at (ps, "unpaired surrogate");
            ps->p += 6;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            return fail_at (ps, "unpaired surrogate");
          }
          if (cp == 0)
            return fail_at (ps, "NUL in a string");
          if (cp < 0x80) {
            buf[blen++] = (char) cp;
          } else if (cp < 0x800) {
            buf[blen++] = (char) (0xc0 | (cp >> 6));
            buf[blen++] = (char) (0x80 | (cp & 0x3f));
          } else if (cp < 0x10000) {
            buf[blen++] = (char) (0xe0 | (cp >> 12));
            buf[blen++] = (char) (0x80 | ((cp >> 6) & 0x3f));
            buf[blen++] = (char) (0x80 | (cp & 0x3f));
          } else {
            buf[blen++] = (char) (0xf0 | (cp >> 18));
            buf[blen++] = (char) (0x80 | ((cp >> 12) & 0x3f));
            buf[blen++] = (char) (0x80 | ((cp >> 6) & 0x3f));
            buf[blen++] = (char) (0x80 | (cp & 0x3f));
          }
          break;
        }
        default:
          return fail_at (ps, "unknown escape");
      }
    }
    if (out) {
      if (n + blen < size) {
        memcpy (out + n, buf, blen);
        n += blen;
      } else if (too_long) {
        *too_long = true;
      }
    }
  }
  if (ps->p >= ps->end)
    return fail_at (ps, "unterminated string");
  ps->p++;
  if (out)
    out[n] = '\0';
  return true;
}

static bool
parse_number (Parser * ps, double *out)
{
  const char *s = ps->p;
  char tmp[64];
  size_t len;
  char *endp;

  if (s < ps->end && *s == '-')
    s++;
  if (s >= ps->end || !(*s >= '0' && *s <= '9'))
    return fail_at (ps, "expected a value");
  if (*s == '0' && s + 1 < ps->end && s[1] >= '0' && s[1] <= '9')
    return fail_at (ps, "leading zero");
  while (s < ps->end && ((*s >= '0' && *s <= '9') || *s == '.' || *s == 'e'
          || *s == 'E' || *s == '+' || *s == '-'))
    s++;
  len = (size_t) (s - ps->p);
  if (len >= sizeof tmp)
    return fail_at (ps, "number too long");
  memcpy (tmp, ps->p, len);
  tmp[len] = '\0';
  errno = 0;
  *out = strtod (tmp, &endp);
  if (endp != tmp + len || !isfinite (*out))
    return fail_at (ps, "bad number");
  ps->p = s;
  return true;
}

static bool
match_word (Parser * ps, const char *w)
{
  size_t n = strlen (w);
  if ((size_t) (ps->end - ps->p) >= n && memcmp (ps->p, w, n) == 0) {
    ps->p += n;
    return true;
  }
  return false;
}

/* Any value, checked and thrown away (fields we do not know). */
static bool
skip_value (Parser * ps, int depth)
{
  double d;

  if (depth > MAX_DEPTH)
    return fail_at (ps, "nested too deep");
  skip_ws (ps);
  if (ps->p >= ps->end)
    return fail_at (ps, "expected a value");
  switch (*ps->p) {
    case '"':
      return parse_string (ps, NULL, 0, NULL);
    case '{':
    case '[':{
      char close = *ps->p == '{' ? '}' : ']';
      bool object = close == '}';
      ps->p++;
      skip_ws (ps);
      if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return true;
      }
      for (;;) {
        if (object) {
          skip_ws (ps);
          if (!parse_string (ps, NULL, 0, NULL))
            return false;
          skip_ws (ps);
          if (ps->p >= ps->end || *ps->p++ != ':')
            return fail_at (ps, "expected ':'");
        }
        if (!skip_value (ps, depth + 1))
          return false;
        skip_ws (ps);
        if (ps->p < ps->end && *ps->p == ',') {
          ps->p++;
          continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
          ps->p++;
          return true;
        }
        return fail_at (ps, object ? "expected ',' or '}'" :
            "expected ',' or ']'");
      }
    }
    default:
      if (match_word (ps, "true") || match_word (ps, "false")
          || match_word (ps, "null"))
        return true;
      return parse_number (ps, &d);
  }
}

/* Well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF)
 * and no NUL; the offset of the first bad byte otherwise. */
static bool
utf8_valid (const unsigned char *s, size_t len, size_t *bad)
{
  size_t i = 0;

  while (i < len) {
    unsigned char c = s[i];
    size_t n;
    uint32_t cp, min;
    if (c == 0)
      goto fail;
    if (c < 0x80) {
      i++;
      continue;
    }
    if ((c & 0xe0) == 0xc0)
      n = 1, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0)
      n = 2, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0)
      n = 3, cp = c & 0x07, min = 0x10000;
    else
      goto fail;
    if (len - i <= n)
      goto fail;
    for (size_t k = 1; k <= n; k++) {
      if ((s[i + k] & 0xc0) != 0x80)
        goto fail;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      goto fail;
    i += n + 1;
  }
  return true;
fail:
  *bad = i;
  return false;
}

bool
vz_json_check_object (const char *text, size_t len, char *why,
    size_t why_size, size_t *at)
{
  Parser ps = {.p = text,.end = text + len };
  size_t bad = 0;

  if (!utf8_valid ((const unsigned char *) text, len, &bad)) {
    snprintf (why, why_size, "not UTF-8 text (or a NUL byte)");
    *at = bad;
    return false;
  }
  skip_ws (&ps);
  if (ps.p >= ps.end || *ps.p != '{') {
    snprintf (why, why_size, "not a JSON object (it must start with '{')");
    *at = (size_t) (ps.p - text);
    return false;
  }
  if (!skip_value (&ps, 1)) {
    snprintf (why, why_size, "%s", ps.err);
    *at = (size_t) (ps.p - text);
    return false;
  }
  skip_ws (&ps);
  if (ps.p != ps.end) {
    snprintf (why, why_size, "text after the object");
    *at = (size_t) (ps.p - text);
    return false;
  }
  return true;
}

typedef struct
{
  char event[32];
  bool has_event, has_x, has_y, has_button, has_key, has_width, has_height,
      has_text, has_id, bad_type, too_long;
  double x, y, dx, dy, pressure, button, id, width, height, viewer, time;
  bool has_time;
  char key[VZ_EVENT_TEXT_SIZE];
  char text[VZ_EVENT_TEXT_SIZE];
  char modifiers[256];
  bool has_modifiers;
} Fields;

static bool
parse_field (Parser * ps, Fields * f, const char *name)
{
  struct
  {
    const char *name;
    double *num;
    bool *has;
  } nums[] = {
    {"x", &f->x, &f->has_x}, {"y", &f->y, &f->has_y},
    {"delta_x", &f->dx, NULL}, {"delta_y", &f->dy, NULL},
    {"pressure", &f->pressure, NULL}, {"button", &f->button, &f->has_button},
    {"identifier", &f->id, &f->has_id}, {"width", &f->width, &f->has_width},
    {"height", &f->height, &f->has_height}, {"viewer_id", &f->viewer, NULL},
    {"time", &f->time, &f->has_time},
  };
  char *str = NULL;
  size_t size = 0;
  bool *has = NULL;

  for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
    if (strcmp (name, nums[i].name) == 0) {
      if (ps->p < ps->end && *ps->p == '"') {
        f->bad_type = true;
        return skip_value (ps, 1);
      }
      if (ps->p < ps->end && (*ps->p == '-' || (*ps->p >= '0'
                  && *ps->p <= '9'))) {
        if (!parse_number (ps, nums[i].num))
          return false;
        if (nums[i].has)
          *nums[i].has = true;
        return true;
      }
      f->bad_type = true;
      return skip_value (ps, 1);
    }
  }
  if (strcmp (name, "event") == 0) {
    str = f->event;
    size = sizeof f->event;
    has = &f->has_event;
  } else if (strcmp (name, "key") == 0) {
    str = f->key;
    size = sizeof f->key;
    has = &f->has_key;
  } else if (strcmp (name, "text") == 0) {
    str = f->text;
    size = sizeof f->text;
    has = &f->has_text;
  } else if (strcmp (name, "modifier_state") == 0) {
    str = f->modifiers;
    size = sizeof f->modifiers;
    has = &f->has_modifiers;
  } else {
    return skip_value (ps, 1);  /* not ours: ignored */
  }
  if (ps->p >= ps->end || *ps->p != '"') {
    f->bad_type = true;
    return skip_value (ps, 1);
  }
  *has = true;
  return parse_string (ps, str, size, &f->too_long);
}

static bool
parse_modifiers (const char *s, uint32_t * out)
{
  *out = 0;
  while (*s) {
    const char *plus = strchr (s, '+');
    size_t len = plus ? (size_t) (plus - s) : strlen (s);
    for (size_t i = 0; i < sizeof modifier_names / sizeof *modifier_names;
        i++)
      if (strlen (modifier_names[i].name) == len
          && memcmp (modifier_names[i].name, s, len) == 0)
        *out |= modifier_names[i].bit;
    /* Other GStreamer masks (lock-mask, super-mask...) are ignored. */
    s += len;
    if (*s == '+')
      s++;
  }
  return true;
}

/* Fields of one object -> an event; a reason when it is not one. */
static const char *
fields_to_event (const Fields * f, VzEvent * e)
{
  int type = 0;

  memset (e, 0, sizeof *e);
  if (!f->has_event)
    return "no \"event\" field";
  for (int t = 1; t <= VZ_EVENT_LAST; t++)
    if (strcmp (f->event, event_names[t]) == 0)
      type = t;
  if (type == 0)
    return "unknown event name";
  if (f->bad_type)
    return "a field has the wrong type";
  if (f->too_long)
    return "a string is too long";
  e->type = (VzEventType) type;
  switch (e->type) {
    case VZ_EVENT_BUTTON_PRESS:
    case VZ_EVENT_BUTTON_RELEASE:
      if (!f->has_button || f->button < 1 || f->button > 32
          || f->button != floor (f->button))
        return "\"button\" must be an integer from 1";
      e->button = (uint32_t) f->button;
      /* fall through */
    case VZ_EVENT_POINTER_MOVE:
    case VZ_EVENT_WHEEL:
    case VZ_EVENT_TOUCH_DOWN:
    case VZ_EVENT_TOUCH_MOTION:
    case VZ_EVENT_TOUCH_UP:
      if (!f->has_x || !f->has_y)
        return "\"x\" and \"y\" are required";
      e->x = f->x;
      e->y = f->y;
      break;
    case VZ_EVENT_KEY_PRESS:
    case VZ_EVENT_KEY_RELEASE:
      if (!f->has_key || f->key[0] == '\0')
        return "\"key\" is required";
      memcpy (e->text, f->key, sizeof e->text);
      break;
    case VZ_EVENT_RESIZE_REQUEST:
      if (!f->has_width || !f->has_height || f->width < 1 || f->height < 1
          || f->width > VZ_MAX_DIMENSION_PX || f->height > VZ_MAX_DIMENSION_PX)
        return "\"width\" and \"height\" must be 1..16384";
      e->width = (uint32_t) f->width;
      e->height = (uint32_t) f->height;
      break;
    case VZ_EVENT_CUSTOM:
      if (!f->has_text)
        return "\"text\" is required";
      memcpy (e->text, f->text, sizeof e->text);
      break;
  }
  if (e->type == VZ_EVENT_WHEEL) {
    e->delta_x = f->dx;
    e->delta_y = f->dy;
  }
  if (e->type >= VZ_EVENT_TOUCH_DOWN && e->type <= VZ_EVENT_TOUCH_UP) {
    if (!f->has_id || f->id < 0 || f->id > 0xffffffffu)
      return "\"identifier\" is required";
    e->touch_id = (uint32_t) f->id;
    e->pressure = f->pressure < 0 ? 0 : f->pressure > 1 ? 1 : f->pressure;
  }
  if (f->viewer >= 0 && f->viewer <= 0xffffffffu)
    e->viewer_id = (uint32_t) f->viewer;
  if (f->has_modifiers)
    parse_modifiers (f->modifiers, &e->modifiers);
  /* A recording's "time" (seconds since it began) rides in timestamp_ns
   * for a replayer to pace by; producers stamp live events themselves. */
  if (f->has_time) {
    if (f->time < 0 || f->time > 1e9)
      return "\"time\" must be seconds from 0";
    e->timestamp_ns = (uint64_t) (f->time * 1e9);
  }
  return NULL;
}

static bool
parse_event_object (Parser * ps, Fields * f)
{
  memset (f, 0, sizeof *f);
  if (ps->p >= ps->end || *ps->p != '{')
    return fail_at (ps, "expected an object");
  ps->p++;
  skip_ws (ps);
  if (ps->p < ps->end && *ps->p == '}') {
    ps->p++;
    return true;
  }
  for (;;) {
    char name[32];
    bool long_name = false;
    skip_ws (ps);
    if (!parse_string (ps, name, sizeof name, &long_name))
      return false;
    if (long_name)
      name[0] = '\0';           /* no field of ours is that long */
    skip_ws (ps);
    if (ps->p >= ps->end || *ps->p++ != ':')
      return fail_at (ps, "expected ':'");
    skip_ws (ps);
    if (!parse_field (ps, f, name))
      return false;
    skip_ws (ps);
    if (ps->p < ps->end && *ps->p == ',') {
      ps->p++;
      continue;
    }
    if (ps->p < ps->end && *ps->p == '}') {
      ps->p++;
      return true;
    }
    return fail_at (ps, "expected ',' or '}'");
  }
}

/* One parsed object: an event in out, or counted as invalid or overflow. */
static void
store_event (const Fields * f, VzEvent * out, size_t max, VzJsonResult * res)
{
  const char *why;

  if (res->events >= max) {
    res->overflow++;
    return;
  }
  why = fields_to_event (f, &out[res->events]);
  if (why) {
    res->invalid++;
    snprintf (res->last_error, sizeof res->last_error, "%s", why);
  } else {
    res->events++;
  }
}

int
vz_events_from_json (const char *text, size_t len, VzEvent * out,
    size_t max, VzJsonResult * res)
{
  Parser ps = { text, text + len, "" };
  Fields f;

  vz_clear_error ();
  if (res == NULL || (text == NULL && len > 0) || (out == NULL && max > 0))
    return vz_fail (VZ_ERR_INVALID_ARGUMENT, "NULL argument");
  memset (res, 0, sizeof *res);

  /* Top-level values one after another: an object, an array of objects,
   * or newline-delimited objects. A broken value costs its line. */
  for (;;) {
    const char *start;
    bool ok = true;

    skip_ws (&ps);
    if (ps.p >= ps.end)
      break;
    start = ps.p;
    ps.err[0] = '\0';
    if (*ps.p == '[') {
      ps.p++;
      skip_ws (&ps);
      if (ps.p < ps.end && *ps.p == ']') {
        ps.p++;
        continue;
      }
      for (;;) {
        skip_ws (&ps);
        if (!(ok = parse_event_object (&ps, &f)))
          break;
        store_event (&f, out, max, res);
        skip_ws (&ps);
        if (ps.p < ps.end && *ps.p == ',') {
          ps.p++;
          continue;
        }
        if (ps.p < ps.end && *ps.p == ']') {
          ps.p++;
          break;
        }
        ok = fail_at (&ps, "expected ',' or ']'");
        break;
      }
    } else {
      ok = parse_event_object (&ps, &f);
      if (ok)
        store_event (&f, out, max, res);
    }
    if (!ok) {
      res->malformed++;
      snprintf (res->last_error, sizeof res->last_error,
          "malformed JSON at byte %zu: %s", (size_t) (ps.p - text), ps.err);
      /* Resume after the line the error is on (or its start's). */
      ps.p = memchr (ps.p > start ? ps.p : start, '\n',
          (size_t) (ps.end - (ps.p > start ? ps.p : start)));
      if (ps.p == NULL)
        break;
    }
  }
  return VZ_OK;
}
