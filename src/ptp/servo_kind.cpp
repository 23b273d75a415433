#include "ptp/servo_kind.hpp"

#include "ptp/linreg_servo.hpp"
#include "ptp/pi_servo.hpp"

namespace dante::ptp {

std::optional<ServoKind> parse_servo_kind(std::string_view text) {
    if (text == "linreg") return ServoKind::linreg;
    if (text == "pi") return ServoKind::pi;
    return std::nullopt;
}

std::string_view to_string(ServoKind kind) { return kind == ServoKind::pi ? "pi" : "linreg"; }

std::unique_ptr<Servo> make_servo(ServoKind kind) {
    if (kind == ServoKind::pi) return std::make_unique<PiServo>();
    return std::make_unique<LinregServo>();
}

}  // namespace dante::ptp
