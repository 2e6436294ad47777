/* Command groups whose implementation has not landed yet: each says so with an error. */
#include "cli/cli.h"
#include <stdio.h>

#define NOT_YET(fn, what) \
    int fn(cli *c, int argc, char **argv) \
    { \
        fprintf(stderr, "idsync: %s is not implemented in this build yet\n", what); \
        return EXIT_FAIL; \
    }
NOT_YET(cli_rules, "`idsync rules`")
NOT_YET(cli_run, "`idsync run`")
NOT_YET(cli_cycle, "`idsync cycle`")
NOT_YET(cli_history, "`idsync history`")
NOT_YET(cli_cs, "`idsync cs`")
NOT_YET(cli_mv, "`idsync mv`")
NOT_YET(cli_trace, "`idsync trace`")
NOT_YET(cli_export_preview, "`idsync export-preview`")
NOT_YET(cli_serve, "`idsync serve`")
