#pragma once
// Is the avahi-daemon we reach over the system D-Bus one of our own network namespace?
//
// The system bus is found through a filesystem path (/run/dbus/system_bus_socket), which
// network namespaces do not separate. An avahi-daemon of another namespace (the host's,
// while we run in a lab namespace or a container sharing the host's /run/dbus) would take
// our interface index as one of ITS interfaces and announce us on a network we are not
// on. So before publishing, the publisher gathers evidence about the daemon and this
// decides (pure logic; the D-Bus and /proc reading live in avahi_publisher.cpp):
//
//  1. The interface fingerprint (always): for each of our interfaces, the name the daemon
//     gives to its index (Avahi's GetNetworkInterfaceNameByIndex runs if_indextoname() in
//     the daemon, i.e. in ITS namespace). Every name must match ours, the Dante
//     interface's first of all. Indexes and names are per namespace, so a foreign daemon
//     fails this unless its namespace has the very same index -> name table.
//     It depends on nobody's pid: not on who called listen() on the bus socket (gone when
//     the bus daemon forked after listening, as under sysvinit, OpenRC and in many
//     containers), nor on our being allowed to read another user's /proc/<pid>/ns.
//  2. The daemon's own namespace (when it can be seen): the bus gives the pid owning
//     org.freedesktop.Avahi (alive, unlike the bus's pre-fork parent). That pid is in the
//     bus daemon's pid namespace, which may not be ours, so it only counts when
//     /proc/<pid> here is an avahi-daemon whose ns/net we may read; then a different
//     namespace refuses. Unreadable or not an avahi-daemon: no evidence, (1) decides.
//
// Anything we could not ask (no reply, an unexpected error) is "unknown": not published,
// asked again later.

#include <optional>
#include <string>
#include <vector>

namespace dante::control {

struct InterfaceProbe {
    int index = 0;
    std::string name;                     // ours, from if_nameindex()
    bool answered = false;                // the daemon answered for this index
    std::optional<std::string> daemon_name;  // its name there; nullopt: it has no such index
};

struct DaemonNetworkEvidence {
    std::string dante_interface;  // the name of the interface we publish on
    int dante_index = 0;          // its index here
    std::vector<InterfaceProbe> interfaces;  // must include the Dante interface
    std::string query_error;      // set when the daemon could not be asked at all
    // Namespaces as readlink(/proc/<pid>/ns/net) gives them ("net:[4026531840]"); "" when
    // unknown (not readable, or the pid is not an avahi-daemon we can see).
    std::string our_netns;
    std::string daemon_netns;
    long daemon_pid = 0;
};

enum class DaemonNetwork { ours, foreign, unknown };

// The verdict, and in `why` a sentence for the log and dante.mdns.last-error (empty when ours).
DaemonNetwork judge_daemon_network(const DaemonNetworkEvidence& evidence, std::string& why);

}  // namespace dante::control
