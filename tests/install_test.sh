#!/usr/bin/env bash
# Installs the build into a scratch prefix, then builds against the install alone: the
# embedding example with pkg-config and with CMake's find_package(callrec), and the example
# bot (callrec.h plus the tests' signal generators, no engine header). The installed program
# runs too. A sanitized build ($3: address,undefined or thread) is linked with the same
# sanitizers.
set -euo pipefail
build=$1
src=$2
sanitize=${3:-}
flags=()
[ -n "$sanitize" ] && flags=(-fsanitize="$sanitize" -fno-omit-frame-pointer)
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name callrec.pc)")/..

"$prefix/bin/callrec" --version | grep -q "^callrec [0-9]"
"$prefix/bin/callrec" serve --help | grep -q "^usage: callrec serve" # its module, installed

export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc -std=c11 "${flags[@]}" "$src/tests/example_embed.c" $(pkg-config --cflags --libs callrec) \
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
cmake -S "$prefix/consumer" -B "$prefix/consumer/build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_C_FLAGS="${flags[*]}" >/dev/null
cmake --build "$prefix/consumer/build" >/dev/null
(cd "$prefix" && ./consumer/build/with-cmake | grep -q '"completionReason":"initialSilenceTimeout"')

# Only the tests' own folder is on the include path beside the install.
cc -std=c11 -D_DEFAULT_SOURCE "${flags[@]}" -I"$src/tests" \
  -DCALLREC_SOURCE_DIR="\"$src\"" "$src/tests/example_bot.c" "$src/tests/signals.c" \
  "$src/tests/support.c" $(pkg-config --cflags --libs callrec sndfile speexdsp libcjson) \
  -lpthread -lm -Wl,-rpath,"$libdir" -o "$prefix/example-bot"
"$prefix/example-bot" --calls 8 --threads 2 >/dev/null
# PortAudio is opened only for a device: with its library unreadable (a private mount namespace,
# where this machine allows one), the installed program still records a file, and asking for a
# device says what is missing.
portaudio=$(readlink -f "$(ldconfig -p | awk '$1 == "libportaudio.so.2" {print $NF; exit}')")
if [ -f "$portaudio" ] && unshare -m true 2>/dev/null; then
  echo '{"maxRecordDurationInSeconds": 2}' >"$prefix/request.json"
  unshare -m bash -c "mount --bind /dev/null '$portaudio' &&
    '$prefix/bin/callrec' record --request '$prefix/request.json' --input '$src/demo/caller.wav' \
      --output '$prefix/no-portaudio.wav' -q >/dev/null &&
    ! '$prefix/bin/callrec' devices 2>'$prefix/devices.err'"
  grep -q "PortAudio could not be loaded" "$prefix/devices.err"
  python3 -c "import sys, wave; assert wave.open(sys.argv[1]).getnframes() == 32000" \
    "$prefix/no-portaudio.wav"
  echo "install test: with PortAudio unreadable, a file was recorded and devices named the problem"
else
  echo "install test: no private mount namespace here; the run without PortAudio was not made"
fi
echo "install test: the program, pkg-config and find_package consumers and the example bot ran"
