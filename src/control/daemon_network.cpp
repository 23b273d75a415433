#include "control/daemon_network.hpp"

namespace dante::control {

namespace {

std::string describe(const InterfaceProbe& probe) {
    const std::string theirs = probe.daemon_name ? "calls it '" + *probe.daemon_name + "'" : "has no such interface";
    return "interface index " + std::to_string(probe.index) + " is '" + probe.name + "' here, the avahi-daemon " +
           theirs;
}

const char* const kNotThere = ": it belongs to another network namespace; not publishing there";

}  // namespace

DaemonNetwork judge_daemon_network(const DaemonNetworkEvidence& evidence, std::string& why) {
    why.clear();
    if (!evidence.query_error.empty()) {
        why = "cannot ask avahi-daemon which network it serves (" + evidence.query_error +
              "); not publishing until it answers";
        return DaemonNetwork::unknown;
    }
    if (!evidence.daemon_netns.empty() && !evidence.our_netns.empty() &&
        evidence.daemon_netns != evidence.our_netns) {
        why = "avahi-daemon (pid " + std::to_string(evidence.daemon_pid) + ") is in " + evidence.daemon_netns +
              ", we are in " + evidence.our_netns + kNotThere;
        return DaemonNetwork::foreign;
    }
    const InterfaceProbe* dante = nullptr;
    for (const InterfaceProbe& probe : evidence.interfaces)
        if (probe.index == evidence.dante_index && probe.name == evidence.dante_interface) dante = &probe;
    if (dante == nullptr || evidence.dante_index <= 0) {
        why = "interface " + evidence.dante_interface + " was not asked about; not publishing";
        return DaemonNetwork::unknown;
    }
    // The Dante interface first: its mismatch is the one worth naming.
    if (dante->answered && dante->daemon_name != dante->name) {
        why = describe(*dante) + kNotThere;
        return DaemonNetwork::foreign;
    }
    for (const InterfaceProbe& probe : evidence.interfaces) {
        if (probe.answered && probe.daemon_name != probe.name) {
            why = describe(probe) + kNotThere;
            return DaemonNetwork::foreign;
        }
    }
    for (const InterfaceProbe& probe : evidence.interfaces) {
        if (!probe.answered) {
            why = "avahi-daemon did not answer for interface index " + std::to_string(probe.index) + " ('" +
                  probe.name + "'); not publishing until it does";
            return DaemonNetwork::unknown;
        }
    }
    return DaemonNetwork::ours;
}

}  // namespace dante::control
