#include "flows/flow_table.hpp"

#include <algorithm>

namespace dante {

FlowTablePublisher::FlowTablePublisher(size_t max_flows) : max_flows_(max_flows), current_(nullptr) {
    auto first = std::make_unique<FlowTable>();
    first->generation = next_generation_++;
    current_.store(first.get(), std::memory_order_release);
    owned_current_ = std::move(first);
}

FlowTablePublisher::~FlowTablePublisher() = default;  // the reader thread is joined by then

uint64_t FlowTablePublisher::publish(std::vector<FlowEntry> entries) {
    if (entries.size() > max_flows_) entries.resize(max_flows_);
    auto table = std::make_unique<FlowTable>();
    table->generation = next_generation_++;
    table->entries = std::move(entries);
    const uint64_t generation = table->generation;
    published_size_.store(table->entries.size(), std::memory_order_relaxed);
    current_.store(table.get(), std::memory_order_release);
    retired_.push_back(std::move(owned_current_));
    owned_current_ = std::move(table);
    reclaim();
    return generation;
}

size_t FlowTablePublisher::reclaim() {
    const uint64_t in_use = reader_gen_.load(std::memory_order_acquire);
    std::erase_if(retired_, [in_use](const std::unique_ptr<const FlowTable>& t) { return t->generation < in_use; });
    return retired_.size();
}

const FlowTable& FlowTablePublisher::acquire() {
    const FlowTable* table = current_.load(std::memory_order_acquire);
    reader_gen_.store(table->generation, std::memory_order_release);
    return *table;
}

}  // namespace dante
