#include "util/logger.hpp"

#include <cstdio>

namespace dante {

void Logger::write(LogLevel level, std::string_view topic, std::string_view message) const {
    if (sink_) {
        sink_(level, topic, message);
        return;
    }
    const char* prefix = level == LogLevel::error ? "error: " : level == LogLevel::warn ? "warning: " : "";
    std::fprintf(stderr, "dante %.*s: %s%.*s\n", static_cast<int>(topic.size()), topic.data(), prefix,
                 static_cast<int>(message.size()), message.data());
}

}  // namespace dante
