# Use ccache when it is installed. Precompiled headers defeat ccache unless it is
# told to tolerate them (pch_defines, time_macros) and include_file_mtime/ctime
# (the PCH is rebuilt with a new mtime on a clean build).
find_program(AAREN_CCACHE ccache)
if(AAREN_CCACHE)
  set(_launcher ${CMAKE_COMMAND} -E env
      "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      ${AAREN_CCACHE})
  set(CMAKE_C_COMPILER_LAUNCHER ${_launcher})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${_launcher})
  message(STATUS "ccache: ${AAREN_CCACHE}")
endif()
