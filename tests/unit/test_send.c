/*
 * test_send.c - unit tests of the one parser of a send (api/send.c, api_send_read) and of the
 * tables of its fields (core/sendfields.c): the defaults, each field's refusal naming the
 * field, the receivers' three sources, the text as sent (STOP mention, parts), the rules of
 * a virtual number's route, a way in's own names (sms.BatchParams), and the sending report.
 *
 * Run all tests: build/tests/test_send; one test: build/tests/test_send <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/send.h"
#include "core/sendfields.h"
#include "util/config.h"
#include "util/jsonfmt.h"
#include "util/util.h"

#define TEST_TIMEOUT_S 60

static sg_config cfg;

static int setup(void **state) {
    (void)state;
    memset(&cfg, 0, sizeof cfg);
    cfg.default_region = "FR";
    cfg.stop_clause = "STOP 36180";
    cfg.max_parts = 3;
    return 0;
}

/* Parses the JSON text body with names (NULL = jobs') into s; returns api_send_read's rc. */
static int parse(api_send *s, const char *body, const api_send_names *names, const char *vnum) {
    json_error_t err;
    json_t *o = json_loads(body, 0, &err);
    assert_non_null(o);
    memset(s, 0, sizeof *s);
    int rc = api_send_read(s, o, names, &cfg, vnum);
    json_decref(o); /* the send keeps its own reference */
    return rc;
}

/* Asserts that body is refused with code, naming field in a message matching part. */
static void refused(const char *body, api_send_code code, const char *field, const char *part,
                    const api_send_names *names) {
    api_send s;
    int rc = parse(&s, body, names, NULL);
    if (rc != -1 || s.result.code != code || strcmp(s.result.field, field) != 0 ||
        !strstr(s.result.message, part))
        fail_msg("%s: rc %d, code %d, field '%s', message '%s'", body, rc, s.result.code,
                 s.result.field, s.result.message);
    assert_int_equal(s.result.status, 400);
    api_send_fini(&s);
}

static void test_defaults(void **state) {
    (void)state;
    api_send s;
    assert_int_equal(parse(&s, "{\"message\":\"Hello\",\"receivers\":[\"+33612345678\"]}", NULL,
                           NULL), 0);
    assert_int_equal(s.result.code, API_SEND_OK);
    assert_string_equal(s.message, "Hello");
    assert_null(s.sender);
    assert_int_equal(s.priority, -1);
    assert_int_equal(s.sms_class, SEND_CLASS_DEFAULT);
    assert_int_equal(s.coding, -1);
    assert_int_equal(s.validity_min, SEND_VALIDITY_DEFAULT);
    assert_int_equal(s.differed_min, 0);
    assert_null(s.tag);
    assert_int_equal(json_array_size(s.receivers), 1);
    assert_string_equal(s.text, "Hello\nSTOP 36180"); /* the STOP mention */
    assert_int_equal(s.gi.parts, 1);
    api_send_fini(&s);
}

static void test_every_field(void **state) {
    (void)state;
    api_send s;
    assert_int_equal(parse(&s, "{\"message\":\"Hi\",\"receivers\":[\"0612345678\",\"+4179\"],"
                               "\"sender\":\"Shop\",\"noStopClause\":true,\"priority\":\"low\","
                               "\"class\":\"flash\",\"coding\":\"8bit\",\"charset\":\"UTF-8\","
                               "\"validityPeriod\":60,\"differedPeriod\":5.0,\"tag\":\"t1\"}",
                           NULL, NULL), 0);
    assert_string_equal(s.sender, "Shop");
    assert_true(s.no_stop);
    assert_int_equal(s.priority, 2);
    assert_int_equal(s.sms_class, 0);
    assert_int_equal(s.coding, 1);
    assert_int_equal(s.validity_min, 60);
    assert_int_equal(s.differed_min, 5);
    assert_string_equal(s.tag, "t1");
    assert_string_equal(s.text, "Hi"); /* noStopClause */
    api_send_fini(&s);
    /* Empty strings and nulls are "not given"; senderForResponse drops the sender. */
    assert_int_equal(parse(&s, "{\"message\":\"Hi\",\"receivers\":[\"x\"],\"sender\":\"Shop\","
                               "\"senderForResponse\":true,\"tag\":\"\",\"priority\":null}",
                           NULL, NULL), 0);
    assert_null(s.sender);
    assert_true(s.sender_for_response);
    assert_null(s.tag);
    assert_int_equal(s.priority, -1);
    api_send_fini(&s);
}

