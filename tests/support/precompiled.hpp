#pragma once
// The test programs' precompiled header (tests/CMakeLists.txt): the library set plus GoogleTest and the
// independent JSON library the tests read outputs back with.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "engine/precompiled.hpp"
