/* replay_main.c: a main() for the fuzz harnesses so their corpus replays as an ordinary test
 * (gcc, no libFuzzer): every file under the folders given as arguments is fed once to
 * LLVMFuzzerTestOneInput. Built per harness by tests/common and tests/scheduler; in the
 * sanitized build this reruns every seed and every crash regression input under ASan+UBSan.
 * Exit 0 when every input ran (a harness aborts on a broken invariant), 1 when a folder
 * holds no input. */
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv)
{
    int total = 0;
    for (int a = 1; a < argc; a++) {
        DIR *d = opendir(argv[a]);
        if (!d) {
            fprintf(stderr, "%s: cannot open the corpus folder\n", argv[a]);
            return 1;
        }
        char **names = NULL;
        int n = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            names = realloc(names, sizeof *names * (size_t)(n + 1));
            if (!names || !(names[n] = strdup(e->d_name)))
                abort();
            n++;
        }
        closedir(d);
        qsort(names, (size_t)n, sizeof *names, cmp_str); /* a fixed order, for reruns */
        for (int i = 0; i < n; i++) {
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", argv[a], names[i]);
            uint8_t *data;
            size_t len;
            if (fs_read_all(path, 1 << 20, &data, &len) != TRYON_OK) {
                fprintf(stderr, "%s\n", tryon_errmsg());
                return 1;
            }
            LLVMFuzzerTestOneInput(data, len);
            free(data);
            free(names[i]);
            total++;
        }
        free(names);
        if (n == 0) {
            fprintf(stderr, "%s: no inputs\n", argv[a]);
            return 1;
        }
    }
    fprintf(stderr, "replayed %d inputs\n", total);
    return 0;
}
