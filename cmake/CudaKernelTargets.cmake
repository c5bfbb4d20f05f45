# The CUDA scan kernels with their GPU test and benchmark: plain CUDA, no
# LibTorch, no Debian packages. Included by the top level in every build
# where nvcc is found, the kernels-only build (-DAAREN_KERNELS_ONLY=ON) too.
add_library(aaren_cuda_kernels STATIC ${PROJECT_SOURCE_DIR}/agents/scan/cuda/scan_kernels.cu)
target_include_directories(aaren_cuda_kernels PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(aaren_cuda_kernels PUBLIC CUDA::cudart_static aaren_scan_variants)
set_target_properties(aaren_cuda_kernels PROPERTIES POSITION_INDEPENDENT_CODE ON)

# The kernels against the float64 brute force; exits 77 (skipped) without a GPU.
add_executable(aaren_cuda_kernel_tests ${PROJECT_SOURCE_DIR}/tests/cuda/test_scan_kernels.cpp)
target_link_libraries(aaren_cuda_kernel_tests PRIVATE aaren_cuda_kernels)
set_target_properties(aaren_cuda_kernel_tests PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
add_test(NAME "CUDA: scan kernels == float64 brute force (skipped without a GPU)" COMMAND aaren_cuda_kernel_tests)
set_tests_properties("CUDA: scan kernels == float64 brute force (skipped without a GPU)"
                     PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)

# The kernels timed against a device-to-device copy.
# base/atomic_file.cpp is compiled in: the kernels-only build has no other library of ours.
add_executable(aaren-scan-kernel-bench ${PROJECT_SOURCE_DIR}/bench/cuda/scan_kernel_bench.cpp
                                       ${PROJECT_SOURCE_DIR}/base/atomic_file.cpp)
target_include_directories(aaren-scan-kernel-bench PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(aaren-scan-kernel-bench PRIVATE aaren_cuda_kernels)
set_target_properties(aaren-scan-kernel-bench PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR})
