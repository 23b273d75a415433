#pragma once
// Single-writer sequence lock for a small trivially-copyable value.
//
// The writer (a clock thread, or the main loop) never waits; readers (the graph's data
// thread, the transmitter) never block the writer and retry only if a write overlapped
// their read. The value is stored as relaxed atomic words so a torn read is a detected
// retry, never a data race. The words are address-free lock-free atomics, so a SeqLock can
// also live in memory shared between processes (ptp/clock_page.hpp).

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <optional>
#include <type_traits>

namespace dante {

template <typename T>
class SeqLock {
    static_assert(std::is_trivially_copyable_v<T>);
    static constexpr size_t kWords = (sizeof(T) + sizeof(uint64_t) - 1) / sizeof(uint64_t);
    static_assert(std::atomic<uint64_t>::is_always_lock_free && std::atomic<uint32_t>::is_always_lock_free);

public:
    explicit SeqLock(const T& initial = T{}) { store(initial); }

    // Only one thread may call store().
    void store(const T& value) {
        std::array<uint64_t, kWords> words{};
        std::memcpy(words.data(), &value, sizeof(T));
        const uint32_t seq = sequence_.load(std::memory_order_relaxed);
        sequence_.store(seq + 1, std::memory_order_relaxed);  // odd: write in progress
        std::atomic_thread_fence(std::memory_order_release);
        for (size_t i = 0; i < kWords; ++i) words_[i].store(words[i], std::memory_order_relaxed);
        sequence_.store(seq + 2, std::memory_order_release);
    }

    // Wait-free for the writer, lock-free for readers.
    [[nodiscard]] T load() const {
        std::array<uint64_t, kWords> words{};
        for (;;) {
            const uint32_t before = sequence_.load(std::memory_order_acquire);
            if (before & 1u) continue;
            for (size_t i = 0; i < kWords; ++i) words[i] = words_[i].load(std::memory_order_relaxed);
            std::atomic_thread_fence(std::memory_order_acquire);
            if (sequence_.load(std::memory_order_relaxed) == before) break;
        }
        T value;
        std::memcpy(static_cast<void*>(&value), words.data(), sizeof(T));
        return value;
    }

    // load() with a bound: for a value another process writes (a shared-memory page),
    // whose writer may have died mid-write and left the sequence odd for ever. Empty after
    // `attempts` overlapped reads.
    [[nodiscard]] std::optional<T> try_load(int attempts) const {
        std::array<uint64_t, kWords> words{};
        for (int i = 0; i < attempts; ++i) {
            const uint32_t before = sequence_.load(std::memory_order_acquire);
            if (before & 1u) continue;
            for (size_t w = 0; w < kWords; ++w) words[w] = words_[w].load(std::memory_order_relaxed);
            std::atomic_thread_fence(std::memory_order_acquire);
            if (sequence_.load(std::memory_order_relaxed) != before) continue;
            T value;
            std::memcpy(static_cast<void*>(&value), words.data(), sizeof(T));
            return value;
        }
        return std::nullopt;
    }

private:
    std::atomic<uint32_t> sequence_{0};
    std::array<std::atomic<uint64_t>, kWords> words_{};
};

}  // namespace dante
