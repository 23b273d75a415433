// The receiving side as the control plane sees it (src/device/rx_bridge.hpp): ARC 0x3000
// codes for each receiving state, and the hooks wired to an RxService.
#include <doctest/doctest.h>

#include "device/rx_bridge.hpp"
#include "io/io_thread.hpp"
#include "locked_test_clock.hpp"

using namespace dante;

namespace {

class NeverResolver final : public TxResolver {
public:
    void resolve(const std::string&, const std::vector<std::string>&, Done) override { ++asked; }
    int asked = 0;
};

}  // namespace

TEST_CASE("rx bridge: each receiving state has the ARC status a controller knows") {
    CHECK(arc_rx_status(RxChannelState::none) == control::kRxStatusNone);
    CHECK(arc_rx_status(RxChannelState::unresolved) == control::kRxStatusUnresolved);
    CHECK(arc_rx_status(RxChannelState::resolving) == control::kRxStatusInProgress);
    CHECK(arc_rx_status(RxChannelState::requesting) == control::kRxStatusInProgress);
    CHECK(arc_rx_status(RxChannelState::no_flow) == control::kRxStatusInProgress);
    CHECK(arc_rx_status(RxChannelState::receiving) == control::kRxStatusReceivingUnicast);
    CHECK(arc_rx_status(RxChannelState::receiving, true) == control::kRxStatusReceivingMulticast);
    CHECK(arc_rx_status(RxChannelState::requesting, true) == control::kRxStatusInProgress);
    CHECK(arc_rx_status(RxChannelState::wrong_format) == control::kRxStatusChannelFormat);
}

TEST_CASE("rx bridge: subscriptions from the control plane reach the service, its states come back") {
    io::IoThread io("rx-bridge-test");
    test::LockedTestClock clock;
    NeverResolver resolver;
    RxServiceOptions options;
    options.rx_channels = 4;
    InterfaceInfo lo;
    lo.name = "lo";
    lo.subnet.address = 0x7f000001;
    RxService rx(lo, clock, resolver, io.loop(), options);
    ControlServiceOptions control;
    wire_rx(control, rx);
    REQUIRE(control.rx_subscriptions);
    REQUIRE(control.rx_status);
    std::string error;
    REQUIRE_MESSAGE(rx.start(error), error);

    // Handed over as the control plane does (on the loop thread): the device is asked for.
    io.loop().invoke_sync([&] { control.rx_subscriptions({{2, "01", "stage-box"}}); });
    CHECK(resolver.asked == 1);
    CHECK(control.rx_status(2) == control::kRxStatusInProgress);  // resolving
    CHECK(rx.channel_status(2).tx_device == "stage-box");
    // A channel not (yet) taken up by the service reads as unresolved, never as "none".
    CHECK(control.rx_status(3) == control::kRxStatusUnresolved);
    rx.stop();
}
