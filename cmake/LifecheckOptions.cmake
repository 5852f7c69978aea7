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
    # Coverage (edge counters, comparison hooks) only where fuzz/coverage/sut.allowlist says: the
    # code under test. Every input touched ~37k features when the loader, JSON and the harness
    # were instrumented too, and libFuzzer's per-feature bookkeeping was 78 % of the lifecycle
    # fuzzer's time (fuzz/README.md, "Coverage instrumentation").
    set(LIFECHECK_FUZZ_COVERAGE "sut" CACHE STRING
        "Fuzz builds: coverage on the code under test only (sut) or on every file (all)")
    set_property(CACHE LIFECHECK_FUZZ_COVERAGE PROPERTY STRINGS sut all)
    if(NOT LIFECHECK_FUZZ_COVERAGE MATCHES "^(sut|all)$")
        message(FATAL_ERROR "LIFECHECK_FUZZ_COVERAGE: '${LIFECHECK_FUZZ_COVERAGE}' (sut or all)")
    endif()
    set(_cov ${PROJECT_SOURCE_DIR}/fuzz/coverage)
    target_compile_options(lifecheck_options INTERFACE -fsanitize=fuzzer-no-link
        -fsanitize-coverage-allowlist=${_cov}/${LIFECHECK_FUZZ_COVERAGE}.allowlist
        -fsanitize-coverage-ignorelist=${_cov}/library.ignorelist)
    # ccache hashes these flags as text, not the lists' contents: a digest of the lists on every
    # command line makes an edited list recompile (and re-configures when a list changes).
    set(_lists ${_cov}/sut.allowlist ${_cov}/all.allowlist ${_cov}/library.ignorelist)
    set(_digest "")
    foreach(_list IN LISTS _lists)
        file(MD5 ${_list} _md5)
        string(APPEND _digest ${_md5})
    endforeach()
    string(MD5 _digest "${_digest}")
    target_compile_definitions(lifecheck_options INTERFACE LIFECHECK_FUZZ_COVERAGE_LISTS=${_digest})
    set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_lists})
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
