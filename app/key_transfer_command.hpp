#pragma once
// `dkim-relay keys export ...` and `keys import ...`: moving keys between a store and a directory
// store, a KEK-sealed bundle or OpenDKIM tables, whichever backend holds the store.
#include <string>
#include <vector>

#include "cli_args.hpp"
#include "keystore/key_store.hpp"
#include "keystore/key_transfer.hpp"

namespace dkr::app {

// words: "export" KIND WHERE, "import" KIND WHERE [WHERE]; the two legacy spellings
// "import-directory DIR" and "import-opendkim KEYTABLE SIGNINGTABLE" too. Returns the exit code.
// `store` is the store that --keystore / --config opened, `transfer` its key transfer.
int run_key_transfer(const keystore::KeyStore& store, keystore::KeyTransfer& transfer,
                     const std::vector<std::string>& words, const CliArgs& cli);

}  // namespace dkr::app
