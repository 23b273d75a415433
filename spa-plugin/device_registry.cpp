#include "device_registry.hpp"

#include <map>
#include <mutex>

namespace dante::spa {
namespace {

std::mutex registry_mutex;
// Weak: the nodes own the device; an entry outlives it only until the next registration
// prunes it.
std::map<std::string, std::weak_ptr<Device>>& registry() {
    static std::map<std::string, std::weak_ptr<Device>> devices;
    return devices;
}

}  // namespace

void register_device(const std::string& key, const std::shared_ptr<Device>& device) {
    std::lock_guard lock(registry_mutex);
    auto& devices = registry();
    std::erase_if(devices, [](const auto& entry) { return entry.second.expired(); });
    devices[key] = device;
}

std::shared_ptr<Device> find_device(const std::string& key) {
    std::lock_guard lock(registry_mutex);
    const auto it = registry().find(key);
    return it == registry().end() ? nullptr : it->second.lock();
}

}  // namespace dante::spa
