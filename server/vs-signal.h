/* The signalling messages a page may send (docs/server.md), parsed and
 * type-checked in one place: what another party wrote never reaches the
 * server as anything but a VsSignal or an error for that page. */
#ifndef VS_SIGNAL_H
#define VS_SIGNAL_H

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  VS_SIGNAL_HELLO,
  VS_SIGNAL_ANSWER,
  VS_SIGNAL_ICE,
  VS_SIGNAL_PING,
  VS_SIGNAL_ACK,
  VS_SIGNAL_INPUT,
} VsSignalType;

typedef struct
{
  VsSignalType type;
  gchar *token;                 /* hello, optional */
  gboolean view_only;           /* hello */
  gchar *transport;             /* hello: webrtc (default), ws or mjpeg */
  gchar *sdp;                   /* answer */
  gchar *candidate;             /* ice ("" ends gathering) */
  guint mline;                  /* ice, 0..16 */
  gdouble t;                    /* ping */
  guint32 n;                    /* ack */
  gchar *data;                  /* input: event JSON text */
} VsSignal;

/* FALSE with a message meant for the page that sent it. */
gboolean vs_signal_parse (const gchar * text, gsize len, VsSignal * out,
    GError ** error);
void vs_signal_clear (VsSignal * s);

G_END_DECLS
#endif
