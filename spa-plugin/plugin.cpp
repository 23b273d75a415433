// SPA entry point of libspa-dante: the "api.dante.sink" factory.
//
// The host callocs get_size() bytes and calls init(); we keep a plain C handle there and
// put the C++ node behind a pointer, so nothing depends on the layout of a C++ class.

#include <pthread.h>

#include <cstdio>
#include <new>
#include <string>

#include "config/device_config.hpp"
#include "dante_sink_node.hpp"
#include "spa_headers.hpp"

namespace {

using dante::spa::DanteSinkNode;

constexpr const char* kFactoryName = "api.dante.sink";
constexpr uint32_t kDefaultQuantumLimit = 8192;
constexpr const char* kThreadUtilsKey = "api.dante.thread-utils";

struct Handle {
    spa_handle handle;  // must stay first: the host casts between the two
    DanteSinkNode* node;
};

int get_interface(spa_handle* handle, const char* type, void** interface) {
    if (handle == nullptr || interface == nullptr) return -EINVAL;
    if (!spa_streq(type, SPA_TYPE_INTERFACE_Node)) return -ENOENT;
    *interface = reinterpret_cast<Handle*>(handle)->node->node();
    return 0;
}

int clear(spa_handle* handle) {
    if (handle == nullptr) return -EINVAL;
    auto* h = reinterpret_cast<Handle*>(handle);
    delete h->node;
    h->node = nullptr;
    return 0;
}

size_t get_size(const spa_handle_factory*, const spa_dict*) { return sizeof(Handle); }

int init(const spa_handle_factory*, spa_handle* handle, const spa_dict* info, const spa_support* support,
         uint32_t n_support) {
    if (handle == nullptr) return -EINVAL;
    auto* log = static_cast<spa_log*>(spa_support_find(support, n_support, SPA_TYPE_INTERFACE_Log));
    handle->get_interface = get_interface;
    handle->clear = clear;

    dante::ConfigItems items;
    uint32_t quantum_limit = kDefaultQuantumLimit;
    dante::DeviceHost host;
    // What the device's services say goes to this node's log (the plugin's spa_log).
    if (log != nullptr) {
        host.log = dante::Logger([log](dante::LogLevel level, std::string_view topic, std::string_view message) {
            const int len = static_cast<int>(message.size());
            const int topic_len = static_cast<int>(topic.size());
            switch (level) {
                case dante::LogLevel::error: spa_log_error(log, "dante %.*s: %.*s", topic_len, topic.data(), len, message.data()); break;
                case dante::LogLevel::warn: spa_log_warn(log, "dante %.*s: %.*s", topic_len, topic.data(), len, message.data()); break;
                case dante::LogLevel::info: spa_log_info(log, "dante %.*s: %.*s", topic_len, topic.data(), len, message.data()); break;
            }
        });
    }
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
        auto* node = new DanteSinkNode(std::move(device), support, n_support, quantum_limit, manage_description);
        if (!node->ready()) {
            delete node;
            spa_log_error(log, "dante-sink: the host gave no data loop, data system or main loop utils");
            return -EINVAL;
        }
        reinterpret_cast<Handle*>(handle)->node = node;
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

const spa_dict_item kFactoryInfoItems[] = {
    {SPA_KEY_FACTORY_AUTHOR, "pipewire-dante contributors"},
    {SPA_KEY_FACTORY_DESCRIPTION, "Dante transmitter sink, driven by the network's media clock"},
    {SPA_KEY_FACTORY_USAGE, "dante.device-name=<name> audio.channels=<n> audio.rate=<hz> ..."},
};
const spa_dict kFactoryInfo = SPA_DICT_INIT(kFactoryInfoItems, SPA_N_ELEMENTS(kFactoryInfoItems));

const spa_handle_factory kFactory = {
    SPA_VERSION_HANDLE_FACTORY, kFactoryName, &kFactoryInfo, get_size, init, enum_interface_info,
};

}  // namespace

extern "C" SPA_EXPORT int spa_handle_factory_enum(const spa_handle_factory** factory, uint32_t* index) {
    if (factory == nullptr || index == nullptr) return -EINVAL;
    if (*index > 0) return 0;
    *factory = &kFactory;
    (*index)++;
    return 1;
}
