#pragma once
// Property keys the nodes use that SPA's headers do not name.

namespace dante::spa {

// "node.description" (PW_KEY_NODE_DESCRIPTION; SPA 0.2 has no SPA_KEY_ for it).
inline constexpr const char* kNodeDescriptionKey = "node.description";

}  // namespace dante::spa
