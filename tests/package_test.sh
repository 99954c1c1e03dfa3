#!/usr/bin/env bash
# Builds the Debian packages of this build (cpack -G DEB), checks what each holds, unpacks all
# three into a scratch root and builds and runs against that root alone: the program, its
# modules and man page, the embedding example through pkg-config and through find_package.
set -euo pipefail
build=$1
src=$2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
(cd "$build" && cpack -G DEB -B "$root/debs" >/dev/null)
lib=$(ls "$root"/debs/libcallrec0_*.deb) dev=$(ls "$root"/debs/libcallrec-dev_*.deb)
bin=$(ls "$root"/debs/callrec_*.deb)
holds() { # holds DEB PATTERN: the package lists a path matching PATTERN
  local list
  list=$(dpkg-deb -c "$1")
  grep -q -- "$2" <<<"$list"
}
holds "$lib" '/libcallrec\.so\.0'
if holds "$lib" 'callrec\.h'; then
  echo "package test: the header is in the runtime package" >&2
  exit 1
fi
holds "$dev" '/include/callrec\.h'
holds "$dev" '/pkgconfig/callrec\.pc'
holds "$dev" '/cmake/callrec/callrecConfig\.cmake'
holds "$dev" '/libcallrec\.a'
holds "$bin" '/bin/callrec$'
holds "$bin" '/man1/callrec\.1'
holds "$bin" '/callrec/callrec-serve\.so$'
grep -q 'libcallrec0 (= ' <<<"$(dpkg-deb -f "$dev" Depends)"
grep -q 'libsndfile1' <<<"$(dpkg-deb -f "$lib" Depends)"
grep -q 'libportaudio2' <<<"$(dpkg-deb -f "$lib" Depends)" # opened at run time, named by hand
grep -q 'libportaudio2' <<<"$(dpkg-deb -f "$bin" Depends)"
# Installable here: dpkg checks the three against this system's packages (their dependencies
# are what scripts/setup.sh installs on Debian 12) without changing anything.
dpkg --dry-run -i "$lib" "$dev" "$bin" >"$root/dry-run.log" 2>&1 || {
  cat "$root/dry-run.log" >&2
  exit 1
}
if grep -q "dependency problems\|error" "$root/dry-run.log"; then
  cat "$root/dry-run.log" >&2
  exit 1
fi
for d in "$lib" "$dev" "$bin"; do dpkg-deb -x "$d" "$root/fs"; done

"$root/fs/usr/bin/callrec" --version | grep -q '^callrec [0-9]'
# The modules are found relative to the program, wherever the tree is unpacked; a program
# without them says which one it needs and where it looked.
"$root/fs/usr/bin/callrec" serve --help | grep -q '^usage: callrec serve'
if holds "$bin" '/callrec/callrec-timeline\.so$'; then
  "$root/fs/usr/bin/callrec" timeline --help | grep -q '^usage: callrec timeline'
fi
mkdir "$root/alone" && cp "$root/fs/usr/bin/callrec" "$root/alone/"
if "$root/alone/callrec" serve --help >"$root/alone.log" 2>&1 ||
  ! grep -q 'serve needs the module callrec-serve\.so, found neither in' "$root/alone.log"; then
  echo "package test: a program without its modules: $(cat "$root/alone.log")" >&2
  exit 1
fi
grep -q '^\.TH CALLREC 1' "$root"/fs/usr/share/man/man1/callrec.1

pc=$(dirname "$(find "$root/fs" -name callrec.pc)")
libdir=$(dirname "$pc")
cc -std=c11 "$src/tests/example_embed.c" $(PKG_CONFIG_PATH="$pc" pkg-config --cflags --libs callrec) \
  -o "$root/embed-pc"
(cd "$root" && LD_LIBRARY_PATH="$libdir" ./embed-pc | grep -q '"completionReason":"initialSilenceTimeout"')

mkdir "$root/consumer"
cat > "$root/consumer/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.25)
project(consumer C)
find_package(callrec 0.1 REQUIRED)
add_executable(with-cmake $src/tests/example_embed.c)
target_link_libraries(with-cmake PRIVATE callrec::callrec)
CMAKE
cmake -S "$root/consumer" -B "$root/consumer/build" -DCMAKE_PREFIX_PATH="$root/fs/usr" >/dev/null
cmake --build "$root/consumer/build" >/dev/null
(cd "$root" && ./consumer/build/with-cmake | grep -q '"completionReason":"initialSilenceTimeout"')
echo "package test: libcallrec0, libcallrec-dev and callrec built, unpacked and used"
