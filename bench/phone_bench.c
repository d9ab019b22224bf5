/*
 * phone_bench.c - cost of phone_normalize() for a receiver never seen before (a cache miss).
 *
 * Not built by `make`; build and run it by hand against the library `make` produced:
 *
 *   make && cc -std=c11 -D_GNU_SOURCE -O2 -Isrc bench/phone_bench.c build/libsmsgate.a \
 *       -lphonenumber -lstdc++ -lpthread -lcrypto -o build/phone_bench && build/phone_bench
 *
 * (one workload only: build/phone_bench fr-e164). Figures: docs/benchmarks.md ("Receiver
 * validation"); they vary with the machine's load.
 *
 * Every number is distinct, so every call misses the cache and pays for libphonenumber: this
 * measures first sight, not the steady state. A warm-up round (not counted) first fills
 * libphonenumber's own regular-expression cache, as a server that has run for a while has.
 * Each workload then runs ROUNDS rounds of PER_ROUND fresh numbers; the line printed gives the
 * median round and the fastest and slowest, in microseconds per number.
 *
 * Workloads:
 *   fr-e164   "+336..." / "+337..." French mobiles, strict E.164 (the common API case)
 *   mix-e164  mobiles from 24 countries (shared codes +1, +7, +44, +590 among them), E.164
 *   fr-spaced the French mobiles written "+33 6 .. .. .. ..": not strict E.164
 *   invalid   "+33 0..." and "+999..." style inputs in E.164 syntax that are not valid
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/phone.h"

#define ROUNDS 7
#define PER_ROUND 20000
#define WARMUP 5000

/* A mobile-number prefix and how many digits follow it. The digits vary per number. */
typedef struct template {
    const char *prefix;
    int digits;
} template;

static const template mix[] = {
    {"+336", 8},     {"+49151", 8},  {"+447400", 6}, {"+1201", 7},    {"+39312", 7},
    {"+346", 8},     {"+316", 8},    {"+32470", 6},  {"+4178", 7},    {"+9198", 8},
    {"+55119", 8},   {"+7916", 7},   {"+86138", 8},  {"+8190", 8},    {"+614", 8},
    {"+2782", 7},    {"+234803", 7}, {"+2126", 8},   {"+22177", 7},   {"+22507", 8},
    {"+2162", 7},    {"+1416", 7},   {"+590690", 6}, {"+447700", 6},
};

static unsigned long serial; /* makes every generated number of the process distinct */

static void make_number(const char *workload, char *buf, size_t size) {
    unsigned long k = serial++;
    if (strcmp(workload, "fr-e164") == 0) {
        snprintf(buf, size, "+33%c%08lu", k % 2 ? '7' : '6', (k * 7919) % 100000000UL);
    } else if (strcmp(workload, "fr-spaced") == 0) {
        unsigned long d = (k * 7919) % 100000000UL;
        snprintf(buf, size, "+33 6 %02lu %02lu %02lu %02lu", d / 1000000, d / 10000 % 100,
                 d / 100 % 100, d % 100);
    } else if (strcmp(workload, "invalid") == 0) {
        if (k % 2) snprintf(buf, size, "+999%09lu", k);
        else snprintf(buf, size, "+330%09lu", k); /* one digit too many after the 0 */
    } else {
        const template *t = &mix[k % (sizeof mix / sizeof mix[0])];
        unsigned long d = (k / (sizeof mix / sizeof mix[0])) * 7919 + 12345;
        char digits[16];
        snprintf(digits, sizeof digits, "%015lu", d);
        snprintf(buf, size, "%s%s", t->prefix, digits + 15 - t->digits);
    }
}

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs n fresh numbers of the workload; returns microseconds per number, *valid the count of
 * numbers accepted. */
static double run(const char *workload, int n, int *valid) {
    char buf[40];
    phone_info pi;
    *valid = 0;
    double t0 = now_us();
    for (int i = 0; i < n; i++) {
        make_number(workload, buf, sizeof buf);
        if (phone_normalize(buf, NULL, &pi) == 0) (*valid)++;
    }
    return (now_us() - t0) / n;
}

int main(int argc, char **argv) {
    static const char *all[] = {"fr-e164", "mix-e164", "fr-spaced", "invalid"};
    phone_init();
    for (size_t w = 0; w < sizeof all / sizeof all[0]; w++) {
        const char *workload = all[w];
        if (argc > 1 && strcmp(argv[1], workload) != 0) continue;
        int valid;
        unsigned long h0, m0, h1, m1;
        run(workload, WARMUP, &valid);
        double r[ROUNDS];
        phone_cache_stats(&h0, &m0);
        for (int i = 0; i < ROUNDS; i++) r[i] = run(workload, PER_ROUND, &valid);
        phone_cache_stats(&h1, &m1);
        qsort(r, ROUNDS, sizeof r[0], cmp_double);
        printf("%-10s median %6.2f us/number (min %.2f, max %.2f); %d/%d valid; %lu hits, "
               "%lu misses\n",
               workload, r[ROUNDS / 2], r[0], r[ROUNDS - 1], valid, PER_ROUND, h1 - h0, m1 - m0);
    }
    return 0;
}
