/*
 * routes.h - `smsctl route ...`: the route table over the admin API (/admin/routes and
 * /admin/route-status, docs/admin-api.md).
 *
 * The route commands have many options of their own (SMSC address, credentials, limits), so
 * they parse their whole command line themselves: smsctl's main hands argv over when the
 * command is "route". Single-threaded; each call blocks up to --timeout.
 */
#ifndef SG_CTL_ROUTES_H
#define SG_CTL_ROUTES_H

/* Runs "smsctl ... route SUBCOMMAND ..." and returns the exit status (CTL_EXIT_*). */
int ctl_route_main(int argc, char **argv);

/* The help text of the route command (also printed by "smsctl help route"). */
extern const char ctl_route_usage[];

#endif
