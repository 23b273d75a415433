#include "ptp/shared_ptp_clock.hpp"

#include <sys/stat.h>

#include <algorithm>

#include "util/clock_now.hpp"

namespace dante::ptp {
namespace {

bool fresh(const SharedPtpState& state, int64_t now) {
    return now - state.heartbeat_mono_ns <= SharedPtpClock::kStaleNs;
}

}  // namespace

SharedPtpClock::SharedPtpClock(std::string interface, std::string dir, std::string why_not_in_process,
                               Expectation expected)
    : interface_(std::move(interface)),
      path_(clock_page_path(dir, interface_)),
      why_not_in_process_(std::move(why_not_in_process)),
      expected_(expected) {
    update();
}

SharedPtpClock::~SharedPtpClock() = default;

bool SharedPtpClock::service_running(const std::string& interface, const std::string& dir) {
    const std::string path = clock_page_path(dir, interface);
    if (path.empty()) return false;
    std::string error;
    bool missing = false;
    auto page = ClockPageMapping::open(path, error, missing);
    if (!page) return false;
    const auto state = page->read(64);
    return state && plausible(*state, error) && fresh(*state, monotonic_now_ns());
}

ClockSnapshot SharedPtpClock::convert(const Mapping& mapping, const SharedPtpState& state) const {
    ClockSnapshot snap = state.clock;
    snap.generation += mapping.generation_offset;
    // A service that stopped writing is a leader that went silent: we run on its last line.
    if (stale_.load(std::memory_order_relaxed) && snap.state != ClockState::unsynchronized)
        snap.state = ClockState::holdover;
    return snap;
}

ClockSnapshot SharedPtpClock::snapshot() const {
    const Mapping* mapping = current_.load(std::memory_order_acquire);
    if (mapping == nullptr) return fallback_.load();
    const auto state = mapping->page->read();
    std::string why;
    if (!state || !plausible(*state, why)) return fallback_.load();
    return convert(*mapping, *state);
}

std::string SharedPtpClock::unit_name() const { return "pipewire-dante-ptp@" + interface_; }

void SharedPtpClock::map_if_new(int64_t now) {
    if (path_.empty()) {
        problem_ = "cannot identify this network namespace, so cannot find " + unit_name();
        return;
    }
    struct stat st {};
    const bool exists = ::stat(path_.c_str(), &st) == 0;
    if (exists && owned_ && st.st_ino == owned_->page->inode()) return;  // the page we have
    if (!exists && owned_) return;  // the service went away: keep its last page (holdover)
    std::string error;
    bool missing = false;
    auto page = exists ? ClockPageMapping::open(path_, error, missing) : nullptr;
    if (!page) {
        if (!exists || missing) {
            problem_ = "no PTP service on " + interface_ + ": start it with 'systemctl enable --now " + unit_name() +
                       "'";
            if (!why_not_in_process_.empty()) problem_ += " (this process cannot run PTP itself: " + why_not_in_process_ + ")";
        } else {
            problem_ = error;
        }
        return;
    }
    // A page nobody writes any more (a service that crashed long ago) is no clock to start on.
    const auto first = page->read(1000);
    std::string why;
    if (!first || !plausible(*first, why) || !fresh(*first, now)) {
        problem_ = unit_name() + " is not running (" + path_ + " is " +
                   (first ? why.empty() ? "not being written" : why : std::string("stuck mid-write")) + ")";
        return;
    }
    // A new service instance: its generations count from 0, ours move on past the last one
    // we published, so every client re-anchors.
    auto mapping = std::make_unique<Mapping>();
    mapping->page = std::move(page);
    mapping->generation_offset = have_state_ ? last_generation_ + 1 : 0;
    retired_ = std::move(owned_);
    owned_ = std::move(mapping);
    current_.store(owned_.get(), std::memory_order_release);
    have_state_ = false;
}

void SharedPtpClock::update() {
    const int64_t now = monotonic_now_ns();
    retired_.reset();  // a whole update period after it was replaced: no reader is left on it
    problem_.clear();
    map_if_new(now);
    if (!owned_) {
        provider_ = "none";
        return;
    }
    const auto state = owned_->page->read(1000);
    std::string why;
    if (!state) {
        problem_ = unit_name() + " left its page mid-write: holding over";
        stale_.store(true, std::memory_order_relaxed);
        return;
    }
    if (!plausible(*state, why)) {
        problem_ = path_ + ": " + why;
        stale_.store(true, std::memory_order_relaxed);
        return;
    }
    last_state_ = *state;
    have_state_ = true;
    provider_ = unit_name() + " (pid " + std::to_string(state->pid) + ")";
    const bool is_stale = !fresh(*state, now);
    stale_.store(is_stale, std::memory_order_relaxed);
    if (is_stale) {
        problem_ = unit_name() + " stopped " + std::to_string((now - state->heartbeat_mono_ns) / 1'000'000'000) +
                   " s ago: holding over on its last clock";
    } else if ((expected_.version != 0 && expected_.version != state->version) || expected_.domain != state->domain) {
        problem_ = unit_name() + " runs PTPv" + std::to_string(state->version) + " domain " +
                   std::to_string(state->domain) + ", not the configured " +
                   (expected_.version != 0 ? "PTPv" + std::to_string(expected_.version) + " " : std::string{}) +
                   "domain " + std::to_string(expected_.domain) +
                   ": its clock is used; set the service's --version/--domain in /etc/pipewire-dante/ptp-" +
                   interface_ + ".env";
    }
    const ClockSnapshot snap = convert(*owned_, *state);
    last_generation_ = std::max(last_generation_, snap.generation);
    fallback_.store(snap);
}

std::string SharedPtpClock::master_id() const {
    return have_state_ ? std::string(last_state_.grandmaster.data()) : std::string{};
}

std::vector<std::pair<std::string, std::string>> SharedPtpClock::properties() const {
    if (!have_state_) return {};
    const PtpVersion version = last_state_.version == 2 ? PtpVersion::v2 : PtpVersion::v1;
    return ptp_properties(version, last_state_.domain, last_state_.identity, last_state_.status,
                          std::string(last_state_.grandmaster.data()));
}

}  // namespace dante::ptp
