/*
 * hours.h - `smsctl hours list|set` (docs/smsctl.md, docs/replies.md "Marketing hours"): the
 * operator's marketing hours per destination country, through the admin API
 * (/admin/hours). The command parses its own options, like `route`.
 */
#ifndef SG_CTL_HOURS_H
#define SG_CTL_HOURS_H

/* The command's usage text (also printed by `smsctl help hours`). */
extern const char ctl_hours_usage[];

/* Runs `smsctl hours ...` from the whole argv; returns the exit status (ctl.h). */
int ctl_hours_main(int argc, char **argv);

#endif
