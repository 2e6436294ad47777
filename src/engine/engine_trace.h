/* Single-object trace: what the rules would do to one connector-space object, computed by
 * running inbound and outbound sync inside a transaction that is always rolled back. */
#ifndef IDSYNC_ENGINE_TRACE_H
#define IDSYNC_ENGINE_TRACE_H
#include "engine/engine.h"
#include <jansson.h>
/* *out: a new JSON report (caller decrefs). Nothing is written to the database. */
int engine_trace(engine *en, const char *connector, const char *dn, json_t **out, err *e);
#endif
