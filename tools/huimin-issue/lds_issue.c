/* Issues ICAO 9303 test documents (CSCA, Document Signers, signed LDS, generated faces) so the ID
 * card flow can be tested and demonstrated with cards whose every byte we control. */
#include "lds_issue.h"

#include "cl/emrtd.h"
#include "cl/tlv.h"
#include "hm/cursor.h"
#include "hm/hex.h"
#include "hm/util.h"

#include <jansson.h>
#include <jpeglib.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LDS_FILE_MAX (256u * 1024u)
#define FACE_W       240
#define FACE_H       320

static const char id_card_atr[] = "3B 88 80 01 48 55 49 4D 49 4E 49 44 1A";

void id_lds_init(struct id_lds *l)
{
    struct hm_buf *all[] = { &l->com, &l->dg1, &l->dg2, &l->dg11, &l->dg14, &l->dg15, &l->sod };

    for (size_t i = 0; i < HM_ARRAY_SIZE(all); i++)
        hm_buf_init(all[i], LDS_FILE_MAX);
}

void id_lds_free(struct id_lds *l)
{
    struct hm_buf *all[] = { &l->com, &l->dg1, &l->dg2, &l->dg11, &l->dg14, &l->dg15, &l->sod };

    for (size_t i = 0; i < HM_ARRAY_SIZE(all); i++)
        hm_buf_free(all[i]);
}

/* ---- DER assembly ---------------------------------------------------------- */

/* Appends tag, length and value to b. */
static bool put(struct hm_buf *b, uint32_t tag, const void *v, size_t n)
{
    uint8_t hdr[8];
    struct hm_writer w = hm_writer_make(hdr, sizeof(hdr));

    cl_tlv_put_header(&w, tag, n);
    return hm_writer_ok(&w) && hm_buf_add(b, hdr, w.len) && (n == 0 || hm_buf_add(b, v, n));
}

/* Wraps what b holds in one object with the tag. */
static bool wrap(struct hm_buf *b, uint32_t tag)
{
    struct hm_buf t;
    bool ok;

    hm_buf_init(&t, LDS_FILE_MAX);
    ok = put(&t, tag, b->data, b->len);
    if (ok) {
        hm_buf_reset(b);
        ok = hm_buf_add(b, t.data, t.len);
    }
    hm_buf_free(&t);
    return ok;
}

static bool put_str(struct hm_buf *b, uint32_t tag, const char *s)
{
    return put(b, tag, s, strlen(s));
}

/* ---- MRZ ------------------------------------------------------------------- */

/* Copies s into out[0..n) in upper case, spaces as '<', padded with '<'. False if too long or
 * not A-Z 0-9. */
static bool field(char *out, size_t n, const char *s)
{
    size_t len = s ? strlen(s) : 0;

    if (len > n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = i < len ? s[i] : '<';

        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c == ' ')
            c = '<';
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '<'))
            return false;
        out[i] = c;
    }
    return true;
}

static bool name_field(char *out, size_t n, const char *surname, const char *given)
{
    char tmp[96];
    int len = snprintf(tmp, sizeof(tmp), "%s<<%s", surname, given);

    return len > 0 && (size_t)len <= n && field(out, n, tmp);
}

static bool digit(char *out, const char *s, size_t n)
{
    int d = cl_emrtd_check_digit(s, n);

    if (d < 0)
        return false;
    *out = (char)('0' + d);
    return true;
}