static void test_refusals_name_the_field(void **state) {
    (void)state;
    refused("{\"receivers\":[\"+33612345678\"]}", API_SEND_MISSING, "message",
            "Missing parameter 'message'", NULL);
    refused("{\"message\":\"\",\"receivers\":[\"x\"]}", API_SEND_INVALID, "message", "empty",
            NULL);
    refused("{\"message\":42,\"receivers\":[\"x\"]}", API_SEND_INVALID, "message",
            "a string is expected", NULL);
    refused("{\"message\":\"x\",\"receivers\":[\"x\"],\"priority\":\"urgent\"}",
            API_SEND_INVALID, "priority", "'urgent' is not one of high, medium, low, veryLow",
            NULL);
    refused("{\"message\":\"x\",\"receivers\":[\"x\"],\"class\":\"loud\"}", API_SEND_INVALID,
            "class", "flash, phoneDisplay, sim, toolkit", NULL);
    refused("{\"message\":\"x\",\"receivers\":[\"x\"],\"coding\":\"16bit\"}", API_SEND_INVALID,
            "coding", "7bit, 8bit", NULL);
    refused("{\"message\":\"x\",\"receivers\":[\"x\"],\"charset\":\"latin1\"}",
            API_SEND_INVALID, "charset", "UTF-8", NULL);
    refused("{\"message\":\"x\",\"receivers\":[\"x\"],\"validityPeriod\":0}", API_SEND_INVALID,
            "validityPeriod", "0 is outside 1..525600", NULL);
    refused("{\"message\":\"x\",\"receivers\":[\"x\"],\"differedPeriod\":525601}",
            API_SEND_INVALID, "differedPeriod", "outside 0..525600", NULL);
    refused("{\"message\":\"x\",\"receivers\":[\"x\"],\"differedPeriod\":1.5}",
            API_SEND_INVALID, "differedPeriod", "an integer is expected", NULL);
    refused("{\"message\":\"x\",\"receivers\":[\"x\"],\"noStopClause\":1}", API_SEND_INVALID,
            "noStopClause", "true or false", NULL);
    char *tag = sg_xasprintf("{\"message\":\"x\",\"receivers\":[\"x\"],\"tag\":\"%0129d\"}", 0);
    refused(tag, API_SEND_INVALID, "tag", "at most 128 characters", NULL);
    free(tag);
    refused("{\"message\":\"x\",\"receivers\":[\"x\"],\"sender\":\"TwelveLetter\"}",
            API_SEND_INVALID, "sender", "neither an alphanumeric sender", NULL);
    refused("[1]", API_SEND_INVALID, "", "A JSON object is expected", NULL);
}

