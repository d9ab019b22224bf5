/*
 * test_smpp.c - unit tests of the SMPP codec (smpp/pdu.c), the command_status table
 * (smpp/status.c) and receipts (smpp/dlr.c): round trips of every PDU an ESME uses, exact
 * bytes of a PDU built by hand from the SMPP 3.4 specification, malformed input of every kind,
 * and a generated fuzz corpus (mutations of valid PDUs plus random bytes) that must never
 * crash, read out of bounds (ASan) or decode into something that does not re-encode.
 *
 * Run all tests: build/tests/test_smpp; one test: build/tests/test_smpp <name-or-glob>.
 * SMPP_FUZZ_ITERATIONS sets the size of the fuzz corpus (default 200000).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <unistd.h>

#include "smpp/dlr.h"
#include "smpp/pdu.h"
#include "smpp/status.h"
#include "util/util.h"

#define TEST_TIMEOUT_S 120

static size_t enc(const smpp_pdu *p, uint8_t *buf, size_t cap) {
    size_t n = 0;
    assert_int_equal(smpp_pdu_encode(p, buf, cap, &n), 0);
    return n;
}

static void dec_ok(const uint8_t *buf, size_t n, smpp_pdu *out) {
    size_t used;
    uint32_t nack;
    assert_int_equal(smpp_pdu_decode(buf, n, out, &used, &nack), 0);
    assert_int_equal(used, n);
}

/* A submit_sm with every field set and the SAR TLVs. */
static void sample_submit(smpp_pdu *p, const uint8_t *sm, uint8_t smlen) {
    smpp_pdu_init(p, SMPP_SUBMIT_SM, 7);
    struct smpp_body_sm *b = &p->u.sm;
    strcpy(b->service_type, "CMT");
    b->source_addr_ton = 5;
    strcpy(b->source_addr, "Acme");
    b->dest_addr_ton = 1;
    b->dest_addr_npi = 1;
    strcpy(b->destination_addr, "33612345678");
    b->esm_class = 0x40;
    b->registered_delivery = 1;
    strcpy(b->validity_period, "000002000000000R");
    b->data_coding = 8;
    b->short_message = sm;
    b->short_message_len = smlen;
    p->tlv.present = SMPP_TLV_BIT(sar_msg_ref_num) | SMPP_TLV_BIT(sar_total_segments) |
                     SMPP_TLV_BIT(sar_segment_seqnum);
    p->tlv.sar_msg_ref_num = 0x1234;
    p->tlv.sar_total_segments = 3;
    p->tlv.sar_segment_seqnum = 2;
}

static void test_submit_sm_exact_bytes(void **state) {
    (void)state;
    smpp_pdu p;
    const uint8_t sm[] = {0x00, 0x48, 0x00, 0x69}; /* "Hi" in UCS-2 */
    sample_submit(&p, sm, sizeof sm);
    uint8_t buf[512];
    size_t n = enc(&p, buf, sizeof buf);
    /* Built by hand from SMPP 3.4 section 4.4.1 and 5.3.2. */
    const uint8_t want[] = {
        0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 7,          /* header, length below */
        'C', 'M', 'T', 0,                                         /* service_type */
        5, 0, 'A', 'c', 'm', 'e', 0,                              /* source */
        1, 1, '3', '3', '6', '1', '2', '3', '4', '5', '6', '7', '8', 0, /* destination */
        0x40, 0, 0,                                               /* esm, protocol, priority */
        0,                                                        /* schedule_delivery_time */
        '0', '0', '0', '0', '0', '2', '0', '0', '0', '0', '0', '0', '0', '0', '0', 'R', 0,
        1, 0, 8, 0,                                               /* regdlr, replace, dc, dflt */
        4, 0x00, 0x48, 0x00, 0x69,                                /* sm_length, short_message */
        0x02, 0x0C, 0, 2, 0x12, 0x34,                             /* sar_msg_ref_num */
        0x02, 0x0E, 0, 1, 3,                                      /* sar_total_segments */
        0x02, 0x0F, 0, 1, 2,                                      /* sar_segment_seqnum */
    };
    assert_int_equal(n, sizeof want);
    assert_int_equal(buf[3], sizeof want);
    assert_memory_equal(buf + 4, want + 4, sizeof want - 4);
}

