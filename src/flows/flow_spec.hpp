#pragma once
// What the control side knows about one active flow, and all the transmitter needs.

#include <cstdint>

#include "flows/flow_control_codec.hpp"
#include "net/ipv4.hpp"

namespace dante {

struct FlowSpec {
    flowctl::FlowHandle handle;
    Ipv4Endpoint destination;
    uint32_t fpp = 0;
    uint32_t bytes_per_sample = 0;  // 2, 3 or 4
    flowctl::SlotList slots;        // 1-based TX channel per slot, 0 = empty
    // Bumped whenever the control side changes this flow (new channels, new fpp, a request
    // that re-asks for it): the transmitter notices and refreshes its keepalive clock.
    uint32_t version = 0;
    // A multicast flow (ARC 0x2201): destination is our derived group, no receiver sends
    // keepalives, and it lives until deleted over ARC or the device stops.
    bool multicast = false;
};

}  // namespace dante
