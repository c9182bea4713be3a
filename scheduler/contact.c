/* contact.c: contact sheets, OUT/contact/sheet-NNN.png, for reviewing a job at a glance.
 *
 * Each sheet is a fixed grid of cells (SCHED_SHEET_COLS x SCHED_SHEET_ROWS). A cell is a
 * box of the render's aspect holding the render fitted inside it and composited over
 * light grey in linear light (so transparency shows), and a label "person / garment" in
 * the 5x7 font under it. Failed pairs are a red cross; ok pairs whose render cannot be
 * read, a grey cross. Sheets are independent, so they are built in parallel; each cell's
 * pixels depend only on its render, so the bytes do not depend on the thread count.
 */
#include "scheduler/font.h"
#include "scheduler/internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const uint8_t SHEET_BG[3] = {255, 255, 255};
static const uint8_t BOX_BG[3] = {221, 221, 221};      /* light grey behind transparent renders */
static const uint8_t FAIL_BG[3] = {246, 222, 222};
static const uint8_t FAIL_INK[3] = {200, 24, 24};
static const uint8_t MISSING_INK[3] = {120, 120, 120};
static const uint8_t LABEL_INK[3] = {32, 32, 32};
#define LABEL_CHARS ((SCHED_THUMB_W + 1) / SCHED_FONT_ADVANCE) /* characters per label line */

int sched_thumb_h(const struct sched_catalog *c)
{
    if (c->render.width > 0 && c->render.height > 0) {
        long h = lround((double)SCHED_THUMB_W * c->render.height / c->render.width);
        return h < 40 ? 40 : h > 480 ? 480 : (int)h;
    }
    return SCHED_THUMB_W * 3 / 2;
}

static void fill(struct img8 *im, int x0, int y0, int w, int h, const uint8_t rgb[3])
{
    for (int y = y0; y < y0 + h; y++)
        for (int x = x0; x < x0 + w; x++)
            memcpy(im->px + ((size_t)y * im->w + x) * 3, rgb, 3);
}

/* Both diagonals of the box, 3 px thick, in ink. */
static void cross(struct img8 *im, int x0, int y0, int w, int h, const uint8_t ink[3])
{
    double len = sqrt((double)w * w + (double)h * h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double d1 = fabs((double)x * h - (double)y * w) / len;
            double d2 = fabs((double)(w - 1 - x) * h - (double)y * w) / len;
            if (d1 <= 1.5 || d2 <= 1.5)
                memcpy(im->px + ((size_t)(y0 + y) * im->w + x0 + x) * 3, ink, 3);
        }
}

/* Shrink an RGBA image by an integer factor k (k x k blocks, partial blocks at the right
 * and bottom edges averaged over what they hold), alpha-weighted so transparent pixels do
 * not bleed their colour. A cheap first step before the exact resize of huge renders. */
static enum tryon_status shrink_int(const struct img8 *src, int k, struct img8 *dst)
{
    int w = (src->w + k - 1) / k, h = (src->h + k - 1) / k;
    enum tryon_status s = img8_alloc(dst, w, h, 4);
    if (s)
        return s;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint64_t sum[4] = {0, 0, 0, 0}, cnt = 0;
            for (int yy = y * k; yy < (y + 1) * k && yy < src->h; yy++)
                for (int xx = x * k; xx < (x + 1) * k && xx < src->w; xx++) {
                    const uint8_t *p = src->px + ((size_t)yy * src->w + xx) * 4;
                    for (int ch = 0; ch < 3; ch++)
                        sum[ch] += (uint64_t)p[ch] * p[3];
                    sum[3] += p[3];
                    cnt++;
                }
            uint8_t *o = dst->px + ((size_t)y * w + x) * 4;
            for (int ch = 0; ch < 3; ch++)
                o[ch] = sum[3] ? (uint8_t)((sum[ch] + sum[3] / 2) / sum[3]) : 0;
            o[3] = (uint8_t)((sum[3] + cnt / 2) / cnt);
        }
    return TRYON_OK;
}