int id_make_mrz(const struct id_holder *h, char *out, size_t cap)
{
    char m[CL_MRZ_MAX + 1];

    memset(m, '<', sizeof(m));
    if (h->format == CL_MRZ_TD1) {
        char *l1 = m, *l2 = m + 30, *l3 = m + 60;
        char comp[60];

        if (cap < 91 || !field(l1, 2, "ID") || !field(l1 + 2, 3, h->issuer) ||
            !field(l1 + 5, 9, h->doc_number) || !digit(l1 + 14, l1 + 5, 9) ||
            !field(l2, 6, h->birth) || !digit(l2 + 6, l2, 6) || !field(l2 + 8, 6, h->expiry) ||
            !digit(l2 + 14, l2 + 8, 6) || !field(l2 + 15, 3, h->nationality) ||
            !name_field(l3, 30, h->surname, h->given))
            return -1;
        l2[7] = h->sex;
        memcpy(comp, l1 + 5, 25);
        memcpy(comp + 25, l2, 7);
        memcpy(comp + 32, l2 + 8, 7);
        memcpy(comp + 39, l2 + 18, 11);
        if (!digit(l2 + 29, comp, 50))
            return -1;
        memcpy(out, m, 90);
        out[90] = '\0';
        return 0;
    }
    if (h->format == CL_MRZ_TD3) {
        char *l1 = m, *l2 = m + 44;
        char comp[44];

        if (cap < 89 || !field(l1, 2, "P") || !field(l1 + 2, 3, h->issuer) ||
            !name_field(l1 + 5, 39, h->surname, h->given) || !field(l2, 9, h->doc_number) ||
            !digit(l2 + 9, l2, 9) || !field(l2 + 10, 3, h->nationality) ||
            !field(l2 + 13, 6, h->birth) || !digit(l2 + 19, l2 + 13, 6) ||
            !field(l2 + 21, 6, h->expiry) || !digit(l2 + 27, l2 + 21, 6))
            return -1;
        l2[20] = h->sex;
        l2[42] = '<'; /* no personal number: its check digit is a filler */
        memcpy(comp, l2, 10);
        memcpy(comp + 10, l2 + 13, 7);
        memcpy(comp + 17, l2 + 21, 22);
        if (!digit(l2 + 43, comp, 39))
            return -1;
        memcpy(out, m, 88);
        out[88] = '\0';
        return 0;
    }
    return -1;
}

/* ---- Face ------------------------------------------------------------------ */

struct rgb {
    uint8_t r, g, b;
};

static void fill_ellipse(uint8_t *img, double cx, double cy, double rx, double ry, struct rgb c)
{
    for (int y = 0; y < FACE_H; y++)
        for (int x = 0; x < FACE_W; x++) {
            double dx = (x - cx) / rx, dy = (y - cy) / ry;

            if (dx * dx + dy * dy <= 1.0) {
                uint8_t *p = img + ((size_t)y * FACE_W + (size_t)x) * 3;

                p[0] = c.r;
                p[1] = c.g;
                p[2] = c.b;
            }
        }
}

static uint32_t next_rand(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7FFF;
}

