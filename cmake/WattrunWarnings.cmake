# Warnings as an INTERFACE target, linked PRIVATE by every wattrun target.
add_library(wattrun_warnings INTERFACE)
target_compile_options(wattrun_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wpedantic -Wconversion>)
# GCC 12 at -O3 reports -Wrestrict inside std::string's operator+ (GCC bug
# 105651, a false positive in libstdc++'s own code): silenced there only.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
   AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(wattrun_warnings INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Wno-restrict>)
endif()
option(WATTRUN_WERROR "Treat warnings as errors" OFF)
if(WATTRUN_WERROR)
  target_compile_options(wattrun_warnings INTERFACE -Werror)
endif()
