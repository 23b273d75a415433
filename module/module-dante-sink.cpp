// libpipewire-module-dante-sink: configures one Dante device: its transmitter sink and,
// with dante.rx.channels, its receiver source.
//
// Thin glue: it validates the args (so a mistake refuses the load with a message that
// names the arg), then asks PipeWire's "adapter" factory to wrap our SPA nodes
// (api.dante.sink, then api.dante.source) so they get audioconvert's volume, mute and
// channel mixing like any other. The SPA nodes own the Device (the sink creates it, the
// source shares it through a key only this module instance uses); this module only owns
// the adapter nodes. Both are in one node.group, so the sink drives the source's cycles:
// one media clock for both directions.

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "config/device_config.hpp"
#include "node_keys.hpp"  // spa-plugin/: the keys and factory names the plugin reads

#include <pipewire/impl.h>
#include <pipewire/pipewire.h>
#include <spa/utils/result.h>

PW_LOG_TOPIC_STATIC(dante_module_topic, "mod.dante-sink");
#define PW_LOG_TOPIC_DEFAULT dante_module_topic

namespace {

struct ModuleData;

// One adapter node of ours and its listener.
struct OwnedNode {
    ModuleData* module = nullptr;
    pw_impl_node* node = nullptr;
    spa_hook listener{};
};

struct ModuleData {
    pw_context* context = nullptr;
    pw_impl_module* module = nullptr;
    OwnedNode sink;
    OwnedNode source;  // only with dante.rx.channels
    pw_core* core = nullptr;  // only in a separate process: the connection we export through
    spa_hook module_listener{};
};

std::string default_device_name() {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0) {
        std::string name = dante::sanitize_device_name(host);
        if (dante::is_valid_device_name(name)) return name;
    }
    return "pipewire-dante";
}

void set_default(pw_properties* props, const char* key, const std::string& value) {
    if (pw_properties_get(props, key) == nullptr) pw_properties_set(props, key, value.c_str());
}

std::string position_list(const dante::DeviceConfig& cfg) {
    std::string list = "[";
    for (const auto& name : cfg.positions) list += " " + name;
    return list + " ]";
}

void on_node_destroy(void* data) {
    auto* owned = static_cast<OwnedNode*>(data);
    spa_hook_remove(&owned->listener);
    owned->node = nullptr;
}

const pw_impl_node_events kNodeEvents = {
    .version = PW_VERSION_IMPL_NODE_EVENTS,
    .destroy = on_node_destroy,
};

void on_module_destroy(void* data) {
    auto* d = static_cast<ModuleData*>(data);
    spa_hook_remove(&d->module_listener);
    if (d->core) pw_core_disconnect(d->core);  // withdraws the exported nodes from the server
    // The source first: it shares the sink's Device, which goes with the last of the two.
    for (OwnedNode* owned : {&d->source, &d->sink}) {
        if (owned->node == nullptr) continue;
        spa_hook_remove(&owned->listener);
        pw_impl_node_destroy(owned->node);  // unloads the SPA handle (the sink's stops the Device)
        owned->node = nullptr;
    }
    delete d;
}

const pw_impl_module_events kModuleEvents = {
    .version = PW_VERSION_IMPL_MODULE_EVENTS,
    .destroy = on_module_destroy,
};

// The usage string lists the args from their one table (src/config/device_config.cpp).
void publish_module_info(pw_impl_module* module) {
    const std::string usage = dante::module_usage();
    const spa_dict_item items[] = {
        {PW_KEY_MODULE_AUTHOR, "pipewire-dante contributors"},
        {PW_KEY_MODULE_DESCRIPTION, "A Dante transmitter sink, driven by the network's media clock"},
        {PW_KEY_MODULE_USAGE, usage.c_str()},
        {PW_KEY_MODULE_VERSION, "0.1.0"},
    };
    const spa_dict info = SPA_DICT_INIT(items, SPA_N_ELEMENTS(items));
    pw_impl_module_update_properties(module, &info);
}

