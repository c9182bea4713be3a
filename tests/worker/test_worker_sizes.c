/* test_worker_sizes.c: the size recommendation rule (worker_size_plan, worker_size_choose)
 * without a drape: the drapes' verdicts are given, so each case states exactly what the rule
 * must make of a chart, a wearer and what the cloth said.
 *
 * The cases first: a 91.5 cm chest (waist 72) on the chart S 84/68, M 92/76,
 * L 100/84 lies between S and M, the drape finds S tight and M good: M, good. A chart whose
 * smallest size is cut for 104 cm: below the chart, S, called loose (the drape said good).
 * Then: bigger than the largest (the largest, tight), on a size's measurements, within half
 * a step of the smallest (on it, not below), a one-size chart, both candidates tight (the
 * larger), a candidate that did not drape, none draped (-1), a smaller size the drape finds
 * good though the wearer exceeds it by more than half a step (tight: the chart decides),
 * one within half a step (the drape decides), and a listed girth the drape does not judge. */
#include "check.h"
#include "worker/worker.h"

#define T AVATAR_FIT_TIGHT
#define G AVATAR_FIT_GOOD
#define L AVATAR_FIT_LOOSE
#define N AVATAR_FIT_NONE

static const struct worker_size CHART[3] = {
    {"S", {84, 68, 0, 0}}, {"M", {92, 76, 0, 0}}, {"L", {100, 84, 0, 0}}};

/* Plan, then choose with the drapes' verdicts v (rows for every size; draped as given). */
static void run(const struct worker_size *sizes, int n, const float body[3], const enum avatar_fit_verdict (*v)[4],
                const bool *draped, struct worker_size_plan *plan, struct worker_size_choice *ch)
{
    worker_size_plan(sizes, n, body, plan);
    worker_size_choose(sizes, n, body, plan, v, draped, ch);
}

