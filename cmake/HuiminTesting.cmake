# Helpers that make a test a few lines of CMake.
#
#   huimin_unit_test(test_cursor SOURCES test_cursor.c LIBS hm_common)
#       a cmocka test labelled "unit"
#   huimin_test(NAME n COMMAND cmd... LABELS integration [TIMEOUT s] [ENV k=v...])
#       any command as a test
#   huimin_fuzz_target(fuzz_tlv SOURCES fuzz_tlv.c LIBS cardlib)
#       a libFuzzer target under HUIMIN_FUZZ; otherwise a standalone binary whose
#       committed corpus (tests/fuzz/corpus/<name>/) runs as a "fuzz-corpus" test

function(huimin_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT;WORKING_DIRECTORY" "COMMAND;LABELS;ENV" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  if(NOT T_WORKING_DIRECTORY)
    set(T_WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  add_test(NAME ${T_NAME} COMMAND ${T_COMMAND} WORKING_DIRECTORY ${T_WORKING_DIRECTORY})
  set(env "HUIMIN_SOURCE_DIR=${PROJECT_SOURCE_DIR}" "HUIMIN_BINARY_DIR=${PROJECT_BINARY_DIR}"
          "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1"
          "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1" ${T_ENV})
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
                       ENVIRONMENT "${env}")
endfunction()

function(huimin_unit_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE PkgConfig::CMOCKA ${T_LIBS})
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  huimin_test(NAME ${name} COMMAND ${name} LABELS ${T_LABELS} TIMEOUT ${T_TIMEOUT})
endfunction()

function(huimin_fuzz_target name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS})
  if(HUIMIN_FUZZ)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  else()
    target_sources(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/fuzz/standalone_main.c)
    set(corpus ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${name})
    huimin_test(NAME ${name}_corpus COMMAND ${name} ${corpus} LABELS fuzz-corpus)
  endif()
endfunction()
