# cmake -DWATTRUN=bin -DOUT_DIR=dir -DCOMMANDS=a,b -DVERSION=v -P WattrunManPages.cmake
# Writes wattrun.1 and wattrun-<command>.1 from the binary's --help text (a
# small help2man: NAME, SYNOPSIS, the help verbatim). If the binary cannot
# run here (a cross or sandboxed build), the page says to run --help.
file(MAKE_DIRECTORY "${OUT_DIR}")
string(TIMESTAMP _date "%Y-%m-%d" UTC)

function(write_page page title help_args)
  execute_process(COMMAND "${WATTRUN}" ${help_args} --help OUTPUT_VARIABLE _help ERROR_VARIABLE _err
                  RESULT_VARIABLE _rc TIMEOUT 60)
  if(NOT _rc EQUAL 0)
    set(_help "Run `${title} --help` for the options.\n")
  endif()
  # Roff: backslashes escaped, lines starting with . or ' protected.
  string(REPLACE "\\" "\\e" _help "${_help}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" _help "${_help}")
  string(REGEX MATCH "^[^\n]*" _summary "${_help}")
  set(_text ".TH \"${title}\" 1 \"${_date}\" \"wattrun ${VERSION}\" \"User Commands\"\n")
  string(APPEND _text ".SH NAME\n${title} \\- energy per training run and per Slurm job from power telemetry\n")
  string(APPEND _text ".SH DESCRIPTION\n.nf\n${_help}.fi\n")
  string(APPEND _text ".SH SEE ALSO\nwattrun(1), wattrun-generate(1), wattrun-ingest(1), wattrun-run(1), ")
  string(APPEND _text "wattrun-predict(1), wattrun-report(1), wattrun-job(1)\n")
  file(WRITE "${OUT_DIR}/${page}" "${_text}")
endfunction()

write_page(wattrun.1 wattrun "")
string(REPLACE "," ";" COMMANDS "${COMMANDS}")
foreach(_c IN LISTS COMMANDS)
  write_page(wattrun-${_c}.1 "wattrun-${_c}" "${_c}")
endforeach()
