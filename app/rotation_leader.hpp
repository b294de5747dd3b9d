#pragma once
// Who runs the rotation schedule. PostgreSQL: the replica holding the fleet's advisory lock (the
// keystore thread takes it; a dead replica's session, and its lock, end with it). Directory store:
// the process holding an exclusive flock on <keystore>/.rotation.lock, so that several relays
// sharing one directory run each step once; the kernel drops the lock when the holder dies.
#include <filesystem>
#include <functional>

#include "keystore_backend.hpp"

namespace dkr::app {

// A callable for lifecycle::RotationLoop: true while this process leads. For the directory store
// it tries to take the lock each time it is asked and keeps it once taken.
std::function<bool()> rotation_leadership(const OpenedKeystore& opened);

}  // namespace dkr::app