int id_face_jpeg(uint32_t seed, uint8_t **out, size_t *len)
{
    static const struct rgb skins[] = { { 236, 200, 170 }, { 224, 184, 150 }, { 210, 165, 128 } };
    static const struct rgb hairs[] = { { 30, 28, 28 }, { 70, 60, 55 }, { 190, 190, 190 } };
    static const struct rgb coats[] = { { 40, 60, 110 }, { 60, 60, 60 }, { 120, 40, 40 } };
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    uint8_t *img = malloc((size_t)FACE_W * FACE_H * 3);
    unsigned char *mem = NULL;
    unsigned long mem_len = 0;
    uint32_t s = seed ? seed : 1;
    struct rgb skin = skins[next_rand(&s) % 3], hair = hairs[next_rand(&s) % 3],
               coat = coats[next_rand(&s) % 3];
    double face_w = 62 + next_rand(&s) % 10, hair_h = 28 + next_rand(&s) % 16;

    if (!img)
        return -1;
    for (size_t i = 0; i < (size_t)FACE_W * FACE_H; i++) { /* a pale blue photo background */
        img[i * 3] = 226;
        img[i * 3 + 1] = 236;
        img[i * 3 + 2] = 246;
    }
    fill_ellipse(img, 120, 330, 115, 85, coat);           /* shoulders */
    fill_ellipse(img, 120, 236, 28, 30, skin);            /* neck */
    fill_ellipse(img, 120, 128, face_w + 6, 92, hair);    /* hair behind */
    fill_ellipse(img, 120, 150, face_w, 82, skin);        /* face */
    fill_ellipse(img, 120, 72, face_w + 2, hair_h, hair); /* fringe */
    fill_ellipse(img, 120 - face_w, 152, 10, 18, skin);   /* ears */
    fill_ellipse(img, 120 + face_w, 152, 10, 18, skin);
    fill_ellipse(img, 96, 140, 11, 6, (struct rgb){ 250, 250, 250 }); /* eyes */
    fill_ellipse(img, 144, 140, 11, 6, (struct rgb){ 250, 250, 250 });
    fill_ellipse(img, 96, 140, 5, 5, (struct rgb){ 40, 30, 25 });
    fill_ellipse(img, 144, 140, 5, 5, (struct rgb){ 40, 30, 25 });
    fill_ellipse(img, 96, 124, 14, 3, hair); /* brows */
    fill_ellipse(img, 144, 124, 14, 3, hair);
    fill_ellipse(img, 120, 172, 6, 12, (struct rgb){ skin.r - 25, skin.g - 30, skin.b - 30 });
    fill_ellipse(img, 120, 200, 20, 5, (struct rgb){ 170, 80, 80 }); /* mouth */

    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &mem, &mem_len);
    cinfo.image_width = FACE_W;
    cinfo.image_height = FACE_H;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 80, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = img + (size_t)cinfo.next_scanline * FACE_W * 3;

        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    free(img);
    if (!mem || mem_len == 0) {
        free(mem);
        return -1;
    }
    *out = mem;
    *len = (size_t)mem_len;
    return 0;
}

/* ---- Data groups ------------------------------------------------------------- */

