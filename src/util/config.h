/*
 * config.h - every setting of smsgated, defined once in the table in config.c.
 *
 * Each key works in the config file ("key = value", '#' comments) and on the command line
 * ("--key=value" or "--key value"; "--flag" alone sets a boolean). The command line wins over
 * the file. Everything is validated at start; an error names the key and where it came from
 * (file:line or "command line"). After start-up the config is read-only (no locking needed),
 * except for the reloadable keys, which sg_config_reload changes on the loop thread: their
 * readers read them on the loop thread at the moment of use.
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
    char *database;         /* PostgreSQL connection string; "" = SQLite in data */
    int64_t database_sessions; /* PostgreSQL: the store's sessions (store_options.sessions) */
    int64_t sim_delay_ms;
    char *log_level;
    char *log_debug;
    char *public_url;       /* comma-separated base URLs clients sign against */
    int64_t timestamp_window_s;
    char *default_region;
    char *stop_clause;
    char *optout_keywords;     /* opt-out words (core/optout.h) */
    int64_t optout_window_days; /* services that sent marketing SMS within it are opted out of */
    char *rates;
    char *billing_country;  /* orders: es, fr, gb, ie, it or pl */
    char *payment_hook;     /* "" none, an http(s) URL, or a shell command */
    char *payment_url;      /* order.url template; "" = the order's own URL */
    int64_t max_parts;
    int64_t lease_ms;
    char *node;
    int64_t heartbeat_ms;
    int64_t node_timeout_s;
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
    int64_t marketing_hours; /* boolean: hold marketing SMS outside their hours (dispatch/) */
    char *hlr_provider;            /* "embedded" or "none" (hlr/hlr_embedded.h) */
    int64_t hlr_cost_millicredits; /* charged per HLR lookup */
    int64_t hlr_sim_numbers;       /* boolean: the embedded provider knows the sim's numbers */
    int64_t fault_crash_after_commit;
    int64_t fault_fail_nth_op;
    char *fault_clock_offset; /* testing only: a duration added to sg_now_ms (smsgated.c) */
    int64_t smpp_enquire_ms, smpp_resp_timeout_ms; /* SMPP binds (smpp/smpp_route.h) */
    int64_t smpp_reconnect_min_ms, smpp_reconnect_max_ms;
    int64_t smpp_retry_min_ms, smpp_retry_max_ms;   /* temporary errors (dispatch/) */
    int64_t smpp_retry_max_attempts, smpp_route_backoff_failures;
    int64_t csv_max_bytes, csv_max_rows, csv_timeout_s; /* receiver lists (campaign/) */
    int64_t rate_limit_per_key, rate_limit_per_key_burst;          /* api.c: rate limits */
    int64_t rate_limit_per_address, rate_limit_per_address_burst;
    int64_t credential_rate_per_address, credential_burst_per_address; /* per minute */
    int64_t rate_limit_table_size;
    int64_t consumer_key_pending_ttl_s;
    int64_t idempotency_ttl_s; /* how long an Idempotency-Key's answer is kept (api/idem.c) */
    int64_t reply_window_h;    /* incoming SMS: the reply window (store_incoming.h) */
    char *metrics_listen;      /* Prometheus /metrics listener (metrics/metrics.h), "" disables */
    int64_t console;           /* the web console (api/console.c, docs/console.md) */
    int64_t console_session_idle_s, console_session_max_age_s, console_sessions_max;
    int64_t user_password_iterations; /* SMS users (api/users.c, auth/userpw.h) */
    int64_t user_auth_failures;       /* failed authentications per minute, login or address */
} sg_config;

#define SG_CONFIG_HELP 1 /* --help: the caller prints sg_config_usage and exits */
#define SG_CONFIG_MAN 2  /* --man (hidden): the caller prints its man page and exits */

/* Fills cfg from defaults, then the file named by --config (if any), then argv.
 * Returns 0, or SG_EINVAL after printing the problem to stderr. *help_out is 0, or
 * SG_CONFIG_HELP / SG_CONFIG_MAN when --help / --man was given. */
int sg_config_load(sg_config *cfg, int argc, char **argv, int *help_out);

/* Reports one key whose value differs after a reload: old and new value as text (borrowed for
 * the call), applied 1 when cfg now holds the new value, 0 when the key needs a restart. */
typedef void (*sg_config_change_cb)(const char *key, const char *old_value,
                                    const char *new_value, int applied, void *arg);
/* Loads the configuration again from the same argv (defaults, the --config file as it is now,
 * the command line, which still wins), then compares it with cfg key by key: a changed
 * reloadable key is written into cfg, and every changed key is reported to cb. Returns the
 * number of keys applied, or SG_EINVAL when the file cannot be read or is invalid: then cfg is
 * untouched, nothing is reported, and sg_config_error() says why. Loop thread only. */
int sg_config_reload(sg_config *cfg, int argc, char **argv, sg_config_change_cb cb, void *arg);
/* The last error of sg_config_load or sg_config_reload, one line ("file:line: ..."). */
const char *sg_config_error(void);

/* Prints every key with its default and description, and says which are reloadable. */
void sg_config_usage(FILE *out, const char *prog);
/* Prints the man page entries (roff, one .TP per key) of every key: the OPTIONS section of
 * smsgated(8). */
void sg_config_man(FILE *out);
/* Frees the strings of cfg. */
void sg_config_fini(sg_config *cfg);

#endif
