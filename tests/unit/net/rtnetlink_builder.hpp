#pragma once
// Builds rtnetlink datagrams as the kernel lays them out, for the tests and the fuzz seeds.

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace dante::test {

class RtnetlinkBuilder {
public:
    // One message: header, body, attributes (each 4-byte aligned).
    RtnetlinkBuilder& link(uint16_t type, int32_t ifindex, uint32_t flags, const std::string& name) {
        ifinfomsg body{};
        body.ifi_family = AF_UNSPEC;
        body.ifi_index = ifindex;
        body.ifi_flags = flags;
        std::vector<uint8_t> payload = bytes_of(body);
        if (!name.empty()) attribute(payload, IFLA_IFNAME, std::vector<uint8_t>(name.begin(), name.end()), true);
        return message(type, payload);
    }
    RtnetlinkBuilder& address(uint16_t type, uint32_t ifindex, uint32_t address, uint8_t prefix,
                              uint8_t family = AF_INET) {
        ifaddrmsg body{};
        body.ifa_family = family;
        body.ifa_prefixlen = prefix;
        body.ifa_index = ifindex;
        std::vector<uint8_t> payload = bytes_of(body);
        const uint32_t network_order = __builtin_bswap32(address);
        std::vector<uint8_t> value(4);
        std::memcpy(value.data(), &network_order, 4);
        attribute(payload, IFA_ADDRESS, value, false);
        attribute(payload, IFA_LOCAL, value, false);
        return message(type, payload);
    }
    RtnetlinkBuilder& raw(uint16_t type, const std::vector<uint8_t>& payload) { return message(type, payload); }

    [[nodiscard]] const std::vector<uint8_t>& bytes() const { return bytes_; }

private:
    template <typename T>
    static std::vector<uint8_t> bytes_of(const T& value) {
        std::vector<uint8_t> out(sizeof(T));
        std::memcpy(out.data(), &value, sizeof(T));
        return out;
    }
    static void pad(std::vector<uint8_t>& bytes) {
        while (bytes.size() % 4) bytes.push_back(0);
    }
    static void attribute(std::vector<uint8_t>& payload, uint16_t type, std::vector<uint8_t> value, bool nul) {
        if (nul) value.push_back(0);
        pad(payload);
        rtattr header{};
        header.rta_len = static_cast<unsigned short>(sizeof header + value.size());
        header.rta_type = type;
        const auto head = bytes_of(header);
        payload.insert(payload.end(), head.begin(), head.end());
        payload.insert(payload.end(), value.begin(), value.end());
    }
    RtnetlinkBuilder& message(uint16_t type, std::vector<uint8_t> payload) {
        pad(bytes_);
        nlmsghdr header{};
        header.nlmsg_len = static_cast<uint32_t>(sizeof header + payload.size());
        header.nlmsg_type = type;
        const auto head = bytes_of(header);
        bytes_.insert(bytes_.end(), head.begin(), head.end());
        bytes_.insert(bytes_.end(), payload.begin(), payload.end());
        return *this;
    }

    std::vector<uint8_t> bytes_;
};

}  // namespace dante::test
