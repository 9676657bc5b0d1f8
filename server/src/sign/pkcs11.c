/* The PKCS#11 key backend and key generation: the one file that includes pkcs11.h. */
#include "sign_int.h"

#include "hm/log.h"
#include "hm/util.h"

#include <p11-kit/pkcs11.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define P11_LABEL_MAX   128 /* a CKA_LABEL longer than this is a configuration error */
#define P11_PIN_MAX     256
#define P11_TOKEN_LABEL 32 /* CK_TOKEN_INFO.label: blank-padded, not NUL-terminated */
#define P11_ID_LEN      16 /* CKA_ID of generated keys: the start of SHA-256(SPKI) */

/* CKA_EC_PARAMS of a P-256 key: the DER of the OID 1.2.840.10045.3.1.7. */
static const uint8_t p256_params[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };

/* A P-256 SubjectPublicKeyInfo up to its 65-byte uncompressed point:
 * SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (0 unused bits) }. */
static const uint8_t p256_spki_prefix[] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
};
#define P256_POINT_LEN 65
#define P256_SPKI_LEN  (sizeof(p256_spki_prefix) + P256_POINT_LEN)

/* ---- CKR_ codes in logs ------------------------------------------------ */

#define CKR_NAME(code) \
    {                  \
        code, #code    \
    }
static const struct {
    CK_RV rv;
    const char *name;
} ckr_names[] = {
    CKR_NAME(CKR_OK),
    CKR_NAME(CKR_CANCEL),
    CKR_NAME(CKR_HOST_MEMORY),
    CKR_NAME(CKR_SLOT_ID_INVALID),
    CKR_NAME(CKR_GENERAL_ERROR),
    CKR_NAME(CKR_FUNCTION_FAILED),
    CKR_NAME(CKR_ARGUMENTS_BAD),
    CKR_NAME(CKR_ATTRIBUTE_READ_ONLY),
    CKR_NAME(CKR_ATTRIBUTE_TYPE_INVALID),
    CKR_NAME(CKR_ATTRIBUTE_VALUE_INVALID),
    CKR_NAME(CKR_DATA_INVALID),
    CKR_NAME(CKR_DATA_LEN_RANGE),
    CKR_NAME(CKR_DEVICE_ERROR),
    CKR_NAME(CKR_DEVICE_MEMORY),
    CKR_NAME(CKR_DEVICE_REMOVED),
    CKR_NAME(CKR_FUNCTION_NOT_SUPPORTED),
    CKR_NAME(CKR_KEY_HANDLE_INVALID),
    CKR_NAME(CKR_KEY_TYPE_INCONSISTENT),
    CKR_NAME(CKR_KEY_FUNCTION_NOT_PERMITTED),
    CKR_NAME(CKR_MECHANISM_INVALID),
    CKR_NAME(CKR_MECHANISM_PARAM_INVALID),
    CKR_NAME(CKR_OBJECT_HANDLE_INVALID),
    CKR_NAME(CKR_OPERATION_ACTIVE),
    CKR_NAME(CKR_OPERATION_NOT_INITIALIZED),
    CKR_NAME(CKR_PIN_INCORRECT),
    CKR_NAME(CKR_PIN_INVALID),
    CKR_NAME(CKR_PIN_LEN_RANGE),
    CKR_NAME(CKR_PIN_EXPIRED),
    CKR_NAME(CKR_PIN_LOCKED),
    CKR_NAME(CKR_SESSION_CLOSED),
    CKR_NAME(CKR_SESSION_COUNT),
    CKR_NAME(CKR_SESSION_HANDLE_INVALID),
    CKR_NAME(CKR_SESSION_READ_ONLY),
    CKR_NAME(CKR_TEMPLATE_INCOMPLETE),
    CKR_NAME(CKR_TEMPLATE_INCONSISTENT),
    CKR_NAME(CKR_TOKEN_NOT_PRESENT),
    CKR_NAME(CKR_TOKEN_NOT_RECOGNIZED),
    CKR_NAME(CKR_TOKEN_WRITE_PROTECTED),
    CKR_NAME(CKR_USER_ALREADY_LOGGED_IN),
    CKR_NAME(CKR_USER_NOT_LOGGED_IN),
    CKR_NAME(CKR_USER_PIN_NOT_INITIALIZED),
    CKR_NAME(CKR_USER_TYPE_INVALID),
    CKR_NAME(CKR_BUFFER_TOO_SMALL),
    CKR_NAME(CKR_CRYPTOKI_NOT_INITIALIZED),
    CKR_NAME(CKR_CRYPTOKI_ALREADY_INITIALIZED),
    CKR_NAME(CKR_DOMAIN_PARAMS_INVALID),
    CKR_NAME(CKR_CURVE_NOT_SUPPORTED),
};
#undef CKR_NAME

