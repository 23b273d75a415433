#pragma once
// What a PTP port asks its shell to do, and the port's vocabulary of states and timers.
//
// The port is sans-I/O: every input (a datagram with its receive timestamp, a timer
// expiry, a transmit timestamp, the clock's lock state) returns an ActionList, and the
// shell carries the actions out: send these bytes on the event or general socket (and
// report the transmit timestamp under this tag), arm or cancel that timer, hand this
// measurement to the media clock. Fixed capacity: no allocation per packet.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <variant>

#include "ptp/ptp_types.hpp"

namespace dante::ptp {

enum class PortState : uint8_t { initializing, faulty, listening, passive, uncalibrated, slave, master };
std::string_view to_string(PortState state);

enum class PortTimer : uint8_t {
    announce_receipt,  // the parent (or anyone, while listening) went quiet
    sync,              // master: time to send Sync (+ Follow_Up)
    announce,          // master, v2: time to send Announce
    delay_req,         // slave: time to send Delay_Req
    fault_clear,       // faulty: try again
};
inline constexpr size_t kPortTimerCount = 5;
std::string_view to_string(PortTimer timer);

inline constexpr size_t kMaxPtpMessageSize = 128;

struct SendMessage {
    Channel channel = Channel::general;
    uint8_t size = 0;
    std::array<uint8_t, kMaxPtpMessageSize> bytes{};
    // When set, the shell reports the transmit timestamp through on_tx_timestamp(tag, ...).
    std::optional<uint32_t> timestamp_tag;
    [[nodiscard]] std::span<const uint8_t> data() const { return {bytes.data(), size}; }
};

struct ArmTimer {
    PortTimer timer = PortTimer::announce_receipt;
    std::optional<int64_t> deadline_mono_ns;  // nothing: cancel
};

// One offset measurement for the media clock: our timescale minus the leader's at
// sample_mono_ns, path delay already taken out.
struct ClockSample {
    int64_t offset_ns = 0;
    int64_t mean_path_delay_ns = 0;
    int64_t sample_mono_ns = 0;
};

struct StateChanged {
    PortState from = PortState::initializing;
    PortState to = PortState::initializing;
};

// We now follow this port (its grandmaster is `grandmaster`): measurements start over.
struct MasterSelected {
    PortIdentity parent{};
    ClockIdentity grandmaster{};
};

using Action = std::variant<SendMessage, ArmTimer, ClockSample, StateChanged, MasterSelected>;

class ActionList {
public:
    static constexpr size_t kCapacity = 16;  // more than any single input produces

    void push(const Action& action) {
        if (size_ < kCapacity) {
            actions_[size_++] = action;
        } else {
            overflowed_ = true;
        }
    }
    void append(const ActionList& other) {
        for (const Action& a : other) push(a);
    }
    [[nodiscard]] size_t size() const { return size_; }
    [[nodiscard]] bool empty() const { return size_ == 0; }
    [[nodiscard]] bool overflowed() const { return overflowed_; }
    [[nodiscard]] const Action* begin() const { return actions_.data(); }
    [[nodiscard]] const Action* end() const { return actions_.data() + size_; }
    [[nodiscard]] const Action& operator[](size_t i) const { return actions_[i]; }

private:
    std::array<Action, kCapacity> actions_{};
    size_t size_ = 0;
    bool overflowed_ = false;
};

}  // namespace dante::ptp
