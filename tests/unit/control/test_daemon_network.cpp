#include <doctest/doctest.h>

#include "control/daemon_network.hpp"

using namespace dante::control;

namespace {

InterfaceProbe probe(int index, const char* name, std::optional<std::string> theirs, bool answered = true) {
    return {index, name, answered, std::move(theirs)};
}

// Our namespace: lo (1), eth1 (7) the Dante interface, wlan0 (9); the daemon agrees.
DaemonNetworkEvidence same_namespace() {
    DaemonNetworkEvidence e;
    e.dante_interface = "eth1";
    e.dante_index = 7;
    e.interfaces = {probe(7, "eth1", "eth1"), probe(1, "lo", "lo"), probe(9, "wlan0", "wlan0")};
    e.our_netns = "net:[4026532001]";
    return e;
}

}  // namespace

TEST_CASE("daemon network: the same index -> name table is ours, whoever listened on the bus") {
    std::string why = "stale";
    DaemonNetworkEvidence e = same_namespace();
    CHECK(judge_daemon_network(e, why) == DaemonNetwork::ours);
    CHECK(why.empty());

    // The daemon's pid seen, same namespace: still ours.
    e.daemon_pid = 812;
    e.daemon_netns = e.our_netns;
    CHECK(judge_daemon_network(e, why) == DaemonNetwork::ours);

    // Its namespace unreadable (another user's process, another pid namespace): the
    // fingerprint alone decides.
    e.daemon_netns.clear();
    CHECK(judge_daemon_network(e, why) == DaemonNetwork::ours);
}

TEST_CASE("daemon network: a daemon without our Dante interface index is foreign") {
    std::string why;
    DaemonNetworkEvidence e = same_namespace();
    e.interfaces[0].daemon_name.reset();  // its if_indextoname(7) failed
    CHECK(judge_daemon_network(e, why) == DaemonNetwork::foreign);
    CHECK(why.find("interface index 7 is 'eth1' here, the avahi-daemon has no such interface") != std::string::npos);
    CHECK(why.find("another network namespace") != std::string::npos);
}

TEST_CASE("daemon network: the same index under another name is foreign, the Dante interface named first") {
    std::string why;
    DaemonNetworkEvidence e = same_namespace();
    e.interfaces[2].daemon_name = "docker0";
    CHECK(judge_daemon_network(e, why) == DaemonNetwork::foreign);
    CHECK(why.find("interface index 9 is 'wlan0' here, the avahi-daemon calls it 'docker0'") != std::string::npos);

    e.interfaces[0].daemon_name = "eth0";
    CHECK(judge_daemon_network(e, why) == DaemonNetwork::foreign);
    CHECK(why.find("interface index 7 is 'eth1' here, the avahi-daemon calls it 'eth0'") != std::string::npos);
}

TEST_CASE("daemon network: a matching table but the daemon seen in another namespace is foreign") {
    // Two namespaces may both be just lo + eth1 at the same indexes; the pid settles it.
    std::string why;
    DaemonNetworkEvidence e = same_namespace();
    e.daemon_pid = 812;
    e.daemon_netns = "net:[4026531840]";
    CHECK(judge_daemon_network(e, why) == DaemonNetwork::foreign);
    CHECK(why.find("avahi-daemon (pid 812) is in net:[4026531840], we are in net:[4026532001]") != std::string::npos);
    CHECK(why.find("another network namespace") != std::string::npos);

    // Our own namespace unknown: no comparison, the table decides.
    e.our_netns.clear();
    CHECK(judge_daemon_network(e, why) == DaemonNetwork::ours);
}

TEST_CASE("daemon network: what could not be asked is unknown, never ours") {
    std::string why;
    DaemonNetworkEvidence e = same_namespace();
    e.query_error = "org.freedesktop.DBus.Error.ServiceUnknown: no such name";
    CHECK(judge_daemon_network(e, why) == DaemonNetwork::unknown);
    CHECK(why.find("ServiceUnknown") != std::string::npos);

    e = same_namespace();
    e.interfaces[1].answered = false;
    e.interfaces[1].daemon_name.reset();
    CHECK(judge_daemon_network(e, why) == DaemonNetwork::unknown);
    CHECK(why.find("did not answer for interface index 1") != std::string::npos);

    // A mismatch elsewhere still beats a missing answer.
    e.interfaces[2].daemon_name = "eth9";
    CHECK(judge_daemon_network(e, why) == DaemonNetwork::foreign);

    // The Dante interface not among the probes (or no index at all): nothing to go on.
    e = same_namespace();
    e.interfaces.erase(e.interfaces.begin());
    CHECK(judge_daemon_network(e, why) == DaemonNetwork::unknown);
    e = same_namespace();
    e.dante_index = 0;
    CHECK(judge_daemon_network(e, why) == DaemonNetwork::unknown);
    e = same_namespace();
    e.interfaces.clear();
    CHECK(judge_daemon_network(e, why) == DaemonNetwork::unknown);
}