/* The symbolic name of rv, or "CKR_0x..." (in buf) for a code not in the table. */
static const char *ckr_name(CK_RV rv, char *buf, size_t cap)
{
    for (size_t i = 0; i < HM_ARRAY_SIZE(ckr_names); i++)
        if (ckr_names[i].rv == rv)
            return ckr_names[i].name;
    snprintf(buf, cap, "CKR_0x%08lx", (unsigned long)rv);
    return buf;
}

/* Our code for a failed call: a refused PIN means the key cannot be used. */
static hs_rc ckr_to_rc(CK_RV rv)
{
    switch (rv) {
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
    case CKR_PIN_EXPIRED:
    case CKR_PIN_LOCKED:
    case CKR_USER_PIN_NOT_INITIALIZED:
        return HS_E_KEY;
    case CKR_HOST_MEMORY:
        return HS_E_NO_MEMORY;
    default:
        return HS_E_PKCS11;
    }
}

/* Logs "signer: pkcs11 C_Login failed: CKR_PIN_INCORRECT (what)" and maps the code. */
static hs_rc p11_fail(const char *fn, CK_RV rv, const char *what)
{
    char buf[24];

    hm_log_error("signer: pkcs11 %s failed: %s (%s)", fn, ckr_name(rv, buf, sizeof(buf)), what);
    return ckr_to_rc(rv);
}

/* ---- Loaded modules, shared by every signer and keygen in the process --- */

/*
 * A token this process logged in to. PKCS#11 logins belong to the
 * application, not to a session, so a second C_Login on the same token only
 * answers CKR_USER_ALREADY_LOGGED_IN and never checks its PIN. Sharing the
 * login would let a second signer with a wrong PIN in; so one user (a signer
 * or a keygen) per token per process, and the others are refused.
 */
struct p11_login {
    struct p11_login *next;
    CK_SLOT_ID slot;
    bool logout; /* our C_Login made it, so our C_Logout ends it */
};

struct p11_module {
    struct p11_module *next;
    char *path;
    void *dl;
    CK_FUNCTION_LIST *f;
    unsigned refs;
    bool finalize; /* we called C_Initialize, so we call C_Finalize */
    struct p11_login *logins;
};

/* Guards the module list, every module's refs and logins, and C_Login/C_Logout. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct p11_module *modules;

static hs_rc module_load(const char *path, struct p11_module **out)
{
    CK_C_INITIALIZE_ARGS args;
    CK_C_GetFunctionList get_list;
    struct p11_module *m;
    CK_RV rv;
    hs_rc rc;

    m = calloc(1, sizeof(*m));
    if (!m)
        return HS_E_NO_MEMORY;
    m->path = strdup(path);
    if (!m->path) {
        rc = HS_E_NO_MEMORY;
        goto out_free_module;
    }
    m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!m->dl) {
        hm_log_error("signer: cannot load the PKCS#11 module %s: %s", path, dlerror());
        rc = HS_E_PKCS11;
        goto out_free_module;
    }
    get_list = (CK_C_GetFunctionList)dlsym(m->dl, "C_GetFunctionList");
    if (!get_list) {
        hm_log_error("signer: %s is not a PKCS#11 module (no C_GetFunctionList)", path);
        rc = HS_E_PKCS11;
        goto out_close_dl;
    }
    rv = get_list(&m->f);
    if (rv != CKR_OK || !m->f) {
        rc = p11_fail("C_GetFunctionList", rv, path);
        if (rc == HS_OK)
            rc = HS_E_PKCS11;
        goto out_close_dl;
    }

    /* The module may use the operating system's locks: our threads call it
     * concurrently, each on its own session. */
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    rv = m->f->C_Initialize(&args);
    if (rv == CKR_OK) {
        m->finalize = true;
    } else if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        /* Something else in the process initialised it; it finalises it too. */
        m->finalize = false;
    } else {
        rc = p11_fail("C_Initialize", rv, path);
        goto out_close_dl;
    }
    m->refs = 1;
    *out = m;
    return HS_OK;