static void test_round_trip_every_command(void **state) {
    (void)state;
    const uint32_t ids[] = {SMPP_GENERIC_NACK, SMPP_BIND_RECEIVER, SMPP_BIND_RECEIVER_RESP,
                            SMPP_BIND_TRANSMITTER, SMPP_BIND_TRANSMITTER_RESP, SMPP_SUBMIT_SM,
                            SMPP_SUBMIT_SM_RESP, SMPP_DELIVER_SM, SMPP_DELIVER_SM_RESP,
                            SMPP_UNBIND, SMPP_UNBIND_RESP, SMPP_BIND_TRANSCEIVER,
                            SMPP_BIND_TRANSCEIVER_RESP, SMPP_ENQUIRE_LINK,
                            SMPP_ENQUIRE_LINK_RESP, SMPP_DATA_SM, SMPP_DATA_SM_RESP};
    const uint8_t sm[] = "id:1 stat:DELIVRD err:000";
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        smpp_pdu p, q;
        if (ids[i] == SMPP_SUBMIT_SM || ids[i] == SMPP_DELIVER_SM) {
            sample_submit(&p, sm, (uint8_t)strlen((const char *)sm));
            p.command_id = ids[i];
        } else {
            smpp_pdu_init(&p, ids[i], (uint32_t)i + 1);
        }
        if (ids[i] == SMPP_BIND_TRANSCEIVER || ids[i] == SMPP_BIND_RECEIVER ||
            ids[i] == SMPP_BIND_TRANSMITTER) {
            strcpy(p.u.bind.system_id, "smsgate");
            strcpy(p.u.bind.password, "12345678");
            p.u.bind.interface_version = 0x34;
        }
        if (ids[i] == SMPP_SUBMIT_SM_RESP) strcpy(p.u.msgid.message_id, "0000ABCD");
        if (ids[i] == SMPP_DATA_SM) {
            strcpy(p.u.data.destination_addr, "33612345678");
            p.tlv.present = SMPP_TLV_BIT(receipted_message_id) | SMPP_TLV_BIT(message_state) |
                            SMPP_TLV_BIT(message_payload);
            strcpy(p.tlv.receipted_message_id, "abc");
            p.tlv.message_state = 2;
            p.tlv.message_payload = sm;
            p.tlv.message_payload_len = 5;
        }
        uint8_t buf[1024], buf2[1024];
        size_t n = enc(&p, buf, sizeof buf);
        dec_ok(buf, n, &q);
        assert_int_equal(q.command_id, ids[i]);
        assert_int_equal(q.sequence_number, p.sequence_number);
        size_t n2 = enc(&q, buf2, sizeof buf2);
        assert_int_equal(n2, n);
        assert_memory_equal(buf, buf2, n);
        char dump[512];
        assert_non_null(strstr(smpp_pdu_dump(&q, dump, sizeof dump), smpp_command_name(ids[i])));
    }
}

static void test_resumable_and_framing(void **state) {
    (void)state;
    smpp_pdu p, q;
    smpp_pdu_init(&p, SMPP_ENQUIRE_LINK, 9);
    uint8_t buf[64];
    size_t n = enc(&p, buf, sizeof buf), used;
    uint32_t nack, len;
    for (size_t k = 0; k < n; k++)
        assert_int_equal(smpp_pdu_decode(buf, k, &q, &used, &nack), SG_EAGAIN);
    assert_int_equal(smpp_pdu_peek(buf, 3, &len), SG_EAGAIN);
    assert_int_equal(smpp_pdu_peek(buf, 4, &len), 0);
    assert_int_equal(len, 16);
    uint8_t small[4] = {0, 0, 0, 15}, huge[4] = {0x7F, 0, 0, 0};
    assert_int_equal(smpp_pdu_peek(small, 4, &len), SG_EINVAL);
    assert_int_equal(smpp_pdu_peek(huge, 4, &len), SG_EINVAL);
}

