-- Test-lab override of /usr/share/wireplumber/main.lua.d/90-enable-all.lua
-- (a file of the same name under $XDG_CONFIG_HOME/wireplumber/main.lua.d/
-- replaces the system one). Same as the system file, but without the ALSA,
-- v4l2 and libcamera monitors: the lab only has the nodes it creates itself.

-- Provide the "default" pw_metadata, which stores
-- dynamic properties of pipewire objects in RAM
load_module("metadata")

-- Default client access policy
default_access.enable()

-- Device monitors deliberately NOT enabled:
-- alsa_monitor.enable()
-- v4l2_monitor.enable()
-- libcamera_monitor.enable()

-- Track/store/restore user choices about devices
device_defaults.enable()

-- Track/store/restore user choices about streams
stream_defaults.enable()

-- Link nodes by stream role and device intended role
load_script("intended-roles.lua")

-- Automatically suspends idle nodes after 3 seconds
load_script("suspend-node.lua")
