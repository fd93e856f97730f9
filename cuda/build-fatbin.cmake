# cmake -P script run by the custom command in CMakeLists.txt: one nvcc -fatbin call, its
# ptxas -v output saved to REPORT (registers, spills per kernel and arch), nvcc's version and the
# flags to INFO. Fails (and prints everything nvcc said) when nvcc fails, e.g. on a warning.
execute_process(
  COMMAND "${NVCC}" -fatbin ${FLAGS} -o "${FATBIN}.tmp" "${SOURCE}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  file(REMOVE "${FATBIN}.tmp")
  message(FATAL_ERROR "nvcc failed (${rc}):\n${out}\n${err}")
endif()
file(RENAME "${FATBIN}.tmp" "${FATBIN}")
file(WRITE "${REPORT}" "${out}${err}")
execute_process(COMMAND "${NVCC}" --version OUTPUT_VARIABLE ver)
string(REGEX MATCH "release [0-9.]+, V[0-9.]+" ver "${ver}")
string(REPLACE ";" " " flags "${FLAGS}")
file(WRITE "${INFO}" "nvcc=${ver}\nflags=${flags}\n")
