/* gallery.c: OUT/index.html, what the shopper (and the catalog team) sees of a job.
 *
 * One card per pair: the person's photo and the garment's, the try-on, the fit map (when
 * the job wrote AOVs), the turntable (when it wrote one), and for a garment with a size
 * chart the recommended size with its verdict per region and every size's verdict; for a
 * failed pair its error. Filters by person, garment, status and size verdict run in an
 * inline script over the page's cards (their data-* attributes) and keep their state in
 * the URL's #fragment, so a filtered view can be linked. The pages stay self-contained
 * (inline CSS and JS, relative links, no fetch): they work opened from the file system.
 * The photos are hard-linked (copied across file systems) into OUT/photos/ so the gallery
 * links stay inside OUT. Everything shown from the catalog or a record is HTML-escaped.
 */
#include "scheduler/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void html_esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* fmt with each %s argument HTML-escaped (only %s is understood; %% prints %). */
static void html_printf(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (const char *p = fmt; *p; p++) {
        if (p[0] == '%' && p[1] == 's') {
            html_esc(f, va_arg(ap, const char *));
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            fputc('%', f);
            p++;
        } else {
            fputc(*p, f);
        }
    }
    va_end(ap);
}

static void page_name(char *out, size_t cap, int page)
{
    if (page == 0)
        snprintf(out, cap, "index.html");
    else
        snprintf(out, cap, "index-%03d.html", page + 1);
}

static const char *const CSS =
    "body{font-family:system-ui,sans-serif;margin:1.5em;background:#fafafa;color:#222}"
    "h1{font-size:1.4em}table{border-collapse:collapse}td,th{padding:.2em .6em;border-bottom:1px solid #ddd;"
    "text-align:left;vertical-align:top}.counts span{display:inline-block;margin-right:1.2em}"
    ".filters{margin:.8em 0;padding:.5em .7em;background:#fff;border:1px solid #ddd;display:inline-block}"
    ".filters label{margin-right:1em}.filters select{margin-left:.3em}#f-count{color:#666}"
    ".grid{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}"
    ".card{margin:0;width:334px;background:#fff;border:1px solid #ddd;padding:6px;font-size:12px}"
    ".card figcaption{font-size:13px;font-weight:600;margin-bottom:4px;word-break:break-all}"
    ".row{display:flex;gap:4px;margin-bottom:4px}.row figure{margin:0;text-align:center;color:#777;font-size:10px}"
    ".big img{width:163px;background:#ddd;display:block}.small img{width:108px;background:#eee;display:block}"
    ".ph{width:324px;height:120px;display:flex;align-items:center;justify-content:center;background:#eee;color:#888}"
    ".ok .st{color:#175}.failed .st{color:#b11}.failed .ph{background:#f6dede;color:#b11}.pending .st{color:#888}"
    ".err{color:#b11;font-size:11px;word-break:break-word}nav a{margin-right:.6em}"
    ".size{border-top:1px solid #eee;padding-top:4px}.size h3{font-size:13px;margin:0 0 2px}"
    ".note{color:#444;margin-bottom:3px}.size table{font-size:11px;width:100%}.size td,.size th{padding:1px 4px}"
    ".v{font-weight:600;border-radius:3px;padding:0 4px}.v.good{color:#fff;background:#2a7d46}"
    ".v.tight{color:#fff;background:#c0392b}.v.loose{color:#222;background:#f1c40f}"
    ".chips span.chip{display:inline-block;margin:2px 4px 0 0;padding:1px 4px;border:1px solid #ccc;border-radius:3px}"
    ".chips span.rec{border-color:#222;font-weight:600}.legend{color:#666;font-size:12px}";

/* The filters: each select names a data-* attribute of the cards; "" = any. The state is
   mirrored into location.hash ("person=ava&size=tight") and read from it on load (a key
   or value the page does not offer, or a malformed %-escape, is ignored). */