int main(void)
{
    struct worker_size_plan pl;
    struct worker_size_choice ch;
    {   /* between S and M: S tight at the chest, M good: M */
        const float body[3] = {91.5f, 72.0f, 95.0f};
        const enum avatar_fit_verdict v[3][4] = {{T, T, G, G}, {G, G, G, G}, {G, G, G, G}};
        const bool d[3] = {true, true, false};
        run(CHART, 3, body, v, d, &pl, &ch);
        CHECK_EQ_INT(pl.position, WORKER_SIZE_BETWEEN);
        CHECK(pl.lo == 0 && pl.hi == 1);
        CHECK_EQ_INT(ch.recommended, 1);
        CHECK_EQ_INT(ch.verdict, G);
        CHECK(ch.region[0][AVATAR_FIT_CHEST] == T && ch.region[1][AVATAR_FIT_CHEST] == G);
        CHECK(ch.region[1][AVATAR_FIT_WAIST] == G && ch.region[1][AVATAR_FIT_HIPS] == G);
        CHECK(ch.region[2][AVATAR_FIT_CHEST] == N);   /* not draped */
        CHECK_STR(worker_size_position_name(pl.position), "between");
    }
    {   /* the smallest size is cut for 104 cm: below the chart, S, loose */
        const struct worker_size big[2] = {{"S", {104, 88, 0, 0}}, {"M", {112, 96, 0, 0}}};
        const float body[3] = {91.5f, 72.0f, 95.0f};
        const enum avatar_fit_verdict v[2][4] = {{G, G, G, G}, {G, G, G, G}};
        const bool d[2] = {true, false};
        run(big, 2, body, v, d, &pl, &ch);
        CHECK_EQ_INT(pl.position, WORKER_SIZE_BELOW);
        CHECK(pl.lo == 0 && pl.hi == 0);
        CHECK_EQ_INT(ch.recommended, 0);
        CHECK_EQ_INT(ch.verdict, L);
        CHECK(ch.region[0][AVATAR_FIT_CHEST] == L && ch.region[0][AVATAR_FIT_WAIST] == L);
        CHECK(ch.region[0][AVATAR_FIT_LENGTH] == G);
        CHECK_STR(worker_size_position_name(pl.position), "below");
    }
    {   /* bigger than the largest: L, tight where the wearer exceeds it, though the drape said good */
        const float body[3] = {104.0f, 80.0f, 100.0f};
        const enum avatar_fit_verdict v[3][4] = {{G, G, G, G}, {G, G, G, G}, {G, G, G, G}};
        const bool d[3] = {false, false, true};
        run(CHART, 3, body, v, d, &pl, &ch);
        CHECK_EQ_INT(pl.position, WORKER_SIZE_ABOVE);
        CHECK(pl.lo == 2 && pl.hi == 2);
        CHECK_EQ_INT(ch.recommended, 2);
        CHECK_EQ_INT(ch.verdict, T);
        CHECK(ch.region[2][AVATAR_FIT_CHEST] == T && ch.region[2][AVATAR_FIT_WAIST] == G);
    }
    {   /* on M's measurements (every girth within WORKER_SIZE_MATCH_CM) */
        const float body[3] = {91.5f, 75.5f, 95.0f};
        const enum avatar_fit_verdict v[3][4] = {{T, G, G, G}, {G, G, G, G}, {G, G, G, G}};
        const bool d[3] = {true, true, false};
        run(CHART, 3, body, v, d, &pl, &ch);
        CHECK_EQ_INT(pl.position, WORKER_SIZE_ON);
        CHECK(pl.lo == 0 && pl.hi == 1);
        CHECK_EQ_INT(ch.recommended, 1);
    }
    {   /* 2 cm under the smallest, half a step is 4: on S, not below, and S good */
        const float body[3] = {82.0f, 66.0f, 90.0f};
        const enum avatar_fit_verdict v[3][4] = {{G, G, G, G}, {G, G, G, G}, {G, G, G, G}};
        const bool d[3] = {true, false, false};
        run(CHART, 3, body, v, d, &pl, &ch);
        CHECK_EQ_INT(pl.position, WORKER_SIZE_ON);
        CHECK(pl.lo == 0 && pl.hi == 0);
        CHECK_EQ_INT(ch.recommended, 0);
        CHECK_EQ_INT(ch.verdict, G);
    }
    {   /* a one-size chart: the step is WORKER_SIZE_STEP_CM, 8.5 cm over the wearer is below it */
        const struct worker_size one[1] = {{"One", {100, 0, 0, 0}}};
        const enum avatar_fit_verdict v[1][4] = {{G, G, G, G}};
        const bool d[1] = {true};
        const float body[3] = {91.5f, 72.0f, 95.0f};
        run(one, 1, body, v, d, &pl, &ch);
        CHECK_EQ_INT(pl.position, WORKER_SIZE_BELOW);
        CHECK_EQ_INT(ch.verdict, L);
        const float close[3] = {97.0f, 72.0f, 95.0f};   /* 3 cm: within half a step */
        run(one, 1, close, v, d, &pl, &ch);
        CHECK_EQ_INT(pl.position, WORKER_SIZE_ON);
        CHECK_EQ_INT(ch.verdict, G);
    }
    const float mid[3] = {91.5f, 72.0f, 95.0f};
    {   /* both candidates tight: the larger, tight */
        const enum avatar_fit_verdict v[3][4] = {{T, T, G, G}, {G, T, G, G}, {G, G, G, G}};
        const bool d[3] = {true, true, false};
        run(CHART, 3, mid, v, d, &pl, &ch);
        CHECK_EQ_INT(ch.recommended, 1);
        CHECK_EQ_INT(ch.verdict, T);
    }
    {   /* M did not drape, S is tight: S, the largest that draped */
        const enum avatar_fit_verdict v[3][4] = {{T, G, G, G}, {G, G, G, G}, {G, G, G, G}};
        const bool d[3] = {true, false, false};
        run(CHART, 3, mid, v, d, &pl, &ch);
        CHECK_EQ_INT(ch.recommended, 0);
        CHECK_EQ_INT(ch.verdict, T);
        const bool none[3] = {false, false, false};
        run(CHART, 3, mid, v, none, &pl, &ch);
        CHECK_EQ_INT(ch.recommended, -1);
    }
    {   /* the drape finds S good, but its chest is 7.5 cm under the wearer's, more than half the
           8 cm step: the chart calls it tight, M (a 91.5 cm chest never gets S) */
        const enum avatar_fit_verdict v[3][4] = {{G, G, G, G}, {G, G, G, G}, {G, G, G, G}};
        const bool d[3] = {true, true, false};
        run(CHART, 3, mid, v, d, &pl, &ch);
        CHECK_EQ_INT(ch.region[0][AVATAR_FIT_CHEST], T);
        CHECK_EQ_INT(ch.region[0][AVATAR_FIT_WAIST], G);   /* 4 cm under: within half a step, the drape's good */
        CHECK_EQ_INT(ch.recommended, 1);
        CHECK_EQ_INT(ch.verdict, G);
    }
    {   /* 86/70: 2 cm over S, within half a step: the cloth decides (S good: S; S tight: M) */
        const float near_s[3] = {86.0f, 70.0f, 95.0f};
        const enum avatar_fit_verdict v[3][4] = {{G, G, G, G}, {G, G, G, G}, {G, G, G, G}};
        const bool d[3] = {true, true, false};
        run(CHART, 3, near_s, v, d, &pl, &ch);
        CHECK_EQ_INT(pl.position, WORKER_SIZE_BETWEEN);
        CHECK_EQ_INT(ch.recommended, 0);
        CHECK_EQ_INT(ch.verdict, G);
        CHECK_EQ_INT(ch.region[1][AVATAR_FIT_CHEST], L);   /* M 6 cm over the wearer: loose */
        const enum avatar_fit_verdict vt[3][4] = {{G, T, G, G}, {G, G, G, G}, {G, G, G, G}};
        run(CHART, 3, near_s, vt, d, &pl, &ch);
        CHECK_EQ_INT(ch.recommended, 1);
        CHECK_EQ_INT(ch.verdict, L);
    }
    {   /* trousers with a chest in their chart: the drape does not judge the chest, the chart does */
        const struct worker_size tr[2] = {{"30", {88, 70, 0, 0}}, {"32", {94, 78, 0, 0}}};
        const enum avatar_fit_verdict v[2][4] = {{N, G, G, G}, {N, G, G, G}};
        const bool d[2] = {true, true};
        run(tr, 2, mid, v, d, &pl, &ch);
        CHECK(pl.lo == 0 && pl.hi == 1);
        CHECK_EQ_INT(ch.region[0][AVATAR_FIT_CHEST], T);
        CHECK_EQ_INT(ch.region[1][AVATAR_FIT_CHEST], G);
        CHECK_EQ_INT(ch.recommended, 1);
    }
    return check_result("test_worker_sizes");
}
