/* huimin-card's ID-card command: read-id opens an ICAO 9303 chip with BAC, shows the holder and
 * runs Passive and Active Authentication, so staff can check an ID card or passport by hand. */
#include "hc.h"

#include "cl/emrtd.h"
#include "cl/emrtd_auth.h"
#include "cl/lds.h"
#include "hm/util.h"

#include <openssl/rand.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct id_opts {
    struct hc *hc;
    const char *doc, *birth, *expiry, *csca, *face;
    bool show_id;
};

static int id_opt(void *arg, int opt, const char *val)
{
    struct id_opts *o = arg;

    switch (opt) {
    case 'd':
        o->doc = val;
        return 0;
    case 'b':
        o->birth = val;
        return 0;
    case 'e':
        o->expiry = val;
        return 0;
    case 'C':
        o->csca = val;
        return 0;
    case 'f':
        o->face = val;
        return 0;
    case 'S':
        o->show_id = true;
        return 0;
    default:
        return HC_EXIT_USAGE;
    }
}

static const struct option id_long[] = {
    { "doc", required_argument, NULL, 'd' },
    { "birth", required_argument, NULL, 'b' },
    { "expiry", required_argument, NULL, 'e' },
    { "csca", required_argument, NULL, 'C' },
    { "face", required_argument, NULL, 'f' },
    { "show-id", no_argument, NULL, 'S' },
    { NULL, 0, NULL, 0 },
};

/* YYMMDD as YYYY-MM-DD: a birth year after this year is last century; expiry is this one. */
static void mrz_date(const char *yymmdd, bool birth, char *out, size_t cap)
{
    time_t now = time(NULL);
    struct tm tm;
    int yy = (yymmdd[0] - '0') * 10 + (yymmdd[1] - '0');
    int this_yy;

    gmtime_r(&now, &tm);
    this_yy = tm.tm_year % 100;
    snprintf(out, cap, "%s%.2s-%.2s-%.2s", birth && yy > this_yy ? "19" : "20", yymmdd, yymmdd + 2,
             yymmdd + 4);
}

static const char *format_name(enum cl_mrz_format f)
{
    return f == CL_MRZ_TD1 ? "TD1" : f == CL_MRZ_TD2 ? "TD2" : "TD3";
}

static int bac_failed(struct hc *hc, cl_rc rc)
{
    if (rc != CL_E_AUTH_FAILED)
        return hc_fail(hc, rc, "opening the chip (Basic Access Control)");
    fprintf(stderr,
            "huimin-card read-id: access denied, check the numbers: the document number, date "
            "of birth and date of expiry must be typed exactly as printed in the machine-readable "
            "zone (dates as YYMMDD).\n");
    if (hc->json)
        hc_json_out(json_pack("{s:{s:s,s:s}}", "error", "code", "access-denied", "message",
                              "access denied, check the numbers"));
    return HC_EXIT_CARD;
}

static void print_checks(const struct cl_verdict *v)
{
    for (size_t i = 0; i < v->n; i++)
        printf("  %-14s %-12s %s\n", v->checks[i].name,
               v->checks[i].state == CL_CHECK_PASSED   ? "passed"
               : v->checks[i].state == CL_CHECK_FAILED ? "FAILED"
                                                       : "not checked",
               v->checks[i].reason);
}

static json_t *checks_json(const struct cl_verdict *v)
{
    json_t *a = json_array();

    for (size_t i = 0; i < v->n; i++) {
        json_t *c = json_pack("{s:s,s:s}", "check", v->checks[i].name, "result",
                              cl_check_state_name(v->checks[i].state));

        if (v->checks[i].reason[0])
            json_object_set_new(c, "reason", json_string(v->checks[i].reason));
        json_array_append_new(a, c);
    }
    return a;
}

