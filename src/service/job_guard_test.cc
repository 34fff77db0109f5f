// The output guard of jobs against re-formatted values: a guarded value written another way (a
// number as "42.0" or "4.2e1", a string in another case or with other whitespace, a quoted CSV
// cell, a JSON number or escaped string, an HTML character reference) is still found, and a value
// that only looks alike (a neighbouring number, a prefix, digits of separate cells) is not.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "service/job_internal.h"

namespace parley::service::internal {
namespace {

std::string Guard(const std::string& file, const std::string& bytes, std::set<std::string> values) {
  return GuardOutputs({{file, bytes}}, {{"customers", "customer_id", std::move(values)}});
}

const char kWithheld[] =
    "contains values of column 'customers.customer_id', which its owner does not let leave the "
    "room; every output of the run is withheld";

struct Attempt {
  const char* name;
  const char* file;
  const char* bytes;
  std::set<std::string> values;
};

TEST(JobGuardTest, ReformattedValuesAreStillFound) {
  const std::vector<Attempt> attempts = {
      {"the same text", "a.csv", "id\n42\n", {"42"}},
      {"a decimal point", "a.csv", "id\n42.0\n", {"42"}},
      {"trailing zeros", "a.csv", "id\n42.000\n", {"42"}},
      {"a leading space", "a.csv", "id, 42\n", {"42"}},
      {"a plus sign and leading zeros", "a.csv", "id\n+0042\n", {"42"}},
      {"an exponent", "a.csv", "id\n4.2e1\n", {"42"}},
      {"a capital exponent with a sign", "a.csv", "id\n420E-1\n", {"42"}},
      {"the guarded value is the decimal", "a.csv", "n\n42\n", {"42.0"}},
      {"a long identifier in scientific notation",
       "a.csv",
       "n\n1.234567890123456789e18\n",
       {"1234567890123456789"}},
      {"a full stop after it", "notes.html", "<p>the best customer is 42.</p>", {"42"}},
      {"upper case", "a.csv", "name\nALICE SMITH\n", {"Alice Smith"}},
      {"more whitespace", "a.csv", "name\n  alice \t  smith \n", {"Alice Smith"}},
      {"whitespace removed", "a.csv", "name\nAliceSmith\n", {"Alice Smith"}},
      {"a quoted CSV cell", "a.csv", "name,n\n\"Alice Smith\",1\n", {"Alice Smith"}},
      {"a CSV cell with doubled quotes", "a.csv", "name\n\"O\"\"Brien\"\n", {"O'Brien"}},
      {"a JSON number", "a.json", R"({"customers": [42.0]})", {"42"}},
      {"a JSON number with an exponent", "a.json", R"([4.2E+1])", {"42"}},
      {"a JSON string with escapes", "a.json", R"(["\u0041lice Smith"])", {"Alice Smith"}},
      {"JSON lines", "a.json", "{\"id\": \"c001\"}\n{\"id\": \"c002\"}\n", {"C002"}},
      {"an HTML character reference", "a.html", "<td>&#65;lice&#x20;Smith</td>", {"Alice Smith"}},
      {"inside markup", "a.svg", "<text x=\"1\">c001</text>", {"c001"}},
      {"a tab-separated cell", "a.csv", "a\tc001\tb\n", {"C001"}},
  };
  for (const Attempt& attempt : attempts) {
    SCOPED_TRACE(attempt.name);
    EXPECT_EQ(Guard(attempt.file, attempt.bytes, attempt.values),
              std::string("output '") + attempt.file + "' " + kWithheld);
  }
}

TEST(JobGuardTest, ValuesThatOnlyLookAlikeAreNotWithheld) {
  const std::vector<Attempt> lookalikes = {
      {"a neighbouring number", "a.csv", "n\n42.01\n", {"42"}},
      {"a negative number", "a.csv", "n\n-42\n", {"42"}},
      {"digits of two cells", "a.csv", "a,b\n4,2\n", {"42"}},
      {"a longer identifier", "a.csv", "id\nc0012\n", {"c001"}},
      {"a long identifier's neighbour",
       "a.csv",
       "n\n1234567890123456788\n",
       {"1234567890123456789"}},
      {"one word of two", "a.csv", "name\nAlice\n", {"Alice Smith"}},
      {"separate numbers are not joined", "a.csv", "a,b\n1,2\n", {"1 2x", "12"}},
  };
  for (const Attempt& attempt : lookalikes) {
    SCOPED_TRACE(attempt.name);
    EXPECT_EQ(Guard(attempt.file, attempt.bytes, attempt.values), "");
  }
}

}  // namespace
}  // namespace parley::service::internal
