#include "node_watch.hpp"

#include <pipewire/pipewire.h>

#include <ctime>
#include <string_view>

namespace dante::tools {

struct NodeWatch::Bound {
    NodeWatch* owner = nullptr;
    uint32_t id = 0;
    pw_proxy* proxy = nullptr;
    spa_hook listener{};
    Props props;
};

namespace {

void on_node_info(void* data, const struct pw_node_info* info) {
    auto* bound = static_cast<NodeWatch::Bound*>(data);
    if (info == nullptr || info->props == nullptr || !(info->change_mask & PW_NODE_CHANGE_MASK_PROPS)) return;
    Props props;
    const struct spa_dict_item* item;
    spa_dict_for_each(item, info->props) props[item->key] = item->value ? item->value : "";
    bound->props = std::move(props);
    bound->owner->on_info(bound->id, bound->props);
}

const struct pw_node_events kNodeEvents = {
    .version = PW_VERSION_NODE_EVENTS,
    .info = on_node_info,
};

const struct pw_registry_events kRegistryEvents = {
    .version = PW_VERSION_REGISTRY_EVENTS,
    .global = &NodeWatch::on_global,
    .global_remove = &NodeWatch::on_global_remove,
};

}  // namespace

int64_t monotonic_now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

NodeWatch::NodeWatch(pw_core* core, std::string target, Callback on_props, Removed on_removed)
    : core_(core), target_(std::move(target)), on_props_(std::move(on_props)), on_removed_(std::move(on_removed)) {
    registry_ = pw_core_get_registry(core_, PW_VERSION_REGISTRY, 0);
    registry_hook_ = std::make_unique<::spa_hook>();
    *registry_hook_ = {};
    pw_registry_add_listener(registry_, registry_hook_.get(), &kRegistryEvents, this);
}

NodeWatch::~NodeWatch() {
    for (auto& node : nodes_) {
        spa_hook_remove(&node->listener);
        pw_proxy_destroy(node->proxy);
    }
    if (registry_) {
        spa_hook_remove(registry_hook_.get());
        pw_proxy_destroy(reinterpret_cast<pw_proxy*>(registry_));
    }
}

void NodeWatch::on_global(void* data, uint32_t id, uint32_t, const char* type, uint32_t, const ::spa_dict* props) {
    auto* self = static_cast<NodeWatch*>(data);
    if (type == nullptr || std::string_view(type) != PW_TYPE_INTERFACE_Node) return;
    if (!self->target_.empty() && props) {
        // the registry carries node.name: skip nodes that cannot be the target
        const char* name = spa_dict_lookup(props, PW_KEY_NODE_NAME);
        if (name && self->target_ != name) return;
    }
    auto bound = std::make_unique<Bound>();
    bound->owner = self;
    bound->id = id;
    bound->proxy = static_cast<pw_proxy*>(pw_registry_bind(self->registry_, id, PW_TYPE_INTERFACE_Node, PW_VERSION_NODE, 0));
    if (bound->proxy == nullptr) return;
    pw_proxy_add_object_listener(bound->proxy, &bound->listener, &kNodeEvents, bound.get());
    self->nodes_.push_back(std::move(bound));
}

void NodeWatch::on_global_remove(void* data, uint32_t id) {
    auto* self = static_cast<NodeWatch*>(data);
    for (auto it = self->nodes_.begin(); it != self->nodes_.end(); ++it) {
        if ((*it)->id != id) continue;
        spa_hook_remove(&(*it)->listener);
        pw_proxy_destroy((*it)->proxy);
        self->nodes_.erase(it);
        break;
    }
    if (id == self->selected_) {
        self->selected_ = UINT32_MAX;
        if (self->on_removed_) self->on_removed_(id);
    }
}

void NodeWatch::on_info(uint32_t id, const Props& props) {
    if (selected_ == UINT32_MAX) {
        auto name = props.find(PW_KEY_NODE_NAME);
        const bool match = target_.empty() ? props.count("dante.clock.media-ns") > 0
                                           : (name != props.end() && name->second == target_);
        if (!match) return;
        selected_ = id;
    }
    if (id == selected_ && on_props_) on_props_(id, props);
}

}  // namespace dante::tools
