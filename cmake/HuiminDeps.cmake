# Every external library, found once, here, through pkg-config or find_package.
# The Debian packages that provide them are listed in scripts/install-deps.sh.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

pkg_check_modules(PCSCLITE REQUIRED IMPORTED_TARGET libpcsclite)
pkg_check_modules(OPENSSL REQUIRED IMPORTED_TARGET libcrypto>=3.0)
pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
pkg_check_modules(ZLIB REQUIRED IMPORTED_TARGET zlib)
pkg_check_modules(JPEG REQUIRED IMPORTED_TARGET libjpeg)
pkg_check_modules(LIBSSL REQUIRED IMPORTED_TARGET libssl>=3.0)
pkg_check_modules(LIBEVENT REQUIRED IMPORTED_TARGET libevent_core libevent_extra
                  libevent_openssl libevent_pthreads)
pkg_check_modules(CJOSE REQUIRED IMPORTED_TARGET cjose)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
pkg_check_modules(P11KIT REQUIRED IMPORTED_TARGET p11-kit-1)
pkg_check_modules(LIBCURL REQUIRED IMPORTED_TARGET libcurl)

# libcsv (libcsv-dev) ships no pkg-config file: find its header and library
# and wrap them in an imported target.
find_path(LIBCSV_INCLUDE_DIR csv.h REQUIRED)
find_library(LIBCSV_LIBRARY NAMES csv REQUIRED)
if(NOT TARGET Huimin::csv)
  add_library(Huimin::csv UNKNOWN IMPORTED)
  set_target_properties(Huimin::csv PROPERTIES IMPORTED_LOCATION "${LIBCSV_LIBRARY}"
                        INTERFACE_INCLUDE_DIRECTORIES "${LIBCSV_INCLUDE_DIR}")
endif()

# huimin-verify reads a receipt's QR code out of a PNG: zbar (libzbar-dev) and libpng (libpng-dev).
pkg_check_modules(ZBAR REQUIRED IMPORTED_TARGET zbar)
pkg_check_modules(LIBPNG REQUIRED IMPORTED_TARGET libpng)

# The kiosk draws receipt and ticket QR codes: libqrencode (libqrencode-dev).
pkg_check_modules(QRENCODE REQUIRED IMPORTED_TARGET libqrencode)

# The kiosk's touch front end: SDL2 with SDL2_ttf (Noto Sans CJK from fonts-noto-cjk) and
# SDL2_image (libsdl2-dev, libsdl2-ttf-dev, libsdl2-image-dev).
pkg_check_modules(SDL2 REQUIRED IMPORTED_TARGET sdl2)
pkg_check_modules(SDL2_TTF REQUIRED IMPORTED_TARGET SDL2_ttf)
pkg_check_modules(SDL2_IMAGE REQUIRED IMPORTED_TARGET SDL2_image)

# The kiosk's voice guidance in Mandarin (长辈模式): espeak-ng (libespeak-ng-dev).
pkg_check_modules(ESPEAK_NG REQUIRED IMPORTED_TARGET espeak-ng)
