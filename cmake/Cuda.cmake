# CUDA. The scan kernels (agents/scan/cuda/*.cu) are plain CUDA with no LibTorch:
# they build wherever nvcc is found, GPU or not, with a test and a benchmark
# that drive them directly. The LibTorch wrapper (agents/scan/cuda/scan_cuda.cpp),
# which makes `--device cuda` work, builds when the LibTorch found has CUDA
# (point CMAKE_PREFIX_PATH or Torch_DIR at one; see README).
#
#   AAREN_HAVE_CUDA_KERNELS  nvcc found: kernels, kernel test and benchmark
#   (AAREN_TORCH_CUDA is set after find_package(Torch), in the top level)
option(AAREN_CUDA "Build the CUDA scan kernels when a CUDA compiler is found" ON)
set(AAREN_HAVE_CUDA_KERNELS OFF)
if(AAREN_CUDA)
  # nvcc is not on PATH in a default CUDA install: look where it installs.
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc CACHE FILEPATH "CUDA compiler")
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    # A100 and H100 (sm_80, sm_90) unless told otherwise.
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 80 90)
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    if(AAREN_CCACHE)
      set(CMAKE_CUDA_COMPILER_LAUNCHER ${AAREN_CCACHE})
    endif()
    set(AAREN_HAVE_CUDA_KERNELS ON)
    message(STATUS "CUDA kernels: on (${CMAKE_CUDA_COMPILER}, ${CMAKE_CUDA_COMPILER_VERSION}, sm ${CMAKE_CUDA_ARCHITECTURES})")
  else()
    message(STATUS "CUDA kernels: off (no CUDA compiler found)")
  endif()
endif()
