#pragma once
// The flow request most flows tests start from: receiver "rx", flow "1_1", 48 kHz, 24-bit,
// 32 frames a packet, slots 1 and 2 (a stereo pair), sent to `destination`. The codec test
// checks its exact bytes; the server tests vary it.

#include <cstdint>

#include "flows/flow_control_codec.hpp"

namespace dante::test {

inline flowctl::FlowRequest stereo_flow_request(Ipv4Endpoint destination) {
    flowctl::FlowRequest r;
    r.rx_device_name = "rx";
    r.rx_flow_name = "1_1";
    r.rate = 48000;
    r.bits_per_sample = 24;
    r.fpp = 32;
    const uint16_t ids[] = {1, 2};
    r.slots.assign(ids);
    r.destination = destination;
    return r;
}

}  // namespace dante::test
