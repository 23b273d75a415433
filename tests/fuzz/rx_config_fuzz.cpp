// libFuzzer target: the receive side's module args (dante.rx.channels, dante.rx.names,
// dante.rx.subscriptions) and the SPA JSON reader behind them, on arbitrary text.
//
// Input: byte 0 picks dante.rx.channels (0..69, so 65..69 must be refused); the rest is
// split at the first NUL into the value of dante.rx.names and that of dante.rx.subscriptions
// (an empty part leaves its key out).
// Properties: no UB or out-of-bounds access (ASan/UBSan), bounded error messages, and an
// accepted config keeps every promise the ControlService relies on: one valid label per RX
// channel, subscriptions within 1..dante.rx.channels, valid names, no channel twice.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/device_config.hpp"
#include "config/spa_json.hpp"

using namespace dante;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    const size_t split = std::min(text.find('\0'), text.size());
    const std::string_view names = text.substr(0, split);
    const std::string_view subscriptions = split < text.size() ? text.substr(split + 1) : std::string_view();

    (void)parse_spa_json(text);  // the reader alone, on everything

    ConfigItems items{{"dante.rx.channels", std::to_string(data[0] % 70)}};
    if (!names.empty()) items.emplace_back("dante.rx.names", std::string(names));
    if (!subscriptions.empty()) items.emplace_back("dante.rx.subscriptions", std::string(subscriptions));
    const ConfigResult result = parse_device_config(items, "fuzz-host");
    if (!result.config) {
        // Refused: said, and briefly (a value is shown cut to 120 bytes).
        if (result.error.empty() || result.error.size() > 1200) std::abort();
        return 0;
    }
    const DeviceConfig& c = *result.config;
    if (c.rx_channels > kMaxRxChannels || c.rx_names.size() != c.rx_channels) std::abort();
    for (const std::string& label : c.rx_names)
        if (!is_valid_channel_label(label)) std::abort();
    bool seen[kMaxRxChannels + 1] = {};
    for (const RxSubscriptionConfig& sub : c.rx_subscriptions) {
        if (sub.rx_channel < 1 || sub.rx_channel > c.rx_channels || seen[sub.rx_channel]) std::abort();
        seen[sub.rx_channel] = true;
        if (!is_valid_channel_label(sub.tx_channel) || !is_valid_device_name(sub.tx_device)) std::abort();
    }
    return 0;
}
