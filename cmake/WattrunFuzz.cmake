# libFuzzer targets (fuzz/), built with -DWATTRUN_FUZZ=ON and clang.
#
# The libraries under test must be instrumented for coverage too, so the whole
# build is configured with the fuzzing flags (fuzz/run_fuzz.sh does this):
#   -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined ..."
# and only the fuzz targets link libFuzzer itself (-fsanitize=fuzzer).
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "WATTRUN_FUZZ needs clang (libFuzzer): configure with "
                      "-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang, or run fuzz/run_fuzz.sh")
endif()
if(NOT CMAKE_CXX_FLAGS MATCHES "fuzzer-no-link")
  message(WARNING "WATTRUN_FUZZ: CMAKE_CXX_FLAGS lacks -fsanitize=fuzzer-no-link, so the "
                  "wattrun libraries carry no coverage feedback; fuzz/run_fuzz.sh sets it")
endif()

add_library(wattrun_fuzz_support STATIC ${PROJECT_SOURCE_DIR}/fuzz/fuzz_support.cc)
target_include_directories(wattrun_fuzz_support PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(wattrun_fuzz_support PRIVATE wattrun_warnings)

add_custom_target(wattrun_fuzzers)

# wattrun_add_fuzzer(NAME LINK ...)
# Builds fuzz/NAME_fuzz.cc into the executable NAME_fuzz. Its seed corpus is
# fuzz/corpus/NAME/, its saved crashes fuzz/regressions/NAME/, and an
# optional libFuzzer dictionary fuzz/NAME.dict. With the test suite on, the
# test fuzz/NAME replays the seeds and the regressions once (no fuzzing).
function(wattrun_add_fuzzer name)
  cmake_parse_arguments(ARG "" "" "LINK" ${ARGN})
  set(target ${name}_fuzz)
  add_executable(${target} ${PROJECT_SOURCE_DIR}/fuzz/${name}_fuzz.cc)
  target_link_libraries(${target} PRIVATE ${ARG_LINK} wattrun_fuzz_support wattrun_warnings)
  target_link_options(${target} PRIVATE -fsanitize=fuzzer)
  add_dependencies(wattrun_fuzzers ${target})
  if(WATTRUN_BUILD_TESTS)
    set(inputs ${PROJECT_SOURCE_DIR}/fuzz/corpus/${name})
    if(EXISTS ${PROJECT_SOURCE_DIR}/fuzz/regressions/${name})
      list(APPEND inputs ${PROJECT_SOURCE_DIR}/fuzz/regressions/${name})
    endif()
    add_test(NAME fuzz/${name} COMMAND $<TARGET_FILE:${target}> -runs=0 ${inputs})
    set_tests_properties(fuzz/${name} PROPERTIES TIMEOUT 300 LABELS "fuzz;serial")
  endif()
endfunction()
