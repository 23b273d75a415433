#include "device/tx_flows_bridge.hpp"

#include <cstdio>

#include "control/arc_server.hpp"
#include "net/ipv4.hpp"

namespace dante {

control::TxFlowSummary summarize_flow(const FlowSpec& spec, uint32_t rate) {
    control::TxFlowSummary summary;
    summary.flow_number = static_cast<uint16_t>(spec.handle.index + 1);
    summary.multicast = spec.multicast;
    summary.rate = rate;
    summary.encoding_bits = static_cast<uint16_t>(spec.bytes_per_sample * 8);
    summary.frames_per_packet = static_cast<uint16_t>(spec.fpp);
    summary.channels.assign(spec.slots.span().begin(), spec.slots.span().end());
    summary.address = spec.destination.address;
    summary.port = spec.destination.port;
    return summary;
}

uint16_t arc_status_of(const MulticastCreate& result) {
    if (result.ok()) return control::kStatusOk;
    if (result.error == MulticastError::too_many_flows) return control::kStatusTooManyFlows;
    return control::kStatusError;
}

void wire_tx_flows(ControlServiceOptions& options, FlowsService& flows, uint32_t rate) {
    options.tx_flows = [&flows, rate] {
        std::vector<control::TxFlowSummary> list;
        for (const FlowSpec& spec : flows.flows()) list.push_back(summarize_flow(spec, rate));
        return list;
    };
    options.create_multicast_flow = [&flows, log = options.log](const control::MulticastFlowRequest& request) {
        const MulticastCreate result = flows.create_multicast(request.flow_number, request.channels, request.fpp);
        if (result.unavailable) log.warn("flows", "cannot create a multicast flow: " + result.message);
        return arc_status_of(result);
    };
    options.delete_tx_flow = [&flows](uint16_t flow_number) {
        return flows.delete_multicast(flow_number) ? control::kStatusOk : control::kStatusError;
    };
}

}  // namespace dante
