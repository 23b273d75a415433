#include "tx/ring_tap.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace dante {

RingTap::RingTap(const TxRings& rings, const std::string& path)
    : rings_(rings), file_(std::fopen(path.c_str(), "wb")) {
    if (!file_) throw std::runtime_error("cannot create ring tap file " + path + ": " + std::strerror(errno));
    thread_ = std::thread([this] { run(); });
}

RingTap::~RingTap() {
    stop_.store(true, std::memory_order_release);
    thread_.join();
    std::fclose(file_);
}

void RingTap::run() {
    // Polling keeps the real-time side free of any wake-up syscall. The rings hold over a
    // second of audio, so a few milliseconds of delay loses nothing.
    while (!stop_.load(std::memory_order_acquire)) {
        drain();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    drain();
}

void RingTap::drain() {
    std::vector<int32_t> plane;
    bool wrote = false;
    while (auto record = queue_.try_pop()) {
        const uint32_t channels = rings_.channels();
        const uint64_t position = record->position;
        const uint64_t nsec = static_cast<uint64_t>(record->nsec);
        const uint64_t wake = static_cast<uint64_t>(record->wake_ns);
        std::fwrite(&position, sizeof position, 1, file_);
        std::fwrite(&nsec, sizeof nsec, 1, file_);
        std::fwrite(&wake, sizeof wake, 1, file_);
        std::fwrite(&record->frames, sizeof record->frames, 1, file_);
        std::fwrite(&channels, sizeof channels, 1, file_);
        plane.resize(record->frames);
        for (uint32_t c = 0; c < channels; ++c) {
            rings_.read(c, position, plane);
            std::fwrite(plane.data(), sizeof(int32_t), plane.size(), file_);
        }
        wrote = true;
    }
    if (wrote) std::fflush(file_);
}

}  // namespace dante
