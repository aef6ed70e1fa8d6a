include(GoogleTest)

# sluice_add_test(NAME name SOURCES ... LIBS ... LABELS unit|bpf|integration|e2e [TIMEOUT s])
# Labels select subsets: `ctest -L unit` needs no root; bpf/integration/e2e need root.
function(sluice_add_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main GTest::gmock)
  target_compile_definitions(${T_NAME} PRIVATE SLUICE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                                               SLUICE_BINARY_DIR="${PROJECT_BINARY_DIR}")
  gtest_discover_tests(${T_NAME} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
                       DISCOVERY_TIMEOUT 60)
endfunction()
