/* `idsync rules list|show|export|import|enable|disable`. */
#include "cli/cli.h"
#include "engine/engine_config.h"
#include "util/util_alloc.h"
#include "util/util_file.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char HELP[] =
    "usage: idsync rules list [--json]\n"
    "       idsync rules show NAME [--json]\n"
    "       idsync rules export [FILE]       all rules as JSON (stdout without FILE)\n"
    "       idsync rules import FILE         add or replace rules by name (validated as a whole)\n"
    "       idsync rules enable NAME | disable NAME\n"
    "Any change flags every connector for a full sync.\n";

static int save_all_and_flag(cli *c, rule_set *set, err *e)
{
    int rc = rule_validate_set(set, e);
    if (rc) return rc;
    rc = store_begin(c->st, e);
    for (size_t i = 0; rc == 0 && i < set->n; i++) rc = engine_rule_save(c->st, set->rules[i], e);
    if (rc == 0) rc = engine_rules_changed(c->st, e);
    if (rc == 0) return store_commit(c->st, e);
    store_rollback(c->st);
    return rc;
}

int cli_rules(cli *c, int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0) {
        fputs(HELP, argc < 1 ? stderr : stdout);
        return argc < 1 ? EXIT_USAGE : EXIT_OK;
    }
    const char *verb = argv[0];
    argc--, argv++;
    c->json = cli_opt_flag(&argc, argv, "--json");
    if (cli_unknown_option(argc, argv)) return cli_usage("rules %s: unknown option %s", verb, cli_unknown_option(argc, argv));
    err e = {0};
    rule_set *set = NULL;
    int rc = EXIT_OK;
    bool writes = strcmp(verb, "import") == 0 || strcmp(verb, "enable") == 0 || strcmp(verb, "disable") == 0;
    if ((writes ? cli_open(c, &e) : cli_open_nokey(c, &e)) || engine_rules_load(c->st, &set, &e)) return cli_fail(&e);
    if (strcmp(verb, "list") == 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < set->n; i++) {
            const rule *r = set->rules[i];
            char h[65];
            rule_hash(r, h);
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:b, s:s}", "name", r->name,
                "direction", rule_direction_name(r->direction), "connector", r->connector, "connector_type",
                r->connector_type, "cs_object_type", r->cs_object_type, "mv_object_type", r->mv_object_type,
                "link_type", rule_link_type_name(r->link_type), "precedence", r->precedence, "enabled", r->enabled,
                "hash", h));
        }
        if (c->json) cli_print_json(json_pack("{s:o}", "rules", arr));
        else {
            size_t i;
            json_t *x;
            if (!set->n) puts("No sync rules. `idsync connector add` installs the defaults of its type.");
            else printf("%-5s %-9s %-8s %-10s %s\n", "PREC", "DIRECTION", "ENABLED", "CONNECTOR", "NAME");
            json_array_foreach(arr, i, x)
                printf("%-5lld %-9s %-8s %-10s %s\n", (long long)json_integer_value(json_object_get(x, "precedence")),
                       json_string_value(json_object_get(x, "direction")),
                       json_is_true(json_object_get(x, "enabled")) ? "yes" : "no",
                       json_string_value(json_object_get(x, "connector")), json_string_value(json_object_get(x, "name")));
            json_decref(arr);
        }
    } else if (strcmp(verb, "show") == 0) {
        const rule *r = argc == 1 ? rule_set_find(set, argv[0]) : NULL;
        if (argc != 1) rc = cli_usage("usage: idsync rules show NAME");
        else if (!r) rc = cli_fail(&(err){ERR_NOTFOUND, "no such sync rule; see `idsync rules list`"});
        else {
            json_t *j = rule_to_json(r);
            char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            puts(s);
            free(s);
            json_decref(j);
        }
    } else if (strcmp(verb, "export") == 0) {
        char *text = rule_set_to_text(set);
        if (argc == 1) {
            if (file_write_atomic(argv[0], text, strlen(text), 0644, &e)) rc = cli_fail(&e);
            else if (!c->quiet) printf("Exported %zu rule(s) to %s\n", set->n, argv[0]);
        } else {
            fputs(text, stdout);
        }
        free(text);
    } else if (strcmp(verb, "import") == 0) {
        if (argc != 1) {
            rc = cli_usage("usage: idsync rules import FILE");
        } else {
            rule_set *in = rule_set_new();
            if (rule_set_load_file(in, argv[0], &e)) rc = cli_fail(&e);
            else {
                for (size_t i = 0; i < in->n; i++) rule_set_remove(set, in->rules[i]->name);
                size_t added = in->n;
                for (size_t i = 0; rc == 0 && i < in->n; i++) {
                    rule *copy = rule_clone(in->rules[i], &e);
                    if (!copy || rule_set_add(set, copy, &e)) rc = cli_fail(&e);
                }
                if (rc == 0 && save_all_and_flag(c, set, &e)) rc = cli_fail(&e);
                if (rc == 0 && !c->quiet)
                    printf("Imported %zu rule(s) from %s; every connector is flagged for a full sync.\n", added, argv[0]);
            }
            rule_set_free(in);
        }
    } else if (strcmp(verb, "enable") == 0 || strcmp(verb, "disable") == 0) {
        rule *r = argc == 1 ? rule_set_find(set, argv[0]) : NULL;
        if (argc != 1) rc = cli_usage("usage: idsync rules %s NAME", verb);
        else if (!r) rc = cli_fail(&(err){ERR_NOTFOUND, "no such sync rule; see `idsync rules list`"});
        else {
            r->enabled = strcmp(verb, "enable") == 0;
            if (save_all_and_flag(c, set, &e)) rc = cli_fail(&e);
            else if (!c->quiet) printf("Rule '%s' %sd; every connector is flagged for a full sync.\n", r->name, verb);
        }
    } else {
        rc = cli_usage("unknown rules verb '%s'; see `idsync rules --help`", verb);
    }
    rule_set_free(set);
    return rc;
}