out_close_dl:
    dlclose(m->dl);
out_free_module:
    free(m->path);
    free(m);
    return rc;
}

/* Loads and initialises the module at path once per process; counted. */
static hs_rc module_get(const char *path, struct p11_module **out)
{
    struct p11_module *m;
    hs_rc rc = HS_OK;

    pthread_mutex_lock(&registry_lock);
    for (m = modules; m; m = m->next)
        if (strcmp(m->path, path) == 0)
            break;
    if (m) {
        m->refs++;
    } else {
        rc = module_load(path, &m);
        if (rc == HS_OK) {
            m->next = modules;
            modules = m;
        }
    }
    pthread_mutex_unlock(&registry_lock);
    *out = rc == HS_OK ? m : NULL;
    return rc;
}

/* Drops one reference; the last one finalises and unloads the module. */
static void module_put(struct p11_module *m)
{
    struct p11_module **pp;

    if (!m)
        return;
    pthread_mutex_lock(&registry_lock);
    if (--m->refs == 0) {
        for (pp = &modules; *pp; pp = &(*pp)->next) {
            if (*pp == m) {
                *pp = m->next;
                break;
            }
        }
        if (m->finalize)
            m->f->C_Finalize(NULL);
        dlclose(m->dl);
        free(m->path);
        free(m);
    }
    pthread_mutex_unlock(&registry_lock);
}

/* True when the blank-padded token label equals want. */
static bool token_label_eq(const CK_UTF8CHAR label[P11_TOKEN_LABEL], const char *want)
{
    size_t n = strlen(want);

    if (n > P11_TOKEN_LABEL || memcmp(label, want, n) != 0)
        return false;
    for (size_t i = n; i < P11_TOKEN_LABEL; i++)
        if (label[i] != ' ')
            return false;
    return true;
}

/* Finds the slot whose token is labelled token_label. */
static hs_rc find_slot(struct p11_module *m, const char *token_label, CK_SLOT_ID *slot)
{
    CK_SLOT_ID *slots = NULL;
    CK_ULONG n = 0;
    CK_TOKEN_INFO info;
    CK_RV rv;
    hs_rc rc = HS_E_KEY;

    rv = m->f->C_GetSlotList(CK_TRUE, NULL, &n);
    if (rv != CKR_OK)
        return p11_fail("C_GetSlotList", rv, m->path);
    if (n > 0) {
        slots = calloc(n, sizeof(*slots));
        if (!slots)
            return HS_E_NO_MEMORY;
        rv = m->f->C_GetSlotList(CK_TRUE, slots, &n);
        if (rv != CKR_OK) {
            rc = p11_fail("C_GetSlotList", rv, m->path);
            goto out_free_slots;
        }
    }
    for (CK_ULONG i = 0; i < n; i++) {
        rv = m->f->C_GetTokenInfo(slots[i], &info);
        if (rv != CKR_OK)
            continue; /* a token removed meanwhile is not the one we want */
        if (token_label_eq(info.label, token_label)) {
            *slot = slots[i];
            rc = HS_OK;
            goto out_free_slots;
        }
    }
    hm_log_error("signer: no PKCS#11 token labelled \"%s\" in %s (%lu tokens present)", token_label,
                 m->path, (unsigned long)n);

out_free_slots:
    free(slots);
    return rc;
}

/*
 * Logs the user in on session h and records the token as in use. A token
 * another signer of ours is using is refused (HS_E_CONFLICT). When C_Login
 * answers CKR_USER_ALREADY_LOGGED_IN for a token we do not hold, another
 * library in the process logged in; we use that login, warn that the PIN was
 * not checked, and leave the logout to its owner. The copy of the PIN is
 * wiped before returning.
 */
