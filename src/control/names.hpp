#pragma once
// Which names a rename may set.
//
// Device names: DNS host-name rules, as dante::is_valid_device_name (1..31 of [A-Za-z0-9-],
// not starting or ending with '-'); the same rule the module applies to its config.
//
// TX channel labels: Dante's rule is looser than the device rule. The Dante Controller
// user guide: "All Dante names and labels are up to 31 characters", "Tx channel labels may
// use any character except '=' , '.' or '@'", "must be unique on a device", comparisons
// are case-insensitive, Unicode is not supported. So "Guitar L" is a legal label (Inferno's
// own defaults are "TX 1"...). We also refuse control characters and leading/trailing
// spaces (they cannot be typed back into a subscription reliably).

#include <span>
#include <string_view>

#include "config/device_config.hpp"
#include "control/device_state.hpp"

namespace dante::control {

inline constexpr size_t kMaxNameLength = 31;

// The rule lives with the config (dante.rx.names uses it too): dante::is_valid_channel_label.
using dante::is_valid_channel_label;

// Case-insensitive ASCII equality: how Dante compares names.
bool names_equal_ignoring_case(std::string_view a, std::string_view b);

// True if `label` would clash with a name (factory or user) of another TX channel than
// `channel_index` (0-based): each name becomes an mDNS instance `<label>@<device>`.
bool label_taken_by_other_channel(std::span<const TxChannel> channels, size_t channel_index, std::string_view label);

}  // namespace dante::control