static void test_receivers(void **state) {
    (void)state;
    refused("{\"message\":\"x\"}", API_SEND_MISSING, "receivers",
            "Missing parameter 'receivers', 'receiversSlotId' or 'receiversDocumentUrl'", NULL);
    refused("{\"message\":\"x\",\"receivers\":[]}", API_SEND_INVALID, "receivers",
            "a non-empty array", NULL);
    refused("{\"message\":\"x\",\"receivers\":\"+33612345678\"}", API_SEND_INVALID, "receivers",
            "a non-empty array", NULL);
    refused("{\"message\":\"x\",\"receivers\":[\"+33612345678\",33612345678]}",
            API_SEND_INVALID, "receivers", "element 1 is not a string", NULL);
    refused("{\"message\":\"x\",\"receivers\":[\"+33612345678\"],\"receiversSlotId\":\"1\"}",
            API_SEND_INVALID, "receivers",
            "Give only one of 'receivers', 'receiversSlotId' and 'receiversDocumentUrl'", NULL);
    refused("{\"message\":\"x\",\"receiversSlotId\":\"10\"}", API_SEND_INVALID,
            "receiversSlotId", "from 1 to 9", NULL);
    refused("{\"message\":\"x\",\"receiversDocumentUrl\":\"ftp://h/x.csv\"}", API_SEND_INVALID,
            "receiversDocumentUrl", "http or https", NULL);
    /* Too many: one over the bound. */
    json_t *o = json_pack("{s:s}", "message", "x"), *a = json_array();
    for (int i = 0; i <= SEND_RECEIVERS_MAX; i++) json_array_append_new(a, json_string("1"));
    json_object_set_new(o, "receivers", a);
    api_send s;
    memset(&s, 0, sizeof s);
    assert_int_equal(api_send_read(&s, o, NULL, &cfg, NULL), -1);
    assert_non_null(strstr(s.result.message, "at most 50000 receivers"));
    api_send_fini(&s);
    json_decref(o);
    /* A slot as OVH's string or as an integer; a document. Neither has a text: the store
     * renders the template per receiver. */
    assert_int_equal(parse(&s, "{\"message\":\"#a#\",\"receiversSlotId\":\"3\"}", NULL, NULL), 0);
    assert_int_equal(s.slot, 3);
    assert_null(s.receivers);
    assert_null(s.text);
    api_send_fini(&s);
    assert_int_equal(parse(&s, "{\"message\":\"x\",\"receiversSlotId\":9}", NULL, NULL), 0);
    assert_int_equal(s.slot, 9);
    api_send_fini(&s);
    assert_int_equal(parse(&s, "{\"message\":\"x\",\"receiversDocumentUrl\":\"https://h/l.csv\"}",
                           NULL, NULL), 0);
    assert_string_equal(s.document_url, "https://h/l.csv");
    api_send_fini(&s);
}

static void test_text_parts(void **state) {
    (void)state;
    /* max-parts 3: 3 x 153 GSM-7 characters, the STOP mention included. */
    char body[1024];
    char msg[600];
    memset(msg, 'a', 459);
    msg[459] = '\0';
    snprintf(body, sizeof body, "{\"message\":\"%s\",\"receivers\":[\"x\"],\"noStopClause\":true}",
             msg);
    api_send s;
    assert_int_equal(parse(&s, body, NULL, NULL), 0);
    assert_int_equal(s.gi.parts, 3);
    api_send_fini(&s);
    snprintf(body, sizeof body, "{\"message\":\"%s\",\"receivers\":[\"x\"]}", msg);
    refused(body, API_SEND_INVALID, "message", "4 SMS parts", NULL);
}

static void test_virtual_number(void **state) {
    (void)state;
    api_send s;
    assert_int_equal(parse(&s, "{\"message\":\"x\",\"receivers\":[\"x\"],\"sender\":\"33700000001\"}",
                           NULL, "+33700000001"), 0);
    api_send_fini(&s);
    assert_int_equal(parse(&s, "{\"message\":\"x\",\"receivers\":[\"x\"],\"sender\":\"Shop\"}",
                           NULL, "+33700000001"), -1);
    assert_string_equal(s.result.field, "sender");
    assert_non_null(strstr(s.result.message, "leave 'sender' out"));
    api_send_fini(&s);
    assert_int_equal(parse(&s, "{\"message\":\"x\",\"receivers\":[\"x\"],"
                               "\"senderForResponse\":true}", NULL, "+33700000001"), -1);
    assert_string_equal(s.result.field, "senderForResponse");
    api_send_fini(&s);
}

static const api_send_names batch = {
    .message = "message", .receivers = "to", .sender = "from",
    .sender_for_response = "senderForResponse", .no_stop = "noStop", .sms_class = "class",
    .tag = "tag", .slot = "slotID", .class_values = send_batch_classes,
    .receivers_max = SEND_BATCH_TO_MAX,
};

