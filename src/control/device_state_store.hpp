#pragma once
// Persistent control-plane state: what users change over the network (device name, TX
// channel labels) survives restarts. A JSON file (dante.state-file):
//   { "version": 1, "device_name": "studio-pc", "tx_channel_names": ["Left", "02", ...],
//     "latency_ns": 2000000 }
// latency_ns (optional, 0 or absent = the configured dante.latency-ns) is the latency a
// controller set over ARC 0x1101; it is saved only while it differs from the configured one.
// tx_channel_names[i] is the label of channel i+1; "" or absent means the factory name.
// Saving writes a temporary file beside the target, fsyncs it and renames it over the
// target, so a crash leaves the old file or the new one, never half of one.
// Loading never throws: a malformed file is rejected as a whole with a message saying what
// is wrong, and the caller keeps its defaults.

#include <cstdint>
#include <string>
#include <vector>

#include "control/device_state.hpp"

namespace dante::control {

struct PersistentState {
    std::string device_name;                    // "" = not set: keep the configured name
    std::vector<std::string> tx_channel_names;  // "" = factory name
    int64_t latency_ns = 0;                     // 0 = not set: keep the configured latency
};

struct StateLoadResult {
    PersistentState state;  // the defaults when !loaded
    bool loaded = false;
    std::string error;  // empty when loaded, or when the file simply does not exist yet
};

StateLoadResult load_persistent_state(const std::string& path, const PersistentState& defaults = {});

// "" on success, else what failed (with the OS reason).
std::string save_persistent_state(const std::string& path, const PersistentState& state);

// The state to save for a device, and the reverse: apply a loaded state to a device (names
// for channels it does not have are ignored; labels that clash are skipped).
PersistentState persistent_state_of(const DeviceState& device);
void apply_persistent_state(DeviceState& device, const PersistentState& state);

}  // namespace dante::control
