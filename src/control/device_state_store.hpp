#pragma once
// Persistent control-plane state: what users change over the network (device name, TX
// channel labels) survives restarts. A JSON file (dante.state-file):
//   { "version": 1, "device_name": "studio-pc", "tx_channel_names": ["Left", "02", ...],
//     "latency_ns": 2000000, "rx_channel_names": ["", "Vocal"],
//     "rx_subscriptions": [ { "rx": 1, "tx_channel": "01", "tx_device": "stage-box" } ] }
// rx_channel_names, rx_subscriptions and rx_unsubscribed (optional) are what controllers set
// over ARC 0x3001, 0x3010 and 0x3014: a label per RX channel ("" = factory, i.e. the
// dante.rx.names label), the channels subscribed otherwise than dante.rx.subscriptions says
// (1-based rx, at most one entry per channel, at most kMaxPersistedRxChannels), and the
// channels whose configured subscription a controller removed (1-based numbers). A channel
// in neither list follows dante.rx.subscriptions.
// latency_ns (optional, 0 or absent = the configured dante.latency-ns) is the latency a
// controller set over ARC 0x1101; it is saved only while it differs from the configured one.
// tx_channel_names[i] is the label of channel i+1; "" or absent means the factory name.
// Saving never loses a good file: the new content goes to a temporary beside the target
// (<path>.tmp), is fsynced, and renamed over the target, then the directory is fsynced, so a
// crash leaves the old file or the new one, never half of one; a failed write (full disk,
// I/O error, unwritable directory) leaves the old file as it was and says why. Before the
// rename the file being replaced is kept as <path>.bak (a hard link, so no data is written
// twice) when it is a good state file, or as <path>.rejected when it is not (a bad file is
// never silently thrown away).
// Loading never throws and never writes: a malformed file (truncated, not JSON, the wrong
// shape, hostile values, not a regular file) is rejected as a whole with a message saying
// what is wrong; then the last good copy (<path>.bak) is loaded instead if it is good, else
// the caller keeps its defaults, and the message says which.

#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "control/device_state.hpp"

namespace dante::control {

inline constexpr size_t kMaxPersistedRxChannels = 64;

struct PersistedSubscription {
    uint16_t rx_channel = 0;  // 1-based
    RxSubscription subscription;
    bool operator==(const PersistedSubscription&) const = default;
};

struct PersistentState {
    std::string device_name;                    // "" = not set: keep the configured name
    std::vector<std::string> tx_channel_names;  // "" = factory name
    int64_t latency_ns = 0;                     // 0 = not set: keep the configured latency
    std::vector<std::string> rx_channel_names{};  // "" = factory name
    std::vector<PersistedSubscription> rx_subscriptions{};
    std::vector<uint16_t> rx_unsubscribed{};  // 1-based: configured subscriptions a controller removed
};

struct StateLoadResult {
    PersistentState state;  // the defaults when !loaded
    bool loaded = false;
    bool from_backup = false;  // loaded from <path>.bak: <path> itself was bad
    // Empty when <path> loaded, or simply does not exist yet (first run). Otherwise what was
    // wrong with it and what was used instead (the last good copy, or the defaults).
    std::string error;
};

StateLoadResult load_persistent_state(const std::string& path, const PersistentState& defaults = {});

// The system calls a save makes, so tests can make them fail as a full disk or a broken
// one would (ENOSPC from write, EIO from fsync, ...). The defaults are the real ones.
struct StateFileOps {
    ssize_t (*write)(int fd, const void* data, size_t size) = ::write;
    int (*fsync)(int fd) = ::fsync;
    int (*rename)(const char* from, const char* to) = ::rename;
};

// "" on success, else what failed (with the OS reason); the old file is then untouched.
std::string save_persistent_state(const std::string& path, const PersistentState& state,
                                  const StateFileOps& ops = {});

// Where the last good copy and a rejected file are kept.
std::string backup_path_of(const std::string& path);
std::string rejected_path_of(const std::string& path);

// The state to save for a device, and the reverse: apply a loaded state to a device (names
// for channels it does not have are ignored; labels that clash are skipped).
PersistentState persistent_state_of(const DeviceState& device);
void apply_persistent_state(DeviceState& device, const PersistentState& state);

}  // namespace dante::control
