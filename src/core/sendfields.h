/*
 * sendfields.h - the values a send's fields may take, once for every way in: the names of
 * OVH's enums (sms.PriorityEnum, sms.ClassEnum, sms.CodingEnum, sms.CharsetEnum) in the order
 * whose index the store keeps (messages.priority 0 high .. 3 veryLow, messages.sms_class 0
 * flash .. 3 toolkit), and the bounds of the numeric and text fields.
 *
 * The parser of a send (api/send.c) checks a JSON body against these; the sending report and
 * the sms.Job objects print the stored indexes with them (api/jobs.c); smsctl checks its
 * --priority with them before calling the server. A value added or a bound changed here holds
 * everywhere.
 *
 * Pure, constant data: callable from any thread.
 */
#ifndef SG_CORE_SENDFIELDS_H
#define SG_CORE_SENDFIELDS_H

#define SEND_RECEIVERS_MAX 50000   /* receivers of one POST .../jobs */
#define SEND_BATCH_TO_MAX 1000000  /* receivers ("to") of one POST .../batches */
#define SEND_VALIDITY_MIN 1        /* validityPeriod, minutes */
#define SEND_VALIDITY_MAX 525600   /* one year */
#define SEND_VALIDITY_DEFAULT 2880 /* two days, as OVH */
#define SEND_DIFFERED_MAX 525600   /* differedPeriod, minutes (0 = now) */
#define SEND_PRIORITY_DEFAULT 0    /* high: OVH's default */
#define SEND_CLASS_DEFAULT 1       /* phoneDisplay */
#define SEND_SLOT_MIN 1            /* receiversSlotId / slotID: OVH offers 9 lists */
#define SEND_SLOT_MAX 9

/* NULL-terminated; the index of a name is what the store keeps. */
extern const char *const send_priorities[]; /* high, medium, low, veryLow */
extern const char *const send_classes[];    /* flash, phoneDisplay, sim, toolkit */
extern const char *const send_codings[];    /* 7bit, 8bit */
extern const char *const send_charsets[];   /* UTF-8 */
/* The classes as sms.BatchParams spells them: FLASH, PHONE, SIM (same indexes as
 * send_classes). */
extern const char *const send_batch_classes[];

/* The index of s in the NULL-terminated values, or -1. */
int send_enum_find(const char *const *values, const char *s);

/* The name of index i of values (count entries before its NULL), or "" when i is out of
 * range (a stored value newer than this binary). */
const char *send_enum_name(const char *const *values, int i);

/* Writes "a, b, c" (the values, for a message) into buf of size n; returns buf. */
char *send_enum_list(const char *const *values, char *buf, unsigned long n);

#endif
