#include <doctest/doctest.h>

#include "net/rtnetlink_events.hpp"
#include "rtnetlink_builder.hpp"

using dante::AddressEvent;
using dante::LinkEvent;
using dante::parse_rtnetlink;
using dante::test::RtnetlinkBuilder;

namespace {
constexpr uint32_t kAddress = 0x0a4d0102;  // 10.77.1.2
}

TEST_CASE("rtnetlink: a link notification gives index, name, up and carrier") {
    RtnetlinkBuilder b;
    b.link(RTM_NEWLINK, 7, IFF_UP | IFF_RUNNING, "dante0").link(RTM_NEWLINK, 8, IFF_UP, "eth1")
        .link(RTM_DELLINK, 9, 0, "usb0");
    const auto parsed = parse_rtnetlink(b.bytes());
    CHECK(parsed.malformed == 0);
    REQUIRE(parsed.events.size() == 3);
    const auto& a = std::get<LinkEvent>(parsed.events[0]);
    CHECK(a.ifindex == 7);
    CHECK(a.name == "dante0");
    CHECK(a.up);
    CHECK(a.carrier);
    CHECK_FALSE(a.removed);
    const auto& no_carrier = std::get<LinkEvent>(parsed.events[1]);
    CHECK(no_carrier.up);
    CHECK_FALSE(no_carrier.carrier);
    CHECK(std::get<LinkEvent>(parsed.events[2]).removed);
}

TEST_CASE("rtnetlink: IPv4 address notifications; IPv6 ones are skipped, not malformed") {
    RtnetlinkBuilder b;
    b.address(RTM_NEWADDR, 7, kAddress, 24).address(RTM_NEWADDR, 7, 1, 64, AF_INET6)
        .address(RTM_DELADDR, 7, kAddress, 24);
    const auto parsed = parse_rtnetlink(b.bytes());
    CHECK(parsed.malformed == 0);
    REQUIRE(parsed.events.size() == 2);
    const auto& added = std::get<AddressEvent>(parsed.events[0]);
    CHECK(added.ifindex == 7);
    CHECK(added.address == kAddress);
    CHECK(added.prefix_length == 24);
    CHECK_FALSE(added.removed);
    CHECK(std::get<AddressEvent>(parsed.events[1]).removed);
}

TEST_CASE("rtnetlink: other messages are ignored; an overrun asks for a resync") {
    RtnetlinkBuilder b;
    b.raw(RTM_NEWROUTE, std::vector<uint8_t>(12)).raw(NLMSG_DONE, std::vector<uint8_t>(4)).raw(NLMSG_OVERRUN, {});
    const auto parsed = parse_rtnetlink(b.bytes());
    CHECK(parsed.malformed == 0);
    REQUIRE(parsed.events.size() == 1);
    CHECK(std::holds_alternative<dante::Resync>(parsed.events[0]));
}

TEST_CASE("rtnetlink: truncated, oversized and hostile messages are counted, never trusted") {
    RtnetlinkBuilder good;
    good.link(RTM_NEWLINK, 7, IFF_UP, "dante0");
    const std::vector<uint8_t> whole = good.bytes();

    SUBCASE("every truncation") {
        for (size_t n = 0; n < whole.size(); ++n) {
            const auto parsed = parse_rtnetlink(std::span<const uint8_t>(whole.data(), n));
            CHECK(parsed.events.empty());
        }
    }
    SUBCASE("a length beyond the datagram") {
        std::vector<uint8_t> bytes = whole;
        const uint32_t huge = 0xfffffff0u;
        std::memcpy(bytes.data(), &huge, 4);
        const auto parsed = parse_rtnetlink(bytes);
        CHECK(parsed.events.empty());
        CHECK(parsed.malformed == 1);
    }
    SUBCASE("a length below the header") {
        std::vector<uint8_t> bytes = whole;
        const uint32_t tiny = 3;
        std::memcpy(bytes.data(), &tiny, 4);
        CHECK(parse_rtnetlink(bytes).malformed == 1);
    }
    SUBCASE("a name without its NUL, an empty name, a name too long") {
        for (const std::string& name : {std::string(16, 'x'), std::string(40, 'y')}) {
            RtnetlinkBuilder b;
            b.link(RTM_NEWLINK, 7, IFF_UP, name);
            const auto parsed = parse_rtnetlink(b.bytes());
            CHECK(parsed.events.empty());
            CHECK(parsed.malformed == 1);
        }
        std::vector<uint8_t> bytes = whole;
        bytes[bytes.size() - 1] = 'z';  // the NUL and padding overwritten: no terminator
        bytes[bytes.size() - 2] = 'z';
        CHECK(parse_rtnetlink(bytes).events.empty());
    }
    SUBCASE("an attribute longer than its message") {
        std::vector<uint8_t> bytes = whole;
        const uint16_t long_attribute = 200;
        std::memcpy(bytes.data() + 16 + 16, &long_attribute, 2);
        const auto parsed = parse_rtnetlink(bytes);
        CHECK(parsed.events.empty());
        CHECK(parsed.malformed == 1);
    }
    SUBCASE("index 0 and a prefix over 32") {
        RtnetlinkBuilder b;
        b.link(RTM_NEWLINK, 0, IFF_UP, "dante0").address(RTM_NEWADDR, 7, kAddress, 33).address(RTM_NEWADDR, 0, kAddress, 24);
        const auto parsed = parse_rtnetlink(b.bytes());
        CHECK(parsed.events.empty());
        CHECK(parsed.malformed == 3);
    }
    SUBCASE("at most kMaxEventsPerDatagram events from one datagram") {
        RtnetlinkBuilder b;
        for (size_t i = 0; i < dante::kMaxEventsPerDatagram + 10; ++i) b.address(RTM_NEWADDR, 7, kAddress, 24);
        const auto parsed = parse_rtnetlink(b.bytes());
        CHECK(parsed.events.size() == dante::kMaxEventsPerDatagram);
        CHECK(parsed.malformed == 1);
    }
    SUBCASE("an unaligned datagram") {
        std::vector<uint8_t> shifted(whole.size() + 1);
        std::memcpy(shifted.data() + 1, whole.data(), whole.size());
        const auto parsed = parse_rtnetlink(std::span<const uint8_t>(shifted.data() + 1, whole.size()));
        CHECK(parsed.events.size() == 1);
    }
}