// The properties of the receiver source: its own names, the device's RX format, and the
// key and group that tie it to the sink.
pw_properties* source_properties(const dante::DeviceConfig& cfg, const std::string& key, const std::string& group) {
    pw_properties* props = pw_properties_new(nullptr, nullptr);
    if (props == nullptr) return nullptr;
    pw_properties_set(props, PW_KEY_NODE_NAME, ("dante_source." + cfg.device_name).c_str());
    pw_properties_set(props, PW_KEY_NODE_DESCRIPTION, dante::source_description_for(cfg.device_name).c_str());
    pw_properties_set(props, PW_KEY_MEDIA_CLASS, "Audio/Source");
    pw_properties_set(props, PW_KEY_PRIORITY_SESSION, "600");
    pw_properties_set(props, "node.group", group.c_str());
    pw_properties_set(props, SPA_KEY_FACTORY_NAME, dante::spa::kSourceFactoryName);
    pw_properties_set(props, dante::spa::kDeviceKeyProperty, key.c_str());
    pw_properties_set(props, "dante.device-name", cfg.device_name.c_str());
    pw_properties_setf(props, PW_KEY_AUDIO_CHANNELS, "%u", cfg.rx_channels);
    pw_properties_setf(props, PW_KEY_AUDIO_RATE, "%u", cfg.rate);
    pw_properties_setf(props, PW_KEY_NODE_FORCE_RATE, "%u", cfg.rate);
    std::string positions = "[";
    for (uint32_t c = 0; c < cfg.rx_channels; ++c) positions += " AUX" + std::to_string(c);
    pw_properties_set(props, "audio.position", (positions + " ]").c_str());
    return props;
}

// The adapter around one of our SPA nodes; takes `props`. errno is set on failure.
bool create_node(pw_impl_factory* adapter, pw_properties* props, OwnedNode& owned, ModuleData* module) {
    // The adapter factory takes ownership of props, also on failure.
    owned.node = static_cast<pw_impl_node*>(
        pw_impl_factory_create_object(adapter, nullptr, PW_TYPE_INTERFACE_Node, PW_VERSION_NODE, props, 0));
    if (owned.node == nullptr) return false;
    owned.module = module;
    pw_impl_node_add_listener(owned.node, &owned.listener, &kNodeEvents, &owned);
    return true;
}

}  // namespace