static const char *const SCRIPT =
    "(function(){var keys=['person','garment','status','size'];"
    "var sel=keys.map(function(k){return document.getElementById('f-'+k);});"
    "var cards=document.querySelectorAll('.card');"
    "function apply(){var n=0,q=[];"
    "for(var i=0;i<cards.length;i++){var c=cards[i],show=true;"
    "for(var k=0;k<keys.length;k++){var v=sel[k].value;if(v&&c.getAttribute('data-'+keys[k])!==v)show=false;}"
    "c.style.display=show?'':'none';if(show)n++;}"
    "for(var k=0;k<keys.length;k++)if(sel[k].value)q.push(keys[k]+'='+encodeURIComponent(sel[k].value));"
    "document.getElementById('f-count').textContent=n+' of '+cards.length+' pairs shown';"
    "if(location.hash.slice(1)!==q.join('&'))history.replaceState(null,'',q.length?'#'+q.join('&'):location.pathname);}"
    "location.hash.slice(1).split('&').forEach(function(kv){var p=kv.split('='),k=keys.indexOf(p[0]);"
    "if(k>=0&&p.length==2){var v;try{v=decodeURIComponent(p[1]);}catch(e){return;}"
    "for(var o=0;o<sel[k].options.length;o++)if(sel[k].options[o].value===v)sel[k].value=v;}});"
    "sel.forEach(function(s){s.addEventListener('change',apply);});apply();})();";

static void html_counts(FILE *f, const struct sched_catalog *c, const uint8_t *state)
{
    long long n[3] = {0, 0, 0};
    for (int i = 0; i < c->n_pairs; i++)
        n[state[i]]++;
    fprintf(f, "<p class=\"counts\"><span>total <b>%d</b></span><span>ok <b>%lld</b></span>"
               "<span>failed <b>%lld</b></span><span>pending <b>%lld</b></span></p>\n",
            c->n_pairs, n[SCHED_OK], n[SCHED_FAILED], n[SCHED_PENDING]);
}

static void html_nav(FILE *f, int n_pages, int page)
{
    if (n_pages <= 1)
        return;
    fputs("<nav>pages: ", f);
    for (int k = 0; k < n_pages; k++) {
        char name[32];
        page_name(name, sizeof name, k);
        if (k == page)
            fprintf(f, "<b>%d</b> ", k + 1);
        else
            fprintf(f, "<a href=\"%s\">%d</a> ", name, k + 1);
    }
    fputs("</nav>\n", f);
}

/* A verdict word ("good", "tight", "loose") as a coloured tag; anything else plain. */
static void html_verdict(FILE *f, const char *v)
{
    if (v && (!strcmp(v, "good") || !strcmp(v, "tight") || !strcmp(v, "loose")))
        fprintf(f, "<span class=\"v %s\">%s</span>", v, v);
    else
        html_esc(f, v ? v : "-");
}

static void html_cm(FILE *f, const struct json_val *o, const char *key)
{
    const struct json_val *v = json_get(o, key);
    if (v && v->type == JSON_NUM)
        fprintf(f, "%.1f", v->num);
    else
        fputs("-", f);
}

/* The record's size chart verdicts: the recommended size, the note, a table of its regions
   (the size's and the wearer's figures, the verdict), a chip per size. */
static void html_size(FILE *f, const struct json_val *size)
{
    const char *rec = json_get_str(size, "recommended");
    const struct json_val *sizes = json_get(size, "sizes");
    fputs("<div class=\"size\"><h3>", f);
    if (rec) {
        html_printf(f, "Size %s ", rec);
        html_verdict(f, json_get_str(size, "verdict"));
    } else {
        fputs("No size draped", f);
    }
    fputs("</h3>", f);
    const char *note = json_get_str(size, "note");
    if (note)
        html_printf(f, "<div class=\"note\">%s</div>", note);
    for (size_t i = 0; rec && sizes && sizes->type == JSON_ARR && i < sizes->n; i++) {
        const struct json_val *z = &sizes->items[i], *fit = json_get(z, "fit");
        const char *name = json_get_str(z, "name");
        if (!name || strcmp(name, rec) || !fit || fit->type != JSON_OBJ)
            continue;
        fputs("<table><tr><th>region</th><th>size cm</th><th>you cm</th><th>verdict</th></tr>", f);
        for (size_t k = 0; k < fit->n; k++) {
            const struct json_val *r = &fit->items[k];
            html_printf(f, "<tr><td>%s</td><td>", fit->keys[k]);
            html_cm(f, r, "size_cm");
            fputs("</td><td>", f);
            bool worn = json_get(r, "worn_cm") != NULL;   /* a length: the garment's as draped on you */
            html_cm(f, r, worn ? "worn_cm" : "body_cm");
            fputs(worn ? " worn</td><td>" : "</td><td>", f);
            html_verdict(f, json_get_str(r, "verdict"));
            fputs("</td></tr>", f);
        }
        fputs("</table>", f);
    }
    fputs("<div class=\"chips\">", f);
    for (size_t i = 0; sizes && sizes->type == JSON_ARR && i < sizes->n; i++) {
        const struct json_val *z = &sizes->items[i];
        const char *name = json_get_str(z, "name"), *out = json_get_str(z, "output");
        if (!name)
            continue;
        fprintf(f, "<span class=\"chip%s\">", rec && !strcmp(name, rec) ? " rec" : "");
        if (out)
            html_printf(f, "<a href=\"%s\">%s</a> ", out, name);
        else
            html_printf(f, "%s ", name);
        const char *v = json_get_str(z, "verdict");
        if (v)
            html_verdict(f, v);
        else
            html_esc(f, json_get_str(z, "error") ? "did not drape" : "not draped");
        fputs("</span>", f);
    }
    fputs("</div></div>", f);
}

