/*
 * test_sqldrv.c - unit tests of the SQL driver (store/sqldrv.h) on SQLite
 * (store/sqldrv_sqlite.c), on a connection of the SQLite backend opened on a throw-away
 * database: the statement cache, binds and columns of every type, rows and their end,
 * constraints, blobs, the id of a new row from a text ending with SQLDRV_RETURNING_ID, changes(),
 * and the transaction and savepoint calls.
 *
 * Run all tests: build/tests/test_sqldrv; one: build/tests/test_sqldrv <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/sqldrv.h"
#include "store/store_int.h"
#include "util/util.h"

typedef struct fixture {
    char dir[64];
    char path[96];
    store_handoff handoff;
    store_conn *c;
} fixture;

static const char create_t[] =
    "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT UNIQUE, v REAL, n INTEGER)";
static const char insert_t[] =
    "INSERT INTO t(name, v, n) VALUES ($1, $2, $3)" SQLDRV_RETURNING_ID;
static const char select_t[] = "SELECT id, name, v, n FROM t WHERE id >= $1 ORDER BY id";
static const char update_t[] = "UPDATE t SET n = $1 WHERE n IS NULL OR n < $1";
static const char count_t[] = "SELECT count(*) FROM t";
static const char create_b[] = "CREATE TABLE b(k INTEGER PRIMARY KEY, body BLOB)";
static const char insert_b[] = "INSERT INTO b(k, body) VALUES ($1, $2)";
static const char select_b[] = "SELECT body FROM b WHERE k = $1";

static int setup(void **state) {
    fixture *f = sg_xcalloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sg-sqldrv-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/store.db", f->dir);
    store__handoff_init(&f->handoff);
    assert_int_equal(store_sqlite_backend.open(f->path, &f->handoff, &f->c), 0);
    assert_int_equal(sqldrv_dialect(f->c), SQLDRV_SQLITE);
    sqldrv_stmt *st = sqldrv_prep(f->c, create_t);
    assert_non_null(st);
    assert_int_equal(sqldrv_done(f->c, st, "Creating t"), 0);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    store_sqlite_backend.close(f->c);
    store__handoff_fini(&f->handoff);
    char p[128];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static int64_t insert(store_conn *c, const char *name, double v, int64_t n, int null_n) {
    sqldrv_stmt *st = sqldrv_prep(c, insert_t);
    assert_non_null(st);
    sqldrv_bind_text(st, 1, name);
    sqldrv_bind_double(st, 2, v);
    if (null_n) sqldrv_bind_null(st, 3);
    else sqldrv_bind_int(st, 3, n);
    int64_t id = -1;
    int rc = sqldrv_insert(c, st, "Inserting into t", &id);
    return rc ? rc : id;
}

static int64_t count(store_conn *c) {
    sqldrv_stmt *st = sqldrv_prep(c, count_t);
    assert_int_equal(sqldrv_step(c, st), 1);
    int64_t n = sqldrv_col_int(st, 0);
    sqldrv_reset(st);
    return n;
}

/* The same text gives the same statement back, reset and without bindings. */
static void test_cache_by_address(void **state) {
    fixture *f = *state;
    sqldrv_stmt *a = sqldrv_prep(f->c, select_t);
    assert_non_null(a);
    sqldrv_bind_int(a, 1, 5);
    assert_ptr_equal(sqldrv_prep(f->c, select_t), a);
    assert_ptr_not_equal(sqldrv_prep(f->c, count_t), a);
}

/* An INSERT ending with RETURNING id gives the new row's id; rows read back with every column
 * type; the end of the rows is 0. */
static void test_insert_id_and_rows(void **state) {
    fixture *f = *state;
    assert_int_equal(insert(f->c, "one", 1.5, 10, 0), 1);
    assert_int_equal(insert(f->c, "two", 2.25, 0, 1), 2);
    const char borrowed[] = "three and more";
    sqldrv_stmt *st = sqldrv_prep(f->c, insert_t);
    sqldrv_bind_textn(st, 1, borrowed, 5); /* "three" */
    sqldrv_bind_double(st, 2, 3.0);
    sqldrv_bind_int(st, 3, 30);
    int64_t id = 0;
    assert_int_equal(sqldrv_insert(f->c, st, "Inserting into t", &id), 0);
    assert_int_equal(id, 3);

    st = sqldrv_prep(f->c, select_t);
    sqldrv_bind_int(st, 1, 2);
    assert_int_equal(sqldrv_step(f->c, st), 1);
    assert_int_equal(sqldrv_col_int(st, 0), 2);
    assert_string_equal(sqldrv_col_str(st, 1), "two");
    assert_true(sqldrv_col_double(st, 2) == 2.25);
    assert_true(sqldrv_col_null(st, 3));
    assert_int_equal(sqldrv_col_int(st, 3), 0);
    assert_int_equal(sqldrv_step(f->c, st), 1);
    char *name = sqldrv_col_text(st, 1);
    assert_string_equal(name, "three");
    free(name);
    assert_false(sqldrv_col_null(st, 3));
    assert_int_equal(sqldrv_col_int(st, 3), 30);
    assert_int_equal(sqldrv_step(f->c, st), 0);
}

