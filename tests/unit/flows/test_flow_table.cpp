#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "flows/flow_table.hpp"

using namespace dante;

namespace {

// A table whose contents are a function of its generation, so the reader can check it
// is looking at a whole, live table (ASan catches reads of a freed one).
std::vector<FlowEntry> entries_for(uint64_t generation) {
    std::vector<FlowEntry> entries(generation % 5);
    for (auto& e : entries) e.spec.version = static_cast<uint32_t>(generation);
    return entries;
}

}  // namespace

TEST_CASE("a fresh publisher holds an empty table") {
    FlowTablePublisher pub(4);
    const FlowTable& t = pub.acquire();
    CHECK(t.entries.empty());
    CHECK(t.generation == 1);
    CHECK(pub.published_size() == 0);
}

TEST_CASE("publish swaps tables; old ones are freed once the reader moved on") {
    FlowTablePublisher pub(3);
    const FlowTable& first = pub.acquire();
    CHECK(first.generation == 1);
    const uint64_t g2 = pub.publish(std::vector<FlowEntry>(2));
    CHECK(g2 == 2);
    CHECK(pub.published_size() == 2);
    // The reader still announces generation 1: table 1 stays.
    CHECK(pub.retired() == 1);
    CHECK(first.entries.empty());  // still readable
    pub.publish(std::vector<FlowEntry>(7));  // capped at max_flows
    CHECK(pub.published_size() == 3);
    CHECK(pub.retired() == 2);
    const FlowTable& now = pub.acquire();
    CHECK(now.generation == 3);
    CHECK(now.entries.size() == 3);
    CHECK(pub.reclaim() == 0);
}

TEST_CASE("concurrent reader never sees a freed or torn table") {
    FlowTablePublisher pub(8);
    std::atomic<bool> done{false};
    std::atomic<uint64_t> reads{0}, bad{0};
    std::thread reader([&] {
        uint64_t last = 0;
        while (!done.load(std::memory_order_acquire)) {
            const FlowTable& t = pub.acquire();
            if (t.generation < last) bad.fetch_add(1);
            last = t.generation;
            if (t.entries.size() != (t.generation == 1 ? 0 : t.generation % 5)) bad.fetch_add(1);
            for (const auto& e : t.entries)
                if (e.spec.version != t.generation) bad.fetch_add(1);
            reads.fetch_add(1, std::memory_order_relaxed);
        }
    });
    for (uint64_t g = 2; g < 20'000; ++g) {
        CHECK(pub.publish(entries_for(g)) == g);
        if (g % 64 == 0) std::this_thread::yield();
    }
    // Give the reader a chance to move to the last table, then everything older goes.
    while (pub.reclaim() != 0) std::this_thread::yield();
    done.store(true, std::memory_order_release);
    reader.join();
    CHECK(bad.load() == 0);
    CHECK(reads.load() > 0);
    CHECK(pub.retired() == 0);
}