static hs_rc login_user(struct p11_module *m, CK_SLOT_ID slot, CK_SESSION_HANDLE h, const char *pin)
{
    CK_UTF8CHAR buf[P11_PIN_MAX];
    size_t n = strlen(pin);
    struct p11_login *l;
    hs_rc rc = HS_OK;
    CK_RV rv;

    if (n == 0 || n > sizeof(buf)) {
        hm_log_error("signer: the PKCS#11 PIN must have 1 to %zu characters", sizeof(buf));
        return HS_E_KEY;
    }
    l = calloc(1, sizeof(*l));
    if (!l)
        return HS_E_NO_MEMORY;
    pthread_mutex_lock(&registry_lock);
    for (struct p11_login *o = m->logins; o; o = o->next) {
        if (o->slot == slot) {
            hm_log_error("signer: the PKCS#11 token is in use by another signer in this "
                         "process (PKCS#11 shares one login per process; open one signer "
                         "per token)");
            rc = HS_E_CONFLICT;
            goto out_unlock;
        }
    }
    memcpy(buf, pin, n);
    rv = m->f->C_Login(h, CKU_USER, buf, (CK_ULONG)n);
    hm_wipe(buf, sizeof(buf));
    if (rv == CKR_USER_ALREADY_LOGGED_IN) {
        hm_log_warn("signer: pkcs11 C_Login: CKR_USER_ALREADY_LOGGED_IN: another part of "
                    "this process logged in to the token; using that login, the PIN was "
                    "not checked");
    } else if (rv != CKR_OK) {
        rc = p11_fail("C_Login", rv, "user PIN refused or token failed");
        goto out_unlock;
    }
    l->slot = slot;
    l->logout = rv == CKR_OK;
    l->next = m->logins;
    m->logins = l;
    l = NULL;

out_unlock:
    pthread_mutex_unlock(&registry_lock);
    free(l);
    return rc;
}

/* Releases the token; logs out on session h if our login_user logged in. */
static void logout_user(struct p11_module *m, CK_SLOT_ID slot, CK_SESSION_HANDLE h)
{
    struct p11_login **pp, *l;

    pthread_mutex_lock(&registry_lock);
    for (pp = &m->logins; (l = *pp) != NULL; pp = &l->next) {
        if (l->slot != slot)
            continue;
        *pp = l->next;
        if (l->logout)
            m->f->C_Logout(h);
        free(l);
        break;
    }
    pthread_mutex_unlock(&registry_lock);
}

/*
 * Finds up to two objects labelled label (of class cls unless cls is
 * (CK_OBJECT_CLASS)-1); *count says how many, so callers can refuse both
 * none and an ambiguous label.
 */
static hs_rc find_by_label(struct p11_module *m, CK_SESSION_HANDLE h, const char *label,
                           CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *obj, CK_ULONG *count)
{
    char label_buf[P11_LABEL_MAX];
    CK_OBJECT_HANDLE found[2];
    CK_ATTRIBUTE tmpl[2];
    CK_ULONG nt = 0;
    CK_RV rv;
    size_t n = hm_strlcpy(label_buf, label, sizeof(label_buf));

    tmpl[nt++] = (CK_ATTRIBUTE){ CKA_LABEL, label_buf, (CK_ULONG)n };
    if (cls != (CK_OBJECT_CLASS)-1)
        tmpl[nt++] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
    rv = m->f->C_FindObjectsInit(h, tmpl, nt);
    if (rv != CKR_OK)
        return p11_fail("C_FindObjectsInit", rv, label);
    *count = 0;
    rv = m->f->C_FindObjects(h, found, HM_ARRAY_SIZE(found), count);
    m->f->C_FindObjectsFinal(h);
    if (rv != CKR_OK)
        return p11_fail("C_FindObjects", rv, label);
    if (*count > 0)
        *obj = found[0];
    return HS_OK;
}

/* ---- The signer backend ------------------------------------------------- */

/* One session with the key found in it; idle ones wait in a list. */
struct p11_session {
    struct p11_session *next;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE key;
};

struct p11_signer {
    struct p11_module *mod;
    CK_SLOT_ID slot;
    char token_label[P11_TOKEN_LABEL + 1];
    char key_label[P11_LABEL_MAX];
    /* Opened first and kept open: the login lasts while the application has
     * a session, and this one is never closed until the signer is freed. */
    CK_SESSION_HANDLE login_h;
    bool have_login_h;
    bool logged_in;
    /* A thread signs on a session of its own, taken from idle or opened on
     * demand, so there are as many sessions as threads signing at once. */
    pthread_mutex_t lock; /* guards idle */
    struct p11_session *idle;
};

static void session_close(struct p11_signer *ps, struct p11_session *sess)
{
    ps->mod->f->C_CloseSession(sess->h);
    free(sess);
}

