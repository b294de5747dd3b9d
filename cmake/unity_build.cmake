# Unity (jumbo) build of the libraries the dkim-relay binary links: CMake concatenates a library's
# sources into a few translation units, so the Boost.Asio/Beast, spdlog/fmt, nlohmann-json and
# libstdc++ headers are parsed once per batch instead of once per file. From scratch (README command
# 1 in a fresh container, the container image, CI) that is what the build costs; when one file
# changes, its whole batch recompiles, so a developer's plain `cmake` build leaves it off.
# docker/build.sh turns it on for Release builds; the ASan build stays file by file, so CI compiles
# both: the unity build catches file-local names that clash, the file-by-file build catches a
# source that compiles only because a batch neighbour included a header for it.
option(DKIM_RELAY_UNITY "Build the relay's libraries as a few large translation units each" OFF)
if(NOT DKIM_RELAY_UNITY)
  return()
endif()

# Sources per batch, in the order each CMakeLists lists them. Large batches parse the headers and
# instantiate the shared templates fewer times (21 compile jobs cost ~6 % less CPU than 26); but ninja
# 1.11 starts ready jobs in build.ninja order, i.e. library by library as the top CMakeLists adds
# them, so app/ comes last and gets four smaller batches: neither core idles long at the end.
set(dkim_relay_unity_batches
  dkr_signer 16
  dkr_config 18
  dkr_keystore 11
  dkr_pkcs11 8
  dkr_lifecycle 8
  dkr_dns 9
  dkr_upstream 6
  dkr_relay 11
  dkr_admin 16
  dkr_app 7)
while(dkim_relay_unity_batches)
  list(POP_FRONT dkim_relay_unity_batches target batch_size)
  set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE ${batch_size})
  # GCC warns about a class with linkage that holds a type from an anonymous namespace (or a
  # coroutine frame holding a lambda) unless the class is defined in the main source file, where it
  # cannot be defined twice. In a batch no source is the main file, yet each is still compiled once.
  target_compile_options(${target} PRIVATE $<$<CXX_COMPILER_ID:GNU>:-Wno-subobject-linkage>)
endwhile()
# Compiled on their own: the admin HTTP server (Beast's HTTP and TLS stream templates make it the
# costliest source by far: ~30 s at -O3, as much as the rest of admin/ together, so it runs on one
# core while the other takes the rest), and the operator console as byte arrays (generated at build
# time, cheap to compile).
set_source_files_properties(${CMAKE_SOURCE_DIR}/admin/src/admin_server.cpp ${CMAKE_BINARY_DIR}/admin/console_files.cpp
                            TARGET_DIRECTORY dkr_admin PROPERTIES SKIP_UNITY_BUILD_INCLUSION ON)
