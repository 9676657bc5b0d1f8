/* Reads and writes the server's INI configuration (stub until the admin work lands). */
#include "hs/config.h"

#include <string.h>

void hs_config_defaults(struct hs_config *cfg, const char *dir)
{
    memset(cfg, 0, sizeof(*cfg));
    (void)dir;
}

hs_rc hs_config_load(const char *path, struct hs_config *cfg, char *err, size_t err_cap)
{
    (void)path;
    (void)cfg;
    (void)err;
    (void)err_cap;
    return HS_E_CONFIG;
}

hs_rc hs_config_write(const struct hs_config *cfg, const char *path)
{
    (void)cfg;
    (void)path;
    return HS_E_CONFIG;
}