static void be(uint8_t *p, uint32_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* DG2: the CBEFF templates around an ISO/IEC 19794-5 facial record with one JPEG image. */
static bool build_dg2(struct hm_buf *dg2, char sex, const uint8_t *jpeg, size_t jpeg_len)
{
    static const uint8_t header[] = { 0x80, 0x02, 0x01, 0x01, 0x81, 0x01, 0x02, 0x87,
                                      0x02, 0x01, 0x01, 0x88, 0x02, 0x00, 0x08 };
    static const uint8_t count[] = { 0x02, 0x01, 0x01 };
    uint8_t head[14 + 20 + 12];
    uint32_t block = 20 + 12 + (uint32_t)jpeg_len;
    struct hm_buf rec, inner;
    bool ok;

    memset(head, 0, sizeof(head));
    memcpy(head,
           "FAC\0"
           "010\0",
           8);
    be(head + 8, 14 + block, 4);
    be(head + 12, 1, 2);
    be(head + 14, block, 4);
    head[14 + 6] = sex == 'M' ? 1 : sex == 'F' ? 2 : 0;
    head[34] = 1; /* full frontal */
    head[35] = 0; /* JPEG */
    be(head + 36, FACE_W, 2);
    be(head + 38, FACE_H, 2);
    head[40] = 1; /* 24-bit RGB */
    head[41] = 2; /* digital still camera */
    hm_buf_init(&rec, LDS_FILE_MAX);
    hm_buf_init(&inner, LDS_FILE_MAX);
    ok = hm_buf_add(&rec, head, sizeof(head)) && hm_buf_add(&rec, jpeg, jpeg_len) &&
         put(&inner, 0xA1, header, sizeof(header)) && put(&inner, 0x5F2E, rec.data, rec.len) &&
         wrap(&inner, 0x7F60);
    hm_buf_reset(dg2);
    ok = ok && hm_buf_add(dg2, count, sizeof(count)) && hm_buf_add(dg2, inner.data, inner.len) &&
         wrap(dg2, 0x7F61) && wrap(dg2, CL_LDS_TAG_DG2);
    hm_buf_free(&rec);
    hm_buf_free(&inner);
    return ok;
}

static bool build_dg11(struct hm_buf *dg11, const struct id_holder *h)
{
    const struct {
        uint16_t tag;
        const char *value;
    } fields[] = { { 0x5F0E, h->name },
                   { 0x5F10, h->citizen_id },
                   { 0x5F2B, h->full_birth },
                   { 0x5F11, h->place_of_birth },
                   { 0x5F42, h->address } };
    struct hm_buf body, tags;
    bool ok = true;

    hm_buf_init(&body, 4096);
    hm_buf_init(&tags, 64);
    for (size_t i = 0; ok && i < HM_ARRAY_SIZE(fields); i++) {
        uint8_t t[2] = { (uint8_t)(fields[i].tag >> 8), (uint8_t)fields[i].tag };

        if (fields[i].value)
            ok = hm_buf_add(&tags, t, 2) && put_str(&body, fields[i].tag, fields[i].value);
    }
    hm_buf_reset(dg11);
    ok = ok && put(dg11, 0x5C, tags.data, tags.len) && hm_buf_add(dg11, body.data, body.len) &&
         wrap(dg11, CL_LDS_TAG_DG11);
    hm_buf_free(&body);
    hm_buf_free(&tags);
    return ok;
}

/* DG14 with one ActiveAuthenticationInfo: version 1, ecdsa-plain-SHA256. */
static bool build_dg14(struct hm_buf *dg14)
{
    static const uint8_t info[] = { 0x30, 0x17, 0x06, 0x06, 0x67, 0x81, 0x08, 0x01, 0x01,
                                    0x05, 0x02, 0x01, 0x01, 0x06, 0x0A, 0x04, 0x00, 0x7F,
                                    0x00, 0x07, 0x01, 0x01, 0x04, 0x01, 0x03 };

    hm_buf_reset(dg14);
    return put(dg14, 0x31, info, sizeof(info)) && wrap(dg14, CL_LDS_TAG_DG14);
}

static bool build_dg15(struct hm_buf *dg15, EVP_PKEY *pub)
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(pub, &der);
    bool ok;

    if (n <= 0)
        return false;
    hm_buf_reset(dg15);
    ok = put(dg15, CL_LDS_TAG_DG15, der, (size_t)n);
    OPENSSL_free(der);
    return ok;
}

static bool build_com(struct hm_buf *com, const struct id_lds *l)
{
    uint8_t tags[8];
    size_t n = 0;
    struct hm_buf body;
    bool ok;

    tags[n++] = CL_LDS_TAG_DG1;
    tags[n++] = CL_LDS_TAG_DG2;
    tags[n++] = CL_LDS_TAG_DG11;
    if (l->dg14.len)
        tags[n++] = CL_LDS_TAG_DG14;
    if (l->dg15.len)
        tags[n++] = CL_LDS_TAG_DG15;
    hm_buf_init(&body, 256);
    ok = put_str(&body, 0x5F01, "0107") && put_str(&body, 0x5F36, "040000") &&
         put(&body, 0x5C, tags, n);
    hm_buf_reset(com);
    ok = ok && put(com, CL_LDS_TAG_COM, body.data, body.len);
    hm_buf_free(&body);
    return ok;
}

