#pragma once
// The one way code in src/ reports what happens outside its counters: a Logger that the
// host routes (the SPA plugin to spa_log, with the node's log topic); without a host, lines
// go to stderr with a "dante <topic>:" prefix, as the tools want.
//
// Not for real-time threads (the graph cycle, the transmitter): it formats strings and the
// sink may block. Those count into atomics that a service publishes instead.

#include <functional>
#include <string_view>

namespace dante {

enum class LogLevel { error, warn, info };

class Logger {
public:
    using Sink = std::function<void(LogLevel, std::string_view topic, std::string_view message)>;

    Logger() = default;
    explicit Logger(Sink sink) : sink_(std::move(sink)) {}

    void error(std::string_view topic, std::string_view message) const { write(LogLevel::error, topic, message); }
    void warn(std::string_view topic, std::string_view message) const { write(LogLevel::warn, topic, message); }
    void info(std::string_view topic, std::string_view message) const { write(LogLevel::info, topic, message); }

    void write(LogLevel level, std::string_view topic, std::string_view message) const;

private:
    Sink sink_;  // empty: stderr
};

}  // namespace dante
