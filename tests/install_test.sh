#!/usr/bin/env bash
# Installs the build into a scratch prefix, then builds the embedding example against it
# twice: with pkg-config and with CMake's find_package(callrec).
set -euo pipefail
build=$1
src=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name callrec.pc)")/..

export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc -std=c11 "$src/tests/example_embed.c" $(pkg-config --cflags --libs callrec) \
  -Wl,-rpath,"$libdir" -o "$prefix/with-pkgconfig"
(cd "$prefix" && ./with-pkgconfig | grep -q '"completionReason":"initialSilenceTimeout"')

mkdir "$prefix/consumer"
cat > "$prefix/consumer/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.25)
project(consumer C)
find_package(callrec 0.1 REQUIRED)
add_executable(with-cmake $src/tests/example_embed.c)
target_link_libraries(with-cmake PRIVATE callrec::callrec_static)
CMAKE
cmake -S "$prefix/consumer" -B "$prefix/consumer/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/consumer/build" >/dev/null
(cd "$prefix" && ./consumer/build/with-cmake | grep -q '"completionReason":"initialSilenceTimeout"')
echo "install test: pkg-config and find_package consumers both ran"
