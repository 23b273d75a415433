#pragma once
// A transmitter for tests that receive from it on lo: the configuration and options of a
// real FlowsService that accepts loopback receivers, binds an ephemeral flow-control port
// and runs its thread without real-time priority.

#include <cstdint>
#include <string>

#include "config/device_config.hpp"
#include "flows/flows_service.hpp"

namespace dante::test {

inline DeviceConfig loopback_tx_config(std::string name, uint32_t rate, uint32_t channels = 2) {
    DeviceConfig config;
    config.device_name = std::move(name);
    config.interface = std::string("lo");
    config.channels = channels;
    config.rate = rate;
    config.max_flows = 4;
    return config;
}

inline FlowsServiceOptions loopback_tx_options(uint64_t cookie_seed) {
    FlowsServiceOptions options;
    options.allow_loopback = true;  // the receiver is on lo, outside any real subnet
    options.control_port = 0;       // ephemeral: tests run side by side
    options.rt_priority = 0;
    options.cookie_seed = cookie_seed;  // handles the test can predict
    return options;
}

}  // namespace dante::test
