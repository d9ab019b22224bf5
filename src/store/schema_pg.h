/*
 * schema_pg.h - the PostgreSQL schema, as migrations per area like the SQLite one
 * (schema_sqlite.c): the same areas and tables, in PostgreSQL's types. Applied once per
 * database under an advisory lock (the PostgreSQL driver's migrate()).
 */
#ifndef SG_STORE_SCHEMA_PG_H
#define SG_STORE_SCHEMA_PG_H

typedef struct pg_area {
    const char *name;
    const char *const *migrations;
    int count;
} pg_area;

/* The areas, NULL-terminated (schema_pg.c). */
extern const pg_area pg_areas[];

#endif
