/* scheduler.h: the one public header of scheduler/, the master's bookkeeping on rank 0.
 *
 * What a render job needs besides rendering: the catalog (parsed and validated up front),
 * the journal of finished pairs (so a killed job resumes and loses nothing), the plan
 * (pairs still to render), the chunk queue that hands pairs to workers (guided
 * self-scheduling), the live progress while the job runs (OUT/status.json and a live
 * OUT/index.html), and the aggregation at the end (manifest, summary, contact sheets,
 * HTML gallery). No MPI here: farm/ calls these on rank 0 and moves the data itself.
 *
 * Ownership: the load, open and make functions hand a new object to the caller, who
 * releases it with the matching free or close. Strings inside a catalog belong to the catalog.
 * Errors that input can cause return a negative enum tryon_status and leave a message
 * (tryon_errmsg()) naming the file and, where known, the line.
 */
#ifndef TRYON_SCHEDULER_H
#define TRYON_SCHEDULER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/common.h"

/* ===== catalog ===========================================================================
 * Format (YAML; every key below is the complete set allowed at its level):
 *
 *   seed: 7                 optional, unsigned 64-bit integer, default 1
 *   render:                 optional map; every field optional
 *     preset: preview       preview | catalog | hero
 *     width: 256            1..8192 pixels
 *     height: 384           1..8192 pixels
 *     spp: 16               samples per pixel, 1..65536
 *     max_depth: 4          path length, 1..64
 *     aovs: false           true/false (also yes/no, on/off)
 *     meshes: false
 *   persons:                required, a non-empty list
 *     - id: anna            required, [A-Za-z0-9_.-]{1,64}, not "." or ".."; unique
 *       image: persons/anna.png   required, relative to the catalog's folder
 *       height_cm: 168      optional, 50..300
 *   garments:               required, a non-empty list
 *     - id: tee-red         as for persons (ids are unique per list)
 *       image: garments/tee-red.png
 *       type: t-shirt       optional: t-shirt | long-sleeve | dress | skirt | trousers | shorts
 *       chest_cm: 100       optional, 40..300: the body girths the garment is cut for (a size
 *       waist_cm: 86        chart's row); absent = cut for each wearer. The drape's fit
 *       hip_cm: 104         verdicts compare them with the wearer's body.
 *       length_cm: 70       optional, 20..300: the garment's length, top edge to hem as worn
 *       sizes:              optional, instead of the four keys above: the size chart, at most
 *         - {name: S, chest_cm: 84, waist_cm: 68}     SCHED_MAX_SIZES rows, smallest first. name:
 *         - {name: M, chest_cm: 92, waist_cm: 76}     as an id (it names files: @<name>.png),
 *                           unique in the chart; then the four keys above, same ranges; every
 *                           row lists the same keys, at least one girth, and each girth grows
 *                           strictly from row to row (length_cm may stay)
 *   pairs: all              optional, default all; or a list of {person: ID, garment: ID};
 *                           at most SCHED_MAX_PAIRS pairs after expansion
 */
#define SCHED_ID_MAX 64         /* longest id, characters */
#define SCHED_MAX_PAIRS 10000000 /* more pairs than this in one catalog is TRYON_ELIMIT, refused
                                    before the pair list is allocated (80 MB at the limit) */

#define SCHED_MAX_SIZES 16      /* rows of one size chart */
/* Indices into a size row (struct sched_size.cm, sched_entry.size_cm): ROW_KEYS in catalog.c. */
enum { SCHED_SIZE_CHEST, SCHED_SIZE_WAIST, SCHED_SIZE_HIP, SCHED_SIZE_LENGTH, SCHED_SIZE_KEYS };
struct sched_size {           /* one row of a garment's size chart */
    char *name;               /* [A-Za-z0-9_.-]{1,64}, safe in a file name */
    double cm[SCHED_SIZE_KEYS];/* chest, waist, hip girths it is cut for and its length; 0 = not listed */
    int line;                 /* YAML line of the row */
};
struct sched_entry {          /* one person or garment of the catalog */
    char *id;                 /* [A-Za-z0-9_.-]{1,64}, safe as a file name */
    char *image;              /* path as written in the catalog (relative to the catalog folder) */
    char *image_path;         /* catalog folder + image (image itself when absolute) */
    int line;                 /* YAML line of the entry */
    double height_cm;         /* persons: `height_cm` hint, 0 = none */
    char *type;               /* garments: `type` hint ("" = estimate); persons: "" */
    double size_cm[SCHED_SIZE_KEYS]; /* garments: chest_cm, waist_cm, hip_cm it is cut for, length_cm;
                                 0 = for the wearer */
    struct sched_size *sizes; /* garments: the `sizes:` chart, smallest first (NULL: none) */
    int n_sizes;
    char *error;              /* NULL when the image passed validation; else a message naming the
                                 catalog, the YAML line of `image` and the image, e.g.
                                 "catalog.yaml:12: persons/p1.png: not a PNG file (bad signature)" */
};
struct sched_pair { int person, garment; };   /* indices into persons/garments */
struct sched_render {         /* the catalog's `render:` map; 0 / "" = preset default */
    char preset[16];          /* preview | catalog | hero ("" = preview) */
    int width, height, spp, max_depth;
    bool aovs;                /* write OUT/aovs/... */
    bool meshes;              /* write OUT/meshes/... */
};
struct sched_catalog {
    char *path;               /* as given; messages name it */
    char *dir;                /* the catalog's folder (realpath) */
    struct sched_entry *persons, *garments;
    int n_persons, n_garments;
    struct sched_pair *pairs; /* expanded, de-duplicated, person-major: sorted by (person index,
                                 garment index), both in catalog order */
    int n_pairs;
    uint64_t seed;            /* `seed:` (default 1) */
    struct sched_render render;
};

