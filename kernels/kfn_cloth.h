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
   gravity g (m/s^2) in its velocity and moves by h v (a pinned one adds zeros). */
KFN_CLOTH void kfn_cloth_predict(int i, float *x, float *xprev, float *v, const float *w, const float *g, float h)
{
    float hf = w[i] > 0.0f ? h : 0.0f;
    for (int k = 0; k < 3; k++) {
        xprev[i * 3 + k] = x[i * 3 + k];
        v[i * 3 + k] += hf * g[k];
        x[i * 3 + k] += hf * v[i * 3 + k];
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
   a triangle mesh the three edge lengths fix a triangle's in-plane shape); nothing moves
   for a zero-length edge or one whose ends are pinned without compliance. */
KFN_CLOTH void kfn_cloth_distance(int a, int b, float rest, float at, float *lambda, const float *w, float *x)
{
    float *xa = x + a * 3, *xb = x + b * 3;
    float d0 = xa[0] - xb[0], d1 = xa[1] - xb[1], d2 = xa[2] - xb[2];
    float len = sqrtf(d0 * d0 + d1 * d1 + d2 * d2);
    float wa = w[a], wb = w[b], den = wa + wb + at;
    if (len < 1e-12f || den <= 0.0f)
        return;
    float f = (rest - len - at * *lambda) / (den * len);   /* dl / len: one division, the costly part */
    *lambda += f * len;
    float fa = wa * f, fb = wb * f;   /* dl along the unit direction d / len */
    xa[0] += fa * d0, xa[1] += fa * d1, xa[2] += fa * d2;
    xb[0] -= fb * d0, xb[1] -= fb * d1, xb[2] -= fb * d2;
}

/* atan2(y, x) in radians, in [-pi, pi], to within 3e-7 (an odd minimax polynomial of
   degree 15 in t = min/max of |x|, |y| in [0, 1], then the octant; atan2(0, 0) = 0): the
   same few multiply-adds on every backend, without branches, where libm's atan2f and
   CUDA's differ in their last bits and cost several times as much. */
KFN_CLOTH float kfn_cloth_atan2(float y, float x)
{
    float ax = fabsf(x), ay = fabsf(y);
    float mx = ax > ay ? ax : ay, mn = ax > ay ? ay : ax;
    float t = mn / mx;
    t = mx > 0.0f ? t : 0.0f;
    float s = t * t;
    float p = -0.004054483f;
    p = p * s + 0.021862669f;
    p = p * s - 0.055911932f;
    p = p * s + 0.096421704f;
    p = p * s - 0.139086202f;
    p = p * s + 0.199465632f;
    p = p * s - 0.333298594f;
    p = p * s + 0.999999344f;
    float r = p * t;
    r = ay > ax ? 1.57079632679f - r : r;
    r = x < 0.0f ? 3.14159265359f - r : r;
    return y < 0.0f ? -r : r;
}

/* Signed dihedral angle (radians, in [-pi, pi], 0 when flat) of the hinge x3-x4 between
   triangle (x1, x3, x4) and triangle (x2, x4, x3), and its gradient with respect to the
   four points (g: (4,3) at stride gs, order x1 x2 x3 x4; Bridson, Marino and Fedkiw 2003's
   bending modes); 0 and a zero gradient for a degenerate hinge. With e = x4 - x3,
   a1 = x1 - x3, a2 = x2 - x4 the wings' normals are n1 = e x a1 and n2 = a2 x e, and
   (n2 x n1) . e = (a2 . n1) |e|^2, so the angle's sine part needs one dot. */
KFN_CLOTH float kfn_cloth_dihedral(const float *x1, const float *x2, const float *x3, const float *x4, float *g,
                                   int gs)
{
    float e[3], a1[3], a2[3], n1[3], n2[3];
    kfn_c_sub(e, x4, x3);
    kfn_c_sub(a1, x1, x3);
    kfn_c_sub(a2, x2, x4);
    kfn_c_cross(n1, e, a1);
    kfn_c_cross(n2, a2, e);
    float le2 = kfn_c_dot(e, e), nn1 = kfn_c_dot(n1, n1), nn2 = kfn_c_dot(n2, n2);
    int ok = !((le2 < 1e-20f) | (nn1 < 1e-24f) | (nn2 < 1e-24f));
    float le = sqrtf(le2), ile = 1.0f / le;
    float t1 = kfn_c_dot(a1, e) * ile, s2 = kfn_c_dot(a2, e) * ile;   /* (x1-x3).e/|e|, (x2-x4).e/|e| */
    float s1 = t1 - le, t2 = s2 + le;                                   /* (x1-x4).e/|e|, (x2-x3).e/|e| */
    float i1 = 1.0f / nn1, i2 = 1.0f / nn2;
    for (int k = 0; k < 3; k++) {
        float u1 = n1[k] * i1, u2 = n2[k] * i2;
        g[k * gs] = ok ? le * u1 : 0.0f;
        g[(3 + k) * gs] = ok ? le * u2 : 0.0f;
        g[(6 + k) * gs] = ok ? s1 * u1 + s2 * u2 : 0.0f;
        g[(9 + k) * gs] = ok ? -t1 * u1 - t2 * u2 : 0.0f;
    }
    float theta = kfn_cloth_atan2(kfn_c_dot(a2, n1) * le, kfn_c_dot(n1, n2));
    return ok ? theta : 0.0f;
}

/* kfn_cloth_dihedral with the gradient (4,3) only when g is not NULL. */
KFN_CLOTH float kfn_cloth_dihedral_angle(const float *x1, const float *x2, const float *x3, const float *x4,
                                        float *g)
{
    float unused[12];
    return kfn_cloth_dihedral(x1, x2, x3, x4, g ? g : unused, 1);
}

/* Bending: C = the dihedral angle of hinge q = (x1, x2, x3, x4) minus its rest angle,
   wrapped into (-pi, pi]. It comes in two halves so that a batch of one colour can compute
   every hinge's step first (a loop without stores to x: it vectorizes) and store them after;
   a colour shares no vertex, so that is the sequential result bit for bit. The _dl half,
   without branches, returns the multiplier update dl and writes xn (4,3 at stride xs: 1 for
   one hinge, the batch size for a batch's columns), the four points moved by
   w_j dl grad_j C (unmoved for a degenerate hinge, dl = 0). */
KFN_CLOTH float kfn_cloth_bend_dl(const int32_t *q, float rest, float at, float lambda, const float *w, const float *x,
                                  float *xn, int xs)
{
    float p[4][3], g[12];   /* the four points, gathered by index (what a vector loop can gather); the gradient */
    for (int j = 0; j < 4; j++)
        for (int k = 0; k < 3; k++)
            p[j][k] = x[q[j] * 3 + k];
    float th = kfn_cloth_dihedral(p[0], p[1], p[2], p[3], g, 1);
    const float pi = 3.14159265358979f;
    float c = th - rest;
    c = c > pi ? c - 2.0f * pi : c;
    c = c < -pi ? c + 2.0f * pi : c;
    float wq[4] = {w[q[0]], w[q[1]], w[q[2]], w[q[3]]};
    float den = at;
    for (int j = 0; j < 4; j++)
        den += wq[j] * kfn_c_dot(g + j * 3, g + j * 3);
    float dl = (-c - at * lambda) / den;
    dl = den > 1e-20f ? dl : 0.0f;
    for (int j = 0; j < 4; j++) {
        float f = wq[j] * dl;
        for (int k = 0; k < 3; k++)
            xn[(j * 3 + k) * xs] = p[j][k] + f * g[j * 3 + k];
    }
    return dl;
}

/* lambda += dl; the four points take their places xn. */
KFN_CLOTH void kfn_cloth_bend_apply(const int32_t *q, float dl, const float *xn, int xs, float *lambda, float *x)
{
    *lambda += dl;
    for (int j = 0; j < 4; j++)
        for (int k = 0; k < 3; k++)
            x[q[j] * 3 + k] = xn[(j * 3 + k) * xs];
}

KFN_CLOTH void kfn_cloth_bend(const int32_t *q, float rest, float at, float *lambda, const float *w, float *x)
{
    float xn[12];
    float dl = kfn_cloth_bend_dl(q, rest, at, *lambda, w, x, xn, 1);
    kfn_cloth_bend_apply(q, dl, xn, 1, lambda, x);
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
   thickness along n, by at most push_max metres per substep (the drape passes a speed
   times h: a vertex found deep in a crease where two body parts meet leaves over several
   substeps instead of being flung out, which made spikes of a single vertex). Then Coulomb
   friction on the substep's tangential displacement (x - xprev): cancelled when under mu_s
   times the normal push (static), else shortened by mu_k times it. The push counted is capped at push_cap (the drape passes g h^2, the
   cloth's own weight): a push made by the cloth's tension pressing it onto the body would
   otherwise hold the numerical stretch of the first steps in place for good. */
KFN_CLOTH void kfn_cloth_contact(int i, const float *plane, float thickness, float mu_s, float mu_k,
                                 float push_max, float push_cap, const float *w, const float *xprev, float *x)
{
    const float *p = plane + (size_t)i * 7;
    if (p[6] == 0.0f || w[i] <= 0.0f)
        return;
    float *xi = x + i * 3, r[3];
    kfn_c_sub(r, xi, p);
    float d = kfn_c_dot(r, p + 3);
    if (d >= thickness)
        return;
    float push = fminf(thickness - d, push_max);
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
