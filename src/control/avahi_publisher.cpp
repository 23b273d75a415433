#include "control/avahi_publisher.hpp"

#include <arpa/inet.h>
#include <dbus/dbus.h>
#include <net/if.h>
#include <unistd.h>
#include <avahi-client/client.h>
#include <avahi-client/publish.h>
#include <avahi-common/error.h>
#include <avahi-common/thread-watch.h>
#include <avahi-common/timeval.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <strings.h>

#include "control/daemon_network.hpp"
#include "control/names.hpp"

namespace dante::control {

namespace {

constexpr unsigned kRetryMs = 5000;  // no system bus: try the client again this often
constexpr unsigned kRecheckMs = 5000;  // a daemon not (yet) shown to be ours: ask again this often
constexpr int kDbusTimeoutMs = 1000;   // per question to the bus or the daemon
constexpr size_t kMaxProbedInterfaces = 64;

enum class GroupState : uint8_t { pending, established, collided, failed };

std::string netns_of(const std::string& proc) {
    char target[128] = {};
    const ssize_t n = readlink((proc + "/ns/net").c_str(), target, sizeof target - 1);
    return n > 0 ? std::string(target, static_cast<size_t>(n)) : std::string();
}

std::string error_text(const DBusError& error) {
    return std::string(error.name ? error.name : "D-Bus error") + (error.message ? std::string(": ") + error.message : "");
}

// What judge_daemon_network() decides on (control/daemon_network.hpp says why these two
// pieces of evidence): asked over a private connection to the same system bus the Avahi
// client uses (DBUS_SYSTEM_BUS_ADDRESS or the default socket), a few short blocking calls.
DaemonNetworkEvidence gather_daemon_evidence(int interface_index) {
    DaemonNetworkEvidence evidence;
    evidence.dante_index = interface_index;
    char name[IF_NAMESIZE] = {};
    if (interface_index > 0 && if_indextoname(static_cast<unsigned>(interface_index), name))
        evidence.dante_interface = name;
    evidence.our_netns = netns_of("/proc/self");

    DBusError error;
    dbus_error_init(&error);
    DBusConnection* bus = dbus_bus_get_private(DBUS_BUS_SYSTEM, &error);
    if (!bus) {
        evidence.query_error = "system bus: " + error_text(error);
        dbus_error_free(&error);
        return evidence;
    }
    dbus_connection_set_exit_on_disconnect(bus, FALSE);
    auto call = [&](DBusMessage* message) {
        DBusMessage* reply = message ? dbus_connection_send_with_reply_and_block(bus, message, kDbusTimeoutMs, &error)
                                     : nullptr;
        if (message) dbus_message_unref(message);
        return reply;
    };

    // (2) The pid owning org.freedesktop.Avahi, in the bus daemon's pid namespace: evidence
    // only if it is an avahi-daemon here and we may read its ns/net.
    const char* service = "org.freedesktop.Avahi";
    DBusMessage* message = dbus_message_new_method_call("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                        "org.freedesktop.DBus", "GetConnectionUnixProcessID");
    if (message) dbus_message_append_args(message, DBUS_TYPE_STRING, &service, DBUS_TYPE_INVALID);
    if (DBusMessage* reply = call(message)) {
        dbus_uint32_t pid = 0;
        if (dbus_message_get_args(reply, &error, DBUS_TYPE_UINT32, &pid, DBUS_TYPE_INVALID) && pid > 0) {
            const std::string proc = "/proc/" + std::to_string(pid);
            std::string comm;
            std::getline(std::ifstream(proc + "/comm"), comm);
            if (comm.starts_with("avahi-daemon")) {  // (a retitled daemon's comm may go on)
                evidence.daemon_pid = static_cast<long>(pid);
                evidence.daemon_netns = netns_of(proc);
            }
        }
        dbus_message_unref(reply);
    }
    dbus_error_free(&error);  // no owner (daemon not there yet) or no such pid here: no evidence

    // (1) The daemon's name for each of our interface indexes.
    if (struct if_nameindex* list = if_nameindex()) {
        for (const struct if_nameindex* i = list; i->if_index != 0 && i->if_name; ++i) {
            const bool is_dante = static_cast<int>(i->if_index) == interface_index;
            if (!is_dante && evidence.interfaces.size() >= kMaxProbedInterfaces) continue;
            InterfaceProbe probe;
            probe.index = static_cast<int>(i->if_index);
            probe.name = i->if_name;
            if (evidence.query_error.empty()) {
                DBusMessage* ask = dbus_message_new_method_call(service, "/", "org.freedesktop.Avahi.Server",
                                                                "GetNetworkInterfaceNameByIndex");
                const dbus_int32_t index = probe.index;
                if (ask) dbus_message_append_args(ask, DBUS_TYPE_INT32, &index, DBUS_TYPE_INVALID);
                if (DBusMessage* reply = call(ask)) {
                    const char* theirs = nullptr;
                    if (dbus_message_get_args(reply, &error, DBUS_TYPE_STRING, &theirs, DBUS_TYPE_INVALID) && theirs) {
                        probe.answered = true;
                        probe.daemon_name = std::string(theirs);
                    } else {
                        evidence.query_error = "GetNetworkInterfaceNameByIndex: " + error_text(error);
                    }
                    dbus_message_unref(reply);
                } else if (dbus_error_has_name(&error, "org.freedesktop.Avahi.OSError")) {
                    probe.answered = true;  // its if_indextoname() failed: no such index there
                } else {
                    evidence.query_error = "GetNetworkInterfaceNameByIndex: " + error_text(error);
                }
                dbus_error_free(&error);
            }
            if (is_dante)
                evidence.interfaces.insert(evidence.interfaces.begin(), std::move(probe));
            else
                evidence.interfaces.push_back(std::move(probe));
        }
        if_freenameindex(list);
    }
    dbus_connection_close(bus);
    dbus_connection_unref(bus);
    return evidence;
}

}  // namespace

struct AvahiPublisher::Impl {
    struct Group {
        Impl* owner = nullptr;
        size_t index = 0;  // into records
        AvahiEntryGroup* group = nullptr;
    };