/* A constraint is SG_ECONFLICT, nothing else happened; changes() counts an UPDATE's rows. */
static void test_conflict_and_changes(void **state) {
    fixture *f = *state;
    assert_int_equal(insert(f->c, "a", 0, 1, 0), 1);
    assert_int_equal(insert(f->c, "a", 0, 2, 0), SG_ECONFLICT);
    assert_int_equal(insert(f->c, "b", 0, 0, 1), 2);
    assert_int_equal(insert(f->c, "c", 0, 9, 0), 3);
    sqldrv_stmt *st = sqldrv_prep(f->c, update_t);
    sqldrv_bind_int(st, 1, 5);
    assert_int_equal(sqldrv_done(f->c, st, "Updating t"), 0);
    assert_int_equal(sqldrv_changes(f->c), 2); /* "a" (1 < 5) and "b" (NULL) */
    assert_int_equal(count(f->c), 3);
}

/* A blob goes in and comes back byte for byte, NUL bytes included; an empty one is empty. */
static void test_blob(void **state) {
    fixture *f = *state;
    sqldrv_stmt *st = sqldrv_prep(f->c, create_b);
    assert_int_equal(sqldrv_done(f->c, st, "Creating b"), 0);
    const char bytes[] = {'a', 0, 'b', 0, 'c'};
    st = sqldrv_prep(f->c, insert_b);
    sqldrv_bind_int(st, 1, 1);
    sqldrv_bind_blob(st, 2, bytes, sizeof bytes);
    assert_int_equal(sqldrv_done(f->c, st, "Inserting into b"), 0);
    st = sqldrv_prep(f->c, insert_b);
    sqldrv_bind_int(st, 1, 2);
    sqldrv_bind_blob(st, 2, "", 0);
    assert_int_equal(sqldrv_done(f->c, st, "Inserting into b"), 0);
    st = sqldrv_prep(f->c, select_b);
    sqldrv_bind_int(st, 1, 1);
    assert_int_equal(sqldrv_step(f->c, st), 1);
    size_t n = 0;
    const void *b = sqldrv_col_blob(st, 0, &n);
    assert_int_equal(n, sizeof bytes);
    assert_memory_equal(b, bytes, sizeof bytes);
    st = sqldrv_prep(f->c, select_b);
    sqldrv_bind_int(st, 1, 2);
    assert_int_equal(sqldrv_step(f->c, st), 1);
    sqldrv_col_blob(st, 0, &n);
    assert_int_equal(n, 0);
    assert_int_equal(sqldrv_step(f->c, st), 0);
}

/* A released savepoint keeps its changes, one rolled back first loses them; a rolled-back
 * transaction loses everything since begin. */
static void test_transactions(void **state) {
    fixture *f = *state;
    assert_int_equal(sqldrv_begin(f->c), 0);
    assert_int_equal(sqldrv_savepoint(f->c), 0);
    assert_true(insert(f->c, "kept", 0, 0, 0) > 0);
    sqldrv_release(f->c, 0);
    assert_int_equal(sqldrv_savepoint(f->c), 0);
    assert_true(insert(f->c, "undone", 0, 0, 0) > 0);
    sqldrv_release(f->c, 1);
    assert_int_equal(sqldrv_commit(f->c), 0);
    assert_int_equal(count(f->c), 1);

    assert_int_equal(sqldrv_begin(f->c), 0);
    assert_true(insert(f->c, "lost", 0, 0, 0) > 0);
    sqldrv_rollback(f->c);
    assert_int_equal(count(f->c), 1);
    sqldrv_rollback(f->c); /* no transaction open: nothing happens */
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cache_by_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_insert_id_and_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict_and_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blob, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
