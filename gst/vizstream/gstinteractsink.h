/* gst-vizstream: interactsink, JSON event messages into a renderer's event
 * queue.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/base/gstbasesink.h>

G_BEGIN_DECLS

#define GST_TYPE_INTERACT_SINK (gst_interact_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstInteractSink, gst_interact_sink, GST, INTERACT_SINK,
    GstBaseSink);

/**
 * GstInteractSinkEvents:
 * @GST_INTERACT_SINK_EVENT_MOUSE_MOVE: `MouseMove` (VZ_EVENT_POINTER_MOVE)
 * @GST_INTERACT_SINK_EVENT_MOUSE_BUTTON_PRESS: `MouseButtonPress`
 *   (VZ_EVENT_BUTTON_PRESS)
 * @GST_INTERACT_SINK_EVENT_MOUSE_BUTTON_RELEASE: `MouseButtonRelease`
 *   (VZ_EVENT_BUTTON_RELEASE)
 * @GST_INTERACT_SINK_EVENT_MOUSE_SCROLL: `MouseScroll` (VZ_EVENT_WHEEL)
 * @GST_INTERACT_SINK_EVENT_KEY_PRESS: `KeyPress` (VZ_EVENT_KEY_PRESS)
 * @GST_INTERACT_SINK_EVENT_KEY_RELEASE: `KeyRelease` (VZ_EVENT_KEY_RELEASE)
 * @GST_INTERACT_SINK_EVENT_TOUCH_DOWN: `TouchDown` (VZ_EVENT_TOUCH_DOWN)
 * @GST_INTERACT_SINK_EVENT_TOUCH_MOTION: `TouchMotion`
 *   (VZ_EVENT_TOUCH_MOTION)
 * @GST_INTERACT_SINK_EVENT_TOUCH_UP: `TouchUp` (VZ_EVENT_TOUCH_UP)
 * @GST_INTERACT_SINK_EVENT_RESIZE_REQUEST: `ResizeRequest`
 *   (VZ_EVENT_RESIZE_REQUEST)
 * @GST_INTERACT_SINK_EVENT_CUSTOM: `Custom` (VZ_EVENT_CUSTOM)
 *
 * The event types of interactsink's "allowed-events" property: a GFlags
 * type registered as "GstInteractSinkEventTypes", nicks the event names of
 * docs/events.md in lowercase-dashed form ("mouse-move", "resize-request").
 *
 * Each flag is `1u << (VzEventType - 1)` (lib/vizstream/vizstream.h), so a
 * program computes a mask from VzEventType values with
 * GST_INTERACT_SINK_EVENT_FROM_VZ() and sets it as a plain guint, without
 * linking the plugin:
 * |[
 * guint mask = GST_INTERACT_SINK_EVENTS_ALL
 *     & ~GST_INTERACT_SINK_EVENT_FROM_VZ (VZ_EVENT_RESIZE_REQUEST);
 * g_object_set (sink, "allowed-events", mask, NULL);
 * ]|
 * The plugin checks these values against VzEventType when it is built.
 */
typedef enum
{
  GST_INTERACT_SINK_EVENT_MOUSE_MOVE = 1u << 0,
  GST_INTERACT_SINK_EVENT_MOUSE_BUTTON_PRESS = 1u << 1,
  GST_INTERACT_SINK_EVENT_MOUSE_BUTTON_RELEASE = 1u << 2,
  GST_INTERACT_SINK_EVENT_MOUSE_SCROLL = 1u << 3,
  GST_INTERACT_SINK_EVENT_KEY_PRESS = 1u << 4,
  GST_INTERACT_SINK_EVENT_KEY_RELEASE = 1u << 5,
  GST_INTERACT_SINK_EVENT_TOUCH_DOWN = 1u << 6,
  GST_INTERACT_SINK_EVENT_TOUCH_MOTION = 1u << 7,
  GST_INTERACT_SINK_EVENT_TOUCH_UP = 1u << 8,
  GST_INTERACT_SINK_EVENT_RESIZE_REQUEST = 1u << 9,
  GST_INTERACT_SINK_EVENT_CUSTOM = 1u << 10,
} GstInteractSinkEvents;

/* Every event type: the property's default. */
#define GST_INTERACT_SINK_EVENTS_ALL 0x7ffu

/* The flag of a VzEventType value (1 .. VZ_EVENT_LAST). */
#define GST_INTERACT_SINK_EVENT_FROM_VZ(vz_event_type) \
  (1u << ((guint) (vz_event_type) - 1u))

/* The GType's registered name: a program that only loads the plugin finds
 * it with g_type_from_name() once an interactsink has been made. */
#define GST_INTERACT_SINK_EVENTS_TYPE_NAME "GstInteractSinkEventTypes"

/* In the plugin (for code linked with it). */
#define GST_TYPE_INTERACT_SINK_EVENTS (gst_interact_sink_events_get_type ())
GType gst_interact_sink_events_get_type (void);

G_END_DECLS
