#pragma once
// Property keys and factory names that the module (module/module-dante-sink.cpp) writes and
// the plugin reads, declared once so the two sides cannot drift apart. No SPA or PipeWire
// include: the module includes this file too (module/meson.build adds this folder).

namespace dante::spa {

// The SPA factories of libspa-dante (spa-plugin/plugin.cpp), named by the module's
// factory.name.
inline constexpr const char* kSinkFactoryName = "api.dante.sink";
inline constexpr const char* kSourceFactoryName = "api.dante.source";

// Ties the source to the sink of the same module: the sink registers its Device under the
// key, the source finds it there (device_registry.hpp).
inline constexpr const char* kDeviceKeyProperty = "api.dante.device-key";

// The context's spa_thread_utils as "pointer:0x...", for the transmitter thread's
// real-time priority.
inline constexpr const char* kThreadUtilsKey = "api.dante.thread-utils";

// "node.description" (PW_KEY_NODE_DESCRIPTION; SPA 0.2 has no SPA_KEY_ for it).
inline constexpr const char* kNodeDescriptionKey = "node.description";

}  // namespace dante::spa
