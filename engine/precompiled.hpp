#pragma once
// The build's precompiled header for every library target (CMakeLists.txt, SIGFLOW_PCH): third-party and
// standard headers only, never the repository's own, so it adds no dependency between modules. simdjson and
// Beast's parser alone took most of the compile time of the files that include them.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>
