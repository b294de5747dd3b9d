#pragma once
// Umbrella header of the signer library.
#include "signer/algorithm.hpp"
#include "signer/body_hasher.hpp"
#include "signer/canonicalization.hpp"
#include "signer/message.hpp"
#include "signer/message_signer.hpp"
#include "common/result.hpp"
#include "signer/signing_key.hpp"
#include "signer/verifier.hpp"
