#include "ptp/clock_page.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

namespace dante::ptp {
namespace {

std::string errno_text() { return std::strerror(errno); }

}  // namespace

std::string clock_page_dir() {
    const char* dir = std::getenv("PIPEWIRE_DANTE_RUNTIME_DIR");
    return dir != nullptr && dir[0] == '/' ? std::string(dir) : std::string("/run/pipewire-dante");
}

std::string clock_page_path(const std::string& dir, const std::string& interface) {
    struct stat ns {};
    if (::stat("/proc/self/ns/net", &ns) != 0) return {};
    return dir + "/ptp." + std::to_string(static_cast<unsigned long long>(ns.st_ino)) + "." + interface;
}

ClockPageWriter::~ClockPageWriter() {
    if (page_ != nullptr) ::munmap(page_, kClockPageSize);
    if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

std::unique_ptr<ClockPageWriter> ClockPageWriter::create(const std::string& dir, const std::string& interface,
                                                         std::string& error) {
    std::unique_ptr<ClockPageWriter> writer(new ClockPageWriter());
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        error = "cannot create " + dir + ": " + errno_text();
        return nullptr;
    }
    writer->path_ = clock_page_path(dir, interface);
    if (writer->path_.empty()) {
        error = "cannot identify this network namespace (/proc/self/ns/net): " + errno_text();
        return nullptr;
    }
    const std::string lock_path = writer->path_ + ".lock";
    writer->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (writer->lock_fd_ < 0) {
        error = "cannot open " + lock_path + ": " + errno_text();
        return nullptr;
    }
    if (::flock(writer->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        error = errno == EWOULDBLOCK ? "another pipewire-dante-ptp already serves " + interface + " (" + lock_path + ")"
                                     : "cannot lock " + lock_path + ": " + errno_text();
        return nullptr;
    }

    // Built whole under a temporary name, then renamed into place: a reader never maps a
    // page whose header is not written yet.
    const std::string temp = writer->path_ + ".new";
    ::unlink(temp.c_str());
    const int fd = ::open(temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        error = "cannot create " + temp + ": " + errno_text();
        return nullptr;
    }
    ::fchmod(fd, 0644);  // whatever the umask: readable by every user, writable by us only
    void* memory = MAP_FAILED;
    if (::ftruncate(fd, kClockPageSize) == 0)
        memory = ::mmap(nullptr, kClockPageSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    const int map_errno = errno;
    ::close(fd);
    if (memory == MAP_FAILED) {
        ::unlink(temp.c_str());
        error = "cannot map " + temp + ": " + std::strerror(map_errno);
        return nullptr;
    }
    // (), not {}: clang refuses to aggregate-initialize the SeqLock, whose constructor is explicit.
    auto* page = new (memory) ClockPage();
    page->header.magic = kClockPageMagic;
    page->header.layout = kClockPageLayout;
    page->header.payload_size = sizeof(SharedPtpState);
    writer->page_ = page;
    if (::rename(temp.c_str(), writer->path_.c_str()) != 0) {
        error = "cannot move " + temp + " into place: " + errno_text();
        ::unlink(temp.c_str());
        return nullptr;
    }
    return writer;
}

void ClockPageWriter::withdraw() {
    if (!path_.empty()) ::unlink(path_.c_str());
}

ClockPageMapping::~ClockPageMapping() {
    if (page_ != nullptr) ::munmap(const_cast<ClockPage*>(page_), kClockPageSize);
}

std::unique_ptr<ClockPageMapping> ClockPageMapping::open(const std::string& path, std::string& error,
                                                         bool& missing) {
    missing = false;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        missing = errno == ENOENT;
        error = "cannot open " + path + ": " + errno_text();
        return nullptr;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != static_cast<off_t>(kClockPageSize) ||
        (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        ::close(fd);
        error = path + " is not a clock page (a 4 KiB regular file only its owner may write)";
        return nullptr;
    }
    void* memory = ::mmap(nullptr, kClockPageSize, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (memory == MAP_FAILED) {
        error = "cannot map " + path + ": " + errno_text();
        return nullptr;
    }
    std::unique_ptr<ClockPageMapping> mapping(new ClockPageMapping());
    mapping->page_ = static_cast<const ClockPage*>(memory);
    mapping->inode_ = st.st_ino;
    const ClockPageHeader& header = mapping->page_->header;
    if (header.magic != kClockPageMagic) {
        error = path + " is not a clock page (bad magic)";
        return nullptr;
    }
    if (header.layout != kClockPageLayout || header.payload_size != sizeof(SharedPtpState)) {
        error = path + " has page layout " + std::to_string(header.layout) + " (" +
                std::to_string(header.payload_size) + " bytes); this build reads layout " +
                std::to_string(kClockPageLayout) + " (" + std::to_string(sizeof(SharedPtpState)) +
                " bytes): the service and the module come from different versions";
        return nullptr;
    }
    return mapping;
}

bool plausible(const SharedPtpState& state, std::string& why) {
    const auto s = static_cast<unsigned>(state.clock.state);
    if (s > static_cast<unsigned>(ClockState::master)) {
        why = "unknown clock state " + std::to_string(s);
        return false;
    }
    if (!std::isfinite(state.clock.rate) || std::fabs(state.clock.rate - 1.0) > 0.001) {
        why = "implausible clock rate";
        return false;
    }
    if (std::memchr(state.grandmaster.data(), '\0', state.grandmaster.size()) == nullptr) {
        why = "unterminated grandmaster id";
        return false;
    }
    if (static_cast<unsigned>(state.status.port_state) > static_cast<unsigned>(PortState::master)) {
        why = "unknown port state";
        return false;
    }
    return true;
}

}  // namespace dante::ptp
