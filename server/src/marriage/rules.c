/* The appointment rules a bureau may change, as data with defaults and one strict setter for
 * the [marriage] section's "key = value" lines, so a typing mistake is refused with its reason. */
#include "marriage_int.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

enum rule_type { R_INT, R_BOOL };

struct rule {
    const char *key;
    enum rule_type type;
    size_t off;
    int min, max; /* R_INT */
};

#define RULE_INT(f, lo, hi)                                      \
    {                                                            \
#f, R_INT, offsetof(struct hs_marriage_rules, f), lo, hi \
    }
#define RULE_BOOL(f)                                            \
    {                                                           \
#f, R_BOOL, offsetof(struct hs_marriage_rules, f), 0, 1 \
    }

static const struct rule rules[] = {
    RULE_INT(min_age_male, 16, 40),
    RULE_INT(min_age_female, 16, 40),
    RULE_BOOL(require_opposite_sex),
    RULE_INT(cooling_off_days, 0, 180),
    RULE_INT(confirm_window_days, 1, 180),
    RULE_BOOL(extend_over_closed),
    RULE_INT(book_ahead_days, 0, 365),
    RULE_INT(cancel_until_hours, 0, 168),
    RULE_INT(no_show_limit, 0, HS_MARRIAGE_MAX_NO_SHOWS),
    RULE_INT(no_show_period_days, 1, 730),
    RULE_INT(no_show_ban_days, 1, 730),
    RULE_INT(max_active_bookings, 1, 10),
};

#define NRULES (sizeof(rules) / sizeof(rules[0]))

void hs_marriage_rules_defaults(struct hs_marriage_rules *r)
{
    if (!r)
        return;
    memset(r, 0, sizeof(*r));
    r->min_age_male = 22;
    r->min_age_female = 20;
    r->require_opposite_sex = true;
    r->cooling_off_days = 30;
    r->confirm_window_days = 30;
    r->extend_over_closed = true;
    r->book_ahead_days = 30;
    r->cancel_until_hours = 24;
    r->no_show_limit = 2;
    r->no_show_period_days = 180;
    r->no_show_ban_days = 90;
    r->max_active_bookings = 1;
}

static int *int_field(struct hs_marriage_rules *r, const struct rule *k)
{
    return (int *)(void *)((char *)r + k->off);
}

static const int *int_cfield(const struct hs_marriage_rules *r, const struct rule *k)
{
    return (const int *)(const void *)((const char *)r + k->off);
}

static bool *bool_field(struct hs_marriage_rules *r, const struct rule *k)
{
    return (bool *)(void *)((char *)r + k->off);
}

static const bool *bool_cfield(const struct hs_marriage_rules *r, const struct rule *k)
{
    return (const bool *)(const void *)((const char *)r + k->off);
}

static const struct rule *rule_of(const char *key, size_t n)
{
    for (size_t i = 0; i < NRULES; i++)
        if (strlen(rules[i].key) == n && memcmp(rules[i].key, key, n) == 0)
            return &rules[i];
    return NULL;
}