/* Opens a session and finds the private key in it. */
static hs_rc session_new(struct p11_signer *ps, struct p11_session **out)
{
    struct p11_session *sess;
    CK_ULONG count;
    CK_RV rv;
    hs_rc rc;

    sess = calloc(1, sizeof(*sess));
    if (!sess)
        return HS_E_NO_MEMORY;
    rv = ps->mod->f->C_OpenSession(ps->slot, CKF_SERIAL_SESSION, NULL, NULL, &sess->h);
    if (rv != CKR_OK) {
        free(sess);
        return p11_fail("C_OpenSession", rv, ps->token_label);
    }
    rc = find_by_label(ps->mod, sess->h, ps->key_label, CKO_PRIVATE_KEY, &sess->key, &count);
    if (rc == HS_OK && count != 1) {
        hm_log_error("signer: %s private key labelled \"%s\" in token \"%s\"",
                     count == 0 ? "no" : "more than one", ps->key_label, ps->token_label);
        rc = HS_E_KEY;
    }
    if (rc != HS_OK) {
        session_close(ps, sess);
        return rc;
    }
    *out = sess;
    return HS_OK;
}

/* HS_OK when the key's CKA_EC_PARAMS name P-256. */
static hs_rc check_p256(struct p11_signer *ps, struct p11_session *sess)
{
    uint8_t params[32];
    CK_ATTRIBUTE attr = { CKA_EC_PARAMS, params, sizeof(params) };
    CK_RV rv;

    rv = ps->mod->f->C_GetAttributeValue(sess->h, sess->key, &attr, 1);
    if (rv != CKR_OK)
        return p11_fail("C_GetAttributeValue(CKA_EC_PARAMS)", rv, ps->key_label);
    if (attr.ulValueLen != sizeof(p256_params) ||
        memcmp(params, p256_params, sizeof(p256_params)) != 0) {
        hm_log_error("signer: the key \"%s\" is not an EC P-256 key (ES256 needs one)",
                     ps->key_label);
        return HS_E_KEY;
    }
    return HS_OK;
}

static void p11_close(void *ctx)
{
    struct p11_signer *ps = ctx;
    struct p11_session *sess;

    if (!ps)
        return;
    while ((sess = ps->idle) != NULL) {
        ps->idle = sess->next;
        session_close(ps, sess);
    }
    if (ps->logged_in)
        logout_user(ps->mod, ps->slot, ps->login_h);
    if (ps->have_login_h)
        ps->mod->f->C_CloseSession(ps->login_h);
    module_put(ps->mod);
    pthread_mutex_destroy(&ps->lock);
    free(ps);
}

static hs_rc p11_open(const struct hs_signer_config *cfg, void **ctx)
{
    struct p11_signer *ps;
    struct p11_session *sess = NULL;
    CK_RV rv;
    hs_rc rc;

    *ctx = NULL;
    if (!cfg->module || !cfg->token_label || !cfg->pin || !cfg->key_label) {
        hm_log_error("signer: kind pkcs11 needs a module, a token label, a PIN and a key label");
        return HS_E_CONFIG;
    }
    if (strlen(cfg->key_label) >= P11_LABEL_MAX || strlen(cfg->token_label) > P11_TOKEN_LABEL) {
        hm_log_error("signer: the PKCS#11 token or key label is too long");
        return HS_E_CONFIG;
    }
    ps = calloc(1, sizeof(*ps));
    if (!ps)
        return HS_E_NO_MEMORY;
    if (pthread_mutex_init(&ps->lock, NULL) != 0) {
        free(ps);
        return HS_E_INTERNAL;
    }
    hm_strlcpy(ps->token_label, cfg->token_label, sizeof(ps->token_label));
    hm_strlcpy(ps->key_label, cfg->key_label, sizeof(ps->key_label));

    rc = module_get(cfg->module, &ps->mod);
    if (rc != HS_OK) {
        pthread_mutex_destroy(&ps->lock);
        free(ps);
        return rc;
    }
    rc = find_slot(ps->mod, cfg->token_label, &ps->slot);
    if (rc != HS_OK)
        goto out_close;
    rv = ps->mod->f->C_OpenSession(ps->slot, CKF_SERIAL_SESSION, NULL, NULL, &ps->login_h);
    if (rv != CKR_OK) {
        rc = p11_fail("C_OpenSession", rv, cfg->token_label);
        goto out_close;
    }
    ps->have_login_h = true;
    rc = login_user(ps->mod, ps->slot, ps->login_h, cfg->pin);
    if (rc != HS_OK)
        goto out_close;
    ps->logged_in = true;

    /* One session now, so a missing key is found at open, not at the first answer. */
    rc = session_new(ps, &sess);
    if (rc != HS_OK)
        goto out_close;
    ps->idle = sess;
    rc = check_p256(ps, sess);
    if (rc != HS_OK)
        goto out_close;
    *ctx = ps;
    return HS_OK;

out_close:
    p11_close(ps);
    return rc;
}