static void test_malformed_is_refused(void **state) {
    (void)state;
    smpp_pdu p, q;
    size_t used;
    uint32_t nack;
    uint8_t buf[600];
    const uint8_t sm[] = "hello";
    sample_submit(&p, sm, 5);
    size_t n = enc(&p, buf, sizeof buf);

    /* sm_length pointing past the end. */
    uint8_t b1[600];
    memcpy(b1, buf, n);
    size_t smlen_at = 16 + 4 + 2 + 5 + 2 + 12 + 3 + 1 + 17 + 4;
    assert_int_equal(b1[smlen_at], 5);
    b1[smlen_at] = 200;
    assert_int_equal(smpp_pdu_decode(b1, n, &q, &used, &nack), SG_EINVAL);
    assert_int_equal(q.sequence_number, 7); /* the header is there for the nack */
    assert_int_equal(used, n);

    /* A C-Octet String without its NUL within its size (source_addr, 21). */
    uint8_t b2[128] = {0};
    b2[7] = 4; /* submit_sm */
    size_t k = 16;
    b2[k++] = 0;           /* service_type */
    b2[k++] = 1;
    b2[k++] = 1;
    memset(b2 + k, 'A', 30); /* source_addr too long */
    k += 30;
    b2[3] = (uint8_t)k;
    assert_int_equal(smpp_pdu_decode(b2, k, &q, &used, &nack), SG_EINVAL);

    /* A truncated TLV, and a known TLV of the wrong size. */
    uint8_t b3[600];
    memcpy(b3, buf, n);
    b3[3] = (uint8_t)(n - 2);
    assert_int_equal(smpp_pdu_decode(b3, n - 2, &q, &used, &nack), SG_EINVAL);
    memcpy(b3, buf, n);
    b3[n - 2] = 2; /* sar_segment_seqnum with length 2 */
    b3[n - 1] = 0;
    b3[n] = 0;
    b3[3] = (uint8_t)(n + 1);
    assert_int_equal(smpp_pdu_decode(b3, n + 1, &q, &used, &nack), SG_EINVAL);
    assert_int_equal(nack, SMPP_ESME_RINVPARLEN);

    /* Unknown command ids are reported as such, with the header. */
    uint8_t b4[16] = {0, 0, 0, 16, 0, 0, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 3};
    assert_int_equal(smpp_pdu_decode(b4, 16, &q, &used, &nack), SG_ENOTFOUND);
    assert_int_equal(nack, SMPP_ESME_RINVCMDID);
    assert_int_equal(q.sequence_number, 3);

    /* An error response may come without a body; a request may not. */
    uint8_t b5[16] = {0, 0, 0, 16, 0x80, 0, 0, 4, 0, 0, 0, 0x58, 0, 0, 0, 5};
    dec_ok(b5, 16, &q);
    assert_int_equal(q.command_status, SMPP_ESME_RTHROTTLED);
    assert_string_equal(q.u.msgid.message_id, "");
    uint8_t b6[16] = {0, 0, 0, 16, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 5};
    assert_int_equal(smpp_pdu_decode(b6, 16, &q, &used, &nack), SG_EINVAL);

    /* Unknown TLVs are skipped. */
    uint8_t b7[64] = {0, 0, 0, 0, 0x80, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 5, '4', '2', 0,
                      0x14, 0x00, 0, 3, 'x', 'y', 'z'};
    b7[3] = 26;
    dec_ok(b7, 26, &q);
    assert_string_equal(q.u.msgid.message_id, "42");
    assert_int_equal(q.tlv.skipped, 1);

    /* Encoding refuses what does not fit. */
    smpp_pdu_init(&p, SMPP_BIND_TRANSCEIVER, 1);
    memset(p.u.bind.password, 'x', sizeof p.u.bind.password); /* no room for the NUL */
    size_t len;
    assert_int_equal(smpp_pdu_encode(&p, buf, sizeof buf, &len), SG_EINVAL);
    smpp_pdu_init(&p, SMPP_ENQUIRE_LINK, 1);
    assert_int_equal(smpp_pdu_encode(&p, buf, 15, &len), SG_EINVAL);
    p.command_id = 0x12345;
    assert_int_equal(smpp_pdu_encode(&p, buf, sizeof buf, &len), SG_ENOTFOUND);
}

