#include "device/rx_bridge.hpp"

namespace dante {

uint32_t arc_rx_status(RxChannelState state, bool multicast) {
    switch (state) {
        case RxChannelState::none: return control::kRxStatusNone;
        case RxChannelState::unresolved: return control::kRxStatusUnresolved;
        case RxChannelState::resolving:
        case RxChannelState::requesting:
        case RxChannelState::no_flow: return control::kRxStatusInProgress;
        case RxChannelState::receiving:
            return multicast ? control::kRxStatusReceivingMulticast : control::kRxStatusReceivingUnicast;
        case RxChannelState::wrong_format: return control::kRxStatusChannelFormat;
    }
    return control::kRxStatusUnresolved;
}

void wire_rx(ControlServiceOptions& options, RxService& rx) {
    options.rx_subscriptions = [&rx](std::vector<RxSubscriptionConfig> subscriptions) {
        rx.set_subscriptions(std::move(subscriptions));
    };
    options.rx_status = [&rx](uint16_t rx_channel) {
        const RxChannelStatus status = rx.channel_status(rx_channel);
        // Subscribed but not yet taken up by the service (between a controller's change and
        // the service's next look): it is about to be resolved.
        return status.state == RxChannelState::none ? control::kRxStatusUnresolved
                                                    : arc_rx_status(status.state, status.multicast);
    };
}

}  // namespace dante
