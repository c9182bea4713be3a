/* kfn_cloth.h: the per-vertex and per-constraint math of the XPBD cloth solver (Macklin,
 * Müller and Chentanez 2016, "XPBD: position-based simulation of compliant constrained
 * dynamics"; one iteration per substep as in Macklin et al. 2019, "Small steps in physics
 * simulation"), shared by the reference loops of kernels/ref/ref_cloth.c and the CUDA
 * kernels of kernels/cuda/cuda_cloth.cu: one thread per vertex or per constraint calls one
 * of these, so the CPU tests run the arithmetic the GPU runs.
 *
 * Units: metres, seconds; w is an inverse mass (0 = pinned; cloth vertices have w = 1, so
 * compliances are per unit mass). Every constraint function reads the positions it needs,
 * computes the XPBD multiplier update dl = (-C - at * lambda) / (sum w |grad C|^2 + at)
 * with at = compliance / h^2, adds dl to *lambda and the corrections w_i dl grad_i C to the
 * positions. Constraints that share no vertex commute, so a batch of one colour may run in
 * any order or in parallel with the same result.
 */
#ifndef TRYON_KERNELS_KFN_CLOTH_H
#define TRYON_KERNELS_KFN_CLOTH_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* The most a contact moves a vertex in one substep, metres. */
#define KFN_CLOTH_MAX_PUSH 0.001f

#ifdef __CUDACC__
#define KFN_CLOTH __host__ __device__ static inline
#else
#define KFN_CLOTH static inline
#endif

