# lifecheck::options — language level, warnings, sanitizers and fuzz instrumentation for every target.
add_library(lifecheck_options INTERFACE)
add_library(lifecheck::options ALIAS lifecheck_options)
target_compile_features(lifecheck_options INTERFACE cxx_std_20)
target_include_directories(lifecheck_options INTERFACE ${PROJECT_SOURCE_DIR})
target_compile_options(lifecheck_options INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
    -Wimplicit-fallthrough
    $<$<BOOL:${LIFECHECK_WERROR}>:-Werror>)
target_compile_definitions(lifecheck_options INTERFACE
    $<$<BOOL:${LIFECHECK_FAULTS}>:LIFECHECK_FAULTS=1>
    BOOST_ASIO_NO_DEPRECATED)

set(_lifecheck_known_sanitizers address undefined thread)
foreach(_san IN LISTS LIFECHECK_SANITIZE)
    if(NOT _san IN_LIST _lifecheck_known_sanitizers)
        message(FATAL_ERROR "LIFECHECK_SANITIZE: unknown '${_san}' (known: ${_lifecheck_known_sanitizers})")
    endif()
endforeach()
if("thread" IN_LIST LIFECHECK_SANITIZE AND "address" IN_LIST LIFECHECK_SANITIZE)
    message(FATAL_ERROR "LIFECHECK_SANITIZE: thread cannot be combined with address")
endif()
if(LIFECHECK_SANITIZE)
    list(JOIN LIFECHECK_SANITIZE "," _san_flags)
    target_compile_options(lifecheck_options INTERFACE -fsanitize=${_san_flags} -fno-omit-frame-pointer)
    target_link_options(lifecheck_options INTERFACE -fsanitize=${_san_flags})
    if("undefined" IN_LIST LIFECHECK_SANITIZE)
        target_compile_options(lifecheck_options INTERFACE -fno-sanitize-recover=undefined)
    endif()
endif()

if(LIFECHECK_FUZZ)
    if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
        message(FATAL_ERROR "LIFECHECK_FUZZ needs clang (libFuzzer); configure with --preset fuzz")
    endif()
    target_compile_options(lifecheck_options INTERFACE -fsanitize=fuzzer-no-link)
    # Without a sanitizer runtime nothing defines the __sanitizer_cov_* callbacks that the
    # instrumented libraries call: executables other than the fuzzers (lifecheck-reference,
    # lifecheck, lifecheck_fuzz_seeds) link libFuzzer's runtime without its main(). The fuzzers
    # set LIFECHECK_FUZZER and link the whole of libFuzzer (-fsanitize=fuzzer).
    if(NOT LIFECHECK_SANITIZE)
        execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libclang_rt.fuzzer_no_main-x86_64.a
                        OUTPUT_VARIABLE _fuzzer_no_main OUTPUT_STRIP_TRAILING_WHITESPACE)
        if(NOT IS_ABSOLUTE "${_fuzzer_no_main}" OR NOT EXISTS "${_fuzzer_no_main}")
            message(FATAL_ERROR "libclang_rt.fuzzer_no_main-x86_64.a not found: install libclang-rt-14-dev")
        endif()
        target_link_libraries(lifecheck_options INTERFACE
            "$<$<AND:$<STREQUAL:$<TARGET_PROPERTY:TYPE>,EXECUTABLE>,$<NOT:$<BOOL:$<TARGET_PROPERTY:LIFECHECK_FUZZER>>>>:${_fuzzer_no_main}>")
    endif()
endif()

# lifecheck_add_library(NAME SOURCES... [LINKS ...]) — a module library with its lifecheck:: alias.
function(lifecheck_add_library name)
    cmake_parse_arguments(ARG "" "" "SOURCES;LINKS" ${ARGN})
    add_library(lifecheck_${name} STATIC ${ARG_SOURCES})
    add_library(lifecheck::${name} ALIAS lifecheck_${name})
    target_link_libraries(lifecheck_${name} PUBLIC lifecheck::options ${ARG_LINKS})
endfunction()
