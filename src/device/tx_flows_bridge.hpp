#pragma once
// Wires the flows side into the control plane's ARC hooks: 0x2200 lists FlowsService's live
// flows, 0x2201/0x2202 create and delete multicast flows in it. In a device both services
// share the dante-io loop; the hooks run on the control service's loop thread and take only
// FlowsService's control mutex (never anything the real-time transmitter waits on).

#include <vector>

#include "control/control_service.hpp"
#include "flows/flows_service.hpp"

namespace dante {

// What ARC 0x2200 lists for one flow (flow number = slot index + 1).
control::TxFlowSummary summarize_flow(const FlowSpec& spec, uint32_t rate);

// The ARC status for the outcome of a multicast create.
uint16_t arc_status_of(const MulticastCreate& result);

// Sets options.tx_flows, create_multicast_flow and delete_tx_flow to act on `flows`, which
// must outlive the control service using them.
void wire_tx_flows(ControlServiceOptions& options, FlowsService& flows, uint32_t rate);

}  // namespace dante
