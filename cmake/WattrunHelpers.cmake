# wattrun_add_library(NAME SOURCES ... PUBLIC_LINK ... PRIVATE_LINK ...)
# One static library per layer or stage, with explicit link lists so that the
# build checks the layering (a stage can only see what it links).
function(wattrun_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_LINK;PRIVATE_LINK" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_PUBLIC_LINK} PRIVATE wattrun_warnings ${ARG_PRIVATE_LINK})
endfunction()

# wattrun_add_test(NAME SOURCES ... LINK ... [MPI_RANKS n] [LABELS ...])
# Serial tests run as a plain process; MPI tests run under mpiexec -n N.
# Test names follow the directory, so `ctest -R stages/idle` or `ctest -R mpi` select them.
function(wattrun_add_test name)
  cmake_parse_arguments(ARG "" "MPI_RANKS;TIMEOUT" "SOURCES;LINK;LABELS" ${ARGN})
  string(REPLACE "/" "_" target "test_${name}")
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE ${ARG_LINK} GTest::gtest wattrun_test_main wattrun_warnings)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  if(ARG_MPI_RANKS)
    add_test(NAME mpi/${name}
             COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${ARG_MPI_RANKS}
                     --allow-run-as-root --oversubscribe ${MPIEXEC_PREFLAGS}
                     $<TARGET_FILE:${target}> ${MPIEXEC_POSTFLAGS})
    set_tests_properties(mpi/${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "mpi;${ARG_LABELS}"
                         PROCESSORS ${ARG_MPI_RANKS}
                         ENVIRONMENT "OMPI_MCA_rmaps_base_oversubscribe=1;WATTRUN_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  else()
    add_test(NAME ${name} COMMAND $<TARGET_FILE:${target}>)
    set_tests_properties(${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "serial;${ARG_LABELS}"
                         ENVIRONMENT "WATTRUN_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  endif()
endfunction()

# wattrun_add_directory_library(NAME PUBLIC_LINK ... PRIVATE_LINK ... TEST_LINK ...)
# Builds every *.cc of the current directory except *_test.cc into the
# library NAME, and every *_test.cc into a test: foo_test.cc runs as a plain
# process, foo_mpi_test.cc under mpiexec -n 2. Test names are
# <dir>/<file stem>, e.g. stages/idle/idle_test, mpi/stages/ingest/store_mpi_test.
function(wattrun_add_directory_library name)
  cmake_parse_arguments(ARG "" "" "PUBLIC_LINK;PRIVATE_LINK;TEST_LINK" ${ARGN})
  file(GLOB _all CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  set(_sources "")
  set(_tests "")
  foreach(_f IN LISTS _all)
    if(_f MATCHES "_test\\.cc$")
      list(APPEND _tests ${_f})
    elseif(NOT _f MATCHES "_(fuzz|main)\\.cc$")
      list(APPEND _sources ${_f})
    endif()
  endforeach()
  if(_sources)
    wattrun_add_library(${name} SOURCES ${_sources}
                        PUBLIC_LINK ${ARG_PUBLIC_LINK} PRIVATE_LINK ${ARG_PRIVATE_LINK})
  else()  # a stage with headers only (or not written yet)
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} INTERFACE ${ARG_PUBLIC_LINK})
  endif()
  if(WATTRUN_BUILD_TESTS)
    file(RELATIVE_PATH _rel ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
    foreach(_t IN LISTS _tests)
      get_filename_component(_stem ${_t} NAME_WE)
      if(_stem MATCHES "_mpi_test$")
        wattrun_add_test(${_rel}/${_stem} SOURCES ${_t} LINK ${name} ${ARG_TEST_LINK} MPI_RANKS 2)
      else()
        wattrun_add_test(${_rel}/${_stem} SOURCES ${_t} LINK ${name} ${ARG_TEST_LINK})
      endif()
    endforeach()
  endif()
endfunction()
