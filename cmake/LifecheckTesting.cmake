# Test helpers: one GoogleTest executable per module, discovered at test time.
function(lifecheck_add_test module)
    cmake_parse_arguments(ARG "" "LABEL" "SOURCES;LINKS" ${ARGN})
    if(NOT ARG_LABEL)
        set(ARG_LABEL unit)
    endif()
    set(exe lifecheck_${module}_test)
    add_executable(${exe} ${ARG_SOURCES})
    target_link_libraries(${exe} PRIVATE lifecheck::options ${ARG_LINKS}
        GTest::gtest GTest::gtest_main rapidcheck rapidcheck_gtest)
    target_compile_definitions(${exe} PRIVATE
        LIFECHECK_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
        LIFECHECK_BINARY_DIR="${PROJECT_BINARY_DIR}")
    gtest_discover_tests(${exe} DISCOVERY_MODE PRE_TEST PROPERTIES LABELS ${ARG_LABEL})
endfunction()