/* A pair without a chart: the drape's verdict per region. */
static void html_fit(FILE *f, const struct json_val *fit)
{
    fputs("<div class=\"size\">fit: ", f);
    for (size_t k = 0; k < fit->n; k++) {
        const char *v = json_get_str(&fit->items[k], "verdict");
        if (!v)
            continue;
        html_printf(f, "%s ", fit->keys[k]);
        html_verdict(f, v);
        fputs(" ", f);
    }
    fputs("</div>", f);
}

/* One image of a card: a link to it around a thumbnail, with a caption. */
static void html_img(FILE *f, const char *src, const char *caption)
{
    html_printf(f, "<figure><a href=\"%s\"><img loading=\"lazy\" src=\"%s\" alt=\"%s\"></a>%s</figure>", src, src,
                caption, caption);
}

static bool out_has(const char *out_dir, const char *rel)
{
    char path[PATH_MAX];
    return fs_join(path, sizeof path, out_dir, rel) == TRYON_OK && fs_exists(path);
}

static void html_card(FILE *f, const struct sched_catalog *c, const struct sched_journal *j, const char *out_dir,
                      int i, const uint8_t *state)
{
    static const char *const names[3] = {"pending", "ok", "failed"};
    const struct sched_entry *pe = &c->persons[c->pairs[i].person], *ge = &c->garments[c->pairs[i].garment];
    const char *pid = pe->id, *gid = ge->id;
    const char *line;
    sched_pair_state(c, j, i, &line);
    struct json_val *rec = NULL;
    if (line && json_parse(line, strlen(line), "journal record", &rec))
        rec = NULL;
    const struct json_val *size = rec ? json_get(rec, "size") : NULL, *fit = rec ? json_get(rec, "fit") : NULL;
    const struct json_val *views = rec ? json_get(rec, "views") : NULL;
    const char *verdict = size ? json_get_str(size, "verdict") : NULL;
    html_printf(f, "<figure class=\"card %s\" data-person=\"%s\" data-garment=\"%s\" data-status=\"%s\" data-size=\"%s\">",
                names[state[i]], pid, gid, names[state[i]], verdict ? verdict : "none");
    html_printf(f, "<figcaption>%s / %s <span class=\"st\">%s</span></figcaption>", pid, gid, names[state[i]]);
    char a[PATH_MAX], b[PATH_MAX];
    if (state[i] == SCHED_OK) {
        snprintf(a, sizeof a, "renders/%s/%s.png", pid, gid);
        fputs("<div class=\"row big\">", f);
        html_img(f, a, "try-on");
        const char *turn = views && views->type == JSON_OBJ ? json_get_str(views, "turntable") : NULL;
        if (turn)
            html_img(f, turn, "turntable");
        fputs("</div>", f);
    } else {
        fprintf(f, "<div class=\"ph\">%s</div>", names[state[i]]);
    }
    fputs("<div class=\"row small\">", f);
    snprintf(a, sizeof a, "photos/persons/%s.png", pid);
    snprintf(b, sizeof b, "photos/garments/%s.png", gid);
    if (!pe->error)
        html_img(f, a, "person photo");
    if (!ge->error)
        html_img(f, b, "garment photo");
    snprintf(a, sizeof a, "aovs/%s/%s.fit.png", pid, gid);
    if (state[i] == SCHED_OK && out_has(out_dir, a))
        html_img(f, a, "fit map");
    fputs("</div>", f);
    if (state[i] == SCHED_OK && size && size->type == JSON_OBJ)
        html_size(f, size);
    else if (state[i] == SCHED_OK && fit && fit->type == JSON_OBJ)
        html_fit(f, fit);
    if (state[i] == SCHED_FAILED) {
        char *err = sched_failure_error(c, i, line);
        html_printf(f, "<div class=\"err\">%s</div>", err ? err : "");
        free(err);
    }
    fputs("</figure>\n", f);
    json_free(rec);
}

