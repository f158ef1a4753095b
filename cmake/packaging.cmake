# Debian packages with CPack, one per install component:
#   libsled0     (lib)     the shared runtime library
#   libsled-dev  (dev)     headers, static library, sled.pc, the CMake package, sled(7)
#   probed       (daemon)  probed, probectl, their man pages, the systemd unit, completion
#
#   cmake -S . -B build -DCMAKE_INSTALL_PREFIX=/usr && cmake --build build
#   (cd build && cpack -G DEB)
#
# Files go under CMAKE_INSTALL_PREFIX, as with cmake --install (the unit's ExecStart
# names it).  Dependencies come from dpkg-shlibdeps on the installed binaries, plus the
# packages' own relations below.
set(CPACK_PACKAGE_NAME sled)
set(CPACK_PACKAGE_VENDOR "sled")
set(CPACK_PACKAGE_CONTACT "sled maintainers <sled@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "static tracepoints with dynamic probes")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://example.invalid/sled")

set(CPACK_DEBIAN_LIB_PACKAGE_NAME libsled${PROJECT_VERSION_MAJOR})
set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
set(CPACK_COMPONENT_LIB_DESCRIPTION
  "sled runtime library\nlibsled patches the tracepoints of a running program on probed's command and\nrecords their events in shared memory.")
# dpkg-shlibdeps needs to know that the -dev and probed packages' links to libsled
# resolve to this package (it is not installed on the build machine).
set(CPACK_DEBIAN_LIB_PACKAGE_GENERATE_SHLIBS ON)

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libsled-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
  "libsled${PROJECT_VERSION_MAJOR} (= ${PROJECT_VERSION})")
set(CPACK_COMPONENT_DEV_DESCRIPTION
  "sled tracepoints: development files\n<sled/tracepoint.h>, the static library, sled.pc and the CMake package.")

set(CPACK_DEBIAN_DAEMON_PACKAGE_NAME probed)
set(CPACK_DEBIAN_DAEMON_PACKAGE_SECTION admin)
set(CPACK_COMPONENT_DAEMON_DESCRIPTION
  "sled tracepoint daemon and CLI\nprobed attaches probes to sled tracepoints (sled mode and uprobe mode) and\nexports their events; probectl lists, enables, disables and tails them.")


# Debian wants each package's licence as /usr/share/doc/PACKAGE/copyright.
foreach(pair "lib;libsled${PROJECT_VERSION_MAJOR}" "dev;libsled-dev" "daemon;probed")
  list(GET pair 0 component)
  list(GET pair 1 package)
  if(component STREQUAL daemon AND NOT SLED_BUILD_DAEMON)
    continue()
  endif()
  install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${package}
    RENAME copyright COMPONENT ${component})
endforeach()
if(SLED_BUILD_DAEMON)
  install(FILES ${PROJECT_SOURCE_DIR}/docs/operations.md ${PROJECT_SOURCE_DIR}/docs/event-schema.md
    DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/probed COMPONENT daemon)
endif()

if(SLED_BUILD_DAEMON)
  set(CPACK_COMPONENTS_ALL lib dev daemon)
else()
  set(CPACK_COMPONENTS_ALL lib dev)
endif()
include(CPack)
