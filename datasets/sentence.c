/* sentence.c: one example a line as `<label> <sentence>`, split at the first space (the
 * stsa.binary.* sentence-level SST-2 files); no header. */
#include <string.h>

#include "loader.h"

int faith_ds_load_sentence(const faith_dataset_spec *spec, faith_dataset *d, faith_err *err)
{
    faith_sha256 sha;
    faith_sha256_init(&sha);
    faith_ds_reader r;
    faith_ds_labels L;
    FAITH_TRY(faith_ds_labels_init(&L, d, spec, err));
    FAITH_TRY(faith_ds_reader_open(&r, spec->path, &sha, err));
    int64_t cap = 0;
    int rc;
    char *line;
    size_t len;
    while ((rc = faith_ds_reader_next(&r, &line, &len, err)) == 1) {
        if (spec->limit > 0 && d->n >= spec->limit) {
            rc = faith_ds_reader_drain(&r, err);
            break;
        }
        char *sp = strchr(line, ' ');
        if (!sp || sp == line || sp[1] == '\0') {
            rc = faith_err_set(err, FAITH_ERR_FORMAT, "%s:%lld: expected '<label> <sentence>'", r.path,
                               (long long)r.lineno);
            break;
        }
        *sp = '\0';
        char where[1100];
        snprintf(where, sizeof where, "%s:%lld", r.path, (long long)r.lineno);
        faith_example *e = faith_ds_push(d, &cap);
        e->text = faith_xstrdup(sp + 1);
        faith_ds_count(e);
        rc = faith_ds_label_str(&L, line, where, &e->label, err);
        if (rc == FAITH_OK) rc = faith_ds_check_labeled(spec, e, where, err);
        if (rc < 0) break;
    }
    faith_ds_reader_close(&r);
    if (rc < 0) return rc;
    faith_ds_labels_finish(&L, 0);
    faith_sha256_final_hex(&sha, d->sha256);
    return FAITH_OK;
}
