#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

int main(int argc, char** argv) {
  // The per-transaction log lines are correct behaviour, but noise in test output.
  spdlog::set_level(spdlog::level::err);
  return doctest::Context(argc, argv).run();
}
