/* The hall staff's queue on the operator's command line: what waits for a person (disputes,
 * staff calls) oldest first with what they need to know, residents masked, and closing an item
 * with an audit record. */
#include "exceptions.h"

#include "hm/log.h"
#include "hm/util.h"
#include "hs/audit.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { EX_OK = 0, EX_UNUSABLE = 2, EX_REFUSED = 3 };

struct words {
    const char *key, *zh, *en;
};

static const struct words kinds[] = {
    { "staff_call", "呼叫工作人员", "staff call" },
    { "dispute", "发放异议", "payment dispute" },
};

static const struct words reasons[] = {
    /* staff calls */
    { "help", "需要帮助", "needs help" },
    { "card_problem", "卡片问题", "card problem" },
    { "pin_blocked", "密码已锁定", "PIN blocked" },
    { "dispute", "对发放有疑问", "questions a payment" },
    /* disputes */
    { "not_received", "未收到", "not received" },
    { "wrong_amount", "金额不对", "wrong amount" },
    /* both */
    { "other", "其他", "other" },
};

static const struct words *word_of(const struct words *w, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(w[i].key, key) == 0)
            return &w[i];
    return NULL;
}

static void words_line(const struct words *w, size_t n, const char *key, char *out, size_t cap)
{
    const struct words *f = word_of(w, n, key);
    if (f)
        snprintf(out, cap, "%s %s", f->zh, f->en);
    else
        snprintf(out, cap, "%s", key[0] ? key : "-");
}

