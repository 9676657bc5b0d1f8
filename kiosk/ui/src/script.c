/* Reads a headless script into steps, so a test can drive the kiosk like a resident would. */
#include "script.h"

#include "ui.h"

#include "hm/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool ku_parse_duration(const char *s, uint64_t *ms)
{
    char *end;
    unsigned long long v;

    if (!s || !*s || *s < '0' || *s > '9')
        return false;
    v = strtoull(s, &end, 10);
    if (strcmp(end, "ms") == 0)
        *ms = v;
    else if (strcmp(end, "s") == 0 || !*end)
        *ms = v * 1000u;
    else if (strcmp(end, "m") == 0)
        *ms = v * 60000u;
    else
        return false;
    return v < 86400000ull;
}

/* Splits off the next space-separated word; NULL when none. */
static char *word(char **p)
{
    char *s = *p, *e;

    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s)
        return NULL;
    e = s;
    while (*e && *e != ' ' && *e != '\t')
        e++;
    if (*e)
        *e++ = '\0';
    *p = e;
    return s;
}

static bool parse_line(char *line, struct ku_step *st, const char **why)
{
    char *p = line, *w = word(&p), *a1 = NULL, *a2 = NULL;
    long n;

    *why = "unknown step";
    if (strcmp(w, "touch") == 0) {
        a1 = word(&p);
        a2 = word(&p);
        /* "touch 实名 id": a label before the id is allowed, for people reading the script. */
        if (a1 && a2 && !hm_parse_long(a1, 0, 100000, &n)) {
            a1 = a2;
            a2 = NULL;
        }
        if (!a1) {
            *why = "touch needs a button id or x y";
            return false;
        }
        if (a2) {
            long y;

            if (!hm_parse_long(a1, 0, 100000, &n) || !hm_parse_long(a2, 0, 100000, &y)) {
                *why = "touch x y takes numbers";
                return false;
            }
            st->kind = KU_STEP_TOUCH_XY;
            st->x = (int)n;
            st->y = (int)y;
            return true;
        }
        st->kind = KU_STEP_TOUCH_ID;
        return hm_strlcpy(st->arg, a1, sizeof(st->arg)) < sizeof(st->arg);
    }
    if (strcmp(w, "card") == 0) {
        a1 = word(&p);
        if (!a1 || (strcmp(a1, "insert") != 0 && strcmp(a1, "remove") != 0)) {
            *why = "card insert|remove";
            return false;
        }
        st->kind = strcmp(a1, "insert") == 0 ? KU_STEP_CARD_INSERT : KU_STEP_CARD_REMOVE;
        hm_strlcpy(st->arg, "welfare", sizeof(st->arg));
        while ((a2 = word(&p))) {
            if (hm_parse_long(a2, 0, 7, &n))
                st->reader = (int)n;
            else if (strcmp(a2, "welfare") == 0 || strcmp(a2, "id") == 0 ||
                     strcmp(a2, "unknown") == 0)
                hm_strlcpy(st->arg, a2, sizeof(st->arg));
            else {
                *why = "card: a kind (welfare, id, unknown) or a reader number";
                return false;
            }
        }
        return true;
    }
    if (strcmp(w, "type") == 0) {
        a1 = word(&p);
        st->kind = KU_STEP_TYPE;
        *why = "type takes digits";
        if (!a1 || strspn(a1, "0123456789") != strlen(a1))
            return false;
        return hm_strlcpy(st->arg, a1, sizeof(st->arg)) < sizeof(st->arg);
    }
    if (strcmp(w, "key") == 0) {
        a1 = word(&p);
        st->kind = KU_STEP_KEY;
        *why = "key enter|escape|backspace|F1..F10";
        if (!a1)
            return false;
        if ((a1[0] == 'F' || a1[0] == 'f') && hm_parse_long(a1 + 1, 1, 10, &n)) {
            st->kind = KU_STEP_DEMO;
            st->reader = (int)(n % 10);
            return true;
        }
        st->key = strcmp(a1, "enter") == 0       ? KU_KEY_ENTER
                  : strcmp(a1, "escape") == 0    ? KU_KEY_ESCAPE
                  : strcmp(a1, "backspace") == 0 ? KU_KEY_BACKSPACE
                                                 : 0;
        return st->key != 0;
    }
    if (strcmp(w, "wait") == 0) {
        a1 = word(&p);
        a2 = word(&p);
        *why = "wait screen NAME [T] | wait text STRING [T]";
        if (!a1 || !a2 || (strcmp(a1, "screen") != 0 && strcmp(a1, "text") != 0))
            return false;
        st->kind = strcmp(a1, "screen") == 0 ? KU_STEP_WAIT_SCREEN : KU_STEP_WAIT_TEXT;
        hm_strlcpy(st->arg, a2, sizeof(st->arg));
        st->ms = 10000;
        a1 = word(&p);
        if (a1 && !ku_parse_duration(a1, &st->ms)) {
            *why = "a duration is like 5s or 500ms";
            return false;
        }
        return true;
    }
    if (strcmp(w, "advance") == 0 || strcmp(w, "sleep") == 0) {
        st->kind = w[0] == 'a' ? KU_STEP_ADVANCE : KU_STEP_SLEEP;
        *why = "a duration is like 5s or 500ms";
        return ku_parse_duration(word(&p), &st->ms);
    }
    if (strcmp(w, "shot") == 0) {
        a1 = word(&p);
        st->kind = KU_STEP_SHOT;
        *why = "shot NAME (letters, digits, - and _)";
        if (!a1 || strspn(a1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") !=
                       strlen(a1))
            return false;
        return hm_strlcpy(st->arg, a1, sizeof(st->arg)) < sizeof(st->arg);
    }
    if (strcmp(w, "rig") == 0) {
        a1 = word(&p);
        st->kind = KU_STEP_RIG;
        *why = "rig N COMMAND... | rig pcscd restart-pcscd|stop-pcscd|start-pcscd|unplug|plug";
        if (!a1 || !*p)
            return false;
        if (strcmp(a1, "pcscd") == 0)
            st->reader = -1; /* the rig itself (rig.sock) */
        else if (hm_parse_long(a1, 0, 7, &n))
            st->reader = (int)n;
        else
            return false;
        while (*p == ' ' || *p == '\t')
            p++;
        return *p && hm_strlcpy(st->arg, p, sizeof(st->arg)) < sizeof(st->arg);
    }
    if (strcmp(w, "demo") == 0) {
        a1 = word(&p);
        st->kind = KU_STEP_DEMO;
        *why = "demo N: a demo card's key 1..9, or 0 to take the cards away";
        if (!a1 || !hm_parse_long(a1, 0, 9, &n) || word(&p))
            return false;
        st->reader = (int)n;
        return true;
    }
    if (strcmp(w, "quit") == 0) {
        st->kind = KU_STEP_QUIT;
        return true;
    }
    return false;
}

bool ku_script_load(struct ku_script *s, const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "r");
    char line[512];
    int lineno = 0;
    size_t cap_steps = 0;

    memset(s, 0, sizeof(*s));
    if (!f) {
        snprintf(err, cap, "%s: cannot open", path);
        return false;
    }
    while (fgets(line, sizeof(line), f)) {
        char *hash, *e;
        struct ku_step st;
        const char *why;

        lineno++;
        hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        e = line + strlen(line);
        while (e > line && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        if (strspn(line, " \t") == strlen(line))
            continue;
        memset(&st, 0, sizeof(st));
        st.line = lineno;
        if (!parse_line(line, &st, &why)) {
            snprintf(err, cap, "%s:%d: %s", path, lineno, why);
            goto fail;
        }
        if (s->n == cap_steps) {
            size_t nc = cap_steps ? cap_steps * 2 : 32;
            struct ku_step *ns = realloc(s->steps, nc * sizeof(*ns));

            if (!ns) {
                snprintf(err, cap, "out of memory");
                goto fail;
            }
            s->steps = ns;
            cap_steps = nc;
        }
        s->steps[s->n++] = st;
    }
    fclose(f);
    return true;
fail:
    fclose(f);
    ku_script_cleanup(s);
    return false;
}

void ku_script_cleanup(struct ku_script *s)
{
    free(s->steps);
    memset(s, 0, sizeof(*s));
}
