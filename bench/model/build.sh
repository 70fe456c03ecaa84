#!/bin/sh
# Builds bench/model/model_tool against the project's libraries.
#   bench/model/build.sh [BUILD_DIR]      (default: build-bench in the source tree)
# The tool is written to BUILD_DIR/model_tool.
set -eu
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=${1:-$source_dir/build-bench}

cmake -S "$source_dir" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DRELAYGATE_TESTS=OFF >/dev/null
cmake --build "$build_dir" -j2 --target rg_model rg_mime rg_mailbox rg_message
g++ -std=c++20 -O2 -Wall -Wextra -Werror -I"$source_dir/include" \
    "$source_dir/bench/model/model_tool.cpp" \
    "$build_dir/librg_model.a" "$build_dir/librg_mime.a" "$build_dir/librg_mailbox.a" \
    "$build_dir/librg_message.a" -lmimetic -lpthread -o "$build_dir/model_tool"
echo "$build_dir/model_tool"
