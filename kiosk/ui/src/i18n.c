/* Message catalogs: every string a resident reads comes from assets/i18n/<lang>.ini by key. */
#include "ui.h"

#include "hm/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const keys[KU_MSG_COUNT] = {
#define KU_MSG_KEY(id, key) [id] = key,
    KU_MSG_LIST(KU_MSG_KEY)
#undef KU_MSG_KEY
};

const char *ku_msg_key(enum ku_msg m)
{
    return (unsigned)m < KU_MSG_COUNT ? keys[m] : "?";
}

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

static void problem(struct ku_catalog *c, const char *what, const char *key)
{
    if (!c->first_problem[0])
        snprintf(c->first_problem, sizeof(c->first_problem), "%s: %s", what, key);
}

bool ku_catalog_load(struct ku_catalog *c, const char *path)
{
    FILE *f = fopen(path, "rb");
    long len;
    char *line, *next;
    bool ok = false;

    memset(c, 0, sizeof(*c));
    if (!f) {
        problem(c, "cannot open", path);
        return false;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || len > 1 << 20 ||
        fseek(f, 0, SEEK_SET) != 0)
        goto out_close;
    c->storage = malloc((size_t)len + 1);
    if (!c->storage || fread(c->storage, 1, (size_t)len, f) != (size_t)len)
        goto out_close;
    c->storage[len] = '\0';
    for (line = c->storage; line; line = next) {
        char *eq, *k, *v;
        size_t i;

        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        k = trim(line);
        if (!*k || *k == '#')
            continue;
        eq = strchr(k, '=');
        if (!eq) {
            problem(c, "no '=' in line", k);
            goto out_close;
        }
        *eq = '\0';
        k = trim(k);
        v = trim(eq + 1);
        for (i = 0; i < KU_MSG_COUNT; i++)
            if (strcmp(keys[i], k) == 0)
                break;
        if (i == KU_MSG_COUNT) {
            c->unknown++;
            problem(c, "unknown key", k);
        } else if (*v) {
            c->text[i] = v;
        }
    }
    for (size_t i = 0; i < KU_MSG_COUNT; i++) {
        if (!c->text[i]) {
            c->missing++;
            problem(c, "missing key", keys[i]);
        }
    }
    ok = true;
out_close:
    fclose(f);
    return ok;
}

void ku_catalog_cleanup(struct ku_catalog *c)
{
    free(c->storage);
    memset(c, 0, sizeof(*c));
}