/* Plain decimal digits, no sign or leading zero, at most 9 of them (so no overflow). */
static bool parse_uint(const char *s, size_t n, int *out)
{
    int v = 0;

    if (n == 0 || n > 9 || (n > 1 && s[0] == '0'))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static hs_rc set_value(struct hs_marriage_rules *r, const char *key, size_t key_len,
                       const char *value, size_t value_len, char *err, size_t err_cap)
{
    const struct rule *k = rule_of(key, key_len);
    char q[48];
    int v;

    if (!k) {
        hs_marriage_quote(key, key_len, q, sizeof(q));
        hs_marriage_errf(err, err_cap, "unknown key '%s' in [marriage]", q);
        return HS_E_CONFIG;
    }
    hs_marriage_quote(value, value_len, q, sizeof(q));
    if (k->type == R_BOOL) {
        if (value_len == 4 && memcmp(value, "true", 4) == 0) {
            *bool_field(r, k) = true;
            return HS_OK;
        }
        if (value_len == 5 && memcmp(value, "false", 5) == 0) {
            *bool_field(r, k) = false;
            return HS_OK;
        }
        hs_marriage_errf(err, err_cap, "%s in [marriage] must be true or false, not '%s'", k->key,
                         q);
        return HS_E_CONFIG;
    }
    if (!parse_uint(value, value_len, &v) || v < k->min || v > k->max) {
        hs_marriage_errf(err, err_cap,
                         "%s in [marriage] must be a whole number from %d to %d, not '%s'", k->key,
                         k->min, k->max, q);
        return HS_E_CONFIG;
    }
    *int_field(r, k) = v;
    return HS_OK;
}

hs_rc hs_marriage_rules_set(struct hs_marriage_rules *r, const char *key, const char *value,
                            char *err, size_t err_cap)
{
    hs_marriage_errf(err, err_cap, "%s", "");
    if (!r || !key || !value) {
        hs_marriage_errf(err, err_cap, "no rule or value given");
        return HS_E_INVALID_ARG;
    }
    return set_value(r, key, strlen(key), value, strlen(value), err, err_cap);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

hs_rc hs_marriage_rules_set_line(struct hs_marriage_rules *r, const char *line, size_t n, char *err,
                                 size_t err_cap)
{
    size_t ks, ke, vs, ve, eq;

    hs_marriage_errf(err, err_cap, "%s", "");
    if (!r || (!line && n > 0)) {
        hs_marriage_errf(err, err_cap, "no rule or line given");
        return HS_E_INVALID_ARG;
    }
    if (n > HS_MARRIAGE_MAX_LINE) {
        hs_marriage_errf(err, err_cap, "the line is longer than %d bytes", HS_MARRIAGE_MAX_LINE);
        return HS_E_CONFIG;
    }
    if (n > 0 && line[n - 1] == '\r')
        n--;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)line[i];
        if ((c < 0x20 && c != '\t') || c == 0x7F) {
            hs_marriage_errf(err, err_cap, "position %zu: control byte 0x%02X in the line", i + 1,
                             c);
            return HS_E_CONFIG;
        }
    }
    ks = 0;
    while (ks < n && is_blank(line[ks]))
        ks++;
    if (ks == n || line[ks] == '#' || line[ks] == ';')
        return HS_OK;
    for (eq = ks; eq < n && line[eq] != '='; eq++)
        ;
    if (eq == n) {
        hs_marriage_errf(err, err_cap, "expected 'key = value' in [marriage]");
        return HS_E_CONFIG;
    }
    ke = eq;
    while (ke > ks && is_blank(line[ke - 1]))
        ke--;
    if (ke == ks) {
        hs_marriage_errf(err, err_cap, "a key is missing before '=' in [marriage]");
        return HS_E_CONFIG;
    }
    vs = eq + 1;
    while (vs < n && is_blank(line[vs]))
        vs++;
    ve = n;
    while (ve > vs && is_blank(line[ve - 1]))
        ve--;
    return set_value(r, line + ks, ke - ks, line + vs, ve - vs, err, err_cap);
}

hs_rc hs_marriage_rules_check(const struct hs_marriage_rules *r, char *err, size_t err_cap)
{
    hs_marriage_errf(err, err_cap, "%s", "");
    if (!r) {
        hs_marriage_errf(err, err_cap, "no rules given");
        return HS_E_INVALID_ARG;
    }
    for (size_t i = 0; i < NRULES; i++) {
        const struct rule *k = &rules[i];
        if (k->type == R_BOOL) {
            /* A bool holds 0 or 1; anything else came from memory that was never a bool. */
            unsigned char b;
            memcpy(&b, bool_cfield(r, k), 1);
            if (b > 1) {
                hs_marriage_errf(err, err_cap, "%s is not true or false", k->key);
                return HS_E_CONFIG;
            }
            continue;
        }
        int v = *int_cfield(r, k);
        if (v < k->min || v > k->max) {
            hs_marriage_errf(err, err_cap, "%s must be from %d to %d, not %d", k->key, k->min,
                             k->max, v);
            return HS_E_CONFIG;
        }
    }
    return HS_OK;
}

bool hs_marriage_rules_valid(const struct hs_marriage_rules *r)
{
    return hs_marriage_rules_check(r, NULL, 0) == HS_OK;
}

bool hs_marriage_rules_line(const struct hs_marriage_rules *r, size_t i, char *out, size_t cap)
{
    if (!r || !out || cap == 0)
        return false;
    out[0] = '\0';
    if (i >= NRULES)
        return false;
    const struct rule *k = &rules[i];
    int n = k->type == R_BOOL
                ? snprintf(out, cap, "%s = %s", k->key, *bool_cfield(r, k) ? "true" : "false")
                : snprintf(out, cap, "%s = %d", k->key, *int_cfield(r, k));
    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        return false;
    }
    return true;
}
