# -DWATTRUN_SANITIZERS=address,undefined builds everything instrumented.
if(WATTRUN_SANITIZERS)
  string(REPLACE "," ";" _wattrun_san_list "${WATTRUN_SANITIZERS}")
  foreach(_san IN LISTS _wattrun_san_list)
    add_compile_options(-fsanitize=${_san} -fno-omit-frame-pointer)
    add_link_options(-fsanitize=${_san})
  endforeach()
endif()
