/* fill.c: the fast CPU backend's entry points for dispatch.c: kern_cpu_fill() installs
 * the ops of kernels/cpu/ over a copy of the reference table, kern_cpu_isa() names the
 * instruction set in use. Every compute op has a fast version; the memory ops (alloc,
 * upload, copy ...) stay the reference's host versions. */
#include "kernels/cpu/kcpu.h"
#include "kernels/cpu/kcpu_ops.h"

const char *kern_cpu_isa(void) { return kcpu_isa_name(kcpu_isa()); }

void kern_cpu_fill(struct kern_ops *ops)
{
    ops->gemm = kcpu_gemm;
    ops->linear_fwd = kcpu_linear_fwd;
    ops->linear_bwd = kcpu_linear_bwd;
    ops->conv2d_fwd = kcpu_conv2d_fwd;
    ops->conv2d_fwd_act = kcpu_conv2d_fwd_act;
    ops->conv2d_bwd_data = kcpu_conv2d_bwd_data;
    ops->conv2d_bwd_filter = kcpu_conv2d_bwd_filter;
    ops->convt2d_fwd = kcpu_convt2d_fwd;
    ops->convt2d_bwd_data = kcpu_convt2d_bwd_data;
    ops->convt2d_bwd_filter = kcpu_convt2d_bwd_filter;

    ops->bn_fwd_train = kcpu_bn_fwd_train;
    ops->bn_fwd_infer = kcpu_bn_fwd_infer;
    ops->bn_bwd = kcpu_bn_bwd;

    ops->act_fwd = kcpu_act_fwd;
    ops->act_bwd = kcpu_act_bwd;
    ops->add = kcpu_add;
    ops->axpy = kcpu_axpy;
    ops->scale = kcpu_scale;
    ops->concat_fwd = kcpu_concat_fwd;
    ops->concat_bwd = kcpu_concat_bwd;

    ops->maxpool2d_fwd = kcpu_maxpool2d_fwd;
    ops->maxpool2d_bwd = kcpu_maxpool2d_bwd;
    ops->avgpool2d_fwd = kcpu_avgpool2d_fwd;
    ops->avgpool2d_bwd = kcpu_avgpool2d_bwd;
    ops->gap_fwd = kcpu_gap_fwd;
    ops->gap_bwd = kcpu_gap_bwd;
    ops->upsample_nearest_fwd = kcpu_upsample_nearest_fwd;
    ops->upsample_nearest_bwd = kcpu_upsample_nearest_bwd;
    ops->upsample_bilinear_fwd = kcpu_upsample_bilinear_fwd;
    ops->upsample_bilinear_bwd = kcpu_upsample_bilinear_bwd;

    ops->loss_l1 = kcpu_loss_l1;
    ops->loss_mse = kcpu_loss_mse;
    ops->loss_bce_logits = kcpu_loss_bce_logits;
    ops->loss_softmax_ce = kcpu_loss_softmax_ce;

    ops->adamw_step = kcpu_adamw_step;

    kern_cpu_fill_cloth(ops);
}
