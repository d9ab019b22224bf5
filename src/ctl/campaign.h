/*
 * campaign.h - `smsctl campaign status`: the progress of the SMS carrying one tag (a
 * campaign), through the signed customer API (GET /sms/{sn}/tags/{tag}/statistics,
 * docs/campaigns.md), as a progress bar on a terminal and as plain lines otherwise.
 *
 * Like the route commands it parses its own command line (smsctl's main hands argv over when
 * the command is "campaign"). Single-threaded; each request blocks up to --timeout, and
 * --watch polls until no SMS of the tag waits for a final status.
 */
#ifndef SG_CTL_CAMPAIGN_H
#define SG_CTL_CAMPAIGN_H

/* Runs "smsctl ... campaign status ..." and returns the exit status (CTL_EXIT_*). */
int ctl_campaign_main(int argc, char **argv);

/* The help text of the campaign command (also printed by "smsctl help campaign"). */
extern const char ctl_campaign_usage[];

#endif
