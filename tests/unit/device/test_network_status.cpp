#include <doctest/doctest.h>

#include <map>

#include "device/network_status.hpp"
#include "net/ipv4.hpp"

using namespace dante;

namespace {

InterfaceState with_address(uint32_t address) {
    InterfaceState state;
    state.present = state.up = state.carrier = true;
    state.ifindex = 7;
    if (address != 0) state.addresses = {address};
    state.prefix_length = 24;
    return state;
}

std::map<std::string, std::string> props(const NetworkStatus& status) {
    std::map<std::string, std::string> out;
    for (const auto& [key, value] : status.properties()) out[key] = value;
    return out;
}

}  // namespace

TEST_CASE("network status: a new address is a move to make, then in use") {
    const uint32_t old_address = ipv4(10, 77, 1, 2), new_address = ipv4(10, 76, 1, 1);
    NetworkStatus status("dante0");
    status.start(with_address(old_address));
    CHECK_FALSE(status.pending_move());
    CHECK(props(status)["dante.net.problem"] == "");
    CHECK(props(status)["dante.net.in-use"] == "10.77.1.2/24");

    // A second address beside the first changes nothing: the first is the one in use.
    InterfaceState both = with_address(old_address);
    both.addresses.push_back(new_address);
    status.changed(both);
    CHECK_FALSE(status.pending_move());

    status.changed(with_address(new_address));
    const auto move = status.pending_move();
    REQUIRE(move);
    CHECK(move->address() == new_address);
    CHECK(props(status)["dante.net.problem"].find("moving the device to 10.76.1.1") != std::string::npos);

    // A failed attempt is the problem, and the move stays pending (retried).
    CHECK(status.moved(*move, "ARC: cannot bind: Address in use"));
    CHECK_FALSE(status.moved(*move, "ARC: cannot bind: Address in use"));  // the retry: not news
    CHECK(status.pending_move());
    CHECK(props(status)["dante.net.problem"] == "cannot move the device to 10.76.1.1: ARC: cannot bind: Address in use");
    CHECK(props(status)["dante.net.in-use"] == "");  // stopped for the move
    CHECK(props(status)["dante.net.moves"] == "0");

    CHECK(status.moved(*move, ""));
    CHECK_FALSE(status.pending_move());
    const auto after = props(status);
    CHECK(after.at("dante.net.problem") == "");
    CHECK(after.at("dante.net.in-use") == "10.76.1.1/24");
    CHECK(after.at("dante.net.address") == "10.76.1.1/24");
    CHECK(after.at("dante.net.moves") == "1");
    CHECK(after.at("dante.net.changes") == "2");
}

TEST_CASE("network status: no address stops the services until one comes") {
    const uint32_t address = ipv4(10, 77, 1, 2);
    NetworkStatus status("dante0");
    status.start(with_address(address));

    InterfaceState gone;  // the interface deleted
    status.changed(gone);
    const auto stop = status.pending_move();
    REQUIRE(stop);
    CHECK(stop->address() == 0);
    status.moved(*stop, "");
    CHECK_FALSE(status.pending_move());
    auto p = props(status);
    CHECK(p["dante.net.link"] == "absent");
    CHECK(p["dante.net.in-use"] == "");
    CHECK(p["dante.net.problem"] == "no IPv4 address on dante0 (absent): the control plane and flows wait for one");

    status.changed(with_address(address));  // back, same address: the services start again
    const auto back = status.pending_move();
    REQUIRE(back);
    CHECK(back->address() == address);
}

TEST_CASE("network status: loaded before the interface has an address") {
    NetworkStatus status("dante0");
    InterfaceState down = with_address(0);
    down.carrier = false;
    status.start(down);
    CHECK_FALSE(status.pending_move());  // nothing started, nothing to stop
    CHECK(props(status)["dante.net.problem"] ==
          "no IPv4 address on dante0 (no-carrier): the control plane and flows wait for one");
    status.changed(with_address(ipv4(169, 254, 3, 4)));
    REQUIRE(status.pending_move());
    CHECK(status.pending_move()->address() == ipv4(169, 254, 3, 4));
}