/* Load the render of pair i and draw it fitted into the box; false when it cannot be read. */
static bool draw_thumb(const struct sched_catalog *c, const char *out_dir, int i, struct img8 *sheet, int x0,
                       int y0, int box_h, const float *lin)
{
    const struct sched_pair *pr = &c->pairs[i];
    char rel[2 * SCHED_ID_MAX + 32], path[PATH_MAX];
    snprintf(rel, sizeof rel, "renders/%s/%s.png", c->persons[pr->person].id, c->garments[pr->garment].id);
    if (fs_join(path, sizeof path, out_dir, rel))
        return false;
    struct img_limits lim = {8192, 8192, (int64_t)8192 * 8192, (size_t)1 << 30};
    struct img8 im, small;
    if (img_load_png(path, &lim, &im, NULL))
        return false;
    int k = im.w / (2 * SCHED_THUMB_W) < im.h / (2 * box_h) ? im.w / (2 * SCHED_THUMB_W) : im.h / (2 * box_h);
    if (k >= 2) {
        enum tryon_status s = shrink_int(&im, k, &small);
        img8_free(&im);
        if (s)
            return false;
        im = small;
    }
    double scale = fmin((double)SCHED_THUMB_W / im.w, (double)box_h / im.h);
    int tw = (int)lround(im.w * scale), th = (int)lround(im.h * scale);
    tw = tw < 1 ? 1 : tw > SCHED_THUMB_W ? SCHED_THUMB_W : tw;
    th = th < 1 ? 1 : th > box_h ? box_h : th;
    enum tryon_status s = img8_resize(&im, tw, th, &small);
    img8_free(&im);
    if (s)
        return false;
    int ox = x0 + (SCHED_THUMB_W - tw) / 2, oy = y0 + (box_h - th) / 2;
    for (int y = 0; y < th; y++)
        for (int x = 0; x < tw; x++) {
            const uint8_t *p = small.px + ((size_t)y * tw + x) * 4;
            uint8_t *o = sheet->px + ((size_t)(oy + y) * sheet->w + ox + x) * 3;
            float a = p[3] / 255.0f;
            for (int ch = 0; ch < 3; ch++) {
                float v = a * lin[p[ch]] + (1.0f - a) * lin[BOX_BG[ch]];
                o[ch] = (uint8_t)lroundf(img_linear_to_srgb(v) * 255.0f);
            }
        }
    img8_free(&small);
    return true;
}

/* Copy at most LABEL_CHARS characters of s into out, ending in ".." when cut. */
static void fit_line(char *out, const char *s)
{
    size_t n = strlen(s);
    if (n <= LABEL_CHARS) {
        memcpy(out, s, n + 1);
        return;
    }
    memcpy(out, s, LABEL_CHARS - 2);
    memcpy(out + LABEL_CHARS - 2, "..", 3);
}

static void draw_label(struct img8 *sheet, int x0, int y0, const char *person, const char *garment,
                       const uint8_t ink[3])
{
    char full[2 * SCHED_ID_MAX + 8], line1[LABEL_CHARS + 1], line2[LABEL_CHARS + 1];
    snprintf(full, sizeof full, "%s / %s", person, garment);
    if (strlen(full) <= LABEL_CHARS) {
        sched_font_draw(sheet, x0 + (SCHED_THUMB_W - sched_font_width(full)) / 2, y0, full, ink);
        return;
    }
    snprintf(full, sizeof full, "%s /", person);
    fit_line(line1, full);
    fit_line(line2, garment);
    sched_font_draw(sheet, x0 + (SCHED_THUMB_W - sched_font_width(line1)) / 2, y0, line1, ink);
    sched_font_draw(sheet, x0 + (SCHED_THUMB_W - sched_font_width(line2)) / 2, y0 + SCHED_FONT_LINE, line2, ink);
}

static void sheet_path(char *out, size_t cap, const char *out_dir, int k)
{
    char rel[48];
    snprintf(rel, sizeof rel, "contact/sheet-%03d.png", k + 1);
    if (fs_join(out, cap, out_dir, rel))
        out[0] = 0;
}

