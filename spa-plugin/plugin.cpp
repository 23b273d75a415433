// SPA entry point of libspa-dante: the "api.dante.sink" and "api.dante.source" factories.
//
// The host callocs get_size() bytes and calls init(); we keep a plain C handle there and
// put the C++ node behind a pointer, so nothing depends on the layout of a C++ class.
// The sink creates the Device; the source, created after it by the same module, shares it
// (device_registry.hpp).

#include <pthread.h>

#include <cstdio>
#include <new>
#include <string>

#include "config/device_config.hpp"
#include "dante_sink_node.hpp"
#include "dante_source_node.hpp"
#include "device_registry.hpp"
#include "node_keys.hpp"
#include "spa_headers.hpp"

namespace {

using dante::spa::DanteSinkNode;
using dante::spa::DanteSourceNode;
using dante::spa::kSinkFactoryName;
using dante::spa::kSourceFactoryName;
using dante::spa::kThreadUtilsKey;

constexpr uint32_t kDefaultQuantumLimit = 8192;

struct Handle {
    spa_handle handle;  // must stay first: the host casts between the two
    DanteSinkNode* sink;      // one of the two, as the factory made
    DanteSourceNode* source;
};

int get_interface(spa_handle* handle, const char* type, void** interface) {
    if (handle == nullptr || interface == nullptr) return -EINVAL;
    if (!spa_streq(type, SPA_TYPE_INTERFACE_Node)) return -ENOENT;
    auto* h = reinterpret_cast<Handle*>(handle);
    *interface = h->sink != nullptr ? h->sink->node() : h->source->node();
    return 0;
}

int clear(spa_handle* handle) {
    if (handle == nullptr) return -EINVAL;
    auto* h = reinterpret_cast<Handle*>(handle);
    delete h->sink;
    delete h->source;
    h->sink = nullptr;
    h->source = nullptr;
    return 0;
}

size_t get_size(const spa_handle_factory*, const spa_dict*) { return sizeof(Handle); }

dante::Logger logger_for(spa_log* log) {
    if (log == nullptr) return {};
    return dante::Logger([log](dante::LogLevel level, std::string_view topic, std::string_view message) {
        const int len = static_cast<int>(message.size());
        const int topic_len = static_cast<int>(topic.size());
        switch (level) {
            case dante::LogLevel::error: spa_log_error(log, "dante %.*s: %.*s", topic_len, topic.data(), len, message.data()); break;
            case dante::LogLevel::warn: spa_log_warn(log, "dante %.*s: %.*s", topic_len, topic.data(), len, message.data()); break;
            case dante::LogLevel::info: spa_log_info(log, "dante %.*s: %.*s", topic_len, topic.data(), len, message.data()); break;
        }
    });
}

const char* dict_value(const spa_dict* info, const char* key) {
    const char* value = info != nullptr ? spa_dict_lookup(info, key) : nullptr;
    return value != nullptr ? value : "";
}

// api.dante.source: the receiving side of the device the sink of the same module made.
int init_source(spa_handle* handle, const spa_dict* info, const spa_support* support, uint32_t n_support,
                spa_log* log) {
    const std::string key = dict_value(info, dante::spa::kDeviceKeyProperty);
    std::shared_ptr<dante::Device> device = key.empty() ? nullptr : dante::spa::find_device(key);
    if (!device) {
        spa_log_error(log, "dante-source: no Dante device with %s '%s': the module creates the sink first",
                      dante::spa::kDeviceKeyProperty, key.c_str());
        return -ENOENT;
    }
    if (device->receiver() == nullptr) {
        spa_log_error(log, "dante-source: device '%s' has no RX channels (dante.rx.channels) or no interface",
                      device->config().device_name.c_str());
        return -EINVAL;
    }
    uint32_t quantum_limit = kDefaultQuantumLimit;
    spa_atou32(dict_value(info, "clock.quantum-limit"), &quantum_limit, 0);
    const std::string description = dict_value(info, dante::spa::kNodeDescriptionKey);
    const bool manage_description =
        description.empty() || description == dante::source_description_for(device->config().device_name);
    try {
        auto* node = new DanteSourceNode(std::move(device), support, n_support, quantum_limit, manage_description);
        if (!node->ready()) {
            delete node;
            spa_log_error(log, "dante-source: the host gave no data loop or main loop utils");
            return -EINVAL;
        }
        reinterpret_cast<Handle*>(handle)->source = node;
    } catch (const std::bad_alloc&) {
        return -ENOMEM;
    }
    return 0;
}

int init(const spa_handle_factory* factory, spa_handle* handle, const spa_dict* info, const spa_support* support,
         uint32_t n_support) {
    if (handle == nullptr) return -EINVAL;
    auto* log = static_cast<spa_log*>(spa_support_find(support, n_support, SPA_TYPE_INTERFACE_Log));
    handle->get_interface = get_interface;
    handle->clear = clear;
    if (spa_streq(factory->name, kSourceFactoryName)) return init_source(handle, info, support, n_support, log);

    dante::ConfigItems items;
    uint32_t quantum_limit = kDefaultQuantumLimit;
    dante::DeviceHost host;
    // What the device's services say goes to this node's log (the plugin's spa_log).
    host.log = logger_for(log);
    std::string description;
    for (uint32_t i = 0; info && i < info->n_items; ++i) {
        const char* key = info->items[i].key;
        const char* value = info->items[i].value ? info->items[i].value : "";
        items.emplace_back(key, value);
        if (spa_streq(key, "clock.quantum-limit")) spa_atou32(value, &quantum_limit, 0);
        // The module passes the context's thread utilities (module-rt: rtkit or RLIMIT_RTPRIO),
        // as PipeWire's adapter passes its follower: "pointer:0x...". Called from the
        // transmitter thread itself, which module-rt then promotes by its own thread id.
        void* pointer = nullptr;
        if (spa_streq(key, kThreadUtilsKey) && std::sscanf(value, "pointer:%p", &pointer) == 1 && pointer != nullptr) {
            auto* utils = static_cast<spa_thread_utils*>(pointer);
            host.make_realtime = [utils](int priority) {
                return spa_thread_utils_acquire_rt(utils, reinterpret_cast<spa_thread*>(pthread_self()), priority) == 0;
            };
        }
        if (spa_streq(key, dante::spa::kNodeDescriptionKey)) description = value;
    }
    try {
        dante::ConfigResult parsed = dante::parse_device_config(items, "pipewire-dante", dante::UnknownKeys::ignore);
        if (!parsed.config) {
            spa_log_error(log, "dante-sink: %s", parsed.error.c_str());
            return -EINVAL;
        }
        // Our own description (or none) follows the device name; one the user chose stays.
        const bool manage_description =
            description.empty() || description == dante::node_description_for(parsed.config->device_name);
        std::string error;
        auto device = dante::Device::create(std::move(*parsed.config), error, std::move(host));
        if (!device) {
            spa_log_error(log, "dante-sink: %s", error.c_str());
            return -EINVAL;
        }
        std::shared_ptr<dante::Device> shared = std::move(device);
        const std::string key = dict_value(info, dante::spa::kDeviceKeyProperty);
        if (!key.empty()) dante::spa::register_device(key, shared);
        auto* node = new DanteSinkNode(std::move(shared), support, n_support, quantum_limit, manage_description);
        if (!node->ready()) {
            delete node;
            spa_log_error(log, "dante-sink: the host gave no data loop, data system or main loop utils");
            return -EINVAL;
        }
        reinterpret_cast<Handle*>(handle)->sink = node;
    } catch (const std::bad_alloc&) {
        return -ENOMEM;
    } catch (const std::exception& e) {
        spa_log_error(log, "dante-sink: %s", e.what());
        return -EIO;
    }
    return 0;
}

const spa_interface_info kInterfaces[] = {{SPA_TYPE_INTERFACE_Node}};

int enum_interface_info(const spa_handle_factory*, const spa_interface_info** info, uint32_t* index) {
    if (info == nullptr || index == nullptr) return -EINVAL;
    if (*index >= SPA_N_ELEMENTS(kInterfaces)) return 0;
    *info = &kInterfaces[(*index)++];
    return 1;
}

const spa_dict_item kSinkInfoItems[] = {
    {SPA_KEY_FACTORY_AUTHOR, "pipewire-dante contributors"},
    {SPA_KEY_FACTORY_DESCRIPTION, "Dante transmitter sink, driven by the network's media clock"},
    {SPA_KEY_FACTORY_USAGE, "dante.device-name=<name> audio.channels=<n> audio.rate=<hz> ..."},
};
const spa_dict kSinkInfo = SPA_DICT_INIT(kSinkInfoItems, SPA_N_ELEMENTS(kSinkInfoItems));

const spa_dict_item kSourceInfoItems[] = {
    {SPA_KEY_FACTORY_AUTHOR, "pipewire-dante contributors"},
    {SPA_KEY_FACTORY_DESCRIPTION, "Dante receiver source, on the media clock of the device's sink"},
    {SPA_KEY_FACTORY_USAGE, "api.dante.device-key=<the sink's key>"},
};
const spa_dict kSourceInfo = SPA_DICT_INIT(kSourceInfoItems, SPA_N_ELEMENTS(kSourceInfoItems));

const spa_handle_factory kFactories[] = {
    {SPA_VERSION_HANDLE_FACTORY, kSinkFactoryName, &kSinkInfo, get_size, init, enum_interface_info},
    {SPA_VERSION_HANDLE_FACTORY, kSourceFactoryName, &kSourceInfo, get_size, init, enum_interface_info},
};

}  // namespace

extern "C" SPA_EXPORT int spa_handle_factory_enum(const spa_handle_factory** factory, uint32_t* index) {
    if (factory == nullptr || index == nullptr) return -EINVAL;
    if (*index >= SPA_N_ELEMENTS(kFactories)) return 0;
    *factory = &kFactories[(*index)++];
    return 1;
}
