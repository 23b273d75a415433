#include "clock/clock_snapshot.hpp"

namespace dante {

std::string_view to_string(ClockState state) {
    switch (state) {
        case ClockState::unsynchronized: return "unsynchronized";
        case ClockState::free_running: return "free-running";
        case ClockState::locked: return "locked";
        case ClockState::holdover: return "holdover";
        case ClockState::master: return "master";
    }
    return "unsynchronized";
}

}  // namespace dante
