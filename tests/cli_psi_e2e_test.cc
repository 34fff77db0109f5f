// Private set intersection through the real `parley` binary: `psi serve` and `psi connect` as two
// processes on loopback (docs/formats/psi.md). Both learn the intersection (their own spellings,
// duplicates and NULLs removed), or with --cardinality-only only its size; CSV and Parquet inputs;
// a peer that speaks another version or disconnects ends the session with a clear error, a
// nonzero exit and no output file; --register makes the overlap a table that feeds a query.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "cli_test_support.h"
#include "psi/frames.h"

namespace parley::cli_test {
namespace {

class CliPsiE2eTest : public CliTest {
 protected:
  // Starts `psi serve --listen 127.0.0.1:0 args...` and returns its pid and port (read from its
  // "listening on" line).
  std::pair<pid_t, int> Serve(std::vector<std::string> args) {
    std::vector<std::string> command = {"psi", "serve", "--listen", "127.0.0.1:0"};
    command.insert(command.end(), args.begin(), args.end());
    pid_t pid = SpawnInBackground(command, scratch_, "serve");
    for (int attempt = 0; attempt < 600; ++attempt) {
      std::string err = ReadText(scratch_ / "serve_stderr.txt");
      size_t at = err.find("listening on 127.0.0.1:");
      if (at != std::string::npos && err.find('\n', at) != std::string::npos) {
        return {pid, std::stoi(err.substr(at + 23))};
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    ADD_FAILURE() << "psi serve did not start listening";
    return {-1, 0};
  }

  // Waits for the server and returns its outcome.
  Outcome Finish(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return Outcome{WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                   ReadText(scratch_ / "serve_stdout.txt"),
                   ReadText(scratch_ / "serve_stderr.txt")};
  }

  // A raw client: connects, sends `bytes`, ends its side of the stream and reads until the server
  // closes.
  void RawClient(int port, const std::string& bytes) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    // Done sending: the server sees the end of the stream. Then read its HELLO (and ABORT)
    // until it closes, so that our close is not a reset that could cut its error short.
    shutdown(fd, SHUT_WR);
    char buffer[256];
    while (read(fd, buffer, sizeof buffer) > 0) {
    }
    close(fd);
  }

  static std::string Frame(psi::FrameType type, const std::string& payload) {
    std::string frame(1, static_cast<char>(type));
    uint32_t length = htonl(static_cast<uint32_t>(payload.size()));
    frame.append(reinterpret_cast<const char*>(&length), 4);
    return frame + payload;
  }
};

TEST_F(CliPsiE2eTest, BothPartiesLearnTheIntersection) {
  // The retailer: duplicates, a NULL (empty field) and an empty line's value.
  WriteText(dir_ / "a.csv",
            "household,email\n1,ann@example.com\n2,bob@example.com\n3,\n4,cy@example.com\n"
            "5,bob@example.com\n6,dee@example.com\n");
  // The supplier, as Parquet, with one more shared identifier spelled the same.
  Exec(
      "COPY (SELECT * FROM (VALUES ('dee@example.com', 'gold'), ('bob@example.com', 'silver'), "
      "('eve@example.com', 'gold'), ('dee@example.com', 'gold')) t(email, tier)) TO '" +
      (dir_ / "b.parquet").string() + "' (FORMAT parquet)");
  auto [pid, port] = Serve({"--input", (dir_ / "a.csv").string(), "--column", "email", "--output",
                            (dir_ / "a_matches.csv").string()});
  ASSERT_GT(pid, 0);
  Outcome connected = Parley({"psi", "connect", "127.0.0.1:" + std::to_string(port), "--input",
                              (dir_ / "b.parquet").string(), "--column", "email", "--output",
                              (dir_ / "b_matches.csv").string()});
  Outcome served = Finish(pid);
  ASSERT_EQ(connected.exit_code, 0) << connected;
  ASSERT_EQ(served.exit_code, 0) << served;
  EXPECT_EQ(served.out,
            "intersection: 2 of your 4 identifiers (the peer has 3); 1 empty or NULL values "
            "skipped\nwritten to " +
                (dir_ / "a_matches.csv").string() + "\n");
  EXPECT_EQ(connected.out, "intersection: 2 of your 3 identifiers (the peer has 4)\nwritten to " +
                               (dir_ / "b_matches.csv").string() + "\n");
  EXPECT_EQ(ReadText(dir_ / "a_matches.csv"), "email\nbob@example.com\ndee@example.com\n");
  EXPECT_EQ(ReadText(dir_ / "b_matches.csv"), "email\ndee@example.com\nbob@example.com\n");
}

TEST_F(CliPsiE2eTest, NormalisationMakesTwoSpellingsMatch) {
  WriteText(dir_ / "a.csv", "email\n\"  Ann@Example.COM \"\nbob@example.com\nnot an address\n");
  WriteText(dir_ / "b.csv", "email\nann@example.com\nBOB@example.com\ncy@example.com\n");
  auto [pid, port] = Serve({"--input", (dir_ / "a.csv").string(), "--column", "email",
                            "--normalise", "email", "--output", (dir_ / "a_matches.csv").string()});
  ASSERT_GT(pid, 0);
  Outcome connected = Parley({"psi", "connect", "127.0.0.1:" + std::to_string(port), "--input",
                              (dir_ / "b.csv").string(), "--column", "email", "--normalise",
                              "email", "--output", (dir_ / "b_matches.csv").string()});
  Outcome served = Finish(pid);
  ASSERT_EQ(connected.exit_code, 0) << connected;
  ASSERT_EQ(served.exit_code, 0) << served;
  EXPECT_EQ(served.out,
            "intersection: 2 of your 2 identifiers (the peer has 3); 1 values that are not "
            "identifiers under --normalise email skipped (the first in row 3)\nwritten to " +
                (dir_ / "a_matches.csv").string() + "\n");
  // Each side lists its own spellings.
  EXPECT_EQ(ReadText(dir_ / "a_matches.csv"), "email\n  Ann@Example.COM \nbob@example.com\n");
  EXPECT_EQ(ReadText(dir_ / "b_matches.csv"), "email\nann@example.com\nBOB@example.com\n");
}

TEST_F(CliPsiE2eTest, OverTls) {
  WriteText(dir_ / "a.csv", "email\na\nb\nc\n");
  WriteText(dir_ / "b.csv", "email\nb\nc\nd\n");
  for (const char* name : {"server", "other"}) {
    std::string command =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
        "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
        (dir_ / (std::string(name) + "_key.pem")).string() + " -out " +
        (dir_ / (std::string(name) + "_cert.pem")).string() + " 2>/dev/null";
    ASSERT_EQ(std::system(command.c_str()), 0);
  }
  std::vector<std::string> serve = {"--input",    (dir_ / "a.csv").string(),
                                    "--column",   "email",
                                    "--tls-cert", (dir_ / "server_cert.pem").string(),
                                    "--tls-key",  (dir_ / "server_key.pem").string()};
  {
    auto [pid, port] = Serve(serve);
    ASSERT_GT(pid, 0);
    Outcome connected =
        Parley({"psi", "connect", "127.0.0.1:" + std::to_string(port), "--input",
                (dir_ / "b.csv").string(), "--column", "email", "--tls-ca",
                (dir_ / "server_cert.pem").string(), "--output", (dir_ / "m.csv").string()});
    Outcome served = Finish(pid);
    ASSERT_EQ(connected.exit_code, 0) << connected;
    ASSERT_EQ(served.exit_code, 0) << served;
    EXPECT_EQ(ReadText(dir_ / "m.csv"), "email\nb\nc\n");
  }
  {
    // A server whose certificate the client does not trust: refused, nothing written.
    auto [pid, port] = Serve(serve);
    ASSERT_GT(pid, 0);
    Outcome connected =
        Parley({"psi", "connect", "127.0.0.1:" + std::to_string(port), "--input",
                (dir_ / "b.csv").string(), "--column", "email", "--tls-ca",
                (dir_ / "other_cert.pem").string(), "--output", (dir_ / "n.csv").string()});
    Outcome served = Finish(pid);
    EXPECT_EQ(connected.exit_code, 1);
    EXPECT_EQ(connected.err,
              "error: the TLS handshake failed: the peer's certificate was refused: self-signed "
              "certificate\n");
    EXPECT_EQ(served.exit_code, 1);
    EXPECT_FALSE(std::filesystem::exists(dir_ / "n.csv"));
  }
}

TEST_F(CliPsiE2eTest, CardinalityOnlyPrintsOnlyTheSize) {
  WriteText(dir_ / "a.csv", "email\na\nb\nc\nd\n");
  WriteText(dir_ / "b.csv", "email\nc\nd\ne\n");
  auto [pid, port] =
      Serve({"--input", (dir_ / "a.csv").string(), "--column", "email", "--cardinality-only"});
  ASSERT_GT(pid, 0);
  Outcome connected =
      Parley({"psi", "connect", "127.0.0.1:" + std::to_string(port), "--input",
              (dir_ / "b.csv").string(), "--column", "email", "--cardinality-only", "--json"});
  Outcome served = Finish(pid);
  ASSERT_EQ(connected.exit_code, 0) << connected;
  EXPECT_EQ(served.out, "intersection: 2 of your 4 identifiers (the peer has 3)\n");
  EXPECT_EQ(connected.out,
            "{\n  \"intersection_size\": 2,\n  \"own_size\": 3,\n  \"peer_size\": 4,\n  "
            "\"values_not_identifiers\": 0,\n  \"values_skipped\": 0\n}\n");
  EXPECT_EQ(
      Parley({"psi", "connect", "127.0.0.1:1", "--input", (dir_ / "b.csv").string(), "--column",
              "email", "--cardinality-only", "--output", (dir_ / "x.csv").string()})
          .err,
      "error: --output has nothing to write with --cardinality-only (only the size is "
      "learnt)\n");
}

TEST_F(CliPsiE2eTest, DifferentModesAreRefusedWithoutOutput) {
  WriteText(dir_ / "a.csv", "email\na\n");
  auto [pid, port] =
      Serve({"--input", (dir_ / "a.csv").string(), "--column", "email", "--cardinality-only"});
  ASSERT_GT(pid, 0);
  Outcome connected = Parley({"psi", "connect", "127.0.0.1:" + std::to_string(port), "--input",
                              (dir_ / "a.csv").string(), "--column", "email", "--output",
                              (dir_ / "m.csv").string()});
  Outcome served = Finish(pid);
  EXPECT_EQ(connected.exit_code, 1);
  EXPECT_EQ(connected.err,
            "error: the peer asked for cardinality only; this side asked for intersection (both "
            "must give --cardinality-only or neither)\n");
  EXPECT_EQ(served.exit_code, 1);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "m.csv"));
}

TEST_F(CliPsiE2eTest, APeerOfAnotherVersionOrThatDisconnectsLeavesNoOutput) {
  WriteText(dir_ / "a.csv", "email\na\nb\n");
  {
    auto [pid, port] = Serve({"--input", (dir_ / "a.csv").string(), "--column", "email", "--output",
                              (dir_ / "m.csv").string()});
    ASSERT_GT(pid, 0);
    RawClient(port, Frame(psi::FrameType::kHello,
                          psi::EncodeHello(psi::Hello{2, psi::Mode::kIntersection, 2})));
    Outcome served = Finish(pid);
    EXPECT_EQ(served.exit_code, 1);
    EXPECT_NE(served.err.find(
                  "error: the peer speaks PSI protocol version 2; this program speaks version 1\n"),
              std::string::npos)
        << served;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "m.csv"));
  }
  {
    auto [pid, port] = Serve({"--input", (dir_ / "a.csv").string(), "--column", "email", "--output",
                              (dir_ / "m.csv").string()});
    ASSERT_GT(pid, 0);
    RawClient(port, Frame(psi::FrameType::kHello,
                          psi::EncodeHello(psi::Hello{1, psi::Mode::kIntersection, 5})));
    Outcome served = Finish(pid);
    EXPECT_EQ(served.exit_code, 1);
    EXPECT_NE(served.err.find("error: the peer closed the connection while this side waited for "
                              "its blinded set (element 1 of 5, in BLINDED frames)\n"),
              std::string::npos)
        << served;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "m.csv"));
  }
  {
    // A huge frame after the HELLO: refused before anything is allocated.
    auto [pid, port] = Serve({"--input", (dir_ / "a.csv").string(), "--column", "email"});
    ASSERT_GT(pid, 0);
    RawClient(port, Frame(psi::FrameType::kHello,
                          psi::EncodeHello(psi::Hello{1, psi::Mode::kIntersection, 5})) +
                        std::string("\x02\x7f\xff\xff\xff", 5));
    Outcome served = Finish(pid);
    EXPECT_EQ(served.exit_code, 1);
    EXPECT_NE(served.err.find("error: the peer sent a BLINDED frame of 2147483647 bytes, which "
                              "exceeds the limit of 1048576\n"),
              std::string::npos)
        << served;
  }
}