/* Parse and validate the catalog at `path`. lim = NULL means img_default_limits().
 * Structural problems are fatal: YAML syntax, unknown or repeated keys (at every level),
 * missing required keys, duplicate ids, bad ids, pairs naming unknown ids, bad values;
 * they return a negative status and a message "path:line: ...". Problems of one entry's
 * image (path leaves the catalog folder, symlinks followed; missing file; not a regular
 * file; not a PNG; PNG over the limits) are recorded in entry->error and the load
 * succeeds, so only that entry's pairs fail. Images are probed (signature + IHDR), never
 * decoded. On success *out is the caller's, freed by sched_catalog_free. */
enum tryon_status sched_catalog_load(const char *path, const struct img_limits *lim, struct sched_catalog **out);
void sched_catalog_free(struct sched_catalog *c); /* NULL is fine */
/* Print every entry error to f, one per line, persons first; return how many. */
int sched_catalog_report(const struct sched_catalog *c, FILE *f);

/* ===== journal ===========================================================================
 * OUT/journal.log: one JSON object per line per finished pair (ok or failed), appended
 * and fsynced. A torn last line (a killed job) is ignored on open and truncated away
 * before the first append. Lines in the middle that are not a valid record are skipped
 * with a warning. The latest record of a pair wins. Open takes an exclusive advisory lock
 * (flock) on the file, so a second job on the same OUT fails with TRYON_EIO instead of
 * interleaving lines (where the file system does not support flock, no lock is held). */
struct sched_journal;
/* Create out_dir when missing, then open or create OUT/journal.log and index it. */
enum tryon_status sched_journal_open(const char *out_dir, struct sched_journal **out);
/* Latest record line of (person, garment) without newline, or NULL when none; *ok (may be
 * NULL) tells whether its status is "ok". The string belongs to the journal and stays
 * valid until the next append of the same pair or sched_journal_close. */
const char *sched_journal_get(const struct sched_journal *j, const char *person, const char *garment, bool *ok);
/* Append one record: a JSON object on one line (no newline or carriage return) with string
 * fields "person", "garment" and "status" ("ok" or "failed"). Written with one write() and
 * fsynced before returning; a failed write is truncated away so the file stays valid.
 * A malformed record is TRYON_EINVAL and nothing is written. */
enum tryon_status sched_journal_append(struct sched_journal *j, const char *json_line);
/* --- operations (farm/ fault handling and scale; helper F) --- */
/* Append n records (each as for sched_journal_append) with one write() and one fsync.
 * Every record is checked before anything is written; on a write error none of them is
 * kept (the file is truncated back to whole lines) and TRYON_EIO names the journal. */
enum tryon_status sched_journal_append_batch(struct sched_journal *j, const char *const *lines, int n);
/* --- end operations --- */
/* Number of distinct pairs with a record, and how many of those are ok. */
int sched_journal_count(const struct sched_journal *j, int *n_ok);
void sched_journal_close(struct sched_journal *j); /* NULL is fine */

/* ===== plan ==============================================================================
 * The pairs still to render, as indices into c->pairs in catalog order: all pairs minus
 * those whose latest journal record is ok (failed ones are retried). Pairs whose person or
 * garment has an entry error go to `invalid` instead (the master records them as failed
 * without rendering); n_done counts the valid pairs already ok. j may be NULL (nothing
 * done). The arrays are the caller's, released by sched_plan_free. */
