#include "control/mdns_records.hpp"

#include <algorithm>
#include <cstdio>

namespace dante::control {

namespace {

// A TXT string is one length-prefixed item: at most 255 bytes (RFC 6763 §6.1). Inferno
// truncates too (add_txt_truncated).
std::string txt(std::string key_value) {
    if (key_value.size() > 255) key_value.resize(255);
    return key_value;
}

std::string kv(std::string_view key, std::string_view value) { return txt(std::string(key) + "=" + std::string(value)); }

std::string kv(std::string_view key, int64_t value) { return kv(key, std::to_string(value)); }

ServiceRecord arc_service(const DeviceState& state, const MdnsParams& params) {
    ServiceRecord record{kArcServiceType, state.device_name, state.device_name, params.ports.arc, 4500, {}};
    record.txt = {"arcp_vers=2.7.41",
                  "arcp_min=0.2.4",
                  "router_vers=4.0.2",
                  kv("router_info", state.board_name),
                  kv("mf", state.manufacturer),
                  kv("model", state.model_number)};
    return record;
}

ServiceRecord cmc_service(const DeviceState& state, const MdnsParams& params) {
    ServiceRecord record{kCmcServiceType, state.device_name, state.device_name, params.ports.cmc, 120, {}};
    record.txt = {kv("id", device_id_hex(state.device_id)),
                  kv("process", state.process_id),
                  "cmcp_vers=1.2.0",
                  "cmcp_min=1.0.0",
                  "server_vers=4.0.2",
                  "channels=0x6000004d",
                  kv("mf", state.manufacturer),
                  kv("model", state.model_number),
                  // Inferno adds two empty strings and asks itself "really needed?"; kept,
                  // since Dante Controller is known to list a device advertised this way.
                  "",
                  ""};
    return record;
}

// Dotted quad of a host-order IPv4 address.
std::string dotted(uint32_t address) {
    char text[16];
    std::snprintf(text, sizeof text, "%u.%u.%u.%u", address >> 24, (address >> 16) & 255u, (address >> 8) & 255u,
                  address & 255u);
    return text;
}

// The multicast flows, by flow number.
std::vector<const TxFlowSummary*> multicast_flows(const DeviceState& state) {
    std::vector<const TxFlowSummary*> flows;
    for (const TxFlowSummary& flow : state.tx_flows)
        if (flow.multicast) flows.push_back(&flow);
    std::sort(flows.begin(), flows.end(),
              [](const TxFlowSummary* a, const TxFlowSummary* b) { return a->flow_number < b->flow_number; });
    return flows;
}

// `b.<flow>=<slot>` for every multicast flow carrying TX channel `channel_number` (1-based).
void add_bundle_pointers(std::vector<std::string>& txt, const std::vector<const TxFlowSummary*>& flows,
                         uint16_t channel_number) {
    for (const TxFlowSummary* flow : flows) {
        const auto slot = std::find(flow->channels.begin(), flow->channels.end(), channel_number);
        if (slot == flow->channels.end()) continue;
        txt.push_back(kv("b." + std::to_string(flow->flow_number),
                         static_cast<int64_t>(slot - flow->channels.begin() + 1)));
    }
}

ServiceRecord bundle_service(const DeviceState& state, const MdnsParams& params, const TxFlowSummary& flow) {
    ServiceRecord record{kBundleServiceType, std::to_string(flow.flow_number) + "@" + state.device_name,
                         state.device_name, params.ports.flow_control, 120, {}};
    record.txt = {kv("id", flow.flow_number),
                  kv("a.0", dotted(flow.address)),
                  kv("p.0", flow.port),
                  kv("nchan", static_cast<int64_t>(flow.channels.size())),
                  kv("enc", flow.encoding_bits),
                  kv("en", flow.encoding_bits),
                  kv("fpp", flow.frames_per_packet),
                  kv("latency_ns", state.latency_ns)};
    return record;
}

ServiceRecord channel_service(const DeviceState& state, const MdnsParams& params, size_t index,
                              const std::string& label, bool is_factory_name,
                              const std::vector<const TxFlowSummary*>& flows) {
    ServiceRecord record{kChannelServiceType, label + "@" + state.device_name, state.device_name,
                         params.ports.flow_control, 120, {}};
    char pcm[32];
    std::snprintf(pcm, sizeof pcm, "pcm=%u %x", static_cast<unsigned>(state.encoding_bits / 8),
                  static_cast<unsigned>(state.pcm_type));
    const size_t nchan = std::min<size_t>(params.max_channels_per_flow, state.tx_channels.size());
    record.txt = {"txtvers=2",
                  "dbcp1=0x1102",  // flow-control start code
                  "dbcp=0x1004",
                  kv("id", static_cast<int64_t>(index + 1)),
                  kv("rate", state.rate),
                  pcm,
                  kv("enc", state.encoding_bits),
                  kv("en", state.encoding_bits),  // receivers accept either key
                  kv("latency_ns", state.latency_ns),
                  kv("fpp", std::to_string(params.fpp_max) + "," + std::to_string(params.fpp_min)),
                  kv("nchan", static_cast<int64_t>(nchan))};
    add_bundle_pointers(record.txt, flows, static_cast<uint16_t>(index + 1));
    if (is_factory_name) record.txt.emplace_back("default");
    return record;
}

}  // namespace

std::string device_id_hex(const DeviceId& id) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (uint8_t byte : id) {
        out.push_back(kDigits[byte >> 4]);
        out.push_back(kDigits[byte & 15]);
    }
    return out;
}

std::vector<ServiceRecord> build_service_records(const DeviceState& state, const MdnsParams& params) {
    const std::vector<const TxFlowSummary*> flows = multicast_flows(state);
    std::vector<ServiceRecord> records;
    records.reserve(2 + 2 * state.tx_channels.size() + flows.size());
    records.push_back(arc_service(state, params));
    records.push_back(cmc_service(state, params));
    for (size_t i = 0; i < state.tx_channels.size(); ++i) {
        const TxChannel& channel = state.tx_channels[i];
        records.push_back(channel_service(state, params, i, channel.factory_name, true, flows));
        if (channel.user_name != channel.factory_name && !channel.user_name.empty())
            records.push_back(channel_service(state, params, i, channel.user_name, false, flows));
    }
    for (const TxFlowSummary* flow : flows) records.push_back(bundle_service(state, params, *flow));
    return records;
}

}  // namespace dante::control
