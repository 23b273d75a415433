// libpipewire-module-dante-sink: configures one Dante transmitter sink.
//
// Thin glue: it validates the args (so a mistake refuses the load with a message that
// names the arg), then asks PipeWire's "adapter" factory to wrap our SPA node
// (api.dante.sink) so the sink gets audioconvert's volume, mute and channel mixing like
// any other. The SPA node owns the Device; this module only owns the adapter node.

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "config/device_config.hpp"

#include <pipewire/impl.h>
#include <pipewire/pipewire.h>
#include <spa/utils/result.h>

PW_LOG_TOPIC_STATIC(dante_module_topic, "mod.dante-sink");
#define PW_LOG_TOPIC_DEFAULT dante_module_topic

namespace {

constexpr const char* kSpaFactory = "api.dante.sink";

struct ModuleData {
    pw_context* context = nullptr;
    pw_impl_module* module = nullptr;
    pw_impl_node* node = nullptr;
    pw_core* core = nullptr;  // only in a separate process: the connection we export through
    spa_hook module_listener{};
    spa_hook node_listener{};
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
    auto* d = static_cast<ModuleData*>(data);
    spa_hook_remove(&d->node_listener);
    d->node = nullptr;
}

const pw_impl_node_events kNodeEvents = {
    .version = PW_VERSION_IMPL_NODE_EVENTS,
    .destroy = on_node_destroy,
};

void on_module_destroy(void* data) {
    auto* d = static_cast<ModuleData*>(data);
    spa_hook_remove(&d->module_listener);
    if (d->core) pw_core_disconnect(d->core);  // withdraws the exported node from the server
    if (d->node) {
        spa_hook_remove(&d->node_listener);
        pw_impl_node_destroy(d->node);  // unloads the SPA handle, stopping the Device
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

    // What makes it a normal, selectable sink; the user's own node.* args win.
    set_default(props, PW_KEY_NODE_NAME, "dante_sink." + cfg.device_name);
    // The SPA node replaces it with the current name (state file, renames) unless set here.
    set_default(props, PW_KEY_NODE_DESCRIPTION, dante::node_description_for(cfg.device_name));
    set_default(props, PW_KEY_MEDIA_CLASS, "Audio/Sink");
    set_default(props, PW_KEY_PRIORITY_DRIVER, "1500");
    set_default(props, PW_KEY_PRIORITY_SESSION, "600");
    pw_properties_set(props, PW_KEY_NODE_DRIVER, "true");
    // The network decides the rate: the graph runs at it while we drive.
    pw_properties_setf(props, PW_KEY_NODE_FORCE_RATE, "%u", cfg.rate);
    pw_properties_set(props, SPA_KEY_FACTORY_NAME, kSpaFactory);
    pw_properties_set(props, "dante.device-name", cfg.device_name.c_str());
    pw_properties_setf(props, PW_KEY_AUDIO_CHANNELS, "%u", cfg.channels);
    pw_properties_setf(props, PW_KEY_AUDIO_RATE, "%u", cfg.rate);
    pw_properties_set(props, "audio.position", position_list(cfg).c_str());

    // The transmitter thread asks for real-time priority through the same thread utilities
    // as PipeWire's data threads (module-rt: rtkit on a desktop, else RLIMIT_RTPRIO).
    if (void* utils = pw_context_get_object(context, SPA_TYPE_INTERFACE_ThreadUtils))
        pw_properties_setf(props, "api.dante.thread-utils", "pointer:%p", utils);

    if (pw_context_find_spa_lib(context, kSpaFactory) == nullptr)
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

    auto* data = new ModuleData();
    data->context = context;
    data->module = module;
    // The adapter factory takes ownership of props, also on failure.
    data->node = static_cast<pw_impl_node*>(
        pw_impl_factory_create_object(adapter, nullptr, PW_TYPE_INTERFACE_Node, PW_VERSION_NODE, props, 0));
    if (data->node == nullptr) {
        const int res = errno != 0 ? -errno : -EIO;
        pw_log_error("dante-sink: could not create the sink node: %s (see the dante-sink error above)",
                     spa_strerror(res));
        delete data;
        return res;
    }
    pw_impl_node_add_listener(data->node, &data->node_listener, &kNodeEvents, data);
    pw_impl_module_add_listener(module, &data->module_listener, &kModuleEvents, data);

    if (!in_daemon) {
        data->core = pw_context_connect(context, nullptr, 0);
        if (data->core == nullptr ||
            pw_core_export(data->core, PW_TYPE_INTERFACE_Node, nullptr, data->node, 0) == nullptr) {
            const int res = errno != 0 ? -errno : -EIO;
            pw_log_error("dante-sink: cannot reach the PipeWire server to export the sink: %s", spa_strerror(res));
            on_module_destroy(data);  // also removes the module listener again
            return res;
        }
        pw_impl_node_set_active(data->node, true);
    }

    publish_module_info(module);
    pw_log_info("dante-sink: %s ready, %u channels at %u Hz, clock %s", cfg.device_name.c_str(), cfg.channels,
                cfg.rate, cfg.clock_source.describe().c_str());
    return 0;
}