    Impl(int interface_index, uint32_t ipv4, Logger log)
        : interface_index(interface_index), ipv4(ipv4), log(std::move(log)) {}

    // Everything below is touched only on the Avahi thread or under its lock.
    int interface_index;
    uint32_t ipv4;
    Logger log;
    AvahiThreadedPoll* poll = nullptr;
    AvahiClient* client = nullptr;
    AvahiTimeout* retry = nullptr;       // create the client again
    AvahiTimeout* reregister = nullptr;  // register again (after our A record collided)
    AvahiTimeout* recheck = nullptr;     // ask again whether the daemon is of our network namespace
    bool daemon_ours = false;            // the running daemon was shown to be of our namespace
    AvahiEntryGroup* address_group = nullptr;
    bool address_collided = false;  // our "<device>.local" A record is taken: use avahi's host name
    std::vector<ServiceRecord> records;
    std::string device_name;
    std::vector<std::unique_ptr<Group>> groups;  // groups[i] publishes records[i]
    std::string target;  // the SRV target register_all chose; empty: avahi's own host name

    // The published view, read by properties() from any thread.
    mutable std::mutex stats_mutex;
    std::string client_state = "stopped";
    std::vector<GroupState> group_states;
    MdnsStats counters;

    void set_client_state(const char* state) {
        std::lock_guard lock(stats_mutex);
        client_state = state;
    }
    void set_error(std::string error) {
        std::lock_guard lock(stats_mutex);
        // Said once: a missing daemon is retried every few seconds, the log need not be.
        if (error != counters.last_error) log.warn("mdns", error);
        counters.last_error = std::move(error);
    }
    void set_group_state(size_t index, GroupState state) {
        std::lock_guard lock(stats_mutex);
        if (index < group_states.size()) group_states[index] = state;
    }

    // ---- client lifecycle (Avahi thread or locked)
    void create_client() {
        int error = 0;
        client = avahi_client_new(avahi_threaded_poll_get(poll), AVAHI_CLIENT_NO_FAIL, &Impl::client_callback, this,
                                  &error);
        if (!client) {
            set_client_state("unavailable");
            set_error(std::string("cannot reach avahi-daemon: ") + avahi_strerror(error) + "; retrying");
            schedule_retry();
        }
    }

