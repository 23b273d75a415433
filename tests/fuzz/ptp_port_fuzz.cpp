// libFuzzer target: the PTP engine as a whole (port state machine + best master + servo +
// media clock, i.e. a PtpNode) driven by an event script from the fuzzer: datagrams
// (mostly valid leader messages with fuzzer-chosen patches), timers, transmit timestamps,
// faults and the passing of time. The script language is in ptp_port_script.hpp; the
// simulated shell and every invariant checked after each event in ptp_port_harness.hpp.
//
// Properties: no crash, UB, leak or hang for any input, and no invariant violation (an
// invariant violation aborts with a message naming it).
#include <cstddef>
#include <cstdint>
#include <span>

#include "ptp_port_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    (void)dante::ptp::fuzz::run_port_script(std::span<const uint8_t>(data, size));
    return 0;
}