static hs_rc p11_sign_digest(void *ctx, const uint8_t digest[HS_SHA256_LEN],
                             uint8_t sig[HS_ES256_SIG_LEN])
{
    struct p11_signer *ps = ctx;
    CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
    uint8_t data[HS_SHA256_LEN];
    struct p11_session *sess;
    CK_ULONG sig_len = HS_ES256_SIG_LEN;
    CK_RV rv;
    hs_rc rc;

    pthread_mutex_lock(&ps->lock);
    sess = ps->idle;
    if (sess)
        ps->idle = sess->next;
    pthread_mutex_unlock(&ps->lock);
    if (!sess) {
        rc = session_new(ps, &sess);
        if (rc != HS_OK)
            return rc;
    }

    /* CKM_ECDSA signs the digest as given and returns r||s (PKCS#11 2.40, 2.3.1). */
    memcpy(data, digest, sizeof(data));
    rv = ps->mod->f->C_SignInit(sess->h, &mech, sess->key);
    if (rv == CKR_OK)
        rv = ps->mod->f->C_Sign(sess->h, data, sizeof(data), sig, &sig_len);
    if (rv != CKR_OK) {
        /* A fresh session next time; whatever broke this one stays with it. */
        rc = p11_fail("C_Sign", rv, ps->key_label);
        session_close(ps, sess);
        return rc;
    }
    if (sig_len != HS_ES256_SIG_LEN) {
        hm_log_error("signer: pkcs11 C_Sign returned %lu bytes, not the 64 of P-256 r||s",
                     (unsigned long)sig_len);
        rc = HS_E_PKCS11;
    } else {
        rc = HS_OK;
    }
    pthread_mutex_lock(&ps->lock);
    sess->next = ps->idle;
    ps->idle = sess;
    pthread_mutex_unlock(&ps->lock);
    return rc;
}

const struct hs_signer_ops hs_signer_pkcs11_ops = {
    .name = "pkcs11",
    .open = p11_open,
    .sign_digest = p11_sign_digest,
    .close = p11_close,
};

/* ---- Key generation for the admin tool --------------------------------- */

/* Reads CKA_EC_POINT of pub (a DER OCTET STRING, or the bare point from some
 * modules) and builds the SubjectPublicKeyInfo. */
static hs_rc read_spki(struct p11_module *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE pub,
                       uint8_t **spki, size_t *spki_len)
{
    uint8_t point[80];
    CK_ATTRIBUTE attr = { CKA_EC_POINT, point, sizeof(point) };
    const uint8_t *q;
    uint8_t *out;
    CK_RV rv;

    rv = m->f->C_GetAttributeValue(h, pub, &attr, 1);
    if (rv != CKR_OK)
        return p11_fail("C_GetAttributeValue(CKA_EC_POINT)", rv, "new public key");
    if (attr.ulValueLen == P256_POINT_LEN + 2 && point[0] == 0x04 && point[1] == P256_POINT_LEN &&
        point[2] == 0x04)
        q = point + 2;
    else if (attr.ulValueLen == P256_POINT_LEN && point[0] == 0x04)
        q = point;
    else {
        hm_log_error("signer: the token returned a CKA_EC_POINT that is not an uncompressed "
                     "P-256 point (%lu bytes)",
                     (unsigned long)attr.ulValueLen);
        return HS_E_PKCS11;
    }
    out = malloc(P256_SPKI_LEN);
    if (!out)
        return HS_E_NO_MEMORY;
    memcpy(out, p256_spki_prefix, sizeof(p256_spki_prefix));
    memcpy(out + sizeof(p256_spki_prefix), q, P256_POINT_LEN);
    *spki = out;
    *spki_len = P256_SPKI_LEN;
    return HS_OK;
}

