#pragma once
// The set of active flows, handed from the control thread (one writer) to the transmitter
// thread (one reader) without locks.
//
// Scheme: the writer never changes a published table. To change anything it builds a new
// FlowTable with the next generation number and swaps the atomic `current_` pointer to it;
// the old one goes on a retired list. The reader, each time round its loop, loads
// `current_` and then announces the generation of the table it loaded in `reader_gen_`.
// The reader uses only that table until its next acquire().
//
// Why it is safe to free a retired table T when T.generation < reader_gen_: generations
// only grow, and an announcement is always the generation of a table the reader already
// loaded. So the reader's current table (or the one it is loading right now, before
// announcing it) has a generation >= the announced value > T's: it can no longer be
// holding T. The release store of the announcement orders the reader's last reads of its
// previous table before it; the writer's acquire load of it orders the delete after them.
// A retired table whose generation is >= the announcement simply waits for a later
// reclaim(). The current table is never freed while current.
//
// Sockets: entries hold a shared_ptr to their flow's socket. The reader only reads the
// file descriptor through it (never copies the shared_ptr, so no refcount traffic on the
// real-time thread); the socket closes when the last table naming it is deleted, which is
// on the writer's thread, after the reader has moved past it.

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "flows/flow_spec.hpp"
#include "net/udp_socket.hpp"

namespace dante {

struct FlowEntry {
    FlowSpec spec;
    std::shared_ptr<const UdpSocket> socket;  // connected to spec.destination; may be null in tests
};

struct FlowTable {
    uint64_t generation = 0;
    std::vector<FlowEntry> entries;  // at most max_flows
};

class FlowTablePublisher {
public:
    explicit FlowTablePublisher(size_t max_flows);
    ~FlowTablePublisher();
    FlowTablePublisher(const FlowTablePublisher&) = delete;
    FlowTablePublisher& operator=(const FlowTablePublisher&) = delete;

    // Writer (control thread). Entries beyond max_flows are dropped. Returns the new
    // generation. Also reclaims what it can.
    uint64_t publish(std::vector<FlowEntry> entries);
    // Free retired tables the reader cannot see any more; returns how many remain retired.
    size_t reclaim();
    // Free every retired table. Only when no reader thread is running (it was joined).
    void reclaim_all() { retired_.clear(); }
    [[nodiscard]] size_t retired() const { return retired_.size(); }
    [[nodiscard]] size_t max_flows() const { return max_flows_; }

    // Reader (the one transmitter thread). The reference stays valid until the next
    // acquire() by the same thread. Wait-free, no allocation.
    const FlowTable& acquire();

    // Any thread: the published table's size (for node properties).
    [[nodiscard]] size_t published_size() const { return published_size_.load(std::memory_order_relaxed); }

private:
    size_t max_flows_;
    std::atomic<const FlowTable*> current_;
    std::atomic<uint64_t> reader_gen_{0};
    std::atomic<size_t> published_size_{0};
    uint64_t next_generation_ = 1;
    std::vector<std::unique_ptr<const FlowTable>> retired_;  // writer only
    std::unique_ptr<const FlowTable> owned_current_;        // writer only
};

}  // namespace dante