    void schedule_retry() {
        const AvahiPoll* api = avahi_threaded_poll_get(poll);
        timeval tv{};
        avahi_elapse_time(&tv, kRetryMs, 0);
        if (retry)
            api->timeout_update(retry, &tv);
        else
            retry = api->timeout_new(api, &tv, &Impl::retry_callback, this);
    }

    static void retry_callback(AvahiTimeout* timeout, void* userdata) {
        auto* self = static_cast<Impl*>(userdata);
        avahi_threaded_poll_get(self->poll)->timeout_update(timeout, nullptr);  // disarm
        if (!self->client) self->create_client();
    }

    static void client_callback(AvahiClient* c, AvahiClientState state, void* userdata) {
        auto* self = static_cast<Impl*>(userdata);
        switch (state) {
            case AVAHI_CLIENT_S_RUNNING:
                self->client = c;  // may run inside avahi_client_new, before it returned
                if (self->check_daemon_network()) self->register_all();
                break;
            case AVAHI_CLIENT_S_COLLISION:
            case AVAHI_CLIENT_S_REGISTERING:
                // The daemon's own host name is being (re)established; our records go again
                // once it runs.
                self->withdraw_all();
                self->set_client_state("registering");
                break;
            case AVAHI_CLIENT_CONNECTING:
                self->set_client_state("unavailable");  // daemon not (yet) running: waiting for it
                break;
            case AVAHI_CLIENT_FAILURE: {
                const int error = avahi_client_errno(c);
                self->daemon_ours = false;  // the next daemon is checked again
                self->withdraw_all();
                avahi_client_free(c);
                self->client = nullptr;
                self->set_client_state("unavailable");
                self->set_error(std::string("avahi client failure: ") + avahi_strerror(error) + "; reconnecting");
                {
                    std::lock_guard lock(self->stats_mutex);
                    ++self->counters.reconnects;
                }
                // NO_FAIL: the new client waits for the daemon to come back.
                self->create_client();
                break;
            }
        }
    }

    // Publishing only through an avahi-daemon of our own network namespace (see
    // control/daemon_network.hpp). Checked each time a daemon comes up, before anything is
    // registered; a daemon not shown to be ours gets nothing and is asked again later.
    bool check_daemon_network() {
        std::string why;
        const DaemonNetwork verdict = judge_daemon_network(gather_daemon_evidence(interface_index), why);
        daemon_ours = verdict == DaemonNetwork::ours;
        if (daemon_ours) return true;
        withdraw_all();
        set_client_state("unavailable");
        set_error(why);
        const AvahiPoll* api = avahi_threaded_poll_get(poll);
        timeval tv{};
        avahi_elapse_time(&tv, kRecheckMs, 0);
        if (recheck)
            api->timeout_update(recheck, &tv);
        else
            recheck = api->timeout_new(api, &tv, &Impl::recheck_callback, this);
        return false;
    }

    static void recheck_callback(AvahiTimeout* timeout, void* userdata) {
        auto* self = static_cast<Impl*>(userdata);
        avahi_threaded_poll_get(self->poll)->timeout_update(timeout, nullptr);
        if (self->client && avahi_client_get_state(self->client) == AVAHI_CLIENT_S_RUNNING && !self->daemon_ours &&
            self->check_daemon_network())
            self->register_all();
    }

    static void address_callback(AvahiEntryGroup*, AvahiEntryGroupState state, void* userdata) {
        auto* self = static_cast<Impl*>(userdata);
        if (state == AVAHI_ENTRY_GROUP_COLLISION && !self->address_collided) {
            self->address_collided = true;
            self->set_error("host name " + self->device_name +
                            ".local is taken on the network; services point at avahi's host name instead");
            {
                std::lock_guard lock(self->stats_mutex);
                ++self->counters.collisions;
            }
            // Re-register the services with the daemon's host name, outside this callback
            // (it must not free the group it is called for).
            const AvahiPoll* api = avahi_threaded_poll_get(self->poll);
            timeval now{};
            avahi_elapse_time(&now, 0, 0);
            if (self->reregister)
                api->timeout_update(self->reregister, &now);
            else
                self->reregister = api->timeout_new(api, &now, &Impl::reregister_callback, self);
        }
    }