hs_rc hs_p11_keygen(const char *module, const char *token_label, const char *pin,
                    const char *key_label, uint8_t **spki_der, size_t *spki_len)
{
    CK_MECHANISM mech = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    uint8_t params[sizeof(p256_params)];
    char label[P11_LABEL_MAX];
    uint8_t digest[HS_SHA256_LEN];
    struct p11_module *m;
    CK_OBJECT_HANDLE pub, priv, existing;
    CK_SESSION_HANDLE h;
    CK_SLOT_ID slot;
    CK_ULONG count, label_len;
    CK_RV rv;
    hs_rc rc;

    if (!spki_der || !spki_len)
        return HS_E_INVALID_ARG;
    *spki_der = NULL;
    *spki_len = 0;
    if (!module || !token_label || !pin || !key_label || !*key_label)
        return HS_E_INVALID_ARG;
    label_len = (CK_ULONG)hm_strlcpy(label, key_label, sizeof(label));
    if (label_len >= sizeof(label))
        return HS_E_INVALID_ARG;
    memcpy(params, p256_params, sizeof(params));

    CK_ATTRIBUTE pub_tmpl[] = {
        { CKA_TOKEN, &yes, sizeof(yes) },  { CKA_PRIVATE, &no, sizeof(no) },
        { CKA_VERIFY, &yes, sizeof(yes) }, { CKA_EC_PARAMS, params, sizeof(params) },
        { CKA_LABEL, label, label_len },
    };
    CK_ATTRIBUTE priv_tmpl[] = {
        { CKA_TOKEN, &yes, sizeof(yes) },     { CKA_PRIVATE, &yes, sizeof(yes) },
        { CKA_SENSITIVE, &yes, sizeof(yes) }, { CKA_EXTRACTABLE, &no, sizeof(no) },
        { CKA_SIGN, &yes, sizeof(yes) },      { CKA_DECRYPT, &no, sizeof(no) },
        { CKA_DERIVE, &no, sizeof(no) },      { CKA_LABEL, label, label_len },
    };

    rc = module_get(module, &m);
    if (rc != HS_OK)
        return rc;
    rc = find_slot(m, token_label, &slot);
    if (rc != HS_OK)
        goto out_put;
    rv = m->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h);
    if (rv != CKR_OK) {
        rc = p11_fail("C_OpenSession", rv, token_label);
        goto out_put;
    }
    rc = login_user(m, slot, h, pin);
    if (rc != HS_OK)
        goto out_close_session;

    /* Private objects are visible only after login, so this sees them all. */
    rc = find_by_label(m, h, key_label, (CK_OBJECT_CLASS)-1, &existing, &count);
    if (rc != HS_OK)
        goto out_logout;
    if (count > 0) {
        hm_log_error("signer: token \"%s\" has an object labelled \"%s\" already; "
                     "not generating another",
                     token_label, key_label);
        rc = HS_E_CONFLICT;
        goto out_logout;
    }

    rv = m->f->C_GenerateKeyPair(h, &mech, pub_tmpl, HM_ARRAY_SIZE(pub_tmpl), priv_tmpl,
                                 HM_ARRAY_SIZE(priv_tmpl), &pub, &priv);
    if (rv != CKR_OK) {
        rc = p11_fail("C_GenerateKeyPair", rv, key_label);
        goto out_logout;
    }
    rc = read_spki(m, h, pub, spki_der, spki_len);
    if (rc != HS_OK) {
        /* Leave no half-made key behind under a label the next try would refuse. */
        m->f->C_DestroyObject(h, priv);
        m->f->C_DestroyObject(h, pub);
        goto out_logout;
    }

    /* CKA_ID ties both halves together for other PKCS#11 tools (pkcs11-tool
     * --id); it is the start of the same digest the kid is made from. */
    hs_sha256(*spki_der, *spki_len, digest);
    CK_ATTRIBUTE id = { CKA_ID, digest, P11_ID_LEN };
    if (m->f->C_SetAttributeValue(h, priv, &id, 1) != CKR_OK ||
        m->f->C_SetAttributeValue(h, pub, &id, 1) != CKR_OK)
        hm_log_warn("signer: could not set CKA_ID on the new key \"%s\"", key_label);
    hm_log_info("signer: generated P-256 key \"%s\" in token \"%s\"", key_label, token_label);

out_logout:
    logout_user(m, slot, h);
out_close_session:
    m->f->C_CloseSession(h);
out_put:
    module_put(m);
    return rc;
}