struct sched_plan { int *todo; int n_todo; int *invalid; int n_invalid; int n_done; };
enum tryon_status sched_plan_make(const struct sched_catalog *c, const struct sched_journal *j, struct sched_plan *out);
void sched_plan_free(struct sched_plan *p);

/* ===== verification ======================================================================
 * The disk against the journal (verify.c). sched_verify_output checks an ok record (a
 * journal line) against its file OUT/<output>: present, a regular file (a symbolic link is
 * not followed), the recorded "bytes" and "sha256", and with decode a PNG that decodes.
 * True when it all holds; else false and why (a message naming the file).
 * sched_plan_verify does that for every pair the plan counts as done, and also compares the
 * record's "inputs" (person_sha256, garment_sha256) with the photos' bytes now: each pair
 * that does not match goes back into todo (catalog order kept, n_done lowered), named with
 * the reason on `report` (at most 20 lines and a count). Files are read and hashed in
 * parallel (OpenMP). Records without "inputs" are checked on their output alone. */
bool sched_verify_output(const char *out_dir, const char *record, size_t len, bool decode, char *why, size_t cap);
enum tryon_status sched_plan_verify(const struct sched_catalog *c, const struct sched_journal *j, const char *out_dir,
                                    struct sched_plan *plan, FILE *report);

/* ===== chunk queue =======================================================================
 * Guided self-scheduling over items [0, total) for `workers` workers: each request gets
 * max(min_chunk, ceil(remaining / (2 workers))) items (never more than remain), so chunks
 * are big first and shrink toward the end. Chunk sizes never increase; every item is
 * handed out exactly once, in order. total >= 0, workers >= 1, min_chunk >= 1. */
struct sched_queue { int next, total, workers, min_chunk; };
void sched_queue_init(struct sched_queue *q, int total, int workers, int min_chunk);
/* Next chunk [*start, *start + *count); false when the queue is empty. */
bool sched_queue_next(struct sched_queue *q, int *start, int *count);

/* ===== master ============================================================================
 * The render job's master as a state machine with no transport (DESIGN.md section 2):
 * events come in (a rank asks for work, a result, a rank leaves after a signal, a rank is
 * lost, a clock tick, a stop signal), actions come out (send pairs to a rank, journal a
 * record, exclude a rank, drain, abort, or just say something). farm/ moves the messages (MPI, or in-process for
 * one rank) and carries the actions out; the unit tests drive it with event scripts.
 *
 * Ranks: `first` .. world-1 are workers (first = 1 when there are other ranks, 0 when
 * rank 0 renders alone). Pairs are indices into the catalog's pairs; the plan's todo
 * pairs are handed out in order, in chunks (guided self-scheduling) or one static block
 * per worker. Results of a rank arrive in the order of the pairs it was sent.
 *
 * Failures. A record is {"status":"ok"|"failed", "fault":...}: fault "input" (the pair's
 * own photos cannot be used) or "pair" (the pair fails the same on every rank, e.g. a drape
 * that does not settle) is final: journaled at once, never retried, never held against
 * the rank. Any other failure is retried on another rank while the
 * pair has attempts left (`retries`), and proves nothing by itself: a failed pair that then
 * fails elsewhere too is the pair's fault; one that succeeds elsewhere is held against the
 * rank it failed on. A rank whose pairs failed `max_streak` times in a row (since its last
 * ok) is suspended: it gets no fresh pairs (its unstarted ones go to the others) until the
 * retries judge those failures; when `max_streak` of them are held against it, it is
 * excluded for good. A timed-out pair (tick past pair_timeout) writes its rank off as hung;
 * a lost rank (it died) is out too; either way the pair in progress is a failed attempt and
 * the rank's other pairs go back uncharged. With no other live rank, a failed pair is
 * retried on the same rank and no rank is suspended.
 *
 * Stop: after sched_master_stop every request is answered with "stop" (n = 0); results
 * still arriving are journaled when ok; failed ones and the pairs abandoned by leaving
 * ranks stay pending (a re-run renders them). sched_master_finished says when every
 * worker was stopped, left, hung or was lost; sched_master_finish then journals the
 * pairs whose retry never found a rank (their last failure) and asks for an abort when a
 * rank hung (it never finalizes). */