/* A <select> of the distinct values (in first-seen order) of the page's pairs. */
static void html_select(FILE *f, const char *key, const char *label, const char *const *values, int n)
{
    html_printf(f, "<label>%s<select id=\"f-%s\"><option value=\"\">all</option>", label, key);
    for (int k = 0; k < n; k++) {
        bool seen = false;
        for (int m = 0; m < k && !seen; m++)
            seen = !strcmp(values[m], values[k]);
        if (!seen)
            html_printf(f, "<option>%s</option>", values[k]);
    }
    fputs("</select></label>", f);
}

static void html_filters(FILE *f, const struct sched_catalog *c, int first, int last)
{
    int n = last - first;
    const char **v = malloc(sizeof *v * (size_t)(n > 0 ? n : 1));
    if (!v)
        return;   /* the grid still shows every pair */
    fputs("<form class=\"filters\" onsubmit=\"return false\">", f);
    for (int i = first; i < last; i++)
        v[i - first] = c->persons[c->pairs[i].person].id;
    html_select(f, "person", "person", v, n);
    for (int i = first; i < last; i++)
        v[i - first] = c->garments[c->pairs[i].garment].id;
    html_select(f, "garment", "garment", v, n);
    free(v);
    static const char *const status[] = {"ok", "failed", "pending"};
    html_select(f, "status", "status", status, 3);
    fputs("<label>size<select id=\"f-size\"><option value=\"\">all</option><option>good</option><option>tight</option>"
          "<option>loose</option><option value=\"none\">no size chart</option></select></label>"
          "<span id=\"f-count\"></span></form>\n",
          f);
}

static enum tryon_status write_page(const struct sched_catalog *c, const struct sched_journal *j, const char *out_dir,
                                    const uint8_t *state, int n_sheets, int n_pages, int page)
{
    char name[32];
    page_name(name, sizeof name, page);
    struct sched_afile a;
    enum tryon_status s = sched_af_open(&a, out_dir, name);
    if (s)
        return s;
    FILE *f = a.f;
    html_printf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>tryon-farm: %s</title>\n",
                c->path);
    fprintf(f, "<style>%s</style></head><body>\n", CSS);
    html_printf(f, "<h1>tryon-farm: %s</h1>\n", c->path);
    html_counts(f, c, state);
    fputs("<p><a href=\"manifest.jsonl\">manifest.jsonl</a> &middot; <a href=\"summary.json\">summary.json</a></p>\n",
          f);
    if (page == 0) {
        if (n_sheets > 0) {
            fputs("<h2>Contact sheets</h2>\n<p>", f);
            for (int k = 0; k < n_sheets; k++)
                fprintf(f, "<a href=\"contact/sheet-%03d.png\">sheet %d</a> ", k + 1, k + 1);
            fputs("</p>\n", f);
        }
        bool any = false;
        for (int i = 0; i < c->n_pairs; i++) {
            if (state[i] != SCHED_FAILED)
                continue;
            if (!any)
                fputs("<h2>Failures</h2>\n<table><tr><th>person</th><th>garment</th><th>error</th></tr>\n", f);
            any = true;
            const char *line;
            sched_pair_state(c, j, i, &line);
            char *err = sched_failure_error(c, i, line);
            html_printf(f, "<tr><td>%s</td><td>%s</td><td>%s</td></tr>\n", c->persons[c->pairs[i].person].id,
                        c->garments[c->pairs[i].garment].id, err ? err : "");
            free(err);
        }
        if (any)
            fputs("</table>\n", f);
    }
    int first = page * SCHED_HTML_PAGE, last = first + SCHED_HTML_PAGE;
    if (last > c->n_pairs)
        last = c->n_pairs;
    fprintf(f, "<h2>Pairs %d to %d of %d</h2>\n", c->n_pairs ? first + 1 : 0, last, c->n_pairs);
    html_filters(f, c, first, last);
    fputs("<p class=\"legend\">Fit map: red stretched, green at rest, blue gathered. Sizes: tight, good or loose for "
          "the wearer, per region.</p>\n",
          f);
    html_nav(f, n_pages, page);
    fputs("<div class=\"grid\">\n", f);
    for (int i = first; i < last; i++)
        html_card(f, c, j, out_dir, i, state);
    fputs("</div>\n", f);
    html_nav(f, n_pages, page);
    fprintf(f, "<script>%s</script>\n</body></html>\n", SCRIPT);
    return sched_af_commit(&a);
}

