/*
 * store_metrics_int.h - the implementation of STORE_METRICS_OPS (store_metrics_sql.c), for
 * sqlite.c's backend table (which PostgreSQL's copies). Store thread only. The area has no
 * table of its own: it reads `messages` and `notify_calls`.
 */
#ifndef SG_STORE_METRICS_INT_H
#define SG_STORE_METRICS_INT_H

#include "store/store.h"

typedef struct store_conn store_conn;

int store_metrics__read(store_conn *c, store_metrics_read_req *r);

#define be_metrics_read store_metrics__read

#endif
