#pragma once
// Checks of string settings beyond their type. Each returns what is wrong, or nullopt.
#include <optional>
#include <string>
#include <string_view>

namespace dkr::config::detail {

using TextCheck = std::optional<std::string> (*)(std::string_view);

std::optional<std::string> any_text(std::string_view text);
std::optional<std::string> non_empty(std::string_view text);
std::optional<std::string> hostname_check(std::string_view text);
std::optional<std::string> domain_check(std::string_view text);        // "" allowed
std::optional<std::string> env_var_name_check(std::string_view text);  // "" allowed
std::optional<std::string> selector_pattern_check(std::string_view text);
std::optional<std::string> sql_schema_check(std::string_view text);  // a plain lowercase SQL identifier
// Does not quote the hash: it is a secret even when malformed.
std::optional<std::string> password_hash_problem(std::string_view hash);

}  // namespace dkr::config::detail