enum sched_act_kind {
    SCHED_ACT_SEND,      /* send pairs[0..n) to rank; n = 0: tell it to stop */
    SCHED_ACT_JOURNAL,   /* journal `text` (a record line; attempts > 1 added as "attempts") */
    SCHED_ACT_EXCLUDE,   /* rank gets no more work for now or for good: `text` says why */
    SCHED_ACT_DRAIN,     /* a stop began: no more work is handed out */
    SCHED_ACT_ABORT,     /* end the job (a hung rank never finalizes): `text` says why */
    SCHED_ACT_NOTE,      /* nothing to do but say `text` (a rank released, a stray result) */
};
struct sched_action {
    enum sched_act_kind kind;
    int rank;              /* SEND, EXCLUDE: the rank; else -1 */
    const int32_t *pairs;  /* SEND: n pair indices */
    int n;
    int pair;              /* JOURNAL: the pair; else -1 */
    bool ok;               /* JOURNAL: the record's status is "ok" */
    const char *text;      /* JOURNAL: the record; EXCLUDE, ABORT: a message; else NULL */
};
struct sched_master_opts {
    int world;             /* ranks; >= 1 */
    int retries;           /* extra attempts of a failed pair, >= 0 */
    double pair_timeout;   /* seconds without a result that make a rank hung; 0 = never */
    bool chunking_static;  /* one block of the plan per worker instead of guided chunks */
    int max_streak;        /* failed pairs in a row that suspend a rank; >= 1 */
};
struct sched_master_stats {
    long long events, sends, journaled;
    int hung, excluded, lost, suspended_now;
};
struct sched_master;
/* A master over the plan's todo pairs of catalog c; both must outlive it. */
enum tryon_status sched_master_create(const struct sched_catalog *c, const struct sched_plan *plan,
                                      const struct sched_master_opts *o, struct sched_master **out);
void sched_master_free(struct sched_master *m); /* NULL is fine */
/* Events; `now` is monotonic seconds (time_now() in a job, the script's clock in tests). */
void sched_master_request(struct sched_master *m, int rank, double now);
void sched_master_result(struct sched_master *m, int rank, const char *record, size_t len, double now);
void sched_master_leaving(struct sched_master *m, int rank, double now); /* after a signal */
void sched_master_lost(struct sched_master *m, int rank, double now);
void sched_master_tick(struct sched_master *m, double now);
void sched_master_stop(struct sched_master *m, double now);
/* The next action of the events so far, in order; false when none is left. a's pointers
 * stay valid until the next event or sched_master_finish. */
bool sched_master_action(struct sched_master *m, struct sched_action *a);
bool sched_master_finished(const struct sched_master *m);
void sched_master_finish(struct sched_master *m);
/* The pairs rank holds that have no result yet (in order), for "rank N holds ..." lines. */
int sched_master_held(const struct sched_master *m, int rank, const int32_t **pairs);
void sched_master_get_stats(const struct sched_master *m, struct sched_master_stats *s);

/* ===== aggregation =======================================================================
 * Run on rank 0 at the end of a job, also after a failed or interrupted one. Writes
 * (each file atomically: temporary name, fsync, rename):
 *   OUT/manifest.jsonl  one object per catalog pair in catalog order: for a pair with an
 *                       entry error {"person","garment","status":"failed","error":<entry
 *                       error>}; else its latest journal record, copied as it is; else
 *                       {"person","garment","status":"pending","error":null}.
 *   OUT/summary.json    counts (total, ok, failed, pending), wall seconds, ranks, pairs per
 *                       minute of this run, preset, seed, the render settings, per-stage
 *                       time sums, counts and means over the records' "seconds" objects,
 *                       and every failure with its error.
 *   OUT/contact/sheet-NNN.png  (NNN from 001) grids of SCHED_SHEET_COLS x SCHED_SHEET_ROWS
 *                       cells over the ok and failed pairs in catalog order (pending pairs
 *                       are left out): the render fitted into a SCHED_THUMB_W-wide box of
 *                       the render's aspect (from render.width/height when given, else
 *                       2:3), composited over light grey, with "person / garment" under
 *                       it in a 5x7 bitmap font; failed pairs are a red cross, ok pairs
 *                       whose render cannot be read a grey cross. Every sheet has the full
 *                       grid size: width SCHED_SHEET_COLS * (SCHED_THUMB_W + SCHED_SHEET_PAD)
 *                       + SCHED_SHEET_PAD, height SCHED_SHEET_ROWS * (box height +
 *                       SCHED_LABEL_H + SCHED_SHEET_PAD) + SCHED_SHEET_PAD. Sheets left over
 *                       from an earlier, longer run are removed.
 *   OUT/index.html      a self-contained gallery (inline CSS and script, relative links, works
 *                       from file://): counts, links to the contact sheets, manifest and
 *                       summary, the failures with their errors, filters (person, garment,
 *                       status, size verdict; state in the URL's #fragment, e.g.
 *                       #size=tight&person=ava) and a card per pair: its status, the person
 *                       and garment photos, the render (renders/<person>/<garment>.png), the
 *                       turntable and fit map where the record / OUT has them, the record's
 *                       recommended size with its per-region verdicts and every size's
 *                       verdict (else the drape's fit), a failure's error; past
 *                       SCHED_HTML_PAGE pairs the grid continues on index-002.html, ...
 *                       Every id and message is HTML-escaped.
 *   OUT/photos/persons/<id>.png, OUT/photos/garments/<id>.png  the catalog's photos (entries
 *                       without an entry error), hard-linked where possible, else copied.
 * j may be NULL (nothing journaled: every valid pair is pending). The contact sheets are
 * built in parallel (OpenMP) and are byte-identical whatever the thread count. A render
 * that cannot be read does not fail the aggregation; failing to write an output does
 * (TRYON_EIO naming the file). */