/* Link src to OUT/<rel> (copy across file systems); nothing to do when it is that file
   already. src may be a link inside the catalog folder: the link made is to the file it
   names (AT_SYMLINK_FOLLOW), and whatever stands at OUT/<rel> that is not that file, a
   symbolic link too, is replaced. A photo that cannot be read is left out (its pairs
   failed already); failing to write is TRYON_EIO naming the file. */
static enum tryon_status put_photo(const char *src, const char *out_dir, const char *rel)
{
    char dst[PATH_MAX], leaf[NAME_MAX + 1];
    int dfd = -1;
    enum tryon_status s = fs_join(dst, sizeof dst, out_dir, rel);
    /* the folder is entered with no link followed (fs_confine); the entry is handled at it */
    if (s || (s = fs_open_parent(dst, true, &dfd, leaf, sizeof leaf)))
        return s;
    struct stat a, b;
    if (stat(src, &a) != 0 ||
        (fstatat(dfd, leaf, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)) {
        close(dfd);
        return TRYON_OK;
    }
    if (unlinkat(dfd, leaf, 0) != 0 && errno != ENOENT)
        s = tryon_fail(TRYON_EIO, "%s: cannot replace: %s", dst, strerror(errno));
    else if (linkat(AT_FDCWD, src, dfd, leaf, AT_SYMLINK_FOLLOW) != 0) {
        uint8_t *data;
        size_t len;
        if (fs_read_all(src, (size_t)a.st_size + 1, &data, &len) == TRYON_OK) {
            s = fs_write_atomic(dst, data, len);
            free(data);
        }
    }
    close(dfd);
    return s;
}

static enum tryon_status put_photos(const struct sched_catalog *c, const char *out_dir)
{
    for (int k = 0; k < 2; k++) {
        const struct sched_entry *e = k ? c->garments : c->persons;
        int n = k ? c->n_garments : c->n_persons;
        for (int i = 0; i < n; i++) {
            if (e[i].error)
                continue;
            char rel[SCHED_ID_MAX + 32];
            snprintf(rel, sizeof rel, "photos/%s/%s.png", k ? "garments" : "persons", e[i].id);
            enum tryon_status s = put_photo(e[i].image_path, out_dir, rel);
            if (s)
                return s;
        }
    }
    return TRYON_OK;
}

enum tryon_status sched_gallery_write(const struct sched_catalog *c, const struct sched_journal *j,
                                      const char *out_dir, const uint8_t *state, int n_sheets)
{
    enum tryon_status s = put_photos(c, out_dir);
    if (s)
        return s;
    int n_pages = c->n_pairs > 0 ? (c->n_pairs + SCHED_HTML_PAGE - 1) / SCHED_HTML_PAGE : 1;
    for (int k = 0; k < n_pages; k++)
        if ((s = write_page(c, j, out_dir, state, n_sheets, n_pages, k)))
            return s;
    /* pages of an earlier run over a longer catalog */
    for (int k = n_pages;; k++) {
        char name[32], path[PATH_MAX];
        page_name(name, sizeof name, k);
        if (fs_join(path, sizeof path, out_dir, name) || unlink(path) != 0)
            break;
    }
    return TRYON_OK;
}
