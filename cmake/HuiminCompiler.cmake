# Compiler settings shared by every target: C11, strict warnings as errors,
# hardening, and the Asan build type (AddressSanitizer + UndefinedBehaviorSanitizer).

add_compile_definitions(_POSIX_C_SOURCE=200809L _DEFAULT_SOURCE)

set(HUIMIN_WARNINGS
  -Wall -Wextra -Werror
  -Wshadow -Wpointer-arith -Wcast-qual -Wcast-align
  -Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations
  -Wformat=2 -Wformat-security -Wvla -Wundef -Wwrite-strings
  -Wimplicit-fallthrough -Wold-style-definition -Wredundant-decls
  -Wnested-externs -Wdouble-promotion -Winit-self
)
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
  list(APPEND HUIMIN_WARNINGS -Wlogical-op -Wduplicated-cond)
endif()
if(CMAKE_C_COMPILER_ID STREQUAL "Clang")
  list(APPEND HUIMIN_WARNINGS -Wno-gnu-zero-variadic-macro-arguments)
endif()
add_compile_options(${HUIMIN_WARNINGS} -fstack-protector-strong -fno-common)

# Release builds get _FORTIFY_SOURCE (it needs optimisation).
add_compile_options($<$<CONFIG:Release,RelWithDebInfo>:-D_FORTIFY_SOURCE=2>)

# Asan: a debug build with both sanitizers; any report aborts the test.
set(CMAKE_C_FLAGS_ASAN
    "-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
    CACHE STRING "C flags for the Asan build type" FORCE)
set(CMAKE_EXE_LINKER_FLAGS_ASAN "-fsanitize=address,undefined" CACHE STRING "" FORCE)
set(CMAKE_SHARED_LINKER_FLAGS_ASAN "-fsanitize=address,undefined" CACHE STRING "" FORCE)
mark_as_advanced(CMAKE_C_FLAGS_ASAN CMAKE_EXE_LINKER_FLAGS_ASAN CMAKE_SHARED_LINKER_FLAGS_ASAN)

# Fuzz: build libFuzzer targets (clang only). Off by default; the fuzz corpora
# still run as ordinary tests through a small standalone driver.
option(HUIMIN_FUZZ "Build libFuzzer fuzz targets (needs clang)" OFF)
if(HUIMIN_FUZZ AND NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "HUIMIN_FUZZ needs clang (configure with CC=clang or the fuzz preset)")
endif()
if(HUIMIN_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -g)
  add_link_options(-fsanitize=address,undefined)
endif()
