/* ref_adamw.c: reference AdamW step, one kfn_adamw per parameter (torch.optim.AdamW). */
#include "kernels/kfn.h"
#include "kernels/ref/ref.h"

void kern_ref_adamw_step(struct kern_ctx *ctx, const struct kern_adamw *h, size_t n, float *param,
                         const float *grad, float *m, float *v)
{
    struct kfn_adamw_coef c = kfn_adamw_coef(h);
    for (size_t i = 0; i < n; i++)
        kfn_adamw(&c, &param[i], grad[i], &m[i], &v[i]);
}