    static void reregister_callback(AvahiTimeout* timeout, void* userdata) {
        auto* self = static_cast<Impl*>(userdata);
        avahi_threaded_poll_get(self->poll)->timeout_update(timeout, nullptr);
        if (self->client && avahi_client_get_state(self->client) == AVAHI_CLIENT_S_RUNNING) self->register_all();
    }

    static void group_callback(AvahiEntryGroup*, AvahiEntryGroupState state, void* userdata) {
        auto* group = static_cast<Group*>(userdata);
        Impl* self = group->owner;
        switch (state) {
            case AVAHI_ENTRY_GROUP_ESTABLISHED:
                self->set_group_state(group->index, GroupState::established);
                self->update_published_state();
                break;
            case AVAHI_ENTRY_GROUP_COLLISION: {
                const ServiceRecord& record = self->records[group->index];
                self->set_error("name collision: " + record.instance + "." + record.type +
                                " is already announced by another host; keeping our name, instance withdrawn");
                {
                    std::lock_guard lock(self->stats_mutex);
                    ++self->counters.collisions;
                }
                self->set_group_state(group->index, GroupState::collided);
                self->update_published_state();
                break;
            }
            case AVAHI_ENTRY_GROUP_FAILURE:
                self->set_error(std::string("entry group failure: ") +
                                avahi_strerror(avahi_client_errno(self->client)));
                self->set_group_state(group->index, GroupState::failed);
                self->update_published_state();
                break;
            case AVAHI_ENTRY_GROUP_UNCOMMITED:
            case AVAHI_ENTRY_GROUP_REGISTERING:
                break;
        }
    }

    void update_published_state() {
        std::lock_guard lock(stats_mutex);
        bool all = true;
        bool collided = false;
        uint64_t registered = 0;
        for (GroupState s : group_states) {
            if (s == GroupState::established) ++registered;
            if (s == GroupState::collided) collided = true;
            if (s != GroupState::established) all = false;
        }
        counters.registered = registered;
        client_state = collided ? "collision" : (all ? "published" : "registering");
    }

    void withdraw_all() {
        for (auto& group : groups)
            if (group->group) avahi_entry_group_free(group->group);
        groups.clear();
        if (address_group) avahi_entry_group_free(address_group);
        address_group = nullptr;
        std::lock_guard lock(stats_mutex);
        group_states.clear();
        counters.registered = 0;
    }

    static AvahiStringList* txt_list(const ServiceRecord& record) {
        AvahiStringList* txt = nullptr;
        // add() prepends, hence the reverse walk. Avahi refuses empty TXT strings
        // ("Invalid record"): Inferno's two trailing empty strings on the CMC service
        // are left out (Inferno itself doubts they are needed).
        for (auto it = record.txt.rbegin(); it != record.txt.rend(); ++it)
            if (!it->empty()) txt = avahi_string_list_add(txt, it->c_str());
        return txt;
    }

    // Registers records[i] in a new entry group (its state: pending, or why it failed).
    std::unique_ptr<Group> add_group(size_t i) {
        const ServiceRecord& record = records[i];
        auto group = std::make_unique<Group>();
        group->owner = this;
        group->index = i;
        group->group = avahi_entry_group_new(client, &Impl::group_callback, group.get());
        if (!group->group) {
            set_error(std::string("cannot create entry group: ") + avahi_strerror(avahi_client_errno(client)));
            set_group_state(i, GroupState::failed);
            return group;
        }
        AvahiStringList* txt = txt_list(record);
        int r = avahi_entry_group_add_service_strlst(group->group, interface_index, AVAHI_PROTO_INET,
                                                     static_cast<AvahiPublishFlags>(0), record.instance.c_str(),
                                                     record.type.c_str(), nullptr, target.empty() ? nullptr : target.c_str(),
                                                     record.port, txt);
        avahi_string_list_free(txt);
        if (r == 0) r = avahi_entry_group_commit(group->group);
        if (r == AVAHI_ERR_COLLISION) {
            set_error("name collision: " + record.instance + "." + record.type +
                      " is already registered on this host; keeping our name, instance withdrawn");
            std::lock_guard lock(stats_mutex);
            ++counters.collisions;
            if (i < group_states.size()) group_states[i] = GroupState::collided;
        } else if (r != 0) {
            set_error("cannot publish " + record.instance + "." + record.type + ": " + avahi_strerror(r));
            set_group_state(i, GroupState::failed);
        }
        return group;
    }

