/* Contexts and the wrappers through which cardlib reaches any backend. */
#include "transport.h"

#include <stdlib.h>

cl_rc cl_ctx_wrap(const struct cl_transport_ops *ops, void *b, cl_ctx **out)
{
    cl_ctx *ctx = calloc(1, sizeof(*ctx));

    if (!ctx) {
        ops->close(b);
        return CL_E_NO_MEMORY;
    }
    ctx->ops = ops;
    ctx->b = b;
    *out = ctx;
    return CL_OK;
}

void cl_ctx_free(cl_ctx *ctx)
{
    if (!ctx)
        return;
    ctx->ops->close(ctx->b);
    free(ctx);
}

const char *cl_ctx_backend(const cl_ctx *ctx)
{
    return ctx->ops->name;
}

long cl_ctx_last_native(const cl_ctx *ctx, const char **text)
{
    static const char empty[] = "";

    if (!ctx->ops->last_native) {
        if (text)
            *text = empty;
        return 0;
    }
    return ctx->ops->last_native(ctx->b, text);
}

cl_rc cl_ctx_list_readers(cl_ctx *ctx, struct cl_reader_info *out, size_t cap, size_t *count)
{
    if (!ctx || !count || (cap && !out))
        return CL_E_INVALID_ARG;
    return ctx->ops->list_readers(ctx->b, out, cap, count);
}
