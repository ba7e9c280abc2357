/* vizstream-server: recording (--record DIR).
 *
 * A leg on the main encode's tee,
 *
 *   queue (leaky) ! appsink  --main loop-->  one writer per file:
 *       appsrc ! h264parse ! matroskamux ! filesink   (its own pipeline)
 *
 * writes the shared encode into DIR without encoding it again. Matroska,
 * written as it comes: a file cut short by a crash plays up to its last
 * whole frame. A new file past --record-max-size or --record-max-seconds
 * (at a key frame asked for then) and when the encode changes size. Beside
 * each file (.mkv) the controlling viewers' input as JSON lines (.jsonl) in
 * the replay format of docs/events.md: renderer pixels, "time" in seconds
 * from the file's first frame, both on the pipeline's running time, so
 * `filesrc ! interactsink timing=recorded` replays the session.
 *
 * A writer is a pipeline apart: a full disk or a vanished directory stops
 * the recording (a log line, /status), never the encode or the viewers.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>
#include "vs-variant.h"

G_BEGIN_DECLS

typedef struct _VsRecord VsRecord;

/* Starts recording (the first file opens at the first key frame); NULL
 * with error set when an element it needs is missing. */
VsRecord *vs_record_new (VsMedia * media, VsEncodes * encodes,
    const VsConfig * cfg, GError ** error);
/* Ends the file being written properly (index, duration), then stops. */
void vs_record_free (VsRecord * rec);
/* A controlling viewer's input message, as it went to the renderer: the
 * events the input policy lets through, stamped now. */
void vs_record_input (VsRecord * rec, guint viewer_id, const gchar * text,
    gsize len);
/* Once a second: the status line (line may be NULL). */
void vs_record_tick (VsRecord * rec, GString * line);
/* "record": its state, or null when rec is NULL (no --record). */
void vs_record_describe (VsRecord * rec, JsonBuilder * b);

G_END_DECLS
