#include "control/names.hpp"

#include <algorithm>

namespace dante::control {

namespace {

char lower_ascii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

bool names_equal_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower_ascii(x) == lower_ascii(y); });
}

bool label_taken_by_other_channel(std::span<const TxChannel> channels, size_t channel_index, std::string_view label) {
    for (size_t i = 0; i < channels.size(); ++i) {
        if (i == channel_index) continue;
        const TxChannel& other = channels[i];
        if (names_equal_ignoring_case(other.factory_name, label) || names_equal_ignoring_case(other.user_name, label))
            return true;
    }
    return false;
}

}  // namespace dante::control