int id_sign_sod(const struct pki_ca *ds, struct id_lds *l)
{
    static const uint8_t v0[] = { 0x02, 0x01, 0x00 };
    static const uint8_t sha256[] = { 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                      0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00 };
    const struct {
        int dg;
        const struct hm_buf *b;
    } groups[] = {
        { 1, &l->dg1 }, { 2, &l->dg2 }, { 11, &l->dg11 }, { 14, &l->dg14 }, { 15, &l->dg15 }
    };
    struct hm_buf lso, list;
    CMS_ContentInfo *cms = NULL;
    ASN1_OBJECT *type = NULL;
    BIO *in = NULL;
    unsigned char *der = NULL;
    int der_len = -1;
    bool ok = true;

    hm_buf_init(&lso, 8192);
    hm_buf_init(&list, 8192);
    for (size_t i = 0; ok && i < HM_ARRAY_SIZE(groups); i++) {
        uint8_t md[EVP_MAX_MD_SIZE], entry[64];
        unsigned md_len = 0;
        struct hm_writer w = hm_writer_make(entry, sizeof(entry));

        if (groups[i].b->len == 0)
            continue;
        ok = EVP_Digest(groups[i].b->data, groups[i].b->len, md, &md_len, EVP_sha256(), NULL) == 1;
        hm_writer_u8(&w, 0x02);
        hm_writer_u8(&w, 0x01);
        hm_writer_u8(&w, (uint8_t)groups[i].dg);
        cl_tlv_put(&w, 0x04, md, md_len);
        ok = ok && hm_writer_ok(&w) && put(&list, 0x30, entry, w.len);
    }
    ok = ok && hm_buf_add(&lso, v0, sizeof(v0)) && hm_buf_add(&lso, sha256, sizeof(sha256)) &&
         put(&lso, 0x30, list.data, list.len) && wrap(&lso, 0x30);

    if (ok) {
        cms = CMS_sign(ds->cert, ds->key, NULL, NULL, CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP);
        type = OBJ_txt2obj("2.23.136.1.1.1", 1); /* id-icao-mrtd-security-ldsSecurityObject */
        in = BIO_new_mem_buf(lso.data, (int)lso.len);
        ok = cms && type && in && CMS_set1_eContentType(cms, type) == 1 &&
             CMS_final(cms, in, NULL, CMS_BINARY) == 1 &&
             (der_len = i2d_CMS_ContentInfo(cms, &der)) > 0;
    }
    if (ok) {
        hm_buf_reset(&l->sod);
        ok = put(&l->sod, CL_LDS_TAG_SOD, der, (size_t)der_len);
    }
    OPENSSL_free(der);
    CMS_ContentInfo_free(cms);
    ASN1_OBJECT_free(type);
    BIO_free(in);
    hm_buf_free(&lso);
    hm_buf_free(&list);
    return ok ? 0 : -1;
}

int id_build_lds(const struct id_holder *h, EVP_PKEY *aa_pub, const struct pki_ca *ds,
                 struct id_lds *out, char *err, size_t errcap)
{
    char mrz[CL_MRZ_MAX + 1];
    uint8_t *jpeg = NULL;
    size_t jpeg_len = 0;

    if (id_make_mrz(h, mrz, sizeof(mrz)) != 0) {
        snprintf(err, errcap, "the MRZ fields do not fit (A-Z, 0-9, dates YYMMDD, short names)");
        return -1;
    }
    hm_buf_reset(&out->dg1);
    if (!put_str(&out->dg1, 0x5F1F, mrz) || !wrap(&out->dg1, CL_LDS_TAG_DG1)) {
        snprintf(err, errcap, "DG1 could not be built");
        return -1;
    }
    if (id_face_jpeg(h->face_seed, &jpeg, &jpeg_len) != 0 ||
        !build_dg2(&out->dg2, h->sex, jpeg, jpeg_len)) {
        free(jpeg);
        snprintf(err, errcap, "DG2 (face) could not be built");
        return -1;
    }
    free(jpeg);
    hm_buf_reset(&out->dg14);
    if (!build_dg11(&out->dg11, h) || (EVP_PKEY_is_a(aa_pub, "EC") && !build_dg14(&out->dg14)) ||
        !build_dg15(&out->dg15, aa_pub) || !build_com(&out->com, out)) {
        snprintf(err, errcap, "DG11, DG14, DG15 or EF.COM could not be built");
        return -1;
    }
    if (id_sign_sod(ds, out) != 0) {
        snprintf(err, errcap, "the SOD could not be signed");
        ERR_clear_error();
        return -1;
    }
    return 0;
}