/* xorshift64*: a reproducible corpus. */
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545F4914F6CDD1Dull) >> 32);
}

static void test_fuzz_generated_corpus(void **state) {
    (void)state;
    long iters = getenv("SMPP_FUZZ_ITERATIONS") ? atol(getenv("SMPP_FUZZ_ITERATIONS")) : 200000;
    /* Seeds: valid PDUs of each shape. */
    uint8_t seeds[8][600];
    size_t seedlen[8], nseeds = 0;
    smpp_pdu p;
    const uint8_t sm[] = "id:0042 sub:001 dlvrd:001 submit date:2405101403 stat:DELIVRD err:000";
    sample_submit(&p, sm, (uint8_t)(sizeof sm - 1));
    seedlen[nseeds] = enc(&p, seeds[nseeds], sizeof seeds[0]), nseeds++;
    p.command_id = SMPP_DELIVER_SM;
    p.tlv.present |= SMPP_TLV_BIT(receipted_message_id) | SMPP_TLV_BIT(message_state) |
                     SMPP_TLV_BIT(network_error_code);
    strcpy(p.tlv.receipted_message_id, "0042");
    p.tlv.message_state = 2;
    const uint8_t ne[3] = {3, 0, 1};
    p.tlv.network_error_code = ne;
    p.tlv.network_error_code_len = 3;
    seedlen[nseeds] = enc(&p, seeds[nseeds], sizeof seeds[0]), nseeds++;
    smpp_pdu_init(&p, SMPP_BIND_TRANSCEIVER, 1);
    strcpy(p.u.bind.system_id, "id");
    seedlen[nseeds] = enc(&p, seeds[nseeds], sizeof seeds[0]), nseeds++;
    smpp_pdu_init(&p, SMPP_SUBMIT_SM_RESP, 2);
    strcpy(p.u.msgid.message_id, "1A2B");
    seedlen[nseeds] = enc(&p, seeds[nseeds], sizeof seeds[0]), nseeds++;
    smpp_pdu_init(&p, SMPP_DATA_SM, 3);
    p.tlv.present = SMPP_TLV_BIT(message_payload) | SMPP_TLV_BIT(message_state);
    p.tlv.message_payload = sm;
    p.tlv.message_payload_len = 20;
    seedlen[nseeds] = enc(&p, seeds[nseeds], sizeof seeds[0]), nseeds++;

    long decoded = 0;
    uint8_t *buf = malloc(1024), *out = malloc(2048);
    for (long it = 0; it < iters; it++) {
        size_t n;
        if (it % 16 == 15) { /* random bytes with a plausible header */
            n = 16 + rnd() % 200;
            for (size_t k = 0; k < n; k++) buf[k] = (uint8_t)rnd();
            buf[0] = buf[1] = 0;
            buf[2] = (uint8_t)(n >> 8);
            buf[3] = (uint8_t)n;
            static const uint32_t ids[] = {4, 5, 0x103, 9, 0x80000004, 0x80000009};
            uint32_t id = ids[rnd() % 6];
            buf[4] = (uint8_t)(id >> 24), buf[5] = (uint8_t)(id >> 16);
            buf[6] = (uint8_t)(id >> 8), buf[7] = (uint8_t)id;
        } else {
            size_t s = rnd() % nseeds;
            n = seedlen[s];
            memcpy(buf, seeds[s], n);
            int muts = 1 + (int)(rnd() % 4);
            for (int m = 0; m < muts && n > 16; m++) {
                switch (rnd() % 5) {
                case 0: buf[rnd() % n] ^= (uint8_t)(1u << (rnd() % 8)); break;
                case 1: buf[16 + rnd() % (n - 16)] = (uint8_t)rnd(); break;
                case 2: n = 16 + rnd() % (n - 15); break; /* truncate */
                case 3: buf[16 + rnd() % (n - 16)] = 0; break;
                default: buf[16 + rnd() % (n - 16)] = 0xFF; break;
                }
            }
            if (rnd() % 2) { /* keep the length consistent most of the time */
                buf[2] = (uint8_t)(n >> 8);
                buf[3] = (uint8_t)n;
            }
        }
        /* Decode from an exact-size heap copy, so ASan sees any read past the end. */
        uint8_t *exact = malloc(n);
        memcpy(exact, buf, n);
        smpp_pdu q, r;
        size_t used, len;
        uint32_t nack;
        int rc = smpp_pdu_decode(exact, n, &q, &used, &nack);
        if (rc == 0) {
            decoded++;
            assert_true(used <= n);
            /* What decodes re-encodes, and decodes to the same thing again. */
            assert_int_equal(smpp_pdu_encode(&q, out, 2048, &len), 0);
            uint8_t *exact2 = malloc(len);
            memcpy(exact2, out, len);
            assert_int_equal(smpp_pdu_decode(exact2, len, &r, &used, &nack), 0);
            assert_int_equal(r.command_id, q.command_id);
            assert_int_equal(r.tlv.present, q.tlv.present);
            char d[256];
            smpp_pdu_dump(&r, d, sizeof d);
            if (q.command_id == SMPP_DELIVER_SM || q.command_id == SMPP_DATA_SM) {
                smpp_dlr dl;
                (void)smpp_dlr_parse(&r, &dl);
                (void)smpp_dlr_is_receipt(&r);
            }
            free(exact2);
        } else {
            assert_true(rc == SG_EINVAL || rc == SG_EAGAIN || rc == SG_ENOTFOUND);
        }
        free(exact);
    }
    free(buf);
    free(out);
    print_message("fuzz: %ld inputs, %ld decoded\n", iters, decoded);
    assert_true(decoded > 0);
}

