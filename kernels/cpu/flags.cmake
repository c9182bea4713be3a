# kernels/cpu/flags.cmake: per-file compiler flags of the fast CPU backend, included by
# kernels/CMakeLists.txt. Each ISA's micro-kernels are compiled with that ISA's flags and
# only called when kcpu_isa() (isa.c) found it on the processor; everything else stays
# portable. -O3 on the hot files (the project default is -O2).
set(_kcpu ${CMAKE_CURRENT_LIST_DIR})
set_source_files_properties(${_kcpu}/gemm_avx512.c PROPERTIES
  COMPILE_OPTIONS "-O3;-mavx512f;-mavx512bw;-mavx512vl;-mfma")
set_source_files_properties(${_kcpu}/gemm_avx2.c PROPERTIES COMPILE_OPTIONS "-O3;-mavx2;-mfma")
set_source_files_properties(${_kcpu}/gemm.c ${_kcpu}/conv.c ${_kcpu}/eltwise.c ${_kcpu}/norm.c ${_kcpu}/pool.c
  PROPERTIES COMPILE_OPTIONS "-O3")
