/*
 * test_digest.c - util/digest.h against published vectors: HMAC-SHA-256 from RFC 4231 (short,
 * block-sized and longer-than-a-block keys) and SHA-1 from FIPS 180 ("abc").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "util/digest.h"
#include "util/util.h"

#define TEST_TIMEOUT_S 60

static void check_hmac(const void *key, size_t key_len, const char *data, const char *want) {
    unsigned char mac[32];
    char hex[65];
    sg_hmac_sha256(key, key_len, data, strlen(data), mac);
    sg_hex(mac, sizeof mac, hex);
    assert_string_equal(hex, want);
}

static void test_hmac_rfc4231(void **state) {
    (void)state;
    unsigned char k[131];
    memset(k, 0x0b, 20); /* test case 1 */
    check_hmac(k, 20, "Hi There",
               "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    check_hmac("Jefe", 4, "what do ya want for nothing?", /* test case 2 */
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    memset(k, 0xaa, sizeof k); /* test case 6: a key longer than a block is hashed first */
    check_hmac(k, 131, "Test Using Larger Than Block-Size Key - Hash Key First",
               "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    check_hmac(k, 131, /* test case 7 */
               "This is a test using a larger than block-size key and a larger than "
               "block-size data. The key needs to be hashed before being used by the HMAC "
               "algorithm.",
               "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

static void test_hmac_block_sized_key(void **state) {
    (void)state;
    /* a key of exactly one block (64 bytes, the size of smsgate's callback secrets) is used as
     * it is (the expected value is from Python's hmac module, an independent implementation) */
    const char *key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    check_hmac(key, 64, "id=1&dlr=8",
               "674306275cea70254a66e998d921ceaa482159295a3d1395fdc3303145709125");
}

static void test_sha1_fips(void **state) {
    (void)state;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    char hex[41];
    for (int round = 0; round < 2; round++) { /* the fetched digest is reused */
        EVP_MD_CTX *ctx = sg_digest_begin(sg_md_sha1());
        assert_int_equal(EVP_DigestUpdate(ctx, "abc", 3), 1);
        assert_int_equal(EVP_DigestFinal_ex(ctx, md, &n), 1);
        EVP_MD_CTX_free(ctx);
        assert_int_equal(n, 20);
        sg_hex(md, n, hex);
        assert_string_equal(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    }
}

int main(int argc, char **argv) {
    alarm(TEST_TIMEOUT_S);
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_hmac_block_sized_key),
        cmocka_unit_test(test_sha1_fips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