static void test_status_table(void **state) {
    (void)state;
    assert_int_equal(smpp_status_class(0), SMPP_CLASS_OK);
    assert_int_equal(smpp_status_class(SMPP_ESME_RTHROTTLED), SMPP_CLASS_THROTTLE);
    assert_int_equal(smpp_status_class(SMPP_ESME_RMSGQFUL), SMPP_CLASS_THROTTLE);
    assert_int_equal(smpp_status_class(SMPP_ESME_RSYSERR), SMPP_CLASS_TEMP);
    assert_int_equal(smpp_status_class(SMPP_ESME_RX_T_APPN), SMPP_CLASS_TEMP);
    assert_int_equal(smpp_status_class(SMPP_ESME_RINVDSTADR), SMPP_CLASS_PERM);
    assert_int_equal(smpp_status_ptt(SMPP_ESME_RINVDSTADR), 23);
    assert_int_equal(smpp_status_ptt(0x66), 28);
    assert_int_equal(smpp_status_ptt(0x45), 25); /* temporary: when its retries ran out */
    assert_int_equal(smpp_status_ptt(SMPP_ESME_RUNKNOWNERR), 39);
    assert_int_equal(smpp_status_ptt(0x400), 39); /* vendor specific */
    assert_int_equal(smpp_status_ptt(SMPP_ESME_RINVPASWD), 20);
    assert_int_equal(smpp_status_class(0x0400), SMPP_CLASS_TEMP); /* vendor specific */
    assert_string_equal(smpp_status_name(SMPP_ESME_RINVPASWD), "ESME_RINVPASWD");
    assert_string_equal(smpp_status_name(0x0400), "unknown");
    /* Every code 0..0x110 has a name or "unknown", and a class. */
    for (uint32_t c = 0; c < 0x110; c++) {
        assert_non_null(smpp_status_text(c));
        assert_true(smpp_status_class(c) <= SMPP_CLASS_PERM);
    }
}

