#pragma once
// The receiving side as the control plane sees it: subscriptions a controller makes go to
// the RxService, and ARC 0x3000 reports each channel's receiving state in Dante's codes.

#include <cstdint>

#include "control/control_service.hpp"
#include "rx/rx_service.hpp"

namespace dante {

// ARC 0x3000's subscription status for a receiving state. Dante controllers know these
// codes (netaudio's labels): 1 unresolved, 8 in progress, 0x10 incorrect channel format,
// 0x01010009 connected (unicast), 0x0101000A connected (multicast: the channel comes from
// a bundle's group). A flow that was refused or stopped is being asked for again, so it is
// "in progress", as a Dante receiver says while it retries.
uint32_t arc_rx_status(RxChannelState state, bool multicast = false);

// Fills options.rx_subscriptions and options.rx_status from `rx`, which must outlive the
// control service's running.
void wire_rx(ControlServiceOptions& options, RxService& rx);

}  // namespace dante
