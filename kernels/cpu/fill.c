/* fill.c: the fast CPU backend's entry points for dispatch.c: kern_cpu_fill() installs
 * the ops of kernels/cpu/ over a copy of the reference table, kern_cpu_isa() names the
 * instruction set in use. Ops not set here keep their reference version. */
#include "kernels/cpu/kcpu.h"
#include "kernels/cpu/kcpu_ops.h"

const char *kern_cpu_isa(void) { return kcpu_isa_name(kcpu_isa()); }

void kern_cpu_fill(struct kern_ops *ops)
{
    ops->gemm = kcpu_gemm;
    ops->linear_fwd = kcpu_linear_fwd;
    ops->linear_bwd = kcpu_linear_bwd;
    ops->conv2d_fwd = kcpu_conv2d_fwd;
    ops->conv2d_bwd_data = kcpu_conv2d_bwd_data;
    ops->conv2d_bwd_filter = kcpu_conv2d_bwd_filter;
    ops->convt2d_fwd = kcpu_convt2d_fwd;
    ops->convt2d_bwd_data = kcpu_convt2d_bwd_data;
    ops->convt2d_bwd_filter = kcpu_convt2d_bwd_filter;
}