    // Replaces the published set by `next` touching only what differs, for a change that
    // keeps the device name (a multicast flow came or went): an instance still in the set
    // keeps its entry group (a TXT change is announced in place, no goodbye), one no longer
    // in it is withdrawn, a new one registered. Receivers that resolved a channel are not
    // told it went away and came back. False (nothing changed) when this does not apply:
    // then register_all() starts over.
    bool update_in_place(std::vector<ServiceRecord>& next) {
        if (!client || avahi_client_get_state(client) != AVAHI_CLIENT_S_RUNNING || !daemon_ours ||
            groups.size() != records.size())
            return false;
        std::vector<std::unique_ptr<Group>> kept(next.size());
        std::vector<GroupState> states(next.size(), GroupState::pending);
        std::vector<GroupState> old_states;
        {
            std::lock_guard lock(stats_mutex);
            old_states = group_states;
        }
        if (old_states.size() != groups.size()) return false;
        for (size_t j = 0; j < next.size(); ++j) {
            for (size_t i = 0; i < groups.size(); ++i) {
                const ServiceRecord& old = records[i];
                // Collided or failed instances are not kept: registering them again is the
                // retry register_all() would make too.
                if (!groups[i] || !groups[i]->group || old.type != next[j].type || old.instance != next[j].instance ||
                    old.host_label != next[j].host_label || old.port != next[j].port ||
                    (old_states[i] != GroupState::established && old_states[i] != GroupState::pending))
                    continue;
                if (old.txt != next[j].txt) {
                    AvahiStringList* txt = txt_list(next[j]);
                    const int r = avahi_entry_group_update_service_txt_strlst(
                        groups[i]->group, interface_index, AVAHI_PROTO_INET, static_cast<AvahiPublishFlags>(0),
                        next[j].instance.c_str(), next[j].type.c_str(), nullptr, txt);
                    avahi_string_list_free(txt);
                    if (r != 0) break;  // registered anew below
                }
                groups[i]->index = j;
                states[j] = old_states[i];
                kept[j] = std::move(groups[i]);
                break;
            }
        }
        for (auto& group : groups)  // no longer in the set: withdrawn (goodbye packets)
            if (group && group->group) avahi_entry_group_free(group->group);
        groups.clear();
        records = std::move(next);
        {
            std::lock_guard lock(stats_mutex);
            group_states = states;
        }
        for (size_t j = 0; j < records.size(); ++j) groups.push_back(kept[j] ? std::move(kept[j]) : add_group(j));
        update_published_state();
        return true;
    }

