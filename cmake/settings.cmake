# Compiler settings and libraries shared by the whole project, included by
# the top-level CMakeLists.txt and by core/ and emulator/ when one of them is
# configured on its own (cmake -S core -B /tmp/corebuild).
include_guard(GLOBAL)

set(CMAKE_C_STANDARD 99)
set(CMAKE_C_STANDARD_REQUIRED ON)
set(CMAKE_C_EXTENSIONS OFF)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)

if(NOT CMAKE_BUILD_TYPE)
  set(CMAKE_BUILD_TYPE RelWithDebInfo)
endif()

add_compile_options(-Wall -Wextra -Werror)

# PUSHPULL_SANITIZE=ON builds everything with AddressSanitizer and
# UndefinedBehaviorSanitizer (make sanitize).
option(PUSHPULL_SANITIZE "Build with ASan and UBSan" OFF)
if(PUSHPULL_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)

find_package(PkgConfig REQUIRED)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
# The fleet store's Redis link (core/src/redis_*.c).
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
# TLS to it (rediss://, core/src/redis_tls.c): OpenSSL 3.
pkg_check_modules(SSL REQUIRED IMPORTED_TARGET openssl>=3.0)
# The journal's SQLite backend (core/src/store_sqlite.c).
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
find_package(Threads REQUIRED)

enable_testing()
