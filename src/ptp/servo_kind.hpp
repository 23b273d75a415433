#pragma once
// Which servo disciplines the PTP media clock (dante.ptp.servo, dante-ptp --servo).
//   linreg  least-squares line through the last seconds of measurements: the default, as
//           our timestamps are software ones (bench/RESULTS.md §6c compares the two)
//   pi      proportional-integral loop, as linuxptp's default

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "ptp/servo.hpp"

namespace dante::ptp {

enum class ServoKind : uint8_t { linreg, pi };

std::optional<ServoKind> parse_servo_kind(std::string_view text);
std::string_view to_string(ServoKind kind);
std::unique_ptr<Servo> make_servo(ServoKind kind);

}  // namespace dante::ptp