    void register_all() {
        withdraw_all();
        if (!client || avahi_client_get_state(client) != AVAHI_CLIENT_S_RUNNING || !daemon_ours) return;
        {
            std::lock_guard lock(stats_mutex);
            group_states.assign(records.size(), GroupState::pending);
            client_state = "registering";
        }

        // SRV target: "<device>.local" with our own A record, unless avahi already answers
        // for that name (its host name is the device name) or our record collided.
        const char* avahi_host = avahi_client_get_host_name(client);
        const bool avahi_is_device = avahi_host && strcasecmp(avahi_host, device_name.c_str()) == 0;
        std::string host = device_name + ".local";
        target.clear();
        if (!avahi_is_device && !address_collided && !device_name.empty()) {
            address_group = avahi_entry_group_new(client, &Impl::address_callback, this);
            AvahiAddress address{};
            address.proto = AVAHI_PROTO_INET;
            address.data.ipv4.address = htonl(ipv4);
            int r = address_group ? avahi_entry_group_add_address(address_group, interface_index, AVAHI_PROTO_INET,
                                                                  AVAHI_PUBLISH_NO_REVERSE, host.c_str(), &address)
                                  : avahi_client_errno(client);
            if (r == 0) r = avahi_entry_group_commit(address_group);
            if (r == 0) {
                target = host;
            } else {
                set_error("cannot publish " + host + ": " + avahi_strerror(r) + "; using avahi's host name");
                if (address_group) avahi_entry_group_free(address_group);
                address_group = nullptr;
            }
        }

        for (size_t i = 0; i < records.size(); ++i) groups.push_back(add_group(i));
        update_published_state();
    }
};

AvahiPublisher::AvahiPublisher(int interface_index, uint32_t ipv4, Logger log)
    : impl_(std::make_unique<Impl>(interface_index, ipv4, std::move(log))) {}

AvahiPublisher::~AvahiPublisher() { stop(); }

bool AvahiPublisher::start(std::vector<ServiceRecord> records, std::string device_name) {
    if (impl_->poll) return true;
    impl_->records = std::move(records);
    impl_->device_name = std::move(device_name);
    impl_->poll = avahi_threaded_poll_new();
    if (!impl_->poll) {
        impl_->set_client_state("unavailable");
        impl_->set_error("cannot create the Avahi poll thread");
        return false;
    }
    avahi_threaded_poll_lock(impl_->poll);
    impl_->set_client_state("unavailable");
    impl_->create_client();
    avahi_threaded_poll_unlock(impl_->poll);
    if (avahi_threaded_poll_start(impl_->poll) < 0) {
        impl_->set_error("cannot start the Avahi poll thread");
        stop();
        return false;
    }
    return true;
}

void AvahiPublisher::republish(std::vector<ServiceRecord> records, std::string device_name) {
    if (!impl_->poll) return;
    avahi_threaded_poll_lock(impl_->poll);
    {
        std::lock_guard lock(impl_->stats_mutex);
        ++impl_->counters.republishes;
    }
    // Same name (a multicast flow came or went): only what changed. A rename changes every
    // instance and the host name: all again.
    if (device_name != impl_->device_name || !impl_->update_in_place(records)) {
        if (device_name != impl_->device_name) impl_->address_collided = false;  // a new host name to try
        impl_->records = std::move(records);
        impl_->device_name = std::move(device_name);
        impl_->register_all();  // no-op until the client runs; the running callback registers then
    }
    avahi_threaded_poll_unlock(impl_->poll);
}

void AvahiPublisher::stop() {
    if (!impl_->poll) return;
    avahi_threaded_poll_stop(impl_->poll);
    impl_->withdraw_all();
    if (impl_->retry) avahi_threaded_poll_get(impl_->poll)->timeout_free(impl_->retry);
    impl_->retry = nullptr;
    if (impl_->reregister) avahi_threaded_poll_get(impl_->poll)->timeout_free(impl_->reregister);
    impl_->reregister = nullptr;
    if (impl_->recheck) avahi_threaded_poll_get(impl_->poll)->timeout_free(impl_->recheck);
    impl_->recheck = nullptr;
    impl_->daemon_ours = false;
    if (impl_->client) avahi_client_free(impl_->client);
    impl_->client = nullptr;
    avahi_threaded_poll_free(impl_->poll);
    impl_->poll = nullptr;
    impl_->set_client_state("stopped");
}

MdnsStats AvahiPublisher::stats() const {
    std::lock_guard lock(impl_->stats_mutex);
    MdnsStats s = impl_->counters;
    s.state = impl_->client_state;
    return s;
}

ConfigItems AvahiPublisher::properties() const {
    const MdnsStats s = stats();
    ConfigItems items{
        {"dante.mdns.backend", "avahi"},
        {"dante.mdns.state", s.state},
        {"dante.mdns.services", std::to_string(s.registered)},
        {"dante.mdns.collisions", std::to_string(s.collisions)},
        {"dante.mdns.reconnects", std::to_string(s.reconnects)},
    };
    if (!s.last_error.empty()) items.emplace_back("dante.mdns.last-error", s.last_error);
    return items;
}

}  // namespace dante::control
