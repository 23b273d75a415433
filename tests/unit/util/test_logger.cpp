#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "util/logger.hpp"

using namespace dante;

TEST_CASE("a Logger with a sink hands it the level, topic and message unchanged") {
    struct Line {
        LogLevel level;
        std::string topic, message;
    };
    std::vector<Line> lines;
    const Logger log([&](LogLevel level, std::string_view topic, std::string_view message) {
        lines.push_back({level, std::string(topic), std::string(message)});
    });
    log.warn("control", "cannot save the state: disk full");
    log.error("mdns", "x");
    log.info("flows", "");
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].level == LogLevel::warn);
    CHECK(lines[0].topic == "control");
    CHECK(lines[0].message == "cannot save the state: disk full");
    CHECK(lines[1].level == LogLevel::error);
    CHECK(lines[2].level == LogLevel::info);
    CHECK(lines[2].message.empty());
}

TEST_CASE("a Logger without a sink writes one prefixed line to stderr") {
    // Capture fd 2 in a temporary file for the call.
    std::FILE* capture = std::tmpfile();
    REQUIRE(capture != nullptr);
    std::fflush(stderr);
    const int saved = ::dup(2);
    REQUIRE(::dup2(::fileno(capture), 2) == 2);
    Logger().warn("control", "cannot save the state: disk full");
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    std::rewind(capture);
    char text[256] = {};
    const size_t n = std::fread(text, 1, sizeof text - 1, capture);
    std::fclose(capture);
    CHECK(std::string(text, n) == "dante control: warning: cannot save the state: disk full\n");
}
