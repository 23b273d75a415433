// The README's table of module args is generated from the table in
// src/config/device_config.cpp: this test fails when the two differ, and rewrites the
// README's table when run with DANTE_UPDATE_README=1 (see CONTRIBUTING.md).
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "config/device_config.hpp"

namespace {

constexpr std::string_view kBegin =
    "<!-- module-args: generated from src/config/device_config.cpp, see CONTRIBUTING.md -->\n";
constexpr std::string_view kEnd = "<!-- module-args:end -->";

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

TEST_CASE("the README's table of module args is the one in device_config.cpp") {
    const std::string path = std::string(DANTE_SOURCE_ROOT) + "/README.md";
    std::string readme = read_file(path);
    const size_t begin = readme.find(kBegin);
    const size_t end = readme.find(kEnd);
    REQUIRE_MESSAGE(begin != std::string::npos, "README.md lacks the line " << kBegin);
    REQUIRE_MESSAGE(end != std::string::npos, "README.md lacks the line " << kEnd);
    REQUIRE(begin < end);
    const size_t first = begin + kBegin.size();
    const std::string table = readme.substr(first, end - first);
    const std::string expected = dante::module_args_markdown();
    if (table != expected && std::getenv("DANTE_UPDATE_README") != nullptr) {
        readme.replace(first, end - first, expected);
        std::ofstream(path) << readme;
        MESSAGE("README.md's table of module args rewritten");
        return;
    }
    CHECK_MESSAGE(table == expected,
                  "README.md's table of module args differs from the table in "
                  "src/config/device_config.cpp; run the test with DANTE_UPDATE_README=1 to "
                  "rewrite it. Expected:\n"
                      << expected);
}

TEST_CASE("the module usage string lists every key of the table") {
    const std::string usage = dante::module_usage();
    for (const dante::ConfigKey& k : dante::config_keys())
        CHECK_MESSAGE(usage.find(std::string(k.key) + "=" + std::string(k.value)) != std::string::npos, k.key);
}
