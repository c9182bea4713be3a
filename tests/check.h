/* check.h: the assertion macros every C test uses. A failed check prints file:line and
 * the values, counts as a failure, and the test's main returns check_result() so ctest
 * sees a non-zero exit. Header-only on purpose: each test is one executable. */
#ifndef TRYON_TESTS_CHECK_H
#define TRYON_TESTS_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond) do { check_count++; if (!(cond)) { check_failures++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_MSG(cond, ...) do { check_count++; if (!(cond)) { check_failures++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
#define CHECK_EQ_INT(a, b) do { long long va_ = (long long)(a), vb_ = (long long)(b); check_count++; \
    if (va_ != vb_) { check_failures++; \
    fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b, va_, vb_); } } while (0)
#define CHECK_NEAR(a, b, tol) do { double va_ = (double)(a), vb_ = (double)(b); check_count++; \
    if (!(fabs(va_ - vb_) <= (tol))) { check_failures++; \
    fprintf(stderr, "%s:%d: |%s - %s| <= %g failed: %.9g vs %.9g\n", __FILE__, __LINE__, #a, #b, \
            (double)(tol), va_, vb_); } } while (0)
#define CHECK_STR(a, b) do { const char *va_ = (a), *vb_ = (b); check_count++; \
    if (!va_ || !vb_ || strcmp(va_, vb_) != 0) { check_failures++; \
    fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a, #b, \
            va_ ? va_ : "(null)", vb_ ? vb_ : "(null)"); } } while (0)
#define CHECK_CONTAINS(hay, needle) do { const char *h_ = (hay), *n_ = (needle); check_count++; \
    if (!h_ || !strstr(h_, n_)) { check_failures++; \
    fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__, h_ ? h_ : "(null)", n_); } } while (0)

static inline int check_result(const char *name)
{
    if (check_failures)
        fprintf(stderr, "%s: %d of %d checks failed\n", name, check_failures, check_count);
    else
        fprintf(stderr, "%s: all %d checks passed\n", name, check_count);
    return check_failures ? 1 : 0;
}

#endif
