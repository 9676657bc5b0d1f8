/* The kiosk's message keys: one enum value per user-visible string (assets/i18n/LANG.ini). */
#ifndef KU_MSGS_H
#define KU_MSGS_H

#define KU_MSG_LIST(X)                                     \
    X(KU_M_APP_TITLE, "app.title")                         \
    X(KU_M_HOME_TAP, "home.tap")                           \
    X(KU_M_HOME_TAP_HINT, "home.tap_hint")                 \
    X(KU_M_BTN_STATUS, "btn.status")                       \
    X(KU_M_BTN_CONFIRM, "btn.confirm")                     \
    X(KU_M_BTN_MARRIAGE, "btn.marriage")                   \
    X(KU_M_BTN_STAFF, "btn.staff")                         \
    X(KU_M_BTN_LANG, "btn.lang")                           \
    X(KU_M_BTN_ELDER_ON, "btn.elder_on")                   \
    X(KU_M_BTN_ELDER_OFF, "btn.elder_off")                 \
    X(KU_M_BTN_HOME, "btn.home")                           \
    X(KU_M_BTN_RETRY, "btn.retry")                         \
    X(KU_M_BTN_FINISH, "btn.finish")                       \
    X(KU_M_BTN_DONE, "btn.done")                           \
    X(KU_M_BTN_MORE_TIME, "btn.more_time")                 \
    X(KU_M_BTN_END, "btn.end")                             \
    X(KU_M_BTN_PREV, "btn.prev")                           \
    X(KU_M_BTN_NEXT, "btn.next")                           \
    X(KU_M_BTN_CANCEL, "btn.cancel")                       \
    X(KU_M_BTN_OK, "btn.ok")                               \
    X(KU_M_BTN_DEL, "btn.del")                             \
    X(KU_M_BTN_CONFIRM_THIS, "btn.confirm_this")           \
    X(KU_M_CARD_TITLE, "card.title")                       \
    X(KU_M_CARD_HELP, "card.help")                         \
    X(KU_M_READING_TITLE, "reading.title")                 \
    X(KU_M_READING_HELP, "reading.help")                   \
    X(KU_M_ERR_PULLED_TITLE, "err.pulled.title")           \
    X(KU_M_ERR_PULLED_HELP, "err.pulled.help")             \
    X(KU_M_ERR_UNREADABLE_TITLE, "err.unreadable.title")   \
    X(KU_M_ERR_UNREADABLE_HELP, "err.unreadable.help")     \
    X(KU_M_ERR_NOT_WELFARE_TITLE, "err.not_welfare.title") \
    X(KU_M_ERR_NOT_WELFARE_HELP, "err.not_welfare.help")   \
    X(KU_M_ERR_REFUSED_TITLE, "err.refused.title")         \
    X(KU_M_ERR_REFUSED_HELP, "err.refused.help")           \
    X(KU_M_ERR_NETWORK_TITLE, "err.network.title")         \
    X(KU_M_ERR_NETWORK_HELP, "err.network.help")           \
    X(KU_M_ERR_FAILED_TITLE, "err.failed.title")           \
    X(KU_M_ERR_FAILED_HELP, "err.failed.help")             \
    X(KU_M_ERR_BLOCKED_TITLE, "err.blocked.title")         \
    X(KU_M_ERR_BLOCKED_HELP, "err.blocked.help")           \
    X(KU_M_ERR_PAY_TITLE, "err.pay.title")                 \
    X(KU_M_ERR_PAY_HELP, "err.pay.help")                   \
    X(KU_M_ERR_READER_TITLE, "err.reader.title")           \
    X(KU_M_ERR_READER_HELP, "err.reader.help")             \
    X(KU_M_STATUS_TITLE, "status.title")                   \
    X(KU_M_STATUS_HELLO, "status.hello")                   \
    X(KU_M_STATUS_CARD_NO, "status.card_no")               \
    X(KU_M_STATUS_ENTITLEMENTS, "status.entitlements")     \
    X(KU_M_STATUS_PAYMENTS, "status.payments")             \
    X(KU_M_STATUS_PER_MONTH, "status.per_month")           \
    X(KU_M_STATUS_AMOUNT, "status.amount")                 \
    X(KU_M_STATUS_YEAR_TOTAL, "status.year_total")         \
    X(KU_M_STATUS_NONE, "status.none")                     \
    X(KU_M_STATUS_PAGE, "status.page")                     \
    X(KU_M_PERIOD, "period")                               \
    X(KU_M_ENT_ACTIVE, "ent.active")                       \
    X(KU_M_ENT_PHASE_OUT, "ent.phase_out")                 \
    X(KU_M_ENT_SUSPENDED, "ent.suspended")                 \
    X(KU_M_ENT_STOPPED, "ent.stopped")                     \
    X(KU_M_PAY_SCHEDULED, "pay.scheduled")                 \
    X(KU_M_PAY_PAID, "pay.paid")                           \
    X(KU_M_PAY_CONFIRMED, "pay.confirmed")                 \
    X(KU_M_PAY_DISPUTED, "pay.disputed")                   \
    X(KU_M_PAY_RETURNED, "pay.returned")                   \
    X(KU_M_CONFIRM_NONE, "confirm.none")                   \
    X(KU_M_PIN_TITLE, "pin.title")                         \
    X(KU_M_PIN_FOR, "pin.for")                             \
    X(KU_M_PIN_HELP, "pin.help")                           \
    X(KU_M_PIN_WRONG, "pin.wrong")                         \
    X(KU_M_PIN_TAP, "pin.tap")                             \
    X(KU_M_CONFIRMING_TITLE, "confirming.title")           \
    X(KU_M_CONFIRMING_HELP, "confirming.help")             \
    X(KU_M_RECEIPT_TITLE, "receipt.title")                 \
    X(KU_M_RECEIPT_WHAT, "receipt.what")                   \
    X(KU_M_RECEIPT_AGAIN, "receipt.again")                 \
    X(KU_M_RECEIPT_SCAN, "receipt.scan")                   \
    X(KU_M_RECEIPT_ID, "receipt.id")                       \
    X(KU_M_QUEUED_TITLE, "queued.title")                   \
    X(KU_M_QUEUED_HELP, "queued.help")                     \
    X(KU_M_BANNER_OFFLINE, "banner.offline")               \
    X(KU_M_MARRIAGE_TITLE, "marriage.title")               \
    X(KU_M_MARRIAGE_HELP, "marriage.help")                 \
    X(KU_M_STAFF_TITLE, "staff.title")                     \
    X(KU_M_STAFF_HELP, "staff.help")                       \
    X(KU_M_IDLE_TITLE, "idle.title")                       \
    X(KU_M_IDLE_HELP, "idle.help")

enum ku_msg {
#define KU_MSG_ENUM(id, key) id,
    KU_MSG_LIST(KU_MSG_ENUM)
#undef KU_MSG_ENUM
        KU_MSG_COUNT
};

#endif
