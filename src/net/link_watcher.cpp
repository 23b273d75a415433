#include "net/link_watcher.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>

namespace dante {

LinkWatcher::LinkWatcher(io::EventLoop& loop, std::string name, OnChange on_change)
    : loop_(loop), tracker_(std::move(name)), on_change_(std::move(on_change)) {}

LinkWatcher::~LinkWatcher() { stop(); }

bool LinkWatcher::start(std::string& error) {
    if (fd_ >= 0) return true;
    const int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    if (fd < 0) {
        error = std::string("cannot open a netlink socket: ") + std::strerror(errno);
        return false;
    }
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    local.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR;
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
        error = std::string("cannot subscribe to link and address changes: ") + std::strerror(errno);
        ::close(fd);
        return false;
    }
    fd_ = fd;
    loop_.invoke_sync([this] {
        tracker_.reset(read_interface_state(tracker_.name()));
        loop_.add_fd(fd_, [this](uint32_t) { on_readable(); });
    });
    return true;
}

void LinkWatcher::stop() {
    if (fd_ < 0) return;
    loop_.invoke_sync([this] { loop_.remove_fd(fd_); });
    ::close(fd_);
    fd_ = -1;
}

void LinkWatcher::on_readable() {
    for (;;) {
        sockaddr_nl sender{};
        socklen_t sender_size = sizeof sender;
        const ssize_t size = ::recvfrom(fd_, buffer_.data(), buffer_.size(), 0, reinterpret_cast<sockaddr*>(&sender),
                                        &sender_size);
        if (size < 0) {
            if (errno == ENOBUFS) {  // notifications were dropped: what we hold may be stale
                resync();
                continue;
            }
            return;  // EAGAIN: drained
        }
        if (sender.nl_pid != 0) continue;  // only the kernel speaks for the kernel
        const NetEvents parsed = parse_rtnetlink(std::span<const uint8_t>(buffer_.data(), static_cast<size_t>(size)));
        malformed_ += parsed.malformed;
        for (const NetEvent& event : parsed.events) {
            if (std::holds_alternative<Resync>(event)) {
                resync();
                continue;
            }
            const InterfaceState before = tracker_.state();
            if (tracker_.apply(event) && on_change_) on_change_(before, tracker_.state());
        }
    }
}

void LinkWatcher::resync() {
    ++resyncs_;
    const InterfaceState before = tracker_.state();
    tracker_.reset(read_interface_state(tracker_.name()));
    if (tracker_.state() != before && on_change_) on_change_(before, tracker_.state());
}

}  // namespace dante
