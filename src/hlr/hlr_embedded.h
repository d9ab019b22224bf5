/*
 * hlr_embedded.h - the embedded HLR provider (core/hlr.h's contract), which answers from
 * libphonenumber's offline data and the sim's test numbers without asking any network.
 *
 * Thread: the loop thread (base's). Owns: its state and the answers it has yet to deliver
 * (each delivered by a zero-delay event on base, so that done() never runs from inside
 * lookup(), as the contract says).
 */
#ifndef SG_HLR_EMBEDDED_H
#define SG_HLR_EMBEDDED_H

#include <event2/event.h>

#include "core/hlr.h"

/* A new provider delivering on base (borrowed: it must outlive the provider). sim_numbers:
 * answer the sim's test numbers as the sim delivers them (hlr-sim-numbers). Never NULL. */
hlr_provider *hlr_embedded_new(struct event_base *base, int sim_numbers);

/* Frees any provider through its free(), then the struct. NULL does nothing. */
void hlr_provider_free(hlr_provider *p);

#endif