/* Build and write sheet k over cells[k*per .. ); the message of a failure goes to err. */
static enum tryon_status write_sheet(const struct sched_catalog *c, const char *out_dir, const uint8_t *state,
                                     const int *cells, int n_cells, int k, const float *lin, char *err, size_t cap)
{
    const int per = SCHED_SHEET_COLS * SCHED_SHEET_ROWS, box_h = sched_thumb_h(c);
    const int cw = SCHED_THUMB_W + SCHED_SHEET_PAD, ch = box_h + SCHED_LABEL_H + SCHED_SHEET_PAD;
    struct img8 sheet;
    enum tryon_status s = img8_alloc(&sheet, SCHED_SHEET_COLS * cw + SCHED_SHEET_PAD,
                                     SCHED_SHEET_ROWS * ch + SCHED_SHEET_PAD, 3);
    if (s) {
        snprintf(err, cap, "contact sheet %d: out of memory", k + 1);
        return s;
    }
    fill(&sheet, 0, 0, sheet.w, sheet.h, SHEET_BG);
    for (int q = 0; q < per && k * per + q < n_cells; q++) {
        int i = cells[k * per + q];
        int x0 = SCHED_SHEET_PAD + (q % SCHED_SHEET_COLS) * cw, y0 = SCHED_SHEET_PAD + (q / SCHED_SHEET_COLS) * ch;
        const char *pid = c->persons[c->pairs[i].person].id, *gid = c->garments[c->pairs[i].garment].id;
        if (state[i] == SCHED_FAILED) {
            fill(&sheet, x0, y0, SCHED_THUMB_W, box_h, FAIL_BG);
            cross(&sheet, x0, y0, SCHED_THUMB_W, box_h, FAIL_INK);
            draw_label(&sheet, x0, y0 + box_h + 3, pid, gid, FAIL_INK);
            continue;
        }
        fill(&sheet, x0, y0, SCHED_THUMB_W, box_h, BOX_BG);
        if (!draw_thumb(c, out_dir, i, &sheet, x0, y0, box_h, lin))
            cross(&sheet, x0, y0, SCHED_THUMB_W, box_h, MISSING_INK);
        draw_label(&sheet, x0, y0 + box_h + 3, pid, gid, LABEL_INK);
    }
    char path[PATH_MAX];
    sheet_path(path, sizeof path, out_dir, k);
    s = path[0] ? img_save_png(path, &sheet) : tryon_fail(TRYON_ELIMIT, "%s: path too long", out_dir);
    if (s)
        snprintf(err, cap, "%s", tryon_errmsg());
    img8_free(&sheet);
    return s;
}

enum tryon_status sched_contact_write(const struct sched_catalog *c, const char *out_dir, const uint8_t *state,
                                      int *n_sheets)
{
    *n_sheets = 0;
    char dir[PATH_MAX];
    enum tryon_status s = fs_join(dir, sizeof dir, out_dir, "contact");
    if (s || (s = fs_mkdirs(dir)))
        return s;
    int *cells = malloc(sizeof *cells * (size_t)(c->n_pairs ? c->n_pairs : 1));
    if (!cells)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", out_dir);
    int n_cells = 0;
    for (int i = 0; i < c->n_pairs; i++)
        if (state[i] != SCHED_PENDING)
            cells[n_cells++] = i;
    const int per = SCHED_SHEET_COLS * SCHED_SHEET_ROWS;
    int n = (n_cells + per - 1) / per;
    float lin[256];
    for (int v = 0; v < 256; v++)
        lin[v] = img_srgb_to_linear(v / 255.0f);
    enum tryon_status *st = calloc((size_t)(n ? n : 1), sizeof *st);
    char (*err)[512] = calloc((size_t)(n ? n : 1), sizeof *err);
    if (!st || !err) {
        free(cells);
        free(st);
        free(err);
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", out_dir);
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (int k = 0; k < n; k++)
        st[k] = write_sheet(c, out_dir, state, cells, n_cells, k, lin, err[k], sizeof err[k]);
    s = TRYON_OK;
    for (int k = 0; k < n && !s; k++)
        if (st[k])
            s = tryon_fail(st[k], "%s", err[k]);
    free(cells);
    free(st);
    free(err);
    if (s)
        return s;
    /* sheets of an earlier run that had more cells */
    for (int k = n;; k++) {
        char path[PATH_MAX];
        sheet_path(path, sizeof path, out_dir, k);
        if (!path[0] || unlink(path) != 0)
            break;
    }
    *n_sheets = n;
    return TRYON_OK;
}