/* Unix time as China Standard Time (UTC+8, no DST), whatever TZ says. */
static void cst(int64_t t, char *out, size_t cap)
{
    time_t tt = (time_t)(t + 8 * 3600);
    struct tm tm;

    if (!gmtime_r(&tt, &tm) || strftime(out, cap, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(out, cap, "%lld", (long long)t);
}

/* Columns of the queue query, in order. */
enum {
    C_ID,
    C_AT,
    C_KIND,
    C_STATUS,
    C_KIOSK,
    C_KIOSK_NAME,
    C_OFFICE,
    C_REASON,
    C_SCREEN,
    C_PAYMENT,
    C_NAME,
    C_WELFARE,
    C_NOTE,
};

static const char queue_sql[] =
    "SELECT e.id, e.at, e.kind, e.status, e.kiosk_id, COALESCE(k.name, ''), "
    "COALESCE(k.office, ''), COALESCE(s.reason, d.reason, ''), COALESCE(s.screen, ''), "
    "COALESCE(d.payment_id, ''), COALESCE(rs.name, rd.name, ''), "
    "COALESCE(rs.welfare_no, rd.welfare_no, ''), COALESCE(s.note, d.note, '') "
    "FROM exceptions e "
    "LEFT JOIN kiosks k ON k.id = e.kiosk_id "
    "LEFT JOIN staff_calls s ON e.kind = 'staff_call' AND s.id = e.subject "
    "LEFT JOIN residents rs ON rs.id = s.resident_id "
    "LEFT JOIN disputes d ON e.kind = 'dispute' AND d.id = e.subject "
    "LEFT JOIN payments p ON p.id = d.payment_id "
    "LEFT JOIN entitlements en ON en.id = p.entitlement_id "
    "LEFT JOIN residents rd ON rd.id = en.resident_id ";

static void print_item(const struct hs_rows *r, int i, bool all)
{
    char when[32], kind[96], reason[96], masked[64];
    const char *name = hs_rows_text(r, i, C_NAME), *welfare = hs_rows_text(r, i, C_WELFARE);
    const char *screen = hs_rows_text(r, i, C_SCREEN), *payment = hs_rows_text(r, i, C_PAYMENT);
    const char *note = hs_rows_text(r, i, C_NOTE), *kname = hs_rows_text(r, i, C_KIOSK_NAME);
    bool closed = strcmp(hs_rows_text(r, i, C_STATUS), "open") != 0;

    cst(hs_rows_int(r, i, C_AT), when, sizeof(when));
    words_line(kinds, HM_ARRAY_SIZE(kinds), hs_rows_text(r, i, C_KIND), kind, sizeof(kind));
    words_line(reasons, HM_ARRAY_SIZE(reasons), hs_rows_text(r, i, C_REASON), reason,
               sizeof(reason));
    printf("%s  %s (北京时间 CST)%s\n", hs_rows_text(r, i, C_ID), when,
           all ? (closed ? "  已关闭 closed" : "  待处理 open") : "");
    printf("    类型 Kind       %s\n", kind);
    printf("    终端 Kiosk      %s (%s)\n", kname[0] ? kname : "?", hs_rows_text(r, i, C_KIOSK));
    printf("    地点 Office     %s\n",
           hs_rows_text(r, i, C_OFFICE)[0] ? hs_rows_text(r, i, C_OFFICE) : "?");
    printf("    原因 Reason     %s\n", reason);
    if (screen[0])
        printf("    屏幕 Screen     %s\n", screen);
    if (payment[0])
        printf("    发放 Payment    %s\n", payment);
    if (welfare[0]) {
        hm_mask_id(welfare, masked, sizeof(masked));
        printf("    居民 Resident   %s %s\n", name, masked);
    } else {
        printf("    居民 Resident   未刷卡 no card given\n");
    }
    if (note[0])
        printf("    备注 Note       %s\n", note);
}

int hs_admin_exceptions_list(struct hs_store *st, bool all)
{
    char sql[sizeof(queue_sql) + 80];
    struct hs_conn *c = hs_store_reader(st);
    struct hs_rows *r = NULL;
    hs_rc rc;
    int n;

    snprintf(sql, sizeof(sql), "%s%sORDER BY e.at, e.id", queue_sql,
             all ? "" : "WHERE e.status = 'open' ");
    rc = c ? hs_exec(c, sql, NULL, 0, &r) : HS_E_DB;
    if (rc != HS_OK) {
        fprintf(stderr, "huimin-admin exceptions: 无法读取待处理事项 cannot read the queue: %s\n",
                hs_strerror(rc));
        return EX_UNUSABLE;
    }
    n = hs_rows_count(r);
    if (n == 0) {
        printf(all ? "没有任何事项。 No exceptions have been recorded.\n"
                   : "没有待处理的事项。 The hall staff queue is empty: nothing is waiting.\n");
        hs_rows_free(r);
        return EX_OK;
    }
    if (all)
        printf("全部事项 All exceptions: %d (oldest first)\n\n", n);
    else
        printf("待处理事项 Waiting for hall staff: %d (oldest first; close one with "
               "'huimin-admin exceptions close ID')\n\n",
               n);
    for (int i = 0; i < n; i++) {
        print_item(r, i, all);
        if (i + 1 < n)
            printf("\n");
    }
    hs_rows_free(r);
    return EX_OK;
}

struct close_write {
    const char *id, *note, *actor;
    int64_t now;
    char kind[32], subject[64]; /* out */
};

/* One transaction: the audit head first, the exception open -> closed, its call, the record. */
static hs_rc close_fn(struct hs_conn *c, void *arg)
{
    struct close_write *a = arg;
    const struct hs_val pi[] = { hs_text(a->id) };
    struct hs_rows *r = NULL;
    hs_rc rc = hs_audit_lock(c);
    bool open;

    if (rc != HS_OK)
        return rc;
    rc = hs_exec(c, "SELECT kind, subject, status FROM exceptions WHERE id = $1", pi, 1, &r);
    if (rc != HS_OK)
        return rc;
    if (hs_rows_count(r) == 0) {
        hs_rows_free(r);
        return HS_E_NOT_FOUND;
    }
    hm_strlcpy(a->kind, hs_rows_text(r, 0, 0), sizeof(a->kind));
    hm_strlcpy(a->subject, hs_rows_text(r, 0, 1), sizeof(a->subject));
    open = strcmp(hs_rows_text(r, 0, 2), "open") == 0;
    hs_rows_free(r);
    if (!open)
        return HS_E_CONFLICT;
    rc = hs_exec(c, "UPDATE exceptions SET status = 'closed' WHERE id = $1 AND status = 'open'", pi,
                 1, NULL);
    if (rc != HS_OK)
        return rc;
    if (hs_changes(c) != 1)
        return HS_E_CONFLICT;
    if (strcmp(a->kind, "staff_call") == 0) {
        const struct hs_val ps[] = { hs_text(a->subject), hs_int(a->now),
                                     hs_text(a->note ? a->note : "") };
        rc = hs_exec(c,
                     "UPDATE staff_calls SET status = 'closed', closed_at = $2, note = $3 "
                     "WHERE id = $1 AND status = 'open'",
                     ps, 3, NULL);
        if (rc != HS_OK)
            return rc;
    }
    json_t *d = json_pack("{s:s, s:s, s:s}", "kind", a->kind, "subject", a->subject, "note",
                          a->note ? a->note : "");
    char *detail = d ? json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(d);
    if (!detail)
        return HS_E_NO_MEMORY;
    struct hs_audit_rec rec = { .actor = a->actor,
                                .action = "exception.close",
                                .subject = a->id,
                                .detail = detail,
                                .at = a->now };
    rc = hs_audit_append(c, &rec, NULL);
    free(detail);
    return rc;
}

static bool note_ok(const char *note)
{
    if (strlen(note) > HS_ADMIN_NOTE_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *)note; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

int hs_admin_exception_close(struct hs_store *st, const char *id, const char *note,
                             const char *actor, int64_t now)
{
    struct close_write w = { .id = id, .note = note, .actor = actor, .now = now };
    hs_rc rc;

    if (note && !note_ok(note)) {
        fprintf(stderr,
                "huimin-admin exceptions close: 备注最多 %d 字节，且不能含换行等控制字符。\n"
                "The note is at most %d bytes on one line (no control characters); shorten "
                "it and run the command again. Nothing was closed.\n",
                HS_ADMIN_NOTE_MAX, HS_ADMIN_NOTE_MAX);
        return EX_REFUSED;
    }
    rc = hs_store_write(st, close_fn, &w);
    if (rc == HS_E_NOT_FOUND) {
        fprintf(stderr,
                "huimin-admin exceptions close: 没有编号为 %s 的事项。\n"
                "There is no exception %s; 'huimin-admin exceptions' lists the open ones with "
                "their IDs.\n",
                id, id);
        return EX_REFUSED;
    }
    if (rc == HS_E_CONFLICT) {
        fprintf(stderr,
                "huimin-admin exceptions close: 事项 %s 已经关闭过了。\n"
                "Exception %s is closed already; nothing was changed.\n",
                id, id);
        return EX_REFUSED;
    }
    if (rc != HS_OK) {
        fprintf(stderr, "huimin-admin exceptions close: 无法保存 cannot store it: %s\n",
                hs_strerror(rc));
        return EX_UNUSABLE;
    }
    if (strcmp(w.kind, "staff_call") == 0)
        printf("已关闭事项 %s，呼叫 %s 已处理。\nException %s closed; staff call %s is closed "
               "too.\n",
               id, w.subject, id, w.subject);
    else
        printf("已关闭事项 %s（%s）。\nException %s (%s %s) closed.\n", id, w.kind, id, w.kind,
               w.subject);
    return EX_OK;
}
