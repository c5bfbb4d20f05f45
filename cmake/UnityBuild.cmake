# Unity builds for the targets whose sources include LibTorch: CMake merges
# their sources into a few translation units (UNITY_BUILD), so <torch/torch.h>'s
# templates are instantiated and optimised once per batch rather than once per
# source. Measured on four test sources (GCC 12, the shared precompiled header):
# one merged unit took 38 s of CPU against 86 s for the four apart; a clean
# build of every target, 1,192 s against 2,115 s (user + system, ccache off).
# A clean build (CI, the README's commands) gains; an incremental one recompiles the
# edited source's whole batch, so configure with -DAAREN_UNITY_BUILD=OFF while
# editing one file over and over.
option(AAREN_UNITY_BUILD "Compile each LibTorch target's sources in a few merged translation units" ON)

# aaren_unity_build(TARGET BATCH_SIZE): merge TARGET's sources in batches of
# BATCH_SIZE. Sources that skip the precompiled header (they include no
# LibTorch header and compile fast alone) stay apart; CMake itself keeps apart
# sources with their own COMPILE_DEFINITIONS, COMPILE_OPTIONS or INCLUDE_DIRECTORIES.
function(aaren_unity_build target batch_size)
  if(NOT AAREN_UNITY_BUILD)
    return()
  endif()
  set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE ${batch_size})
  get_target_property(sources ${target} SOURCES)
  foreach(source IN LISTS sources)
    get_source_file_property(skip_pch ${source} SKIP_PRECOMPILE_HEADERS)
    if(skip_pch)
      set_source_files_properties(${source} PROPERTIES SKIP_UNITY_BUILD_INCLUSION ON)
    endif()
  endforeach()
endfunction()
