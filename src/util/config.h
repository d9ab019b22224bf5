/*
 * config.h - every setting of smsgated, defined once in the table in config.c.
 *
 * Each key works in the config file ("key = value", '#' comments) and on the command line
 * ("--key=value" or "--key value"; "--flag" alone sets a boolean). The command line wins over
 * the file. Everything is validated at start; an error names the key and where it came from
 * (file:line or "command line"). After start-up the config is read-only (no locking needed).
 */
#ifndef SG_CONFIG_H
#define SG_CONFIG_H

#include <stdint.h>
#include <stdio.h>

typedef struct sg_config {
    char *config;           /* the file read, if any */
    char *listen;           /* plain HTTP, "" disables */
    char *tls_listen;       /* HTTPS, "" disables */
    char *tls_cert, *tls_key;
    char *data;             /* data directory */
    int64_t sim_delay_ms;
    char *log_level;
    char *log_debug;
    char *public_url;       /* comma-separated base URLs clients sign against */
    int64_t timestamp_window_s;
    char *default_region;
    char *stop_clause;
    char *rates;
    char *billing_country;  /* orders: es, fr, gb, ie, it or pl */
    char *payment_hook;     /* "" none, an http(s) URL, or a shell command */
    char *payment_url;      /* order.url template; "" = the order's own URL */
    int64_t max_parts;
    int64_t lease_ms;
    char *node;
    int64_t dispatch_batch;
    int64_t max_body;
    int64_t http_timeout_s;
    int64_t max_connections;     /* 0: as many as the open-file limit allows, up to 4096 */
    int64_t header_timeout_s, keepalive_timeout_s;
    int64_t body_min_rate;       /* bytes per second; 0 disables the check */
    int64_t shutdown_timeout_s;
    int64_t callback_allow_private; /* boolean: status callbacks may reach private addresses */
    int64_t callback_timeout_ms;
    int64_t callback_backoff_ms, callback_backoff_max_ms;
    int64_t callback_retry_s;
    int64_t callback_host_concurrency;
    int64_t fault_crash_after_commit;
    int64_t fault_fail_nth_op;
    int64_t smpp_enquire_ms, smpp_resp_timeout_ms; /* SMPP binds (smpp/smpp_route.h) */
    int64_t smpp_reconnect_min_ms, smpp_reconnect_max_ms;
    int64_t csv_max_bytes, csv_max_rows, csv_timeout_s; /* receiver lists (campaign/) */
} sg_config;

/* Fills cfg from defaults, then the file named by --config (if any), then argv.
 * Returns 0, or SG_EINVAL after printing the problem to stderr. *help_out is set when --help
 * was given (the caller prints sg_config_usage and exits). */
int sg_config_load(sg_config *cfg, int argc, char **argv, int *help_out);
/* Prints every key with its default and description. */
void sg_config_usage(FILE *out, const char *prog);
/* Frees the strings of cfg. */
void sg_config_fini(sg_config *cfg);

#endif
