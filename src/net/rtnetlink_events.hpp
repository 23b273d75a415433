#pragma once
// What the kernel says about links and IPv4 addresses (rtnetlink), as plain events.
//
// Sans-I/O: parse_rtnetlink() reads one datagram from a NETLINK_ROUTE socket subscribed to
// RTMGRP_LINK | RTMGRP_IPV4_IFADDR (net/link_watcher.hpp owns that socket). The datagram
// comes from the kernel, but it is parsed as untrusted bytes all the same: every length is
// checked against what is there, nothing is read unaligned, and a malformed message is
// counted and skipped, never trusted (fuzz-rtnetlink).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace dante {

// RTM_NEWLINK / RTM_DELLINK.
struct LinkEvent {
    uint32_t ifindex = 0;
    std::string name;      // IFLA_IFNAME; empty when the message has none
    bool up = false;       // IFF_UP: administratively up
    bool carrier = false;  // IFF_RUNNING: up and the link has carrier (RFC 2863 "up")
    bool removed = false;  // RTM_DELLINK: the interface is gone
};

// RTM_NEWADDR / RTM_DELADDR for IPv4 (other families are not reported).
struct AddressEvent {
    uint32_t ifindex = 0;
    uint32_t address = 0;  // host order: IFA_LOCAL (or IFA_ADDRESS when there is no IFA_LOCAL)
    uint8_t prefix_length = 0;
    bool removed = false;  // RTM_DELADDR
};

// The kernel dropped notifications (ENOBUFS on the socket, or NLMSG_OVERRUN): whatever we
// tracked may be stale and must be read afresh.
struct Resync {};

using NetEvent = std::variant<LinkEvent, AddressEvent, Resync>;

struct NetEvents {
    std::vector<NetEvent> events;
    size_t malformed = 0;  // messages skipped as malformed (or beyond kMaxEventsPerDatagram)
};

// One datagram carries a handful of messages (a dump reply can carry more): a bound on
// what one read may cost.
inline constexpr size_t kMaxEventsPerDatagram = 256;

NetEvents parse_rtnetlink(std::span<const uint8_t> datagram);

}  // namespace dante
