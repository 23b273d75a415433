#pragma once
// PTP's two UDP ports (319 event, 320 general) on one named interface, joined to
// 224.0.1.129 there only, with kernel software timestamps for the event port.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "net/interface.hpp"
#include "net/udp_socket.hpp"

namespace dante::ptp_test {

inline constexpr uint32_t kPtpPrimaryGroup = 0xE0000181;  // 224.0.1.129
inline constexpr uint16_t kEventPort = 319;
inline constexpr uint16_t kGeneralPort = 320;

struct PtpInterface {
    InterfaceInfo info;
    int index = 0;
    std::array<uint8_t, 6> mac{};
};

std::optional<PtpInterface> lookup_ptp_interface(const std::string& name, std::string& error);

// Bound to INADDR_ANY:port (multicast is delivered to the group's port, not to our
// address) but pinned to the device, sending and joining only there. With `timestamps`
// the socket carries software RX timestamps and reports software TX timestamps.
std::optional<UdpSocket> open_ptp_socket(const PtpInterface& iface, uint16_t port, bool timestamps, std::string& error);

// One datagram and its kernel RX timestamp (CLOCK_REALTIME ns; 0 when none came).
ssize_t receive_timestamped(const UdpSocket& socket, std::span<uint8_t> buffer, int64_t& rx_realtime_ns);

// Drops whatever is left on the error queue (stale TX timestamps).
void drain_error_queue(const UdpSocket& socket);

// The software TX timestamp of the datagram just sent (CLOCK_REALTIME ns), waiting up to
// timeout_ms for the kernel to report it.
std::optional<int64_t> wait_tx_timestamp(const UdpSocket& socket, int timeout_ms);

}  // namespace dante::ptp_test