int id_ds_create(const struct pki_ca *csca, struct pki_ca *ds, const char *cn, int not_before_days,
                 int days)
{
    struct pki_holder who = { .name = cn, .org = "Huimin test country" };

    memset(ds, 0, sizeof(*ds));
    ds->key = pki_ec_key();
    if (!ds->key)
        return -1;
    ds->cert = pki_issue(csca, ds->key, &who, 0, not_before_days, days, KU_DIGITAL_SIGNATURE);
    if (!ds->cert) {
        pki_ca_free(ds);
        return -1;
    }
    return 0;
}

/* ---- Card files ---------------------------------------------------------------- */

static json_t *hex_json(const struct hm_buf *b)
{
    size_t cap = b->len * 2 + 1;
    char *s = malloc(cap);
    json_t *j = NULL;

    if (s && hm_hex_encode(b->data, b->len, s, cap))
        j = json_string(s);
    free(s);
    return j;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

int id_write_card(const char *card_path, const struct id_holder *h, const struct id_lds *l,
                  EVP_PKEY *aa_key, const char *aa_key_path)
{
    const struct {
        const char *name;
        const struct hm_buf *b;
    } files[] = { { "EF.COM", &l->com }, { "EF.SOD", &l->sod }, { "DG1", &l->dg1 },
                  { "DG2", &l->dg2 },    { "DG11", &l->dg11 },  { "DG14", &l->dg14 },
                  { "DG15", &l->dg15 } };
    json_t *root = json_object(), *applet = json_object(), *jf = json_object(),
           *applets = json_array();
    int rc = -1;

    if (!root || !applet || !jf || !applets)
        goto out;
    for (size_t i = 0; i < HM_ARRAY_SIZE(files); i++)
        if (files[i].b->len && json_object_set_new(jf, files[i].name, hex_json(files[i].b)) != 0)
            goto out;
    if (pki_write_key(aa_key, aa_key_path) != 0)
        goto out;
    json_object_set_new(applet, "type", json_string("emrtd"));
    json_object_set_new(applet, "mrz",
                        json_pack("{s:s, s:s, s:s}", "document_number", h->doc_number,
                                  "date_of_birth", h->birth, "date_of_expiry", h->expiry));
    json_object_set(applet, "files", jf);
    json_object_set_new(applet, "aa_key", json_string(base_name(aa_key_path)));
    json_array_append(applets, applet);
    json_object_set_new(root, "atr", json_string(id_card_atr));
    json_object_set(root, "applets", applets);
    rc = json_dump_file(root, card_path, JSON_INDENT(2)) == 0 ? 0 : -1;
out:
    json_decref(root);
    json_decref(applet);
    json_decref(jf);
    json_decref(applets);
    return rc;
}

/* ---- The fixture set ------------------------------------------------------------ */

static const struct id_holder zhang = {
    .format = CL_MRZ_TD1,
    .doc_number = "HA1234567",
    .birth = "560312",
    .expiry = "360312",
    .sex = 'F',
    .issuer = "CHN",
    .nationality = "CHN",
    .surname = "ZHANG",
    .given = "XIUYING",
    .name = "张秀英",
    .citizen_id = "110102195603120025",
    .full_birth = "19560312",
    .place_of_birth = "北京市",
    .address = "北京市西城区德胜门外大街 12 号",
    .face_seed = 11,
};

static const struct id_holder wang = {
    .format = CL_MRZ_TD1,
    .doc_number = "HA7654321",
    .birth = "900515",
    .expiry = "400515",
    .sex = 'M',
    .issuer = "CHN",
    .nationality = "CHN",
    .surname = "WANG",
    .given = "JIANGUO",
    .name = "王建国",
    .citizen_id = "330106199005150034",
    .full_birth = "19900515",
    .place_of_birth = "浙江省杭州市",
    .address = "浙江省杭州市西湖区文三路 90 号",
    .face_seed = 22,
};

static const struct id_holder li = {
    .format = CL_MRZ_TD1,
    .doc_number = "HA2468013",
    .birth = "920817",
    .expiry = "420817",
    .sex = 'F',
    .issuer = "CHN",
    .nationality = "CHN",
    .surname = "LI",
    .given = "NA",
    .name = "李娜",
    .citizen_id = "320102199208170046",
    .full_birth = "19920817",
    .place_of_birth = "江苏省南京市",
    .address = "江苏省南京市玄武区中山路 8 号",
    .face_seed = 33,
};

static const struct id_holder chen = {
    .format = CL_MRZ_TD3,
    .doc_number = "EA0123456",
    .birth = "850101",
    .expiry = "330101",
    .sex = 'M',
    .issuer = "CHN",
    .nationality = "CHN",
    .surname = "CHEN",
    .given = "ZHIMING",
    .name = "陈志明",
    .citizen_id = "440304198501010056",
    .full_birth = "19850101",
    .place_of_birth = "广东省深圳市",
    .face_seed = 44,
};

static const struct id_holder zhao = {
    .format = CL_MRZ_TD1,
    .doc_number = "HB0000001",
    .birth = "600101",
    .expiry = "300101",
    .sex = 'F',
    .issuer = "CHN",
    .nationality = "CHN",
    .surname = "ZHAO",
    .given = "MIN",
    .name = "赵敏",
    .citizen_id = "110105196001010068",
    .full_birth = "19600101",
    .place_of_birth = "北京市",
    .face_seed = 55,
};

static const struct id_holder sun = {
    .format = CL_MRZ_TD1,
    .doc_number = "HB0000002",
    .birth = "700707",
    .expiry = "300707",
    .sex = 'M',
    .issuer = "CHN",
    .nationality = "CHN",
    .surname = "SUN",
    .given = "WEI",
    .name = "孙伟",
    .citizen_id = "110108197007070073",
    .full_birth = "19700707",
    .place_of_birth = "北京市",
    .face_seed = 66,
};

static const struct id_holder zhou = {
    .format = CL_MRZ_TD1,
    .doc_number = "HB0000003",
    .birth = "750909",
    .expiry = "300909",
    .sex = 'F',
    .issuer = "CHN",
    .nationality = "CHN",
    .surname = "ZHOU",
    .given = "LI",
    .name = "周丽",
    .citizen_id = "110108197509090082",
    .full_birth = "19750909",
    .place_of_birth = "北京市",
    .face_seed = 77,
};

static const struct id_holder wu = {
    .format = CL_MRZ_TD1,
    .doc_number = "HB0000004",
    .birth = "800303",
    .expiry = "300303",
    .sex = 'M',
    .issuer = "CHN",
    .nationality = "CHN",
    .surname = "WU",
    .given = "GANG",
    .name = "吴刚",
    .citizen_id = "110108198003030095",
    .full_birth = "19800303",
    .place_of_birth = "北京市",
    .face_seed = 88,
};

static EVP_PKEY *rsa_key(void)
{
    return EVP_RSA_gen(2048);
}

enum fault { GENUINE, TAMPER_DG1, CLONE_AA };

static int make_card(const char *dir, const char *name, const struct id_holder *h,
                     const struct pki_ca *ds, bool rsa, enum fault fault, char *err, size_t errcap)
{
    char card[4200], key[4200];
    EVP_PKEY *aa = rsa ? rsa_key() : pki_ec_key(), *chip = NULL;
    struct id_lds l;
    int rc = -1;

    id_lds_init(&l);
    snprintf(card, sizeof(card), "%s/%s.json", dir, name);
    snprintf(key, sizeof(key), "%s/%s-aa.pem", dir, name);
    if (!aa || id_build_lds(h, aa, ds, &l, err, errcap) != 0)
        goto out;
    chip = aa;
    if (fault == TAMPER_DG1) {
        /* The printed MRZ (BAC) stays; the chip's DG1 now claims an earlier birth date. */
        struct id_holder older = *h;
        char mrz[CL_MRZ_MAX + 1];

        older.birth = "400101";
        hm_buf_reset(&l.dg1);
        if (id_make_mrz(&older, mrz, sizeof(mrz)) != 0 || !put_str(&l.dg1, 0x5F1F, mrz) ||
            !wrap(&l.dg1, CL_LDS_TAG_DG1))
            goto out;
    } else if (fault == CLONE_AA) {
        chip = pki_ec_key(); /* a copy of the data on a chip without the original key */
        if (!chip)
            goto out;
    }
    if (id_write_card(card, h, &l, chip, key) != 0) {
        snprintf(err, errcap, "cannot write %s", card);
        goto out;
    }
    rc = 0;
out:
    if (chip != aa)
        EVP_PKEY_free(chip);
    EVP_PKEY_free(aa);
    id_lds_free(&l);
    return rc;
}

int id_fixture_set(const char *dir, char *err, size_t errcap)
{
    struct pki_ca csca = { 0 }, rogue = { 0 }, ds = { 0 }, ds_rogue = { 0 }, ds_expired = { 0 };
    X509_CRL *crl = NULL;
    char trust[4100], path[4200];
    int rc = -1;

    snprintf(trust, sizeof(trust), "%s/trust", dir);
    if ((mkdir(dir, 0700) != 0 && errno != EEXIST) ||
        (mkdir(trust, 0700) != 0 && errno != EEXIST)) {
        snprintf(err, errcap, "cannot create %s", trust);
        return -1;
    }
    if (pki_ca_create(&csca, "Huimin Test CSCA CHN", 3650) != 0 ||
        pki_ca_create(&rogue, "Unknown CSCA", 3650) != 0 ||
        id_ds_create(&csca, &ds, "Huimin Test Document Signer", -1, 3650) != 0 ||
        id_ds_create(&rogue, &ds_rogue, "Rogue Document Signer", -1, 3650) != 0 ||
        id_ds_create(&csca, &ds_expired, "Huimin Expired Document Signer", -400, 30) != 0 ||
        !(crl = pki_crl(&csca, NULL, 0, 3650))) {
        snprintf(err, errcap, "could not create the CSCA and Document Signers");
        goto out;
    }
    snprintf(path, sizeof(path), "%s/csca.pem", trust);
    if (pki_write_cert(csca.cert, path) != 0)
        goto io;
    snprintf(path, sizeof(path), "%s/csca.crl", trust);
    if (pki_write_crl(crl, path) != 0)
        goto io;
    if (make_card(dir, "zhang-td1", &zhang, &ds, false, GENUINE, err, errcap) != 0 ||
        make_card(dir, "wang-td1", &wang, &ds, false, GENUINE, err, errcap) != 0 ||
        make_card(dir, "li-td1", &li, &ds, false, GENUINE, err, errcap) != 0 ||
        make_card(dir, "passport-td3", &chen, &ds, true, GENUINE, err, errcap) != 0 ||
        make_card(dir, "tampered-dg1", &zhao, &ds, false, TAMPER_DG1, err, errcap) != 0 ||
        make_card(dir, "unknown-csca", &sun, &ds_rogue, false, GENUINE, err, errcap) != 0 ||
        make_card(dir, "clone-aa", &zhou, &ds, false, CLONE_AA, err, errcap) != 0 ||
        make_card(dir, "expired-ds", &wu, &ds_expired, false, GENUINE, err, errcap) != 0)
        goto out;
    rc = 0;
    goto out;
io:
    snprintf(err, errcap, "cannot write %s", path);
out:
    X509_CRL_free(crl);
    pki_ca_free(&csca);
    pki_ca_free(&rogue);
    pki_ca_free(&ds);
    pki_ca_free(&ds_rogue);
    pki_ca_free(&ds_expired);
    ERR_clear_error();
    return rc;
}