static void test_receipt_text_and_tlvs(void **state) {
    (void)state;
    char id[66], stat[12];
    int err;
    const char *t = "id:0000ABCD sub:001 dlvrd:000 submit date:2405101403 done date:2405101404 "
                    "stat:UNDELIV err:027 text:Hello";
    assert_int_equal(smpp_dlr_parse_text(t, strlen(t), id, sizeof id, stat, sizeof stat, &err),
                     0);
    assert_string_equal(id, "0000ABCD");
    assert_string_equal(stat, "UNDELIV");
    assert_int_equal(err, 27);
    /* Keys in another case and order; the text itself is not read as keys. */
    const char *t2 = "Stat:DELIVRD ID:17 text:id:99 stat:EXPIRED";
    assert_int_equal(smpp_dlr_parse_text(t2, strlen(t2), id, sizeof id, stat, sizeof stat, &err),
                     0);
    assert_string_equal(id, "17");
    assert_string_equal(stat, "DELIVRD");
    assert_int_equal(err, -1);
    assert_int_equal(smpp_dlr_parse_text("hello", 5, id, sizeof id, stat, sizeof stat, &err),
                     SG_EINVAL);

    msg_state st;
    int dlr, ptt;
    smpp_dlr_map("DELIVRD", 0, &st, &dlr, &ptt);
    assert_int_equal(st, MSG_DELIVERED);
    assert_int_equal(dlr, 1);
    assert_int_equal(ptt, 4);
    smpp_dlr_map("UNDELIV", 27, &st, &dlr, &ptt);
    assert_int_equal(st, MSG_FAILED);
    assert_int_equal(dlr, 2);
    assert_int_equal(ptt, 24);
    smpp_dlr_map("EXPIRED", 0, &st, &dlr, &ptt);
    assert_int_equal(ptt, 8);
    smpp_dlr_map("REJECTD", 1, &st, &dlr, &ptt);
    assert_int_equal(dlr, 16);
    assert_int_equal(ptt, 23);
    smpp_dlr_map("ACCEPTD", 0, &st, &dlr, &ptt);
    assert_int_equal(st, MSG_ENROUTE);
    assert_int_equal(smpp_dlr_map("WHATEVER", 0, &st, &dlr, &ptt), SG_ENOTFOUND);
    assert_int_equal(ptt, 6);

    /* The TLVs win over the text. */
    smpp_pdu p;
    const uint8_t sm[] = "id:1 stat:UNDELIV err:001";
    smpp_pdu_init(&p, SMPP_DELIVER_SM, 1);
    p.u.sm.esm_class = 0x04;
    p.u.sm.short_message = sm;
    p.u.sm.short_message_len = sizeof sm - 1;
    assert_true(smpp_dlr_is_receipt(&p));
    smpp_dlr d;
    assert_int_equal(smpp_dlr_parse(&p, &d), 0);
    assert_string_equal(d.id, "1");
    assert_int_equal(d.ptt, 23);
    p.tlv.present = SMPP_TLV_BIT(receipted_message_id) | SMPP_TLV_BIT(message_state);
    strcpy(p.tlv.receipted_message_id, "2a");
    p.tlv.message_state = 2;
    assert_int_equal(smpp_dlr_parse(&p, &d), 0);
    assert_string_equal(d.id, "2a");
    assert_int_equal(d.state, MSG_DELIVERED);
    p.u.sm.esm_class = 0;
    p.tlv.present = 0;
    assert_false(smpp_dlr_is_receipt(&p)); /* a mobile-originated message */
}

int main(int argc, char **argv) {
    alarm(TEST_TIMEOUT_S);
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_submit_sm_exact_bytes),
        cmocka_unit_test(test_round_trip_every_command),
        cmocka_unit_test(test_resumable_and_framing),
        cmocka_unit_test(test_malformed_is_refused),
        cmocka_unit_test(test_fuzz_generated_corpus),
        cmocka_unit_test(test_status_table),
        cmocka_unit_test(test_receipt_text_and_tlvs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
