# The Debian package (CPack's DEB generator): `docker/build-deb.sh BUILD_DIR` makes
# dkim-relay_<version>_<arch>.deb from a configured, built tree. The install rules below lay out
# the package with paths relative to "/" (CPACK_PACKAGING_INSTALL_PREFIX); they are not meant for
# `cmake --install` onto a live system.
set(pkg_dir ${CMAKE_CURRENT_LIST_DIR})
# build-deb.sh builds the dkim-relay target itself; packaging must not build the tests first.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
set(CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                                                WORLD_READ WORLD_EXECUTE)

install(TARGETS dkim-relay RUNTIME DESTINATION usr/bin)
install(FILES ${pkg_dir}/dkim-relay.toml DESTINATION etc/dkim-relay PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ
                                                                               WORLD_READ)
install(FILES ${pkg_dir}/dkim-relay.service DESTINATION lib/systemd/system)
# The state directory: postinst gives it to the dkim-relay user (the unit's StateDirectory= too).
install(DIRECTORY DESTINATION var/lib/dkim-relay DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
# A native package's changelog, compressed the way dpkg expects (no name, no time stamp in gzip).
configure_file(${pkg_dir}/changelog.in ${CMAKE_BINARY_DIR}/packaging/changelog @ONLY)
execute_process(COMMAND gzip -9nf ${CMAKE_BINARY_DIR}/packaging/changelog)
install(FILES ${CMAKE_BINARY_DIR}/packaging/changelog.gz ${pkg_dir}/copyright ${CMAKE_SOURCE_DIR}/README.md
              ${CMAKE_SOURCE_DIR}/config/dkim-relay.example.toml DESTINATION usr/share/doc/dkim-relay)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME dkim-relay)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "dkim-relay maintainers <maintainers@users.noreply.h-seed-18e4dc18.example>")
set(CPACK_DEBIAN_PACKAGE_SECTION mail)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "outbound DKIM-signing SMTP relay")
# The synopsis is CPACK_PACKAGE_DESCRIPTION_SUMMARY; CPack indents these lines and turns the empty
# one into the " ." paragraph separator.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Applications send mail to dkim-relay over SMTP; it signs every message with
DKIM (RSA-SHA256 and Ed25519-SHA256) for the domain of its From: address and
forwards it to the real MTA, answering the application only with what that
MTA answered. Keys live in a local directory or in a PostgreSQL keystore
shared by a fleet; an HTTP admin API and web console manage them.

This package runs the relay as a hardened systemd service (user dkim-relay,
configuration in /etc/dkim-relay, state in /var/lib/dkim-relay).")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://dkim-relay.example/")
# Library dependencies from dpkg-shlibdeps; adduser for postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${pkg_dir}/conffiles ${pkg_dir}/postinst ${pkg_dir}/prerm ${pkg_dir}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
