/* json.h: the one way Faith parses JSON (configs, checkpoints' headers and tokenizer files, dataset
 * lines). cJSON made strict where it is lenient, with errors that say where. */
#ifndef FAITH_JSON_H
#define FAITH_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "error.h"

/* Parse text[0..len) as exactly one JSON value (whitespace around it allowed) into *out (free with
 * cJSON_Delete). Refused, as FAITH_ERR_FORMAT naming `where` and the line and column:
 *   - invalid JSON or text after the value;
 *   - what cJSON tolerates but JSON does not: raw control characters in strings, escapes that are
 *     not JSON's ("\uZZZZ", which cJSON reads as U+0000), whitespace other than space, tab, LF and
 *     CR, numbers such as 01 or 1.;
 *   - a NUL byte, or a \u0000 escape (cJSON would silently cut the string there), or bytes that are
 *     not UTF-8;
 *   - a key given twice in one object (cJSON reads the first, Python and Rust's serde the last,
 *     so the file means different things to Faith and to the tools that wrote it). */
int faith_json_parse(const char *text, size_t len, const char *where, cJSON **out, faith_err *err);

#endif