TEST_F(CliPsiE2eTest, InputErrorsNameTheFileAndColumn) {
  WriteText(dir_ / "a.csv", "email,tier\na,1\n");
  Outcome missing = Parley(
      {"psi", "connect", "127.0.0.1:9", "--input", (dir_ / "a.csv").string(), "--column", "mail"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "error: " + (dir_ / "a.csv").string() + ": the file '" +
                             (dir_ / "a.csv").string() +
                             "' has no column 'mail' (its columns: email, tier)\n");
  Outcome format = Parley(
      {"psi", "connect", "127.0.0.1:9", "--input", (dir_ / "a.txt").string(), "--column", "email"});
  EXPECT_EQ(format.err, "error: " + (dir_ / "a.txt").string() + ": cannot tell the format of '" +
                            (dir_ / "a.txt").string() + "': give a .csv or .parquet file\n");
  Outcome normalise = Parley({"psi", "connect", "127.0.0.1:9", "--input", (dir_ / "a.csv").string(),
                              "--column", "email", "--normalise", "soundex"});
  EXPECT_EQ(normalise.exit_code, 2);
}

// The overlap becomes the receiving member's table and feeds a rule-checked query.
TEST_F(CliPsiE2eTest, TheOverlapRegisteredAsATableFeedsAQuery) {
  WriteText(dir_ / "a.csv", "email\nann@x\nbob@x\ncy@x\ndee@x\n");
  WriteText(dir_ / "loyalty.csv",
            "email,tier\nbob@x,gold\ndee@x,gold\neve@x,silver\ncy@x,silver\n");
  Ok("supplier", {"collaboration", "create", "room"});
  Ok("supplier",
     {"table", "add", "-c", "room", "loyalty", "--source", (dir_ / "loyalty.csv").string()});
  constexpr char kRule[] =
      R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["supplier"],
          "allowed_result_receivers": ["supplier"]})";
  Ok("supplier", {"rule", "set", "-c", "room", "loyalty", "--json", kRule});
  auto [pid, port] = Serve({"--input", (dir_ / "a.csv").string(), "--column", "email"});
  ASSERT_GT(pid, 0);
  Outcome connected =
      As("supplier", {"psi", "connect", "127.0.0.1:" + std::to_string(port), "--input",
                      (dir_ / "loyalty.csv").string(), "--column", "email", "--output",
                      (dir_ / "overlap.csv").string(), "--register", "room:overlap"});
  ASSERT_EQ(Finish(pid).exit_code, 0);
  ASSERT_EQ(connected.exit_code, 0) << connected;
  EXPECT_NE(connected.out.find("added as table overlap of collaboration room"), std::string::npos)
      << connected;
  Outcome shown = Ok("supplier", {"table", "show", "-c", "room", "overlap"});
  EXPECT_NE(shown.out.find("table overlap (owner supplier"), std::string::npos) << shown;
  Ok("supplier", {"rule", "set", "-c", "room", "overlap", "--json", kRule});
  Ok("supplier", {"query", "run", "-c", "room", "--sql",
                  "SELECT l.tier, COUNT(*) AS n FROM overlap o JOIN loyalty l ON o.email = "
                  "l.email GROUP BY l.tier ORDER BY l.tier",
                  "--output", (dir_ / "tiers.csv").string()});
  EXPECT_EQ(ReadText(dir_ / "tiers.csv"), "tier,n\ngold,2\nsilver,1\n");
}

}  // namespace
}  // namespace parley::cli_test