#define SCHED_THUMB_W 160   /* thumbnail box width, pixels */
#define SCHED_SHEET_COLS 4
#define SCHED_SHEET_ROWS 4
#define SCHED_SHEET_PAD 8   /* gap between cells and around the sheet, pixels */
#define SCHED_LABEL_H 20    /* two lines of the 5x7 font (9 px each) plus 2 px */
#define SCHED_HTML_PAGE 1000 /* pairs per gallery page */

struct sched_run_info {
    double wall_s;            /* wall seconds of this run */
    int ranks;                /* MPI world size */
    const char *preset;       /* the preset rendered with (NULL: the catalog's) */
    int n_ok_this_run;        /* pairs finished ok by this run (for pairs per minute) */
    /* the settings rendered with, after preset, catalog and command line (0: the
       catalog's values are reported as they are) */
    int width, height, spp, max_depth;
    uint64_t seed;
    bool has_seed;            /* seed above is set (else the catalog's) */
};
enum tryon_status sched_aggregate(const struct sched_catalog *c, const struct sched_journal *j,
                                  const char *out_dir, const struct sched_run_info *info);
/* Where the catalog's pairs stand, by the same rule the manifest and summary use: failed
   (an entry error, or a latest record that failed), ok, or pending (never run). */
struct sched_counts { int ok, failed, pending; };
void sched_count(const struct sched_catalog *c, const struct sched_journal *j, struct sched_counts *out);

/* ===== live progress =====================================================================
 * While a job runs, OUT/index.html is a live page (inline script, no server needed: it
 * works from file:// and over HTTP) that re-reads OUT/status.js every second and shows
 * the counts (total, ok, failed, pending), this run's rate and ETA, the latest failures
 * with their errors and the catalog entries that cannot be used. OUT/status.json holds the
 * same object for programs; status.js is `tryon_status(<that object>);`. Object fields:
 * state ("running", "done", or "stopped" = ended with pairs pending), catalog, started and
 * updated (Unix seconds), elapsed_s, total, ok, failed, pending (by the manifest's rule),
 * done_this_run, failed_this_run, pairs_per_min (this run), eta_s (seconds, 0 when nothing
 * is pending, null when unknown), recent_failures (this run's latest SCHED_STATUS_RECENT
 * failed records, newest first: {person, garment, error}), n_input_errors and input_errors
 * (entry errors, catalog order, at most SCHED_STATUS_RECENT).
 * sched_status_start writes the page and starts one thread (rank 0; no MPI) that every
 * SCHED_STATUS_PERIOD_MS reads the whole lines appended to OUT/journal.log since its last
 * look and rewrites both status files atomically. It reads only the journal file and the
 * catalog, which must stay alive and unchanged until the status stops. sched_aggregate
 * stops it after writing the gallery (so the page's reload finds the gallery), as do
 * sched_catalog_free of that catalog and sched_status_stop; stopping writes a last status.
 * A view of the catalog (a copy of the struct over a slice of its pairs) may be watched; freeing
 * the catalog it came from stops the status too. One live status per process: a second start
 * stops the first. Failing to start (the job goes on without a live page) or to write the
 * status while running is logged as a warning (once) and does not stop the job. */
#define SCHED_STATUS_PERIOD_MS 1000
#define SCHED_STATUS_RECENT 20
enum tryon_status sched_status_start(const struct sched_catalog *c, const char *out_dir);
void sched_status_stop(void); /* nothing running is fine */

/* Thumbnail box height for a catalog: SCHED_THUMB_W scaled by render.height/width when
 * both are set (clamped to 40..480), else SCHED_THUMB_W * 3 / 2. */
int sched_thumb_h(const struct sched_catalog *c);

#endif
