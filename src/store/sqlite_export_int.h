/*
 * sqlite_export_int.h - what the backends' table needs from the history export
 * (sqlite_export.c): the implementation of the STORE_EXPORT_OPS operation (sqlite.c's backend
 * table). Store thread only. The export has no table of its own (it writes documents).
 */
#ifndef SG_STORE_SQLITE_EXPORT_INT_H
#define SG_STORE_SQLITE_EXPORT_INT_H

#include "store/store.h"

typedef struct store_conn store_conn;

int sqlite__history_export(store_conn *c, store_export_req *r);

#define be_history_export sqlite__history_export

#endif
