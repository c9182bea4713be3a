/* fuzz_nncfg.c: libFuzzer harness for the model template loader (nn/config.c
 * nn_cfg_from_string): YAML text in, a layer graph out (or an error). The input is copied
 * to a NUL-terminated string since the loader takes a C string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "nn/nn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    struct nn_cfg *cfg = NULL;
    if (nn_cfg_from_string(text, "fuzz.yaml", &cfg) == TRYON_OK)
        nn_cfg_free(cfg);
    free(text);
    tryon_errclear();
    return 0;
}
