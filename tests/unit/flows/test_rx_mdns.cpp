#include <doctest/doctest.h>

#include <stdlib.h>
#include <time.h>

#include <string>

#include "control/control_ports.hpp"
#include "flows/flows_service.hpp"
#include "mdns_resolve.hpp"

using namespace dante;

TEST_CASE("dante-rx: the flow-control port derived from the ARC port is the device's") {
    // The standard set, and every port base the device accepts (but 4440, which is the
    // one ambiguous case: it is the standard ARC port too).
    CHECK(rx::flow_control_port_for_arc_port(4440) == flow_control_port(0));
    for (uint16_t base : {uint16_t{1024}, uint16_t{5000}, uint16_t{14440}, uint16_t{65532}}) {
        const auto ports = control::control_ports_for(base);
        REQUIRE(ports);
        CHECK(rx::flow_control_port_for_arc_port(ports->arc) == flow_control_port(base));
        CHECK(rx::flow_control_port_for_arc_port(ports->arc) == ports->flow_control);
    }
    // An ARC port no base could give (the flow-control port would pass 65535): Dante's.
    CHECK(rx::flow_control_port_for_arc_port(65534) == 4455);
}

TEST_CASE("dante-rx: channel instances of a device, DNS names compared without case") {
    CHECK(rx::is_channel_of("01@lab-tx", "lab-tx"));
    CHECK(rx::is_channel_of("Vocals@Lab-TX", "lab-tx"));
    CHECK_FALSE(rx::is_channel_of("01@lab-tx2", "lab-tx"));
    CHECK_FALSE(rx::is_channel_of("@lab-tx", "lab-tx"));
    CHECK_FALSE(rx::is_channel_of("lab-tx", "lab-tx"));
    CHECK_FALSE(rx::is_channel_of("01@x@lab-tx2", "lab-tx"));
    CHECK(rx::dns_name_equal("Studio-PC", "studio-pc"));
    CHECK_FALSE(rx::dns_name_equal("studio-pc", "studio-pc2"));
}

TEST_CASE("dante-rx: without a reachable avahi-daemon the lookup fails at once, naming the device") {
    // A system bus that does not exist: nothing leaves this process.
    const char* old = getenv("DBUS_SYSTEM_BUS_ADDRESS");
    const std::string saved = old != nullptr ? old : "";
    setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/dante-rx-test/system_bus_socket", 1);
    timespec before{}, after{};
    clock_gettime(CLOCK_MONOTONIC, &before);
    const rx::ResolveResult result = rx::resolve_device("no-such-device", 10'000);
    clock_gettime(CLOCK_MONOTONIC, &after);
    if (old != nullptr)
        setenv("DBUS_SYSTEM_BUS_ADDRESS", saved.c_str(), 1);
    else
        unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
    CHECK_FALSE(result.device);
    CHECK(result.error.find("'no-such-device'") != std::string::npos);
    CHECK(result.error.find("no avahi-daemon reachable") != std::string::npos);
    CHECK(after.tv_sec - before.tv_sec < 3);
}
