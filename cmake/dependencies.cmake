# Third-party dependencies: Debian packages, plus DuckDB fetched by scripts/bootstrap.sh.
find_package(absl REQUIRED)
find_package(GTest REQUIRED)
find_package(benchmark REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(CLI11 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(OpenSSL REQUIRED)

find_library(PG_QUERY_LIBRARY pg_query REQUIRED)
add_library(pg_query::pg_query UNKNOWN IMPORTED)
set_target_properties(pg_query::pg_query PROPERTIES IMPORTED_LOCATION "${PG_QUERY_LIBRARY}")

set(PARLEY_DUCKDB_DIR "${CMAKE_SOURCE_DIR}/third_party/duckdb" CACHE PATH "folder with include/duckdb.h and lib/libduckdb.so")
if(NOT EXISTS "${PARLEY_DUCKDB_DIR}/lib/libduckdb.so")
  message(FATAL_ERROR "DuckDB not found in ${PARLEY_DUCKDB_DIR}: run scripts/bootstrap.sh")
endif()
add_library(duckdb::duckdb SHARED IMPORTED)
set_target_properties(duckdb::duckdb PROPERTIES
  IMPORTED_LOCATION "${PARLEY_DUCKDB_DIR}/lib/libduckdb.so"
  INTERFACE_INCLUDE_DIRECTORIES "${PARLEY_DUCKDB_DIR}/include")
set(CMAKE_BUILD_RPATH "${PARLEY_DUCKDB_DIR}/lib")
set(CMAKE_INSTALL_RPATH "${PARLEY_DUCKDB_DIR}/lib")

# parley_test(NAME SOURCES... LIBS ...): a GoogleTest binary whose tests ctest discovers.
function(parley_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gmock GTest::gtest_main)
  # Also compiled in: ctest lists the tests (running the binary) without the environment below.
  target_compile_definitions(${name} PRIVATE
    PARLEY_SOURCE_DIR_DEFAULT="${CMAKE_SOURCE_DIR}"
    PARLEY_BINARY_DEFAULT="${CMAKE_BINARY_DIR}/src/cli/parley")
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST
    PROPERTIES ENVIRONMENT "PARLEY_SOURCE_DIR=${CMAKE_SOURCE_DIR};PARLEY_BINARY=${CMAKE_BINARY_DIR}/src/cli/parley")
endfunction()

# libsodium (tokens: CSPRNG, keyed hashes) and cpp-httplib (the server and the remote CLI), both
# Debian packages found by pkg-config. Debian builds cpp-httplib as a library with OpenSSL, zlib
# and brotli support; its pkg-config Cflags define the matching CPPHTTPLIB_* macros, which every
# includer must share with the library.
find_package(PkgConfig REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
# libpq (Debian libpq-dev): the postgres connector.
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
# ICU (Debian libicu-dev): Unicode NFC and case folding for identifier normalisation
# (crypto/normalise.h).
pkg_check_modules(ICU REQUIRED IMPORTED_TARGET icu-uc)