static int cmd_read_id(struct hc *hc, int argc, char **argv)
{
    static struct cl_emrtd_evidence ev;
    struct id_opts o = { .hc = hc };
    struct cl_emrtd_keys keys;
    char info[CL_EMRTD_MRZ_INFO_MAX];
    cl_emrtd_trust *trust = NULL;
    uint8_t challenge[CL_EMRTD_CHALLENGE_LEN];
    struct cl_mrz mrz;
    struct cl_dg11 dg11;
    struct cl_face face;
    struct cl_verdict v;
    char id_shown[CL_DG11_TEXT_MAX], born[16], expires[16];
    bool has_dg11 = false, has_face = false, id_valid = false, genuine;
    cl_card *card = NULL;
    int first, ret;
    cl_rc rc;

    ret = hc_parse(hc, argc, argv, id_long, "", id_opt, &o, &first);
    if (ret)
        return ret;
    if (!o.doc || !o.birth || !o.expiry)
        return hc_usage_error(hc, "read-id needs --doc NUMBER --birth YYMMDD --expiry YYMMDD "
                                  "(as printed in the machine-readable zone)");
    if (cl_emrtd_mrz_info(o.doc, o.birth, o.expiry, info, sizeof(info)) != CL_OK)
        return hc_usage_error(hc,
                              "the document number is letters and digits (up to %d) and "
                              "both dates are six digits, YYMMDD",
                              CL_EMRTD_DOC_MAX);
    hm_wipe(info, sizeof(info));
    if (o.csca) {
        rc = cl_emrtd_trust_load(o.csca, &trust);
        if (rc != CL_OK)
            return hc_usage_error(hc,
                                  "cannot use '%s' as the CSCA trust store: %s (it must be a "
                                  "folder of CSCA certificates and CRLs, PEM or DER)",
                                  o.csca, cl_strerror(rc));
    }
    if (RAND_bytes(challenge, sizeof(challenge)) != 1) {
        cl_emrtd_trust_free(trust);
        return hc_fail(hc, CL_E_CRYPTO, "no random challenge");
    }
    ret = hc_open(hc);
    if (!ret)
        ret = hc_connect(hc, CL_SHARE_SHARED, &card);
    if (ret) {
        cl_emrtd_trust_free(trust);
        return ret;
    }
    cl_emrtd_evidence_init(&ev);
    rc = cl_emrtd_select_app(card);
    if (rc != CL_OK) {
        ret = hc_fail(hc, rc == CL_E_FILE_NOT_FOUND ? CL_E_APP_NOT_FOUND : rc,
                      "this card has no ICAO 9303 (ID card or passport) application");
        goto out;
    }
    rc = cl_emrtd_bac_keys(o.doc, o.birth, o.expiry, &keys);
    if (rc == CL_OK)
        rc = cl_emrtd_bac(card, &keys, NULL, NULL);
    hm_wipe(&keys, sizeof(keys));
    if (rc != CL_OK) {
        ret = bac_failed(hc, rc);
        goto out;
    }
    rc = cl_emrtd_collect(card, challenge, sizeof(challenge), &ev);
    if (rc != CL_OK) {
        ret = hc_fail(hc, rc, "reading the chip");
        goto out;
    }
    rc = cl_lds_parse_dg1(ev.dg[1].data, ev.dg[1].len, &mrz);
    if (rc != CL_OK) {
        ret = hc_fail(hc, rc, "the chip's MRZ (DG1)");
        goto out;
    }
    if (ev.dg[11].len && cl_lds_parse_dg11(ev.dg[11].data, ev.dg[11].len, &dg11) == CL_OK)
        has_dg11 = true;
    if (ev.dg[2].len && cl_lds_parse_dg2(ev.dg[2].data, ev.dg[2].len, &face) == CL_OK)
        has_face = true;
    id_shown[0] = '\0';
    if (has_dg11 && dg11.has_personal_number) {
        size_t n = strlen(dg11.personal_number);

        id_valid = cl_cn_id_check(dg11.personal_number, n) == CL_OK;
        if (o.show_id)
            hm_strlcpy(id_shown, dg11.personal_number, sizeof(id_shown));
        else
            cl_id_mask(dg11.personal_number, n, id_shown, sizeof(id_shown));
    }
    if (o.face && has_face) {
        FILE *f = fopen(o.face, "wb");

        if (!f || fwrite(face.image, 1, face.image_len, f) != face.image_len) {
            if (f)
                fclose(f);
            ret = hc_usage_error(hc, "cannot write the face image to '%s'", o.face);
            goto out;
        }
        if (fclose(f) != 0) {
            ret = hc_usage_error(hc, "cannot write the face image to '%s'", o.face);
            goto out;
        }
    }
    cl_emrtd_verify(trust, 0, &ev, &v);
    genuine = cl_emrtd_genuine(&v);
    mrz_date(mrz.birth, true, born, sizeof(born));
    mrz_date(mrz.expiry, false, expires, sizeof(expires));
    if (has_dg11 && dg11.has_full_birth)
        snprintf(born, sizeof(born), "%.4s-%.2s-%.2s", dg11.full_birth, dg11.full_birth + 4,
                 dg11.full_birth + 6);

    if (hc->json) {
        json_t *holder = json_pack("{s:s,s:s,s:s,s:s#}", "surname", mrz.primary, "given_names",
                                   mrz.secondary, "birth", born, "sex", &mrz.sex, (size_t)1);

        if (has_dg11 && dg11.has_name)
            json_object_set_new(holder, "name", json_string(dg11.full_name));
        if (id_shown[0]) {
            json_object_set_new(holder, "citizen_id", json_string(id_shown));
            json_object_set_new(holder, "citizen_id_valid", json_boolean(id_valid));
        }
        hc_json_out(json_pack("{s:{s:s,s:s,s:s,s:s,s:s},s:o,s:o*,s:b,s:o}", "document", "format",
                              format_name(mrz.format), "type", mrz.doc_code, "issuer", mrz.issuer,
                              "number", mrz.doc_number, "expiry", expires, "holder", holder, "face",
                              has_face
                                  ? json_pack("{s:s,s:i,s:i,s:I}", "format",
                                              face.format == CL_FACE_JPEG ? "jpeg" : "jpeg2000",
                                              "width", face.width, "height", face.height, "bytes",
                                              (json_int_t)face.image_len)
                                  : NULL,
                              "genuine", genuine, "checks", checks_json(&v)));
    } else {
        printf("Document     %s (%s), issued by %s, number %s, expires %s\n",
               mrz.format == CL_MRZ_TD3 ? "passport" : "ID card", format_name(mrz.format),
               mrz.issuer, mrz.doc_number, expires);
        if (has_dg11 && dg11.has_name)
            printf("Name         %s (%s %s)\n", dg11.full_name, mrz.primary, mrz.secondary);
        else
            printf("Name         %s %s\n", mrz.primary, mrz.secondary);
        printf("Sex          %c\n", mrz.sex);
        printf("Born         %s\n", born);
        if (id_shown[0])
            printf("Citizen ID   %s%s\n", id_shown,
                   id_valid ? "" : "  (its check character is WRONG)");
        if (has_face)
            printf("Face         %s, %ux%u, %zu bytes%s%s\n",
                   face.format == CL_FACE_JPEG ? "JPEG" : "JPEG 2000", face.width, face.height,
                   face.image_len, o.face ? ", saved to " : "", o.face ? o.face : "");
        printf("Checks\n");
        print_checks(&v);
        if (genuine) {
            printf("The document is genuine.\n");
        } else {
            const struct cl_check *f = cl_verdict_first_failure(&v);

            /* Nothing failed: then a check that had to be made was not; say which. */
            for (size_t i = 0; !f && i < v.n; i++)
                if (v.checks[i].state == CL_CHECK_NOT_CHECKED)
                    f = &v.checks[i];
            printf("The document is NOT shown to be genuine: %s%s%s%s. Keep it and call a member "
                   "of staff.\n",
                   f ? f->name : "a required check was not made",
                   f && f->state == CL_CHECK_NOT_CHECKED ? " was not checked" : "", f ? ": " : "",
                   f ? f->reason : "");
        }
    }
    ret = genuine ? HC_EXIT_OK : HC_EXIT_VERIFY;
out:
    cl_card_disconnect(card, false);
    cl_emrtd_evidence_free(&ev);
    cl_emrtd_trust_free(trust);
    return ret;
}

const struct hc_cmd hc_id_cmds[] = {
    { "read-id", "--doc N --birth YYMMDD --expiry YYMMDD [--csca DIR] [--show-id] [--face FILE]",
      "read an ID card or passport chip and check it is genuine", cmd_read_id },
    { NULL, NULL, NULL, NULL },
};
