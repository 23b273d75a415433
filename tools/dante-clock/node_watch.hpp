#pragma once
// Finds the Dante sink node in a PipeWire session and follows its properties.
//
// Binds every Node global (the registry only carries a few keys; the dante.* ones arrive
// with the node's info), and selects the first whose node.name equals `target`, or, with
// an empty target, the first that publishes dante.clock.media-ns. Every property update
// of the selected node (the sink re-publishes once a second and at every state change)
// is handed to the callback, on the main loop.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct pw_core;
struct pw_registry;
struct spa_hook;
struct spa_dict;

namespace dante::tools {

using Props = std::map<std::string, std::string>;

class NodeWatch {
public:
    using Callback = std::function<void(uint32_t id, const Props& props)>;
    using Removed = std::function<void(uint32_t id)>;

    NodeWatch(pw_core* core, std::string target, Callback on_props, Removed on_removed = {});
    ~NodeWatch();
    NodeWatch(const NodeWatch&) = delete;
    NodeWatch& operator=(const NodeWatch&) = delete;

    [[nodiscard]] uint32_t selected() const { return selected_; }
    [[nodiscard]] const std::string& target() const { return target_; }

    // Internal: the PipeWire listeners' entry points.
    struct Bound;
    static void on_global(void* data, uint32_t id, uint32_t permissions, const char* type, uint32_t version,
                          const ::spa_dict* props);
    static void on_global_remove(void* data, uint32_t id);
    void on_info(uint32_t id, const Props& props);

private:

    pw_core* core_;
    std::string target_;
    Callback on_props_;
    Removed on_removed_;
    pw_registry* registry_ = nullptr;
    std::unique_ptr<::spa_hook> registry_hook_;
    std::vector<std::unique_ptr<Bound>> nodes_;
    uint32_t selected_ = UINT32_MAX;
};

// CLOCK_MONOTONIC now, in ns.
int64_t monotonic_now_ns();

}  // namespace dante::tools
