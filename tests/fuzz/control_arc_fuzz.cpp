// Fuzz target for the ARC core and the control header parser (libFuzzer entry point; also
// linked with control_standalone_main.cpp into a deterministic test). Besides "no crash,
// no out-of-bounds read" (ASan/UBSan builds), it checks what must hold for any input:
// a reply is a well-formed datagram echoing the request, within the size limit, and a
// rename effect only ever carries a name the rules accept.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "config/device_config.hpp"
#include "control/arc_server.hpp"
#include "control/cmc_server.hpp"
#include "control/conmon.hpp"
#include "control/control_header.hpp"
#include "control/names.hpp"

namespace {

using namespace dante::control;

void require(bool condition) {
    if (!condition) std::abort();
}

const DeviceState& fuzz_state() {
    static const DeviceState state = [] {
        DeviceState s;
        s.device_name = "fuzz-device";
        s.default_device_name = "fuzz-default";
        s.factory_host_name = "pwdante-0000000000000000";
        for (int i = 1; i <= 40; ++i) {
            // snprintf, not "0" + to_string(i): GCC 12 -O3 false -Wrestrict in that operator+.
            char digits[16];
            std::snprintf(digits, sizeof digits, "%02d", i);
            const std::string name = digits;
            s.tx_channels.push_back({name, i % 3 == 0 ? "label " + name : name});
        }
        for (int i = 1; i <= 20; ++i) {  // RX channels, some subscribed (0x3000 pages)
            char digits[16];
            std::snprintf(digits, sizeof digits, "%02d", i);
            const std::string name = digits;
            RxSubscription sub;
            if (i % 2 == 0) sub = {name, "stage-box-with-a-long-name"};
            s.rx_channels.push_back({name, name, sub, sub.empty() ? kRxStatusNone : kRxStatusUnresolved});
        }
        s.tx_flows.push_back({1, false, 48000, 24, 32, {1, 2, 3, 4}, 0x0A000002u, 40000});
        s.tx_flows.push_back({2, true, 48000, 24, 32, {5, 0, 7}, 0xEFFF0081u, 4321});
        return s;
    }();
    return state;
}

void check_arc(std::span<const uint8_t> request, const ArcOptions& options) {
    const DeviceState& state = fuzz_state();
    const ArcResult result = handle_arc_request(request, state, options);
    const auto request_header = parse_control_header(request);
    if (!request_header || request_header->status != 0) {
        require(!result.response && !result.device_rename && result.channel_renames.empty());
        require(result.rx_channel_renames.empty() && result.subscription_changes.empty());
        return;
    }
    if (result.create_multicast || result.delete_flow) {
        // An effect for the shell to apply, never with a response of its own; the parsed
        // request stays inside what the parser promises.
        require(!result.response && !(result.create_multicast && result.delete_flow));
        require(request_header->opcode == kArcCreateTxFlow || request_header->opcode == kArcDeleteTxFlow);
        if (result.create_multicast) {
            require(!result.create_multicast->channels.empty());
            require(result.create_multicast->channels.size() <= kMaxCreateFlowChannels);
        }
        if (result.delete_flow) require(*result.delete_flow != 0);
        for (uint16_t status : {kStatusOk, kStatusTooManyFlows, kStatusError}) {
            const auto reply = tx_flow_change_reply(result.request_header, status);
            require(reply.has_value());
            const auto header = parse_control_header(*reply);
            require(header && header->sequence == request_header->sequence && header->status == status &&
                    header->opcode == request_header->opcode);
        }
        return;
    }
    require(result.response.has_value());
    const auto response_header = parse_control_header(*result.response);
    require(response_header.has_value());
    require(response_header->start_code == request_header->start_code);
    require(response_header->sequence == request_header->sequence);
    require(response_header->opcode == request_header->opcode);
    require(response_header->status != 0);
    require(result.response->size() <= kMaxArcResponseSize);
    if (response_header->status == kStatusError) {
        require(!result.device_rename && result.channel_renames.empty() && !result.latency_ns);
        require(result.rx_channel_renames.empty() && result.subscription_changes.empty());
    }
    for (const ChannelRename& rename : result.rx_channel_renames) {
        require(rename.channel_number >= 1 && rename.channel_number <= state.rx_channels.size());
        require(is_valid_channel_label(rename.new_user_name));
        require(rename.new_user_name != state.rx_channels[rename.channel_number - 1u].user_name);
    }
    for (const SubscriptionChange& change : result.subscription_changes) {
        require(change.rx_channel >= 1 && change.rx_channel <= state.rx_channels.size());
        require(!(change.subscription == state.rx_channels[change.rx_channel - 1u].subscription));
        if (!change.subscription.empty()) {
            require(is_valid_channel_label(change.subscription.tx_channel));
            require(dante::is_valid_device_name(change.subscription.tx_device));
        }
    }
    if (result.latency_ns) {
        require(response_header->status == kStatusOk && request_header->opcode == kArcSetDeviceSettings);
        require(*result.latency_ns >= kMinSettableLatencyNs && *result.latency_ns <= kMaxSettableLatencyNs);
        require(*result.latency_ns != state.latency_ns);
    }
    if (result.device_rename) {
        require(dante::is_valid_device_name(*result.device_rename));
        require(*result.device_rename != state.device_name);
    }
    for (const ChannelRename& rename : result.channel_renames) {
        require(rename.channel_number >= 1 && rename.channel_number <= state.tx_channels.size());
        require(is_valid_channel_label(rename.new_user_name));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const uint8_t> input(data, size);

    // The parsers on the raw bytes.
    (void)parse_control_header(input);
    for (size_t offset : {size_t{0}, size_t{10}, size / 2, size}) (void)read_string_at(input, offset, 31);
    for (size_t offset = 0; offset < size && offset < 64; ++offset) {
        (void)read_u16(input, offset);
        (void)read_u32(input, offset);
    }

    check_arc(input, ArcOptions{});
    check_arc(input, ArcOptions{.tx_page_size = 16});

    // The other parsers that face the network share the header code: CMC and info requests.
    const auto cmc = handle_cmc_request(input, CmcIdentity{});
    if (cmc) require(cmc->size() == kHeaderSize + 22 && parse_control_header(*cmc).has_value());
    (void)classify_info_request(input);
    // Settings requests on the info port (conmon 0xFFFF): accepted only whole and in bounds.
    if (const auto settings = parse_settings_request(input)) {
        require(size >= kConmonHeaderSize && size <= kMaxSettingsRequestSize);
        require(settings->body.size() == size - kConmonHeaderSize);
        require(settings->opcode == ((input[26] << 8) | input[27]));
    }
    if (size >= kConmonHeaderSize && size <= kMaxSettingsRequestSize) {
        std::vector<uint8_t> fixed(input.begin(), input.end());
        fixed[0] = fixed[1] = 0xff;
        fixed[2] = static_cast<uint8_t>(size >> 8);
        fixed[3] = static_cast<uint8_t>(size);
        const auto settings = parse_settings_request(fixed);
        require(settings.has_value() == (std::equal(fixed.begin() + 16, fixed.begin() + 24, "Audinate") && fixed[24] == 7));
    }

    // Most random inputs fail the length check; a copy with the length field set to the real
    // size lets the mutations reach the opcode handlers.
    if (size >= 10 && size <= 0xffff) {
        std::vector<uint8_t> fixed(input.begin(), input.end());
        fixed[2] = static_cast<uint8_t>(size >> 8);
        fixed[3] = static_cast<uint8_t>(size);
        fixed[8] = 0;  // a request
        fixed[9] = 0;
        check_arc(fixed, ArcOptions{});
    }
    return 0;
}
