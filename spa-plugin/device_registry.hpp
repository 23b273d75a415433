#pragma once
// The devices of this process by the key the module gives both of its nodes
// (kDeviceKeyProperty, node_keys.hpp): the sink creates the Device and registers it; the source,
// created next from the same module, finds it there and shares it (one device, one
// clock, one control plane, two nodes). Main thread only (node creation), but locked
// anyway: PipeWire may create nodes from more than one context in a process.

#include <memory>
#include <string>

#include "device/device.hpp"
#include "node_keys.hpp"

namespace dante::spa {

void register_device(const std::string& key, const std::shared_ptr<Device>& device);
// Null when no live device has that key.
std::shared_ptr<Device> find_device(const std::string& key);

}  // namespace dante::spa
