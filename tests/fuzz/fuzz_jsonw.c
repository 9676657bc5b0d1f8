/*
 * Fuzz target for the JSON writer of the signed answers (server/src/api/jsonw.c):
 * whatever bytes a database row holds, the writer either refuses them or
 * writes a string jansson reads back as the same bytes, and it accepts
 * exactly the strings jansson accepts.
 */
#include "../../server/src/api/jsonw.h"

#include <jansson.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0'; /* the writer takes C strings: up to the first NUL */
    struct hm_buf b;
    struct hs_jw w;
    hm_buf_init(&b, 1u << 20);
    hs_jw_init(&w, &b);
    hs_jw_obj(&w);
    hs_jw_kstr(&w, "k", s);
    hs_jw_kint(&w, "n", (int64_t)size);
    hs_jw_end_obj(&w);
    json_t *ref = json_string(s);
    if ((ref != NULL) != hs_jw_ok(&w))
        abort(); /* the writer and jansson disagree on what is a valid string */
    if (ref) {
        json_error_t err;
        json_t *j = json_loadb((const char *)b.data, b.len, JSON_REJECT_DUPLICATES, &err);
        if (!j || !json_is_string(json_object_get(j, "k")) ||
            strcmp(json_string_value(json_object_get(j, "k")), s) != 0 ||
            json_integer_value(json_object_get(j, "n")) != (json_int_t)size)
            abort();
        char *again = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        if (!again || strlen(again) != b.len || memcmp(again, b.data, b.len) != 0)
            abort(); /* byte for byte what jansson writes */
        free(again);
        json_decref(j);
    }
    json_decref(ref);
    hm_buf_free(&b);
    free(s);
    return 0;
}
