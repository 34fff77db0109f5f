# `make package`: a Debian package of the `parley` command (CPack DEB), for installing Parley
# without building it. It holds bin/parley and DuckDB's shared library in lib/parley (DuckDB is no
# Debian package); the binary finds that library relative to itself ($ORIGIN), so the package
# also works unpacked anywhere (tests/package_test.sh unpacks it with dpkg-deb -x). The Debian
# libraries it links (SQLite, OpenSSL, Abseil, libpg_query) are declared as dependencies by
# dpkg-shlibdeps, from the binary itself.
include(GNUInstallDirs)

install(TARGETS parley RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The real file, under the name the binary asks for (the npm build's soname is libduckdb.so).
install(FILES "${PARLEY_DUCKDB_DIR}/lib/libduckdb.so" DESTINATION ${CMAKE_INSTALL_LIBDIR}/parley)
install(FILES "${CMAKE_SOURCE_DIR}/LICENSE" "${CMAKE_SOURCE_DIR}/README.md"
              "${CMAKE_SOURCE_DIR}/CHANGELOG.md"
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
set_target_properties(parley PROPERTIES
  INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}/parley")

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "parley")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "Parley maintainers <parley@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "self-hosted data clean room (CLI, embedded DuckDB engine)")
set(CPACK_PACKAGE_INSTALL_DIRECTORY "parley")
set(CPACK_RESOURCE_FILE_LICENSE "${CMAKE_SOURCE_DIR}/LICENSE")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "database")
set(CPACK_DEBIAN_PACKAGE_LICENSE "Apache-2.0")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libduckdb.so ships inside the package: dpkg-shlibdeps must not look for a Debian package of it.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS "${PARLEY_DUCKDB_DIR}/lib")
set(CPACK_STRIP_FILES ON)
include(CPack)
