/*
 * sqlite_sim_int.h - the sim's receipts and replies (sqlite_sim.c), as the backend table
 * names them. Store thread only, inside the batch transaction.
 */
#ifndef SG_STORE_SQLITE_SIM_INT_H
#define SG_STORE_SQLITE_SIM_INT_H

#include "store/sqlite_int.h"

int sqlite__sim_advance(store_conn *c, store_sim_advance_req *r);

#define be_sim_advance sqlite__sim_advance

#endif