static void test_other_names(void **state) {
    (void)state;
    api_send s;
    assert_int_equal(parse(&s, "{\"message\":\"x\",\"to\":[\"+33612345678\"],\"from\":\"Shop\","
                               "\"noStop\":true,\"class\":\"FLASH\",\"priority\":\"nonsense\"}",
                           &batch, NULL), 0);
    assert_string_equal(s.sender, "Shop");
    assert_true(s.no_stop);
    assert_int_equal(s.sms_class, 0);    /* FLASH is flash */
    assert_int_equal(s.priority, -1);    /* not a field of a batch: not read */
    api_send_fini(&s);
    refused("{\"message\":\"x\"}", API_SEND_MISSING, "to", "'to' or 'slotID'", &batch);
    refused("{\"message\":\"x\",\"to\":[\"1\"],\"slotID\":\"1\"}", API_SEND_INVALID, "to",
            "Give only one of 'to' and 'slotID'", &batch);
    refused("{\"message\":\"x\",\"to\":[\"1\"],\"class\":\"flash\"}", API_SEND_INVALID, "class",
            "FLASH, PHONE, SIM", &batch);
    refused("{\"message\":\"x\",\"to\":[\"1\"],\"from\":\"TwelveLetter\"}", API_SEND_INVALID,
            "from", "parameter 'from'", &batch);
    refused("{\"message\":\"x\",\"to\":[\"1234567890123456789012345678901234567890123456789012345"
            "67890123456\"]}", API_SEND_INVALID, "to", "at most 64 characters", &batch);
}

static void test_tables(void **state) {
    (void)state;
    assert_int_equal(send_enum_find(send_priorities, "veryLow"), 3);
    assert_int_equal(send_enum_find(send_priorities, "VERYLOW"), -1);
    assert_string_equal(send_enum_name(send_priorities, 1), "medium");
    assert_string_equal(send_enum_name(send_classes, 7), ""); /* a newer stored value */
    assert_string_equal(send_enum_name(send_classes, -1), "");
    char buf[16];
    assert_string_equal(send_enum_list(send_codings, buf, sizeof buf), "7bit, 8bit");
    assert_string_equal(send_enum_list(send_priorities, buf, 8), "high, m"); /* cut */
    /* The batch's spellings name the same classes. */
    for (int i = 0; send_batch_classes[i]; i++) assert_non_null(send_classes[i]);
    assert_string_equal(api_send_code_name(API_SEND_SENDER_NOT_FOUND), "sender not found");
    assert_string_equal(api_send_code_name(API_SEND_NO_CREDIT), "no credit");
    assert_string_equal(api_send_code_name((api_send_code)99), "internal");
}

static void test_report(void **state) {
    (void)state;
    int64_t ids[] = {7, 8};
    const char *valid[] = {"+33612345678", "+33612345679"};
    const char *invalid[] = {"nope"};
    api_send_result r = {.code = API_SEND_OK, .status = 200, .count = 2, .ids = ids,
                         .valid = valid, .ninvalid = 1, .invalid = invalid,
                         .credits_removed = 140, .credits_left = 2000, .tag = NULL};
    json_t *o = api_send_report_json(&r);
    char *t = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | SG_JSON_REALS);
    assert_string_equal(t, "{\"creditsLeft\":2,\"ids\":[7,8],\"invalidReceivers\":[\"nope\"],"
                           "\"tag\":null,\"totalCreditsRemoved\":0.14,\"validReceivers\":"
                           "[\"+33612345678\",\"+33612345679\"]}");
    free(t);
    json_decref(o);
}

int main(int argc, char **argv) {
    alarm(TEST_TIMEOUT_S);
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, setup),
        cmocka_unit_test_setup(test_every_field, setup),
        cmocka_unit_test_setup(test_refusals_name_the_field, setup),
        cmocka_unit_test_setup(test_receivers, setup),
        cmocka_unit_test_setup(test_text_parts, setup),
        cmocka_unit_test_setup(test_virtual_number, setup),
        cmocka_unit_test_setup(test_other_names, setup),
        cmocka_unit_test_setup(test_tables, setup),
        cmocka_unit_test_setup(test_report, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
