/*
 * msgid.h - the messageID of an outgoing SMS (sms.Outgoing.messageID, a uuid): the service's
 * id and the message's id written in uuid form, so that it names one SMS without a column or
 * an index of its own, and the filter GET /sms/{sn}/outgoing?messageID= reads the id back.
 *
 * Form: SSSSSSSS-0000-4000-8000-MMMMMMMMMMMM, S the service id (8 hex digits), M the message id
 * (12 hex digits), lower case; the version (4) and variant (8) digits make it a well-formed
 * uuid for OVH's clients. Pure functions, any thread.
 */
#ifndef SG_CORE_MSGID_H
#define SG_CORE_MSGID_H

#include <stdint.h>

#define MSGID_LEN 37 /* 36 characters and the NUL */

/* Writes the messageID of message id of service service_id into out. Returns 0, or -1 when an
 * id does not fit (service_id >= 2^32, id >= 2^48: out is then ""). */
int msgid_format(int64_t service_id, int64_t id, char out[MSGID_LEN]);
/* Reads s (upper or lower case). Returns 0 and both ids, or -1 when s is not a uuid;
 * 1 when s is a uuid this server did not hand out (both ids 0): a filter on it finds nothing. */
int msgid_parse(const char *s, int64_t *service_id, int64_t *id);

#endif
