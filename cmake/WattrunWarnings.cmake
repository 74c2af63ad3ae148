# Warnings as an INTERFACE target, linked PRIVATE by every wattrun target.
add_library(wattrun_warnings INTERFACE)
target_compile_options(wattrun_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wpedantic>)
option(WATTRUN_WERROR "Treat warnings as errors" OFF)
if(WATTRUN_WERROR)
  target_compile_options(wattrun_warnings INTERFACE -Werror)
endif()