extern "C" SPA_EXPORT int pipewire__module_init(pw_impl_module* module, const char* args) {
    pw_context* context = pw_impl_module_get_context(module);
    PW_LOG_TOPIC_INIT(dante_module_topic);

    pw_properties* props = pw_properties_new_string(args ? args : "");
    if (props == nullptr) {
        pw_log_error("dante-sink: cannot parse the module arguments: %s", args ? args : "");
        return -EINVAL;
    }

    dante::ConfigItems items;
    const spa_dict_item* item;
    spa_dict_for_each(item, &props->dict) items.emplace_back(item->key, item->value ? item->value : "");

    dante::ConfigResult parsed;
    try {
        parsed = dante::parse_device_config(items, default_device_name(), dante::UnknownKeys::reject);
    } catch (const std::exception& e) {
        parsed.error = e.what();
    }
    if (!parsed.config) {
        pw_log_error("dante-sink: refusing to load: %s", parsed.error.c_str());
        pw_properties_free(props);
        return -EINVAL;
    }
    const dante::DeviceConfig& cfg = *parsed.config;
    if (cfg.rx_channels > 0 && cfg.interface.empty()) {
        pw_log_error("dante-sink: refusing to load: dante.rx.channels needs dante.interface (the network to receive "
                     "from); name one, or leave dante.rx.channels at 0");
        pw_properties_free(props);
        return -EINVAL;
    }

    // What makes it a normal, selectable sink; the user's own node.* args win.
    set_default(props, PW_KEY_NODE_NAME, "dante_sink." + cfg.device_name);
    // The SPA node replaces it with the current name (state file, renames) unless set here.
    set_default(props, PW_KEY_NODE_DESCRIPTION, dante::node_description_for(cfg.device_name));
    set_default(props, PW_KEY_MEDIA_CLASS, "Audio/Sink");
    set_default(props, PW_KEY_PRIORITY_DRIVER, "1500");
    set_default(props, PW_KEY_PRIORITY_SESSION, "600");
    pw_properties_set(props, PW_KEY_NODE_DRIVER, "true");
    // Ties the source (if any) to this sink: the key finds the Device, the group makes the
    // sink drive the source's cycles.
    const std::string group = "dante." + cfg.device_name;
    char key[64];
    std::snprintf(key, sizeof key, "module-%p", static_cast<void*>(module));
    if (cfg.rx_channels > 0) {
        set_default(props, "node.group", group);
        pw_properties_set(props, dante::spa::kDeviceKeyProperty, key);
    }
    // The network decides the rate: the graph runs at it while we drive.
    pw_properties_setf(props, PW_KEY_NODE_FORCE_RATE, "%u", cfg.rate);
    pw_properties_set(props, SPA_KEY_FACTORY_NAME, dante::spa::kSinkFactoryName);
    pw_properties_set(props, "dante.device-name", cfg.device_name.c_str());
    pw_properties_setf(props, PW_KEY_AUDIO_CHANNELS, "%u", cfg.channels);
    pw_properties_setf(props, PW_KEY_AUDIO_RATE, "%u", cfg.rate);
    pw_properties_set(props, "audio.position", position_list(cfg).c_str());

    // The transmitter thread asks for real-time priority through the same thread utilities
    // as PipeWire's data threads (module-rt: rtkit on a desktop, else RLIMIT_RTPRIO).
    if (void* utils = pw_context_get_object(context, SPA_TYPE_INTERFACE_ThreadUtils))
        pw_properties_setf(props, dante::spa::kThreadUtilsKey, "pointer:%p", utils);

    if (pw_context_find_spa_lib(context, dante::spa::kSinkFactoryName) == nullptr)
        pw_context_add_spa_lib(context, "api.dante.*", "dante/libspa-dante");

    pw_impl_factory* adapter = pw_context_find_factory(context, "adapter");
    if (adapter == nullptr) {
        pw_log_error("dante-sink: the \"adapter\" factory is missing: load libpipewire-module-adapter first");
        pw_properties_free(props);
        return -ENOENT;
    }

    // Inside the PipeWire daemon the node registers like any other. Anywhere else (a
    // separate `pipewire -c dante-sink.conf` process, pw-cli's load-module) it is exported
    // to the server over a connection of our own, as pw_stream does with its node.
    const bool in_daemon = pw_properties_get_bool(pw_context_get_properties(context), "core.daemon", false);
    if (!in_daemon) pw_properties_set(props, PW_KEY_OBJECT_REGISTER, "false");

    // The source's properties before the sink takes `props`; the sink must exist first (it
    // creates the Device the source finds by key).
    pw_properties* source_props = cfg.rx_channels > 0 ? source_properties(cfg, key, group) : nullptr;
    if (!in_daemon && source_props != nullptr) pw_properties_set(source_props, PW_KEY_OBJECT_REGISTER, "false");

    auto* data = new ModuleData();
    data->context = context;
    data->module = module;
    pw_impl_module_add_listener(module, &data->module_listener, &kModuleEvents, data);
    if (!create_node(adapter, props, data->sink, data)) {
        const int res = errno != 0 ? -errno : -EIO;
        pw_log_error("dante-sink: could not create the sink node: %s (see the dante-sink error above)",
                     spa_strerror(res));
        if (source_props != nullptr) pw_properties_free(source_props);
        on_module_destroy(data);
        return res;
    }
    if (source_props != nullptr && !create_node(adapter, source_props, data->source, data)) {
        const int res = errno != 0 ? -errno : -EIO;
        pw_log_error("dante-sink: could not create the source node: %s (see the dante-source error above)",
                     spa_strerror(res));
        on_module_destroy(data);
        return res;
    }

    if (!in_daemon) {
        data->core = pw_context_connect(context, nullptr, 0);
        for (OwnedNode* owned : {&data->sink, &data->source}) {
            if (owned->node == nullptr) continue;
            if (data->core == nullptr ||
                pw_core_export(data->core, PW_TYPE_INTERFACE_Node, nullptr, owned->node, 0) == nullptr) {
                const int res = errno != 0 ? -errno : -EIO;
                pw_log_error("dante-sink: cannot reach the PipeWire server to export the nodes: %s",
                             spa_strerror(res));
                on_module_destroy(data);  // also removes the module listener again
                return res;
            }
            pw_impl_node_set_active(owned->node, true);
        }
    }

    publish_module_info(module);
    pw_log_info("dante-sink: %s ready, %u TX and %u RX channels at %u Hz, clock %s", cfg.device_name.c_str(),
                cfg.channels, cfg.rx_channels, cfg.rate, cfg.clock_source.describe().c_str());
    return 0;
}
