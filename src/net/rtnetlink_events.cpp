#include "net/rtnetlink_events.hpp"

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>
#include <optional>

namespace dante {
namespace {

// Netlink is in host byte order; each field is copied out (the buffer may be unaligned).
template <typename T>
std::optional<T> read_at(std::span<const uint8_t> bytes, size_t offset) {
    if (offset > bytes.size() || bytes.size() - offset < sizeof(T)) return std::nullopt;
    T value;
    std::memcpy(&value, bytes.data() + offset, sizeof(T));
    return value;
}

constexpr size_t align4(size_t n) { return (n + 3u) & ~size_t{3}; }

constexpr size_t kHeaderSize = sizeof(nlmsghdr);       // 16
constexpr size_t kLinkBodySize = sizeof(ifinfomsg);    // 16
constexpr size_t kAddressBodySize = sizeof(ifaddrmsg); // 8
constexpr size_t kAttributeHeaderSize = sizeof(rtattr);  // 4
constexpr size_t kMaxNameLength = IFNAMSIZ - 1;

// Calls `visit(type, payload)` for each attribute in `attributes`; false if one is malformed.
template <typename Visit>
bool for_each_attribute(std::span<const uint8_t> attributes, Visit visit) {
    size_t at = 0;
    while (attributes.size() - at >= kAttributeHeaderSize) {
        const rtattr header = *read_at<rtattr>(attributes, at);
        if (header.rta_len < kAttributeHeaderSize || header.rta_len > attributes.size() - at) return false;
        visit(static_cast<uint16_t>(header.rta_type & NLA_TYPE_MASK),
              attributes.subspan(at + kAttributeHeaderSize, header.rta_len - kAttributeHeaderSize));
        at += align4(header.rta_len);
        if (at > attributes.size()) break;  // the last attribute's padding may be absent
    }
    return true;
}

std::optional<LinkEvent> parse_link(uint16_t type, std::span<const uint8_t> payload) {
    const auto body = read_at<ifinfomsg>(payload, 0);
    if (!body || body->ifi_index <= 0) return std::nullopt;
    LinkEvent event;
    event.ifindex = static_cast<uint32_t>(body->ifi_index);
    event.up = (body->ifi_flags & IFF_UP) != 0;
    event.carrier = event.up && (body->ifi_flags & IFF_RUNNING) != 0;
    event.removed = type == RTM_DELLINK;
    bool name_ok = true;
    const bool attributes_ok =
        for_each_attribute(payload.subspan(align4(kLinkBodySize)), [&](uint16_t attribute, std::span<const uint8_t> data) {
            if (attribute != IFLA_IFNAME) return;
            // A NUL-terminated name of at most IFNAMSIZ - 1 characters.
            const auto* begin = reinterpret_cast<const char*>(data.data());
            const size_t length = strnlen(begin, data.size());
            if (length == data.size() || length == 0 || length > kMaxNameLength) {
                name_ok = false;
                return;
            }
            event.name.assign(begin, length);
        });
    if (!attributes_ok || !name_ok) return std::nullopt;
    return event;
}

std::optional<AddressEvent> parse_address(uint16_t type, std::span<const uint8_t> payload, bool& other_family) {
    const auto body = read_at<ifaddrmsg>(payload, 0);
    if (!body || body->ifa_index == 0) return std::nullopt;
    if (body->ifa_family != AF_INET) {
        other_family = true;
        return std::nullopt;
    }
    if (body->ifa_prefixlen > 32) return std::nullopt;
    std::optional<uint32_t> local, address;
    const bool attributes_ok = for_each_attribute(
        payload.subspan(align4(kAddressBodySize)), [&](uint16_t attribute, std::span<const uint8_t> data) {
            if ((attribute != IFA_LOCAL && attribute != IFA_ADDRESS) || data.size() != sizeof(uint32_t)) return;
            uint32_t network_order = 0;
            std::memcpy(&network_order, data.data(), sizeof network_order);
            const uint32_t value = __builtin_bswap32(network_order);  // big-endian on the wire
            (attribute == IFA_LOCAL ? local : address) = value;
        });
    if (!attributes_ok || (!local && !address)) return std::nullopt;
    AddressEvent event;
    event.ifindex = body->ifa_index;
    // On a point-to-point link IFA_ADDRESS is the peer's; IFA_LOCAL is always ours.
    event.address = local ? *local : *address;
    event.prefix_length = body->ifa_prefixlen;
    event.removed = type == RTM_DELADDR;
    return event;
}

}  // namespace

NetEvents parse_rtnetlink(std::span<const uint8_t> datagram) {
    static_assert(kHeaderSize == 16 && kLinkBodySize == 16 && kAddressBodySize == 8);
    NetEvents out;
    size_t at = 0;
    while (datagram.size() - at >= kHeaderSize) {
        const nlmsghdr header = *read_at<nlmsghdr>(datagram, at);
        if (header.nlmsg_len < kHeaderSize || header.nlmsg_len > datagram.size() - at) {
            ++out.malformed;  // a length we cannot trust: nothing after it can be framed
            break;
        }
        const auto payload = datagram.subspan(at + kHeaderSize, header.nlmsg_len - kHeaderSize);
        at += align4(header.nlmsg_len);
        if (out.events.size() >= kMaxEventsPerDatagram) {
            ++out.malformed;
            break;
        }
        switch (header.nlmsg_type) {
            case RTM_NEWLINK:
            case RTM_DELLINK:
                if (auto link = parse_link(header.nlmsg_type, payload)) out.events.emplace_back(std::move(*link));
                else ++out.malformed;
                break;
            case RTM_NEWADDR:
            case RTM_DELADDR: {
                bool other_family = false;
                if (auto address = parse_address(header.nlmsg_type, payload, other_family)) out.events.emplace_back(*address);
                else if (!other_family) ++out.malformed;
                break;
            }
            case NLMSG_OVERRUN: out.events.emplace_back(Resync{}); break;
            default: break;  // NLMSG_DONE, NLMSG_NOOP, routes, neighbours: not ours
        }
        if (at > datagram.size()) break;
    }
    return out;
}

}  // namespace dante
