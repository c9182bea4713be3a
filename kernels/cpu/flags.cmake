# kernels/cpu/flags.cmake: per-file compiler flags of the fast CPU backend, included by
# kernels/CMakeLists.txt. The *_avx512.c and *_avx2.c files are compiled with that ISA's
# flags and only called when kcpu_isa() (isa.c) found it on the processor; everything
# else stays portable. -O3 on the hot files (the project default is -O2); -fno-math-errno
# lets sqrtf vectorize in the element-wise loops (it changes no result, only errno).
set(_kcpu ${CMAKE_CURRENT_LIST_DIR})
set(_kcpu_avx512 "-mavx512f;-mavx512bw;-mavx512vl;-mfma")
set(_kcpu_avx2 "-mavx2;-mfma")
set_source_files_properties(${_kcpu}/gemm_avx512.c ${_kcpu}/conv_avx512.c PROPERTIES COMPILE_OPTIONS "-O3;${_kcpu_avx512}")
set_source_files_properties(${_kcpu}/gemm_avx2.c PROPERTIES COMPILE_OPTIONS "-O3;${_kcpu_avx2}")
set_source_files_properties(${_kcpu}/elt_avx512.c PROPERTIES COMPILE_OPTIONS "-O3;-fno-math-errno;${_kcpu_avx512}")
set_source_files_properties(${_kcpu}/elt_avx2.c PROPERTIES COMPILE_OPTIONS "-O3;-fno-math-errno;${_kcpu_avx2}")
set_source_files_properties(${_kcpu}/elt_generic.c ${_kcpu}/pool.c PROPERTIES COMPILE_OPTIONS "-O3;-fno-math-errno")
set_source_files_properties(${_kcpu}/gemm.c ${_kcpu}/conv.c PROPERTIES COMPILE_OPTIONS "-O3")
# the cloth variants must give the reference bytes: no contraction into FMAs even outside ISO C mode
set_source_files_properties(${_kcpu}/cloth_avx512.c PROPERTIES COMPILE_OPTIONS "-O3;-fno-math-errno;-fno-trapping-math;-ffp-contract=off;${_kcpu_avx512}")
set_source_files_properties(${_kcpu}/cloth_avx2.c PROPERTIES COMPILE_OPTIONS "-O3;-fno-math-errno;-fno-trapping-math;-ffp-contract=off;${_kcpu_avx2}")
set_source_files_properties(${_kcpu}/cloth_generic.c PROPERTIES COMPILE_OPTIONS "-O3;-fno-math-errno;-fno-trapping-math;-ffp-contract=off")
