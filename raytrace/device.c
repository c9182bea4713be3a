/* device.c: the Embree device (one per process) and its error callback.
 *
 * Embree reports errors through one callback instead of return codes; we log them and
 * let rt_scene_commit read the device's error code afterwards (rtcGetDeviceError), so an
 * Embree failure becomes a tryon_status there.
 */
#include <stdio.h>
#include <stdlib.h>

#include <omp.h>

#include "raytrace/rt_internal.h"

static void rt_embree_error(void *user, enum RTCError code, const char *str)
{
    (void)user;
    log_error("embree: error %d: %s", (int)code, str ? str : "(no message)");
}

struct rt_device *rt_device_create(int threads)
{
    if (threads < 0) {
        tryon_fail(TRYON_EINVAL, "raytrace/device.c: thread count %d < 0", threads);
        return NULL;
    }
    struct rt_device *d = calloc(1, sizeof *d);
    if (!d) {
        tryon_fail(TRYON_ENOMEM, "raytrace/device.c: out of memory");
        return NULL;
    }
    char cfg[64];
    snprintf(cfg, sizeof cfg, "threads=%d", threads);
    d->dev = rtcNewDevice(cfg);
    if (!d->dev) {
        enum RTCError e = rtcGetDeviceError(NULL);
        tryon_fail(TRYON_EUNSUPPORTED, "raytrace/device.c: rtcNewDevice(\"%s\") failed (embree error %d)",
                   cfg, (int)e);
        free(d);
        return NULL;
    }
    rtcSetDeviceErrorFunction(d->dev, rt_embree_error, NULL);
    d->threads = threads > 0 ? threads : omp_get_max_threads(); /* honours OMP_NUM_THREADS */
    return d;
}

void rt_device_free(struct rt_device *d)
{
    if (!d)
        return;
    rtcReleaseDevice(d->dev);
    free(d);
}

const char *rt_describe(void)
{
    return "Embree " RTC_VERSION_STRING ", path tracer: diffuse, skin (GGX + softened diffuse), cloth (sheen), "
           "rectangular area lights and an importance-sampled environment, next-event estimation with MIS "
           "(power heuristic), Owen-scrambled Sobol sampling, Russian roulette";
}
