#pragma once
// Follows one interface (dante.interface) through the kernel's rtnetlink notifications, on
// a device's event loop: link up/down, carrier, IPv4 addresses added and removed, the
// interface disappearing and coming back.
//
// The parsing and the state are sans-I/O (net/rtnetlink_events.hpp,
// net/interface_tracker.hpp); this class owns only the NETLINK_ROUTE socket, the initial
// snapshot, and the re-read after the kernel dropped notifications (ENOBUFS).

#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include "io/event_loop.hpp"
#include "net/interface.hpp"
#include "net/interface_tracker.hpp"

namespace dante {

class LinkWatcher {
public:
    // Called on the loop thread whenever the state changes (not for the initial snapshot).
    using OnChange = std::function<void(const InterfaceState& before, const InterfaceState& now)>;

    LinkWatcher(io::EventLoop& loop, std::string name, OnChange on_change);
    ~LinkWatcher();
    LinkWatcher(const LinkWatcher&) = delete;
    LinkWatcher& operator=(const LinkWatcher&) = delete;

    // Subscribes, then reads the snapshot (in that order: a change in between is not
    // missed). False with `error` set if the socket cannot be opened.
    bool start(std::string& error);
    void stop();

    // The state after start(), and after each change (loop thread, or before start()).
    [[nodiscard]] const InterfaceState& state() const { return tracker_.state(); }
    [[nodiscard]] uint64_t malformed() const { return malformed_; }
    [[nodiscard]] uint64_t resyncs() const { return resyncs_; }

private:
    void on_readable();
    void resync();

    io::EventLoop& loop_;
    InterfaceTracker tracker_;
    OnChange on_change_;
    int fd_ = -1;
    uint64_t malformed_ = 0;
    uint64_t resyncs_ = 0;
    std::array<uint8_t, 16384> buffer_{};  // a notification is far smaller; a burst reads in a few
};

}  // namespace dante