KFN_CLOTH float kfn_c_dot(const float *a, const float *b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
KFN_CLOTH void kfn_c_sub(float *o, const float *a, const float *b)
{
    o[0] = a[0] - b[0], o[1] = a[1] - b[1], o[2] = a[2] - b[2];
}
KFN_CLOTH void kfn_c_cross(float *o, const float *a, const float *b)
{
    o[0] = a[1] * b[2] - a[2] * b[1];
    o[1] = a[2] * b[0] - a[0] * b[2];
    o[2] = a[0] * b[1] - a[1] * b[0];
}

/* Symplectic Euler prediction of vertex i over a substep h: xprev = x; a free vertex gains
   gravity g (m/s^2) in its velocity and moves by h v. */
KFN_CLOTH void kfn_cloth_predict(int i, float *x, float *xprev, float *v, const float *w, const float *g, float h)
{
    for (int k = 0; k < 3; k++) {
        xprev[i * 3 + k] = x[i * 3 + k];
        if (w[i] > 0.0f) {
            v[i * 3 + k] += h * g[k];
            x[i * 3 + k] += h * v[i * 3 + k];
        }
    }
}

/* Velocity from the substep's displacement, damped by the factor (1 - damping h) (damping
   in 1/s, clamped at zero). */
KFN_CLOTH void kfn_cloth_velocity(int i, const float *x, const float *xprev, float *v, float h, float damping)
{
    float f = 1.0f - damping * h;
    f = f > 0.0f ? f : 0.0f;
    for (int k = 0; k < 3; k++)
        v[i * 3 + k] = f * (x[i * 3 + k] - xprev[i * 3 + k]) / h;
}

/* Distance constraint C = |xa - xb| - rest between vertices a and b (stretch and shear: on
   a triangle mesh the three edge lengths fix a triangle's in-plane shape). */
KFN_CLOTH void kfn_cloth_distance(int a, int b, float rest, float at, float *lambda, const float *w, float *x)
{
    float *xa = x + a * 3, *xb = x + b * 3;
    float d0 = xa[0] - xb[0], d1 = xa[1] - xb[1], d2 = xa[2] - xb[2];
    float len = sqrtf(d0 * d0 + d1 * d1 + d2 * d2);
    float wa = w[a], wb = w[b], ws = wa + wb;
    if (len < 1e-12f || ws + at <= 0.0f)
        return;
    float dl = (rest - len - at * *lambda) / (ws + at);
    *lambda += dl;
    float f = dl / len, fa = wa * f, fb = wb * f;   /* dl along the unit direction d / len */
    xa[0] += fa * d0, xa[1] += fa * d1, xa[2] += fa * d2;
    xb[0] -= fb * d0, xb[1] -= fb * d1, xb[2] -= fb * d2;
}

/* atan2(y, x) in radians, in [-pi, pi], to within 3e-7 (an odd minimax polynomial of
   degree 15 in t = min/max of |x|, |y| in [0, 1], then the octant; atan2(0, 0) = 0): the
   same few multiply-adds on every backend, where libm's atan2f and CUDA's differ in their
   last bits and cost several times as much. */
KFN_CLOTH float kfn_cloth_atan2(float y, float x)
{
    float ax = fabsf(x), ay = fabsf(y);
    float mx = ax > ay ? ax : ay, mn = ax > ay ? ay : ax;
    float t = mx > 0.0f ? mn / mx : 0.0f, s = t * t;
    float p = -0.004054483f;
    p = p * s + 0.021862669f;
    p = p * s - 0.055911932f;
    p = p * s + 0.096421704f;
    p = p * s - 0.139086202f;
    p = p * s + 0.199465632f;
    p = p * s - 0.333298594f;
    p = p * s + 0.999999344f;
    float r = p * t;
    if (ay > ax)
        r = 1.57079632679f - r;
    if (x < 0.0f)
        r = 3.14159265359f - r;
    return y < 0.0f ? -r : r;
}

/* Signed dihedral angle (radians, in [-pi, pi], 0 when flat) of the hinge x3-x4 between
   triangle (x1, x3, x4) and triangle (x2, x4, x3), and optionally its gradient with respect
   to the four points (g: (4,3), order x1 x2 x3 x4; Bridson, Marino and Fedkiw 2003's bending
   modes; the four rows sum to zero). Returns 0 with a zero gradient for a degenerate hinge. */
KFN_CLOTH float kfn_cloth_dihedral_angle(const float *x1, const float *x2, const float *x3, const float *x4,
                                        float *g)
{
    float e[3], a1[3], b1[3], a2[3], b2[3], n1[3], n2[3];
    kfn_c_sub(e, x4, x3);
    kfn_c_sub(a1, x1, x3), kfn_c_sub(b1, x1, x4);
    kfn_c_sub(a2, x2, x4), kfn_c_sub(b2, x2, x3);
    kfn_c_cross(n1, a1, b1);
    kfn_c_cross(n2, a2, b2);
    float le2 = kfn_c_dot(e, e), nn1 = kfn_c_dot(n1, n1), nn2 = kfn_c_dot(n2, n2);
    if (le2 < 1e-20f || nn1 < 1e-24f || nn2 < 1e-24f) {
        if (g)
            for (int k = 0; k < 12; k++)
                g[k] = 0.0f;
        return 0.0f;
    }
    float le = sqrtf(le2), ile = 1.0f / le;
    float c[3];
    kfn_c_cross(c, n2, n1);
    float theta = kfn_cloth_atan2(kfn_c_dot(c, e) * ile, kfn_c_dot(n1, n2));
    if (g) {
        float s1 = kfn_c_dot(b1, e) * ile, s2 = kfn_c_dot(a2, e) * ile;   /* (x1-x4).e, (x2-x4).e */
        float t1 = kfn_c_dot(a1, e) * ile, t2 = kfn_c_dot(b2, e) * ile;   /* (x1-x3).e, (x2-x3).e */
        float i1 = 1.0f / nn1, i2 = 1.0f / nn2;
        for (int k = 0; k < 3; k++) {
            float u1 = n1[k] * i1, u2 = n2[k] * i2;
            g[0 + k] = le * u1;
            g[3 + k] = le * u2;
            g[6 + k] = s1 * u1 + s2 * u2;
            g[9 + k] = -t1 * u1 - t2 * u2;
        }
    }
    return theta;
}

/* Bending: C = the dihedral angle of hinge q = (x1, x2, x3, x4) minus its rest angle,
   wrapped into (-pi, pi]. */
KFN_CLOTH void kfn_cloth_bend(const int32_t *q, float rest, float at, float *lambda, const float *w, float *x)
{
    float g[12];
    float th = kfn_cloth_dihedral_angle(x + q[0] * 3, x + q[1] * 3, x + q[2] * 3, x + q[3] * 3, g);
    float c = th - rest;
    const float pi = 3.14159265358979f;
    if (c > pi)
        c -= 2.0f * pi;
    if (c < -pi)
        c += 2.0f * pi;
    float wq[4] = {w[q[0]], w[q[1]], w[q[2]], w[q[3]]};
    float den = at;
    for (int j = 0; j < 4; j++)
        den += wq[j] * kfn_c_dot(g + j * 3, g + j * 3);
    if (den <= 1e-20f)
        return;
    float dl = (-c - at * *lambda) / den;
    *lambda += dl;
    for (int j = 0; j < 4; j++) {
        float f = wq[j] * dl, *xj = x + q[j] * 3;
        xj[0] += f * g[j * 3], xj[1] += f * g[j * 3 + 1], xj[2] += f * g[j * 3 + 2];
    }
}

/* Attachment (the waistband): vertex i pulled toward target (3) with compliance at (per
   substep, no multiplier kept: one iteration per substep starts it at zero). */
KFN_CLOTH void kfn_cloth_attach(int i, const float *target, float at, const float *w, float *x)
{
    if (w[i] <= 0.0f)
        return;
    float f = w[i] / (w[i] + at);
    for (int k = 0; k < 3; k++)
        x[i * 3 + k] += f * (target[k] - x[i * 3 + k]);
}

/* Contact of vertex i with an obstacle's tangent plane (plane: (nv,7) = point q, unit
   outward normal n, active flag): where (x - q).n < thickness the vertex moves out to the
   thickness along n, by at most KFN_CLOTH_MAX_PUSH per substep (a vertex found deep in a
   crease where two body parts meet leaves over several substeps instead of being flung
   out, which made spikes of a single vertex). Then Coulomb friction on the substep's tangential displacement
   (x - xprev): cancelled when under mu_s times the normal push (static), else shortened
   by mu_k times it. The push counted is capped at push_cap (the drape passes g h^2, the
   cloth's own weight): a push made by the cloth's tension pressing it onto the body would
   otherwise hold the numerical stretch of the first steps in place for good. */
KFN_CLOTH void kfn_cloth_contact(int i, const float *plane, float thickness, float mu_s, float mu_k,
                                 float push_cap, const float *w, const float *xprev, float *x)
{
    const float *p = plane + (size_t)i * 7;
    if (p[6] == 0.0f || w[i] <= 0.0f)
        return;
    float *xi = x + i * 3, r[3];
    kfn_c_sub(r, xi, p);
    float d = kfn_c_dot(r, p + 3);
    if (d >= thickness)
        return;
    float push = fminf(thickness - d, KFN_CLOTH_MAX_PUSH);
    for (int k = 0; k < 3; k++)
        xi[k] += push * p[3 + k];
    push = fminf(push, push_cap);
    float m[3];
    kfn_c_sub(m, xi, xprev + i * 3);
    float mn = kfn_c_dot(m, p + 3), t[3];
    for (int k = 0; k < 3; k++)
        t[k] = m[k] - mn * p[3 + k];
    float lt = sqrtf(kfn_c_dot(t, t));
    if (lt <= 0.0f)
        return;
    float f = lt < mu_s * push ? 1.0f : fminf(mu_k * push / lt, 1.0f);
    for (int k = 0; k < 3; k++)
        xi[k] -= f * t[k];
}

#endif
